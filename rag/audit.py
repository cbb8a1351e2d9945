"""Who changed the corpus through the web app, and when (the `audit` table of the app database)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rag.appdb import AppDB


class AuditLog:
    def __init__(self, index_dir: Path) -> None:
        self.db = AppDB(index_dir)

    def record(self, user: str, action: str, target: str, detail: str = "") -> None:
        with self.db.connect() as conn:
            conn.execute("INSERT INTO audit (at, user, action, target, detail) VALUES (?, ?, ?, ?, ?)",
                         (time.time(), user, action, target, detail))

    def last(self, n: int = 10) -> list[dict[str, Any]]:
        if not self.db.path.exists():  # `rag status` must not create the database
            return []
        with self.db.connect(write=False) as conn:
            rows = conn.execute("SELECT * FROM audit ORDER BY id DESC LIMIT ?", (n,)).fetchall()
        return [{"at": datetime.fromtimestamp(r["at"], UTC).strftime("%Y-%m-%d %H:%M:%S UTC"), "user": r["user"],
                 "action": r["action"], "target": r["target"], "detail": r["detail"]} for r in rows]
