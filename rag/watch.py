"""Watch the corpus folder and sync shortly after files are added, changed or removed by hand."""

from __future__ import annotations

import logging
import threading
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
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()
        self._observer: Any = None
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

        self._observer = Observer()
        self._observer.schedule(Handler(), str(self.settings.corpus_dir), recursive=True)
        self._observer.daemon = True
        self._observer.start()

    def poke(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = threading.Timer(self.delay_s, self._run)
            self._timer.daemon = True
            self._timer.start()

    def _run(self) -> None:
        try:
            self.last_report = self.sync()
            self.last_error = None
            log.info("corpus changed: %s", self.last_report.summary_line())
        except Exception as exc:  # noqa: BLE001  (the app must stay up; the error is shown in the UI)
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.warning("sync after a corpus change failed: %s", self.last_error)

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=5)
