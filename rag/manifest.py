"""The manifest: what each corpus file produced (stat, content hash, title, dates, story signature, chunk ids).

One SQLite database, `INDEX/manifest.sqlite3` (standard library sqlite3, WAL), one row per file, so a sync
reads and writes what changed, not the whole archive (the JSON file it replaces cost 5.4 s to load and 10.6 s
to save at 83,000 files). Chroma is the source of truth for which chunks exist; the manifest is a cache of
what each file produced, trusted only while `complete` (see rag/sync.py for the order of writes):

    meta      version, generation, complete, fingerprint (JSON), epoch, seq, stamp
    files     one row per file: the FileRecord fields, chunk ids as one space-separated text, their count,
              whether it has a story signature, and `seq`, the write that last changed the row; an index
              holds the stat columns a no-change sync compares (read without the bulky rows)
    removed   the files removed from `files`, with the seq of that write

`seq` counts write transactions: a reader that has seen the manifest at seq N asks for the rows changed and
removed since (`changes_since`) instead of reading every row again (the retriever's catalog). `epoch` changes
when the manifest is recreated (a new index, a rebuild, a damaged file): then a reader reads everything.
`stamp` changes with every write, whoever made it (rag/index.py compares it to notice other processes' writes).

A manifest.json of an earlier version is imported by the next sync (`Manifest.open`) in one transaction and
then deleted; readers (`Manifest.load`) read it in memory until then. A file SQLite cannot read is a damaged
cache: the sync replaces it by an empty, incomplete manifest and reconciles with Chroma.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

MANIFEST_VERSION = 2
FILE_NAME = "manifest.sqlite3"
LEGACY_JSON = "manifest.json"  # version 1: one JSON file, read and written whole
_SUFFIXES = ("", "-wal", "-shm", "-journal")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    source TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, content_hash TEXT NOT NULL,
    title TEXT NOT NULL, date TEXT, url TEXT, racy INTEGER NOT NULL, minhash TEXT, date_source TEXT,
    chunk_ids TEXT NOT NULL, chunks INTEGER NOT NULL, signed INTEGER NOT NULL, seq INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS files_seq ON files (seq);
-- What a no-change sync reads of every row, apart from the bulky columns (chunk ids, signature): a scan of
-- this index reads ~60 bytes a file instead of ~1 KB.
CREATE INDEX IF NOT EXISTS files_state ON files (source, size, mtime_ns, racy, signed, chunks);
CREATE TABLE IF NOT EXISTS removed (source TEXT PRIMARY KEY, seq INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS removed_seq ON removed (seq);
"""
_RECORD_COLUMNS = ("size", "mtime_ns", "content_hash", "title", "chunk_ids", "date", "url", "racy", "minhash",
                   "date_source")


@dataclass
class FileRecord:
    size: int
    mtime_ns: int
    content_hash: str
    title: str
    chunk_ids: list[str]
    date: str | None = None
    url: str | None = None
    # The file's mtime was within RACY_MTIME_NS of the moment it was read: a write in the same timestamp tick
    # after the read leaves size and mtime unchanged, so next time the content is checked, not the stat.
    racy: bool = False
    # MinHash of the document's word shingles (rag/stories.py): story groups are derived from these.
    minhash: str | None = None
    # Where the date came from: "front matter", "html metadata", "pdf metadata", "docx metadata", "dateline".
    date_source: str | None = None


class FileState(NamedTuple):
    """What a sync compares to decide that a file is unchanged, without its chunk ids (a tuple: a no-change
    sync builds one per file of the archive)."""

    size: int
    mtime_ns: int
    racy: bool
    signed: bool  # has a story signature (an index written before story grouping lacks them)


@dataclass(frozen=True)
class DocumentInfo:
    """What search needs of a document beyond its chunks: the catalog's dates, story signature and headline."""

    title: str
    date: str | None
    url: str | None
    minhash: str | None


@dataclass(frozen=True)
class Listed:
    """One indexed document as listings show it (rag status, the web app's corpus tab)."""

    source: str
    title: str
    date: str | None
    date_source: str | None
    chunks: int


@dataclass(frozen=True)
class Changes:
    """The manifest's documents changed since a reader's (epoch, seq). `full`: `upserted` holds every document
    (the reader had another epoch or none) and `removed` is empty."""

    epoch: str
    seq: int
    full: bool
    upserted: dict[str, DocumentInfo]
    removed: list[str]


@dataclass
class Manifest:
    """An open manifest. `exists`: an index has been written here; `complete`: the last sync finished."""

    _db: sqlite3.Connection
    index_dir: Path
    exists: bool = False
    generation: int = 0
    complete: bool = True
    fingerprint: dict[str, Any] = field(default_factory=dict)
    epoch: str = ""
    seq: int = 0
    _files: dict[str, FileRecord] | None = None

    # ------------------------------------------------------------------ opening

    @staticmethod
    def path(index_dir: Path) -> Path:
        return index_dir / FILE_NAME

    @classmethod
    def open(cls, index_dir: Path) -> Manifest:
        """For a sync (under the ingest lock): created when absent, a manifest.json imported, a damaged file
        replaced by an empty, incomplete manifest."""
        index_dir.mkdir(parents=True, exist_ok=True)
        path, legacy = cls.path(index_dir), index_dir / LEGACY_JSON
        db = _connect_writer(path)
        if db is None or _version(db) not in (None, MANIFEST_VERSION):  # damaged or of another version
            if db is not None:
                db.close()
            _remove(path)
            db = _connect_writer(path)
            if db is None:
                raise sqlite3.DatabaseError(f"cannot create {path}")
            _initialise(db, exists=True, complete=False)
        elif _version(db) is None:  # new, or its creation was interrupted: the JSON is still there then
            _initialise(db, exists=False, complete=True, legacy=legacy if legacy.exists() else None)
        legacy.unlink(missing_ok=True)  # imported now or by an earlier run that stopped before this line
        return cls._from(db, index_dir)

    @classmethod
    def load(cls, index_dir: Path) -> Manifest:
        """For readers (status, search): never writes. A manifest.json not yet imported is read in memory; a
        damaged file reads as an existing, incomplete manifest with no files."""
        path, legacy = cls.path(index_dir), index_dir / LEGACY_JSON
        if path.exists():
            try:
                db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)
                if _version(db) == MANIFEST_VERSION:
                    return cls._from(db, index_dir)
                db.close()
            except sqlite3.DatabaseError:
                pass
        if legacy.exists():  # not imported yet (or the import was interrupted)
            return cls._memory(index_dir, exists=False, complete=True, legacy=legacy)
        return cls._memory(index_dir, exists=path.exists(), complete=not path.exists())

    @classmethod
    def _memory(cls, index_dir: Path, *, exists: bool, complete: bool, legacy: Path | None = None) -> Manifest:
        db = sqlite3.connect(":memory:", check_same_thread=False)
        _initialise(db, exists=exists, complete=complete, legacy=legacy)
        return cls._from(db, index_dir)

    @classmethod
    def _from(cls, db: sqlite3.Connection, index_dir: Path) -> Manifest:
        meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
        return cls(db, index_dir, exists=meta.get("exists") == "1", generation=int(meta.get("generation", 0)),
                   complete=meta.get("complete") == "1", fingerprint=json.loads(meta.get("fingerprint", "{}")),
                   epoch=meta.get("epoch", ""), seq=int(meta.get("seq", 0)))

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Manifest:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ reading

    def states(self) -> dict[str, FileState]:
        """source → what an unchanged-file check compares; no chunk ids are read."""
        rows = self._db.execute("SELECT source, size, mtime_ns, racy, signed FROM files")
        return {source: FileState(size, mtime, racy == 1, signed == 1) for source, size, mtime, racy, signed in rows}

    def record(self, source: str) -> FileRecord | None:
        found = self.records([source])
        return found.get(source)

    def records(self, sources: Iterable[str]) -> dict[str, FileRecord]:
        """The full records of those of `sources` the manifest holds."""
        out: dict[str, FileRecord] = {}
        wanted = list(sources)
        for i in range(0, len(wanted), 500):
            part = wanted[i : i + 500]
            out.update(self._select(f"WHERE source IN ({','.join('?' * len(part))})", part))
        return out

    @property
    def files(self) -> dict[str, FileRecord]:
        """Every record (chunk ids included): for listings and a sync that cannot trust the manifest."""
        if self._files is None:
            self._files = dict(self._select("", ()))
        return self._files

    def _select(self, where: str, args: Iterable[Any]) -> Iterator[tuple[str, FileRecord]]:
        rows = self._db.execute(f"SELECT source, {', '.join(_RECORD_COLUMNS)} FROM files {where}", tuple(args))
        for source, size, mtime, content_hash, title, ids, date, url, racy, minhash, date_source in rows:
            yield source, FileRecord(size, mtime, content_hash, title, ids.split(" ") if ids else [], date, url,
                                     bool(racy), minhash, date_source)

    def listing(self) -> list[Listed]:
        """Every document, sorted by source, without chunk ids."""
        rows = self._db.execute("SELECT source, title, date, date_source, chunks FROM files ORDER BY source")
        return [Listed(*row) for row in rows]

    def chunk_ids_of(self, sources: Iterable[str]) -> list[str]:
        """The chunk ids of those of `sources` the manifest holds."""
        wanted, out = list(sources), []
        for i in range(0, len(wanted), 500):
            part = wanted[i : i + 500]
            rows = self._db.execute(f"SELECT chunk_ids FROM files WHERE source IN ({','.join('?' * len(part))})", part)
            out.extend(cid for (ids,) in rows for cid in ids.split(" ") if cid)
        return out

    def chunk_ids(self) -> set[str]:
        return {cid for (ids,) in self._db.execute("SELECT chunk_ids FROM files") for cid in ids.split(" ") if cid}

    def totals(self) -> tuple[int, int]:
        """(documents, chunks) the manifest names."""
        documents, chunks = self._db.execute("SELECT COUNT(*), COALESCE(SUM(chunks), 0) FROM files").fetchone()
        return int(documents), int(chunks)

    def changes_since(self, epoch: str | None, seq: int) -> Changes:
        """The documents upserted and removed after write `seq` of `epoch` (all of them for another epoch)."""
        self._db.execute("BEGIN")  # one snapshot: a sync committing meanwhile is seen whole or not at all
        try:
            meta = dict(self._db.execute("SELECT key, value FROM meta WHERE key IN ('epoch', 'seq')").fetchall())
            now_epoch, now_seq = meta.get("epoch", ""), int(meta.get("seq", 0))
            full = epoch != now_epoch
            where = "" if full else "WHERE seq > ?"
            args = () if full else (seq,)
            rows = self._db.execute(f"SELECT source, title, date, url, minhash FROM files {where}", args)
            upserted = {source: DocumentInfo(title, date, url, minhash) for source, title, date, url, minhash in rows}
            removed = [] if full else [s for (s,) in self._db.execute("SELECT source FROM removed WHERE seq > ?",
                                                                          args)]
        finally:
            self._db.execute("ROLLBACK")
        return Changes(now_epoch, now_seq, full, upserted, removed)

    # ------------------------------------------------------------------ writing (the sync, under its lock)

    def mark_incomplete(self, fingerprint: Mapping[str, Any]) -> None:
        """Before the sync first writes Chroma: a crash from here on leaves the manifest untrusted."""
        with self._db:
            self._set(exists="1", complete="0", fingerprint=json.dumps(dict(fingerprint), sort_keys=True))
        self.exists, self.complete, self.fingerprint = True, False, dict(fingerprint)

    def commit(self, upsert: Mapping[str, FileRecord], remove: Iterable[str], *, generation: int,
               fingerprint: Mapping[str, Any], replace: bool = False) -> None:
        """One transaction: write `upsert`'s rows, delete `remove`'s (with `replace`, every row not in `upsert`),
        set the generation and mark the manifest complete."""
        seq = self.seq + 1
        with self._db:
            if replace:
                keep = set(upsert)
                remove = [s for (s,) in self._db.execute("SELECT source FROM files") if s not in keep]
            gone = [(s,) for s in remove]
            self._db.executemany("DELETE FROM files WHERE source = ?", gone)
            self._db.executemany("INSERT OR REPLACE INTO removed (source, seq) VALUES (?, ?)",
                                 [(s, seq) for (s,) in gone])
            self._db.executemany("DELETE FROM removed WHERE source = ?", [(s,) for s in upsert])
            _write_rows(self._db, upsert, seq)
            self._set(exists="1", complete="1", generation=str(generation), seq=str(seq),
                      fingerprint=json.dumps(dict(fingerprint), sort_keys=True))
        self.exists, self.complete, self.generation, self.seq = True, True, generation, seq
        self.fingerprint, self._files = dict(fingerprint), None

    def reset(self) -> None:
        """Empty it, incomplete, under a new epoch (the embedding model or chunking changed: a rebuild)."""
        with self._db:
            self._db.execute("DELETE FROM files")
            self._db.execute("DELETE FROM removed")
            self._set(complete="0", epoch=_token(), seq="0")
        self.complete, self.seq, self._files = False, 0, None
        self.epoch = self._db.execute("SELECT value FROM meta WHERE key = 'epoch'").fetchone()[0]

    def _set(self, **values: str) -> None:
        values["stamp"] = _token()  # every write: other processes' readers notice it (rag/index.py)
        self._db.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", values.items())


def stamp(index_dir: Path) -> str | None:
    """A token that changes with every write to the manifest (None without one): cheap enough to ask per search."""
    path = Manifest.path(index_dir)
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error:
        return _legacy_stamp(index_dir)
    try:
        row = db.execute("SELECT value FROM meta WHERE key = 'stamp'").fetchone()
        return row[0] if row else None
    except sqlite3.Error:
        return _legacy_stamp(index_dir)
    finally:
        db.close()


def _legacy_stamp(index_dir: Path) -> str | None:
    try:
        stat = (index_dir / LEGACY_JSON).stat()
    except OSError:
        return None
    return f"json {stat.st_mtime_ns} {stat.st_size}"


def _token() -> str:
    return f"{os.getpid()}-{time.time_ns()}-{os.urandom(4).hex()}"


def _connect_writer(path: Path) -> sqlite3.Connection | None:
    """A read-write connection in WAL mode, or None if the file is not a SQLite database."""
    try:
        db = sqlite3.connect(path, timeout=30, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")  # a commit is on disk, as the JSON's fsync-then-rename was
        db.executescript(_SCHEMA)
        return db
    except sqlite3.DatabaseError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise
        return None


def _version(db: sqlite3.Connection) -> int | None:
    try:
        row = db.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
    except sqlite3.OperationalError:  # no meta table: a reader of a database still being created
        return None
    return int(row[0]) if row else None


def _initialise(db: sqlite3.Connection, *, exists: bool, complete: bool, legacy: Path | None = None) -> None:
    """Create the manifest, with `legacy`'s records (a version-1 manifest.json) if given, in one transaction
    that writes the version row: a crash before its commit leaves a database that counts as not created (and
    the JSON, deleted only after this), so the next sync starts the migration again."""
    db.executescript(_SCHEMA)
    meta = {"exists": "1" if exists else "0", "complete": "1" if complete else "0", "generation": "0",
            "fingerprint": "{}", "epoch": _token(), "seq": "0", "stamp": _token()}
    with db:
        if legacy is not None:
            try:
                raw = json.loads(legacy.read_text(encoding="utf-8"))
                files = {src: FileRecord(**rec) for src, rec in raw["files"].items()} if raw["version"] == 1 else None
            except (OSError, ValueError, TypeError, KeyError, AttributeError):
                files = None
            if files is None:  # unreadable: a damaged cache, reconciled with Chroma by the sync
                meta.update(exists="1", complete="0")
            else:
                _write_rows(db, files, 1)
                meta.update(exists="1", complete="1" if raw.get("complete") else "0", seq="1",
                            generation=str(int(raw.get("generation", 0))),
                            fingerprint=json.dumps(raw.get("fingerprint", {}), sort_keys=True))
        db.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                       [*meta.items(), ("version", str(MANIFEST_VERSION))])


def _write_rows(db: sqlite3.Connection, records: Mapping[str, FileRecord], seq: int) -> None:
    db.executemany(
        f"INSERT OR REPLACE INTO files (source, {', '.join(_RECORD_COLUMNS)}, chunks, signed, seq) "
        f"VALUES ({', '.join('?' * (len(_RECORD_COLUMNS) + 4))})",
        [(s, r.size, r.mtime_ns, r.content_hash, r.title, " ".join(r.chunk_ids), r.date, r.url, int(r.racy),
          r.minhash, r.date_source, len(r.chunk_ids), int(r.minhash is not None), seq) for s, r in records.items()])


def _remove(path: Path) -> None:
    for suffix in _SUFFIXES:
        Path(f"{path}{suffix}").unlink(missing_ok=True)
