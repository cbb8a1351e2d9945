"""Concurrency: two `rag ingest` at once, the folder watcher and a manual ingest at once, uploads (saved and
synced as the web app does) while an ingest runs. Once things settle the index must be exactly a clean build of
the folder: no duplicate chunks, no lost upload, no file left at a version older than its latest."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from rag.corpus import save_upload
from rag.embedding import Embedder
from rag.index import LexicalIndex, Manifest, open_collection
from rag.settings import Settings
from rag.sync import sync_corpus
from rag.types import SyncReport
from rag.watch import CorpusWatcher
from tests.helpers import ROOT, article, assert_same_index, index_snapshot, write

NAMES = [f"a{i:02d}" for i in range(12)]


def story(name: str, version: int, paragraphs: int) -> str:
    return "\n\n".join(
        f"Version {version} of the {name} story, paragraph {p}: the council met on day {p} to discuss the "
        f"{name} plan, and residents of Varnholm asked about the {name}." for p in range(paragraphs))


def put(corpus: Path, name: str, version: int, paragraphs: int = 12) -> Path:
    return write(corpus / f"{name}.md", article(f"The {name} report", story(name, version, paragraphs),
                                                "2026-05-01"))


def start_ingest(settings: Settings, **env: str) -> subprocess.Popen[str]:
    full_env = {**os.environ, "RAG_CORPUS_DIR": str(settings.corpus_dir),
                "RAG_INDEX_DIR": str(settings.index_dir), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
                "ANONYMIZED_TELEMETRY": "False", **env}
    return subprocess.Popen([sys.executable, "-m", "rag.cli", "ingest"], cwd=ROOT, env=full_env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_until(condition: Callable[[], bool], what: str, deadline_s: float = 180) -> None:
    deadline = time.monotonic() + deadline_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.01)


def writing_chroma(settings: Settings, proc: subprocess.Popen[str]) -> bool:
    """The ingest process has finished its scan and is writing (it marks the manifest incomplete first)."""
    assert proc.poll() is None, "the ingest ended before it wrote to Chroma"
    manifest = Manifest.load(settings.index_dir)
    return manifest.exists and not manifest.complete


def assert_equals_clean_build(settings: Settings, clean_dir: Path, embedder: Embedder) -> None:
    """Nothing is synced here before comparing: what the runs left must already be the clean build."""
    clean = settings.model_copy(update={"index_dir": clean_dir})
    sync_corpus(clean, embedder=embedder)
    assert_same_index(settings, clean)
    ids = set(index_snapshot(clean))
    assert len(open_collection(settings).get(include=[])["ids"]) == len(ids), "duplicate records"
    manifest, lexical = Manifest.load(settings.index_dir), LexicalIndex.load(settings.index_dir)
    assert manifest.complete and manifest.chunk_ids() == ids
    assert lexical is not None and len(lexical.ids) == len(set(lexical.ids)) and set(lexical.ids) == ids


def texts_of(settings: Settings, source: str) -> str:
    return " ".join(doc for doc, meta, _ in index_snapshot(settings).values() if meta["source"] == source)


@pytest.mark.slow
@pytest.mark.parametrize("lock_timeout_s", ["600", "0.5"], ids=["second-waits", "second-gives-up"])
def test_two_ingests_at_once(make_settings, embedder: Embedder, tmp_path: Path, lock_timeout_s: str) -> None:
    settings = make_settings()
    for name in NAMES:
        put(settings.corpus_dir, name, 0)
    procs = [start_ingest(settings, RAG_LOCK_TIMEOUT_S=lock_timeout_s) for _ in range(2)]
    results = [(p.wait(timeout=300), *p.communicate()) for p in procs]
    codes = sorted(code for code, _, _ in results)
    everything = "\n".join(f"exit {code}\n{out}\n{err}" for code, out, err in results)
    # Exactly one of them waited on the other's lock (both started together; a run takes seconds).
    assert sum("another ingest is running (pid " in err for _, _, err in results) == 1, everything
    if lock_timeout_s == "600":
        # The second ran after the first and found nothing left to do.
        assert codes == [0, 0], everything
        assert any(re.search(r"\badded 0\b", out) for _, out, _ in results), everything
        assert any(re.search(rf"\badded {len(NAMES)}\b", out) for _, out, _ in results), everything
    else:
        # The second gave up with one clear line and status 2; the first indexed everything.
        assert codes == [0, 2], everything
        gave_up = next(err for code, _, err in results if code == 2)
        assert re.search(r"error: another ingest \(pid \d+ since [\d:]+\) still holds .*ingest\.lock after 0 s; "
                         r"try again later", gave_up), gave_up
        assert "Traceback" not in everything
    assert_equals_clean_build(settings, tmp_path / "clean", embedder)


@pytest.mark.slow
def test_watcher_and_a_manual_ingest_at_once(make_settings, embedder: Embedder, tmp_path: Path) -> None:
    settings = make_settings()
    for name in NAMES:
        put(settings.corpus_dir, name, 0)
    sync_corpus(settings, embedder=embedder)
    syncs: list[tuple[float, float]] = []  # (start, end) of each sync the watcher ran

    def watcher_sync(paths: list[Path] | None) -> SyncReport:
        start = time.monotonic()
        report = sync_corpus(settings, embedder=embedder, paths=paths)
        syncs.append((start, time.monotonic()))
        return report

    watcher = CorpusWatcher(settings, watcher_sync, delay_s=0.3)
    watcher.start()
    try:
        for name in NAMES[:8]:
            put(settings.corpus_dir, name, 1)  # work for both: the watcher wakes, the manual ingest starts
        manual = start_ingest(settings)
        wait_until(lambda: writing_chroma(settings, manual), "the manual ingest writes to Chroma")
        # While it writes (after its scan): rewrite a file it read, delete one, add one.
        put(settings.corpus_dir, NAMES[0], 2)
        (settings.corpus_dir / f"{NAMES[1]}.md").unlink()
        put(settings.corpus_dir, "late", 2)
        last_change = time.monotonic()
        out, err = manual.communicate(timeout=300)
        assert manual.returncode == 0, err
        # Settled = a watcher sync that started after the last change has finished (it read the final folder).
        wait_until(lambda: any(start > last_change for start, _ in syncs), "the watcher synced the last change")
        assert watcher.wait_idle(timeout_s=180), "the watcher never settled"
        assert watcher.last_error is None, watcher.last_error
    finally:
        watcher.stop()
    assert_equals_clean_build(settings, tmp_path / "clean", embedder)
    assert "Version 2 of the a00 story" in texts_of(settings, "a00.md")
    assert not re.search(r"Version [01] of the a00 story", texts_of(settings, "a00.md"))
    assert texts_of(settings, f"{NAMES[1]}.md") == "" and "Version 2 of the late story" in texts_of(settings, "late.md")


@pytest.mark.slow
def test_uploads_while_an_ingest_runs(make_settings, embedder: Embedder, tmp_path: Path) -> None:
    settings = make_settings()
    for name in NAMES:
        put(settings.corpus_dir, name, 0)
    sync_corpus(settings, embedder=embedder)
    for name in NAMES:
        put(settings.corpus_dir, name, 1)  # work for the running ingest
    staging = tmp_path / "staging"
    # Distinct uploads, two uploads of one name at the same moment, one named like a corpus file.
    uploads = [put(staging / f"u{i}", f"upload-{i}", 0, paragraphs=3) for i in range(4)]
    uploads += [put(staging / f"same{i}", "same-name", 10 + i, paragraphs=3) for i in range(2)]
    uploads.append(put(staging / "clash", NAMES[2], 7, paragraphs=3))
    ingest = start_ingest(settings)
    wait_until(lambda: writing_chroma(settings, ingest), "the ingest writes to Chroma")
    # A file the ingest has already read changes too: its newest text must win in the end.
    put(settings.corpus_dir, NAMES[3], 5)

    saved: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(uploads))

    def web_upload(path: Path) -> None:  # what the app's upload button does: save the file, then sync
        try:
            barrier.wait(timeout=30)
            saved.append(save_upload(settings, path, path.name).source)
            sync_corpus(settings, embedder=embedder)
        except BaseException as exc:  # noqa: BLE001  (reported by the main thread)
            errors.append(exc)

    threads = [threading.Thread(target=web_upload, args=(path,)) for path in uploads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    out, err = ingest.communicate(timeout=300)
    assert not errors and ingest.returncode == 0, (errors, err)
    assert not any(thread.is_alive() for thread in threads)

    assert len(saved) == len(set(saved)) == len(uploads), saved
    assert {"same-name.md", "same-name (2).md", f"{NAMES[2]} (2).md"} <= set(saved), saved
    assert_equals_clean_build(settings, tmp_path / "clean", embedder)
    # Every upload is indexed with its own text; the corpus file it was named like is untouched.
    sources = {meta["source"] for _, meta, _ in index_snapshot(settings).values()}
    assert set(saved) <= sources
    same = texts_of(settings, "same-name.md") + texts_of(settings, "same-name (2).md")
    assert "Version 10 of the same-name story" in same and "Version 11 of the same-name story" in same
    assert "Version 1 of the a02 story" in texts_of(settings, f"{NAMES[2]}.md")
    assert "Version 5 of the a03 story" in texts_of(settings, f"{NAMES[3]}.md")
    assert not re.search(r"Version [01] of the a03 story", texts_of(settings, f"{NAMES[3]}.md"))


def upload_at_once(settings: Settings, files: list[Path], name: str) -> list[str]:
    """Save every file under one upload name, all threads released together; the sources they got."""
    sources: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(files))

    def upload(path: Path) -> None:
        try:
            barrier.wait(timeout=30)
            sources.append(save_upload(settings, path, name).source)
        except BaseException as exc:  # noqa: BLE001  (reported by the main thread)
            errors.append(exc)

    threads = [threading.Thread(target=upload, args=(path,)) for path in files]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    return sources


def test_simultaneous_uploads_of_one_name_are_all_kept(make_settings, tmp_path: Path) -> None:
    """Eight uploads of one file name released at once, twenty times: every one saved under its own name with
    its own bytes, none overwritten, no temporary file left behind."""
    settings = make_settings()
    for round_no in range(20):
        texts = [f"round {round_no} upload {i}\n" * 50 for i in range(8)]
        files = [write(tmp_path / f"r{round_no}" / str(i) / "report.md", text) for i, text in enumerate(texts)]
        sources = upload_at_once(settings, files, f"report-{round_no}.md")
        assert len(set(sources)) == 8, sources
        assert {(settings.corpus_dir / s).read_text(encoding="utf-8") for s in sources} == set(texts)
    assert not [p.name for p in settings.corpus_dir.iterdir() if p.name.startswith(".")]


def test_a_write_in_the_same_mtime_tick_as_the_scan_is_not_lost(make_settings, embedder: Embedder) -> None:
    """On a filesystem with coarse timestamps (a kernel tick on ext4 before Linux 6.13, 1-2 s elsewhere), a file
    rewritten right after a sync read it can keep its size and mtime. The next sync used to trust size and mtime
    and keep the old text forever; os.utime recreates exactly what such a filesystem shows."""
    settings = make_settings()
    path = put(settings.corpus_dir, "harbour", 1, paragraphs=3)
    stat = path.stat()
    sync_corpus(settings, embedder=embedder)  # reads version 1
    put(settings.corpus_dir, "harbour", 2, paragraphs=3)  # same size: only the version digit differs
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # ... and, within one tick, the same mtime
    assert path.stat().st_size == stat.st_size
    report = sync_corpus(settings, embedder=embedder)
    assert report.updated == 1
    assert "Version 2 of the harbour story" in texts_of(settings, "harbour.md")
    assert "Version 1 of the harbour story" not in texts_of(settings, "harbour.md")
