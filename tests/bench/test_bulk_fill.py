"""bench/bulk_fill.py writes exactly what sync_corpus writes: the scale benchmark's 1M figures rest on it."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from bench.bench_scale import vocabulary, write_articles
from bench.bulk_fill import SyntheticVectors, bulk_fill
from rag.embedding import embedder_for
from rag.index import LexicalIndex, Manifest
from rag.settings import Settings, get_settings
from rag.sync import sync_corpus
from tests.helpers import index_snapshot


def write_old(corpus: Path, start: int, count: int) -> list[Path]:
    """Synthetic articles with an mtime an hour back (so neither path records them as racy)."""
    words, weights = vocabulary()
    paths = write_articles(corpus, start, count, words, weights)
    past = time.time_ns() - 3_600_000_000_000
    for path in paths:
        os.utime(path, ns=(past, past))
    return paths


def lexical_state(settings: Settings) -> tuple[dict[str, tuple[str, int, str]], int]:
    lexical = LexicalIndex.load(settings.index_dir)
    assert lexical is not None
    return lexical.snapshot(), lexical.generation


def test_bulk_fill_writes_what_sync_writes(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    synced = get_settings(corpus_dir=corpus, index_dir=tmp_path / "synced", embedding_cache_dir=tmp_path / "models")
    filled = get_settings(corpus_dir=corpus, index_dir=tmp_path / "filled", embedding_cache_dir=tmp_path / "models")
    pool = np.random.default_rng(3).normal(size=(50, 384)).astype(np.float32)
    synthetic = SyntheticVectors(embedder_for(synced), pool)

    # Two steps, as the benchmark grows an index: a fresh index, then new files added to it (~2,000 chunks).
    for start, count in ((0, 100), (100, 70)):
        paths = write_old(corpus, start, count)
        report = sync_corpus(synced, embedder=synthetic)  # type: ignore[arg-type]
        assert report.added == count
        assert bulk_fill(filled, pool, paths) == report.chunks_embedded

    chroma_synced, chroma_filled = index_snapshot(synced), index_snapshot(filled)
    assert len(chroma_synced) > 1900
    assert sorted(chroma_synced) == sorted(chroma_filled)
    for cid, (text, meta, vector) in chroma_synced.items():
        assert (text, meta) == chroma_filled[cid][:2]
        assert np.array_equal(vector, chroma_filled[cid][2])
    assert lexical_state(synced) == lexical_state(filled)
    manifest_synced, manifest_filled = Manifest.load(synced.index_dir), Manifest.load(filled.index_dir)
    assert manifest_filled.files == manifest_synced.files
    assert (manifest_filled.generation, manifest_filled.complete, manifest_filled.fingerprint) == (
        manifest_synced.generation, manifest_synced.complete, manifest_synced.fingerprint)

    # The next sync trusts the filled index as it trusts a synced one: nothing to embed or repair.
    report = sync_corpus(filled, embedder=synthetic)  # type: ignore[arg-type]
    assert (report.added, report.chunks_embedded, report.chunks_removed, report.repaired) == (0, 0, 0, False)
    assert report.chunks_total == len(chroma_synced)


def test_bulk_fill_refuses_files_already_indexed(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    settings = get_settings(corpus_dir=corpus, index_dir=tmp_path / "index", embedding_cache_dir=tmp_path / "models")
    pool = np.random.default_rng(3).normal(size=(50, 384)).astype(np.float32)
    paths = write_old(corpus, 0, 3)
    bulk_fill(settings, pool, paths)
    before = Manifest.load(settings.index_dir)
    try:
        bulk_fill(settings, pool, paths[:1])
    except ValueError as exc:
        assert "indexed already" in str(exc)
    else:
        raise AssertionError("a file already indexed was filled again")
    after = Manifest.load(settings.index_dir)
    assert (after.files, after.generation, after.complete) == (before.files, before.generation, True)
