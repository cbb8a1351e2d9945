"""Crash consistency of `rag ingest`: kill -9 a real ingest process at 20 points spread over the phases of a
run, and change files while an ingest runs. After each, a resync must leave exactly what a clean build of the
folder gives: the same chunk ids, texts, metadata and vectors in Chroma, the same ids in BM25, and a complete
manifest naming exactly those chunks."""

from __future__ import annotations

import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from rag.embedding import Embedder
from rag.index import LexicalIndex, Manifest, open_collection
from rag.settings import Settings
from rag.sync import sync_corpus
from tests.helpers import ROOT, article, assert_same_index, index_snapshot, write

# Small chunks: the corpus stays small (24 articles) yet a run embeds and upserts more than one batch of
# EMBED_CALL_SIZE (256) chunks, so some kills land after Chroma holds part of a run's writes.
CHUNKING = {"chunk_tokens": 64, "chunk_overlap_tokens": 8}
ARTICLES = 24
PARAGRAPHS = 14
KILLS = 20
MAX_ROUNDS = 26
PHASES = ["start-up", "scanning", "embedding", "writing chroma", "bm25 and exit"]


def story(name: str, version: int, paragraphs: int = PARAGRAPHS) -> str:
    return "\n\n".join(
        f"Version {version}, paragraph {p} of the {name} story. Officials in Varnholm said the {name} matter "
        f"number {p} would be reviewed by the council on day {p + version}, and residents asked about it."
        for p in range(paragraphs))


def put(corpus: Path, name: str, version: int, paragraphs: int = PARAGRAPHS) -> Path:
    return write(corpus / f"{name}.md", article(f"The {name} report", story(name, version, paragraphs),
                                                "2026-05-01"))


def set_state(corpus: Path, state: int) -> None:
    """Two folder states a run moves between. From either to the other: 16 files rewritten, 4 deleted, 4 added,
    4 unchanged, one renamed (same text under a new name: its vectors are reused, not re-embedded), and one
    syndicated copy replaced by a copy of another article (story groups change)."""
    for i in range(ARTICLES):
        name = f"a{i:02d}"
        if i < 16:
            put(corpus, name, state)
        elif i < 20:
            (corpus / f"{name}.md").unlink(missing_ok=True)
            if state == 0:
                put(corpus, name, 0)
        elif i < 23:
            if not (corpus / f"{name}.md").exists():
                put(corpus, name, 0)
        else:
            old, new = (corpus / "a23.md", corpus / "renamed.md") if state else (corpus / "renamed.md",
                                                                                 corpus / "a23.md")
            if old.exists():
                old.rename(new)
            elif not new.exists():
                put(corpus, "a23", 0)
                if state:
                    (corpus / "a23.md").rename(new)
    for i in range(4):
        path = corpus / f"new{i}.md"
        if state:
            put(corpus, f"new{i}", 1)
        else:
            path.unlink(missing_ok=True)
    # Syndicated copies (story groups): of a20 in state 0, of a21 in state 1.
    keep, drop = ("a21", "a20") if state else ("a20", "a21")
    (corpus / f"wire-{drop}.md").unlink(missing_ok=True)
    write(corpus / f"wire-{keep}.md", article(f"The {keep} report | Wire", story(keep, 0), "2026-05-02"))


def ingest_env(settings: Settings) -> dict[str, str]:
    return {**os.environ, "RAG_CORPUS_DIR": str(settings.corpus_dir), "RAG_INDEX_DIR": str(settings.index_dir),
            "RAG_CHUNK_TOKENS": str(settings.chunk_tokens),
            "RAG_CHUNK_OVERLAP_TOKENS": str(settings.chunk_overlap_tokens),
            "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False"}


@dataclass
class Run:
    """A `python -m rag.cli ingest` process, watched from outside: its progress output on stderr (timestamped)
    and the manifest it writes. Nothing here opens the index while the process runs."""

    settings: Settings
    proc: subprocess.Popen[bytes] = field(init=False)
    started: float = field(init=False)
    generation_before: int = field(init=False)
    stderr: bytearray = field(default_factory=bytearray)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.generation_before = Manifest.load(self.settings.index_dir).generation
        self.started = time.monotonic()
        # Not --quiet: the progress bars on stderr show when scanning and embedding start and how many chunks
        # are upserted.
        self.proc = subprocess.Popen([sys.executable, "-m", "rag.cli", "ingest"], cwd=ROOT,
                                     env=ingest_env(self.settings), stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        fd = self.proc.stderr.fileno()
        while chunk := os.read(fd, 65536):
            with self.lock:
                self.stderr += chunk

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def text(self) -> str:
        with self.lock:
            return self.stderr.decode("utf-8", "replace")

    def phase(self) -> str:
        """Where the run is now, from what it has shown: the manifest is marked incomplete just before Chroma
        is first written (the BM25 update follows the Chroma writes in that window), and saved complete (next
        generation) after them."""
        if self.proc.poll() is not None:
            return "finished"
        manifest = self.manifest()
        if manifest and not manifest.get("complete", True):
            done = re.findall(r"embedding:\s+\d+%\|[^|]*\|\s*(\d+)/(\d+)", self.text()[-4000:])
            # Upserts follow each embedded batch, deletes follow the last: Chroma holds writes of this run
            # once the embedding bar has moved off zero.
            return "writing chroma" if done and int(done[-1][0]) > 0 else "embedding"
        if manifest.get("generation", 0) > self.generation_before:
            return "bm25 and exit"
        return "scanning" if "files:" in self.text() else "start-up"

    def manifest(self) -> dict[str, object]:
        """The manifest's state as the run last committed it (a read-only look at its meta row: polling is
        cheap, so the watching takes no CPU from the run being watched)."""
        try:
            with Manifest.load(self.settings.index_dir) as manifest:
                if not manifest.exists:
                    return {}
                return {"complete": manifest.complete, "generation": manifest.generation}
        except sqlite3.Error:
            return {}

    def wait_for(self, phase: str, deadline_s: float = 180) -> bool:
        """Wait until the run reaches `phase` or a later one (False if it ended first)."""
        target = PHASES.index(phase)
        deadline = time.monotonic() + deadline_s
        while True:
            now = self.phase()
            if now == "finished":
                return False
            if PHASES.index(now) >= target:
                return True
            assert time.monotonic() < deadline, f"run stuck in {now}: {self.text()[-2000:]}"
            time.sleep(0.01)

    def kill(self) -> str:
        """kill -9 now; the phase the run was in."""
        seen = self.phase()
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=60)
        if seen == "finished" or self.proc.returncode != -signal.SIGKILL:
            assert self.proc.returncode == 0, self.text()[-3000:]
            return "finished"
        return seen

    def finish(self, timeout_s: float = 300) -> None:
        assert self.proc.wait(timeout=timeout_s) == 0, self.text()[-3000:]


def calibrate(settings: Settings) -> dict[str, tuple[float, float]]:
    """One uninterrupted run: the window (start, length) in seconds of each phase, to spread kills over."""
    run = Run(settings)
    starts: dict[str, float] = {"start-up": 0.0}
    while (now := run.phase()) != "finished":
        starts.setdefault(now, run.elapsed())
        time.sleep(0.01)
    end = run.elapsed()
    run.finish()
    assert set(starts) == set(PHASES), f"calibration run did not show every phase: {starts}\n{run.text()[-2000:]}"
    bounds = [starts[p] for p in PHASES] + [end]
    return {p: (bounds[i], max(0.02, bounds[i + 1] - bounds[i])) for i, p in enumerate(PHASES)}


def clean_build(settings: Settings, clean_dir: Path, embedder: Embedder) -> Settings:
    clean = settings.model_copy(update={"index_dir": clean_dir})
    if not Manifest.path(clean_dir).exists():
        sync_corpus(clean, embedder=embedder)
    return clean


def assert_equals_clean_build(settings: Settings, clean: Settings) -> None:
    assert_same_index(settings, clean)
    ids = set(index_snapshot(clean))
    lexical = LexicalIndex.load(settings.index_dir)
    manifest = Manifest.load(settings.index_dir)
    assert lexical is not None and sorted(lexical.ids) == sorted(ids), "BM25 ids differ from the clean build"
    clean_lexical = LexicalIndex.load(clean.index_dir)
    assert clean_lexical is not None and lexical.snapshot() == clean_lexical.snapshot(), "BM25 rows differ"
    assert lexical.generation == manifest.generation, "BM25 is of another generation than the manifest"
    assert manifest.complete and manifest.chunk_ids() == ids, "manifest does not name exactly the chunks"
    assert len(open_collection(settings).get(include=[])["ids"]) == len(ids), "duplicate or extra records"
    groups, clean_groups = story_groups(settings), story_groups(clean)
    assert groups == clean_groups, "story groups differ from the clean build"


def story_groups(settings: Settings) -> dict[str, str]:
    from rag.retrieve import Catalog

    return Catalog(Manifest.load(settings.index_dir), settings.story_threshold).story


@pytest.mark.slow
def test_kill_9_at_20_points_across_a_run_then_resync_equals_clean_build(
        make_settings, embedder: Embedder, tmp_path: Path) -> None:
    settings = make_settings(**CHUNKING)
    set_state(settings.corpus_dir, 0)
    sync_corpus(settings, embedder=embedder)
    clean = {0: clean_build(settings, tmp_path / "clean-0", embedder)}
    set_state(settings.corpus_dir, 1)
    windows = calibrate(settings)  # state 0 → 1, uninterrupted
    clean[1] = clean_build(settings, tmp_path / "clean-1", embedder)
    assert_equals_clean_build(settings, clean[1])
    for built in clean.values():  # the states differ in their story groups: the groups are under test too
        assert sum(1 for s, g in story_groups(built).items() if s != g) == 1, "one syndicated copy per state"

    rng = random.Random(20260501)
    # 4 kills per phase, each at a uniform point of that phase's window in the calibration run, measured from
    # the moment the live run is seen entering the phase (runs on a shared machine drift by seconds, so the
    # point is drawn from the first 80 % of the window). A kill that comes too late (the run has finished) is
    # not a kill: that phase is aimed at again, at most MAX_ROUNDS rounds in all.
    targets = [p for p in PHASES for _ in range(KILLS // len(PHASES))]
    rng.shuffle(targets)
    landed: Counter[str] = Counter()
    log: list[str] = []
    started = time.monotonic()
    state = 1
    rounds = 0
    while targets and rounds < MAX_ROUNDS:
        rounds += 1
        target = targets.pop()
        state = 1 - state
        set_state(settings.corpus_dir, state)
        offset = rng.uniform(0, 0.8 * windows[target][1])
        run = Run(settings)
        if run.wait_for(target):
            time.sleep(offset)  # the random kill point within the phase, not a wait for anything
        where = run.kill()
        landed[where] += 1
        if where == "finished":
            targets.insert(0, target)
        log.append(f"round {rounds}: aimed at {target} +{offset:.2f} s, landed in {where} at {run.elapsed():.2f} s")
        report = sync_corpus(settings, embedder=embedder)  # the resync after the crash
        assert report.skipped == 0
        assert_equals_clean_build(settings, clean[state])
    kills = rounds - landed["finished"]
    summary = (f"\ncalibrated phase windows (start, length s): "
               f"{ {p: (round(a, 2), round(b, 2)) for p, (a, b) in windows.items()} }\n"
               + "\n".join(log) + f"\n{kills} kills in {rounds} rounds, by phase: {dict(landed)}; "
               f"{time.monotonic() - started:.0f} s")
    print(summary)
    # The test is only worth something if the kills really hit runs in progress, Chroma writes included.
    assert kills == KILLS, summary
    assert landed["writing chroma"] >= 2 and landed["embedding"] >= 2, summary


def file_changes_mid_run(corpus: Path) -> None:
    """A user at work while an ingest runs: rewrite a file the run has read, delete one, add one."""
    put(corpus, "a00", 9)
    (corpus / "a01.md").unlink()
    put(corpus, "late", 9)


@pytest.mark.slow
@pytest.mark.parametrize("then", ["finishes", "killed"])
def test_files_changed_during_an_ingest_then_resync_equals_clean_build(
        make_settings, embedder: Embedder, tmp_path: Path, then: str) -> None:
    settings = make_settings(**CHUNKING)
    set_state(settings.corpus_dir, 0)
    sync_corpus(settings, embedder=embedder)
    set_state(settings.corpus_dir, 1)  # work for the run, so there is a "during"
    run = Run(settings)
    # Once Chroma is being written, the run has read every file: the changes below come after its scan.
    assert run.wait_for("embedding"), "the run ended before it wrote to Chroma"
    file_changes_mid_run(settings.corpus_dir)
    if then == "killed":
        assert run.kill() in ("embedding", "writing chroma")
    else:
        run.finish()
        # The finished run indexed what it read: the old a00 and a01, not the late file. The next sync fixes it.
        texts = " ".join(doc for doc, _, _ in index_snapshot(settings).values())
        assert "Version 1, paragraph 0 of the a00 story" in texts

    report = sync_corpus(settings, embedder=embedder)
    if then == "finishes":  # counted against what the finished run recorded: exactly the three changes
        assert (report.updated, report.deleted, report.added) == (1, 1, 1)
    else:  # counted against the manifest of the run before: the killed run's work is redone
        assert report.repaired
    assert_equals_clean_build(settings, clean_build(settings, tmp_path / "clean", embedder))
    snapshot = index_snapshot(settings)
    texts = " ".join(doc for doc, _, _ in snapshot.values())
    sources = {meta["source"] for _, meta, _ in snapshot.values()}
    # The latest text only: no chunk of the version the run read survives anywhere.
    assert "Version 9, paragraph 0 of the a00 story" in texts
    assert not re.search(r"Version [01], paragraph \d+ of the a00 story", texts)
    assert "a01.md" not in sources and "late.md" in sources
    lexical = LexicalIndex.load(settings.index_dir)
    assert lexical is not None and "a01.md" not in lexical.sources


# ------------------------------------------------------------------ regressions for bugs these tests found


def test_chunk_kept_across_an_edit_gets_its_new_ordinal(make_settings, embedder: Embedder, tmp_path: Path) -> None:
    """A chunk id is a function of source, text and offset, not of position: an edit that splits the intro into
    more chunks (same length, more tokens) keeps later chunks' ids while their ordinals move. The incremental
    sync used to keep the stale ordinal, so the index differed from a clean build."""
    settings = make_settings()
    para = ("the council met to discuss the harbour plan and residents asked many questions about it, and the "
            "mayor said the budget would be reviewed again next spring. ")
    tail = "\n\n".join(f"Paragraph {p}: " + para * 4 for p in range(4))
    plain = "Short intro about the harbour plan written plainly here. " * 12
    dense = ("Xq7 zv9 kk2 ww8 pp3 rr1 tt6 yy4 uu5 ii0 oo9 mm3 nn2 bb1. " * 12)[:len(plain)]
    path = write(settings.corpus_dir / "harbour.md", article("Harbour", plain.strip() + "\n\n" + tail))
    sync_corpus(settings, embedder=embedder)
    before = index_snapshot(settings)
    path.write_text(article("Harbour", dense.strip() + "\n\n" + tail), encoding="utf-8")
    sync_corpus(settings, embedder=embedder)
    clean = clean_build(settings, tmp_path / "clean", embedder)
    fresh = index_snapshot(clean)
    kept = before.keys() & fresh.keys()
    assert kept and any(before[c][1]["ordinal"] != fresh[c][1]["ordinal"] for c in kept)  # the case is real
    assert_same_index(settings, clean)


def test_file_restored_after_a_crash_mid_update_is_indexed_again(make_settings, embedder: Embedder,
                                                                 tmp_path: Path) -> None:
    """A run updated a file (new chunks written, old ones deleted) and died before saving the manifest; the
    user then restored the old version. The incomplete manifest still describes the old version, whose chunks
    are gone: the resync used to trust it and leave the file with no chunks at all."""
    settings = make_settings()
    path = put(settings.corpus_dir, "harbour", 0, paragraphs=4)
    put(settings.corpus_dir, "tram", 0, paragraphs=4)
    sync_corpus(settings, embedder=embedder)
    original = path.read_bytes()
    stat = path.stat()
    before = sqlite3.connect(":memory:")  # the manifest as this finished sync left it
    with closing(sqlite3.connect(Manifest.path(settings.index_dir))) as db:
        db.backup(before)
    bm25 = LexicalIndex.file(settings.index_dir)
    shutil.copytree(bm25, tmp_path / "bm25-before")  # the sync finished: its last commit is in the folder
    put(settings.corpus_dir, "harbour", 1, paragraphs=4)
    sync_corpus(settings, embedder=embedder)
    # What a kill -9 just before the final manifest save leaves: Chroma updated, the manifest still the one
    # marked incomplete at the start of that run (the old records), BM25 not yet updated.
    with closing(sqlite3.connect(Manifest.path(settings.index_dir))) as db:
        before.backup(db)
        with db:
            db.execute("UPDATE meta SET value = '0' WHERE key = 'complete'")
    shutil.rmtree(bm25)
    shutil.copytree(tmp_path / "bm25-before", bm25)
    path.write_bytes(original)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # restored with its old time, as a backup does
    report = sync_corpus(settings, embedder=embedder)
    assert report.repaired
    assert_equals_clean_build(settings, clean_build(settings, tmp_path / "clean", embedder))
