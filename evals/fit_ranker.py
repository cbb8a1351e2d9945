"""Fit and measure the sentence ranker's weights (rag/answer/ranking.py) on a recorded eval run.

    python -m rag.evals.fit_ranker RUN_DIR --index INDEX [--title-aware] [--weights w1,w2,...] [--fit] [--l2 0.05]
        [--drop NAMES] [--folds 5] [--variants "NAMES;NAMES"] [--check RUN:INDEX ...] [--sweep]

RUN_DIR is a `rag eval` (or replay) run whose results.jsonl records the handed passages; INDEX is the index it
ran on (the passages' titles are read from it, and its embedding model embeds). Each answerable question's
passage sentences are labelled "holds a gold answer" (`gold_contained`, whole tokens). Prints, for the shipped
WEIGHTS (or --weights): over the questions whose passages hold a gold answer, how often the best sentence holds
it (top1) and the extractive answer (`answer_sentences`) holds it, how many answers hold it on questions the run
did not refuse, and the answer's mean words. --fit fits a conditional logit (softmax over one question's
sentences, mass on the gold ones, L2-penalised, scipy L-BFGS; --drop keeps features at 0) and prints the weights;
--folds N cross-validates it, --variants compares --drop lists by cross-validation, --check measures the weights
on another run (a set kept for checking), --sweep prints hit rate and words by margin and max_sentences. Writes
nothing. Fit and tune on held-out questions only (docs/design.md, "Sentence ranking").
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag.answer.generate import Candidate, answer_sentences
from rag.answer.ranking import FEATURES, SECOND_SENTENCE_MARGIN, WEIGHTS, feature_matrix, passage_sentences
from rag.evals.metrics import gold_contained, normalize_answer


@dataclass
class Question:
    id: str
    sentences: list[str]
    passage: np.ndarray  # 1-based passage number per sentence
    position: np.ndarray
    features: np.ndarray
    labels: np.ndarray  # 1.0 if the sentence holds a gold answer
    refused: bool


def load_questions(run: Path, index: Path, title_aware: bool) -> list[Question]:
    from rag.embedding import embedder_for
    from rag.index import get_chunks, open_collection
    from rag.settings import Settings

    settings = Settings(index_dir=index)
    rows = [json.loads(line) for line in (run / "results.jsonl").read_text(encoding="utf-8").splitlines() if line]
    rows = [r for r in rows if r["answerable"] and any(normalize_answer(g) for g in r["answers"])]
    ids = sorted({p["chunk_id"] for r in rows for p in r.get("passages") or []})
    chunks = get_chunks(open_collection(settings), ids)
    embedder = embedder_for(settings)
    out = []
    for r in rows:
        passages = [chunks[p["chunk_id"]] for p in r.get("passages") or [] if p["chunk_id"] in chunks]
        sentence_rows = passage_sentences(passages)
        if not sentence_rows:
            continue
        question = r["standalone_question"]
        vectors = embedder.embed_documents([question] + [s.sentence for s in sentence_rows])
        features = feature_matrix(question, sentence_rows, passages, vectors[1:] @ vectors[0], title_aware)
        labels = np.array([gold_contained(s.sentence, r["answers"]) for s in sentence_rows])
        out.append(Question(r["id"], [s.sentence for s in sentence_rows],
                            np.array([s.passage for s in sentence_rows]), np.array([s.position for s in sentence_rows]),
                            features, labels, bool(r["refused"])))
    return out


def fit(questions: list[Question], l2: float, drop: frozenset[str] = frozenset()) -> np.ndarray:
    """Weights maximising sum over questions of log(softmax mass on the gold sentences) - l2 * |w|^2; the
    features named in `drop` keep weight 0."""
    from scipy.optimize import minimize

    usable = [q for q in questions if 0 < q.labels.sum() < len(q.labels)]

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        total, grad = l2 * float(w @ w), 2 * l2 * w
        for q in usable:
            s = q.features @ w
            p = np.exp(s - s.max())
            p /= p.sum()
            pos = p * q.labels
            mass = pos.sum()
            total -= float(np.log(mass))
            grad -= (pos / mass - p) @ q.features
        return total, grad

    bounds = [(0.0, 0.0) if name in drop else (None, None) for name in FEATURES]
    return minimize(loss, np.zeros(len(FEATURES)), jac=True, method="L-BFGS-B", bounds=bounds).x


def measure(questions: list[Question], weights: np.ndarray, margin: float = SECOND_SENTENCE_MARGIN,
            max_sentences: int = 2) -> dict[str, float]:
    """Over the questions whose passages hold a gold answer: the share whose best sentence holds it (top1), whose
    extractive answer holds it (answer), and whose answer holds it and was not refused in the run (answered);
    the answer's mean words."""
    held = [q for q in questions if q.labels.any()]
    top1 = answer = answered = words = 0.0
    for q in held:
        scores = q.features @ weights
        ranked = sorted((Candidate(q.sentences[i], int(q.passage[i]), int(q.position[i]), float(scores[i]))
                         for i in range(len(scores))), key=lambda c: -c.score)
        chosen = answer_sentences(ranked, max_sentences, margin)
        top1 += q.labels[int(np.argmax(scores))]
        hit = any(q.labels[q.sentences.index(c.sentence)] for c in chosen)
        answer += hit
        answered += hit and not q.refused
        words += sum(len(c.sentence.split()) for c in chosen)
    n = max(len(held), 1)
    return {"n": len(held), "top1": top1 / n, "answer": answer / n, "answered": answered, "words": words / n}


def cross_validated(questions: list[Question], l2: float, folds: int,
                    drop: frozenset[str] = frozenset()) -> dict[str, float]:
    order = np.random.default_rng(0).permutation(len(questions))
    hits = {"top1": 0.0, "answer": 0.0, "n": 0}
    for k in range(folds):
        held = set(order[k::folds])
        test = [questions[i] for i in order[k::folds]]
        train = [questions[i] for i in order if i not in held]
        result = measure(test, fit(train, l2, drop))
        hits["top1"] += result["top1"] * result["n"]
        hits["answer"] += result["answer"] * result["n"]
        hits["n"] += result["n"]
    n = hits["n"] or 1  # no question whose passages hold a gold answer: 0, not a division by zero
    return {"n": hits["n"], "top1": hits["top1"] / n, "answer": hits["answer"] / n}


def _line(label: str, result: dict[str, float]) -> str:
    extra = f"  answered (not refused) {int(result['answered'])}  words {result['words']:.1f}" if "words" in result else ""
    return f"{label:<28} n={result['n']}  top1 {result['top1']:.3f}  answer {result['answer']:.3f}{extra}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m rag.evals.fit_ranker")
    parser.add_argument("run", type=Path)
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--title-aware", action="store_true", help="coverage as quote repair counts it")
    parser.add_argument("--fit", action="store_true")
    parser.add_argument("--l2", type=float, default=0.05)
    parser.add_argument("--folds", type=int, default=0)
    parser.add_argument("--weights", help="comma-separated weights to measure instead of the shipped ones")
    parser.add_argument("--drop", default="", help="features fitted at weight 0 (comma-separated)")
    parser.add_argument("--variants", help="';'-separated --drop lists to compare by cross-validation")
    parser.add_argument("--check", action="append", default=[], metavar="RUN:INDEX",
                        help="also measure the weights (fitted or given) on this run, e.g. a set kept for checking")
    parser.add_argument("--sweep", action="store_true", help="answer hit rate and words by margin, max_sentences")
    args = parser.parse_args(argv)
    questions = load_questions(args.run, args.index, args.title_aware)
    weights = np.array([float(x) for x in args.weights.split(",")]) if args.weights else WEIGHTS
    print(_line("weights measured", measure(questions, weights)))
    drop = frozenset(filter(None, args.drop.split(",")))
    for variant in (args.variants or "").split(";") if args.variants else []:
        dropped = frozenset(filter(None, variant.split(",")))
        print(_line(f"CV without {variant or '-'}", cross_validated(questions, args.l2, args.folds or 5, dropped)))
    if args.fit:
        weights = fit(questions, args.l2, drop)
        print(_line("fitted here (in sample)", measure(questions, weights)))
        print("WEIGHTS = np.array([" + ", ".join(f"{w:.3f}" for w in weights) + "])")
        print("  " + ", ".join(f"{name} {w:+.3f}" for name, w in zip(FEATURES, weights, strict=True)))
    for check in args.check:
        run, index = check.rsplit(":", 1)
        checked = load_questions(Path(run), Path(index), args.title_aware)
        print(_line(f"{Path(run).name}: these weights", measure(checked, weights)))
        print(_line(f"{Path(run).name}: shipped", measure(checked, WEIGHTS)))
    if args.folds:
        print(_line(f"fitted, {args.folds}-fold CV", cross_validated(questions, args.l2, args.folds, drop)))
    if args.sweep:
        for max_sentences in (1, 2, 3):
            for margin in (0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0):
                if max_sentences == 1 and margin:
                    continue
                print(_line(f"max {max_sentences} margin {margin}", measure(questions, weights, margin, max_sentences)))


if __name__ == "__main__":
    main()
