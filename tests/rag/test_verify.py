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

SUPPORTED = [
    (STRIKE, "About 12,000 rail workers walked out on Monday."),
    (STRIKE, "The walkout led to 3,400 cancelled train services."),  # paraphrase
    (WOLF, "The Platinum Wolf drills lasted two weeks in June."),  # paraphrase, number word
    (MUSEUM, "Renovating the museum took three years and cost 48 million euros."),
    (STRIKE, "Rail operators offered workers a 4% pay increase, while the union wants 9%."),
    # Initials with or without full stops are one word ("U.S." is not the names "u" and "s").
    ("US embassy evacuated in Sudan. The United States evacuated the embassy in Khartoum on April 22.",
     "The U.S. embassy in Khartoum was evacuated on April 22."),
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
