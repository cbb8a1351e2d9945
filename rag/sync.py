"""Keep the index in exact step with the corpus folder: `sync_corpus`.

Crash safety comes from three rules: chunk ids are a pure function of file content (so writes are
idempotent upserts), new chunks are written before stale ones are deleted (so nothing is lost mid-run), and
the manifest is marked incomplete before Chroma is touched (so after a crash the next run diffs the corpus
against Chroma's actual ids, which removes orphans and fills gaps).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from filelock import FileLock, Timeout

from rag.chunking import Chunker
from rag.embedding import Embedder, check_device, embedder_for
from rag.errors import CorpusMissing, IngestBusy
from rag.index import (
    CHROMA_MAX_BATCH,
    RACY_MTIME_NS,
    FileRecord,
    LexicalIndex,
    Manifest,
    all_chunk_ids,
    batched,
    get_chunks,
    open_collection,
    stored_metadata,
    vectors_by_text_hash,
)
from rag.lexical import LEGACY_PATHS
from rag.loaders import LoadError, is_supported, iter_corpus_files, load_document, relative_source
from rag.settings import Settings
from rag.stories import signature
from rag.types import Chunk, Document, SyncReport

log = logging.getLogger(__name__)

EMBED_CALL_SIZE = 256  # texts per encode call: big enough for length-sorted batching, small enough for progress
UPSERT_EVERY_S = 30.0  # embedded chunks wait at most this long (plus one encode call) to be written to Chroma


class SyncProgress:
    """Progress callbacks; the base class ignores them. The CLI and the web app subclass it."""

    def files_started(self, total: int) -> None: ...
    def file_done(self, source: str) -> None: ...
    def embedding_started(self, total: int) -> None: ...
    def embedded(self, count: int) -> None: ...
    def message(self, line: str) -> None:
        log.info(line)

    def warning(self, line: str) -> None:
        log.warning(line)


_process_lock = threading.Lock()  # flock does not serialise threads that share one open file


@contextmanager
def ingest_lock(settings: Settings, progress: SyncProgress) -> Iterator[None]:
    settings.index_dir.mkdir(parents=True, exist_ok=True)
    lock_path = settings.index_dir / "ingest.lock"
    owner_path = settings.index_dir / "ingest.owner"
    lock = FileLock(str(lock_path))
    if not _process_lock.acquire(timeout=settings.lock_timeout_s):
        raise IngestBusy(f"another ingest in this process is still running after {settings.lock_timeout_s:.0f} s")
    try:
        try:
            lock.acquire(timeout=0)
        except Timeout:
            owner = owner_path.read_text(encoding="utf-8").strip() if owner_path.exists() else "unknown"
            progress.message(f"another ingest is running ({owner}); waiting up to {settings.lock_timeout_s:.0f} s")
            try:
                lock.acquire(timeout=settings.lock_timeout_s)
            except Timeout:
                raise IngestBusy(
                    f"another ingest ({owner}) still holds {lock_path} after {settings.lock_timeout_s:.0f} s; "
                    "try again later"
                ) from None
        try:
            owner_path.write_text(f"pid {os.getpid()} since {time.strftime('%H:%M:%S')}", encoding="utf-8")
            yield
        finally:
            lock.release()
    finally:
        _process_lock.release()


def make_chunker(settings: Settings, embedder: Embedder) -> Chunker:
    return Chunker(embedder.count_tokens, embedder.max_tokens, settings.chunk_tokens, settings.chunk_overlap_tokens)


def index_fingerprint(settings: Settings) -> dict[str, Any]:
    """Everything that must match for the existing index to be reused rather than rebuilt. Computed from
    settings alone, so an unchanged corpus is confirmed without loading the embedding model."""
    from rag.chunking import SEPARATORS, TITLE_MAX_TOKENS

    # The embedding runtime (OpenVINO bf16 or torch f32) is deliberately absent: both compute the same model's
    # vectors (cosine ≥ 0.999, tests/rag/test_embedding.py; the same chunk embedded in two batches differs as
    # much), so switching runtimes keeps the index. A change of model or chunking rebuilds it.
    return {
        "embedding_model": settings.embedding_model,
        "chunk_tokens": settings.chunk_tokens,
        "chunk_overlap_tokens": settings.chunk_overlap_tokens,
        "title_tokens": TITLE_MAX_TOKENS,
        "separators": SEPARATORS,
    }


class LazyModels:
    """The embedder and chunker, loaded on first use: a sync with nothing to embed never pays for them."""

    def __init__(self, settings: Settings, embedder: Embedder | None) -> None:
        self.settings = settings
        self._embedder = embedder
        self._chunker: Chunker | None = None

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            # Only the tokenizer loads here (chunking needs it); the network loads on the first embedding.
            self._embedder = embedder_for(self.settings)
        return self._embedder

    @property
    def chunker(self) -> Chunker:
        if self._chunker is None:
            self._chunker = make_chunker(self.settings, self.embedder)
        return self._chunker


def sync_corpus(
    settings: Settings,
    *,
    progress: SyncProgress | None = None,
    embedder: Embedder | None = None,
    collection: Any | None = None,
    verify: bool = False,
) -> SyncReport:
    """Make the index hold exactly the chunks of the supported, readable files under `settings.corpus_dir`.

    `verify`: re-read every file even when its size and modification time are unchanged.
    """
    progress = progress or SyncProgress()
    started = time.perf_counter()
    report = SyncReport()
    if not settings.corpus_dir.is_dir():
        raise CorpusMissing(f"corpus folder {settings.corpus_dir} does not exist")
    check_device(settings.embedding_device)  # a missing GPU is said before any work, not mid-run
    with ingest_lock(settings, progress):
        models = LazyModels(settings, embedder)
        collection = collection if collection is not None else open_collection(settings)
        manifest = Manifest.load(settings.index_dir)
        fingerprint = index_fingerprint(settings)
        if manifest.exists and manifest.fingerprint and manifest.fingerprint != fingerprint:
            progress.message("embedding model or chunking changed: rebuilding the index from scratch")
            # Mark the index incomplete first: a crash between the reset and the end of the rebuild must not
            # leave a complete manifest naming chunks that are gone (were the old settings restored).
            manifest.complete = False
            manifest.save(settings.index_dir)
            collection = _reset_collection(settings, collection)
            manifest = Manifest()

        # Chroma's ids are trusted from the manifest only if the last run finished; else ask Chroma. An
        # untrusted manifest may name chunks a crashed run already deleted (a file changed, then restored
        # while the index was incomplete), so the scan re-chunks every file whose chunks are not all present.
        trusted = manifest.exists and manifest.complete
        existing = manifest.chunk_ids() if trusted else all_chunk_ids(collection)
        records, pending = _scan(settings, manifest, models, report, progress, verify,
                                 present=None if trusted else existing)
        report.repaired = manifest.exists and not manifest.complete
        desired = {cid for rec in records.values() for cid in rec.chunk_ids}
        wanted = [c for _, chunks in pending.values() for c in chunks]
        # Ask Chroma, not the manifest, about the chunks of changed files: an id is a function of source and
        # text, not of the chunk's position, so a chunk kept across an edit can need new metadata (ordinal).
        stored = stored_metadata(collection, [c.id for c in wanted])
        to_add = [c for c in wanted if c.id not in stored]
        to_fix = [c for c in wanted if c.id in stored and stored[c.id] != c.metadata()]
        to_delete = sorted(existing - desired)

        chroma_changed = bool(to_add or to_fix or to_delete)
        if chroma_changed:
            manifest.complete = False
            manifest.fingerprint = fingerprint
            manifest.save(settings.index_dir)
            _write_chunks(collection, to_add, models.chunker, models.embedder, report, progress)
            _fix_metadata(collection, to_fix)
            for part in batched(to_delete, CHROMA_MAX_BATCH):
                collection.delete(ids=part)
            report.chunks_removed = len(to_delete)

        generation = manifest.generation + (1 if chroma_changed or not trusted else 0)
        # The lexical index follows Chroma. In step with the last finished run (same generation), it takes this
        # run's changes alone, in one transaction; otherwise (first run, a crash, an older index) it is
        # reconciled with Chroma's ids. Written before the manifest is marked complete: a crash in between
        # leaves an incomplete manifest, and the next run reconciles.
        lexical = LexicalIndex.open(settings.index_dir)
        try:
            if trusted and lexical.generation == manifest.generation:
                if chroma_changed:
                    changed = to_add + to_fix  # to_fix: same id, new metadata; replaced like the rest
                    lexical.apply([(c, models.chunker.embedded_text(c)) for c in changed], to_delete, generation)
            else:
                reconcile_lexical_index(lexical, collection, models.chunker, generation)
        finally:
            lexical.close()
        records_changed = records != manifest.files or not trusted or manifest.fingerprint != fingerprint
        if records_changed or chroma_changed:
            manifest = Manifest(files=records, generation=generation, complete=True, fingerprint=fingerprint)
            manifest.save(settings.index_dir)
        for legacy in LEGACY_PATHS:  # the bm25s and FTS5 indexes of earlier versions, now replaced
            path = settings.index_dir / legacy
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)

        report.documents_total = len(records)
        report.chunks_total = len(desired)
        report.seconds = time.perf_counter() - started
        return report


def printable(name: str) -> str:
    """A file name fit for one log line: control characters (a newline is legal in a name) escaped."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in name)


def _scan(
    settings: Settings,
    manifest: Manifest,
    models: LazyModels,
    report: SyncReport,
    progress: SyncProgress,
    verify: bool,
    present: set[str] | None = None,
) -> tuple[dict[str, FileRecord], dict[str, tuple[Document, list[Chunk]]]]:
    """Walk the corpus: which files are unchanged (kept from the manifest), which must be (re)chunked.

    `present`: the chunk ids actually in Chroma when the manifest is not trusted (None: trust it)."""
    root = settings.corpus_dir
    records: dict[str, FileRecord] = {}
    pending: dict[str, tuple[Document, list[Chunk]]] = {}
    paths = iter_corpus_files(root)
    progress.files_started(len(paths))
    max_bytes = int(settings.max_file_mb * 1024 * 1024)
    for path in paths:
        source = relative_source(path, root)
        old = manifest.files.get(source)
        try:
            _scan_one(path, source, old, settings, models, verify, max_bytes, records, pending, report, present,
                      progress.warning)
        except LoadError as exc:
            report.skipped += 1
            kept = ""
            if old is not None:
                # One bad version of a file never removes what was indexed from its last good version.
                records[source] = old
                kept = " (kept its previously indexed version)"
            # A name that is not valid UTF-8 (surrogate escapes) must not break JSON output or the UI.
            shown = source.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            report.skipped_files.append({"source": shown, "reason": str(exc)})
            progress.warning(f"skipped {printable(source)}: {exc}{kept}")
        progress.file_done(source)
    for source in manifest.files:
        if source not in records:
            report.deleted += 1
    return records, pending


def _scan_one(
    path: Path,
    source: str,
    old: FileRecord | None,
    settings: Settings,
    models: LazyModels,
    verify: bool,
    max_bytes: int,
    records: dict[str, FileRecord],
    pending: dict[str, tuple[Document, list[Chunk]]],
    report: SyncReport,
    present: set[str] | None = None,
    warn: Callable[[str], None] = log.warning,
) -> None:
    # The manifest's record of this file may be reused only if its chunks are really in the index.
    indexed = old is not None and (present is None or present.issuperset(old.chunk_ids))
    if not is_supported(path):
        raise LoadError(f"unsupported file type {path.suffix or '(no extension)'}")
    try:
        # Stat before reading: if the file changes while we read it, the next run sees a newer mtime.
        stat = path.stat()
    except OSError as exc:
        raise LoadError("broken symbolic link" if path.is_symlink() else f"cannot stat file: {exc.strerror or exc}") \
            from None
    unchanged_stat = old is not None and old.size == stat.st_size and old.mtime_ns == stat.st_mtime_ns
    if indexed and not verify and not old.racy and unchanged_stat and old.minhash:
        records[source] = old
        report.unchanged += 1
        return
    # A file written just before we read it may be written again within the same mtime tick (an editor, an
    # upload, a copy still running): its record must not let the next scan skip it on size and mtime alone.
    racy = time.time_ns() - stat.st_mtime_ns < RACY_MTIME_NS
    document = load_document(path, settings.corpus_dir, max_bytes=max_bytes, max_chars=settings.max_document_chars)
    for line in document.warnings:
        warn(f"{printable(source)}: {line}")
    if indexed and old.content_hash == document.content_hash:
        # An index written before story grouping gets its signatures here: the file is read, never re-embedded.
        records[source] = replace(old, size=stat.st_size, mtime_ns=stat.st_mtime_ns, racy=racy,
                                  minhash=old.minhash or signature(document.text),
                                  date_source=old.date_source or document.date_source)
        report.unchanged += 1
        return
    chunks = models.chunker.split(document)
    if not chunks:
        raise LoadError("no text to index")
    records[source] = FileRecord(
        size=stat.st_size,
        mtime_ns=stat.st_mtime_ns,
        content_hash=document.content_hash,
        title=document.title,
        chunk_ids=[c.id for c in chunks],
        date=document.date,
        url=document.url,
        racy=racy,
        minhash=signature(document.text),
        date_source=document.date_source,
    )
    pending[source] = (document, chunks)
    if old is None:
        report.added += 1
    elif old.content_hash != document.content_hash:
        report.updated += 1
    else:
        report.unchanged += 1  # same text, chunks missing after a crash: rewritten, but not an update


def _write_chunks(
    collection: Any,
    chunks: list[Chunk],
    chunker: Chunker,
    embedder: Embedder,
    report: SyncReport,
    progress: SyncProgress,
) -> None:
    """Embed (or reuse the vectors of equal texts) and add `chunks`, none of which Chroma holds yet."""
    if not chunks:
        return
    reusable = vectors_by_text_hash(collection, (c.text_hash for c in chunks))
    fresh = [c for c in chunks if c.text_hash not in reusable]
    reused = [c for c in chunks if c.text_hash in reusable]
    if reused:
        for part in batched(reused, CHROMA_MAX_BATCH):
            _upsert(collection, part, np.stack([reusable[c.text_hash] for c in part]), new=True)
        report.chunks_reused = len(reused)
    progress.embedding_started(len(fresh))
    # Embedded chunks are written in batches of up to CHROMA_MAX_BATCH (a record costs Chroma ~40 % less in a
    # batch of 5,000 than of 256), or after UPSERT_EVERY_S seconds of encoding, so that a crash loses little work.
    written: list[Chunk] = []
    vectors_written: list[np.ndarray] = []
    last_write = time.perf_counter()

    def write() -> None:
        nonlocal last_write
        if written:
            _upsert(collection, written, np.concatenate(vectors_written), new=True)
            written.clear()
            vectors_written.clear()
        last_write = time.perf_counter()

    # Texts equal within this run are embedded once too.
    for part in batched(fresh, EMBED_CALL_SIZE):
        unique: dict[str, str] = {}
        for c in part:
            unique.setdefault(c.text_hash, chunker.embedded_text(c))
        vectors = dict(zip(unique, embedder.embed_documents(list(unique.values())), strict=True))
        written.extend(part)
        vectors_written.append(np.stack([vectors[c.text_hash] for c in part]))
        report.chunks_embedded += len(unique)
        progress.embedded(len(part))
        if len(written) + EMBED_CALL_SIZE > CHROMA_MAX_BATCH or time.perf_counter() - last_write > UPSERT_EVERY_S:
            write()
    write()


def _fix_metadata(collection: Any, chunks: list[Chunk]) -> None:
    """Rewrite the metadata of chunks already stored under the same id, keeping their vectors."""
    for part in batched(chunks, CHROMA_MAX_BATCH):
        page = collection.get(ids=[c.id for c in part], include=["embeddings"])
        vectors = dict(zip(page["ids"], page["embeddings"], strict=True))
        _upsert(collection, part, np.stack([np.asarray(vectors[c.id], dtype=np.float32) for c in part]))


def _upsert(collection: Any, chunks: list[Chunk], vectors: np.ndarray, *, new: bool = False) -> None:
    """Write chunks with their vectors. `new`: none of their ids is in Chroma (the sync asked it, under the ingest
    lock), so Chroma's `add` skips the existence check of `upsert` (~25 % of its cost per record)."""
    (collection.add if new else collection.upsert)(
        ids=[c.id for c in chunks],
        embeddings=vectors,
        documents=[c.text for c in chunks],
        metadatas=[c.metadata() for c in chunks],
    )


def reconcile_lexical_index(lexical: LexicalIndex, collection: Any, chunker: Chunker, generation: int) -> None:
    """Make the lexical index hold exactly Chroma's chunk ids: missing chunks are read from Chroma and added,
    extra ones deleted; rows present in both are kept (their indexed columns are functions of the id)."""
    chroma_ids = all_chunk_ids(collection)
    indexed = set(lexical.ids)
    missing = sorted(chroma_ids - indexed)
    extra = sorted(indexed - chroma_ids)

    def rows() -> Iterator[tuple[Chunk, str]]:  # read from Chroma page by page, not all at once
        for part in batched(missing, CHROMA_MAX_BATCH):
            for chunk in get_chunks(collection, part).values():
                yield chunk, chunker.embedded_text(chunk)

    lexical.apply(rows(), extra, generation)


def rebuild_lexical_index(settings: Settings, collection: Any, chunker: Chunker, generation: int) -> None:
    """Fill the lexical index of `settings.index_dir` from Chroma (benchmarks that write Chroma directly)."""
    lexical = LexicalIndex.open(settings.index_dir)
    try:
        reconcile_lexical_index(lexical, collection, chunker, generation)
    finally:
        lexical.close()


def _reset_collection(settings: Settings, collection: Any) -> Any:
    from rag.index import chroma_client

    client = chroma_client(settings)
    with contextlib.suppress(Exception):  # absent already
        client.delete_collection(settings.collection)
    return open_collection(settings, client)
