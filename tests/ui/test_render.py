"""The sources panel's HTML (rag/ui/render.py) for constructed answers: one card per cited article, its file
name once, each distinct passage once with every cited sentence marked, no headline repeated as the passage's
first line. The browser look of the same is in tests/ui/test_sources_browser.py."""

from __future__ import annotations

import re

import pytest

from rag.answer.engine import Answer, Citation
from rag.ui.render import answer_html, plain_reason, sources_html

TXT = ("Nexaline to cut 1,400 jobs\n\nThe company Nexaline will cut 1,400 jobs. Sales fell again. "
       "Most cuts fall on the hardware division.")
FIRST, SECOND = "The company Nexaline will cut 1,400 jobs.", "Most cuts fall on the hardware division."


def span(text: str, sentence: str) -> tuple[int, int]:
    start = text.index(sentence)
    return start, start + len(sentence)


def citation(n: int, text: str = TXT, source: str = "nexaline.txt", *spans: tuple[int, int]) -> Citation:
    return Citation(n=n, source=source, title="Nexaline to cut 1,400 jobs", date="2025-10-14", url=None,
                    chunk_id=f"c{n}", text=text, supported=True, support=1.0,
                    highlight=spans[0] if spans else None, highlights=tuple(spans))


def answer(citations: list[Citation], sentences: list[tuple[str, list[int]]]) -> Answer:
    return Answer(question="q", standalone_question="q", answer=" ".join(s for s, _ in sentences), refused=False,
                  support=1.0, citations=citations, retrieved=[],
                  sentences=[{"text": s, "citations": ns, "supported": True, "support": 1.0, "origin": "model"}
                             for s, ns in sentences])


def cards(html: str) -> list[str]:
    return re.findall(r'<div class="source".*?<ul class="claims">.*?</ul>(?:<div class="passage">.*?</div>)+', html)


def test_one_article_cited_twice_is_one_card_listing_both_numbers_and_its_passage_once() -> None:
    html = sources_html(answer([citation(1, TXT, "nexaline.txt", span(TXT, FIRST)),
                                citation(2, TXT, "nexaline.txt", span(TXT, SECOND))],
                               [(FIRST, [1]), (SECOND, [2])]))
    [card] = cards(html)
    assert "&#91;1&#93; &#91;2&#93;" in card and 'id="cite-1"' in card and 'id="cite-2"' in card
    assert card.count("nexaline.txt") == 1, "the file name is shown once"
    assert card.count('<div class="passage">') == 1 and card.count("Sales fell again") == 1
    assert re.findall(r"<mark>(.*?)</mark>", card) == [FIRST, SECOND], "every cited sentence is marked"


def test_two_passages_of_one_article_are_shown_each_once_in_its_card() -> None:
    other = "Later in the article. The factory in Aldora City will close by March."
    html = sources_html(answer([citation(1, TXT, "nexaline.txt", span(TXT, FIRST)),
                                citation(2, other, "nexaline.txt", span(other, "The factory in Aldora City will "
                                                                                "close by March."))],
                               [(FIRST, [1]), ("The factory in Aldora City will close by March.", [2])]))
    [card] = cards(html)
    assert card.count('<div class="passage">') == 2 and card.count("nexaline.txt") == 1
    assert len(re.findall(r"<mark>", card)) == 2


def test_two_sentences_citing_one_passage_are_both_marked() -> None:
    html = sources_html(answer([citation(1, TXT, "nexaline.txt", span(TXT, FIRST), span(TXT, SECOND))],
                               [(FIRST, [1]), (SECOND, [1])]))
    assert re.findall(r"<mark>(.*?)</mark>", html) == [FIRST, SECOND]


def test_a_passage_that_opens_with_the_headline_does_not_repeat_it() -> None:
    html = sources_html(answer([citation(1, TXT, "nexaline.txt", span(TXT, FIRST))], [(FIRST, [1])]))
    [card] = cards(html)
    assert card.count("Nexaline to cut 1,400 jobs") == 1  # in the card's head only
    passage = re.search(r'<div class="passage">(.*?)</div>', card).group(1)  # type: ignore[union-attr]
    assert passage.startswith(f"<mark>{FIRST}</mark>")


def test_a_card_with_a_link_names_its_outlet_and_file() -> None:
    cited = citation(1, TXT, "nexaline.txt", span(TXT, FIRST))
    cited.url = "https://www.example.com/nexaline"
    [card] = cards(sources_html(answer([cited], [(FIRST, [1])])))
    assert '<span class="outlet">example.com</span>' in card and card.count("nexaline.txt") == 1


def test_the_refusal_sign_is_drawn_not_an_emoji() -> None:
    refused = Answer(question="q", standalone_question="q", answer="I couldn't find that in the corpus.",
                     refused=True, support=0.0, citations=[], retrieved=[], refusal_reason="no passage")
    html = answer_html(refused)
    assert '<span class="no-entry"' in html and "🚫" not in html


@pytest.mark.parametrize(("reason", "shown", "details"), [
    ("no passage relevant enough (best cosine 0.06 < 0.10)", "No passage is close enough to the question.",
     "best cosine 0.06 < 0.10"),
    # As an Answer holds it: a sentence (engine.as_sentence).
    ("No passage relevant enough (best cosine 0.06 < 0.10).", "No passage is close enough to the question.",
     "best cosine 0.06 < 0.10"),
    ("the passages mention only 0% of the question's terms (< 25%)",
     "The closest passages mention only 0% of the question's words (at least 25% are needed).", ""),
    ("the passages look like a near miss (terms 50%, in the first 40%, best cosine 0.31: log-odds 0.20 > 0.00)",
     "The closest passages are about something near the question but do not answer it.",
     "terms 50%, in the first 40%, best cosine 0.31: log-odds 0.20 > 0.00"),
    ("the passages do not mention 'tessa' from the question", "The passages do not mention 'tessa' from the question.",
     ""),
    ("nothing in the corpus matches the question", "Nothing in the corpus matches the question.", ""),
    ("no retrieved article was published between 1 and 7 May 2024 (\"this week\" and the days after it, when news "
     "about it appears), nor any in the corpus", "No retrieved article was published between 1 and 7 May 2024 "
     "(\"this week\" and the days after it, when news about it appears), nor any in the corpus.", ""),
])
def test_a_refusal_reason_reads_as_a_sentence_with_its_numbers_apart(reason: str, shown: str, details: str) -> None:
    assert plain_reason(reason) == (shown, details)
    refused = Answer(question="q", standalone_question="q", answer="I couldn't find that in the corpus.",
                     refused=True, support=0.0, citations=[], retrieved=[], refusal_reason=reason)
    panel = sources_html(refused)
    assert "<b>Not found in the corpus.</b> <small>" + shown.replace("'", "&#x27;").replace('"', "&quot;") in panel
    assert ("<summary>details</summary>" in panel) == bool(details)


@pytest.mark.parametrize(("count", "summary"), [
    (1, "⚠ 1 sentence the model wrote was not supported by the passages and is not part of the answer"),
    (2, "⚠ 2 sentences the model wrote were not supported by the passages and are not part of the answer"),
])
def test_the_rejected_sentences_line_counts_in_words(count: int, summary: str) -> None:
    refused = Answer(question="q", standalone_question="q", answer="I couldn't find that in the corpus.",
                     refused=True, support=0.0, citations=[], retrieved=[], refusal_reason="no passage",
                     rejected=[{"text": f"Claim {i}.", "support": 0.1, "cited": []} for i in range(count)])
    assert f"<summary>{summary}</summary>" in answer_html(refused)


# A quotation in the chat bubble (walk-s10 item 5).
QUOTE = "Dockworkers at Port Halvik end nine-day strike."


def quoted(answer_text: str) -> Answer:
    return Answer(question="What happened this week?", standalone_question="What happened this week?",
                  answer=answer_text, refused=False, support=1.0, citations=[], retrieved=[], as_of="2026-11-25",
                  sentences=[{"text": QUOTE, "citations": [1], "supported": True, "support": 1.0, "origin": "quote"}])


def test_a_quotation_keeps_its_citation_after_the_closing_quote_mark() -> None:
    html = answer_html(quoted(f"{QUOTE[:-1]} [1]."))
    assert "nine-day strike.”" in html and "strike [" not in html
    assert html.index("”") < html.index("&#91;1&#93;")


def test_a_dated_quotation_names_the_sources_date_in_its_label_not_as_of() -> None:
    """Not "As of 24 November 2026, quoted from source: …" (glued, and not the user's As-of date, 25 November)."""
    html = answer_html(quoted(f"As of 24 November 2026, {QUOTE[:-1]} [1]."))
    assert "quoted from the source of 24 November 2026:" in html
    assert "As of 24 November 2026" not in html


def test_a_note_without_citation_is_shown_as_a_note_not_as_verified() -> None:
    """review2 item 2: "The sources do not say …" is the answerer's note, checked by nothing: not styled supported."""
    note = "The sources do not give the number asked for."
    shown = Answer(question="q", standalone_question="q", answer=f"{note} {FIRST[:-1]} [1].", refused=False,
                   support=1.0, citations=[citation(1)], retrieved=[],
                   sentences=[{"text": note, "citations": [], "supported": None, "support": None, "origin": "note"},
                              {"text": FIRST, "citations": [1], "supported": True, "support": 1.0, "origin": "model"}])
    html = answer_html(shown)
    assert f'<span class="sentence note" data-verdict="note">{note}</span>' in html
    assert html.count('class="sentence supported"') == 1


def test_a_sentence_ending_in_a_quotation_has_its_citation_after_the_quote_mark() -> None:
    html = answer_html(answer([citation(1)], [("He said: “We will fight for their power.”", [1])]))
    assert "their power.”" in html and html.index("”") < html.index("&#91;1&#93;")
