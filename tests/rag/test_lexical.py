"""The lexical index (tantivy): analysis as bm25s did it, in-place updates, filters, migration, crash atomicity."""

from __future__ import annotations

import json
import shutil
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

import rag.lexical as lexical_module
from rag.embedding import Embedder
from rag.index import LexicalFilter, LexicalIndex
from rag.lexical import analyze, date_int
from rag.sync import sync_corpus
from rag.types import Chunk
from tests.helpers import ROOT, SAMPLE_CORPUS, article, write


def chunk(cid: str, source: str, date: str | None = None) -> Chunk:
    return Chunk(id=cid, source=source, text="", title="", start=0, end=0, ordinal=0, text_hash=cid, date=date)


def segment_docs(index_dir: Path) -> dict[str, int]:
    """segment id → its document count (deleted ones included), from tantivy's committed meta.json."""
    meta = json.loads((LexicalIndex.file(index_dir) / "meta.json").read_text(encoding="utf-8"))
    return {seg["segment_id"]: seg["max_doc"] for seg in meta["segments"]}


def test_analysis_equals_bm25s() -> None:
    import bm25s
    import Stemmer

    texts = [p.read_text(encoding="utf-8") for p in sorted(SAMPLE_CORPUS.glob("*.md"))]
    texts += ["The harbour's cranes, re-opened in 2026: naïve café_bar x y ÉCOLE", ""]
    expected = bm25s.tokenize(texts, stopwords="en", stemmer=Stemmer.Stemmer("english"), show_progress=False,
                              return_ids=False)
    assert [analyze(t) for t in texts] == [list(tokens) for tokens in expected]


def test_add_replace_delete_and_filters(tmp_path: Path) -> None:
    index = LexicalIndex.open(tmp_path)
    assert index.generation == -1 and len(index) == 0
    index.apply([(chunk("a", "harbour.md", "2026-05-01"), "The harbour cranes were repaired"),
                 (chunk("b", "tram.md", "2026-06-10"), "A new tram line to the harbour"),
                 (chunk("c", "undated.md"), "Cranes at the harbour, undated")], [], generation=1)
    assert index.generation == 1 and sorted(index.ids) == ["a", "b", "c"]
    assert [cid for cid, _ in index.search("crane", 10)][:2] in (["a", "c"], ["c", "a"])
    assert {cid for cid, _ in index.search("harbour", 10)} == {"a", "b", "c"}
    assert index.search("the of and", 10) == []  # stop words only
    only = lambda **kw: {cid for cid, _ in index.search("harbour", 10, LexicalFilter(**kw))}  # noqa: E731
    assert only(sources=frozenset({"tram.md"})) == {"b"}
    assert only(since=20260601) == {"b"}
    assert only(until=20260531) == {"a"}  # undated chunks are outside any date range
    assert only(as_of=20260531) == {"a", "c"}  # but not in the future
    assert only(since=20260501, as_of=20260531) == {"a"}  # a range excludes the undated
    assert only(until=20260701, as_of=20260531) == {"a"}
    assert only(sources=frozenset({"undated.md", "tram.md"}), as_of=20260531) == {"c"}
    assert only(sources=frozenset()) == set()
    index.apply([(chunk("a", "harbour.md", "2026-05-01"), "Only the ferry now")], ["b"], generation=2)
    assert sorted(index.ids) == ["a", "c"] and index.search("tram", 10) == []
    assert [cid for cid, _ in index.search("ferry", 10)] == ["a"]
    assert index.sources == ["harbour.md", "undated.md"]


@pytest.mark.parametrize("where", [LexicalFilter(as_of=20260520), LexicalFilter(as_of=20260502),
                                   LexicalFilter(since=20260510, until=20260515), LexicalFilter(until=20260503)])
def test_date_filtered_search_equals_filtering_every_match(tmp_path: Path, where: LexicalFilter) -> None:
    """Date filters first read the unfiltered best 4 × k (most of an archive passes an as-of date) and fall back
    to the filtered query when too few pass: either way the result is the best k of the chunks in range."""
    index = LexicalIndex.open(tmp_path)
    days = {f"c{i:02d}": (None if i % 7 == 0 else f"2026-05-{1 + i % 28:02d}") for i in range(60)}
    index.apply([(chunk(cid, f"{cid}.md", day), "harbour " * (1 + i % 5) + "tram " * (i % 3) + "ferry")
                 for i, (cid, day) in enumerate(days.items())], [], generation=1)
    low, high = where.dates()  # type: ignore[misc]
    every = index.search("harbour tram", 100)
    expected = [(cid, score) for cid, score in every if low <= date_int(days[cid]) <= high][:3]
    assert len(every) == 60 and len(expected) == 3
    assert index.search("harbour tram", 3, where) == expected


def test_sources_of_more_documents_than_one_aggregation_holds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    index = LexicalIndex.open(tmp_path)
    names = [f"a{i:02d}.md" for i in range(20)]
    index.apply([(chunk(f"c{i}", name, f"2026-05-{1 + i % 3:02d}" if i % 4 else None), "harbour")
                 for i, name in enumerate(names)], [], generation=1)
    assert index.sources == names
    monkeypatch.setattr(lexical_module, "AGGREGATION_BUCKETS", 2)  # as tantivy's 65,000 to a 65,001-file archive
    index.apply([(chunk("c99", "b.md", "2026-05-01"), "tram")], [], generation=2)  # a new commit: read again
    assert index.sources == sorted([*names, "b.md"])


def test_a_failed_apply_changes_nothing(tmp_path: Path) -> None:
    index = LexicalIndex.open(tmp_path)
    index.apply([(chunk("a", "a.md"), "harbour cranes")], [], generation=1)

    def rows():  # noqa: ANN202
        yield chunk("b", "b.md"), "tram line"
        raise RuntimeError("reading Chroma failed")

    with pytest.raises(RuntimeError):
        index.apply(rows(), ["a"], generation=2)
    assert index.generation == 1 and index.ids == ["a"] and index.search("tram", 5) == []


def test_one_new_article_touches_only_its_rows(make_settings, embedder: Embedder) -> None:  # noqa: ANN001
    settings = make_settings()
    for name in ("harbour", "tram", "ferry"):
        write(settings.corpus_dir / f"{name}.md", article(name.title(), f"The {name} story. " * 60, "2026-05-01"))
    sync_corpus(settings, embedder=embedder)
    before = segment_docs(settings.index_dir)
    lexical = LexicalIndex.load(settings.index_dir)
    assert lexical is not None
    kept = lexical.snapshot()
    write(settings.corpus_dir / "museum.md", article("Museum", "The museum reopened its doors. " * 40, "2026-05-02"))
    (settings.corpus_dir / "ferry.md").unlink()
    sync_corpus(settings, embedder=embedder)
    after = segment_docs(settings.index_dir)
    # Not rebuilt: the first build's segment is still there (its ferry documents only marked deleted), and the
    # one new segment holds the museum's chunks and the generation document, nothing else.
    assert before.items() <= after.items()
    museum = {cid for cid, (source, _, _) in lexical.snapshot().items() if source == "museum.md"}
    assert list(after.keys() - before.keys()) and sum(after[s] for s in after.keys() - before.keys()) == len(museum) + 1
    assert "museum.md" in lexical.sources and "ferry.md" not in lexical.sources  # the open reader sees the commit
    now = lexical.snapshot()
    assert {c: v for c, v in kept.items() if v[0] != "ferry.md"} == {c: v for c, v in now.items() if c not in museum}


def test_index_of_an_earlier_version_is_migrated_without_embedding(make_settings, embedder: Embedder) -> None:  # noqa: ANN001
    settings = make_settings()
    write(settings.corpus_dir / "harbour.md", article("Harbour", "The harbour cranes were repaired. " * 20))
    write(settings.corpus_dir / "tram.md", article("Tram", "A tram line to the harbour. " * 20, "2026-05-01"))
    sync_corpus(settings, embedder=embedder)
    expected = LexicalIndex.load(settings.index_dir).snapshot()  # type: ignore[union-attr]
    # What the FTS5 version left: lexical.sqlite3 (and its write-ahead log), no lexical/ folder; and what the
    # bm25s version before it left: a bm25/ folder.
    shutil.rmtree(LexicalIndex.file(settings.index_dir))
    with sqlite3.connect(settings.index_dir / "lexical.sqlite3") as db:
        db.execute("CREATE TABLE chunks(rowid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE)")
    (settings.index_dir / "lexical.sqlite3-wal").write_bytes(b"")
    (settings.index_dir / "bm25").mkdir()
    (settings.index_dir / "bm25" / "chunks.json").write_text("{}", encoding="utf-8")
    report = sync_corpus(settings, embedder=embedder)
    assert report.chunks_embedded == 0
    assert sorted(p.name for p in settings.index_dir.iterdir() if "lexical" in p.name or "bm25" in p.name) == ["lexical"]
    migrated = LexicalIndex.load(settings.index_dir)
    assert migrated is not None and migrated.snapshot() == expected and len(migrated) == len(expected)
    found = {cid for cid, _ in migrated.search("tram", 5)}
    assert found and found <= {c for c, v in expected.items() if v[0] == "tram.md"}


def test_index_of_another_schema_version_is_refilled(make_settings, embedder: Embedder,  # noqa: ANN001
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    settings = make_settings()
    write(settings.corpus_dir / "harbour.md", article("Harbour", "The harbour cranes were repaired. " * 20))
    sync_corpus(settings, embedder=embedder)
    expected = LexicalIndex.load(settings.index_dir).snapshot()  # type: ignore[union-attr]
    monkeypatch.setattr(lexical_module, "SCHEMA_VERSION", lexical_module.SCHEMA_VERSION + 1)
    report = sync_corpus(settings, embedder=embedder)
    reopened = LexicalIndex.open(settings.index_dir)
    assert report.chunks_embedded == 0 and reopened.snapshot() == expected
    assert reopened._meta_field("schema") == lexical_module.SCHEMA_VERSION


def test_a_damaged_index_is_rebuilt_from_chroma(make_settings, embedder: Embedder) -> None:  # noqa: ANN001
    settings = make_settings()
    write(settings.corpus_dir / "harbour.md", article("Harbour", "The harbour cranes were repaired. " * 20))
    sync_corpus(settings, embedder=embedder)
    expected = LexicalIndex.load(settings.index_dir).snapshot()  # type: ignore[union-attr]
    (LexicalIndex.file(settings.index_dir) / "meta.json").write_text("{not json", encoding="utf-8")
    report = sync_corpus(settings, embedder=embedder)
    assert report.chunks_embedded == 0 and LexicalIndex.load(settings.index_dir).snapshot() == expected  # type: ignore[union-attr]


SLOW_APPLY = """
import sys, time
from pathlib import Path
from rag.lexical import LexicalIndex
from rag.types import Chunk
index = LexicalIndex.open(Path(sys.argv[1]))
def rows():
    for i in range(1_000_000):
        if i == 2000:
            print("inside", flush=True)
        if i >= 2000:
            time.sleep(0.001)
        yield Chunk(id=f"x{i}", source="x.md", text="", title="", start=0, end=0, ordinal=0, text_hash=""), "tram"
index.apply(rows(), [], generation=99)
"""


def test_kill_9_inside_a_lexical_transaction_leaves_it_as_before(make_settings, embedder: Embedder) -> None:  # noqa: ANN001
    """The lexical update is one transaction: a process killed in the middle of one leaves the index as it was,
    and the next sync finds it in step (same generation as the manifest)."""
    settings = make_settings()
    write(settings.corpus_dir / "harbour.md", article("Harbour", "The harbour cranes were repaired. " * 20))
    sync_corpus(settings, embedder=embedder)
    before = LexicalIndex.load(settings.index_dir)
    assert before is not None
    snapshot, generation = before.snapshot(), before.generation
    before.close()
    proc = subprocess.Popen([sys.executable, "-c", SLOW_APPLY, str(settings.index_dir)], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "inside"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    after = LexicalIndex.load(settings.index_dir)
    assert after is not None and after.snapshot() == snapshot and after.generation == generation
    report = sync_corpus(settings, embedder=embedder)
    assert report.chunks_embedded == 0 and LexicalIndex.load(settings.index_dir).snapshot() == snapshot  # type: ignore[union-attr]
