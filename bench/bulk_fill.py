"""Bulk fill for the scale benchmark: write what `sync_corpus` writes for new corpus files, faster.

`sync_corpus` grows an index at ~200-400 chunks/s on this 2-core machine with synthetic vectors (one process:
read and chunk each file, MinHash it, write Chroma, tantivy and the manifest), so a 1M-chunk index takes hours.
`bulk_fill` writes the SAME records by calling the sync's own pieces, with two differences that change speed,
not content:
  - the files are read, chunked (`rag.sync._scan_one`, the real tokenizer), signed (MinHash) and given their
    synthetic vectors in worker processes, while the main process writes Chroma (`rag.sync._upsert`, batches of
    5,000, `add`) and tantivy (`LexicalIndex.apply`, one commit);
  - the manifest is written twice (marked incomplete before Chroma is touched, then the new files' rows and
    `complete` in one transaction), not once per step.
The order of writes is the sync's (manifest incomplete → Chroma → lexical index → manifest complete), so a killed
fill is repaired by the next `sync_corpus` like a killed sync. tests/bench/test_bulk_fill.py checks that a
bulk-filled index equals a synced one (Chroma ids, texts, metadata and vectors; the lexical documents; the
manifest records and generation). Only NEW files may be given: a file already in the manifest is refused.
"""

from __future__ import annotations

import hashlib
import multiprocessing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from rag.embedding import Embedder, embedder_for
from rag.index import (
    CHROMA_MAX_BATCH,
    FileRecord,
    LexicalIndex,
    Manifest,
    batched,
    open_collection,
    remember_manifest,
)
from rag.loaders import relative_source
from rag.settings import Settings
from rag.sync import LazyModels, ScanResult, SyncProgress, _scan_one, _upsert, index_fingerprint, ingest_lock
from rag.types import Chunk, SyncReport

FILES_PER_TASK = 50  # files a worker prepares per task: results arrive in order, in pieces of this size


def synthetic_vectors(pool: np.ndarray, texts: list[str]) -> np.ndarray:
    """One of the pool's real embeddings per text (chosen by the text's hash) plus a little noise: a pure
    function of the text, so equal texts get equal vectors wherever they are computed."""
    dimension = pool.shape[1]
    out = np.empty((len(texts), dimension), dtype=np.float32)
    for i, text in enumerate(texts):
        seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")
        rng = np.random.default_rng(seed)
        v = pool[seed % len(pool)] + rng.normal(0, 0.03, dimension).astype(np.float32)
        out[i] = v / np.linalg.norm(v)
    return out


class SyntheticVectors:
    """The real tokenizer (chunking is real) with vectors from a pool of real embeddings plus noise."""

    def __init__(self, real: Embedder, pool: np.ndarray) -> None:
        self.real = real
        self.pool = pool
        self.max_tokens = real.max_tokens
        self.dimension = real.dimension
        self.count_tokens = real.count_tokens
        self.loaded = False

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        return synthetic_vectors(self.pool, texts)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]


# ------------------------------------------------------------------------------------------ worker side

_WORKER: dict[str, Any] = {}


def _start_worker(settings: Settings, pool: np.ndarray) -> None:
    real = embedder_for(settings)  # the tokenizer only: the network is never loaded here
    models = LazyModels(settings, SyntheticVectors(real, pool))  # type: ignore[arg-type]
    _WORKER.update(settings=settings, models=models, pool=pool)


Prepared = tuple[str, FileRecord, list[Chunk], list[str], np.ndarray]


def _prepare(paths: list[Path]) -> list[Prepared]:
    """Each file as the sync's scan sees a new file: its manifest record, its chunks, the texts embedded and
    indexed lexically, and their (synthetic) vectors."""
    settings: Settings = _WORKER["settings"]
    models: LazyModels = _WORKER["models"]
    max_bytes = int(settings.max_file_mb * 1024 * 1024)
    out: list[Prepared] = []
    for path in paths:
        source = relative_source(path, settings.corpus_dir)
        scan = ScanResult()
        _scan_one(path, source, None, lambda _: None, settings, models, False, max_bytes, scan, SyncReport())
        chunks = scan.pending[source][1]
        texts = [models.chunker.embedded_text(c) for c in chunks]
        out.append((source, scan.changed[source], chunks, texts, synthetic_vectors(_WORKER["pool"], texts)))
    return out


# -------------------------------------------------------------------------------------------- main side


def bulk_fill(settings: Settings, pool: np.ndarray, paths: list[Path], workers: int = 2) -> int:
    """Index the new files `paths` (under settings.corpus_dir, none in the index yet) with synthetic vectors
    from `pool`; returns the number of chunks written. The index must be in step (a finished sync)."""
    with ingest_lock(settings, SyncProgress()):
        collection = open_collection(settings)
        with Manifest.open(settings.index_dir) as manifest:
            lexical = LexicalIndex.open(settings.index_dir)
            if manifest.exists and (not manifest.complete or lexical.generation != manifest.generation):
                raise RuntimeError("the index is not in step with its last sync: run sync_corpus first")
            sources = [relative_source(p, settings.corpus_dir) for p in paths]
            known = manifest.states()
            if already := [s for s in sources if s in known]:
                raise ValueError(f"{len(already)} files are indexed already (first: {already[0]})")
            fingerprint = index_fingerprint(settings)
            generation = manifest.generation + 1
            manifest.mark_incomplete(fingerprint)
            remember_manifest(settings.index_dir)
            records: dict[str, FileRecord] = {}  # the new files' rows
            written = 0

            batch: list[Chunk] = []
            vectors: list[np.ndarray] = []

            def write() -> None:
                nonlocal written
                stacked = np.concatenate(vectors) if vectors else np.zeros((0, pool.shape[1]), dtype=np.float32)
                for part, part_vectors in zip(batched(batch, CHROMA_MAX_BATCH), batched(stacked, CHROMA_MAX_BATCH),
                                              strict=True):
                    _upsert(collection, part, part_vectors, new=True)
                written += len(batch)
                batch.clear()
                vectors.clear()

            def rows() -> Iterator[tuple[Chunk, str]]:
                """Drives the workers; writes Chroma as their results come; yields the lexical rows."""
                tasks = list(batched(paths, FILES_PER_TASK))
                context = multiprocessing.get_context("spawn")  # the parent holds Chroma's and OpenVINO's threads
                with context.Pool(workers, initializer=_start_worker, initargs=(settings, pool)) as workers_pool:
                    for prepared in workers_pool.imap(_prepare, tasks):
                        for source, record, chunks, texts, file_vectors in prepared:
                            records[source] = record
                            batch.extend(chunks)
                            vectors.append(file_vectors)
                            yield from zip(chunks, texts, strict=True)
                        if len(batch) >= CHROMA_MAX_BATCH - 1000:
                            write()
                write()

            try:
                lexical.apply(rows(), [], generation)  # one commit, after every Chroma write
            finally:
                lexical.close()
            manifest.commit(records, (), generation=generation, fingerprint=fingerprint)
            remember_manifest(settings.index_dir)
            return written
