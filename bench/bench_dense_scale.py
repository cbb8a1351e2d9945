"""The dense side alone at 1M chunks: Chroma's HNSW query with and without `where` filters, count and get.

A collection opened by the product's `open_collection` (same HNSW settings) is filled with `collection.add` in
batches of CHROMA_MAX_BATCH: SYNTHETIC VECTORS (one of 2,000 real MiniLM embeddings of bench_scale's texts plus
a little noise, as in bench_scale), metadata as the product writes it for filtering (`source`, `date_int`;
articles of 12 chunks dated 2010-2025), and no document text (Chroma's own full-text index of documents is not
what is measured here: bench_scale measures the whole path). Then, at each size, over 100 query vectors
(real embeddings of bench_scale's queries), 50 candidates as the retriever asks:
  - no filter; as of 2024-06-30 as a `where` (what the retriever used to send every query); the retriever's
    over-fetch (the best 200 with their metadata, unfiltered); a source `$in` of 100 articles (the two `where`
    cases over 10 of the queries: each costs seconds at 1M);
  - `count()` and `get(ids=...)` of 100 ids (each search calls both);
  - disk and this process's RSS.

Run: .venv/bin/python -m bench.bench_dense_scale --sizes 100000,1000000 [--keep DIR]
"""

from __future__ import annotations

import argparse
import random
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.bench_scale import CHUNKS_PER_ARTICLE, disk_mb, rss_mb, sentence, vocabulary
from bench.common import percentile
from rag.embedding import embedder_for
from rag.index import CHROMA_MAX_BATCH, open_collection
from rag.settings import get_settings


def timed(call: Any, rounds: list[Any]) -> tuple[float, float]:
    for item in rounds[:3]:
        call(item)
    times = []
    for item in rounds:
        started = time.perf_counter()
        call(item)
        times.append((time.perf_counter() - started) * 1000)
    return percentile(times, 50), percentile(times, 95)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--keep", type=Path)
    args = parser.parse_args()
    words, weights = vocabulary()
    rng = random.Random(7)
    base = args.keep or Path(tempfile.mkdtemp(prefix="bench-dense-"))
    settings = get_settings(index_dir=base / "index", corpus_dir=base, embedding_cache_dir=Path(tempfile.gettempdir())
                            / "rag-models")
    real = embedder_for(settings)
    pool = real.embed_documents([" ".join(sentence(rng, words, weights) for _ in range(6)) for _ in range(2000)])
    queries = [real.embed_query(" ".join(rng.choices(words[30:3000], k=rng.randint(3, 8)))).tolist()
               for _ in range(100)]
    collection = open_collection(settings)
    noise = np.random.default_rng(0)
    rss_before = rss_mb()
    written, build_s = collection.count(), 0.0
    try:
        for size in sorted(int(s) for s in args.sizes.split(",")):
            while written < size:
                count = min(CHROMA_MAX_BATCH, size - written)
                ids = range(written, written + count)
                vectors = pool[[i % len(pool) for i in ids]] + noise.normal(0, 0.03, (count, pool.shape[1]))
                vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
                metadatas = [{"source": f"{a // 1000:04d}/article-{a:07d}.md",
                              "date_int": (2010 + a % 16) * 10000 + (1 + a % 12) * 100 + 1 + a % 28}
                             for a in (i // CHUNKS_PER_ARTICLE for i in ids)]
                started = time.perf_counter()
                collection.add(ids=[f"c{i}" for i in ids], embeddings=vectors.astype(np.float32),
                               metadatas=metadatas)  # type: ignore[arg-type]
                build_s += time.perf_counter() - started
                written += count
            print(f"\n{written:,} vectors: added in {build_s:.0f} s this run ({written / max(build_s, 1e-9):.0f}/s "
                  f"if built in this run)", flush=True)
            articles = written // CHUNKS_PER_ARTICLE
            some = sorted({f"{a // 1000:04d}/article-{a:07d}.md" for a in random.Random(1).sample(range(articles), 100)})
            cases = {
                "no filter, 50": lambda q: collection.query(query_embeddings=[q], n_results=50, include=["distances"]),
                "as of 2024-06-30 as a where, 50": lambda q: collection.query(
                    query_embeddings=[q], n_results=50, include=["distances"], where={"date_int": {"$lte": 20240630}}),
                "over-fetch: best 200 with metadata, no where": lambda q: collection.query(
                    query_embeddings=[q], n_results=200, include=["distances", "metadatas"]),
                "100 articles' sources as a where, 50": lambda q, some=some: collection.query(
                    query_embeddings=[q], n_results=50, include=["distances"], where={"source": {"$in": some}}),
            }
            for label, call in cases.items():
                # A `where` scans Chroma's metadata (seconds a query at 100k): 10 queries for those, not 100.
                p50, p95 = timed(call, queries if "where," not in label else queries[:13])
                print(f"  query, {label}: p50 {p50:.1f} ms, p95 {p95:.1f} ms", flush=True)
            p50, p95 = timed(lambda _: collection.count(), queries)
            print(f"  count(): p50 {p50:.1f} ms, p95 {p95:.1f} ms")
            id_sets = [[f"c{i}" for i in random.Random(n).sample(range(written), 100)] for n in range(30)]
            p50, p95 = timed(lambda ids: collection.get(ids=ids, include=["metadatas"]), id_sets)
            print(f"  get(100 ids): p50 {p50:.1f} ms, p95 {p95:.1f} ms")
            disk = disk_mb(settings.index_dir)
            print(f"  disk {disk:.0f} MB ({disk * 100_000 / written:.0f} MB per 100k, no document text); "
                  f"RSS {rss_mb():.0f} MB ({rss_mb() - rss_before:.0f} MB above the start)", flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
