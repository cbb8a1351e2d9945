"""Refusal gates by where a question stands against the corpus's dates (rag/answer/gates.py)."""

from __future__ import annotations

import datetime as dt

from rag.answer.gates import CorpusDates, TimeStanding, retrieval_refusal, time_standing, window_is_empty
from rag.settings import Settings
from rag.timewindow import DateWindow
from rag.types import Chunk, Hit

SETTINGS = Settings()
DAY = dt.date(2023, 6, 9)


def chunk(text: str, date: str | None, title: str = "News") -> Chunk:
    return Chunk(id=f"{title}-{date}-{len(text)}", source=f"{title}-{date}.md", text=text, title=title, start=0,
                 end=len(text), ordinal=0, text_hash="x", date=date)


def hit(text: str, date: str | None, cosine: float = 0.7, in_window: bool | None = None) -> Hit:
    return Hit(chunk=chunk(text, date), score=1.0, dense_score=cosine, in_window=in_window)


CORPUS = CorpusDates(tuple(dt.date.fromisoformat(d) for d in ("2022-12-01", "2023-05-20", "2023-06-05")))


def test_corpus_dates_answer_newest_and_any_between() -> None:
    assert CORPUS.newest(dt.date(2023, 6, 1)) == dt.date(2023, 5, 20)
    assert CORPUS.newest(dt.date(2022, 1, 1)) is None
    assert CORPUS.any_between(dt.date(2023, 6, 1), dt.date(2023, 6, 9))
    assert not CORPUS.any_between(dt.date(2023, 1, 1), dt.date(2023, 5, 19))


def test_standing_current_past_the_corpus_or_in_it() -> None:
    assert time_standing([chunk("a", "2023-06-05")], DAY, CORPUS, SETTINGS).regime == "current"
    old = [chunk("a", "2022-12-01"), chunk("b", None)]
    assert time_standing(old, DAY, CORPUS, SETTINGS).regime == "in corpus"
    # Asked half a year after the corpus's newest article: by default a static archive, inside its dates...
    assert time_standing(old, dt.date(2024, 1, 5), CORPUS, SETTINGS).regime == "in corpus"
    # ...and for a live feed (RAG_CORPUS_GAP_DAYS set) news the corpus cannot hold yet.
    live = Settings(corpus_gap_days=14)
    late = time_standing(old, dt.date(2024, 1, 5), CORPUS, live)
    assert late.regime == "past corpus" and late.corpus_newest == dt.date(2023, 6, 5)
    assert time_standing(old, dt.date(2023, 6, 19), CORPUS, live).regime == "in corpus"
    assert time_standing(old, DAY, None, live).regime == "in corpus"


def test_the_sample_corpus_is_answered_alike_on_any_later_day() -> None:
    """The default gates must not depend on how long ago the corpus was last updated: asked a week or two years
    after its newest article, a question about an older article meets the same gates."""
    old = [chunk("a", "2023-05-20")]
    standings = {time_standing(old, dt.date(2023, 6, 5) + dt.timedelta(days=d), CORPUS, SETTINGS).regime
                 for d in (30, 90, 730)}
    assert standings == {"in corpus"}


def test_the_gates_are_lenient_for_current_news_and_strict_past_the_corpus() -> None:
    # The passage names 2 of the question's 5 terms (40 %): enough for current news, not otherwise.
    question = "Which storm flooded Varnholm's harbour slamming docks?"
    passages = [chunk("The storm flooded the old town.", "2023-06-05")]
    hits = [Hit(chunk=passages[0], score=1.0, dense_score=0.62)]
    current = TimeStanding("current", 4, None)
    in_corpus = TimeStanding("in corpus", 200, None)
    past = TimeStanding("past corpus", 300, dt.date(2023, 6, 5))
    assert retrieval_refusal(question, [], hits, passages, current, SETTINGS) is None
    assert "of the question's terms" in retrieval_refusal(question, [], hits, passages, in_corpus, SETTINGS)
    # Past the corpus a near miss must also be close in meaning: cosine 0.55 is not.
    full = [chunk("The storm slamming Varnholm flooded the harbour docks.", "2023-06-05")]
    near = [Hit(chunk=full[0], score=1.0, dense_score=0.55)]
    assert retrieval_refusal(question, [], near, full, in_corpus, SETTINGS) is None
    reason = retrieval_refusal(question, [], near, full, past, SETTINGS)
    assert reason is not None and "relevant enough" in reason and "2023-06-05" in reason


def test_the_window_refusal_is_only_said_when_the_corpus_has_nothing_from_the_window() -> None:
    week = DateWindow(dt.date(2023, 6, 2), DAY, "this week")
    old = [hit("old story", "2022-12-01", in_window=False)]
    # The corpus holds an article of 5 June: "no articles between 2 and 9 June" would be false.
    assert not window_is_empty(week, old, CORPUS, SETTINGS)
    empty_week = DateWindow(dt.date(2023, 3, 1), dt.date(2023, 3, 8), "in early March")
    assert window_is_empty(empty_week, old, CORPUS, SETTINGS)
    # A relevant undated article among the answer passages may be from that week: no claim about the window,
    # unless the window lies past the corpus's newest dated article (undated articles are from its span).
    assert not window_is_empty(empty_week, [*old, hit("undated", None, in_window=False)], CORPUS, SETTINGS)
    next_year = DateWindow(dt.date(2024, 5, 1), dt.date(2024, 5, 7), "this week")
    assert window_is_empty(next_year, [*old, hit("undated", None, in_window=False)], CORPUS, SETTINGS)
    assert window_is_empty(empty_week, [*old, hit("unrelated", None, cosine=0.05, in_window=False)], CORPUS,
                           SETTINGS)
    assert not window_is_empty(empty_week, [hit("in it", "2023-03-02", in_window=True)], CORPUS, SETTINGS)
