"""Watch the corpus folder and sync shortly after files are added, changed or removed by hand.

The sync is told which files the events named (`sync_corpus(paths=...)`), so a dropped article costs what
that article costs, not a rescan of the archive. The whole folder is synced instead when the events cannot say
what changed: a folder created, removed or renamed (its files come and go without events of their own), more
than MAX_EVENT_PATHS paths at once, the kernel's event queue overflowing (events were lost), or a failed sync.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from rag.settings import Settings
from rag.types import SyncReport

log = logging.getLogger(__name__)

MAX_EVENT_PATHS = 10_000  # more files than this changed before one sync: the whole folder is synced
# watchdog rebuilds its watches when the kernel's inotify queue overflows, but tells no event handler: its
# warning on this logger (starting with these words) is the only sign that events were lost.
_OVERFLOW_LOGGER, _OVERFLOW_WORDS = "watchdog.observers.inotify_c", "Inotify queue overflowed"

# The watcher's sync: the paths events named since the last sync, or None for the whole folder.
Sync = Callable[[list[Path] | None], SyncReport]


class CorpusWatcher:
    """Debounced: a burst of file events (a copy of many files, an editor's save dance) triggers one sync,
    `delay_s` after the last event. Syncs never overlap: sync_corpus takes the ingest lock."""

    def __init__(self, settings: Settings, sync: Sync, delay_s: float = 1.5) -> None:
        self.settings = settings
        self.sync = sync
        self.delay_s = delay_s
        self._observer: Any = None
        # One worker thread runs the syncs; _due is when the next one should start (None: nothing pending).
        self._cond = threading.Condition()
        self._due: float | None = None
        self._paths: set[Path] = set()  # named by events since the last sync started
        self._whole = False  # the next sync is of the whole folder
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
                if event.event_type in ("opened", "closed_no_write"):
                    return  # reads are not changes
                if event.is_directory:
                    # "modified": a file inside changed, and its own event names it; hidden: not in the corpus.
                    if event.event_type != "modified" and not Path(str(event.src_path)).name.startswith("."):
                        watcher.poke()
                    return
                named = [Path(str(p)) for p in (event.src_path, getattr(event, "dest_path", "")) if p]
                # Our own temporary files (hidden names) are not changes; a rename from one to a real name is.
                named = [p for p in named if not p.name.startswith(".")]
                if named:
                    watcher.poke(named)

        class Overflow(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                if record.getMessage().startswith(_OVERFLOW_WORDS):
                    watcher.poke()

        self._overflow = Overflow(logging.WARNING)
        logging.getLogger(_OVERFLOW_LOGGER).addHandler(self._overflow)
        self._worker = threading.Thread(target=self._loop, name="corpus-watcher", daemon=True)
        self._worker.start()
        self._observer = Observer()
        self._observer.schedule(Handler(), str(self.settings.corpus_dir), recursive=True)
        self._observer.daemon = True
        self._observer.start()

    def poke(self, paths: Iterable[Path] | None = None) -> None:
        """A change happened at `paths` (None: anywhere): sync delay_s after the last poke. A poke during a
        running sync schedules another one after it, so a file edited mid-sync is never left at the version
        that sync read."""
        with self._cond:
            if paths is None:
                self._whole = True
            else:
                self._paths.update(paths)
                self._whole = self._whole or len(self._paths) > MAX_EVENT_PATHS
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
                paths = None if self._whole else sorted(self._paths)
                self._paths, self._whole = set(), False
            try:
                self._run(paths)
            finally:
                with self._cond:
                    self._running = False
                    self._cond.notify_all()

    def _run(self, paths: list[Path] | None) -> None:
        try:
            self.last_report = self.sync(paths)
            self.last_error = None
            log.info("corpus changed: %s", self.last_report.summary_line())
        except Exception as exc:  # noqa: BLE001  (the app must stay up; the error is shown in the UI)
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.warning("sync after a corpus change failed: %s", self.last_error)
            with self._cond:
                self._whole = True  # what this sync was to take in is not in the index: the next one looks at all

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=5)
            logging.getLogger(_OVERFLOW_LOGGER).removeHandler(self._overflow)
