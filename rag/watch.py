"""Watch the corpus folder and sync shortly after files are added, changed or removed by hand."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rag.settings import Settings
from rag.types import SyncReport

log = logging.getLogger(__name__)


class CorpusWatcher:
    """Debounced: a burst of file events (a copy of many files, an editor's save dance) triggers one sync,
    `delay_s` after the last event. Syncs never overlap: sync_corpus takes the ingest lock."""

    def __init__(self, settings: Settings, sync: Callable[[], SyncReport], delay_s: float = 1.5) -> None:
        self.settings = settings
        self.sync = sync
        self.delay_s = delay_s
        self._observer: Any = None
        # One worker thread runs the syncs; _due is when the next one should start (None: nothing pending).
        self._cond = threading.Condition()
        self._due: float | None = None
        self._running = False
        self._stopped = False
        self._worker: threading.Thread | None = None
        self.last_report: SyncReport | None = None
        self.last_error: str | None = None

    def start(self) -> None:
        from watchdog.events import FileSystemEventHandler
        from watchdog.observers import Observer

        watcher = self

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event: Any) -> None:
                path = Path(str(getattr(event, "dest_path", "") or event.src_path))
                if event.event_type in ("opened", "closed_no_write") or any(
                        part.startswith(".") for part in path.parts[-1:]):
                    return  # reads and our own temp files are not changes
                watcher.poke()

        self._worker = threading.Thread(target=self._loop, name="corpus-watcher", daemon=True)
        self._worker.start()
        self._observer = Observer()
        self._observer.schedule(Handler(), str(self.settings.corpus_dir), recursive=True)
        self._observer.daemon = True
        self._observer.start()

    def poke(self) -> None:
        """A change happened: sync delay_s after the last poke. A poke during a running sync schedules another
        one after it, so a file edited mid-sync is never left at the version that sync read."""
        with self._cond:
            self._due = time.monotonic() + self.delay_s
            self._cond.notify_all()

    def wait_idle(self, timeout_s: float) -> bool:
        """Block until no sync is pending or running (True), or timeout_s passes (False)."""
        with self._cond:
            return self._cond.wait_for(lambda: self._due is None and not self._running, timeout=timeout_s)

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._stopped and (self._due is None or time.monotonic() < self._due):
                    self._cond.wait(None if self._due is None else max(0.0, self._due - time.monotonic()))
                if self._stopped:
                    return
                self._due, self._running = None, True
            try:
                self._run()
            finally:
                with self._cond:
                    self._running = False
                    self._cond.notify_all()

    def _run(self) -> None:
        try:
            self.last_report = self.sync()
            self.last_error = None
            log.info("corpus changed: %s", self.last_report.summary_line())
        except Exception as exc:  # noqa: BLE001  (the app must stay up; the error is shown in the UI)
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.warning("sync after a corpus change failed: %s", self.last_error)

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=5)
