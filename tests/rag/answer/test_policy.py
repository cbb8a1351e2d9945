"""Answer policy "verified or not shown" (rag/answer/policy.py) on constructed model outputs.

The generator is a fake that streams a fixed text word by word (the subject is the policy, not the model);
the retriever, Chroma, the embedding model and the citation checker are the real ones.
"""

from __future__ import annotations

import io
import json
import re

import pytest

from rag.answer.engine import Answer, AnswerEngine
from rag.answer.factory import make_engine
from rag.answer.policy import SentenceStream, anchor_misses, missing_anchors
from rag.cli.ask import print_sources, stream_answer
from rag.embedding import Embedder
from rag.settings import Settings
from rag.types import SearchFilters
from rag.ui.render import answer_html, sources_html
from tests.helpers import FixedAnswerer

QUESTION = "What was the military exercise in Serbia called, and who took part?"
# What the 0.5B model wrote for this question (issue 12): wrong, and rejected by the check.
WRONG = ('The military exercise in Serbia was called "joint exercises with North Atlantic Alliance forces in the '
         'near term."')


def engine_for(settings: Settings, embedder: Embedder, text: str, **overrides: object) -> AnswerEngine:
    return make_engine(settings.model_copy(update={"llm_backend": "local", **overrides}), embedder=embedder,
                       answerer=FixedAnswerer(text))


def run(engine: AnswerEngine, question: str = QUESTION, as_of: str | None = None) -> tuple[str, Answer]:
    events = list(engine.stream(question, filters=SearchFilters(as_of=as_of) if as_of else None))
    answer = events[-1]
    assert isinstance(answer, Answer)
    return "".join(e for e in events[:-1] if isinstance(e, str)), answer


def answer_part(html: str) -> str:
    """The answer bubble without the separately listed rejected sentences."""
    return html.split('<details class="rejected">')[0]


@pytest.mark.parametrize("repair", ["quote", "quote-always", "drop"])
def test_a_rejected_sentence_is_never_part_of_the_answer(sample_index: Settings, embedder: Embedder,
                                                          repair: str) -> None:
    text = f"{WRONG} [1] Platinum Wolf was held on Serbian soil with several NATO member states [1]."
    engine = engine_for(sample_index, embedder, text, answer_repair=repair)
    streamed, answer = run(engine)
    bad = "joint exercises with North Atlantic Alliance forces"
    assert [r["text"] for r in answer.rejected] == [WRONG.replace(" [1]", "")]
    assert answer.rejected[0]["cited"] == ["serbia-nato-russia-platinum-wolf.md"]
    # Not in the stream, the answer, --json, the API's dict, the chat bubble or the CLI's answer.
    assert bad not in streamed and bad not in answer.answer
    assert bad not in json.dumps(answer.to_dict()["answer"]) and bad not in json.dumps(answer.to_dict()["sentences"])
    html = answer_html(answer)
    assert bad not in answer_part(html) and bad in html  # shown apart, struck through and labelled
    assert "not part of the answer" in html
    out = io.StringIO()
    stream_answer(iter([*([streamed] if streamed else []), answer]), out)
    cli_answer = out.getvalue()
    assert bad not in cli_answer
    sources = io.StringIO()
    print_sources(answer, sources)
    assert "Not part of the answer" in sources.getvalue() and bad in sources.getvalue()
    # The supported sentence is the answer, leads it, and cites the article.
    assert not answer.refused and answer.answer.startswith("Platinum Wolf was held on Serbian soil")
    assert answer.citations[0].source == "serbia-nato-russia-platinum-wolf.md"
    assert all(s["supported"] for s in answer.sentences) and answer.support == 1.0
    assert streamed == answer.answer


def test_when_nothing_survives_a_verified_quotation_stands_in(sample_index: Settings, embedder: Embedder) -> None:
    streamed, answer = run(engine_for(sample_index, embedder, f"{WRONG} [1]", answer_repair="quote"))
    assert not answer.refused and answer.rejected
    assert answer.sentences and all(s["origin"] == "quote" and s["supported"] for s in answer.sentences)
    assert "Platinum Wolf" in answer.answer and "[1]" in answer.answer and streamed == answer.answer
    assert "quoted from source" in answer_html(answer)
    # The same model output under "drop": refused, the rejected sentence still listed apart.
    _, dropped = run(engine_for(sample_index, embedder, f"{WRONG} [1]", answer_repair="drop"))
    assert dropped.refused and dropped.rejected and "joint exercises" not in dropped.answer
    assert dropped.refusal_reason == "No answer sentence is supported by the passages it cites."


def test_the_models_own_cannot_find_gives_way_to_a_verified_quotation(sample_index: Settings,
                                                                     embedder: Embedder) -> None:
    # The gates found passages that cover the question; a small model's "cannot find" is often wrong there
    # (sample set: 2 of 2 such refusals were of answerable questions), so the best evidence sentence stands in.
    cannot = "The passages do not mention the exercise."
    _, answer = run(engine_for(sample_index, embedder, cannot, answer_repair="quote-always"))
    assert not answer.refused and "Platinum Wolf" in answer.answer
    assert answer.sentences and all(s["origin"] == "quote" for s in answer.sentences)
    assert cannot not in answer.answer
    _, dropped = run(engine_for(sample_index, embedder, cannot, answer_repair="drop"))
    assert dropped.refused and dropped.refusal_reason == "The model found no answer in the passages."


def test_answer_and_sources_panel_give_one_verdict_per_sentence(sample_index: Settings, embedder: Embedder) -> None:
    text = (f"{WRONG} [1] The exercise was named Platinum Wolf [1][2]. It ran over a two-week period from mid to "
            "late June [1].")
    _, answer = run(engine_for(sample_index, embedder, text))
    bubble, panel = answer_part(answer_html(answer)), sources_html(answer)
    bubble_verdicts = re.findall(r'<span class="sentence (\w+)" data-verdict="(\w+)"', bubble)
    assert bubble_verdicts and all(a == b == "supported" for a, b in bubble_verdicts)
    panel_verdicts = re.findall(r'<li class="claim (\w+)" data-verdict="(\w+)">', panel)
    assert panel_verdicts and set(panel_verdicts) == {("supported", "supported")}
    assert 'badge no' not in panel and all(c.supported for c in answer.citations)
    # Every shown sentence has its verdict in the panel, under each source it cites.
    for s in answer.sentences:
        for n in s["citations"]:
            card = panel.split(f'id="cite-{n}"')[1].split('<div class="source"')[0]
            assert s["text"].replace("'", "&#x27;").replace('"', "&quot;")[:30] in card
    # A citation the sentence does not rest on is dropped (ALCE's irrelevant citation).
    named = next(s for s in answer.sentences if "Platinum Wolf" in s["text"])
    assert len(named["citations"]) == 1
    # The rejected sentence appears in the panel too, with the same verdict: not supported.
    assert "joint exercises with North Atlantic Alliance forces" in panel.split("rejected-claims")[1]


def test_sentences_are_released_only_when_complete() -> None:
    splitter = SentenceStream()
    out = []
    for piece in ["The exer", "cise ran two weeks [1]", ". It was ", "called Platinum", " Wolf [2]."]:
        out += splitter.feed(piece)
    assert out == ["The exercise ran two weeks [1]."]
    assert splitter.close() == ["It was called Platinum Wolf [2]."]


def test_an_answer_resting_on_passages_without_the_questions_name_is_refused(
        sample_index: Settings, embedder: Embedder) -> None:
    """The check after generation of RAG_REFUSAL_DECISION=thresholds (the combined decision weighs the anchors
    before generation: tests/rag/answer/test_gates.py)."""
    supported = "Platinum Wolf ran over a two-week period from mid to late June."  # cited by the check
    # (A year would be refused earlier, by the date window of "in 2019"; a name is this check's.)
    engine = engine_for(sample_index, embedder, supported, refusal_decision="thresholds")
    _, answer = run(engine, "How long did Platinum Wolf last in Hungary?")
    assert answer.refused and "'hungary'" in (answer.refusal_reason or "")
    assert answer.rejected and "Platinum Wolf" not in answer.answer
    _, kept = run(engine, "How long did Platinum Wolf last?")
    assert not kept.refused and kept.answer.startswith("Platinum Wolf ran over a two-week period")


def test_missing_anchors_are_numbers_and_names_the_texts_do_not_name() -> None:
    texts = ["Serbian troops trained with 1,200 NATO soldiers in June."]
    assert missing_anchors("How many NATO soldiers trained in Serbia in June?", texts) == []
    assert missing_anchors("Did 1200 soldiers train with Hungary in 2024?", texts) == ["2024", "hungary"]
    assert missing_anchors("Did Hungary's army train in Serbia?", texts) == ["hungary"]


def test_anchors_leave_out_time_words_quiz_framing_initials_and_spelled_out_acronyms() -> None:
    # Days and months are the question's date window (rag/answer/gates.py), not a fact the passage must repeat;
    # on news23-small they refused answerable questions ("Sunday", "August") and no unanswerable one.
    texts = ["Major League Baseball said the U.S. team won 3-1 at the stadium on 12 March."]
    assert missing_anchors("Which MLB team won on Sunday in August?", texts) == []
    assert missing_anchors("True or false: the MLB team won.", texts) == []
    assert missing_anchors("Around noon the team won. Which NBA team lost?", texts) == ["nba"]
    assert missing_anchors("Did the U.K. team win?", texts) == []  # "U.K." is not the anchor "k"
    assert missing_anchors("Which MLB team beat the NFL team?", texts) == ["nfl"]
    # Names of a quiz's scene-setting preamble are context; its numbers (an edition, a year) still count.
    tribute = ["Perry starred in Friends, one of the biggest shows."]
    assert missing_anchors("Fans and Hollywood stars paid tribute. Which sitcom starred Perry?", tribute) == []
    emmys = ["Succession led the nominations for the 75th Emmy Awards."]
    assert missing_anchors("Nominees for the 76th Emmy Awards were named. Which show led?", emmys) == ["76"]


def test_anchors_may_be_named_by_any_passage_the_answer_was_drawn_from(make_settings, embedder: Embedder) -> None:  # noqa: ANN001
    # The sentence holding the answer need not repeat the question's context ("Northeast"): another passage the
    # answer was drawn from naming it is enough; a name no passage has still refuses.
    from rag.sync import sync_corpus
    from tests.helpers import article, write

    # The check after generation of RAG_REFUSAL_DECISION=thresholds (current news under the combined decision
    # is refused for a missed number, not a missed name: tests/rag/answer/test_gates.py).
    settings = make_settings(llm_backend="local", refusal_decision="thresholds")
    write(settings.corpus_dir / "vermont.md", article(
        "Vermont flooding", "Vermont received the most rain, about nine inches in two days. Rivers rose fast.",
        "2023-07-12"))
    write(settings.corpus_dir / "alerts.md", article(
        "Flood alerts", "Millions of Americans were under flood alerts across the Northeast on Monday.", "2023-07-11"))
    sync_corpus(settings, embedder=embedder)
    text = "Vermont received the most rain, about nine inches in two days [1]."
    question = "Millions were under flood alerts. Which state of the Northeast received the most rain?"
    _, answer = run(engine_for(settings, embedder, text), question, as_of="2023-07-14")
    assert not answer.refused and answer.answer.startswith("Vermont received the most rain")
    _, missed = run(engine_for(settings, embedder, text), question.replace("Northeast", "Midwest"), as_of="2023-07-14")
    assert missed.refused and "'midwest'" in (missed.refusal_reason or "")


def test_a_stutter_is_not_a_sentence(sample_index: Settings, embedder: Embedder) -> None:
    # The 0.5B model wrote "CNN CNN CNN [1]" on news23: every word is in the passage, yet it claims nothing.
    text = "Platinum Platinum Platinum [1]. Platinum Wolf ran over a two-week period from mid to late June [1]."
    streamed, answer = run(engine_for(sample_index, embedder, text), "How long did Platinum Wolf last?")
    assert not answer.refused and answer.answer.startswith("Platinum Wolf ran over a two-week period")
    assert "Platinum Platinum" not in streamed and not answer.rejected


def test_the_quotation_adds_to_what_the_title_already_says(sample_index: Settings, embedder: Embedder) -> None:
    # What the 0.5B model wrote for s25: supported, but not the cause asked for. The quotation beside it is ranked
    # by the question's terms its article's title does not already name (as evidence selection ranks): the cause.
    text = ("The wildfire near Solvik was caused by strong winds spread through pine forests in the hills north of "
            "the town [1].")
    _, answer = run(engine_for(sample_index, embedder, text), "What might have caused the wildfire near Solvik?")
    assert not answer.refused and answer.answer.startswith("The wildfire near Solvik was caused by strong winds")
    quotes = [s["text"] for s in answer.sentences if s["origin"] == "quote"]
    assert quotes and "disposable barbecue" in quotes[0]


def test_anchor_misses_tell_numbers_from_names() -> None:
    texts = ["1,200 soldiers from Serbia trained with NATO forces in June."]
    misses = anchor_misses("Did 1200 soldiers train with Hungary and Serbia in 2024?", texts)
    assert misses.numbers == ["2024"] and misses.names == ["hungary"] and misses.asked_names == 2
    assert misses.editions == ["2024"]  # a year says which event
    edition = anchor_misses("Did the 3rd exercise with 40 soldiers take place?", texts)
    assert edition.numbers == ["3", "40"] and edition.editions == ["3"]  # "40 soldiers" is a count
    assert missing_anchors("Did 1200 soldiers train with Hungary and Serbia in 2024?", texts) == ["2024", "hungary"]


SOLDIERS = "How many soldiers took part in Platinum Wolf?"


def test_an_answer_lacking_the_asked_number_says_so_before_what_the_sources_say(sample_index: Settings,
                                                                               embedder: Embedder) -> None:
    """walk-s10 item 1: the model's "cannot find" gave way to a quotation with no number and no "not stated"."""
    streamed, answer = run(engine_for(sample_index, embedder, "I couldn't find that in the corpus.",
                                      answer_repair="quote-always"), SOLDIERS)
    assert streamed == answer.answer and not answer.refused
    assert answer.answer.startswith("The sources do not say how many soldiers took part in Platinum Wolf. ")
    assert answer.sentences[0]["origin"] == "note" and answer.sentences[0]["citations"] == []
    # Checked by nothing: neither verified nor counted (review2 item 2).
    assert answer.sentences[0]["supported"] is None and answer.sentences[0]["support"] is None
    assert answer.support == 1.0
    assert len(answer.sentences) > 1 and "[1]" in answer.answer
    assert {c.source for c in answer.citations} == {"serbia-nato-russia-platinum-wolf.md"}


def test_a_sentence_from_an_article_on_another_subject_is_not_shown(sample_index: Settings,
                                                                   embedder: Embedder) -> None:
    """The mine's "1,800 workers" holds a number but is not about Platinum Wolf."""
    settings = sample_index.model_copy(update={"llm_backend": "extractive"})
    answer = make_engine(settings, embedder=embedder).ask(SOLDIERS)
    assert "1,800" not in answer.answer
    assert all(c.source == "serbia-nato-russia-platinum-wolf.md" for c in answer.citations)
    off = [o for o in answer.omitted if o["reason"] == "not about the question's subject"]
    assert off and all("platinum" not in o["text"].lower() for o in off)
    population = make_engine(settings, embedder=embedder).ask("What is the population of Belgrade?")
    assert population.answer.startswith("The sources do not say what the population of Belgrade is. ")


def test_a_question_answered_with_its_number_is_unchanged(sample_index: Settings, embedder: Embedder) -> None:
    settings = sample_index.model_copy(update={"llm_backend": "extractive"})
    answer = make_engine(settings, embedder=embedder).ask("How many stops does the Green Line have?")
    assert "19 stops" in answer.answer and "do not say" not in answer.answer


def test_a_name_written_another_way_is_about_the_question() -> None:
    """review2 item 1: "the Fed", "LA", "Man Utd" are the question's "Federal Reserve", "Los Angeles",
    "Manchester United" (a prefix of 3+ letters, initials); "the Orsk library" is not "Platinum Wolf"."""
    from rag.answer.policy import ShownFilter, Verdict

    for question, text in [("How much did the Federal Reserve raise rates?", "The Fed raised rates by a quarter point."),
                           ("How many people were hurt in the Los Angeles quake?", "The LA quake hurt 12 people."),
                           ("How many goals did Manchester United score?", "Man Utd scored three goals.")]:
        shown = ShownFilter(question, passage_texts=["Title\n" + text])
        assert shown.off_subject(Verdict(text, [1], True, 0.9)) is None, question
        assert anchor_misses(question, [text]).unnamed == [], question
    mine = "The agreement gives the mine's 1,800 workers a pay rise."
    assert ShownFilter(SOLDIERS, passage_texts=["Mine deal\n" + mine]).off_subject(Verdict(mine, [1], True, 0.9))
    assert anchor_misses("How much did the Tessa bridge cost?", ["The library costs 40,000 euros."]).unnamed == ["tessa"]


@pytest.mark.parametrize(("question", "text"), [
    ("How long did Platinum Wolf last?", "The Platinum Wolf exercise ended after lasting a fortnight."),
    ("How long did the strike last?", "The strike lasted a decade."),
    ("How many people were hurt when the Tessa mill collapsed?", "Nobody was hurt when the old mill collapsed."),
    ("How many people were arrested?", "No one was arrested."),
    ("How many people were arrested?", "Police arrested a man and a woman."),
    ("How old is the mayor?", "The mayor is in his seventies."),
    ("When did the fire start?", "The fire started last night."),
    ("When did the fire start?", "The fire started at midnight."),
    ("When did the fire start?", "The fire burned overnight."),
    ("When did the fire start?", "The fire started at dawn."),
    ("How much did the Federal Reserve raise rates?", "The Fed raised rates by a quarter of a percentage point."),
])
def test_an_answer_in_words_holds_the_asked_kind(question: str, text: str) -> None:
    """review2 item 2: no "The sources do not say …" before a sentence that answers in words."""
    from rag.answer.policy import ShownFilter

    assert ShownFilter(question).holds_asked(text)


def test_a_sentence_without_the_asked_kind_does_not_hold_it() -> None:
    from rag.answer.policy import ShownFilter

    assert not ShownFilter("How many people were hurt?").holds_asked("The mill in Tessa collapsed.")
    assert not ShownFilter("When did the fire start?").holds_asked("The fire destroyed the mill.")
    # Zero counts people, not money: "Nobody was hurt" gives no cost.
    assert not ShownFilter("How much did the Tessa bridge cost?").holds_asked("Nobody was hurt in Tessa.")


def test_a_citation_goes_after_the_closing_quote_mark_in_the_plain_answer() -> None:
    """review2 item 7: the CLI's text as the web chat: "… their power.” [1]", not "… their power [1].”"."""
    from rag.answer.policy import with_markers

    assert with_markers("He said: “We will fight for their power.”", [1]) == \
        "He said: “We will fight for their power.” [1]"
    assert with_markers('He said: "No."', [1, 2]) == 'He said: "No." [1][2]'
    assert with_markers("Platinum Wolf ran two weeks.", [1]) == "Platinum Wolf ran two weeks [1]."
    assert with_markers("It ran (from June to July).", [1]) == "It ran (from June to July) [1]."
