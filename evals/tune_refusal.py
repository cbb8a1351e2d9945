"""Tune the refusal gates before generation (rag/answer/gates.py): run retrieval once per question, then sweep
the thresholds and report refusal precision/recall and the false-refusal rate on answerable questions.

    python -m rag.evals.tune_refusal [--dataset evals/squad2/questions.jsonl] [--corpus evals/squad2/corpus]
    python -m rag.evals.tune_refusal --dataset ../shared/data/news23-small/questions.jsonl \\
        --corpus ../shared/data/news23-small/corpus --index INDEX --sweep time

Questions are asked as of their `asked_on` date, as `rag eval` asks them. `--sweep plain` (default) sweeps
`min_relevance` × `min_question_coverage`, the gates of questions inside the corpus's dates; `--sweep time`
sweeps the gates of the two time standings (`fresh_days` / `min_question_coverage_fresh` for questions whose
retrieval found current news; `corpus_gap_days`, `min_question_coverage_past_corpus`,
`min_relevance_past_corpus` for questions asked after the corpus's newest article); `--sweep slide` sweeps the
coverage gate inside the corpus's dates as it slides with the best passage's cosine (`min_question_coverage`,
`coverage_per_relevance`, `coverage_pivot_relevance`); the other gates at their settings. `--weights idf|equal` sweeps the coverage gates with that `question_coverage_weights` (each term
weighted by its rarity in the corpus, or each alike); `--dump FILE` writes each question's best cosine and both
coverages and the combined decision's features. These sweeps are of the gates each on its own
(`refusal_decision` "thresholds"). Only retrieval and the gates run (no answer generation): the window refusal and
the anchor check come after, in `rag eval`. The best choice maximises F1 of refusing among settings whose
false-refusal rate stays at or below `--max-false-refusals`.

The combined decision (`refusal_decision` "combined", rag/answer/gates.py): `--sweep combined` sweeps its
`refusal_threshold`, counting the window refusal too; `--fit` fits its logistic model (gates.REFUSAL_MODEL) on
the dataset's questions inside the corpus's dates, prints the coefficients to ship, and chooses the threshold:

    python -m rag.evals.tune_refusal --dataset HELDOUT.jsonl --corpus ../shared/data/news23/corpus \
        --index INDEX --fit --max-false-refusals 0.09

Fit on questions you will not report on (news23 outside news23-small), as docs/benchmarks.md did; HELDOUT.jsonl is
written by `python -m rag.evals.heldout ../shared/data/news23/questions.jsonl \\
    --minus ../shared/data/news23-small/questions.jsonl --out HELDOUT.jsonl`.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import rag  # noqa: F401
from rag.answer.engine import answer_hits, time_context, without_time_words
from rag.answer.gates import (
    REFUSAL_MODEL,
    CorpusDates,
    RefusalFeatures,
    RefusalModel,
    best_relevance,
    combined_refusal,
    passage_coverage,
    refusal_features,
    term_rarity,
    thresholds,
    time_standing,
    window_is_empty,
)
from rag.embedding import embedder_for
from rag.evals.runner import RETRIEVE_K, default_index_dir, load_dataset
from rag.retrieve import HybridRetriever
from rag.settings import Settings, get_settings
from rag.sync import sync_corpus
from rag.types import SearchFilters

ROOT = Path(__file__).resolve().parent.parent

PLAIN = {"min_relevance": (0.0, 0.1, 0.2, 0.3, 0.4),
         "min_question_coverage": (0.0, 0.5, 0.6, 0.67, 0.75, 0.8, 0.9, 1.0)}
TIME = {"fresh_days": (7, 14, 30),
        "min_question_coverage_fresh": (0.0, 0.25, 0.34, 0.5, 0.67),
        "corpus_gap_days": (0, 7, 14, 30),
        "min_question_coverage_past_corpus": (0.67, 0.75, 0.8, 0.9),
        "min_relevance_past_corpus": (0.1, 0.5, 0.55, 0.6, 0.65)}
SLIDE = {"min_question_coverage": (0.67, 0.7, 0.75, 0.8),
         "coverage_per_relevance": (0.0, 0.5, 0.75, 1.0, 1.25, 1.5),
         "coverage_pivot_relevance": (0.5, 0.55, 0.6)}
COMBINED = {"refusal_threshold": tuple(round(-2.0 + 0.05 * i, 2) for i in range(81))}


@dataclass
class Retrieved:
    passages: list[Any]
    as_of: Any
    best: float  # best dense cosine
    coverage: float  # share of the question's terms (without its time words) the answer passages name
    idf_coverage: float  # the same share, each term weighted by its rarity in the corpus (gates.TermRarity)
    answerable: bool
    features: RefusalFeatures  # what the combined decision weighs (gates.refusal_features)
    window_refused: bool  # the window refusal ("no articles between …") answers it whatever the gates say


def retrieve_all(settings: Settings, retriever: HybridRetriever, rows: list[dict[str, Any]],
                 corpus: CorpusDates) -> list[Retrieved]:
    out = []
    idf = settings.model_copy(update={"question_coverage_weights": "idf"})
    for row in rows:
        filters = SearchFilters(as_of=row.get("asked_on"))
        as_of, window = time_context(row["question"], filters, settings)
        hits = retriever.search(row["question"], k=max(RETRIEVE_K, settings.answer_passages), filters=filters)
        passages = [h.chunk for h in answer_hits(hits, window, settings.answer_passages)]
        question = without_time_words(row["question"], window)
        searched = window.news_about(settings.time_window_days_after, as_of) if window is not None else None
        out.append(Retrieved(passages, as_of, best_relevance(hits) if passages else -1.0,
                             passage_coverage(question, passages, []),
                             passage_coverage(question, passages, [], term_rarity(question, idf)),
                             bool(row["answerable"]),
                             refusal_features(question, [], hits, passages, row["question"]),
                             searched is not None and window_is_empty(searched, hits, corpus, settings)))
    return out


def scores(refused: list[bool], answerable: list[bool]) -> tuple[float, float, float, float]:
    """(refusal precision, refusal recall, false-refusal rate, F1 of refusing)."""
    tp = sum(r and not a for r, a in zip(refused, answerable, strict=True))
    fp = sum(r and a for r, a in zip(refused, answerable, strict=True))
    unanswerable = answerable.count(False)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / unanswerable if unanswerable else 0.0
    false_rate = fp / (len(answerable) - unanswerable) if len(answerable) > unanswerable else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, false_rate, f1


def grid(space: dict[str, tuple[float, ...]]) -> Iterator[dict[str, float]]:
    for values in itertools.product(*space.values()):
        yield dict(zip(space, values, strict=True))


def gates_refuse(r: Retrieved, corpus: CorpusDates | None, tuned: Settings,
                 model: RefusalModel = REFUSAL_MODEL) -> bool:
    """As gates.retrieval_refusal decides, on the measured features (and, for the combined decision, with the
    window refusal, which answers the question whatever the gates say)."""
    if not r.passages:
        return True
    standing = time_standing(r.passages, r.as_of, corpus, tuned)
    if tuned.refusal_decision == "combined" and standing.regime != "past corpus":
        return r.window_refused or combined_refusal(r.features, standing, tuned, model) is not None
    min_relevance, min_coverage = thresholds(standing, tuned, r.best)
    covered = r.idf_coverage if tuned.question_coverage_weights == "idf" else r.coverage
    return r.best < min_relevance or covered < min_coverage


def sweep(settings: Settings, retrieved: list[Retrieved], corpus: CorpusDates | None,
          space: dict[str, tuple[float, ...]], max_false: float,
          model: RefusalModel = REFUSAL_MODEL) -> dict[str, float] | None:
    answerable = [r.answerable for r in retrieved]
    print(f"{len(retrieved)} questions, {answerable.count(False)} unanswerable\n")
    print(" ".join(f"{k:>{len(k)}}" for k in space), "precision recall false-refusal    F1")
    best: tuple[float, dict[str, float], tuple[float, ...]] | None = None
    for point in grid(space):
        tuned = settings.model_copy(update=point)
        result = scores([gates_refuse(r, corpus, tuned, model) for r in retrieved], answerable)
        print(" ".join(f"{v:>{len(k)}}" for k, v in point.items()),
              f"{result[0]:>9.3f} {result[1]:>6.3f} {result[2]:>13.3f} {result[3]:>5.3f}")
        if result[2] <= max_false and (best is None or result[3] > best[0]):
            best = (result[3], point, result)
    if not best:
        return None
    _, point, (precision, recall, false_rate, f1) = best
    print(f"\nchosen: {point} → refusal precision {precision:.3f}, recall {recall:.3f}, "
          f"false-refusal rate {false_rate:.3f}, F1 {f1:.3f}")
    return point


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1.0, steps: int = 3000) -> tuple[np.ndarray, float]:
    """Weights and intercept of a logistic regression (L2-penalised, by gradient descent on standardised
    features; deterministic), in the features' own units."""
    mean, scale = x.mean(0), x.std(0) + 1e-9
    z = (x - mean) / scale
    w, b = np.zeros(z.shape[1]), 0.0
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(z @ w + b)))
        w -= 0.5 * (z.T @ (p - y) / len(y) + l2 * w / len(y))
        b -= 0.5 * float((p - y).mean())
    return w / scale, b - float((w / scale) @ mean)


def fit(settings: Settings, retrieved: list[Retrieved], corpus: CorpusDates | None, max_false: float) -> None:
    """Fit the combined decision's model on the questions inside the corpus's dates that it decides (not those
    the window refusal answers), then choose the threshold over the whole decision on the same questions."""
    tuned = settings.model_copy(update={"refusal_decision": "combined"})
    names = list(REFUSAL_MODEL.weights)
    decided = [r for r in retrieved if r.passages and not r.window_refused
               and time_standing(r.passages, r.as_of, corpus, tuned).regime == "in corpus"]
    x = np.array([[r.features.values()[n] for n in names] for r in decided])
    y = np.array([0.0 if r.answerable else 1.0 for r in decided])
    weights, intercept = fit_logistic(x, y)
    model = RefusalModel(round(intercept, 2), {n: round(float(w), 2) for n, w in zip(names, weights, strict=True)})
    print(f"fitted on {len(decided)} questions inside the corpus's dates ({int(y.sum())} unanswerable): {model}\n")
    chosen = sweep(tuned, retrieved, corpus, COMBINED, max_false, model)
    if chosen is not None:
        odds = chosen["refusal_threshold"]
        print(f"refusal_threshold {odds} (probability {1 / (1 + math.exp(-odds)):.2f})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", type=Path, default=ROOT / "evals" / "squad2" / "questions.jsonl")
    parser.add_argument("--corpus", type=Path, default=ROOT / "evals" / "squad2" / "corpus")
    parser.add_argument("--index", type=Path, help="index folder, as `rag --index` (default: rag eval's)")
    parser.add_argument("--sweep", choices=("plain", "time", "slide", "combined"), default="plain")
    parser.add_argument("--fit", action="store_true", help="fit the combined decision's logistic model and "
                        "choose its threshold (rag/answer/gates.py REFUSAL_MODEL); no sweep")
    parser.add_argument("--max-false-refusals", type=float, default=0.20)
    parser.add_argument("--weights", choices=("idf", "equal"), help="question_coverage_weights to sweep "
                        "(default: the setting)")
    parser.add_argument("--dump", type=Path, help="write each question's best cosine and coverages (JSON lines)")
    args = parser.parse_args()
    settings = get_settings(corpus_dir=args.corpus)
    if args.weights:
        settings = settings.model_copy(update={"question_coverage_weights": args.weights})
    # As `rag eval`: an explicit --index is used as given, else the eval index of the corpus.
    settings = settings.model_copy(update={"index_dir": args.index or default_index_dir(settings, settings.corpus_dir)})
    embedder = embedder_for(settings)
    sync_corpus(settings, embedder=embedder)
    retriever = HybridRetriever(settings, embedder=embedder)
    rows = load_dataset(args.dataset)
    corpus = CorpusDates.from_records(retriever.catalog().records)
    retrieved = retrieve_all(settings, retriever, rows, corpus)
    if args.dump:
        with args.dump.open("w") as out:
            for row, r in zip(rows, retrieved, strict=True):
                out.write(json.dumps({"id": row["id"], "answerable": r.answerable, "best": r.best,
                                      "coverage": r.coverage, "idf_coverage": r.idf_coverage,
                                      **r.features.values(), "missing_numbers": r.features.missing_numbers,
                                      "window_refused": r.window_refused,
                                      "regime": time_standing(r.passages, r.as_of, corpus, settings).regime})
                          + "\n")
    if args.fit:
        fit(settings, retrieved, corpus, args.max_false_refusals)
        return
    # The threshold sweeps are of the gates each on its own; "combined" sweeps the combined decision's threshold.
    decision = "combined" if args.sweep == "combined" else "thresholds"
    settings = settings.model_copy(update={"refusal_decision": decision})
    space = {"plain": PLAIN, "time": TIME, "slide": SLIDE, "combined": COMBINED}[args.sweep]
    sweep(settings, retrieved, corpus, space, args.max_false_refusals)


if __name__ == "__main__":
    main()
