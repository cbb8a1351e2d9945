"""What a verified answer shows and in which order (rag/answer/policy.py ShownFilter, LeadOrder; engine's
dated_answer): a sentence that is true to its passage but tells the reader nothing is kept out of the answer and
listed apart, the sentence holding the asked-for answer leads, and the stream is the final answer, word for word.
Constructed model outputs; the retriever, Chroma, the embedding model and the citation check are the real ones."""

from __future__ import annotations

import html
import json
import re

import pytest

from rag.answer import policy
from rag.answer.citations import NAME_TITLES, split_sentences
from rag.answer.engine import Answer, AnswerEngine, Citation, dated_answer
from rag.answer.factory import make_engine
from rag.answer.generate import ExtractiveAnswerer
from rag.answer.policy import LeadOrder, ShownFilter, Verdict, kept_from_omitted, repeats_shown, without_kicker
from rag.answer.text import content_terms
from rag.embedding import Embedder
from rag.settings import Settings
from rag.types import Chunk
from rag.ui.render import answer_html
from rag.verify import LexicalChecker
from tests.helpers import FixedAnswerer

HAMLIN = ("NFL player Damar Hamlin suffered an on-field medical emergency this week. He is a valued member of "
          "which team?")


@pytest.mark.parametrize(("question", "sentence", "reason"), [
    (HAMLIN, "Damar Hamlin suffered an on-field medical emergency this week.", "restates the question"),
    (HAMLIN, "Damar Hamlin suffered an on-field medical emergency on Monday, officials said.",
     "restates the question"),
    ("Which NCAA team declined an invitation?", "BRACKETS ARE BACK!", "headline or link debris"),
    ("Millions were under flood alerts across the Northeast. Which state received two months of rain?",
     "Rainfall percentages in the Northeast", "headline or link debris"),
    ("Hundreds were arrested in which country?", "11 p.m.", "headline or link debris"),
    ("Which university's football team declined an invitation?", "Contributing: Marc Weiszer, Athens Banner-Herald",
     "headline or link debris"),
    ("Which NCAA team declined an invitation?", "Get your men's and women's NCAA Tournament brackets",
     "headline or link debris"),
    ("Which NCAA team declined an invitation?", "Here is the full schedule of the tournament:",
     "headline or link debris"),
    ("Who will represent the district?", "She will succeed Democrat Rep.", "headline or link debris"),
    ("Which city lit up the world's largest spherical structure?", "Who owns the MSG Sphere in Las Vegas?",
     "a question"),
    ("Which cooking ingredient was linked to the outbreak?",
     "This directly answers the question by providing the cooking ingredient.", "comment on the answer"),
])
def test_a_sentence_that_tells_nothing_is_not_shown(question: str, sentence: str, reason: str) -> None:
    assert ShownFilter(question).omission(sentence) == reason


@pytest.mark.parametrize(("question", "sentence"), [
    (HAMLIN, "Buffalo Bills player Damar Hamlin remains hospitalized in Cincinnati."),
    ("What was the name of the military exercise Serbia held?", "Platinum Wolf."),  # a short answer of the kind
    ("The pope was the first to resign in how many centuries?", "600 years"),
    # A yes/no or true-or-false question is answered by restating it.
    ("True or false: Punxsutawney Phil saw his shadow on Groundhog Day.",
     "Punxsutawney Phil saw his shadow on Groundhog Day."),
    ("Which state elected its first Black congresswoman?", "Virginia elects first Black woman to Congress"),
    ("Where is the museum?", "The museum opened in Washington, D.C."),  # an abbreviation that ends a sentence
    # A choice, "whether" and a tag question are answered by restating them too.
    ("Who retired, Tom Brady or Aaron Rodgers?", "Tom Brady retired."),
    ("Which team won the Super Bowl, the Chiefs or the Eagles?", "The Chiefs won the Super Bowl."),
    ("Tell me whether the Fed raised rates.", "The Fed raised rates."),
    ("The Fed raised rates, right?", "The Fed raised rates."),
    ("The Fed raised rates, didn't it?", "The Fed raised rates."),
    # A question that asks for a time is answered by a day or a month.
    ("What day did the Fed raise rates?", "The Fed raised rates on Wednesday."),
    ("When did the Fed raise rates?", "The Fed raised rates in March."),
    # An irregular past tense is a verb: a short statement, not a fragment.
    ("How did Bitcoin do last year?", "Bitcoin rose more in 2023."),
])
def test_a_sentence_that_says_something_new_is_shown(question: str, sentence: str) -> None:
    assert ShownFilter(question).omission(sentence) is None


def test_a_glued_label_and_a_dateline_are_taken_off_the_sentence() -> None:
    assert without_kicker("More:Top-rated Fox News host Tucker Carlson is out") == \
        "Top-rated Fox News host Tucker Carlson is out"
    assert without_kicker("More:6.5 million pounds of beef recalled") == "6.5 million pounds of beef recalled"
    assert without_kicker("LATEST UPDATES WEDNESDAY:Bomb cyclone to pummel California coast") == \
        "Bomb cyclone to pummel California coast"
    assert without_kicker("WASHINGTON - House Speaker Kevin McCarthy announced Tuesday") == \
        "House Speaker Kevin McCarthy announced Tuesday"
    assert without_kicker("WELLINGTON, New Zealand (AP) — Italy's players dropped") == "Italy's players dropped"
    assert without_kicker("He said: Hello there") == "He said: Hello there"  # a colon and a space: prose
    # A label in ordinary case may name the answer: it stays, set apart.
    assert without_kicker("Taylor Swift 'Eras' movie review:Concert film a thrilling revisit") == \
        "Taylor Swift 'Eras' movie review: Concert film a thrilling revisit"
    assert without_kicker("Super Bowl 2024:Usher confirmed as halftime show headliner") == \
        "Super Bowl 2024: Usher confirmed as halftime show headliner"  # a year ends the label (it held the gold)


@pytest.mark.parametrize("sentence", [
    "The game starts at 7:30 p.m.",  # a clock time is no label: the text stays verbatim
    "Spain won 6:4 in the final.",  # nor is a score
    "NASA - The agency said it would launch on Friday.",  # an organisation starting a sentence is no dateline
    "FIFA - The body fined the club.",
])
def test_verbatim_text_is_never_altered_by_the_label_rules(sentence: str) -> None:
    assert without_kicker(sentence) == sentence


def test_a_dateline_is_a_place_in_capitals() -> None:
    assert without_kicker("NEW YORK (AP) — The city reopened.") == "The city reopened."
    assert without_kicker("ST. LOUIS - The Cardinals won.") == "The Cardinals won."
    assert without_kicker("YORK, Pa. — It rained.") == "It rained."
    assert without_kicker("WASHINGTON – The Justice Department said on Tuesday it would appeal.") == \
        "The Justice Department said on Tuesday it would appeal."
    assert without_kicker("PHOENIX – The man who briefly took the dais was sentenced.") == \
        "The man who briefly took the dais was sentenced."
    assert without_kicker("TALLAHASSEE – The administration of Florida Gov. Ron DeSantis is moving.") == \
        "The administration of Florida Gov. Ron DeSantis is moving."



@pytest.mark.parametrize(("sentence", "rest"), [
    # Real datelines of news23: the rest opens with "It" or names an organisation further on, or a place's name is
    # followed by an organisation that is not it.
    ("BEIJING — It’s gotta be the skis.", "It’s gotta be the skis."),
    ("WASHINGTON — It all comes back to Donald Trump.", "It all comes back to Donald Trump."),
    ("NEW YORK – Shopify is cutting 10% of its staff as the e-commerce company reckons with a slowdown.",
     "Shopify is cutting 10% of its staff as the e-commerce company reckons with a slowdown."),
    ("AUSTIN — The international commission that oversees the Rio Grande has determined that the buoys moved.",
     "The international commission that oversees the Rio Grande has determined that the buoys moved."),
    ("WASHINGTON — The department said it would appeal.", "The department said it would appeal."),
    ("KANSAS CITY — The league said the game would go on.", "The league said the game would go on."),
    ("INTERPOL – It issued a red notice on Monday.", "It issued a red notice on Monday."),  # "It" names nothing
    # Capitals that stand alone as datelines are places, whatever the rest opens with.
    ("KYIV — The ministry said 12 drones were shot down.", "The ministry said 12 drones were shot down."),
    ("NASHVILLE, Tenn. — The board voted to expel two lawmakers.", "The board voted to expel two lawmakers."),
    ("NASHVILLE — The committee voted to expel two lawmakers.", "The committee voted to expel two lawmakers."),
    ("SACRAMENTO — The agency said the reservoirs were full.", "The agency said the reservoirs were full."),
    ("OTTAWA — The government said it would send tanks.", "The government said it would send tanks."),
    ("TALLAHASSEE — The board approved the new standards.", "The board approved the new standards."),
    ("AUSTIN — The commission said the buoys moved.", "The commission said the buoys moved."),
])
def test_a_city_dateline_comes_off_whatever_the_sentence_says(sentence: str, rest: str) -> None:
    assert without_kicker(sentence) == rest


@pytest.mark.parametrize("sentence", [
    # An organisation in capitals (one word, no city of the wire datelines) that the rest opens by naming again,
    # then says what it did, is the sentence's subject, not a place.
    "UNICEF - The agency said 1.4 million children are at risk.",
    "UNESCO — The U.N. cultural agency added the site to its list.",
    "NASCAR - The sanctioning body fined the team $100,000.",
    # Nor is a phrase that starts with an article ("A USA TODAY NETWORK - Tennessee review of filings …").
    "A USA TODAY NETWORK - Tennessee review of filings found that donors gave $2 million.",
])
def test_a_name_in_capitals_that_is_the_sentences_subject_is_kept(sentence: str) -> None:
    assert without_kicker(sentence) == sentence


def verdict(text: str, origin: str = "model") -> Verdict:
    return Verdict(text, [1], True, 1.0, origin)


def test_the_quotation_holding_the_asked_kind_leads_over_sentences_that_do_not() -> None:
    lead = LeadOrder(ShownFilter(HAMLIN))
    aside = verdict("Hamlin collapsed during the game on Monday night.")
    assert lead.offer(aside) == []  # held: no span of the asked kind yet
    stadium = verdict("It came as a shock for a player to collapse right on the field at the stadium.", "quote")
    bills = verdict("Buffalo Bills player Damar Hamlin remains hospitalized in Cincinnati.", "quote")
    assert [v.text for v in lead.close([stadium, bills])] == [bills.text, aside.text, stadium.text]


def test_once_a_sentence_leads_the_rest_is_shown_as_it_is_verified() -> None:
    lead = LeadOrder(ShownFilter(HAMLIN))
    bills = verdict("Buffalo Bills player Damar Hamlin remains hospitalized in Cincinnati.")
    aside = verdict("Hamlin collapsed during the game on Monday night.")
    assert lead.offer(bills) == [bills] and lead.offer(aside) == [aside]
    assert lead.close([]) == [] and lead.released == [bills, aside]


def test_a_person_is_named_in_full_to_lead() -> None:
    lead = LeadOrder(ShownFilter("Which GOP lawmaker called for a formal impeachment inquiry into President Biden?"))
    aside = verdict("By calling it an impeachment inquiry, he avoided a vote of the House.")
    assert lead.offer(aside) == []  # one capitalised word: no person's name
    speaker = verdict("House Speaker Kevin McCarthy announced an impeachment inquiry into President Biden.", "quote")
    assert lead.close([speaker]) == [speaker, aside]


def test_a_single_name_is_enough_for_a_place() -> None:
    lead = LeadOrder(ShownFilter("Which state received two months of rain in two days?"))
    vermont = verdict("The storms dumped two months of rain on Vermont in two days.")
    assert lead.offer(vermont) == [vermont]


def test_a_language_models_sentence_may_open_with_its_answer() -> None:
    question = "Which state received two months of rain in two days?"
    vermont = verdict("Vermont received two months of rain in two days.")
    assert LeadOrder(ShownFilter(question), opening=True).offer(vermont) == [vermont]
    assert LeadOrder(ShownFilter(question)).offer(vermont) == []  # an article's "Police …", "Storms …"


def test_a_quotation_about_something_else_never_leads() -> None:
    lead = LeadOrder(ShownFilter("How long did the Platinum Wolf exercise last?"))
    aside = verdict("The exercise was held on Serbian soil.")
    assert lead.offer(aside) == []
    chess = verdict("Her decisive win came after a long endgame that lasted almost six hours.", "quote")
    assert lead.close([chess]) == [aside, chess]


TALKS = "Where will the talks take place?"
LEDE = ("A dispute between Aldora and neighbouring Vesmark over the Tidewater Canal escalated on Thursday when Vesmark "
        "announced it would raise tolls for ships passing through the canal by 22 percent from January.")
TOLLS = "Vesmark announced it would raise tolls for ships passing through the canal by 22 percent from January."
GENEVA = "Talks between the two governments are due to begin in Geneva on 20 October."


def test_a_sentence_contained_in_a_shown_one_is_not_shown_again() -> None:
    lead = LeadOrder(ShownFilter(TALKS))
    tolls = verdict(TOLLS)
    assert lead.offer(tolls) == []  # held: no place
    lede = verdict(LEDE, "quote")
    assert lead.close([lede]) == [lede]  # the held sentence is the lede's own words: shown once
    assert lead.repeated == [tolls] and lead.released == [lede]


def test_a_sentence_already_shown_is_not_repeated_inside_a_later_one_but_a_short_answer_is() -> None:
    lead = LeadOrder(ShownFilter(TALKS))
    geneva = verdict(GENEVA)
    assert lead.offer(geneva) == [geneva]
    assert lead.offer(verdict(GENEVA.rstrip(".") + ", officials said.")) == []  # says the shown sentence again
    assert lead.offer(verdict("Talks between the two governments are due.")) == []  # part of the shown sentence
    assert [v.text for v in lead.repeated] == [GENEVA.rstrip(".") + ", officials said.",
                                               "Talks between the two governments are due."]
    short = LeadOrder(None)  # shown as written
    assert short.offer(verdict("In Geneva.")) != []
    # A short answer does not hide the sentence it is part of: that sentence tells where it comes from.
    assert short.offer(verdict(GENEVA)) != [] and short.repeated == []


def test_a_later_sentence_that_adds_facts_to_a_shown_one_is_shown() -> None:
    # review2 item 7: a shown sentence inside a longer one hid it although it adds when and how much.
    lead = LeadOrder(None)
    close = verdict("The Tessa bridge will close on Monday.")
    assert lead.offer(close) == [close]
    longer = verdict("The Tessa bridge will close on Monday and reopen in March after repairs costing 40 million euros.")
    assert lead.offer(longer) == [longer] and lead.repeated == []
    # … but one that only adds an attribution or a word or two still says it twice.
    assert lead.offer(verdict("The Tessa bridge will close on Monday, officials said on Friday.")) == []
    assert len(lead.repeated) == 1


def test_of_two_sentences_shown_together_the_one_holding_the_other_is_kept() -> None:
    lead = LeadOrder(ShownFilter(TALKS))
    tolls = verdict(TOLLS)
    assert lead.offer(tolls) == []  # held: no place
    geneva, lede = verdict(GENEVA, "quote"), verdict(LEDE, "quote")
    # Geneva leads, then the held sentence, then the other quotation: that one says all the held one says, and more.
    assert lead.close([geneva, lede]) == [geneva, lede] and lead.repeated == [tolls]


MINISTRY = "Which ministry conducted the Platinum Wolf exercise?"
JOINT = "In parallel, Vucic indicated that Belgrade is examining the prospect of joint exercises with NATO forces."
WOLF = "The Serbian Ministry of Defense conducted the exercise named Platinum Wolf."


def test_a_sentence_off_what_a_which_question_asks_names_neither_its_noun_nor_the_question() -> None:
    asked = ShownFilter(MINISTRY)
    assert asked.off_the_asked(JOINT)
    assert not asked.off_the_asked(WOLF)  # names the ministry
    assert not asked.off_the_asked("The Platinum Wolf drill was held by the army.")  # names the question's names
    assert not ShownFilter("Who conducted the Platinum Wolf exercise?").off_the_asked(JOINT)  # a person: no noun
    assert not ShownFilter("Which of these teams won?").off_the_asked(JOINT)  # no noun after "which"


def ranking(scores: dict[str, float], best: float) -> policy.LeadRanking:
    """Constructed ranker scores: the subject here is the order (the engine test below uses the real ranker)."""
    return policy.LeadRanking(score=lambda text, passage: scores[text], best=lambda: best)


def test_a_model_sentence_off_the_asked_that_the_ranker_rates_far_below_the_best_does_not_lead() -> None:
    joint, wolf = verdict(JOINT), verdict(WOLF)
    far = policy.RANKED_LEAD_MARGIN + 0.1
    lead = LeadOrder(ShownFilter(MINISTRY), opening=True, ranking=ranking({JOINT: 1.0 - far, WOLF: 1.0}, 1.0))
    assert lead.offer(joint) == []  # held: it leads by its names alone ("North Atlantic", "Vucic")
    assert lead.offer(wolf) == [wolf, joint]
    close = LeadOrder(ShownFilter(MINISTRY), opening=True, ranking=ranking({JOINT: 0.95, WOLF: 1.0}, 1.0))
    assert close.offer(joint) == [joint]  # the ranker rates it near the best: the model's order stands
    nothing_better = LeadOrder(ShownFilter(MINISTRY), opening=True, ranking=ranking({JOINT: 0.0}, 1.0))
    assert nothing_better.offer(joint) == [] and nothing_better.close([]) == [joint]  # never lost


def test_a_sentence_citing_several_passages_is_ranked_by_its_best_cited_passage() -> None:
    joint = Verdict(JOINT, [1, 2], True, 1.0, "model")
    scores = {1: 0.0, 2: 1.0}  # low as a sentence of passage 1, the best as one of passage 2
    both = policy.LeadRanking(score=lambda text, passage: scores[passage], best=lambda: 1.0)
    assert LeadOrder(ShownFilter(MINISTRY), opening=True, ranking=both).offer(joint) == [joint]
    first = policy.LeadRanking(score=lambda text, passage: scores[passage], best=lambda: 1.0)
    assert LeadOrder(ShownFilter(MINISTRY), opening=True, ranking=first).offer(verdict(JOINT)) == []  # cites [1]


def test_a_failing_ranking_means_no_ranked_lead() -> None:
    def fails(text: str, passage: int) -> float:
        raise RuntimeError("the embedding model failed")

    lead = LeadOrder(ShownFilter(MINISTRY), opening=True, ranking=policy.LeadRanking(score=fails, best=lambda: 1.0))
    joint = verdict(JOINT)
    assert lead.offer(joint) == [joint] and lead.ranking is None  # the model's order stands


def test_what_caused_asks_for_no_name_to_lead_with() -> None:
    lead = LeadOrder(ShownFilter("What might have caused the wildfire near Solvik?"))
    winds = verdict("The wildfire near Solvik was caused by strong winds.")
    assert lead.offer(winds) == [winds]


def test_a_question_that_asks_for_no_kind_holds_nothing() -> None:
    lead = LeadOrder(ShownFilter("Why did the council delay the vote?"))
    first = verdict("The council said it needed more time.")
    assert lead.offer(first) == [first]


def test_the_filter_keeps_the_best_omitted_sentence_when_nothing_else_is_left() -> None:
    shown = ShownFilter(HAMLIN)
    omitted = [(verdict("This directly answers the question."), "comment on the answer"),
               (verdict("BRACKETS ARE BACK!"), "headline or link debris"),
               (verdict("Damar Hamlin suffered an on-field medical emergency this week."), "restates the question")]
    kept = kept_from_omitted(omitted, shown)
    assert kept is not None and kept.text.startswith("Damar Hamlin") and len(omitted) == 2
    assert kept_from_omitted([(verdict("This answers the question."), "comment on the answer")], shown) is None


# ----------------------------------------------------------------------------------------- the engine

PESKOV = "Who is the press secretary of the Russian President?"
ASIDE = "Peskov pointed out that there is political pressure on Belgrade from multiple directions [1]."
ANSWER = "This perspective was conveyed by the press secretary of the Russian President, Dmitry Peskov [1]."
RESTATED = "The press secretary of the Russian President [1]."
UNSUPPORTED = "The press secretary of the Russian President is Boris Yeltsin [1]."


def ask(settings: Settings, embedder: Embedder, text: str, question: str = PESKOV,
        **overrides: object) -> tuple[str, Answer]:
    engine: AnswerEngine = make_engine(settings.model_copy(update={"llm_backend": "local", **overrides}),
                                       embedder=embedder, answerer=FixedAnswerer(text))
    events = list(engine.stream(question))
    answer = events[-1]
    assert isinstance(answer, Answer)
    return "".join(e for e in events[:-1] if isinstance(e, str)), answer


def bare(text: str) -> str:
    return re.sub(r"\s*\[\d+\]", "", text)


def assert_never_shown(answer: Answer, streamed: str, texts: list[str]) -> None:
    shown = json.dumps(answer.to_dict()["answer"]) + json.dumps(answer.to_dict()["sentences"]) + streamed
    for text in texts:
        assert bare(text).rstrip(".") not in bare(shown)


def test_the_answer_leads_and_the_stream_is_the_answer(sample_index: Settings, embedder: Embedder) -> None:
    streamed, answer = ask(sample_index, embedder, f"{RESTATED} {ASIDE} {UNSUPPORTED} {ANSWER}",
                           answer_repair="drop")
    assert streamed == answer.answer
    assert answer.answer.startswith("This perspective was conveyed") and "Dmitry Peskov" in answer.sentences[0]["text"]
    assert bare(ASIDE) in bare(answer.answer)  # held back, then shown after the answer
    assert [o["reason"] for o in answer.omitted] == ["restates the question"]
    assert [r["text"] for r in answer.rejected] == [bare(UNSUPPORTED)]
    assert_never_shown(answer, streamed, [RESTATED, UNSUPPORTED])
    assert answer.to_dict()["omitted"][0]["text"] == bare(RESTATED)


# What the 0.5B wrote with 400 extra evidence characters (sample set s04): both sentences verbatim and verified.
JOINT_S04 = ("In parallel, Vucic indicated that Belgrade is examining the prospect of joint exercises with North "
             "Atlantic Alliance forces in the near term [1].")
WOLF_S04 = ("On the ground, the Serbian Ministry of Defense conducted an exercise named “Platinum Wolf,” held on "
            "Serbian soil in collaboration with several NATO member states [1].")


def test_the_ranker_keeps_a_sentence_off_the_asked_from_leading(sample_index: Settings, embedder: Embedder) -> None:
    joint, wolf = JOINT_S04, WOLF_S04
    streamed, answer = ask(sample_index, embedder, f"{joint} {wolf}", MINISTRY, answer_repair="drop")
    assert streamed == answer.answer and answer.answer.startswith("On the ground, the Serbian Ministry of Defense")
    assert [bare(s["text"]) for s in answer.sentences] == [bare(wolf), bare(joint)]  # held, then shown: nothing lost
    assert all(s["supported"] for s in answer.sentences) and not answer.rejected
    streamed, unordered = ask(sample_index, embedder, f"{joint} {wolf}", MINISTRY, answer_repair="drop",
                              answer_lead=False)
    assert streamed == unordered.answer and unordered.answer.startswith("In parallel, Vucic")


class FailingRanker(ExtractiveAnswerer):
    """The real extractive answerer whose sentence scoring fails, as an embedding error inside the ranking would."""

    def sentence_score(self, question: str, sentence: str, passage: int, passages: list[Chunk]) -> float:
        raise RuntimeError("embedding failed")


def test_a_failing_ranking_is_no_model_failure(sample_index: Settings, embedder: Embedder) -> None:
    engine: AnswerEngine = make_engine(sample_index.model_copy(update={"llm_backend": "local",
                                                                       "answer_repair": "drop"}),
                                       embedder=embedder, answerer=FixedAnswerer(f"{JOINT_S04} {WOLF_S04}"))
    engine.fallback = FailingRanker(embedder)
    events = list(engine.stream(MINISTRY))
    answer = events[-1]
    assert isinstance(answer, Answer)
    assert "fallback" not in answer.model and not answer.warning  # the model's answer, not "the model failed"
    assert answer.answer.startswith("In parallel, Vucic")  # no ranked lead: the model's order
    assert "".join(e for e in events[:-1] if isinstance(e, str)) == answer.answer


def test_the_ranked_candidates_are_cached_only_for_the_answers_own_question(sample_index: Settings,
                                                                            embedder: Embedder) -> None:
    engine = make_engine(sample_index.model_copy(update={"llm_backend": "local"}), embedder=embedder,
                         answerer=FixedAnswerer(WOLF_S04))
    text = f"{bare(WOLF_S04)} {bare(JOINT_S04)}"
    passages = [Chunk(id="a", source="a.md", text=text, title="Platinum Wolf", start=0, end=len(text), ordinal=0,
                      text_hash="a")]
    ranked = engine._ranked_once(MINISTRY, passages)
    assert ranked(MINISTRY, passages) is ranked(MINISTRY, passages)  # ranked once
    other = "Which countries may hold joint exercises with Serbia?"
    assert ranked(other, passages) == engine.fallback.candidates(other, passages, title_aware=True)


def test_the_first_shown_sentence_is_timed_apart_from_the_models_first_token(sample_index: Settings,
                                                                             embedder: Embedder) -> None:
    # The aside is held back until the answer arrives: what a user first sees comes after the model's first token.
    _, answer = ask(sample_index, embedder, f"{ASIDE} {ANSWER}", answer_repair="drop")
    timings = answer.timings
    assert timings["first_token_ms"] <= timings["first_shown_ms"] <= timings["total_ms"]


def test_without_the_lead_the_order_is_the_models(sample_index: Settings, embedder: Embedder) -> None:
    streamed, answer = ask(sample_index, embedder, f"{ASIDE} {ANSWER}", answer_repair="drop", answer_lead=False)
    assert streamed == answer.answer and answer.answer.startswith("Peskov pointed out")


def test_the_filter_never_empties_an_answer_that_had_something_true_to_say(sample_index: Settings,
                                                                          embedder: Embedder) -> None:
    streamed, answer = ask(sample_index, embedder, RESTATED, answer_repair="drop")
    assert not answer.refused and streamed == answer.answer
    assert bare(answer.answer).startswith(bare(RESTATED).rstrip(".")) and not answer.omitted


def test_at_most_the_configured_number_of_sentences_is_shown(sample_index: Settings, embedder: Embedder) -> None:
    streamed, answer = ask(sample_index, embedder, f"{ANSWER} {ASIDE}", answer_repair="drop", answer_max_sentences=1)
    assert streamed == answer.answer and len(answer.sentences) == 1
    assert [o["reason"] for o in answer.omitted] == ["past the answer's first sentence"]
    assert_never_shown(answer, streamed, [ASIDE])


def test_quotations_are_filtered_and_ordered_like_the_models_sentences(sample_index: Settings,
                                                                       embedder: Embedder) -> None:
    streamed, answer = ask(sample_index, embedder, f"{RESTATED} {UNSUPPORTED}")
    assert streamed == answer.answer and not answer.refused
    assert answer.sentences[0]["origin"] == "quote" and "Dmitry Peskov" in answer.sentences[0]["text"]
    assert_never_shown(answer, streamed, [RESTATED, UNSUPPORTED])


# ------------------------------------------------------------------------------------------ the date


def cited(text: str, date: str = "2018-05-04") -> Citation:
    return Citation(n=1, source="a.md", title="t", date=date, url=None, chunk_id="c", text=text, supported=True,
                    support=1.0)


@pytest.mark.parametrize(("answer", "passage", "dated"), [
    ("However, the Fed raised rates [1].", "However, the Fed raised rates.",
     "As of 4 May 2018, however, the Fed raised rates [1]."),
    ("Officials said the road reopened [1].", "Officials said the road reopened, and officials added more.",
     "As of 4 May 2018, officials said the road reopened [1]."),
    ("Putin announced plans [1].", "Putin announced plans.", "As of 4 May 2018, Putin announced plans [1]."),
    ("NFL teams met [1].", "NFL teams met.", "As of 4 May 2018, NFL teams met [1]."),
    ("The storm hit [1].", "The storm hit.", "As of 4 May 2018, the storm hit [1]."),
    ("A prisoner's escape [1].", "a prisoner's escape", "As of 4 May 2018, a prisoner's escape [1]."),
    ("I was there, he said [1].", "i was there", "As of 4 May 2018, I was there, he said [1]."),
    ("That’s why the vote failed [1].", "x", "As of 4 May 2018, that’s why the vote failed [1]."),
    ("Anticipation continued to build [1].", "x", "As of 4 May 2018, Anticipation continued to build [1]."),
    ("LATEST UPDATES: the storm hit [1].", "x", "As of 4 May 2018, LATEST UPDATES: the storm hit [1]."),
    ("Buffalo Bills player Damar Hamlin [1].", "a buffalo herd; Buffalo Bills player Damar Hamlin",
     "As of 4 May 2018, Buffalo Bills player Damar Hamlin [1]."),
    # An opener before a capitalised word may be part of a name; an article or preposition is not.
    ("One Direction star Harry Styles won [1].", "x", "As of 4 May 2018, One Direction star Harry Styles won [1]."),
    ("It Ends With Us topped the list [1].", "x", "As of 4 May 2018, It Ends With Us topped the list [1]."),
    ("The Hague court ruled [1].", "x", "As of 4 May 2018, the Hague court ruled [1]."),
    ("In Washington, the bill passed [1].", "x", "As of 4 May 2018, in Washington, the bill passed [1]."),
    # An answer that dates itself is not dated twice.
    ("As of 2023, the bill passed [1].", "x", "As of 2023, the bill passed [1]."),
])
def test_a_dated_answer_is_one_correct_sentence(answer: str, passage: str, dated: str) -> None:
    assert dated_answer(answer, [cited(passage)]) == dated


@pytest.mark.parametrize(("name", "passage"), [
    ("Italy", "x"), ("Boeing", "x"), ("Beijing", "x"), ("Alfred", "x"), ("Emily", "x"),
    # A name stays capitalised even where a passage writes the same word in lower case, or it ends like a
    # common word ("-ing", "-ly").
    ("Turkey", "a roast turkey"), ("China", "fine china plates"),
])
def test_a_dated_answer_never_lower_cases_a_name(name: str, passage: str) -> None:
    assert dated_answer(f"{name} won the vote [1].", [cited(passage)]) == f"As of 4 May 2018, {name} won the vote [1]."


class FailingAnswerer(FixedAnswerer):
    """Streams its text, then fails as a model server that goes down mid-answer."""

    def stream(self, question: str, passages: list, texts: list[str] | None = None):  # noqa: ANN201
        yield from super().stream(question, passages, texts)
        raise ConnectionError("model server went away")


def ask_failing(settings: Settings, embedder: Embedder, text: str) -> tuple[str, Answer]:
    engine = make_engine(settings.model_copy(update={"llm_backend": "local", "answer_repair": "drop"}),
                         embedder=embedder, answerer=FailingAnswerer(text))
    events = list(engine.stream(PESKOV))
    answer = events[-1]
    assert isinstance(answer, Answer) and answer.warning and "fallback" in answer.model
    return "".join(e for e in events[:-1] if isinstance(e, str)), answer


def test_a_sentence_shown_before_the_model_failed_is_not_shown_again(sample_index: Settings,
                                                                    embedder: Embedder) -> None:
    # The model writes the very sentence the fallback picks, then fails: it is shown once.
    _, fallback_only = ask_failing(sample_index, embedder, "")
    picked = fallback_only.sentences[0]["text"]
    streamed, answer = ask_failing(sample_index, embedder, f"{picked} Then")
    assert streamed == answer.answer
    texts = [s["text"].lower() for s in answer.sentences]
    assert texts[0] == picked.lower() and len(set(texts)) == len(texts)


def test_what_the_model_wrote_before_it_failed_is_kept_apart(sample_index: Settings, embedder: Embedder) -> None:
    # The aside is verified but held back for a leading sentence; the unsupported sentence is rejected.
    streamed, answer = ask_failing(sample_index, embedder, f"{ASIDE} {UNSUPPORTED} Then")
    assert streamed == answer.answer and not answer.refused
    assert [r["text"] for r in answer.rejected] == [bare(UNSUPPORTED)]
    held = [o for o in answer.omitted if o["origin"] == "model"]
    assert [o["text"] for o in held] == [bare(ASIDE)] and "model failed" in held[0]["reason"]
    assert_never_shown(answer, streamed, [UNSUPPORTED])


def test_the_fallback_stream_is_the_answer_when_the_model_fails_at_once(sample_index: Settings,
                                                                       embedder: Embedder) -> None:
    streamed, answer = ask_failing(sample_index, embedder, "")
    assert not answer.refused and streamed == answer.answer
    # What the fallback picks is the article's sentence, verbatim: a quotation, labelled so (chat, CLI, --json).
    assert answer.sentences and {s["origin"] for s in answer.sentences} == {"quote"}
    assert {s["origin"] for s in answer.to_dict()["sentences"]} == {"quote"}


def test_a_fallback_sentence_that_a_shown_one_opens_word_for_word_is_not_shown(sample_index: Settings,
                                                                               embedder: Embedder) -> None:
    # The model writes the first part of the sentence the fallback picks ("…, Dmitry Peskov."), then fails: the
    # fallback's sentence is that text plus more ("…, Dmitry Peskov, who emphasized that Moscow recognizes …").
    # Shown after the model's sentence it would say its first 14 words again: it is listed apart instead
    # (repeats_shown: a shown sentence of 6 or more words that opens it word for word).
    _, fallback_only = ask_failing(sample_index, embedder, "")
    picked = fallback_only.sentences[0]["text"]
    assert picked.startswith(bare(ANSWER).rstrip(".")) and len(picked) > 2 * len(bare(ANSWER))
    streamed, answer = ask_failing(sample_index, embedder, f"{ANSWER} Then")
    assert streamed == answer.answer
    assert [(s["text"], s["origin"]) for s in answer.sentences] == [(bare(ANSWER), "model")]
    assert [(o["text"], o["reason"]) for o in answer.omitted] == [(picked, "repeats a sentence already shown")]


@pytest.mark.parametrize(("text", "shown", "repeats"), [
    ("Dmitry Peskov spoke.", ["Dmitry Peskov spoke"], True),  # the same words
    ("This was said by Dmitry Peskov, who added more.", ["This was said by Dmitry Peskov."], True),  # extends it
    ("Peskov spoke.", ["He said Peskov spoke on Monday."], True),  # a part of a shown sentence
    ("Peskov spoke on Monday.", ["Peskov spoke twice."], True),  # mostly said: quote repair's rule
    ("Peskovsky spoke.", ["Peskov"], False),  # whole words only
    # A short shown answer does not hide the longer sentence it is part of: most of that is not said yet.
    ("Platinum Wolf was a multinational exercise held in Serbia with troops from six countries.",
     ["Platinum Wolf."], False),
    ("Trump said Biden won Georgia but lost Ohio by 8 points.", ["Biden won."], False),
    # A shown sentence of 6 or more words that opens the sentence word for word: its start would be said twice.
    ("This was conveyed by the press secretary, Dmitry Peskov, who emphasized that Moscow recognizes Serbia's "
     "unique position and seeks to preserve a constructive dialogue with its Western partners.",
     ["This was conveyed by the press secretary, Dmitry Peskov."], True),
    ("Platinum Wolf was held in Serbia with troops from six countries and observers from four more.",
     ["Platinum Wolf was held in Serbia."], True),
    ("Platinum Wolf was held in Serbia with troops from six countries and observers from four more.",
     ["Platinum Wolf was held."], False),  # too short to count as the same sentence
    ("The Chiefs won 38-35.", ["The Chiefs won 38 35 over the Eagles."], True),
])
def test_a_sentence_repeats_shown_ones_when_they_say_most_of_it(text: str, shown: list[str], repeats: bool) -> None:
    assert repeats_shown(text, shown) is repeats


@pytest.mark.parametrize("question", [
    "Which judge will decide whether Trump stays on the ballot?",
    "In the Northeast, which state received two months of rain or more?",
])
def test_a_wh_question_holding_whether_or_or_still_wants_more_than_a_restatement(question: str) -> None:
    restated = {"Which judge will decide whether Trump stays on the ballot?":
                "A judge will decide whether Trump stays on the ballot.",
                "In the Northeast, which state received two months of rain or more?":
                "A state in the Northeast received two months of rain or more."}[question]
    assert ShownFilter(question).omission(restated) == "restates the question"


# ----------------------------------------------------------------------------------- a choice question

CHOICE = "Which team won the Super Bowl, the Chiefs or the Eagles?"
SUPER_BOWL = Chunk(id="c1", source="a1.md", title="Chiefs rally to win Super Bowl", start=0, end=0, ordinal=0,
                   text_hash="h1", date="2023-02-13",
                   text="Super Bowl LVII was played at State Farm Stadium in Glendale, Arizona, before 67,827 fans. "
                        "A team won the Super Bowl with a late field goal. The Chiefs won the Super Bowl, beating "
                        "the Eagles 38-35.")
PLAYED = "Super Bowl LVII was played at State Farm Stadium in Glendale, Arizona [1]."
A_TEAM = "A team won the Super Bowl [1]."
CHIEFS = "The Chiefs won the Super Bowl [1]."


def policy_shown(question: str, text: str, passages: list[Chunk]) -> tuple[list[str], policy.PolicyOutcome]:
    """The model's sentences as the answer shows them (the engine's order: verified, filtered, lead order, never
    empty), with the real citation check against constructed passages."""
    outcome, shown_filter = policy.PolicyOutcome(), ShownFilter(question)
    lead = LeadOrder(shown_filter, opening=True)
    judge = policy.SentenceJudge(LexicalChecker(), passages)
    for verdict in policy.verified_stream(iter(re.findall(r"\S+\s*", text)), judge, outcome, shown=shown_filter):
        lead.offer(verdict)
    lead.close()
    if not lead.released:
        kept = kept_from_omitted(outcome.omitted, shown_filter)
        lead.close([kept] if kept else [])
    return [v.text for v in lead.released], outcome


def test_a_choice_question_is_answered_by_the_sentence_that_names_an_option() -> None:
    shown, outcome = policy_shown(CHOICE, f"{PLAYED} {A_TEAM} {CHIEFS}", [SUPER_BOWL])
    # "A team won" names neither option and nothing the question does not: a restatement, not shown. The sentence
    # about the stadium names neither option either: it says something, but it does not lead.
    assert shown == [bare(CHIEFS), bare(PLAYED)]
    assert [(v.text, reason) for v, reason in outcome.omitted] == [(bare(A_TEAM), "restates the question")]


def test_a_choice_question_answer_is_never_emptied() -> None:
    shown, _ = policy_shown(CHOICE, A_TEAM, [SUPER_BOWL])
    assert shown == [bare(A_TEAM)]


@pytest.mark.parametrize(("question", "sentence", "reason"), [
    (CHOICE, "A team won the Super Bowl.", "restates the question"),
    (CHOICE, "The Super Bowl was won by a team.", "restates the question"),
    (CHOICE, "The Chiefs won the Super Bowl.", None),
    (CHOICE, "The Eagles lost.", None),
    ("Who retired, Tom Brady or Aaron Rodgers?", "A quarterback retired.", None),  # something new: shown, not first
    ("Who retired, Tom Brady or Aaron Rodgers?", "He retired.", "restates the question"),
    ("Who retired, Tom Brady or Aaron Rodgers?", "Rodgers retired.", None),
    ("Which team won: the Chiefs, the Eagles or the 49ers?", "The Chiefs won.", None),  # a list of options
])
def test_a_choice_question_wants_one_of_its_options(question: str, sentence: str, reason: str | None) -> None:
    assert ShownFilter(question).omission(sentence) == reason


@pytest.mark.parametrize(("question", "options"), [
    # The item before the list's first comma is an option too.
    ("Which state was hit hardest by the storm among Texas, Florida or California?", ["Texas", "Florida", "California"]),
    ("Which of Texas, Florida or California was hit hardest?", ["Texas", "Florida", "California"]),
    ("Which state had the most rain, Texas, Florida or California?", ["Texas", "Florida", "California"]),
    ("Which team won: the Chiefs, the Eagles or the 49ers?", ["Chiefs", "Eagles", "49ers"]),
    # An option keeps none of the question's words outside the list.
    ("Which team won the game, the home team or the visitors?", ["home", "visitors"]),
    ("Which was bigger, the 2022 or the 2023 deficit?", ["2022", "2023"]),
    ("In the final, did the Chiefs or the Eagles win?", ["Chiefs", "Eagles"]),
    ("According to the report, will inflation rise or fall?", ["rise", "fall"]),
    ("Did officials say whether the dam will be repaired or replaced?", ["repaired", "replaced"]),
    ("Did the Fed raise or cut interest rates this week?", ["raise", "cut"]),
    ("Where did the balloon fly over, Montana or Alaska?", ["Montana", "Alaska"]),
    ("Where was the Chinese balloon shot down, off South Carolina or over Alaska?", ["South Carolina", "Alaska"]),
    ("What did the Fed do with rates, raise them or hold them steady?", ["raise", "hold steady"]),
    # A question that asks how or why of a list, or what, where … of one not set off, asks no choice.
    ("Why did the storm hit Texas, Florida or California?", []),
    ("How did the storm affect Texas, Florida or California?", []),
    ("What did the report say about Texas, Florida or California?", []),
    ("In the Northeast, which state received two months of rain or more?", []),
    ("Which judge will decide whether Trump stays on the ballot or not?", []),
])
def test_a_choice_question_offers_every_item_of_its_list(question: str, options: list[str]) -> None:
    assert policy.choice_options(question) == [frozenset(content_terms(option)) for option in options]


def test_the_first_option_of_a_list_is_an_answer_not_a_restatement() -> None:
    storm = ShownFilter("Which state was hit hardest by the storm among Texas, Florida or California?")
    assert storm.omission("Texas was hit hardest by the storm.") is None
    assert storm.leads(verdict("Texas was hit hardest by the storm."), opening=True)


def test_a_how_question_with_a_list_keeps_the_order_written() -> None:
    lead = LeadOrder(ShownFilter("How did the storm affect Texas, Florida or California?"), limit=3, opening=True)
    written = ["The storm flooded Houston, Texas.", "It knocked out power to 2 million homes.", "Florida lost power."]
    shown = [v.text for text in written for v in lead.offer(verdict(text))] + [v.text for v in lead.close()]
    assert shown == written


@pytest.mark.parametrize(("question", "sentence", "reason", "leads"), [
    # Naming every option chooses none: a restatement.
    ("Which team won, the Chiefs or the Eagles?", "The Chiefs or the Eagles won.", "restates the question", None),
    ("Who won the 2024 election, Trump or Biden?", "Trump or Biden won the 2024 election.", "restates the question",
     None),
    ("Who won the 2024 election, Trump or Biden?", "Either Trump or Biden won the 2024 election.",
     "restates the question", None),
    ("Which team won, the Chiefs or the Eagles?", "Neither the Chiefs nor the Eagles won.", "restates the question",
     None),
    # Options joined by either/or choose none, whatever else the sentence says ("the game", "the winner").
    ("Which team won, the Chiefs or the Eagles?", "Either the Chiefs or the Eagles won the game.",
     "restates the question", None),
    ("Which team won, the Chiefs or the Eagles?", "The winner was either the Chiefs or the Eagles.",
     "restates the question", None),
    ("Who won the 2024 election, Trump or Biden?", "Either Trump or Biden won the 2024 election, polls showed.",
     "restates the question", None),
    ("Which team won, the Chiefs or the Eagles?", "The Chiefs beat the Eagles, or so the fans said.", None, True),
    # "Or" inside an aside, or "neither … nor" with more said, is not a choice left open: shown.
    ("Which team won, the Chiefs or the Eagles?", "The Chiefs, whether fans liked it or not, beat the Eagles 38-35.",
     None, True),
    ("Who won, Biden or Trump?", "Trump, either way, lost to Biden by seven million votes.", None, True),
    ("Which team won, the Chiefs or the Eagles?", "Neither the Chiefs nor the Eagles won; the game was postponed.",
     None, None),
    # Naming every option in a comparison chooses one: only options joined by or/either/whether/nor choose none.
    ("Which is older, Biden or Trump?", "Biden is older than Trump.", None, True),
    ("Who got more votes, Lula or Bolsonaro?", "Lula got more votes than Bolsonaro.", None, True),
    ("Which team won, the Chiefs or the Eagles?", "The Chiefs defeated the Eagles.", None, True),
    # A last option that is not a name is one word when the first is: the rest is the question's ("… this week").
    ("Did the Fed raise or cut interest rates this week?", "It raised interest rates this week.", None, True),
    ("Did the Fed raise or cut interest rates this week?", "The Fed raised or cut interest rates this week.",
     "restates the question", None),
    # Any wh-word but how/why asks a choice of a list set off by a comma or a colon.
    ("Where did the balloon fly over, Montana or Alaska?", "The balloon was over Montana.", None, True),
    ("What did the Fed do with rates, raise them or hold them steady?", "The Fed held rates steady.", None, True),
    ("Who won the 2024 election, Trump or Biden?", "The 2024 election was won by Trump.", None, True),
    # The question's head ("team") is no option: "A team won the game." names none.
    ("Which team won the game, the home team or the visitors?", "A team won the game.", "restates the question",
     False),
    ("Which team won the game, the home team or the visitors?", "The home team won.", None, True),
    ("Which was bigger, the 2022 or the 2023 deficit?", "The deficit was bigger.", "restates the question", False),
    ("Which was bigger, the 2022 or the 2023 deficit?", "The 2022 deficit was bigger.", None, True),
])
def test_a_choice_is_answered_by_a_sentence_that_picks_an_option(question: str, sentence: str, reason: str | None,
                                                                 leads: bool | None) -> None:
    choice = ShownFilter(question)
    assert choice.omission(sentence) == reason
    if leads is not None:
        assert choice.leads(verdict(sentence), opening=True) is leads


def test_a_sentence_naming_one_listed_option_is_never_a_restatement() -> None:
    # Even where the list asks no choice, a sentence that names one of its items tells which one.
    storm = ShownFilter("How did the storm affect Texas, Florida or California?")
    assert not storm.options
    assert storm.omission("The storm affected Florida.") is None
    assert storm.omission("The storm affected Texas, Florida or California.") == "restates the question"


def test_only_a_sentence_naming_an_option_leads_a_choice_answer() -> None:
    choice = ShownFilter("Who retired, Tom Brady or Aaron Rodgers?")
    assert choice.asks_a_kind
    assert not choice.leads(verdict("A quarterback from Green Bay retired."), opening=True)
    assert choice.leads(verdict("Brady retired."), opening=True)
    assert choice.leads(verdict("The quarterback who retired was Tom Brady.", "quote"))


# ------------------------------------------------------------------- a sentence cut at a title


@pytest.mark.parametrize("title", NAME_TITLES)
def test_every_title_before_a_name_is_read_alike_by_the_splitter_and_the_filter(title: str) -> None:
    # The splitter never ends a sentence at a title before a name; so a sentence that ends with one was cut off
    # (a passage's end, a model's last words), and the filter reads it as debris.
    assert split_sentences(f"They met {title} Smith on Monday. It rained.") == [
        f"They met {title} Smith on Monday.", "It rained."]
    assert ShownFilter("Who will represent the district?").omission(f"She will succeed Democrat {title}") == \
        "headline or link debris"


@pytest.mark.parametrize("sentence", ["The museum is on Main St.", "The plant belongs to Acme Co.",
                                      "Prices rose in the U.S.", "The fund is run by Vesta Inc.",
                                      "The plunge is at 1 Via de Luna Dr."])  # "Dr." ends an address too
def test_an_abbreviation_that_may_end_a_sentence_is_no_cut(sentence: str) -> None:
    assert ShownFilter("Where is the museum?").omission(sentence) is None


def test_the_splitter_still_never_ends_a_sentence_at_dr() -> None:
    assert split_sentences("They met Dr. Smith on Monday. It rained.") == ["They met Dr. Smith on Monday.",
                                                                            "It rained."]


# ------------------------------------------------------------------------------ the chat's answer bubble


def test_the_chat_shows_what_was_left_out_as_one_collapsed_line_after_the_answer(sample_index: Settings,
                                                                                embedder: Embedder) -> None:
    _, answer = ask(sample_index, embedder, f"{RESTATED} {ANSWER} {ASIDE}", answer_repair="drop",
                    answer_max_sentences=1)
    assert [o["reason"] for o in answer.omitted] == ["restates the question", "past the answer's first sentence"]
    rendered = answer_html(answer)
    answer_div, left_out = rendered.split('<details class="omitted">')
    assert bare(RESTATED).rstrip(".") not in answer_div and bare(ASIDE).rstrip(".") not in answer_div
    summary = re.search(r"<summary>(.*?)</summary>", left_out).group(1)  # type: ignore[union-attr]
    assert html.unescape(summary) == "2 sentences left out: restates the question; past the answer's first sentence"
    assert "Peskov pointed out" in left_out  # listed inside, collapsed (no "open" attribute)


def test_a_refusal_after_the_anchor_check_lists_no_verified_sentence_as_left_out(sample_index: Settings,
                                                                               embedder: Embedder) -> None:
    # The anchor check after generation refuses ("Gorbachev" is in no passage): the sentence past the answer's
    # first one was verified on the same passages and is refused with the shown one, not "left out".
    engine = make_engine(sample_index.model_copy(update={
        "llm_backend": "local", "refusal_decision": "thresholds", "answer_max_sentences": 1, "answer_repair": "drop"}),
        embedder=embedder, answerer=FixedAnswerer(f"{ANSWER} {ASIDE}"))
    answer = list(engine.stream("Who is the press secretary of the Russian President, Gorbachev?"))[-1]
    assert isinstance(answer, Answer) and answer.refused and "gorbachev" in answer.refusal_reason
    assert [r["text"] for r in answer.rejected] == [bare(ANSWER), bare(ASIDE)]
    assert not answer.omitted
    assert "left out" not in answer_html(answer)


def test_nothing_left_out_adds_no_line(sample_index: Settings, embedder: Embedder) -> None:
    _, answer = ask(sample_index, embedder, ANSWER, answer_repair="drop")
    assert not answer.omitted and "omitted" not in answer_html(answer)


def test_a_follow_up_asks_what_its_own_question_asks_not_its_context() -> None:
    from rag.answer.generate import heuristic_rewrite
    from rag.answer.ranking import question_profile
    from rag.answer.text import answer_cue

    history = [{"role": "user", "content": "What was the military exercise in Serbia called?"}]
    led = ShownFilter(heuristic_rewrite("Who led it?", history))
    assert led.asking == "Who led it?" and led.profile.kind == "person"
    assert ShownFilter(heuristic_rewrite("How many soldiers took part in it?", history)).profile.kind == "quantity"
    when = [{"role": "user", "content": "When did the Platinum Wolf exercise begin?"}]
    assert answer_cue(heuristic_rewrite("Who led it?", when), "The drill was led by Colonel Jovic.") == 1.0
    # A yes/no follow-up asks no kind, whatever its context note asked.
    assert question_profile(heuristic_rewrite("Did it hit Florida?", [
        {"role": "user", "content": "Where did the storm hit?"}])).kind == ""


def test_a_which_question_names_its_noun_after_its_modifiers() -> None:
    two = ShownFilter("Which two countries joined the Platinum Wolf exercise?")
    assert not two.off_the_asked("Troops from Hungary and Greece joined the drill, their countries said.")
    firms = ShownFilter("Which two firms won the Platinum Wolf contracts?")
    assert not firms.off_the_asked("Both bids came from firms based in Belgrade.")
    assert firms.off_the_asked(JOINT)
    nfl = ShownFilter("Which NFL team did Damar Hamlin play for?")
    assert not nfl.off_the_asked("He played for the Buffalo Bills, one of the league's oldest teams.")
    star = ShownFilter("Which 'Star Wars' film opened this week?")
    assert not star.off_the_asked("The film drew crowds in its first days.")
    # A present-tense verb before an article is not part of the noun ("owns the …").
    assert ShownFilter("Which company owns the MSG Sphere?").asked_noun == {"compani"}
    assert ShownFilter("Which company owns the MSG Sphere?").off_the_asked("Dolan owns a stake and the arena.")
    assert ShownFilter("Which NFL teams in the league won?").asked_noun == {"nfl", "team"}
    # … nor is one that the question needs as its only verb ("plays in Las Vegas": no other verb follows).
    assert ShownFilter("Which team plays in Las Vegas?").asked_noun == {"team"}
    assert ShownFilter("The rail line will run between which two US cities?").asked_noun == {"two", "citi"}


def test_a_follow_up_answer_leads_with_its_own_answer_and_shows_each_sentence_once(sample_index: Settings,
                                                                                   embedder: Embedder) -> None:
    # Sample set f03: the 0.5B wrote the context's answer (the tolls); the quotation that answers the follow-up
    # leads, no headline is glued to a sentence, and no shown sentence holds another one's words.
    engine = make_engine(sample_index.model_copy(update={"llm_backend": "local"}), embedder=embedder,
                         answerer=FixedAnswerer(f"{TOLLS[:-1]} [1]."))
    history = [{"role": "user", "content": "What did Vesmark announce about the Tidewater Canal?"},
               {"role": "assistant", "content": "Vesmark will raise tolls by 22 percent from January [1]."}]
    events = list(engine.stream(TALKS, history=history))
    answer = events[-1]
    assert isinstance(answer, Answer)
    streamed = "".join(e for e in events[:-1] if isinstance(e, str))
    assert streamed == answer.answer and not answer.refused
    shown = [s["text"] for s in answer.sentences]
    assert "Geneva" in shown[0] and all("\n" not in s and not s.startswith("Aldora and Vesmark clash") for s in shown)
    assert not any(a != b and policy._holds(policy._word_list(a), policy._word_list(b)) for a in shown for b in shown)
