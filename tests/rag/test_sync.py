from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rag.embedding import Embedder
from rag.index import LexicalIndex, Manifest, open_collection
from rag.retrieve import HybridRetriever
from rag.sync import IngestBusy, sync_corpus
from tests.helpers import ROOT, article, assert_same_index, index_snapshot, write

TOPICS = ["harbour", "tram", "drought", "election", "museum", "vaccine", "wildfire", "chess", "mining", "canal"]


def body(topic: str, n: int = 3) -> str:
    return "\n\n".join(
        f"Paragraph {p} of the {topic} story. Officials in Varnholm said the {topic} matter number {p} "
        f"would be reviewed by the council on day {p + 3}, and residents asked questions about the {topic}."
        for p in range(n)
    )


def fill(corpus: Path, topics: list[str], paragraphs: int = 3) -> None:
    for topic in topics:
        write(corpus / f"{topic}.md", article(f"The {topic} report", body(topic, paragraphs), "2026-05-01"))


def sources_in_index(settings) -> set[str]:
    return {meta["source"] for _, meta, _ in index_snapshot(settings).values()}


def test_add_then_unchanged_embeds_nothing(make_settings, embedder: Embedder) -> None:
    settings = make_settings()
    fill(settings.corpus_dir, TOPICS[:4])
    first = sync_corpus(settings, embedder=embedder)
    assert (first.added, first.updated, first.deleted, first.skipped) == (4, 0, 0, 0)
    assert first.chunks_total == len(index_snapshot(settings)) > 0
    second = sync_corpus(settings, embedder=embedder)
    assert (second.added, second.unchanged, second.chunks_embedded, second.chunks_removed) == (0, 4, 0, 0)
    # A touched file (new mtime, same bytes) is re-read but not re-embedded.
    os.utime(settings.corpus_dir / "tram.md", ns=(time.time_ns(), time.time_ns()))
    third = sync_corpus(settings, embedder=embedder)
    assert (third.unchanged, third.chunks_embedded) == (4, 0)


def test_changed_file_replaces_exactly_its_chunks(make_settings, embedder: Embedder, tmp_path: Path) -> None:
    settings = make_settings()
    fill(settings.corpus_dir, TOPICS[:3], paragraphs=12)
    sync_corpus(settings, embedder=embedder)
    path = settings.corpus_dir / "harbour.md"
    path.write_text(path.read_text().replace("day 14", "day 40"), encoding="utf-8")
    report = sync_corpus(settings, embedder=embedder)
    assert (report.updated, report.added, report.deleted) == (1, 0, 0)
    assert 0 < report.chunks_embedded < len(Manifest.load(settings.index_dir).files["harbour.md"].chunk_ids)
    clean = make_settings(corpus_dir=settings.corpus_dir, index_dir=tmp_path / "clean")
    sync_corpus(clean, embedder=embedder)
    assert_same_index(settings, clean)


def test_deleted_file_leaves_no_chunks_in_either_index(make_settings, embedder: Embedder) -> None:
    settings = make_settings()
    fill(settings.corpus_dir, TOPICS[:3])
    sync_corpus(settings, embedder=embedder)
    (settings.corpus_dir / "drought.md").unlink()
    report = sync_corpus(settings, embedder=embedder)
    assert report.deleted == 1 and report.chunks_removed > 0
    assert sources_in_index(settings) == {"harbour.md", "tram.md"}
    lexical = LexicalIndex.load(settings.index_dir)
    assert lexical is not None and "drought.md" not in lexical.sources
    hits = HybridRetriever(settings, embedder=embedder).search("drought story", k=10)
    assert hits and all(h.chunk.source != "drought.md" for h in hits)


def test_rename_reuses_vectors(make_settings, embedder: Embedder) -> None:
    settings = make_settings()
    fill(settings.corpus_dir, TOPICS[:2])
    sync_corpus(settings, embedder=embedder)
    (settings.corpus_dir / "sub").mkdir()
    (settings.corpus_dir / "tram.md").rename(settings.corpus_dir / "sub" / "tram-renamed.md")
    report = sync_corpus(settings, embedder=embedder)
    assert (report.added, report.deleted, report.chunks_embedded) == (1, 1, 0)
    assert report.chunks_reused > 0
    assert sources_in_index(settings) == {"harbour.md", "sub/tram-renamed.md"}


def test_bad_files_are_skipped_and_never_remove_indexed_text(make_settings, embedder: Embedder) -> None:
    settings = make_settings()
    corpus = settings.corpus_dir
    fill(corpus, TOPICS[:2])
    sync_corpus(settings, embedder=embedder)
    before = index_snapshot(settings)
    (corpus / "empty.txt").write_bytes(b"")
    (corpus / "binary.txt").write_bytes(bytes(range(256)) * 10)
    (corpus / "latin1.md").write_bytes("Caf\xe9 society news".encode("latin-1"))
    (corpus / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog")
    (corpus / "fake.docx").write_bytes(b"this is not a zip file")
    (corpus / "notes.xyz").write_text("unsupported", encoding="utf-8")
    (corpus / "dangling.txt").symlink_to(corpus / "nowhere.txt")
    # A file that was good and turns bad keeps its indexed version.
    (corpus / "tram.md").write_bytes(b"\x89PNG\x00\x01garbage\x00" * 50)
    report = sync_corpus(settings, embedder=embedder)
    skipped = {row["source"]: row["reason"] for row in report.skipped_files}
    assert set(skipped) == {"empty.txt", "binary.txt", "latin1.md", "broken.pdf", "fake.docx", "notes.xyz",
                            "dangling.txt", "tram.md"}
    assert all(reason and "\n" not in reason for reason in skipped.values())
    assert report.skipped == 8 and report.deleted == 0
    assert index_snapshot(settings).keys() == before.keys()


def test_second_ingest_waits_then_stops_with_a_clear_message(make_settings, embedder: Embedder) -> None:
    settings = make_settings(lock_timeout_s=0.5)
    fill(settings.corpus_dir, TOPICS[:1])
    settings.index_dir.mkdir(parents=True)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys,time; from filelock import FileLock; l=FileLock(sys.argv[1]); l.acquire();"
         " print('held', flush=True); time.sleep(30)", str(settings.index_dir / "ingest.lock")],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(IngestBusy, match="another ingest"):
            sync_corpus(settings, embedder=embedder)
    finally:
        holder.kill()
        holder.wait()
    assert sync_corpus(settings, embedder=embedder).added == 1


def test_damaged_manifest_and_orphans_are_repaired(make_settings, embedder: Embedder, tmp_path: Path) -> None:
    settings = make_settings()
    fill(settings.corpus_dir, TOPICS[:3])
    sync_corpus(settings, embedder=embedder)
    collection = open_collection(settings)
    collection.upsert(ids=["orphan"], embeddings=[[0.1] * embedder.dimension], documents=["orphan"],
                      metadatas=[{"source": "gone.md", "text_hash": "x"}])
    Manifest.path(settings.index_dir).write_text("{not json", encoding="utf-8")
    report = sync_corpus(settings, embedder=embedder)
    assert report.repaired and report.chunks_embedded == 0 and report.chunks_removed == 1
    clean = make_settings(corpus_dir=settings.corpus_dir, index_dir=tmp_path / "clean")
    sync_corpus(clean, embedder=embedder)
    assert_same_index(settings, clean)


def test_changing_chunk_size_rebuilds(make_settings, embedder: Embedder) -> None:
    settings = make_settings()
    fill(settings.corpus_dir, TOPICS[:2], paragraphs=10)
    sync_corpus(settings, embedder=embedder)
    smaller = make_settings(chunk_tokens=60, chunk_overlap_tokens=10)
    report = sync_corpus(smaller, embedder=embedder)
    assert report.added == 2
    manifest = Manifest.load(smaller.index_dir)
    assert set(index_snapshot(smaller)) == manifest.chunk_ids()


def _run_ingest(corpus: Path, index: Path) -> subprocess.Popen:
    env = {**os.environ, "RAG_CORPUS_DIR": str(corpus), "RAG_INDEX_DIR": str(index)}
    return subprocess.Popen([sys.executable, "-m", "rag.cli", "ingest", "--quiet"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@pytest.mark.slow
def test_kill_9_during_ingest_then_resync_equals_clean_build(make_settings, embedder: Embedder,
                                                            tmp_path: Path) -> None:
    settings = make_settings()
    fill(settings.corpus_dir, [f"{t}-{i}" for t in TOPICS for i in range(4)], paragraphs=6)
    rng = random.Random(7)
    kills = 0
    for attempt in range(3):
        proc = _run_ingest(settings.corpus_dir, settings.index_dir)
        deadline = time.time() + 120
        # Wait until the run is writing to Chroma (manifest marked incomplete), then kill at a random moment.
        while time.time() < deadline and proc.poll() is None:
            with Manifest.load(settings.index_dir) as manifest:
                if manifest.exists and not manifest.complete:
                    break
            time.sleep(0.05)
        time.sleep(rng.uniform(0.2, 2.0))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait()
        # Change a file between crashes, as a user might.
        write(settings.corpus_dir / f"extra-{attempt}.md", article(f"Extra {attempt}", body(f"extra{attempt}")))
    assert kills >= 1, "the ingest finished before it could be killed; make the corpus bigger"
    report = sync_corpus(settings, embedder=embedder)
    assert report.repaired or report.added > 0
    clean = make_settings(corpus_dir=settings.corpus_dir, index_dir=tmp_path / "clean")
    sync_corpus(clean, embedder=embedder)
    assert_same_index(settings, clean)
    lexical = LexicalIndex.load(settings.index_dir)
    assert lexical is not None and sorted(lexical.ids) == sorted(index_snapshot(clean))


def story_groups(settings) -> dict[str, str]:
    from rag.retrieve import Catalog

    return Catalog(Manifest.load(settings.index_dir), settings.story_threshold).story


def test_story_groups_after_add_change_delete_equal_a_clean_build(make_settings, embedder: Embedder,
                                                                  tmp_path: Path) -> None:
    settings = make_settings()
    corpus = settings.corpus_dir
    fill(corpus, TOPICS[:4])
    sync_corpus(settings, embedder=embedder)
    # A syndicated copy of the harbour story arrives: one story, two documents.
    write(corpus / "harbour-wire.md", article("The harbour report | Wire", body("harbour"), "2026-05-02"))
    sync_corpus(settings, embedder=embedder)
    groups = story_groups(settings)
    assert groups["harbour-wire.md"] == groups["harbour.md"] != groups["tram.md"]
    # The copy is rewritten into another story, a copy of the tram story arrives, the drought story goes.
    write(corpus / "harbour-wire.md", article("The canal report | Wire", body("canal"), "2026-05-03"))
    write(corpus / "tram-copy.md", article("The tram report - Copy", "Copied.\n\n" + body("tram"), "2026-05-03"))
    (corpus / "drought.md").unlink()
    sync_corpus(settings, embedder=embedder)
    groups = story_groups(settings)
    assert groups["harbour-wire.md"] != groups["harbour.md"]
    assert groups["tram-copy.md"] == groups["tram.md"]
    assert "drought.md" not in groups
    clean = make_settings(corpus_dir=corpus, index_dir=tmp_path / "clean")
    sync_corpus(clean, embedder=embedder)
    assert groups == story_groups(clean)


def test_an_index_without_signatures_gets_them_without_embedding(make_settings, embedder: Embedder) -> None:
    settings = make_settings()
    fill(settings.corpus_dir, TOPICS[:3])
    write(settings.corpus_dir / "tram-copy.md", article("The tram report | Copy", body("tram"), "2026-05-03"))
    sync_corpus(settings, embedder=embedder)
    expected = story_groups(settings)
    db = sqlite3.connect(Manifest.path(settings.index_dir))
    with db:
        db.execute("UPDATE files SET minhash = NULL, signed = 0")  # as written before story grouping existed
    db.close()
    report = sync_corpus(settings, embedder=embedder)
    assert (report.chunks_embedded, report.chunks_removed, report.unchanged) == (0, 0, 4)
    assert story_groups(settings) == expected and expected["tram-copy.md"] == expected["tram.md"]


def test_a_bad_date_is_one_warning_line_never_a_failed_ingest(make_settings, embedder: Embedder) -> None:
    from rag.sync import SyncProgress

    class Collect(SyncProgress):
        def __init__(self) -> None:
            self.lines: list[str] = []

        def warning(self, line: str) -> None:
            self.lines.append(line)

    settings = make_settings()
    fill(settings.corpus_dir, TOPICS[:1])
    write(settings.corpus_dir / "bad-date.md", "---\ntitle: Bad date\ndate: 2024-13-45\n---\n\n" + body("canal"))
    # Front matter that is not YAML (an unclosed quote): one warning too, the article indexed without its fields.
    write(settings.corpus_dir / "bad-yaml.md", '---\ntitle: "Bad yaml\ndate: 2024-01-02\n---\n\n' + body("ferry"))
    progress = Collect()
    report = sync_corpus(settings, embedder=embedder, progress=progress)
    assert (report.added, report.skipped) == (3, 0)
    assert progress.lines == ["bad-date.md: unreadable date '2024-13-45': indexed without a date",
                              "bad-yaml.md: front matter is not valid YAML (line 4): found unexpected end of stream; "
                              "indexed without its title, date and other fields"]
    assert Manifest.load(settings.index_dir).files["bad-yaml.md"].date is None
    record = Manifest.load(settings.index_dir).files["bad-date.md"]
    assert (record.date, record.date_source, record.title) == (None, None, "Bad date")
    assert Manifest.load(settings.index_dir).files["harbour.md"].date_source == "front matter"


def test_a_waiter_reads_the_lock_holders_note_written_a_moment_late(tmp_path: Path) -> None:
    """The holder notes its pid just after taking the lock: a waiter that came first waits for the note rather than
    reporting an unknown owner (the race tests/hardening/test_concurrency.py once lost), and gives up after wait_s."""
    import threading

    from rag.sync import lock_owner

    note = tmp_path / "ingest.owner"
    writer = threading.Timer(0.3, lambda: note.write_text("pid 4242 since 10:00:00", encoding="utf-8"))
    writer.start()
    try:
        assert lock_owner(note, wait_s=5.0) == "pid 4242 since 10:00:00"
    finally:
        writer.cancel()
    note.unlink()
    assert lock_owner(note, wait_s=0.1) == "owner unknown"


def test_the_lock_holders_note_is_gone_once_it_releases(make_settings) -> None:
    from rag.sync import SyncProgress, ingest_lock

    settings = make_settings()
    with ingest_lock(settings, SyncProgress()):
        assert (settings.index_dir / "ingest.owner").read_text(encoding="utf-8").startswith(f"pid {os.getpid()} ")
    assert not (settings.index_dir / "ingest.owner").exists()
