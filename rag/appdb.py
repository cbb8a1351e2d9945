"""The web app's own data: one SQLite file under the index folder (saved conversations, feedback, audit log).

Standard-library sqlite3 in WAL mode: readers never wait for the writer, and each save is one transaction, so a
`kill -9` or a full disk leaves every earlier save whole. One short-lived connection per operation keeps it
safe from any thread of the web server.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

DB_FILE = "app.sqlite3"

SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    title TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS conversations_by_owner ON conversations (owner, updated_at);
CREATE TABLE IF NOT EXISTS turns (
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    question TEXT NOT NULL,
    as_of TEXT,
    answer_json TEXT NOT NULL,
    answer_html TEXT NOT NULL,
    sources_html TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (conversation_id, position)
);
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    owner TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    rating INTEGER,
    note TEXT NOT NULL DEFAULT '',
    question TEXT NOT NULL,
    history_json TEXT NOT NULL,
    as_of TEXT,
    answer_json TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    UNIQUE (conversation_id, position)
);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL,
    user TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);
"""


class AppDB:
    def __init__(self, index_dir: Path) -> None:
        self.path = Path(index_dir) / DB_FILE
        self._ready = False

    @contextmanager
    def connect(self, write: bool = True) -> Iterator[sqlite3.Connection]:
        """A connection whose `with` block is one transaction (committed on success, rolled back on error)."""
        if not self._ready:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA busy_timeout = 30000")
            if not self._ready:
                conn.execute("PRAGMA journal_mode = WAL")
                conn.executescript(SCHEMA)
                self._ready = True
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            conn.close()
