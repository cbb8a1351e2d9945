import math

import pytest

from evals.metrics import (
    alce_citation_scores,
    exact_match,
    gold_contained,
    hit_at_k,
    latency_summary,
    mrr_at_k,
    normalize_answer,
    percentile,
    recall_at_k,
    refusal_scores,
    supported_share,
    token_f1,
)


def entails(premise: str, hypothesis: str) -> bool:
    """Toy entailment for tests: every hypothesis word appears in the premise."""
    return set(hypothesis.lower().split()) <= set(premise.lower().split())


def test_retrieval_metrics_dedupe_documents() -> None:
    ranked = ["a", "a", "b", "c", "d"]
    assert hit_at_k(ranked, ["c"], 1) == 0 and hit_at_k(ranked, ["c"], 3) == 1
    assert mrr_at_k(ranked, ["c"]) == pytest.approx(1 / 3)
    assert mrr_at_k(ranked, ["z"]) == 0
    assert recall_at_k(ranked, ["a", "d", "z"], 4) == pytest.approx(2 / 3)
    assert recall_at_k(ranked, [], 4) == 0


def test_squad_normalisation_and_answer_scores() -> None:
    assert normalize_answer("The  Platinum-Wolf!") == "platinumwolf"
    assert normalize_answer("An apple, a pear") == "apple pear"
    assert exact_match("the two weeks", ["Two weeks"]) == 1
    assert token_f1("two weeks in June", ["two weeks"]) == pytest.approx(2 * 0.5 * 1 / 1.5)
    assert token_f1("", ["x"]) == 0 and token_f1("", [""]) == 1
    assert gold_contained("It ran for two weeks [1].", ["two weeks"]) == 1
    assert gold_contained("It ran for twelve weeks", ["two weeks"]) == 0


def test_alce_recall_and_precision() -> None:
    p1, p2, p3 = "wolf ran two weeks", "exercise in june", "unrelated cats"
    scores = alce_citation_scores([
        ("wolf ran two weeks", [p1, p3]),  # p3 is irrelevant: alone it fails, p1 without it still entails
        ("wolf ran in june", [p1, p2]),  # needs both: neither alone entails, neither is irrelevant
        ("no citation here", []),  # recall 0, no citations
    ], entails)
    assert scores.recall == pytest.approx(2 / 3)
    assert scores.citations == 4
    assert scores.precision == pytest.approx(3 / 4)


def test_alce_unsupported_sentence_citations_are_not_precise() -> None:
    scores = alce_citation_scores([("dogs fly", ["cats sleep"])], entails)
    assert scores.recall == 0 and scores.precision == 0


def test_alce_empty_answer_conventions() -> None:
    assert alce_citation_scores([], entails).precision == 1.0
    assert alce_citation_scores([("x", [])], entails).precision == 0.0


def test_refusal_scores_and_edge_cases() -> None:
    s = refusal_scores([True, True, False, False], [False, True, False, True])
    assert s == {"refusal_precision": 0.5, "refusal_recall": 0.5, "false_refusal_rate": 0.5}
    none = refusal_scores([False, False], [True, False])
    assert none["refusal_precision"] is None and none["refusal_recall"] == 0
    everything = refusal_scores([True, True], [True, True])
    assert everything["refusal_recall"] is None and everything["false_refusal_rate"] == 1


def test_latency_and_shares() -> None:
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([10], 95) == 10
    assert math.isnan(percentile([], 50))
    assert latency_summary([1, 3])["mean"] == 2
    assert supported_share([True, False, True, True]) == 0.75 and supported_share([]) == 0
