"""The ranker-fitting tool: the fit puts weight on the feature that marks gold sentences; measure counts hits."""

from __future__ import annotations

import numpy as np

from rag.answer.ranking import FEATURES
from rag.evals.fit_ranker import Question, fit, measure


def question(qid: str, gold_at: int, refused: bool = False) -> Question:
    """Three sentences; only the gold one has the `typed` feature, and the first is closest by cosine."""
    features = np.zeros((3, len(FEATURES)))
    features[:, FEATURES.index("cosine")] = [0.8, 0.5, 0.4]
    features[gold_at, FEATURES.index("typed")] = 1.0
    labels = np.zeros(3)
    labels[gold_at] = 1.0
    return Question(qid, [f"{qid} s{i}." for i in range(3)], np.array([1, 1, 2]), np.array([0, 1, 0]), features,
                    labels, refused)


def test_the_fit_learns_the_feature_that_marks_gold_sentences() -> None:
    questions = [question(f"q{i}", gold_at=1 + i % 2) for i in range(20)]
    cosine_only = np.zeros(len(FEATURES))
    cosine_only[FEATURES.index("cosine")] = 1.0
    assert measure(questions, cosine_only)["top1"] == 0.0
    weights = fit(questions, l2=0.01)
    assert weights[FEATURES.index("typed")] > 1.0
    result = measure(questions, weights, margin=0.0, max_sentences=1)
    assert result["top1"] == 1.0 and result["answer"] == 1.0 and result["answered"] == 20
    held = fit(questions, l2=0.01, drop=frozenset(["typed"]))
    assert held[FEATURES.index("typed")] == 0.0


def test_refused_questions_count_as_hits_but_not_as_answered() -> None:
    weights = np.zeros(len(FEATURES))
    weights[FEATURES.index("typed")] = 1.0
    result = measure([question("a", 1), question("b", 2, refused=True)], weights)
    assert result["n"] == 2 and result["top1"] == 1.0 and result["answered"] == 1
