"""As-of dates, date windows and story grouping in retrieval and answers, on a small real index."""

from __future__ import annotations

import pytest

from rag.answer.factory import make_engine
from rag.embedding import Embedder
from rag.retrieve import FilterError, HybridRetriever
from rag.sync import sync_corpus
from rag.types import SearchFilters
from tests.helpers import FLOODS, WEEK_AS_OF, WIRE, article, write


@pytest.fixture(scope="module")
def time_index(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder):
    from rag.settings import get_settings

    base = tmp_path_factory.mktemp("time")
    corpus = base / "corpus"
    for name, (title, date, text) in FLOODS.items():
        write(corpus / name, article(title, text, date))
    write(corpus / "wire-ap.md", article("Kessel miners win six percent raise, ending strike | AP", WIRE, "2023-05-09"))
    write(corpus / "wire-yahoo.md", article("Kessel miners win six percent raise, ending strike - Yahoo News",
                                            "By Yahoo staff.\n\n" + WIRE, "2023-05-09"))
    write(corpus / "wire-msn.md", article("Kessel miners win 6 percent raise, ending strike | MSN", WIRE.replace(
        "’", "'") + "\n\nRead more on MSN.", "2023-05-10"))
    write(corpus / "wire-updated.md", article("Kessel miners approve deal, ending strike | AP", WIRE.replace(
        "after the union members vote on the deal this weekend", "after union members approved the deal on "
        "Sunday by a wide margin") + " The first trains of copper left the port on Monday.", "2023-05-15"))
    write(corpus / "chess.md", article("Harbour chess open", "The harbour chess open was won by a teenager from "
                                       "Varnholm who beat three grandmasters in the final rounds.", "2023-05-08"))
    settings = get_settings(corpus_dir=corpus, index_dir=base / "index", llm_backend="extractive")
    sync_corpus(settings, embedder=embedder)
    return settings


@pytest.fixture(scope="module")
def retriever(time_index, embedder: Embedder) -> HybridRetriever:
    return HybridRetriever(time_index, embedder=embedder)


def sources(hits) -> list[str]:
    return [h.chunk.source for h in hits]


def test_no_article_after_the_as_of_date_is_retrieved(retriever: HybridRetriever) -> None:
    # Lexically and semantically the later flood article matches best; as of 10 May it does not exist yet.
    for query in ("Orrin flood 340 families", "How many families did the Orrin flood force from their homes?"):
        hits = retriever.search(query, k=10, filters=SearchFilters(as_of="2023/05/10"))
        found = sources(hits)
        assert "flood-2023-05-20.md" not in found
        assert all(h.chunk.date is None or h.chunk.date <= "2023-05-10" for h in hits)
        assert all(c["date"] is None or c["date"] <= "2023-05-10" for h in hits for c in h.also)
        assert "flood-undated.md" in found, "undated articles stay retrievable"
    later = retriever.search("Orrin flood 340 families", k=10, filters=SearchFilters(as_of="2023-05-21"))
    assert "flood-2023-05-20.md" in sources(later)


def test_as_of_before_every_article_leaves_only_undated_ones(retriever: HybridRetriever) -> None:
    hits = retriever.search("Orrin flood", k=10, filters=SearchFilters(as_of="2020-01-01"))
    assert sources(hits) == ["flood-undated.md"]


def test_a_bad_as_of_date_is_one_clear_error(retriever: HybridRetriever) -> None:
    with pytest.raises(FilterError, match="as-of date must be a date like 2023-05-11"):
        retriever.search("flood", filters=SearchFilters(as_of="10 May"))


def test_articles_inside_the_question_window_rank_first(retriever: HybridRetriever) -> None:
    as_of = SearchFilters(as_of="2023-05-21")
    hits = retriever.search("How many families did the Orrin flood force out this week?", k=5, filters=as_of)
    assert hits[0].chunk.source == "flood-2023-05-20.md" and hits[0].in_window is True
    assert {h.chunk.source for h in hits if h.in_window} == {"flood-2023-05-20.md", "wire-updated.md"}
    # The window promotes only articles about as relevant as the best one: the miners' deal, published in the
    # window too, no longer ranks above last month's flood reports (it came second before).
    rank = {h.chunk.source: h.rank for h in hits}
    assert rank["wire-updated.md"] > max(r for s, r in rank.items() if s.startswith("flood-"))
    last_year = retriever.search("How many families did the Orrin flood force out last year?", k=5, filters=as_of)
    assert last_year[0].chunk.source == "flood-2022-04-01.md"
    on_day = retriever.search("How many families did the Orrin flood force out on May 1?", k=5, filters=as_of)
    assert on_day[0].chunk.source == "flood-2023-05-02.md", "news of 1 May is published in the week after it"


def test_undated_articles_are_never_ranked_as_new(time_index, embedder: Embedder) -> None:
    import datetime as dt

    from rag.retrieve import recency

    assert recency(None, dt.date(2023, 5, 21), 7.0) == 0.0
    assert recency("2023-05-20", dt.date(2023, 5, 21), 7.0) > 0.9

    def rank_of_undated(weight: float) -> int:
        settings = time_index.model_copy(update={"recency_weight": weight, "story_grouping": False})
        hits = HybridRetriever(settings, embedder=embedder).search(
            "A history of Orrin floods and families", k=10, filters=SearchFilters(as_of="2023-05-21"))
        return next(h.rank for h in hits if h.chunk.source == "flood-undated.md")

    assert rank_of_undated(5.0) >= rank_of_undated(0.0), "a recency prior never lifts an undated article"


def test_copies_of_a_story_are_one_result_that_lists_the_others(retriever: HybridRetriever) -> None:
    hits = retriever.search("Kessel miners wage raise strike", k=5, filters=SearchFilters(as_of="2023-05-12"))
    wire = [h for h in hits if h.chunk.source.startswith("wire-")]
    assert len(wire) == 1, "syndicated copies are one story"
    also = {c["source"] for c in wire[0].also}
    assert {wire[0].chunk.source} | also == {"wire-ap.md", "wire-yahoo.md", "wire-msn.md"}
    assert wire[0].chunk.source == "wire-msn.md", "the newest copy not after the as-of date is shown"
    documents = {h.story: h.chunk.source for h in hits}
    assert all(documents[h.story] == h.chunk.source for h in hits), "one document per story"
    later = retriever.search("Kessel miners wage raise strike", k=5, filters=SearchFilters(as_of="2023-05-16"))
    shown = [h for h in later if h.chunk.source.startswith("wire-")]
    assert len(shown) == 1 and shown[0].chunk.source == "wire-updated.md", "the updated version is shown"
    assert {c["source"] for c in shown[0].also} == {"wire-ap.md", "wire-yahoo.md", "wire-msn.md"}


def test_grouping_can_be_turned_off(time_index, embedder: Embedder) -> None:
    settings = time_index.model_copy(update={"story_grouping": False})
    hits = HybridRetriever(settings, embedder=embedder).search(
        "Kessel miners wage raise strike", k=10, filters=SearchFilters(as_of="2023-05-12"))
    assert len({h.chunk.source for h in hits if h.chunk.source.startswith("wire-")}) == 3
    assert all(h.story is None and h.also == [] for h in hits)


def test_ask_never_cites_the_future_and_dates_its_answer(time_index, embedder: Embedder) -> None:
    engine = make_engine(time_index, embedder=embedder)
    answer = engine.ask("How many families did the Orrin flood force from their homes this week?",
                        filters=SearchFilters(as_of="2023-05-21"))
    assert not answer.refused
    assert answer.answer.startswith("As of 20 May 2023, ")
    assert {c.source for c in answer.citations} <= {"flood-2023-05-20.md", "wire-updated.md"}, "in-window only"
    assert "340" in answer.answer
    assert answer.as_of == "2023-05-21" and answer.window["since"] == "2023-05-14"
    early = engine.ask("How many families did the Orrin flood force from their homes?",
                       filters=SearchFilters(as_of="2023-05-10"))
    assert all(c.date is None or c.date <= "2023-05-10" for c in early.citations)
    assert all(h.chunk.date is None or h.chunk.date <= "2023-05-10" for h in early.retrieved)
    assert "340" not in early.answer and not early.answer.startswith("As of")


def test_an_empty_window_is_refused_with_the_window_searched(time_index, embedder: Embedder) -> None:
    engine = make_engine(time_index, embedder=embedder)
    answer = engine.ask("How many families did the Orrin flood force from their homes this week?",
                        filters=SearchFilters(as_of="2024-05-07"))
    assert answer.refused
    assert answer.answer.endswith("(no articles between 30 April and 7 May 2024)")
    assert "No retrieved article was published" in answer.refusal_reason


def test_the_newest_copy_is_shown_even_when_it_was_not_a_candidate(time_index, embedder: Embedder) -> None:
    # One candidate chunk per retriever: the updated version of the wire story is not among them, yet as of 16 May
    # it is the version shown, with the syndicated copies listed as "also in".
    settings = time_index.model_copy(update={"candidates_k": 1})
    hits = HybridRetriever(settings, embedder=embedder).search(
        "Kessel mining company six percent wage raise", k=5, filters=SearchFilters(as_of="2023-05-16"))
    assert sources(hits) == ["wire-updated.md"]
    assert {c["source"] for c in hits[0].also} == {"wire-ap.md", "wire-yahoo.md", "wire-msn.md"}
    assert hits[0].dense_score is not None and hits[0].chunk.text
    # Only a copy the search's own filters allow may stand in: not one after --until, nor outside --source.
    for filters in (SearchFilters(as_of="2023-05-16", until="2023-05-12"),
                    SearchFilters(as_of="2023-05-16", source_glob="wire-[amy]*")):
        shown = HybridRetriever(settings, embedder=embedder).search(
            "Kessel mining company six percent wage raise", k=5, filters=filters)
        assert shown and "wire-updated.md" not in sources(shown), filters
    before = HybridRetriever(settings, embedder=embedder).search(
        "Kessel mining company six percent wage raise", k=5, filters=SearchFilters(as_of="2023-05-12"))
    assert sources(before) and sources(before)[0] in {"wire-ap.md", "wire-yahoo.md", "wire-msn.md"}


@pytest.fixture(scope="module")
def long_article_index(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder):
    from rag.settings import get_settings

    base = tmp_path_factory.mktemp("long")
    corpus = base / "corpus"
    paragraphs = [f"Day {i} of the Orrin flood inquiry heard how the valley's families were forced from their homes "
                  f"and how the shelters in Varnholm filled within hours of the river breaking its banks. Witness {i} "
                  "described the boats, the pumps and the council's warnings about the Orrin flood." for i in range(12)]
    write(corpus / "inquiry.md", article("Orrin flood inquiry, day by day", "\n\n".join(paragraphs), "2023-05-19"))
    for name, (title, date, text) in FLOODS.items():
        write(corpus / name, article(title, text, date))
    settings = get_settings(corpus_dir=corpus, index_dir=base / "index", llm_backend="extractive")
    sync_corpus(settings, embedder=embedder)
    return settings


@pytest.mark.parametrize("grouping", [True, False])
def test_k_hits_are_k_distinct_documents(long_article_index, embedder: Embedder, grouping: bool) -> None:
    settings = long_article_index.model_copy(update={"story_grouping": grouping})
    hits = HybridRetriever(settings, embedder=embedder).search(
        "Orrin flood inquiry: what did the witnesses describe?", k=4, filters=SearchFilters(as_of="2023-05-21"))
    assert len(hits) == 4
    assert len(set(sources(hits))) == 4, "each of the k results is another document"
    assert [h.rank for h in hits] == [1, 2, 3, 4]
    inquiry = next(h for h in hits if h.chunk.source == "inquiry.md")
    assert inquiry.passages, "the article's next-best chunks travel with its hit, for the answer"
    assert all(p.source == "inquiry.md" and p.id != inquiry.chunk.id for p in inquiry.passages)
    assert len({p.id for p in inquiry.passages}) == len(inquiry.passages) <= 2
    # Every ranked candidate passage of the article travels too (the answerer ranks them), each with its cosine.
    others = [p.id for p in inquiry.document_passages]
    assert len(others) > len(inquiry.passages) and len(set(others)) == len(others)
    assert {p.id for p in inquiry.passages} <= set(others) and inquiry.chunk.id not in others
    assert all(p.source == "inquiry.md" for p in inquiry.document_passages)
    assert set(inquiry.cosines) == {inquiry.chunk.id, *others}
    assert inquiry.cosines[inquiry.chunk.id] == pytest.approx(inquiry.dense_score)


def test_the_lexical_query_drops_time_words_and_question_forms() -> None:
    import datetime as dt

    from rag.retrieve import lexical_query
    from rag.timewindow import resolve_window

    question = "True or false: the Orrin flooded this week?"
    words = lexical_query(question, resolve_window(question, dt.date(2023, 5, 21))).lower().split()
    assert "week" not in words and "true" not in words and "false" not in words
    assert "orrin" in words and "flooded" in words
    assert lexical_query("Which of the following won?", None).split() == ["won?"]
    assert "except" not in lexical_query("All these teams signed him except:", None)
    assert lexical_query("this week", resolve_window("this week", dt.date(2023, 5, 21))) == "this week", \
        "a question of time words only keeps them"


@pytest.mark.parametrize(("question", "as_of", "window_sources"), [
    ("What were the main news stories in the last few days?", WEEK_AS_OF, ["serbia-exercise.md", "zoo-pandas.md"]),
    ("What happened this week?", WEEK_AS_OF,
     ["serbia-exercise.md", "zoo-pandas.md", "library-hours.md", "port-strike.md"]),
    # Only the asked window, not the widened one topical questions use (DateWindow.news_about): as of 28 November
    # "yesterday" is 27 November, so the story of the 28th (today) is not first; "last week" as of 26 November is
    # 16-22 November, so the stories of the 24th and 25th do not come before the bridge of the 20th.
    ("Any news from yesterday?", "2026-11-28", ["zoo-pandas.md"]),
    ("What happened last week?", "2026-11-26", ["bridge-opening.md"]),
])
def test_a_time_only_question_ranks_the_window_first_newest_first(week_index, embedder: Embedder, question: str,
                                                                   as_of: str, window_sources: list[str]) -> None:
    # The undated "news guide" and "quiz" say "main news stories", "this week" and "last few days" word for word:
    # by similarity they come first, yet the question asks for the window's news, not for those words.
    hits = HybridRetriever(week_index, embedder=embedder).search(question, k=10, filters=SearchFilters(as_of=as_of))
    inside = len(window_sources)
    assert sources(hits)[:inside] == window_sources
    assert all(h.in_window for h in hits[:inside]) and not any(h.in_window for h in hits[inside:])
    assert [h.chunk.ordinal for h in hits[:inside]] == [0] * inside, "each story by its opening passage"


def test_a_topical_question_keeps_the_relevance_band(week_index, embedder: Embedder) -> None:
    # Time words with a topic: the window still promotes only articles about as relevant as the best one.
    hits = HybridRetriever(week_index, embedder=embedder).search(
        "How much did the Tessa bridge cost this month?", k=10, filters=SearchFilters(as_of=WEEK_AS_OF))
    assert hits[0].chunk.source == "bridge-opening.md"
