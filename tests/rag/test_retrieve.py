from __future__ import annotations

import json

import pytest

from rag.embedding import Embedder
from rag.retrieve import FilterError, HybridRetriever, date_range, parse_date, reciprocal_rank_fusion
from rag.sync import sync_corpus
from rag.types import SearchFilters
from tests.helpers import SAMPLE_QUESTIONS, article, write


def answerable_questions() -> list[dict]:
    rows = [json.loads(line) for line in SAMPLE_QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]
    # Follow-ups need their history to be meaningful; retrieval of those is tested through the answer chain.
    return [r for r in rows if r.get("answerable", True) and r.get("gold_sources") and not r.get("history")]


@pytest.fixture(scope="module")
def retriever(sample_index, embedder: Embedder) -> HybridRetriever:
    return HybridRetriever(sample_index, embedder=embedder)


def test_fixture_set_is_big_enough() -> None:
    rows = answerable_questions()
    assert len(rows) >= 20
    assert len({r["gold_sources"][0] for r in rows}) >= 10


def test_right_article_ranks_first_for_every_fixture_question(retriever: HybridRetriever) -> None:
    misses = []
    for row in answerable_questions():
        hits = retriever.search(row["question"], k=5, filters=SearchFilters(as_of=row.get("asked_on")))
        if not hits or hits[0].chunk.source not in row["gold_sources"]:
            misses.append((row["id"], row["question"], [h.chunk.source for h in hits[:3]]))
    assert not misses, f"{len(misses)} questions missed rank 1: {misses}"


def test_hits_carry_ranks_scores_and_metadata(retriever: HybridRetriever) -> None:
    hits = retriever.search("Platinum Wolf exercise with NATO members", k=3)
    assert [h.rank for h in hits] == [1, 2, 3]
    assert hits[0].score >= hits[1].score >= hits[2].score
    top = hits[0]
    assert top.chunk.source == "serbia-nato-russia-platinum-wolf.md"
    assert top.chunk.title.startswith("Peskov")
    assert top.dense_rank is not None and top.bm25_rank is not None and 0 < top.dense_score <= 1


def test_source_glob_filter(retriever: HybridRetriever) -> None:
    html = [s for s in retriever.sources() if s.endswith(".html")]
    assert html, "the sample corpus has HTML articles"
    hits = retriever.search("Platinum Wolf exercise", k=5, filters=SearchFilters(source_glob="*.html"))
    assert hits and all(h.chunk.source.endswith(".html") for h in hits)
    assert retriever.search("anything", filters=SearchFilters(source_glob="no-such-*")) == []


def test_date_filters(make_settings, embedder: Embedder) -> None:
    settings = make_settings()
    write(settings.corpus_dir / "old.md", article("Harbour cranes", "The harbour bought new cranes.", "2025-01-10"))
    write(settings.corpus_dir / "new.md", article("Harbour cranes again", "The harbour sold its cranes.", "2026-02-01"))
    write(settings.corpus_dir / "undated.txt", "Cranes\n\nThe harbour cranes were painted.")
    sync_corpus(settings, embedder=embedder)
    retriever = HybridRetriever(settings, embedder=embedder)
    def sources(**kw: str) -> set[str]:
        return {h.chunk.source for h in retriever.search("harbour cranes", k=5, filters=SearchFilters(**kw))}
    assert sources() == {"old.md", "new.md", "undated.txt"}
    assert sources(since="2026-01-01") == {"new.md"}
    assert sources(until="2025-12-31") == {"old.md"}
    assert sources(since="2025-01-10", until="2025-01-10") == {"old.md"}
    assert sources(since="2027") == set()


def test_bad_dates_are_rejected_clearly() -> None:
    assert parse_date("2026-06", "--since") == 20260601
    with pytest.raises(FilterError, match="--since must be a date"):
        parse_date("last week", "--since")


def test_a_since_later_than_the_until_is_its_own_error() -> None:
    assert date_range(SearchFilters(since="2025-01", until="2025-03-31")) == (20250101, 20250331)
    with pytest.raises(FilterError, match=r"^--since \(2025-05-01\) is later than --until \(2025-01-01\): no article"):
        date_range(SearchFilters(since="2025-05-01", until="2025-01-01"))
    with pytest.raises(FilterError, match=r"^Since must be a date like 2026-06-30, got 'soon'$"):
        date_range(SearchFilters(since="soon"), ("Since", "Until"))


def test_reciprocal_rank_fusion_rewards_agreement() -> None:
    scores = reciprocal_rank_fusion([["a", "b", "c"], ["b", "a", "d"]], k=60)
    assert scores["a"] == scores["b"] > scores["c"] == scores["d"]
    assert scores["a"] == pytest.approx(1 / 61 + 1 / 62)


def test_empty_query_and_empty_index(make_settings, embedder: Embedder) -> None:
    settings = make_settings()
    sync_corpus(settings, embedder=embedder)
    retriever = HybridRetriever(settings, embedder=embedder)
    assert retriever.search("   ") == []
    assert retriever.search("anything at all") == []
