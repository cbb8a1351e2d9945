"""Retrieval replay (issue 11): query expansion by pseudo-relevance feedback, the retriever's RAG_FEEDBACK_*
settings (rag/retrieve.py HybridRetriever._expanded; docs/benchmarks.md, "Query expansion (issue 11)").

Runs the system's search (`HybridRetriever.search`, k = 10, as of `asked_on`, as `rag eval` runs it) over the
answerable questions with gold sources, once with the defaults and once per variant, and prints Hit@k / MRR@10 over
distinct stories (`rag eval`'s story metrics). The grid (fixed before any figure was read): lexical RM3-style
expansion, feedback stories N in {3, 5, 10} x terms M in {5, 10, 20} x weight {0.2, 0.5}; dense Rocchio, N in
{3, 5, 10} x beta {0.2, 0.5}; then the best lexical and the best dense variant together. The choice rule: the
largest Hit@5 + MRR@10 (on held-out questions only), and only if above the system's.

A variant's first pass is the default search, so it is computed once per question and reused (`ReplayRetriever`);
`--latency` instead times every search afresh, the defaults and the given variants in turn on each question, and
prints p50 / p95 and the ratio to the defaults.

Run: .venv/bin/python -m bench.bench_query_expansion /tmp/s6/news23-heldout.jsonl \
        --corpus ../shared/data/news23/corpus --index COPY_OF_n23full-idx
     ... --variant feedback_stories=5,feedback_terms=10,feedback_weight=0.5 [--variant ...] [--latency]
"""

from __future__ import annotations

import itertools
import statistics
import sys
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from tqdm import tqdm

import bench.common  # offline mode on import; dataset_parser
from bench.bench_document_rerank import mean, synced_retriever
from bench.bench_retrieval_bound import hit_stories, scores_of
from bench.common import percentile
from rag.evals.runner import RETRIEVE_K, load_dataset
from rag.retrieve import HybridRetriever, _Pool, _Scope
from rag.settings import Settings
from rag.types import SearchFilters

Variant = dict[str, Any]
LEXICAL_GRID = [{"feedback_stories": n, "feedback_terms": m, "feedback_weight": w}
                for n, m, w in itertools.product((3, 5, 10), (5, 10, 20), (0.2, 0.5))]
DENSE_GRID = [{"feedback_stories": n, "feedback_beta": b} for n, b in itertools.product((3, 5, 10), (0.2, 0.5))]


class ReplayRetriever(HybridRetriever):
    """The system's retriever whose first pass (the default search's candidate stage) is computed once per question
    and shared by every variant (one index per process: the key holds no index): the expanded pass alone differs
    between them."""

    first: dict[tuple[str, int, bytes], _Pool] = {}

    def _pool(self, scope: _Scope, search_vector: np.ndarray, vector: np.ndarray, k: int,
              expansion: dict[str, float] | None = None, dense: list[tuple[str, float]] | None = None,
              bm25: list[tuple[str, float]] | None = None, known_sim: dict[str, float] | None = None) -> _Pool | None:
        if expansion is not None or dense is not None or bm25 is not None or search_vector is not vector:
            return super()._pool(scope, search_vector, vector, k, expansion, dense, bm25, known_sim)
        key = (scope.lexical_text, scope.as_of_int, vector.tobytes())
        if key not in self.first:
            self.first[key] = super()._pool(scope, search_vector, vector, k)  # type: ignore[assignment]
        pool = self.first[key]
        # The caller adds chunks to these (the shown copy of a story): the cached pool stays as it was.
        return None if pool is None else _Pool(pool.dense, pool.bm25, dict(pool.chunks), dict(pool.dense_sim),
                                               pool.base, pool.in_window, pool.ranking_window, pool.ranked)


def label(variant: Variant) -> str:
    if not variant:
        return "system (no expansion)"
    short = {"feedback_stories": "N", "feedback_terms": "M", "feedback_weight": "w", "feedback_beta": "beta"}
    return ", ".join(f"{short.get(key, key)} {value:g}" for key, value in variant.items())


def parse_variant(text: str) -> Variant:
    pairs = (item.split("=", 1) for item in text.split(",") if item)
    return {key.strip(): float(value) if "." in value else int(value) for key, value in pairs}


def replay(settings: Settings, embedder: Any, rows: Sequence[dict[str, Any]], variant: Variant,
           cls: type[HybridRetriever] = ReplayRetriever) -> list[dict[str, float]]:
    retriever = cls(settings.model_copy(update=variant), embedder=embedder)
    scores = []
    for row in tqdm(rows, desc=label(variant), unit="q", file=sys.stderr, leave=False):
        hits = retriever.search(row["question"], k=RETRIEVE_K, filters=SearchFilters(as_of=row.get("asked_on")))
        scores.append(scores_of(hit_stories(hits), row["gold_sources"]))
    return scores


def row_line(name: str, s: dict[str, float]) -> str:
    return (f"| {name} | {s['hit@1']:.3f} | {s['hit@5']:.3f} | {s['hit@10']:.3f} | {s['mrr@10']:.3f} | "
            f"{s['hit@5'] + s['mrr@10']:.3f} |")


def grid(settings: Settings, embedder: Any, rows: Sequence[dict[str, Any]], variants: list[Variant],
         pre_registered: bool) -> None:
    print("| variant | hit@1 | hit@5 | hit@10 | mrr@10 | hit@5 + mrr@10 |\n|---|---:|---:|---:|---:|---:|")
    system = mean(replay(settings, embedder, rows, {}))
    print(row_line(label({}), system), flush=True)
    results: list[tuple[Variant, dict[str, float]]] = []
    for variant in variants:
        results.append((variant, mean(replay(settings, embedder, rows, variant))))
        print(row_line(label(variant), results[-1][1]), flush=True)
    if pre_registered:  # the whole grid: then the best lexical and the best dense variant together
        def best(kind: str) -> tuple[Variant, dict[str, float]]:
            return max(((v, s) for v, s in results if kind in v), key=lambda vs: vs[1]["hit@5"] + vs[1]["mrr@10"])

        lexical, dense = best("feedback_terms")[0], best("feedback_beta")[0]
        both = {**lexical, "feedback_beta": dense["feedback_beta"]}
        if lexical["feedback_stories"] != dense["feedback_stories"]:
            print("(the best lexical and dense variants differ in N; together at the lexical one's N)")
        results.append((both, mean(replay(settings, embedder, rows, both))))
        print(row_line(label(both), results[-1][1]), flush=True)
        chosen, s = max(results, key=lambda vs: vs[1]["hit@5"] + vs[1]["mrr@10"])
        above = s["hit@5"] + s["mrr@10"] > system["hit@5"] + system["mrr@10"]
        print(f"\nchosen by the rule: {label(chosen)}" + ("" if above else " (NOT above the system: none chosen)"))


def latency(settings: Settings, embedder: Any, rows: Sequence[dict[str, Any]], variants: list[Variant]) -> None:
    retrievers = [HybridRetriever(settings.model_copy(update=v), embedder=embedder) for v in [{}, *variants]]
    times: list[list[float]] = [[] for _ in retrievers]
    for row in rows[:5]:  # warm: model, caches, the lexical reader
        for retriever in retrievers:
            retriever.search(row["question"], k=RETRIEVE_K, filters=SearchFilters(as_of=row.get("asked_on")))
    for row in tqdm(rows, desc="latency", unit="q", file=sys.stderr, leave=False):
        for retriever, spent in zip(retrievers, times, strict=True):
            started = time.perf_counter()
            retriever.search(row["question"], k=RETRIEVE_K, filters=SearchFilters(as_of=row.get("asked_on")))
            spent.append(time.perf_counter() - started)
    base = percentile(times[0], 50)
    print("| variant | search p50 | p95 | mean | p50 / system |\n|---|---:|---:|---:|---:|")
    for variant, spent in zip([{}, *variants], times, strict=True):
        ms = [t * 1000 for t in spent]
        print(f"| {label(variant)} | {percentile(ms, 50):.0f} ms | {percentile(ms, 95):.0f} ms | "
              f"{statistics.fmean(ms):.0f} ms | x{percentile(spent, 50) / base:.2f} |")


def main(argv: Sequence[str] | None = None) -> None:
    parser = bench.common.dataset_parser(__doc__)
    parser.add_argument("--variant", action="append", default=[],
                        help="settings as key=value,... (default: the whole grid)")
    parser.add_argument("--latency", action="store_true", help="time every search afresh instead of scoring")
    args = parser.parse_args(argv)
    settings, retriever = synced_retriever(args.corpus, args.index)
    rows = [r for r in load_dataset(args.dataset) if r["answerable"] and r["gold_sources"]]
    variants = [parse_variant(v) for v in args.variant] or [*LEXICAL_GRID, *DENSE_GRID]
    print(f"{len(rows)} answerable questions with gold sources; k = {RETRIEVE_K} stories, as of asked_on\n")
    if args.latency:
        latency(settings, retriever.embedder, rows, variants)
    else:
        grid(settings, retriever.embedder, rows, variants, pre_registered=not args.variant)


if __name__ == "__main__":
    main()
