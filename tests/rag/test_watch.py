"""The corpus watcher (rag/watch.py) with real file events: it syncs the files the events named, and the
whole folder when they cannot say what changed. Each step must leave exactly a clean build of the folder."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

from rag.embedding import Embedder
from rag.settings import Settings
from rag.sync import sync_corpus
from rag.types import SyncReport
from rag.watch import CorpusWatcher
from tests.helpers import article, assert_same_index, index_snapshot, write


def put(corpus: Path, name: str, version: int = 0) -> Path:
    topic = Path(name).stem
    text = "\n\n".join(f"Version {version}, paragraph {p} of the {topic} story: the council of Varnholm met about "
                       f"the {topic} plan on day {p}." for p in range(3))
    return write(corpus / name, article(f"The {topic} report", text, "2026-05-01"))


class Recorder:
    """The watcher's sync: sync_corpus, remembering which paths each call was given (None: the whole folder)."""

    def __init__(self, settings: Settings, embedder: Embedder) -> None:
        self.settings, self.embedder = settings, embedder
        self.calls: list[list[str] | None] = []
        self.reports: list[SyncReport] = []
        self.lock = threading.Lock()

    def __call__(self, paths: list[Path] | None) -> SyncReport:
        report = sync_corpus(self.settings, embedder=self.embedder, paths=paths)
        with self.lock:
            self.calls.append(None if paths is None else sorted(p.name for p in paths))
            self.reports.append(report)
        return report

    def count(self) -> int:
        with self.lock:
            return len(self.calls)


def settle(watcher: CorpusWatcher, recorder: Recorder, before: int, quiet_s: float = 1.0) -> None:
    """Wait for a sync after `before` ones, then until nothing is pending for quiet_s."""
    deadline = time.monotonic() + 60
    while recorder.count() <= before:
        assert time.monotonic() < deadline, "the watcher never synced"
        time.sleep(0.05)
    while True:
        assert watcher.wait_idle(timeout_s=60)
        count = recorder.count()
        time.sleep(quiet_s)
        if recorder.count() == count and watcher.wait_idle(timeout_s=0):
            return


def assert_clean(settings: Settings, tmp_path: Path, embedder: Embedder) -> None:
    clean_dir = tmp_path / "clean"
    shutil.rmtree(clean_dir, ignore_errors=True)
    clean = settings.model_copy(update={"index_dir": clean_dir})
    sync_corpus(clean, embedder=embedder)
    assert_same_index(settings, clean)


def texts(settings: Settings, source: str) -> str:
    return " ".join(doc for doc, meta, _ in index_snapshot(settings).values() if meta["source"] == source)


def test_the_watcher_syncs_what_the_events_named(make_settings, embedder: Embedder, tmp_path: Path) -> None:
    settings = make_settings()
    corpus = settings.corpus_dir
    for name in ("harbour.md", "tram.md", "drought.md", "old/museum.md"):
        put(corpus, name)
    sync_corpus(settings, embedder=embedder)
    recorder = Recorder(settings, embedder)
    watcher = CorpusWatcher(settings, recorder, delay_s=0.3)
    watcher.start()
    try:
        time.sleep(0.5)
        steps: list[tuple[str, int]] = []

        def step(what: str) -> None:
            steps.append((what, recorder.count()))
            settle(watcher, recorder, steps[-1][1])
            assert watcher.last_error is None, watcher.last_error
            assert_clean(settings, tmp_path, embedder)

        # A dropped file: one sync, of that file alone.
        put(corpus, "new.md")
        step("dropped")
        assert recorder.calls[steps[-1][1]:] and all(c == ["new.md"] for c in recorder.calls[steps[-1][1]:])
        # A file changed twice quickly: its last version is indexed.
        put(corpus, "tram.md", version=1)
        put(corpus, "tram.md", version=2)
        step("changed twice")
        assert "Version 2" in texts(settings, "tram.md") and "Version 1" not in texts(settings, "tram.md")
        assert all(call == ["tram.md"] for call in recorder.calls[steps[-1][1]:])
        # Deleted, then renamed: the events name the old and the new path, the sync looks at those only.
        (corpus / "drought.md").unlink()
        step("deleted")
        assert texts(settings, "drought.md") == ""
        (corpus / "harbour.md").rename(corpus / "harbour-2.md")
        step("renamed")
        assert {"harbour.md", "harbour-2.md"} <= {n for call in recorder.calls[steps[-1][1]:] for n in call or []}
        assert texts(settings, "harbour.md") == "" and "harbour" in texts(settings, "harbour-2.md")
        # A bad file: one line, nothing lost (its good version stays indexed).
        good = texts(settings, "tram.md")
        write(corpus / "tram.md", "\x00\x01 binary")
        steps.append(("bad", recorder.count()))
        settle(watcher, recorder, steps[-1][1])
        report = recorder.reports[-1]
        assert report.skipped == 1 and report.skipped_files[0]["source"] == "tram.md"
        assert "\n" not in report.skipped_files[0]["reason"] and texts(settings, "tram.md") == good
        put(corpus, "tram.md", version=3)
        step("repaired")
        # A folder renamed: its files move without events of their own, so the whole folder is synced.
        (corpus / "old").rename(corpus / "archive")
        step("folder renamed")
        assert None in recorder.calls[steps[-1][1]:]
        assert "museum" in texts(settings, "archive/museum.md") and texts(settings, "old/museum.md") == ""
    finally:
        watcher.stop()


def test_too_many_events_or_a_failed_sync_make_the_next_sync_a_full_one(make_settings, embedder: Embedder,
                                                                        monkeypatch) -> None:
    import rag.watch

    settings = make_settings()
    put(settings.corpus_dir, "harbour.md")
    sync_corpus(settings, embedder=embedder)
    recorder = Recorder(settings, embedder)
    monkeypatch.setattr(rag.watch, "MAX_EVENT_PATHS", 3)
    watcher = CorpusWatcher(settings, recorder, delay_s=0.3)
    watcher.start()
    try:
        time.sleep(0.5)
        for i in range(5):
            put(settings.corpus_dir, f"burst-{i}.md")
        settle(watcher, recorder, 0)
        assert recorder.calls == [None]
        assert len(recorder.reports[-1].skipped_files) == 0 and recorder.reports[-1].added == 5
        # A sync that fails (here: the corpus folder's index cannot be written) is followed by a full one.
        failing = {"left": 1}
        real = watcher.sync

        def flaky(paths: list[Path] | None) -> SyncReport:
            if failing["left"]:
                failing["left"] -= 1
                raise OSError("disk I/O error")
            return real(paths)

        watcher.sync = flaky
        put(settings.corpus_dir, "after-failure.md")
        deadline = time.monotonic() + 30
        while watcher.last_error is None:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        before = recorder.count()
        put(settings.corpus_dir, "next.md")
        settle(watcher, recorder, before)
        assert recorder.calls[-1] is None and "after-failure" in texts(settings, "after-failure.md")
    finally:
        watcher.stop()
