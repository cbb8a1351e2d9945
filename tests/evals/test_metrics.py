"""Hand-made cases with known values for evals.metrics."""

import math

import pytest

from rag.evals.metrics import (
    alce_citation_scores,
    answer_found,
    contained_form,
    dedupe,
    evidence_recall,
    exact_match,
    gold_contained,
    gold_first_sentence,
    hit_at_k,
    latency_summary,
    mrr_at_k,
    names_gold,
    normalize_answer,
    percentile,
    recall_at_k,
    refusal_scores,
    supported_share,
    token_f1,
)


def entails(premise: str, hypothesis: str) -> bool:
    """Toy entailment for tests: every hypothesis word appears among the premise words."""
    return set(hypothesis.lower().split()) <= set(premise.lower().split())


# ----------------------------------------------------------------------------------------- retrieval


def test_dedupe_keeps_first_occurrence() -> None:
    assert dedupe(["b", "a", "b", "c", "a"]) == ["b", "a", "c"]


def test_hit_at_k_counts_distinct_documents() -> None:
    ranked = ["a.md", "a.md", "a.md", "b.md", "c.md"]  # three chunks of a.md, then b.md: b is rank 2
    assert hit_at_k(ranked, ["b.md"], 1) == 0.0
    assert hit_at_k(ranked, ["b.md"], 2) == 1.0
    assert hit_at_k(ranked, ["z.md"], 10) == 0.0
    assert hit_at_k(ranked, [], 5) == 0.0


def test_mrr_at_k() -> None:
    ranked = ["a", "a", "b", "c", "d"]
    assert mrr_at_k(ranked, ["c"]) == pytest.approx(1 / 3)
    assert mrr_at_k(ranked, ["c", "a"]) == 1.0  # first gold found wins
    assert mrr_at_k(ranked, ["d"], k=3) == 0.0  # d is the 4th distinct document
    assert mrr_at_k(ranked, ["d"], k=4) == 0.25
    assert mrr_at_k(ranked, ["z"]) == 0.0


def test_recall_at_k() -> None:
    ranked = ["a", "a", "b", "c", "d"]
    assert recall_at_k(ranked, ["a", "d", "z"], 4) == pytest.approx(2 / 3)
    assert recall_at_k(ranked, ["a", "d", "z"], 2) == pytest.approx(1 / 3)
    assert recall_at_k(ranked, ["a", "a"], 1) == 1.0  # gold is a set
    assert recall_at_k(ranked, [], 4) == 0.0


def test_k_must_be_positive() -> None:
    with pytest.raises(ValueError):
        hit_at_k(["a"], ["a"], 0)


# -------------------------------------------------------------------------------------------- answers


@pytest.mark.parametrize(("raw", "normalised"), [
    ("The Denver Broncos", "denver broncos"),
    ("  An apple, a pear!  ", "apple pear"),
    ("Platinum-Wolf", "platinumwolf"),  # punctuation is deleted, not replaced by a space
    ("the theatre", "theatre"),  # only whole words are articles
    ("A.D. 1066", "ad 1066"),
    ("Saint-Étienne's", "saintétiennes"),
    ("“quoted”", "“quoted”"),  # official SQuAD strips ASCII punctuation only
    ("", ""),
])
def test_squad_normalisation(raw: str, normalised: str) -> None:
    assert normalize_answer(raw) == normalised


def test_exact_match() -> None:
    assert exact_match("the two weeks", ["Two weeks"]) == 1.0
    assert exact_match("Two weeks.", ["a fortnight", "two weeks"]) == 1.0
    assert exact_match("two weeks in June", ["two weeks"]) == 0.0
    # SQuAD 2.0: no (non-empty) gold means "no answer"; only an empty prediction matches it
    assert exact_match("", []) == 1.0 and exact_match("", [""]) == 1.0
    assert exact_match("Paris", []) == 0.0


def test_token_f1() -> None:
    # pred 4 tokens, gold 2, common 2: P = 0.5, R = 1, F1 = 2/3
    assert token_f1("two weeks in June", ["two weeks"]) == pytest.approx(2 / 3)
    # max over golds
    assert token_f1("two weeks in June", ["three days", "two weeks"]) == pytest.approx(2 / 3)
    # multiset overlap: pred "x y y" vs gold "y y z" → common 2, P = R = 2/3
    assert token_f1("x y y", ["y y z"]) == pytest.approx(2 / 3)
    assert token_f1("the cat", ["dog"]) == 0.0
    assert token_f1("", ["x"]) == 0.0 and token_f1("x", [""]) == 0.0 and token_f1("", [""]) == 1.0


def test_gold_contained() -> None:
    assert gold_contained("It ran for two weeks [1].", ["two weeks"]) == 1.0
    assert gold_contained("It ran for twelve weeks", ["two weeks"]) == 0.0
    assert gold_contained("It was built in 1990.", ["1"]) == 0.0  # whole tokens only
    assert gold_contained("The Warsaw pact", ["war"]) == 0.0
    assert gold_contained("The Warsaw pact", ["the WARSAW"]) == 1.0
    assert gold_contained("", []) == 1.0 and gold_contained("Paris", []) == 0.0


def test_names_gold_is_gold_contained_on_a_text_normalised_once() -> None:
    article = contained_form("Virginia’s governor named the “Safer with Susan” plan in 2019–2020.")
    assert names_gold(article, ["Virginia"]) and names_gold(article, ["nobody", "safer with susan"])
    assert names_gold(article, ["2020"]) and not names_gold(article, ["2019–20"])
    assert not names_gold(article, ["Virgin"])  # whole tokens only
    assert not names_gold(article, []) and not names_gold(article, ["“”"])  # nothing to name
    for gold in (["Virginia"], ["Virgin"], ["the plan"], ["Plan in 2019"]):
        assert names_gold(article, gold) == bool(gold_contained(article, gold))


def test_gold_first_sentence() -> None:
    lead = ["Buffalo Bills player Damar Hamlin remains hospitalized.", "He collapsed on Monday."]
    assert gold_first_sentence(lead, ["Buffalo Bills"]) == 1.0
    assert gold_first_sentence(lead[::-1], ["Buffalo Bills"]) == 0.0  # held by the answer, but not first
    assert gold_first_sentence([], ["Buffalo Bills"]) == 0.0  # a refusal
    assert gold_first_sentence(lead, []) == 0.0  # nothing to find


def test_gold_contained_reads_through_curly_quotes_and_possessives() -> None:
    # SQuAD's ASCII punctuation set leaves “ ” and ’ on the words; the answer still names the gold.
    assert gold_contained("Her slogan is “Safer with Susan” [1].", ["Safer with Susan"]) == 1.0
    assert gold_contained("coasted to victory in Virginia’s special election", ["Virginia"]) == 1.0
    assert gold_contained("Twitter labelled NPR's main account", ["NPR"]) == 1.0
    assert gold_contained("the Virginian delegation", ["Virginia"]) == 0.0  # still whole tokens
    assert gold_contained("MCDONALD'S CORP", ["McDonald's"]) == 1.0
    assert gold_contained("the 2019–2020 season", ["2019"]) == 1.0
    assert exact_match("“Safer with Susan”", ["Safer with Susan"]) == 0.0  # EM keeps SQuAD's normalisation


# ------------------------------------------------------------------------------------------ grounding


def test_alce_supported_single_citation() -> None:
    s = alce_citation_scores([("wolf ran", ["the wolf ran fast"])], entails)
    assert (s.recall, s.precision, s.sentences, s.citations) == (1.0, 1.0, 1, 1)


def test_alce_sentence_without_citation_scores_zero_recall() -> None:
    s = alce_citation_scores([("wolf ran", ["wolf ran"]), ("no citation here", [])], entails)
    assert s.recall == 0.5 and s.sentences == 2
    assert s.citations == 1 and s.precision == 1.0  # the uncited sentence adds no citation


def test_alce_citation_needed_jointly_is_not_irrelevant() -> None:
    # Neither passage alone entails the sentence; together they do. Removing either breaks entailment,
    # so condition (b) fails for both: both are precise.
    s = alce_citation_scores([("wolf ran in june", ["wolf ran", "in june"])], entails)
    assert s.recall == 1.0 and s.citations == 2 and s.precision == 1.0 and s.irrelevant_citations == 0


def test_alce_redundant_citation_is_irrelevant() -> None:
    # p3 alone does not entail (a) and p1 without it still does (b): irrelevant. p1 alone entails: precise.
    p1, p3 = "wolf ran two weeks", "unrelated cats"
    s = alce_citation_scores([("wolf ran two weeks", [p1, p3])], entails)
    assert s.recall == 1.0 and s.citations == 2 and s.precision == 0.5 and s.irrelevant_citations == 1


def test_alce_two_sufficient_citations_are_both_precise() -> None:
    # Each citation alone entails the sentence, so (a) fails for both: neither is irrelevant.
    s = alce_citation_scores([("wolf ran", ["wolf ran", "the wolf ran"])], entails)
    assert s.precision == 1.0 and s.irrelevant_citations == 0


def test_alce_unsupported_sentence_citations_are_not_precise() -> None:
    s = alce_citation_scores([("dogs fly", ["cats sleep", "dogs sleep"])], entails)
    assert s.recall == 0.0 and s.citations == 2 and s.precision == 0.0 and s.irrelevant_citations == 0


def test_alce_duplicate_citation_counts_twice_and_is_precise_when_it_entails() -> None:
    # "[1][1]": each copy alone entails, so neither is irrelevant (condition a fails).
    s = alce_citation_scores([("wolf ran", ["wolf ran", "wolf ran"])], entails)
    assert s.citations == 2 and s.precision == 1.0


def test_alce_mixed_answer() -> None:
    p1, p2, p3 = "wolf ran two weeks", "exercise in june", "unrelated cats"
    s = alce_citation_scores([
        ("wolf ran two weeks", [p1, p3]),  # supported; p1 precise, p3 irrelevant
        ("wolf ran in june", [p1, p2]),  # supported; needs both, both precise
        ("no citation here", []),  # recall 0, no citations
        ("dogs fly", [p3]),  # unsupported; its citation is imprecise
    ], entails)
    assert s.sentences == 4 and s.supported_sentences == 2 and s.recall == 0.5
    assert s.citations == 5 and s.precise_citations == 3 and s.irrelevant_citations == 1
    assert s.precision == pytest.approx(3 / 5)


def test_alce_at_most_citations_truncates() -> None:
    # With only the first citation kept, the sentence is unsupported.
    s = alce_citation_scores([("wolf ran in june", ["wolf ran", "in june"])], entails, at_most_citations=1)
    assert s.citations == 1 and s.recall == 0.0 and s.precision == 0.0


def test_alce_empty_cases() -> None:
    empty = alce_citation_scores([], entails)
    assert (empty.recall, empty.precision, empty.sentences, empty.citations) == (0.0, 0.0, 0, 0)
    uncited = alce_citation_scores([("x", [])], entails)
    assert (uncited.recall, uncited.precision, uncited.citations) == (0.0, 0.0, 0)


def test_supported_share() -> None:
    assert supported_share([True, False, True, True]) == 0.75
    assert supported_share([]) == 0.0


# -------------------------------------------------------------------------------------------- refusal


def test_refusal_scores_mixed() -> None:
    # q1 right refusal, q2 false refusal, q3 missed refusal, q4 right answer
    s = refusal_scores([True, True, False, False], [False, True, False, True])
    assert s == {"refusal_precision": 0.5, "refusal_recall": 0.5, "false_refusal_rate": 0.5}


def test_refusal_scores_none_refused() -> None:
    s = refusal_scores([False, False, False], [True, False, False])
    assert s == {"refusal_precision": None, "refusal_recall": 0.0, "false_refusal_rate": 0.0}


def test_refusal_scores_all_refused() -> None:
    s = refusal_scores([True, True, True, True], [True, False, False, True])
    assert s == {"refusal_precision": 0.5, "refusal_recall": 1.0, "false_refusal_rate": 1.0}


def test_refusal_scores_degenerate_sets() -> None:
    all_answerable = refusal_scores([True, False], [True, True])
    assert all_answerable == {"refusal_precision": 0.0, "refusal_recall": None, "false_refusal_rate": 0.5}
    all_unanswerable = refusal_scores([True, False], [False, False])
    assert all_unanswerable == {"refusal_precision": 1.0, "refusal_recall": 0.5, "false_refusal_rate": None}
    assert refusal_scores([], []) == {"refusal_precision": None, "refusal_recall": None, "false_refusal_rate": None}
    with pytest.raises(ValueError):
        refusal_scores([True], [True, False])


# -------------------------------------------------------------------------------------------- latency


def test_percentile_matches_numpy_linear() -> None:
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([4, 1, 3, 2], 0) == 1 and percentile([4, 1, 3, 2], 100) == 4
    # numpy.percentile([10, 20, 30, 40, 50], 95) == 48.0; ([1, 2, 3, 4], 95) == 3.85
    assert percentile([10, 20, 30, 40, 50], 95) == pytest.approx(48.0)
    assert percentile([1, 2, 3, 4], 95) == pytest.approx(3.85)
    assert percentile([10], 95) == 10
    assert math.isnan(percentile([], 50))
    with pytest.raises(ValueError):
        percentile([1], 101)


def test_percentile_agrees_with_numpy() -> None:
    np = pytest.importorskip("numpy")
    values = [3.1, 0.2, 9.9, 4.4, 4.4, 7.0, 1.5]
    for p in (0, 5, 25, 50, 90, 95, 99, 100):
        assert percentile(values, p) == pytest.approx(float(np.percentile(values, p)))


def test_latency_summary() -> None:
    s = latency_summary([100, 300, 200, 400])
    assert s["p50"] == 250 and s["mean"] == 250 and s["n"] == 4
    assert s["p95"] == pytest.approx(385.0)
    empty = latency_summary([])
    assert empty["n"] == 0 and math.isnan(empty["p50"]) and math.isnan(empty["mean"])


def test_evidence_recall_counts_only_answers_that_retrieval_found() -> None:
    passages = ["The exercise, named Platinum Wolf, ran for two weeks.", "Peskov spoke to reporters."]
    assert evidence_recall(["It was named Platinum Wolf."], passages, ["Platinum Wolf"]) == 1.0
    assert evidence_recall(["Peskov spoke to reporters."], passages, ["Platinum Wolf"]) == 0.0
    # Retrieval missed it: not the evidence's fault, not counted.
    assert evidence_recall(["anything"], passages, ["Dmitry Medvedev"]) is None
    assert evidence_recall(["anything"], passages, []) is None
    # Whole tokens, normalised: "wolf" is not found in "wolfram", case and punctuation do not matter.
    assert evidence_recall(["Wolfram."], ["Wolfram. Wolf."], ["wolf"]) == 0.0
    assert evidence_recall(["PLATINUM WOLF!"], passages, ["platinum wolf"]) == 1.0


def test_answer_found_in_any_text() -> None:
    assert answer_found(["Serbia hosted it.", "It was called Platinum Wolf."], ["platinum wolf"]) == 1.0
    assert answer_found(["Wolfram."], ["wolf"]) == 0.0
    assert answer_found(["anything"], []) == 0.0
