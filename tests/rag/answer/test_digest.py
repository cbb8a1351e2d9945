"""A question that asks only for the news of a period ("What happened this week?") is answered by a digest of the
window's stories, newest first, each dated and cited by a verified sentence of its own (rag/answer/digest.py)."""

from __future__ import annotations

import pytest

from rag.answer.digest import lede
from rag.answer.engine import Answer
from rag.answer.factory import make_engine
from rag.answer.text import headline_end
from rag.embedding import Embedder
from rag.settings import Settings
from rag.types import Chunk, SearchFilters
from rag.verify import LexicalChecker
from tests.helpers import WEEK, WEEK_AS_OF, FixedAnswerer


def streamed(engine, question: str, as_of: str) -> tuple[str, Answer]:  # noqa: ANN001
    pieces = list(engine.stream(question, filters=SearchFilters(as_of=as_of)))
    answer = pieces[-1]
    assert isinstance(answer, Answer)
    return "".join(p for p in pieces if isinstance(p, str)), answer


def test_this_week_is_a_dated_cited_digest_newest_first(week_index: Settings, embedder: Embedder) -> None:
    text, answer = streamed(make_engine(week_index, embedder=embedder), "What happened this week?", WEEK_AS_OF)
    assert not answer.refused, answer.refusal_reason
    assert text == answer.answer, "stream == final answer"
    assert [c.source for c in answer.citations] == ["serbia-exercise.md", "zoo-pandas.md", "library-hours.md",
                                                    "port-strike.md"]
    assert answer.answer.startswith("As of 30 November 2026: on 28 November, Serbian and American troops ended the "
                                    "Platinum Wolf joint exercise near Nis on Saturday after two weeks of drills [1]; "
                                    "on 27 November, two red panda cubs were born at the Varnholm zoo")
    assert "; on 25 November, the Varnholm city library" in answer.answer
    assert answer.answer.endswith("returned to work on Tuesday after accepting a 6.5 percent pay rise [4].")
    assert [s["citations"] for s in answer.sentences] == [[1], [2], [3], [4]]
    assert all(s["supported"] for s in answer.sentences)
    for sentence, citation in zip(answer.sentences, answer.citations, strict=True):
        start, end = citation.highlight
        assert citation.text[start:end].rstrip(".") in WEEK[citation.source][2], "a sentence of the story itself"
        assert citation.text[start:end].rstrip(".")[1:] in sentence["text"]


def test_the_last_few_days_lists_only_their_stories(week_index: Settings, embedder: Embedder) -> None:
    _, answer = streamed(make_engine(week_index, embedder=embedder),
                         "What were the main news stories in the last few days?", WEEK_AS_OF)
    assert not answer.refused
    assert [c.source for c in answer.citations] == ["serbia-exercise.md", "zoo-pandas.md"]
    assert "guide" not in answer.answer and "quiz" not in answer.answer


def test_a_language_model_is_bypassed_for_a_digest(week_index: Settings, embedder: Embedder) -> None:
    extractive = make_engine(week_index, embedder=embedder).ask("What happened this week?",
                                                                 filters=SearchFilters(as_of=WEEK_AS_OF))
    model = make_engine(week_index, embedder=embedder, answerer=FixedAnswerer("The bridge cost 120 million euros [1]."))
    _, answer = streamed(model, "What happened this week?", WEEK_AS_OF)
    assert answer.answer == extractive.answer and "bridge" not in answer.answer


@pytest.mark.parametrize(("question", "as_of", "dates"), [
    ("Any news from yesterday?", "2026-11-28", ["2026-11-27"]),  # not the story of the 28th (today)
    ("What happened last week?", "2026-11-26", ["2026-11-20"]),  # 16-22 November: not the 24th or the 25th
])
def test_a_digest_lists_only_the_window_asked_about(week_index: Settings, embedder: Embedder, question: str,
                                                    as_of: str, dates: list[str]) -> None:
    # Topical questions search past a window's end (its news is published later: DateWindow.news_about); a digest
    # of "yesterday" lists yesterday's stories.
    _, answer = streamed(make_engine(week_index, embedder=embedder), question, as_of)
    assert [c.date for c in answer.citations] == dates, answer.answer


def test_an_empty_window_is_refused_with_its_own_dates(week_index: Settings, embedder: Embedder) -> None:
    # Nothing was published on 26 November; the story of the 27th (today) is not yesterday's news.
    _, answer = streamed(make_engine(week_index, embedder=embedder), "Any news from yesterday?", "2026-11-27")
    assert answer.refused and not answer.citations
    assert answer.answer.endswith("(no articles on 26 November 2026)")
    assert answer.refusal_reason.startswith('No retrieved article was published on 26 November 2026 ("yesterday"), '
                                            "nor any"), answer.refusal_reason


@pytest.mark.parametrize("as_of", ["2026-12-20", "2026-11-10"])
def test_an_empty_window_is_still_refused_with_the_window_searched(week_index: Settings, embedder: Embedder,
                                                                   as_of: str) -> None:
    _, answer = streamed(make_engine(week_index, embedder=embedder), "What happened this week?", as_of)
    assert answer.refused
    assert answer.answer.endswith({"2026-12-20": "(no articles between 13 and 20 December 2026)",
                                   "2026-11-10": "(no articles between 3 and 10 November 2026)"}[as_of])


def test_the_chat_shows_the_digest_dated_with_each_marker_before_its_semicolon(week_index: Settings,
                                                                              embedder: Embedder) -> None:
    from rag.ui.render import answer_html

    answer = make_engine(week_index, embedder=embedder).ask("What were the main news stories in the last few days?",
                                                            filters=SearchFilters(as_of=WEEK_AS_OF))
    rendered = answer_html(answer)
    assert '<span class="dated">As of 30 November 2026: </span>' in rendered
    assert "two weeks of drills <a class=\"cite supported\"" in rendered and "&#91;1&#93;</a>;</span>" in rendered
    assert "quoted from source" not in rendered


@pytest.mark.parametrize(("text", "rest"), [
    # A plain-text article's first line, and a Markdown heading (review2 item 6: '# Warehouse blaze in Varn' was
    # listed as a story's sentence), are the headline; a sentence that only starts with its words is not.
    ("Dockworkers at Port Halvik end nine-day strike\nDockworkers returned to work on Tuesday.",
     "Dockworkers returned to work on Tuesday."),
    ("Dockworkers at Port Halvik end nine-day strike", ""),
    ("# Dockworkers at Port Halvik end nine-day strike", ""),
    ("## dockworkers at  Port Halvik end nine-day strike\n\nThey returned.", "They returned."),
    ("Dockworkers at Port Halvik end nine-day strike talks.", "Dockworkers at Port Halvik end nine-day strike talks."),
])
def test_a_headline_line_is_not_the_first_sentence(text: str, rest: str) -> None:
    assert text[headline_end(text, "Dockworkers at Port Halvik end nine-day strike") :] == rest


def test_a_markdown_heading_is_no_story_of_the_digest() -> None:
    text = "# Warehouse blaze in Varn\n\nA fire destroyed a furniture warehouse in Varn on Wednesday night."
    chunk = Chunk(id="fire.md#0", source="fire.md", text=text, title="Warehouse blaze in Varn", start=0,
                  end=len(text), ordinal=0, text_hash="", date="2026-11-26")
    verdict = lede(chunk, LexicalChecker())
    assert verdict is not None and verdict.text.startswith("A fire destroyed")
