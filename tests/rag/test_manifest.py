"""The SQLite manifest (rag/manifest.py) and the syncs that read it row by row: a no-change sync reads no
chunk ids, a sync told which paths changed (the watcher's) equals a full one, a manifest.json of the earlier
version migrates with nothing embedded, and the retriever's catalog follows the changes alone."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import sqlite3
import time
from pathlib import Path

import pytest

from rag.embedding import Embedder
from rag.index import LexicalIndex
from rag.manifest import LEGACY_JSON, Manifest
from rag.retrieve import Catalog, HybridRetriever
from rag.settings import Settings
from rag.sync import sync_corpus
from tests.helpers import article, assert_same_index, write

TOPICS = ["harbour", "tram", "drought", "election", "museum", "vaccine"]


def body(topic: str, version: int = 0) -> str:
    return "\n\n".join(f"Paragraph {p} (version {version}) of the {topic} story. Officials in Varnholm said the "
                       f"{topic} matter number {p} would be reviewed by the council." for p in range(3))


def put(corpus: Path, name: str, version: int = 0, date: str = "2026-05-01") -> Path:
    topic = Path(name).stem
    return write(corpus / name, article(f"The {topic} report", body(topic, version), date))


def records(settings: Settings) -> dict[str, tuple]:
    """The manifest's records without the fields a clean build legitimately differs in (stat, racy)."""
    with Manifest.load(settings.index_dir) as manifest:
        return {s: (r.content_hash, r.title, r.chunk_ids, r.date, r.url, r.minhash, r.date_source)
                for s, r in manifest.files.items()}


def assert_equals_clean_build(settings: Settings, clean_dir: Path, embedder: Embedder) -> None:
    shutil.rmtree(clean_dir, ignore_errors=True)
    clean = settings.model_copy(update={"index_dir": clean_dir})
    sync_corpus(clean, embedder=embedder)
    assert_same_index(settings, clean)
    assert records(settings) == records(clean)
    lexical, clean_lexical = LexicalIndex.load(settings.index_dir), LexicalIndex.load(clean_dir)
    assert lexical is not None and clean_lexical is not None and lexical.snapshot() == clean_lexical.snapshot()
    with Manifest.load(settings.index_dir) as manifest:
        assert manifest.complete and lexical.generation == manifest.generation


def indexed(make_settings, embedder: Embedder, articles: int) -> Settings:
    """A corpus of `articles` articles, synced."""
    settings = make_settings()
    for topic in TOPICS[:articles]:
        put(settings.corpus_dir, f"{topic}.md")
    sync_corpus(settings, embedder=embedder)
    return settings


def write_legacy_json(index_dir: Path) -> None:
    """Turn the index's manifest into the version-1 manifest.json an earlier release wrote, and remove it."""
    with Manifest.load(index_dir) as manifest:
        data = {"version": 1, "generation": manifest.generation, "complete": manifest.complete,
                "fingerprint": manifest.fingerprint,
                "files": {s: dataclasses.asdict(r) for s, r in sorted(manifest.files.items())}}
    (index_dir / LEGACY_JSON).write_text(json.dumps(data), encoding="utf-8")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{Manifest.path(index_dir)}{suffix}").unlink(missing_ok=True)


def test_a_json_manifest_migrates_on_the_next_sync_with_nothing_embedded(make_settings, embedder: Embedder,
                                                                          tmp_path: Path) -> None:
    settings = indexed(make_settings, embedder, 4)
    before = records(settings)
    write_legacy_json(settings.index_dir)
    assert records(settings) == before  # readers read the JSON until a sync imports it
    put(settings.corpus_dir, "tram.md", version=1)  # and a change made meanwhile is synced with the migration
    report = sync_corpus(settings, embedder=embedder)
    assert (report.repaired, report.updated, report.unchanged) == (False, 1, 3)
    assert report.chunks_embedded == len(records(settings)["tram.md"][2]) > 0  # the changed file's, no other
    assert not (settings.index_dir / LEGACY_JSON).exists() and Manifest.path(settings.index_dir).exists()
    assert_equals_clean_build(settings, tmp_path / "clean", embedder)
    again = sync_corpus(settings, embedder=embedder)
    assert (again.chunks_embedded, again.unchanged) == (0, 4)


def test_an_incomplete_json_manifest_migrates_as_incomplete_and_is_repaired(make_settings, embedder: Embedder,
                                                                            tmp_path: Path) -> None:
    settings = indexed(make_settings, embedder, 3)
    write_legacy_json(settings.index_dir)
    legacy = settings.index_dir / LEGACY_JSON
    legacy.write_text(legacy.read_text().replace('"complete": true', '"complete": false'), encoding="utf-8")
    report = sync_corpus(settings, embedder=embedder)
    assert report.repaired and report.chunks_embedded == 0
    assert_equals_clean_build(settings, tmp_path / "clean", embedder)


def test_a_no_change_sync_reads_no_chunk_ids(make_settings, embedder: Embedder, monkeypatch) -> None:
    settings = make_settings()
    hour_ago = time.time_ns() - 3600 * 10**9  # not written within the racy window: trusted on size and mtime
    for topic in TOPICS:
        os.utime(put(settings.corpus_dir, f"{topic}.md"), ns=(hour_ago, hour_ago))
    sync_corpus(settings, embedder=embedder)
    total = sum(len(r[2]) for r in records(settings).values())
    statements: list[str] = []
    open_manifest = Manifest.open

    def traced(index_dir: Path) -> Manifest:
        manifest = open_manifest(index_dir)
        manifest._db.set_trace_callback(statements.append)
        return manifest

    monkeypatch.setattr(Manifest, "open", traced)
    report = sync_corpus(settings, embedder=embedder)
    assert (report.unchanged, report.chunks_embedded) == (len(TOPICS), 0)
    assert report.chunks_total == total
    reads = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert reads and not [s for s in reads if "chunk_ids" in s], reads
    assert not [s for s in statements if s.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]
    # One changed file: its own record is read, no other.
    statements.clear()
    put(settings.corpus_dir, "tram.md", version=1)
    assert sync_corpus(settings, embedder=embedder).updated == 1
    chunk_reads = [s for s in statements if "chunk_ids" in s and s.lstrip().upper().startswith("SELECT")]
    assert chunk_reads and all("'tram.md'" in s for s in chunk_reads), chunk_reads


def test_a_sync_of_the_changed_paths_equals_a_clean_build(make_settings, embedder: Embedder,
                                                          tmp_path: Path) -> None:
    """What the watcher does: sync only the paths its events named. Each step must leave what a full scan
    leaves: an added, changed, deleted and renamed file, a bad file, a folder added and one renamed."""
    settings = make_settings()
    corpus = settings.corpus_dir
    for topic in TOPICS[:4]:
        put(corpus, f"{topic}.md")
    put(corpus, "old/museum.md")
    put(corpus, "old/vaccine.md")
    sync_corpus(settings, embedder=embedder)
    retriever = HybridRetriever(settings, embedder=embedder)
    retriever.catalog()

    def step(*paths: Path | str) -> None:
        sync_corpus(settings, embedder=embedder, paths=[corpus / p for p in paths])
        assert_equals_clean_build(settings, tmp_path / "clean", embedder)
        # The catalog the retriever updated with the changes alone equals one read afresh.
        with Manifest.load(settings.index_dir) as manifest:
            fresh = Catalog(manifest, settings.story_threshold)
        catalog = retriever.catalog()
        assert (catalog.records, catalog.story, catalog.undated, catalog.newest) == (
            fresh.records, fresh.story, fresh.undated, fresh.newest)

    put(corpus, "new.md", date="2026-06-01")
    step("new.md")
    put(corpus, "tram.md", version=1)
    step("tram.md")
    (corpus / "drought.md").unlink()
    step("drought.md")
    (corpus / "harbour.md").rename(corpus / "harbour-renamed.md")
    step("harbour.md", "harbour-renamed.md")
    write(corpus / "election.md", "\x00\x01 not an article")  # a bad version: the good one stays indexed
    report = sync_corpus(settings, embedder=embedder, paths=[corpus / "election.md"])
    assert report.skipped == 1 and "election.md" in records(settings)
    put(corpus, "election.md", version=1)
    step("election.md")
    put(corpus, "wire/tram-copy.md", version=1)  # a syndicated copy in a new folder: one story with tram.md
    step("wire")
    assert retriever.catalog().story["wire/tram-copy.md"] == retriever.catalog().story["tram.md"]
    (corpus / "old").rename(corpus / "archive")
    step("old", "archive")
    assert {"archive/museum.md", "archive/vaccine.md"} <= set(records(settings))
    assert not [s for s in records(settings) if s.startswith("old/")]
    # Paths outside the scan's rules are no change: a hidden file, a path outside the corpus.
    write(corpus / ".hidden.md", article("Hidden", body("hidden")))
    report = sync_corpus(settings, embedder=embedder, paths=[corpus / ".hidden.md", tmp_path / "elsewhere.md"])
    assert (report.added, report.deleted) == (0, 0)


def test_an_untrusted_manifest_makes_a_sync_of_paths_a_full_one(make_settings, embedder: Embedder,
                                                                 tmp_path: Path) -> None:
    settings = indexed(make_settings, embedder, 3)
    db = sqlite3.connect(Manifest.path(settings.index_dir))
    with db:
        db.execute("UPDATE meta SET value = '0' WHERE key = 'complete'")  # as a kill -9 mid-sync leaves it
    db.close()
    (settings.corpus_dir / "tram.md").unlink()  # a change no event named
    report = sync_corpus(settings, embedder=embedder, paths=[settings.corpus_dir / "harbour.md"])
    assert report.repaired and report.deleted == 1
    assert_equals_clean_build(settings, tmp_path / "clean", embedder)


@pytest.mark.parametrize("damage", ["garbage", "empty"])
def test_readers_of_a_damaged_manifest_see_an_incomplete_index(make_settings, damage: str) -> None:
    settings = make_settings()
    settings.index_dir.mkdir(parents=True)
    Manifest.path(settings.index_dir).write_bytes(b"not a database" * 100 if damage == "garbage" else b"")
    with Manifest.load(settings.index_dir) as manifest:
        if damage == "garbage":
            assert manifest.exists and not manifest.complete and manifest.files == {}
        else:  # an empty file is what a crash while creating the database leaves: nothing indexed yet
            assert manifest.files == {}


def test_a_migration_interrupted_at_any_point_is_redone_or_finished(make_settings, embedder: Embedder,
                                                                    tmp_path: Path) -> None:
    """The import's crash windows: before its one transaction commits (the database has its tables but no
    version row; the JSON is still there) and after it, before the JSON is deleted. Either way the next sync
    ends with the imported records and nothing embedded."""
    settings = indexed(make_settings, embedder, 3)
    before = records(settings)
    write_legacy_json(settings.index_dir)
    legacy = (settings.index_dir / LEGACY_JSON).read_text(encoding="utf-8")
    db = sqlite3.connect(Manifest.path(settings.index_dir))  # killed inside the import: tables, no version
    db.executescript("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);")
    db.close()
    assert records(settings) == before  # readers still read the JSON
    report = sync_corpus(settings, embedder=embedder)
    assert (report.chunks_embedded, report.chunks_removed, report.unchanged, report.repaired) == (0, 0, 3, False)
    assert records(settings) == before and not (settings.index_dir / LEGACY_JSON).exists()
    # Killed after the import committed, before the JSON was deleted: the database wins, the JSON goes.
    (settings.index_dir / LEGACY_JSON).write_text(legacy.replace('"complete": true', '"complete": false'),
                                                  encoding="utf-8")
    report = sync_corpus(settings, embedder=embedder)
    assert (report.chunks_embedded, report.repaired) == (0, False)
    assert not (settings.index_dir / LEGACY_JSON).exists()
    assert_equals_clean_build(settings, tmp_path / "clean", embedder)
