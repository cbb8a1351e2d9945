"""Keep the index in exact step with the corpus folder: `sync_corpus`.

Crash safety comes from three rules: chunk ids are a pure function of file content (so writes are
idempotent upserts), new chunks are written before stale ones are deleted (so nothing is lost mid-run), and
the manifest is marked incomplete before Chroma is touched (so after a crash the next run diffs the corpus
against Chroma's actual ids, which removes orphans and fills gaps).
"""

from __future__ import annotations

import bisect
import contextlib
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from filelock import FileLock, Timeout

from rag.chunking import Chunker
from rag.embedding import Embedder, check_device, embedder_for, index_vectors
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
    remember_manifest,
    stored_metadata,
    vectors_by_text_hash,
)
from rag.lexical import LEGACY_PATHS
from rag.loaders import LoadError, in_corpus_scan, is_supported, iter_corpus_files, load_document, relative_source
from rag.manifest import FileState
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
            owner = lock_owner(owner_path)
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
            owner_path.unlink(missing_ok=True)  # the next holder's note, not this one's, is what a waiter reads
            lock.release()
    finally:
        _process_lock.release()


def lock_owner(owner_path: Path, wait_s: float = 2.0) -> str:
    """Who holds the ingest lock, as it noted itself ("pid 123 since 10:00:00"). The holder writes the note just
    after it takes the lock, so a waiter that came a moment too early waits for it (up to `wait_s`)."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            note = owner_path.read_text(encoding="utf-8").strip()
        except OSError:
            note = ""
        if note or time.monotonic() >= deadline:
            return note or "owner unknown"
        time.sleep(0.05)


def make_chunker(settings: Settings, embedder: Embedder) -> Chunker:
    return Chunker(embedder.count_tokens, embedder.max_tokens, settings.chunk_tokens, settings.chunk_overlap_tokens)


def index_fingerprint(settings: Settings) -> dict[str, Any]:
    """Everything that must match for the existing index to be reused rather than rebuilt. Computed from
    settings alone, so an unchanged corpus is confirmed without loading the embedding model."""
    from rag.chunking import SEPARATORS, TITLE_MAX_TOKENS

    # The embedding runtime (OpenVINO bf16/f32 or torch f32) is deliberately absent: all compute the same model's
    # vectors (cosine ≥ 0.999, tests/rag/test_embedding.py; the same chunk embedded in two batches differs as
    # much), so switching runtimes keeps the index. A change of model or chunking rebuilds it, and so does a
    # switch to or from int8, whose vectors are only close (cosine ≈ 0.997): recorded only for int8, so the
    # indexes built before the setting existed keep their fingerprint.
    fingerprint: dict[str, Any] = {
        "embedding_model": settings.embedding_model,
        "chunk_tokens": settings.chunk_tokens,
        "chunk_overlap_tokens": settings.chunk_overlap_tokens,
        "title_tokens": TITLE_MAX_TOKENS,
        "separators": SEPARATORS,
    }
    if index_vectors(settings.embedding_precision):
        fingerprint["embedding_precision"] = index_vectors(settings.embedding_precision)
    return fingerprint


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
    paths: Iterable[Path] | None = None,
) -> SyncReport:
    """Make the index hold exactly the chunks of the supported, readable files under `settings.corpus_dir`.

    `verify`: re-read every file even when its size and modification time are unchanged.
    `paths`: only these files (and folders: what is under them) may have changed since the last sync, as file
    events say (rag/watch.py): the rest of the corpus is not scanned. Ignored (a full scan) when the manifest
    cannot be trusted.
    """
    progress = progress or SyncProgress()
    started = time.perf_counter()
    if not settings.corpus_dir.is_dir():
        raise CorpusMissing(f"corpus folder {settings.corpus_dir} does not exist")
    check_device(settings.embedding_device)  # a missing GPU is said before any work, not mid-run
    with ingest_lock(settings, progress):
        models = LazyModels(settings, embedder)
        collection = collection if collection is not None else open_collection(settings)
        with Manifest.open(settings.index_dir) as manifest:
            report = _sync(settings, manifest, collection, models, progress, verify,
                           None if paths is None else list(paths))
        report.seconds = time.perf_counter() - started
        return report


def _sync(settings: Settings, manifest: Manifest, collection: Any, models: LazyModels, progress: SyncProgress,
          verify: bool, paths: list[Path] | None) -> SyncReport:
    report = SyncReport()
    index_dir = settings.index_dir
    report.repaired = manifest.exists and not manifest.complete
    fingerprint = index_fingerprint(settings)
    if manifest.exists and manifest.fingerprint and manifest.fingerprint != fingerprint:
        progress.message("embedding model, precision or chunking changed: re-embedding the index from scratch")
        # Mark the index incomplete first: a crash between the reset and the end of the rebuild must not
        # leave a complete manifest naming chunks that are gone (were the old settings restored).
        manifest.mark_incomplete(manifest.fingerprint)
        remember_manifest(index_dir)
        collection = _reset_collection(settings, collection)
        manifest.reset()
        remember_manifest(index_dir)
        report.repaired = False

    # Chroma's ids are trusted from the manifest only if the last run finished; else ask Chroma. An untrusted
    # manifest may name chunks a crashed run already deleted (a file changed, then restored while the index was
    # incomplete), so the scan re-chunks every file whose chunks are not all present. A trusted manifest is read
    # row by row: its stat columns for every file, the full records (chunk ids) of the files that changed.
    trusted = manifest.exists and manifest.complete
    everything = None if trusted and not verify else manifest.files
    known = manifest.states() if everything is None else {
        s: FileState(r.size, r.mtime_ns, r.racy, bool(r.minhash)) for s, r in everything.items()}
    old_records: dict[str, FileRecord] = dict(everything or {})

    def old_record(source: str) -> FileRecord | None:
        if source not in old_records and source in known:
            found = manifest.record(source)
            if found is not None:
                old_records[source] = found
        return old_records.get(source)

    present = None if trusted else all_chunk_ids(collection)
    root = settings.corpus_dir
    if paths is not None and trusted:
        files, scope = _files_at(root, paths, known)
    else:
        files, scope = iter_corpus_files(root), set(known)
    scan = _scan(settings, files, known, old_record, models, report, progress, verify, present)
    gone = sorted(scope - scan.seen)
    report.deleted = len(gone)

    new_ids = {cid for rec in scan.changed.values() for cid in rec.chunk_ids}
    if trusted:
        # Chunk ids are a function of the source (and text): only changed and removed files lose chunks.
        stale = {cid for s in (*scan.changed, *gone) if (rec := old_record(s)) for cid in rec.chunk_ids}
        to_delete = sorted(stale - new_ids)
    else:
        desired = new_ids | {cid for s in scan.kept for cid in old_records[s].chunk_ids}
        to_delete = sorted((present or set()) - desired)
    wanted = [c for _, chunks in scan.pending.values() for c in chunks]
    # Ask Chroma, not the manifest, about the chunks of changed files: an id is a function of source and text,
    # not of the chunk's position, so a chunk kept across an edit can need new metadata (ordinal).
    stored = stored_metadata(collection, [c.id for c in wanted])
    to_add = [c for c in wanted if c.id not in stored]
    to_fix = [c for c in wanted if c.id in stored and stored[c.id] != c.metadata()]

    chroma_changed = bool(to_add or to_fix or to_delete)
    if chroma_changed:
        manifest.mark_incomplete(fingerprint)
        remember_manifest(index_dir)
        _write_chunks(collection, to_add, models.chunker, models.embedder, report, progress)
        _fix_metadata(collection, to_fix)
        for part in batched(to_delete, CHROMA_MAX_BATCH):
            collection.delete(ids=part)
        report.chunks_removed = len(to_delete)

    generation = manifest.generation + (1 if chroma_changed or not trusted else 0)
    # The lexical index follows Chroma. In step with the last finished run (same generation), it takes this
    # run's changes alone, in one transaction; otherwise (first run, a crash, an older index) it is reconciled
    # with Chroma's ids. Written before the manifest is marked complete: a crash in between leaves an
    # incomplete manifest, and the next run reconciles.
    lexical = LexicalIndex.open(index_dir)
    try:
        if trusted and lexical.generation == manifest.generation:
            if chroma_changed:
                changed = to_add + to_fix  # to_fix: same id, new metadata; replaced like the rest
                lexical.apply([(c, models.chunker.embedded_text(c)) for c in changed], to_delete, generation)
        else:
            reconcile_lexical_index(lexical, collection, models.chunker, generation)
    finally:
        lexical.close()
    # One transaction: the changed rows, the removed ones, the generation and `complete`.
    if not trusted:
        rows = {s: old_records[s] for s in scan.kept} | scan.changed
        manifest.commit(rows, (), generation=generation, fingerprint=fingerprint, replace=True)
        remember_manifest(index_dir)
    elif scan.changed or gone or chroma_changed or manifest.fingerprint != fingerprint:
        manifest.commit(scan.changed, gone, generation=generation, fingerprint=fingerprint)
        remember_manifest(index_dir)
    for legacy in LEGACY_PATHS:  # the bm25s and FTS5 indexes of earlier versions, now replaced
        path = index_dir / legacy
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)

    report.documents_total, report.chunks_total = manifest.totals()
    return report


def printable(name: str) -> str:
    """A file name fit for one log line: control characters (a newline is legal in a name) escaped."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in name)


def _files_at(root: Path, paths: list[Path], known: dict[str, FileState]) -> tuple[list[Path], set[str]]:
    """The corpus files a full scan would list at or under `paths`, and the known sources there (a folder
    removed or renamed away: everything the manifest has under it)."""
    files: set[Path] = set()
    scope: set[str] = set()
    ordered = sorted(known)  # the known sources under a folder are one run of this list, found by bisection
    for path in paths:
        path = path if path.is_absolute() else root / path
        try:
            source = relative_source(path, root)
        except ValueError:
            continue  # not inside the corpus
        if source in ("", "."):
            return iter_corpus_files(root), set(known)
        if source in known:
            scope.add(source)
        prefix = source + "/"
        for s in ordered[bisect.bisect_left(ordered, prefix):]:
            if not s.startswith(prefix):
                break
            scope.add(s)
        if not in_corpus_scan(path, root):
            continue
        if path.is_dir():
            if not path.is_symlink():  # a full scan lists a linked folder but never enters it
                files.update(iter_corpus_files(path))
        elif os.path.lexists(path):
            files.add(path)
    return sorted(files, key=lambda p: p.as_posix()), scope


@dataclass
class ScanResult:
    changed: dict[str, FileRecord] = field(default_factory=dict)  # records to write (new, updated, restamped)
    pending: dict[str, tuple[Document, list[Chunk]]] = field(default_factory=dict)  # to chunk into the index
    seen: set[str] = field(default_factory=set)  # every source on disk, readable or not
    kept: set[str] = field(default_factory=set)  # sources whose record stays as it is


def _scan(
    settings: Settings,
    paths: list[Path],
    known: dict[str, FileState],
    old_record: Callable[[str], FileRecord | None],
    models: LazyModels,
    report: SyncReport,
    progress: SyncProgress,
    verify: bool,
    present: set[str] | None = None,
) -> ScanResult:
    """Look at `paths`: which files are unchanged (their records kept), which must be (re)chunked.

    `present`: the chunk ids actually in Chroma when the manifest is not trusted (None: trust it)."""
    root = settings.corpus_dir
    result = ScanResult()
    progress.files_started(len(paths))
    max_bytes = int(settings.max_file_mb * 1024 * 1024)
    for path in paths:
        source = relative_source(path, root)
        result.seen.add(source)
        try:
            _scan_one(path, source, known.get(source), old_record, settings, models, verify, max_bytes, result,
                      report, present, progress.warning)
        except LoadError as exc:
            report.skipped += 1
            kept = ""
            if source in known:
                # One bad version of a file never removes what was indexed from its last good version.
                result.kept.add(source)
                kept = " (kept its previously indexed version)"
            # A name that is not valid UTF-8 (surrogate escapes) must not break JSON output or the UI.
            shown = source.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            report.skipped_files.append({"source": shown, "reason": str(exc)})
            progress.warning(f"skipped {printable(source)}: {exc}{kept}")
        progress.file_done(source)
    return result


def _scan_one(
    path: Path,
    source: str,
    state: FileState | None,
    old_record: Callable[[str], FileRecord | None],
    settings: Settings,
    models: LazyModels,
    verify: bool,
    max_bytes: int,
    result: ScanResult,
    report: SyncReport,
    present: set[str] | None = None,
    warn: Callable[[str], None] = log.warning,
) -> None:
    if not is_supported(path):
        raise LoadError(f"unsupported file type {path.suffix or '(no extension)'}")
    try:
        # Stat before reading: if the file changes while we read it, the next run sees a newer mtime.
        stat = path.stat()
    except OSError as exc:
        raise LoadError("broken symbolic link" if path.is_symlink() else f"cannot stat file: {exc.strerror or exc}") \
            from None
    # The manifest's record of this file may be reused only if its chunks are really in the index.
    def indexed() -> bool:
        if state is None:
            return False
        if present is None:
            return True
        old = old_record(source)
        return old is not None and present.issuperset(old.chunk_ids)

    unchanged_stat = state is not None and state.size == stat.st_size and state.mtime_ns == stat.st_mtime_ns
    if state is not None and not verify and not state.racy and unchanged_stat and state.signed and indexed():
        result.kept.add(source)
        report.unchanged += 1
        return
    old = old_record(source) if state is not None else None
    # A file written just before we read it may be written again within the same mtime tick (an editor, an
    # upload, a copy still running): its record must not let the next scan skip it on size and mtime alone.
    racy = time.time_ns() - stat.st_mtime_ns < RACY_MTIME_NS
    document = load_document(path, settings.corpus_dir, max_bytes=max_bytes, max_chars=settings.max_document_chars)
    for line in document.warnings:
        warn(f"{printable(source)}: {line}")
    if old is not None and indexed() and old.content_hash == document.content_hash:
        # An index written before story grouping gets its signatures here: the file is read, never re-embedded.
        record = replace(old, size=stat.st_size, mtime_ns=stat.st_mtime_ns, racy=racy,
                         minhash=old.minhash or signature(document.text),
                         date_source=old.date_source or document.date_source)
        if record == old:
            result.kept.add(source)
        else:
            result.changed[source] = record
        report.unchanged += 1
        return
    chunks = models.chunker.split(document)
    if not chunks:
        raise LoadError("no text to index")
    result.changed[source] = FileRecord(
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
    result.pending[source] = (document, chunks)
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
