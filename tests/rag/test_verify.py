"""Citation check: clear supported and unsupported cases for each shipped checker kind."""

from __future__ import annotations

import pytest

from rag.embedding import Embedder
from rag.verify import (
    DEFAULT_THRESHOLD,
    HybridChecker,
    LexicalChecker,
    SupportChecker,
    SupportModelUnavailable,
    is_supported,
    make_support_checker,
)

STRIKE = (
    "About 12,000 rail workers walked out on Monday after talks between the RMT union and the operators "
    "collapsed. The strike, the first since 2023, cancelled 3,400 trains across the network. The union is "
    "demanding a 9% pay rise; operators have offered 4%."
)
WOLF = (
    "On the ground, the Serbian Ministry of Defense conducted an exercise named “Platinum Wolf,” held on Serbian "
    "soil in collaboration with several NATO member states. The exercise, which ran over a two-week period from "
    "mid to late June, demonstrated a commitment to joint training and readiness."
)
MUSEUM = (
    "The city museum will reopen on 14 May after a three-year renovation that cost 48 million euros. The new "
    "wing, designed by architect Lina Ortiz, adds 2,000 square metres of gallery space."
)

# A restated question joined to an answer that stands in the neighbouring sentence (the local 0.5B's "The state
# that was hammered by an atmospheric river event this week … was New York", rebuilt with made-up names).
STORM = (
    "Millions of residents in Estoria braced on Monday for yet another atmospheric river storm, which forced "
    "widespread evacuations across the state. Meanwhile, residents in Valmont and other northern states readied "
    "for rough weather."
)
# The passage lists the answer among others and never says "sixth".
HAPPY = (
    "Using results from a world poll, Norland was named the world's happiest country, significantly ahead of all "
    "others. All five northern countries – Norland, Vesland, Islay, Sarnia and Tove – ranked in the top eight."
)
# Good paraphrases whose name or number stands in the sentence beside the one that says most of the claim.
RESIGN = (
    "Prime Minister Lena Ortiz of Estoria said on Thursday she would resign, citing burnout. Ortiz, who has led "
    "the government since 2019, was the youngest leader in the country's history."
)
LAKE = (
    "The Orrin River carries sediment into Lake Kessel. It is expected that the continuous input of sediment will "
    "silt up the lake within a century."
)
FINAL = (
    "The Harbour Cup final drew a record crowd in Varnholm on Sunday. An average of 41 million viewers watched "
    "it, according to Nielsen."
)
WILDFIRE = (
    "Officials in Brenna said the wildfire had forced thousands of villagers to leave their homes. The blaze near "
    "Solvik started on Sunday at a Kessel campsite."
)

SUPPORTED = [
    (STRIKE, "About 12,000 rail workers walked out on Monday."),
    (STRIKE, "The walkout led to 3,400 cancelled train services."),  # paraphrase
    (WOLF, "The Platinum Wolf drills lasted two weeks in June."),  # paraphrase, number word
    (MUSEUM, "Renovating the museum took three years and cost 48 million euros."),
    (STRIKE, "Rail operators offered workers a 4% pay increase, while the union wants 9%."),
    # Initials with or without full stops are one word ("U.S." is not the names "u" and "s").
    ("US embassy evacuated in Sudan. The United States evacuated the embassy in Khartoum on April 22.",
     "The U.S. embassy in Khartoum was evacuated on April 22."),
    # The answer stands in the sentence that says the restated question.
    (STORM, "The state hammered by an atmospheric river storm this week, prompting widespread evacuations, was Estoria."),
    # A name or number from the neighbouring sentence: the best sentence names one of the claim's anchors too…
    (RESIGN, "Lena Ortiz has announced her resignation after serving as Estoria's prime minister since 2019."),
    (FINAL, "About 41 million viewers watched the Harbour Cup final."),
    # …or names no rival of its own (the lake of "the lake" is named one sentence earlier)…
    (LAKE, "The continuous input of sediment will silt up Lake Kessel."),
    # …or the neighbouring sentence joins the claim's anchors to each other.
    (WILDFIRE, "The wildfire near Solvik, which started at a Kessel campsite, forced thousands of villagers to leave "
               "their homes."),
    # A negated claim may take its cue from a sentence beside the best one, when it has the same cue.
    ("The University of Brenna first received an invitation for its football team to visit the palace on 12 June. "
     "The Brenna football team has refused the invitation, citing exams.",
     "The University of Brenna football team refused an invitation to the palace."),
    # "Declined" and "rejected" are no negation cues: they are ordinary verbs of news paraphrase…
    ("Halden shares fell 5% on Tuesday after the earnings report.", "Halden shares declined 5% on Tuesday."),
    ("Unemployment fell to 3.4% in January, the lowest level since 1969.", "Unemployment declined to 3.4% in January."),
    ("The city council voted down the plan for a new stadium.", "The city council rejected the plan for a new stadium."),
    ("The team turned down the invitation to visit the palace.", "The team declined the invitation to visit the palace."),
    # …and "declined to be named / to comment" stands beside half the facts in the news.
    ("Halden is recalling 363,000 vehicles over a software fault, a spokesperson, who declined to be named, said.",
     "Halden recalled 363,000 vehicles over a software fault."),
    # Digit ordinals read as word ordinals on both sides: "2nd" = "second", as "6th" = "sixth".
    ("Norland came second in the poll of northern countries.", "Norland came 2nd in the poll of northern countries."),
    # Ordinals are numbers: "sixth" = "6th" = "six".
    ("Norland was named the world's happiest country for the sixth year in a row.",
     "Norland has been the world's happiest country for six years."),
    ("Norland was named the world's happiest country for the sixth year in a row.",
     "Norland was the world's happiest country for the 6th year running."),
]
UNSUPPORTED = [
    # "U.S." read as "US" must not become the stopword "us": another country's embassy, or none, is no support.
    ("The UK embassy in Khartoum was evacuated on April 22.", "The U.S. embassy in Khartoum was evacuated on April 22."),
    ("The embassy in Khartoum was evacuated on April 22.", "The US embassy in Khartoum was evacuated on April 22."),
    (STRIKE, "About 21,000 rail workers walked out on Monday."),  # number changed
    (MUSEUM, "The renovation of the city museum cost 84 million euros."),  # number changed
    (WOLF, "The Platinum Wolf exercise ran over a three-week period."),  # number word changed
    (WOLF, "The Serbian Ministry of Defense conducted the Platinum Wolf exercise with Russian forces."),  # entity
    (MUSEUM, "The new wing was designed by architect Maria Lindqvist."),  # entity swapped
    (MUSEUM, "About 12,000 rail workers walked out on Monday."),  # unrelated passage
    (STRIKE, "The strike did not cancel any trains."),  # negation
    (STRIKE, "The U.K. strike cancelled 3,400 trains."),  # "U.K." is a name the passage does not have
    # The restated question joined to a name from the sentence beside it (the pair window holds every word).
    (STORM, "The state hammered by an atmospheric river storm this week, prompting widespread evacuations, was Valmont."),
    (HAPPY, "The country that has been named the world's happiest, for the sixth consecutive year, is Islay."),
    (HAPPY, "Norland was named the world's happiest country for the sixth time."),  # an ordinal the passage lacks
    # Negation on one side only is a contradiction, whatever verb carries it ("rejected" against "did not reject").
    ("The union did not reject the offer, its leader said on Monday.", "The union rejected the offer."),
    ("The team did not decline the invitation to the palace.", "The team declined the invitation to the palace."),
    ("The senator said on Monday she would not run for re-election next year.",
     "The senator declined to say whether she would run for re-election next year."),
    # A sentence referring back does not excuse a number or name the claim changed.
    ("Gov. Lena Ortiz spoke on Sunday. She declared a state of emergency for 11 counties.",
     "Lena Ortiz declared a state of emergency for 12 counties."),
]


@pytest.fixture(scope="module")
def hybrid(embedder: Embedder) -> SupportChecker:
    return make_support_checker("hybrid", model=embedder)


@pytest.fixture(params=["lexical", "hybrid"])
def checker(request: pytest.FixtureRequest, hybrid: SupportChecker) -> SupportChecker:
    return make_support_checker("lexical") if request.param == "lexical" else hybrid


@pytest.mark.parametrize(("premise", "hypothesis"), SUPPORTED)
def test_supported(checker: SupportChecker, premise: str, hypothesis: str) -> None:
    score = checker.score(premise, hypothesis)
    assert checker.is_supported(score), f"{checker.name}: {score:.3f} for {hypothesis!r}"


@pytest.mark.parametrize(("premise", "hypothesis"), UNSUPPORTED)
def test_unsupported(checker: SupportChecker, premise: str, hypothesis: str) -> None:
    score = checker.score(premise, hypothesis)
    assert not checker.is_supported(score), f"{checker.name}: {score:.3f} for {hypothesis!r}"


def test_scores_in_unit_interval_and_deterministic(checker: SupportChecker) -> None:
    pairs = SUPPORTED + UNSUPPORTED + [("", "Anything."), (STRIKE, ""), (STRIKE, "the of and")]
    first = checker.scores(pairs)
    assert first == checker.scores(pairs)  # the hybrid cache must not change a score
    assert all(0.0 <= s <= 1.0 for s in first)
    assert first[-3:] == [0.0, 0.0, 0.0]  # nothing to check against, or nothing checked
    assert checker.scores([]) == []


def test_supported_outscores_its_corrupted_copy(checker: SupportChecker) -> None:
    good = checker.score(STRIKE, "The strike was the first since 2023.")
    bad = checker.score(STRIKE, "The strike was the first since 2019.")
    assert good > bad


def test_batch_equals_single(hybrid: SupportChecker) -> None:
    pairs = SUPPORTED[:2] + UNSUPPORTED[:2]
    assert hybrid.scores(pairs) == pytest.approx([hybrid.score(p, h) for p, h in pairs], abs=1e-5)


def test_factory_kinds(embedder: Embedder) -> None:
    assert isinstance(make_support_checker(), LexicalChecker)  # auto = the best measured offline checker
    assert isinstance(make_support_checker("hybrid", model=embedder), HybridChecker)
    assert isinstance(make_support_checker("hybrid", model=embedder.model), HybridChecker)  # a SentenceTransformer
    assert make_support_checker("lexical", threshold=0.7).threshold == 0.7
    assert isinstance(make_support_checker("lexical"), SupportChecker)
    with pytest.raises(SupportModelUnavailable):
        make_support_checker("nli")
    with pytest.raises(ValueError):
        make_support_checker("oracle")


def test_sentence_transformer_and_embedder_agree(embedder: Embedder) -> None:
    a = make_support_checker("hybrid", model=embedder).score(*SUPPORTED[1])
    b = make_support_checker("hybrid", model=embedder.model).score(*SUPPORTED[1])
    assert a == pytest.approx(b, abs=1e-4)


def test_module_threshold() -> None:
    assert is_supported(DEFAULT_THRESHOLD) and not is_supported(DEFAULT_THRESHOLD - 0.01)


def test_best_sentence_points_at_the_supporting_sentence() -> None:
    span = make_support_checker("lexical").best_sentence(STRIKE, "3,400 trains were cancelled.")
    assert span is not None
    assert STRIKE[span[0] : span[1]].startswith("The strike, the first since 2023")


def test_ordinals_are_numbers_to_the_check_only() -> None:
    from rag.answer.policy import missing_anchors
    from rag.verify import _numbers

    assert _numbers("for the sixth year, the 21st time", ordinals=True) == {"6", "21"}
    assert _numbers("the first time, a second look", ordinals=True) == set()  # not counts
    # The refusal decision's question anchors read numbers as before: an ordinal there is no new anchor.
    assert _numbers("for the sixth year") == set()
    assert missing_anchors("Which country was named the happiest for the sixth year?", [HAPPY]) == []


# The claim's best sentence refers back to its name ("She", "The carrier"), or names only a date or an age: the
# "joined" gate does not apply (it halved these to 0.5, a pass only at the threshold's edge).
REFERS_BACK = [
    ("Gov. Lena Ortiz spoke on Sunday. She declared a state of emergency for 11 counties as the storm approached.",
     "Lena Ortiz declared a state of emergency as the storm approached."),
    ("Brenna Air cancelled thousands of flights over the holidays. The carrier said it would reimburse 2 million "
     "travellers for meals.", "Brenna Air said it would reimburse travellers for meals."),
    ("Safety Tomas Varga collapsed during the game. Doctors said on Jan. 5 that the 24-year-old was awake.",
     "Doctors said Tomas Varga was awake."),
]


@pytest.mark.parametrize(("premise", "hypothesis"), REFERS_BACK)
def test_a_sentence_referring_back_keeps_its_full_score(premise: str, hypothesis: str) -> None:
    assert make_support_checker("lexical").score(premise, hypothesis) == pytest.approx(1.0)


def test_a_digit_ordinal_is_a_figure_of_the_claim() -> None:
    checker = make_support_checker("lexical")
    assert not checker.is_supported(checker.score("Norland finished 5th in the happiness poll.",
                                                  "Norland finished 1st in the happiness poll."))
    # The passage's word "second" supports the claim's "2nd"; a claim's "the first time" is no figure.
    assert checker.is_supported(checker.score("Norland finished second in the happiness poll.",
                                              "Norland finished 2nd in the happiness poll."))
    assert checker.is_supported(checker.score("It was the first time the team won the cup.",
                                              "It was the first time the team won the cup."))


def test_a_back_reference_vouches_only_for_the_name_just_before_it() -> None:
    checker = make_support_checker("lexical")
    premise = ("Gov. Lena Ortiz spoke on Sunday. She declared a state of emergency for 11 counties. "
               "Mayor Tom Varga criticized the order on Monday.")
    right = checker.score(premise, "Lena Ortiz declared a state of emergency.")
    swapped = checker.score(premise, "Tom Varga declared a state of emergency.")
    assert checker.is_supported(right) and not checker.is_supported(swapped)
