"""The combined refusal decision's fit (rag/evals/tune_refusal.py)."""

from __future__ import annotations

import numpy as np

from rag.evals.tune_refusal import fit_logistic, scores


def test_the_logistic_fit_leans_each_feature_the_way_the_data_does() -> None:
    # Unanswerable (y=1) when coverage is low and a name is missed; coverage the stronger signal.
    rng = np.random.default_rng(0)
    coverage = rng.uniform(0, 1, 400)
    missed = rng.integers(0, 2, 400).astype(float)
    y = ((2.5 - 5.0 * coverage + 1.0 * missed + rng.normal(0, 0.5, 400)) > 0).astype(float)
    weights, intercept = fit_logistic(np.column_stack([coverage, missed]), y)
    assert weights[0] < 0 < weights[1] and abs(weights[0]) > abs(weights[1])
    predicted = (np.column_stack([coverage, missed]) @ weights + intercept) > 0
    assert (predicted == y.astype(bool)).mean() > 0.9


def test_scores_count_refusals_of_answerable_and_unanswerable_questions() -> None:
    precision, recall, false_rate, _ = scores([True, True, False, False], [False, True, True, False])
    assert (precision, recall, false_rate) == (0.5, 0.5, 0.5)
