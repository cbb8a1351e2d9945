"""The lexical (BM25) index: SQLite FTS5, updated in place, chunk by chunk.

One file, `lexical.sqlite3` in the index folder. A change to one article touches only that article's rows,
in one transaction, so the cost of a sync follows what changed, not the size of the archive. Readers (the web
app) see the last committed state at every query (WAL mode), never a half-applied sync.

Text is analysed as the previous bm25s index analysed it: lower case, words of two or more word characters,
bm25s's English stop words removed, Snowball (Porter 2) English stems. The stems are what FTS5 stores and
matches (its own tokenizer only splits them on spaces); its bm25() ranks with k1 = 1.2, b = 0.75.

Schema (extend it here: add a column to CHUNK_COLUMNS and to `_row`, and bump SCHEMA_VERSION; an index of an
older version is emptied and refilled from Chroma by the next sync, with no re-embedding):
    chunks(rowid, id UNIQUE, source, date_int)    date_int = YYYYMMDD, 0 when the article has no date
    terms(body)                                   FTS5, rowid = chunks.rowid
    meta(key, value)                              schema version, generation
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from rag.errors import IndexUnavailable
from rag.types import Chunk

SCHEMA_VERSION = 1
FILE_NAME = "lexical.sqlite3"
CHUNK_COLUMNS = ("id", "source", "date_int")
_WORD = re.compile(r"(?u)\b\w\w+\b")  # bm25s's default token pattern


class LexicalUnavailable(IndexUnavailable):
    """SQLite lacks FTS5 or the index file cannot be opened; the message is one line for the user."""


@lru_cache(maxsize=1)
def _analyzer() -> tuple[frozenset[str], Any]:
    import Stemmer
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN), Stemmer.Stemmer("english")


def analyze(text: str) -> list[str]:
    """Text → the terms BM25 sees (identical to bm25s.tokenize(stopwords="en", stemmer=english))."""
    stopwords, stemmer = _analyzer()
    words = [w for w in _WORD.findall(text.lower()) if w not in stopwords]
    return stemmer.stemWords(words) if words else []


def date_int(date: str | None) -> int:
    digits = (date or "").replace("-", "")[:8]
    return int(digits) if len(digits) == 8 and digits.isdigit() else 0


@dataclass(frozen=True)
class LexicalFilter:
    """Which chunks a search may return. None means no restriction.

    sources: exactly these documents. since/until: date_int bounds, inclusive (with `until`, undated chunks are
    excluded). as_of: nothing dated after it (undated chunks stay)."""

    sources: frozenset[str] | None = None
    since: int | None = None
    until: int | None = None
    as_of: int | None = None

    def sql(self) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        if self.sources is not None:
            clauses.append("c.source IN (SELECT value FROM json_each(?))")
            params.append(json.dumps(sorted(self.sources)))
        if self.since is not None:
            clauses.append("c.date_int >= ?")
            params.append(self.since)
        if self.until is not None:
            clauses.append("c.date_int BETWEEN 1 AND ?")
            params.append(self.until)
        if self.as_of is not None:
            clauses.append("(c.date_int = 0 OR c.date_int <= ?)")
            params.append(self.as_of)
        return "".join(f" AND {c}" for c in clauses), params


def _row(chunk: Chunk) -> tuple[Any, ...]:
    return (chunk.id, chunk.source, date_int(chunk.date))


class LexicalIndex:
    """build/add/delete/search over one SQLite file. Thread-safe: one connection per thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._ensure_schema()

    # ------------------------------------------------------------------ opening

    @staticmethod
    def file(index_dir: Path) -> Path:
        return index_dir / FILE_NAME

    @classmethod
    def open(cls, index_dir: Path) -> LexicalIndex:
        """The index of `index_dir`, created empty when absent."""
        index_dir.mkdir(parents=True, exist_ok=True)
        return cls(cls.file(index_dir))

    @classmethod
    def load(cls, index_dir: Path) -> LexicalIndex | None:
        """The index if a sync has written one, else None."""
        return cls(cls.file(index_dir)) if cls.file(index_dir).is_file() else None

    def _connect(self) -> sqlite3.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            try:
                # isolation_level=None: transactions are explicit (BEGIN IMMEDIATE … COMMIT) below.
                connection = sqlite3.connect(str(self.path), timeout=60, isolation_level=None,
                                             check_same_thread=False)
                connection.execute("PRAGMA journal_mode=WAL")
                connection.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable at checkpoints, never torn
            except sqlite3.Error as exc:
                raise LexicalUnavailable(f"cannot open the lexical index {self.path}: {exc}") from exc
            self._local.connection = connection
            with self._lock:
                self._connections.append(connection)
        return connection

    def _ensure_schema(self) -> None:
        db = self._connect()
        version = None
        try:
            row = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
            version = int(row[0]) if row else None
        except sqlite3.OperationalError:
            pass  # a new file
        if version == SCHEMA_VERSION:
            return
        with self._transaction() as tx:
            # Another version's tables are dropped: the next sync refills the index from Chroma (generation -1).
            for name in ("terms", "chunks", "meta"):
                tx.execute(f"DROP TABLE IF EXISTS {name}")
            tx.execute("CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            tx.execute("CREATE TABLE chunks(rowid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, "
                       "source TEXT NOT NULL, date_int INTEGER NOT NULL DEFAULT 0)")
            tx.execute("CREATE INDEX chunks_source ON chunks(source)")
            tx.execute("CREATE INDEX chunks_date ON chunks(date_int)")
            try:
                # detail=none: no positions (no phrase queries needed), a third of the size; bm25() still
                # sees term frequencies. The terms are pre-analysed stems separated by spaces.
                tx.execute("CREATE VIRTUAL TABLE terms USING fts5(body, detail=none, "
                           "tokenize=\"unicode61 remove_diacritics 0 tokenchars '_'\")")
            except sqlite3.OperationalError as exc:
                raise LexicalUnavailable(f"this Python's SQLite {sqlite3.sqlite_version} has no FTS5: {exc}") from exc
            tx.execute("INSERT INTO meta VALUES ('schema', ?), ('generation', '-1')", (str(SCHEMA_VERSION),))

    def _transaction(self) -> _TxContext:
        return _TxContext(self._connect())

    # ------------------------------------------------------------------ reading

    @property
    def generation(self) -> int:
        row = self._connect().execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        return int(row[0]) if row else -1

    @property
    def ids(self) -> list[str]:
        return [r[0] for r in self._connect().execute("SELECT id FROM chunks")]

    @property
    def sources(self) -> list[str]:
        return [r[0] for r in self._connect().execute("SELECT DISTINCT source FROM chunks ORDER BY source")]

    def snapshot(self) -> dict[str, tuple[str, int, str]]:
        """id → (source, date_int, indexed terms): everything a search reads, for comparing two indexes."""
        sql = "SELECT c.id, c.source, c.date_int, t.body FROM chunks c JOIN terms t ON t.rowid = c.rowid"
        return {cid: (source, day, body) for cid, source, day, body in self._connect().execute(sql)}

    def __len__(self) -> int:
        return int(self._connect().execute("SELECT count(*) FROM chunks").fetchone()[0])

    def search(self, query: str, k: int, where: LexicalFilter | None = None) -> list[tuple[str, float]]:
        """The best k chunks by BM25 for `query`, as (chunk id, score > 0), best first."""
        terms = analyze(query)
        if not terms or k <= 0:
            return []
        # Each term a quoted string, OR-ed: any term may match, as in bm25s (terms are \\w only: no quotes).
        match = " OR ".join(f'"{t}"' for t in terms)
        extra, params = (where or LexicalFilter()).sql()
        sql = ("SELECT c.id, -bm25(terms) FROM terms JOIN chunks c ON c.rowid = terms.rowid "
               f"WHERE terms MATCH ?{extra} ORDER BY bm25(terms) LIMIT ?")
        rows = self._connect().execute(sql, [match, *params, k]).fetchall()
        return [(cid, float(score)) for cid, score in rows if score > 0]

    # ------------------------------------------------------------------ writing

    def apply(self, add: Iterable[tuple[Chunk, str]], delete: Iterable[str], generation: int) -> None:
        """In one transaction: delete the chunks `delete` names, insert or replace `add` ((chunk, text to index)
        pairs, consumed as they come), and record `generation`. A crash leaves the state before or after."""
        with self._transaction() as tx:
            gone = list(delete)
            for start in range(0, len(gone), 500):
                part = gone[start : start + 500]
                marks = ",".join("?" * len(part))
                tx.execute(f"DELETE FROM terms WHERE rowid IN (SELECT rowid FROM chunks WHERE id IN ({marks}))", part)
                tx.execute(f"DELETE FROM chunks WHERE id IN ({marks})", part)
            for chunk, text in add:
                old = tx.execute("SELECT rowid FROM chunks WHERE id = ?", (chunk.id,)).fetchone()
                if old is not None:  # the same chunk again (new metadata): replaced
                    tx.execute("DELETE FROM terms WHERE rowid = ?", old)
                    tx.execute("DELETE FROM chunks WHERE rowid = ?", old)
                cursor = tx.execute("INSERT INTO chunks(id, source, date_int) VALUES (?, ?, ?)", _row(chunk))
                tx.execute("INSERT INTO terms(rowid, body) VALUES (?, ?)", (cursor.lastrowid, " ".join(analyze(text))))
            tx.execute("UPDATE meta SET value = ? WHERE key = 'generation'", (str(generation),))

    def clear(self, generation: int = -1) -> None:
        with self._transaction() as tx:
            tx.execute("DELETE FROM terms")
            tx.execute("DELETE FROM chunks")
            tx.execute("UPDATE meta SET value = ? WHERE key = 'generation'", (str(generation),))

    def close(self) -> None:
        with self._lock:
            for connection in self._connections:
                connection.close()
            self._connections.clear()
        self._local = threading.local()


class _TxContext:
    """BEGIN IMMEDIATE … COMMIT, or ROLLBACK on any exception (a kill -9 is rolled back by SQLite's journal)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, kind: object, exc: object, tb: object) -> None:
        self.db.execute("COMMIT" if kind is None else "ROLLBACK")

