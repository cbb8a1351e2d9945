"""Tune the refusal gates on SQuAD 2.0 (evals/squad2): sweep `min_question_coverage` and `min_relevance`
and report, for each pair, refusal precision/recall and the false-refusal rate on answerable questions.

    python -m rag.evals.tune_refusal [--dataset evals/squad2/questions.jsonl] [--corpus evals/squad2/corpus]

Only retrieval and the gates run (no answer generation), so the sweep takes about a minute. The chosen
default maximises F1 of refusing among settings whose false-refusal rate stays at or below 20%.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import rag  # noqa: F401
from rag.answer.text import coverage
from rag.embedding import embedder_for
from rag.evals.runner import default_index_dir, load_dataset
from rag.retrieve import HybridRetriever
from rag.settings import get_settings
from rag.sync import sync_corpus

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", type=Path, default=ROOT / "evals" / "squad2" / "questions.jsonl")
    parser.add_argument("--corpus", type=Path, default=ROOT / "evals" / "squad2" / "corpus")
    parser.add_argument("--max-false-refusals", type=float, default=0.20)
    args = parser.parse_args()
    settings = get_settings(corpus_dir=args.corpus)
    settings = settings.model_copy(update={"index_dir": default_index_dir(settings, settings.corpus_dir)})
    embedder = embedder_for(settings)
    sync_corpus(settings, embedder=embedder)
    retriever = HybridRetriever(settings, embedder=embedder)
    rows = load_dataset(args.dataset)
    features = []
    for row in rows:
        hits = retriever.search(row["question"], k=settings.answer_passages)
        best = max((h.dense_score or 0.0 for h in hits), default=0.0)
        cov = coverage(row["question"], [f"{h.chunk.title} {h.chunk.text}" for h in hits])
        features.append((best, cov, bool(row["answerable"])))
    print(f"{len(rows)} questions, {sum(not a for *_, a in features)} unanswerable\n")
    print(f"{'min_relevance':>13} {'min_coverage':>12} {'precision':>9} {'recall':>6} {'false-refusal':>13} {'F1':>5}")
    best_choice = None
    for relevance in (0.0, 0.1, 0.2, 0.3, 0.4):
        for cov_min in (0.0, 0.5, 0.6, 0.67, 0.75, 0.8, 0.9, 1.0):
            refused = [(b < relevance or c < cov_min) for b, c, _ in features]
            tp = sum(r and not a for r, (_, _, a) in zip(refused, features, strict=True))
            fp = sum(r and a for r, (_, _, a) in zip(refused, features, strict=True))
            unans = sum(not a for *_, a in features)
            ans = len(features) - unans
            precision = tp / (tp + fp) if tp + fp else 0.0
            recall = tp / unans if unans else 0.0
            false_rate = fp / ans if ans else 0.0
            f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
            print(f"{relevance:>13.2f} {cov_min:>12.2f} {precision:>9.3f} {recall:>6.3f} {false_rate:>13.3f} {f1:>5.3f}")
            if false_rate <= args.max_false_refusals and (best_choice is None or f1 > best_choice[0]):
                best_choice = (f1, relevance, cov_min, precision, recall, false_rate)
    if best_choice:
        f1, relevance, cov_min, precision, recall, false_rate = best_choice
        print(f"\nchosen: min_relevance={relevance} min_question_coverage={cov_min} → refusal precision "
              f"{precision:.3f}, recall {recall:.3f}, false-refusal rate {false_rate:.3f}, F1 {f1:.3f}")


if __name__ == "__main__":
    main()
