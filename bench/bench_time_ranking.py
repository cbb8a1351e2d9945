"""Retrieval only, over a dataset with `asked_on` (news23): Hit@k and MRR@10 of time-ranking variants, side by side.

The same metrics as `rag eval` (evals/metrics.py: article-level over the first k distinct articles shown, and
story-level where a result also counts its grouped copies), without answering, so variants are quick to
compare. Uses an existing index (`--index`, e.g. a copy of /work/cache/n23s) and syncs it first.

Run: .venv/bin/python -m bench.bench_time_ranking --index /tmp/n23s \
        --corpus ../shared/data/news23-small/corpus ../shared/data/news23-small/questions.jsonl
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import bench.common  # noqa: F401  (offline mode)
from rag.embedding import embedder_for
from rag.evals import metrics as m
from rag.evals.runner import load_dataset
from rag.retrieve import HybridRetriever
from rag.settings import get_settings
from rag.sync import sync_corpus
from rag.types import SearchFilters

VARIANTS: dict[str, tuple[bool, dict[str, object]]] = {
    # name: (use asked_on, settings overrides)
    "no as-of, no grouping": (False, {"time_window_ranking": False, "story_grouping": False}),
    "no as-of (today), grouping": (False, {}),
    "as-of filter only": (True, {"time_window_ranking": False, "story_grouping": False}),
    "as-of + windows, no grouping": (True, {"story_grouping": False}),
    "as-of + windows + grouping": (True, {}),
    "… + recency 0.5 (7 d)": (True, {"recency_weight": 0.5}),
    "… + recency 1 (7 d)": (True, {"recency_weight": 1.0}),
    "… + recency 1 (30 d)": (True, {"recency_weight": 1.0, "recency_half_life_days": 30.0}),
    "… + window boost 1 instead of strict": (True, {"time_window_boost": 1.0}),
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--only", nargs="*", help="variant names to run (default all)")
    args = parser.parse_args()
    base = get_settings(corpus_dir=args.corpus, index_dir=args.index)
    embedder = embedder_for(base)
    print(sync_corpus(base, embedder=embedder).summary_line())
    rows = [r for r in load_dataset(args.dataset) if r["gold_sources"]]
    print(f"{len(rows)} questions with gold sources\n")
    print("| variant | hit@1 | hit@5 | mrr@10 | story hit@1 | story hit@5 | story mrr@10 | s/q |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, (use_asked_on, overrides) in VARIANTS.items():
        if args.only and name not in args.only:
            continue
        retriever = HybridRetriever(base.model_copy(update=overrides), embedder=embedder)
        scores: dict[str, list[float]] = {k: [] for k in ("h1", "h5", "mrr", "sh1", "sh5", "smrr")}
        started = time.perf_counter()
        for row in rows:
            filters = SearchFilters(as_of=row.get("asked_on") if use_asked_on else None)
            hits = retriever.search(row["question"], k=10, filters=filters)
            ranked = [h.chunk.source for h in hits]
            stories = [[h.chunk.source, *(c["source"] for c in h.also)] for h in hits]
            gold = row["gold_sources"]
            scores["h1"].append(m.hit_at_k(ranked, gold, 1))
            scores["h5"].append(m.hit_at_k(ranked, gold, 5))
            scores["mrr"].append(m.mrr_at_k(ranked, gold, 10))
            scores["sh1"].append(m.story_hit_at_k(stories, gold, 1))
            scores["sh5"].append(m.story_hit_at_k(stories, gold, 5))
            scores["smrr"].append(m.story_mrr_at_k(stories, gold, 10))
        per_q = (time.perf_counter() - started) / len(rows)
        mean = {k: sum(v) / len(v) for k, v in scores.items()}
        print(f"| {name} | {mean['h1']:.3f} | {mean['h5']:.3f} | {mean['mrr']:.3f} | {mean['sh1']:.3f} | "
              f"{mean['sh5']:.3f} | {mean['smrr']:.3f} | {per_q:.2f} |", flush=True)


if __name__ == "__main__":
    main()
