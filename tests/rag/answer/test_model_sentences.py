"""The local model's own sentences after generation (rag/answer/policy.py): what is taken off them before the
check reads them (echoed passage headers, "According to the passage," frames), and how its rejected sentences
guide the verified quotation. Constructed model outputs against constructed passages; the citation check and
the sentence ranking (MiniLM) are the real ones. Whatever is taken off, a sentence the check rejects is never
shown."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from rag.answer.citations import split_sentences
from rag.answer.generate import Candidate, ExtractiveAnswerer
from rag.answer.policy import (
    PolicyOutcome,
    SentenceJudge,
    SentenceStream,
    ShownFilter,
    Verdict,
    clean_model_sentence,
    quote_repair,
    strip_echoes,
    verified_stream,
)
from rag.embedding import Embedder
from rag.types import Chunk
from rag.verify import LexicalChecker


def chunk(n: int, title: str, text: str, date: str = "2023-05-18") -> Chunk:
    return Chunk(id=f"c{n}", source=f"a{n}.md", text=text, title=title, start=0, end=len(text), ordinal=0,
                 text_hash=f"h{n}", date=date)


ESPN = chunk(1, "ESPN plans to launch subscription streaming service",
             "Earlier this week, the NFL and NBCUniversal announced that Peacock will exclusively air the first-ever "
             "live-streaming playoff game. ESPN has not set a price for the new service.")
# A headline with a full stop inside it: a sentence splitter would cut the echoed header in two.
GRAHAM = chunk(2, "Lindsey Graham called for Putin's assassination. Even discussing it ...",
               "Senator Lindsey Graham said on Thursday that someone in Russia should take Putin out.", "2022-03-19")
PASSAGES = [ESPN, GRAHAM]
ESPN_HEADER = "(ESPN plans to launch subscription streaming service, 2023-05-18)"
GRAHAM_HEADER = "(Lindsey Graham called for Putin's assassination. Even discussing it..., 2022-03-19)"


def judged(text: str, pieces: int = 0) -> PolicyOutcome:
    """The policy's outcome for a model text, streamed whole or a few characters at a time."""
    outcome = PolicyOutcome()
    chunks = [text] if not pieces else [text[i:i + pieces] for i in range(0, len(text), pieces)]
    list(verified_stream(iter(chunks), SentenceJudge(LexicalChecker(), PASSAGES), outcome))
    return outcome


def shown(outcome: PolicyOutcome) -> list[str]:
    return [v.text for v in outcome.shown]


def test_an_echoed_header_is_taken_off_and_the_text_after_it_is_checked() -> None:
    text = f"{ESPN_HEADER} Earlier this week, the NFL and NBCUniversal announced that Peacock will exclusively air the " \
           "first-ever live-streaming playoff game [1]."
    outcome = judged(text)
    assert shown(outcome) == ["Earlier this week, the NFL and NBCUniversal announced that Peacock will exclusively air "
                              "the first-ever live-streaming playoff game."]
    assert outcome.shown[0].citations == [1] and not outcome.rejected
    # The title and date the model repeated would have failed the check: "ESPN" beside "Peacock", "2023".
    assert not SentenceJudge(LexicalChecker(), PASSAGES).judge(text).supported


@pytest.mark.parametrize("pieces", [0, 1, 3, 7])
def test_a_header_echo_never_vouches_for_a_claim_the_passage_does_not_make(pieces: int) -> None:
    unsupported = "The NFL and NBCUniversal announced that ESPN will exclusively air the Super Bowl."
    outcome = judged(f"{ESPN_HEADER} {unsupported} [1]", pieces)
    assert not outcome.shown and [v.text for v in outcome.rejected] == [unsupported]
    # Between two supported sentences, still rejected; the header words are in no sentence at all.
    supported = "ESPN has not set a price for the new service [1]."
    outcome = judged(f"{supported} {ESPN_HEADER} {unsupported} {GRAHAM_HEADER} Lindsey Graham said on Thursday "
                     f"that someone in Russia should take Putin out [2].", pieces)
    assert shown(outcome) == ["ESPN has not set a price for the new service.",
                              "Lindsey Graham said on Thursday that someone in Russia should take Putin out."]
    assert [v.text for v in outcome.rejected] == [unsupported]
    assert not any("2023-05-18" in t or "Even discussing" in t for t in shown(outcome))


def test_only_the_headers_of_the_passages_shown_are_taken_off() -> None:
    # A parenthesis is no header, and a made-up "header" stays part of the sentence the check reads.
    assert strip_echoes("ESPN (the sports network) has not set a price.", PASSAGES) == \
        "ESPN (the sports network) has not set a price."
    made_up = "(ESPN will air the Super Bowl, 2023-05-18) ESPN has not set a price for the new service."
    assert strip_echoes(made_up, PASSAGES) == made_up
    outcome = judged(made_up)
    assert not outcome.shown and outcome.rejected
    # The title's last words and the date are a header; a header the generation cut off is one too.
    assert strip_echoes("subscription streaming service, 2023-05-18 Earlier this week.", PASSAGES).strip() == \
        "Earlier this week."
    assert strip_echoes("ESPN has no price. (ESPN plans to launch subscr", PASSAGES).strip() == "ESPN has no price."


def test_a_header_with_a_full_stop_is_released_whole_when_streamed() -> None:
    splitter = SentenceStream(passages=PASSAGES)
    text = f"ESPN has no price yet [1]. {GRAHAM_HEADER} Lindsey Graham spoke on Thursday [2]. It ended."
    out: list[str] = []
    for i in range(0, len(text), 4):
        out += splitter.feed(text[i:i + 4])
    out += splitter.close()
    assert out == ["ESPN has no price yet [1].", "Lindsey Graham spoke on Thursday [2].", "It ended."]


@pytest.mark.parametrize(("written", "checked"), [
    ("According to the passage, Peacock will exclusively air the first-ever live-streaming playoff game.",
     "Peacock will exclusively air the first-ever live-streaming playoff game."),
    ("The article states that ESPN has not set a price.", "ESPN has not set a price."),
    ("Based on the information provided, the NFL chose Peacock.", "The NFL chose Peacock."),
    ("ESPN has not set a price, according to the passage.", "ESPN has not set a price."),
    ("Virginia elects first Black woman to Congress …", "Virginia elects first Black woman to Congress"),
    ("◾ As of late Monday, the fire was 85% contained.", "As of late Monday, the fire was 85% contained."),
    ("The article does not say.", "The article does not say."),  # no claim behind a frame: left as written
    # What is no frame or bullet stays: a sign, a bracketed source, a plural noun, a negation, a lower-case name.
    ("-5 degrees was the low.", "-5 degrees was the low."),
    ("[Reuters] The vote passed.", "[Reuters] The vote passed."),
    ("Texts show the mayor lied.", "Texts show the mayor lied."),
    ("The text says nothing about a price.", "The text says nothing about a price."),
    ("According to the passage, iPhone sales rose.", "iPhone sales rose."),
    ("- The Suns won.", "The Suns won."),
])
def test_a_frame_around_the_claim_is_taken_off(written: str, checked: str) -> None:
    assert clean_model_sentence(written) == checked


def test_a_framed_claim_is_still_checked() -> None:
    supported = judged("According to the passage, Peacock will exclusively air the first-ever live-streaming "
                       "playoff game [1].")
    assert shown(supported) == ["Peacock will exclusively air the first-ever live-streaming playoff game."]
    unsupported = judged("According to the passage, ESPN will charge $9.99 a month for the new service [1].")
    assert not unsupported.shown
    assert [v.text for v in unsupported.rejected] == ["ESPN will charge $9.99 a month for the new service."]


def test_a_repeated_sentence_is_shown_once() -> None:
    outcome = judged("ESPN has not set a price for the new service [1]. ESPN has not set a price for the new "
                     "service [1].")
    assert shown(outcome) == ["ESPN has not set a price for the new service."]


ORBIT = [
    chunk(1, "Virgin Orbit: The UK just took a step closer to space flight",
          "Virgin Orbit received the first licence for a space launch from British soil, the UK transport "
          "secretary Mark Harper said in a statement on Wednesday. "
          "The rocket is carried to altitude under the wing of a modified Boeing 747 before it is released. "
          "Dan Hart, chief executive of Virgin Orbit, said in a statement that the company was progressing towards "
          "the first launch from Cornwall.", "2022-12-21"),
]
ORBIT_QUESTION = "The UK's first space mission failed after the Virgin Orbit rocket launched from where?"
# The model's answer names the right place but gives the quote to the wrong man: rejected, rightly.
MISATTRIBUTED = ("Mark Harper said in a statement on Wednesday that the company was progressing towards the first "
                 "launch from Cornwall.")


def test_the_models_rejected_answer_guides_the_quotation(embedder: Embedder) -> None:
    judge = SentenceJudge(LexicalChecker(), ORBIT)
    rejected = judge.judge(f"{MISATTRIBUTED} [1]")
    assert rejected is not None and not rejected.supported
    ranked = ExtractiveAnswerer(embedder).candidates
    plain = quote_repair(ORBIT_QUESTION, ORBIT, judge, ranked)
    assert len(plain) == 1 and "Cornwall" not in plain[0].text
    quoted = quote_repair(ORBIT_QUESTION, ORBIT, judge, ranked, guide=[rejected])
    # The question's own best sentence first, then the one the model's words point at: verbatim, verified.
    assert [v.text for v in quoted[:1]] == [plain[0].text]
    assert [v.text for v in quoted[1:]] == ["Dan Hart, chief executive of Virgin Orbit, said in a statement that the "
                                            "company was progressing towards the first launch from Cornwall."]
    assert all(v.supported and v.origin == "quote" for v in quoted)
    assert MISATTRIBUTED not in " ".join(v.text for v in quoted)


def test_the_quotation_is_not_guided_away_from_an_answer_the_model_got_through(embedder: Embedder) -> None:
    judge = SentenceJudge(LexicalChecker(), ORBIT)
    ranked = ExtractiveAnswerer(embedder).candidates
    rejected = judge.judge(f"{MISATTRIBUTED} [1]")
    accepted = judge.judge("Virgin Orbit received the first licence for a space launch from British soil [1].")
    assert rejected is not None and accepted is not None and accepted.supported
    # An accepted sentence that says more than the question is the model's answer: its wrong turns guide nothing.
    assert not any("Cornwall" in v.text for v in quote_repair(ORBIT_QUESTION, ORBIT, judge, ranked,
                                                               already=[accepted], guide=[rejected]))
    # One that only restates the question answers nothing: the rejected sentence still guides.
    echo = Verdict("The Virgin Orbit rocket launched.", [1], True, 1.0)
    assert any("Cornwall" in v.text for v in quote_repair(ORBIT_QUESTION, ORBIT, judge, ranked,
                                                           already=[echo], guide=[rejected]))


def test_quotations_are_never_guided_by_other_quotations(embedder: Embedder) -> None:
    judge = SentenceJudge(LexicalChecker(), ORBIT)
    quote = Verdict(MISATTRIBUTED, [1], False, 0.0, origin="quote")
    ranked = ExtractiveAnswerer(embedder).candidates
    assert [v.text for v in quote_repair(ORBIT_QUESTION, ORBIT, judge, ranked, guide=[quote])] == \
        [v.text for v in quote_repair(ORBIT_QUESTION, ORBIT, judge, ranked)]
    assert not re.search(r"\[\d\]", " ".join(v.text for v in quote_repair(ORBIT_QUESTION, ORBIT, judge, ranked)))


def test_a_header_cut_off_one_word_past_its_end_is_no_error() -> None:
    # "(title, date Earlier": the open header runs one word past the title and date; it was an IndexError.
    text = "ESPN has no price. (ESPN plans to launch subscription streaming service, 2023-05-18 Earlier"
    assert strip_echoes(text, PASSAGES).split() == ["ESPN", "has", "no", "price.", "Earlier"]


@pytest.mark.parametrize("step", [1, 3, 7])
def test_streaming_never_drops_a_sentence_a_later_header_reaches_back_over(step: int) -> None:
    # The echoed title (no parenthesis) holds a full stop: by the time its date is written, its first half may
    # already be out as a sentence. That half is then judged like any sentence; what follows is never lost.
    text = ("Lindsey Graham called for Putin's assassination. Even discussing it, 2022-03-19 Putin was angry [2]. "
            "ESPN has not set a price [1].")
    splitter = SentenceStream(passages=PASSAGES)
    out: list[str] = []
    for i in range(0, len(text), step):
        out += splitter.feed(text[i:i + step])
    out += splitter.close()
    assert out[-2:] == ["Putin was angry [2].", "ESPN has not set a price [1]."]
    assert "".join(out).count("Putin was angry") == 1 and not any("2022-03-19" in s for s in out)


# The quotation's choice when the ranker's best sentence holds no clear span of the asked kind (a constructed
# ranking: the subject is the choice among scored sentences, not the scores).
LAUNCH = [chunk(1, "Kestrel Space wins its launch licence",
                "Kestrel Space received the first licence for a launch, the transport minister Ada Brill said on "
                "Wednesday. Its chief executive said Kestrel Space was ready for the first launch from Port Aldane. "
                "The rocket is carried under the wing of an old airliner.", "2022-12-21")]
LAUNCH_QUESTION = "The first space mission failed after the Kestrel Space rocket launched from where?"
LICENCE, ALDANE, AIRLINER = split_sentences(LAUNCH[0].text)


def ranking(scores: dict[str, float]) -> Callable[[str, list[Chunk]], list[Candidate]]:
    def ranked(question: str, passages: list[Chunk]) -> list[Candidate]:
        rows = [Candidate(text, 1, i, scores[text]) for i, text in enumerate(split_sentences(passages[0].text))]
        return sorted(rows, key=lambda c: -c.score)
    return ranked


@pytest.mark.parametrize(("aldane", "quoted"), [(0.66, ALDANE), (0.69, ALDANE), (0.60, LICENCE)])
def test_a_close_sentence_with_a_clear_span_of_the_asked_kind_is_quoted(aldane: float, quoted: str) -> None:
    # "from Port Aldane" answers "from where?"; the best sentence names no place after a preposition. Within the
    # extractive answer's second-sentence margin (0.1) of the best, the clear span is quoted; further down it is not.
    judge = SentenceJudge(LexicalChecker(), LAUNCH)
    ranked = ranking({LICENCE: 0.72, ALDANE: aldane, AIRLINER: 0.40})
    shown_filter = ShownFilter(LAUNCH_QUESTION)
    assert shown_filter.holds_answer(LICENCE) < 1.0 <= shown_filter.holds_answer(ALDANE)
    assert [v.text for v in quote_repair(LAUNCH_QUESTION, LAUNCH, judge, ranked, shown=shown_filter)] == [quoted]
    # Without the filter (no asked kind known) the ranker's best is quoted, as before.
    assert [v.text for v in quote_repair(LAUNCH_QUESTION, LAUNCH, judge, ranked)] == [LICENCE]


def test_only_a_place_question_moves_the_quotation_to_a_clear_span() -> None:
    # "Who …?": a two-word name is in most news sentences, so the ranker's best stays the quotation.
    question = "Who granted Kestrel Space the first licence for a launch?"
    judge = SentenceJudge(LexicalChecker(), LAUNCH)
    ranked = ranking({AIRLINER: 0.72, LICENCE: 0.69, ALDANE: 0.40})
    shown_filter = ShownFilter(question)
    assert shown_filter.holds_answer(AIRLINER) < 1.0 <= shown_filter.holds_answer(LICENCE)
    assert [v.text for v in quote_repair(question, LAUNCH, judge, ranked, shown=shown_filter)] == [AIRLINER]


def test_a_best_sentence_with_a_clear_span_stays_the_quotation() -> None:
    judge = SentenceJudge(LexicalChecker(), LAUNCH)
    ranked = ranking({ALDANE: 0.72, LICENCE: 0.70, AIRLINER: 0.40})
    assert [v.text for v in quote_repair(LAUNCH_QUESTION, LAUNCH, judge, ranked,
                                         shown=ShownFilter(LAUNCH_QUESTION))] == [ALDANE]


SPHERE = [chunk(1, "The Orb lights up", "The Orb is the latest attraction for Sin City to flex. It cost $2 billion to "
                "build. Home to the tallest wheel in the country, Las Vegas loves to break records.", "2023-07-05")]
SPHERE_QUESTION = "Which city lit up the world's largest spherical structure this week?"


def test_rejected_sentences_guide_when_the_accepted_ones_hold_no_clear_answer(embedder: Embedder) -> None:
    # The model's answer restated the question with the city put in (rejected: no passage says it); its one accepted
    # sentence says more than the question but names no city clearly ("Sin City" is a weak span). The rejected
    # sentence's answer words still point at the passage sentence naming Las Vegas.
    judge = SentenceJudge(LexicalChecker(), SPHERE)
    ranked = ExtractiveAnswerer(embedder).candidates
    rejected = judge.judge("Las Vegas lit up the world's largest spherical structure this week [1].")
    accepted = judge.judge("The Orb is the latest attraction for Sin City to flex [1].")
    assert rejected is not None and not rejected.supported and accepted is not None and accepted.supported
    shown_filter = ShownFilter(SPHERE_QUESTION)
    quoted = [v.text for v in quote_repair(SPHERE_QUESTION, SPHERE, judge, ranked, already=[accepted],
                                           guide=[rejected], shown=shown_filter)]
    assert "Home to the tallest wheel in the country, Las Vegas loves to break records." in quoted
    assert rejected.text not in quoted and all("Las Vegas lit up" not in q for q in quoted)
    # An accepted sentence that names a city clearly (a place after "in") is the model's answer: the rejected one
    # guides nothing.
    clear = Verdict("The Orb is the latest attraction in Las Vegas.", [1], True, 1.0)
    assert shown_filter.holds_answer(clear.text, True) >= 1.0
    assert [v.text for v in quote_repair(SPHERE_QUESTION, SPHERE, judge, ranked, already=[clear], guide=[rejected],
                                         shown=shown_filter)] == \
        [v.text for v in quote_repair(SPHERE_QUESTION, SPHERE, judge, ranked, already=[clear], shown=shown_filter)]
