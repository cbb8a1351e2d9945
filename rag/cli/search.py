"""`rag search`: hybrid search (dense + BM25, fused), one query or a batch file."""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from rag.cli.common import (
    add_filters,
    also_in,
    count,
    filters_from,
    out,
    plural,
    question_from,
    require_index,
    run_batch,
    settings_from,
)
from rag.stories import outlet


def register(sub: Any) -> None:
    p = sub.add_parser("search", help="hybrid search (dense + BM25, fused)")
    p.add_argument("query", nargs="?", help="what to search for")
    p.add_argument("-k", type=count(1), help="number of results (RAG_TOP_K, default 5)")
    p.add_argument("--json", action="store_true", help="print results as JSON")
    p.add_argument("--queries", metavar="FILE.jsonl", help='batch mode: lines {"id", "question"}; "-" for stdin')
    p.add_argument("--output", metavar="FILE", help="batch mode: write JSON lines here instead of stdout")
    add_filters(p)
    p.set_defaults(func=run)


def print_hit(hit: dict[str, Any]) -> None:
    date = hit.get("date") or "no date"
    inside = "  ·  in window" if hit.get("in_window") else ""
    # Outlet first, as the web chat's sources panel does; the file follows for `rag` commands that take one.
    out(f"[{hit['rank']}] score {hit['score']:.4f}  {outlet(hit.get('url'), hit['source'])}  ·  {hit['title']}  ·  "
        f"{date}{inside}  ({hit['source']})")
    if hit.get("also"):
        out("    " + also_in(hit["also"]))
    out(f"    chunk {hit['chunk_id']}  (dense #{hit.get('dense_rank') or '-'}, bm25 #{hit.get('bm25_rank') or '-'})")
    text = " ".join(hit["text"].split())
    out(f"    {text[:400]}{'…' if len(text) > 400 else ''}")
    out()


def run(args: argparse.Namespace) -> int:
    from rag.retrieve import HybridRetriever, question_window
    from rag.types import SearchFilters

    query = None if args.queries else question_from(args.query, "query")  # before any model loads
    settings = settings_from(args)
    filters = filters_from(args)
    retriever = HybridRetriever(settings)
    require_index(retriever)
    k = args.k or settings.top_k

    def search(question: str, filters: SearchFilters) -> dict[str, Any]:
        window = question_window(question, filters) if settings.time_window_ranking else None
        return {"as_of": filters.as_of, "window": window.to_dict() if window else None,
                "results": [h.to_dict() for h in retriever.search(question, k, filters)]}

    if args.queries:
        return run_batch(args.queries, args.output, lambda q: search(q["question"], filters_from(args, q)))
    started = time.perf_counter()
    found = search(query, filters)
    elapsed = (time.perf_counter() - started) * 1000
    if args.json:
        out(json.dumps({"query": query, **found, "ms": round(elapsed, 1)}, ensure_ascii=False))
        return 0
    window = found["window"]
    out(f"as of {filters.as_of}" + (f"; \"{window['phrase']}\" = {window['description']}" if window else ""))
    if not found["results"]:
        out("no results")
        return 0
    for hit in found["results"]:
        print_hit(hit)
    out(f"{plural(len(found['results']), 'result')} in {elapsed:.0f} ms")
    return 0
