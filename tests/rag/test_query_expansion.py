"""Query expansion by pseudo-relevance feedback (RAG_FEEDBACK_*: rag/retrieve.py HybridRetriever._expanded), on a
small real index: the first stories' words reach articles that share none of the question's, the question vector
moves toward them, and the search's date filters hold for the expanded pass exactly as for the first."""

from __future__ import annotations

import pytest

from rag.embedding import Embedder
from rag.lexical import analyze
from rag.retrieve import HybridRetriever, feedback_terms
from rag.settings import Settings
from rag.sync import sync_corpus
from rag.types import SearchFilters
from tests.helpers import WIRE, article, write

QUESTION = "What did the Tarvel earthquake destroy?"
AS_OF = SearchFilters(as_of="2023-03-10")
ARTICLES = {
    "quake-1.md": ("Tarvel earthquake destroys Brennik bridge", "2023-03-01",
                   "A strong earthquake struck Tarvel province on Tuesday. The Tarvel earthquake destroyed the old "
                   "Brennik bridge and cracked the Solvay dam above the town, officials said."),
    "quake-2.md": ("Rescuers reach Brennik after Tarvel earthquake", "2023-03-02",
                   "Rescuers reached Brennik on Wednesday, a day after the Tarvel earthquake. With the Brennik bridge "
                   "gone, boats ferried families across, while engineers watched the Solvay dam."),
    # Shares no word with the question: only the first stories' words (Brennik, Solvay) reach it lexically.
    "dam.md": ("Engineers inspect Solvay dam", "2023-03-03",
               "Engineers inspected the Solvay dam near Brennik on Thursday and found the cracks stable. Repairs to "
               "the Brennik crossing will take months, the roads agency said."),
    # Made of the feedback's words, and published after the as-of date: it must never come back before it.
    "future.md": ("Brennik bridge rebuilt, Solvay dam repaired", "2023-03-20",
                  "Brennik celebrated its new bridge on Monday. The Solvay dam repairs are finished, and the Brennik "
                  "bridge and the Solvay road reopened to Brennik traffic."),
    # Close to the question's words and meaning, far from the first stories' subject.
    "drill.md": ("Schools hold earthquake drill", "2023-03-06",
                 "Pupils across the country practised what to do in an earthquake. Teachers explained how a strong "
                 "earthquake can destroy buildings and why pupils should shelter under their desks."),
    "miners.md": ("Kessel miners end strike", "2023-03-04", WIRE),
    "chess.md": ("Harbour chess open", "2023-03-05", "The harbour chess open was won by a teenager from Varnholm "
                 "who beat three grandmasters in the final rounds."),
}


@pytest.fixture(scope="module")
def quake_index(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Settings:
    from rag.settings import get_settings

    base = tmp_path_factory.mktemp("expansion")
    for name, (title, date, text) in ARTICLES.items():
        write(base / "corpus" / name, article(title, text, date))
    settings = get_settings(corpus_dir=base / "corpus", index_dir=base / "index", feedback_stories=2)
    sync_corpus(settings, embedder=embedder)
    return settings


def search(settings: Settings, embedder: Embedder, query: str = QUESTION, filters: SearchFilters = AS_OF,
           **feedback: object):
    retriever = HybridRetriever(settings.model_copy(update=feedback), embedder=embedder)
    return {h.chunk.source: h for h in retriever.search(query, k=10, filters=filters)}


def test_feedback_terms_weigh_the_stories_words_by_rarity_without_the_questions() -> None:
    stories = [["Brennik bridge fell. Brennik mourns the bridge."], ["The Brennik bridge and the town hall."]]
    question = set(analyze(QUESTION)) | {"bridg"}
    frequencies = {"brennik": 2, "town": 40, "hall": 60, "fell": 20, "mourn": 5}
    terms = feedback_terms(stories, question, frequencies, total=100, m=3)
    assert list(terms) == ["brennik", "mourn", "fell"]  # bridge: a question term; town/hall: common ones
    assert terms["brennik"] == 1.0 and 0 < terms["fell"] < terms["mourn"] < 1.0
    assert feedback_terms(stories, question, frequencies, total=100, m=0) == {}


def test_expansion_terms_reach_chunks_without_a_question_word_at_a_lower_weight(quake_index: Settings,
                                                                               embedder: Embedder) -> None:
    lexical = HybridRetriever(quake_index, embedder=embedder).lexical()
    assert lexical is not None
    source = {cid: row[0] for cid, row in lexical.snapshot().items()}
    plain = dict(lexical.search("Tarvel earthquake", 10))
    expanded = dict(lexical.search("Tarvel earthquake", 10, expansion={"solvay": 0.3}))
    dam = [cid for cid in expanded if source[cid] == "dam.md"]
    assert dam and not any(source[cid] == "dam.md" for cid in plain)
    question_only = [score for cid, score in expanded.items() if source[cid].startswith("quake-")]
    assert max(expanded[cid] for cid in dam) < min(question_only)


def test_lexical_feedback_finds_an_article_that_shares_only_the_first_stories_words(quake_index: Settings,
                                                                                  embedder: Embedder) -> None:
    plain = search(quake_index, embedder)
    expanded = search(quake_index, embedder, feedback_terms=40, feedback_weight=0.5)  # every word of theirs
    assert list(plain)[:2] == list(expanded)[:2] == ["quake-1.md", "quake-2.md"]
    assert plain["dam.md"].bm25_rank is None  # found by the dense retriever alone before
    assert expanded["dam.md"].bm25_rank is not None
    assert expanded["chess.md"].bm25_rank is None  # nothing of the first stories' words in it


def test_dense_feedback_moves_the_search_toward_the_first_stories_and_scores_stay_the_questions(
        quake_index: Settings, embedder: Embedder) -> None:
    plain = search(quake_index, embedder)
    moved = search(quake_index, embedder, feedback_beta=2.0)
    assert moved["dam.md"].dense_rank < plain["dam.md"].dense_rank  # like the quake reports, unlike the question
    for source, hit in moved.items():  # the relevance bands and the refusal gates read the question's cosine
        assert hit.dense_score == pytest.approx(plain[source].dense_score, abs=1e-6)


@pytest.mark.parametrize("feedback", [{"feedback_terms": 10}, {"feedback_beta": 1.0},
                                      {"feedback_terms": 20, "feedback_weight": 1.0, "feedback_beta": 2.0,
                                       "feedback_stories": 5}])
def test_no_article_after_the_as_of_date_comes_back_from_an_expanded_search(quake_index: Settings,
                                                                            embedder: Embedder, feedback) -> None:
    for query in (QUESTION, "Brennik bridge Solvay dam"):
        hits = search(quake_index, embedder, query, AS_OF, **feedback)
        assert "future.md" not in hits
        assert all(h.chunk.date <= "2023-03-10" for h in hits.values())
        assert all(c.date <= "2023-03-10" for h in hits.values() for c in (*h.passages, *h.document_passages))
        later = search(quake_index, embedder, query, SearchFilters(as_of="2023-03-25"), **feedback)
        assert "future.md" in later  # the same search finds it once it is published
    # since/until bound the expanded pass too, and a time window's words are not expansion terms.
    bounded = search(quake_index, embedder, filters=SearchFilters(as_of="2023-03-25", since="2023-03-02",
                                                                  until="2023-03-03"), **feedback)
    assert set(bounded) == {"quake-2.md", "dam.md"}
    week = search(quake_index, embedder, "What did the Tarvel earthquake destroy this week?",
                  SearchFilters(as_of="2023-03-04"), **feedback)
    assert "future.md" not in week and all(h.chunk.date <= "2023-03-04" for h in week.values())
