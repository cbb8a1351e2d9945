"""The lexical index alone at 1M chunks: build, one-article update, search with and without filters.

Chunks are written straight into `LexicalIndex.apply` (no Chroma, no encoder) in steps of 50,000, as the syncs
of `bench_scale` write them, with bench_scale's real-looking text (words drawn Zipf-wise from the SQuAD
paragraphs' vocabulary), 12 chunks an article, articles dated 2010-2025. Then, at each size:
  - search, 50 candidates, 100 queries of 3-8 words: no filter, as of 2024-06-30 (a tenth of the chunks are
    after it), sources = a tenth of the articles; p50/p95 wall and mean CPU milliseconds;
  - one article changed (its 12 chunks deleted and 12 added, one commit): median of 5;
  - `ids` and `sources` (what a reconcile after a crash and a source glob read): seconds;
  - disk and this process's RSS.

Run: .venv/bin/python -m bench.bench_lexical_scale --sizes 100000,1000000
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from bench.bench_scale import CHUNKS_PER_ARTICLE, disk_mb, rss_mb, sentence, vocabulary
from bench.common import percentile
from rag.lexical import LexicalFilter, LexicalIndex
from rag.types import Chunk

STEP = 50_000


def article_chunks(i: int, words: list[str], weights: list[float], version: int = 0) -> list[tuple[Chunk, str]]:
    rng = random.Random(i * 7 + version)
    source = f"{i // 1000:04d}/article-{i:07d}.md"
    date = f"20{10 + i % 16:02d}-{1 + i % 12:02d}-{1 + i % 28:02d}"
    out = []
    for n in range(CHUNKS_PER_ARTICLE):
        text = " ".join(sentence(rng, words, weights) for _ in range(7))
        out.append((Chunk(id=f"{source}#{version}-{n}", source=source, text=text, title="", start=0, end=0,
                          ordinal=n, text_hash="", date=date), text))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--queries", type=int, default=100)
    args = parser.parse_args()
    words, weights = vocabulary()
    rng = random.Random(7)
    queries = [" ".join(rng.choices(words[30:3000], k=rng.randint(3, 8))) for _ in range(args.queries)]
    base = Path(tempfile.mkdtemp(prefix="bench-lexical-"))
    rss_before = rss_mb()
    index = LexicalIndex.open(base)
    articles, build_s, generation = 0, 0.0, 0
    try:
        for size in sorted(int(s) for s in args.sizes.split(",")):
            while articles * CHUNKS_PER_ARTICLE < size:
                count = min(STEP, size - articles * CHUNKS_PER_ARTICLE) // CHUNKS_PER_ARTICLE or 1
                rows = (row for i in range(articles, articles + count) for row in article_chunks(i, words, weights))
                generation += 1
                started = time.perf_counter()
                index.apply(rows, [], generation)
                build_s += time.perf_counter() - started
                articles += count
            chunks = len(index)
            print(f"\n{chunks:,} chunks, {articles:,} articles: built in {build_s:.0f} s "
                  f"({chunks / build_s:.0f} chunks/s, analysis in Python included)", flush=True)
            sources = frozenset(f"{i // 1000:04d}/article-{i:07d}.md" for i in range(0, articles, 10))
            for label, where in {"no filter": None, "as of 2024-06-30": LexicalFilter(as_of=20240630),
                                 f"sources: {len(sources):,} articles": LexicalFilter(sources=sources)}.items():
                for query in queries[:5]:
                    index.search(query, 50, where)
                wall, cpu = [], []
                for query in queries:
                    started, cpu_started = time.perf_counter(), time.process_time()
                    index.search(query, 50, where)
                    wall.append((time.perf_counter() - started) * 1000)
                    cpu.append((time.process_time() - cpu_started) * 1000)
                print(f"  search, {label}: p50 {percentile(wall, 50):.1f} ms, p95 {percentile(wall, 95):.1f} ms, "
                      f"CPU mean {statistics.mean(cpu):.1f} ms", flush=True)
            changes = []
            for n in range(articles - 5, articles):  # the last five articles, each from version 0 to 1
                old = [chunk.id for chunk, _ in article_chunks(n, words, weights)]
                generation += 1
                started = time.perf_counter()
                index.apply(article_chunks(n, words, weights, version=1), old, generation)
                changes.append(time.perf_counter() - started)
            print(f"  one article changed (12 chunks out, 12 in, one commit): median "
                  f"{statistics.median(changes) * 1000:.0f} ms (runs {', '.join(f'{c * 1000:.0f}' for c in changes)})")
            started = time.perf_counter()
            ids = index.ids
            ids_s = time.perf_counter() - started
            started = time.perf_counter()
            names = index.sources
            print(f"  ids ({len(ids):,}): {ids_s:.1f} s; sources ({len(names):,}): {time.perf_counter() - started:.2f} s")
            disk = disk_mb(LexicalIndex.file(base))
            print(f"  disk {disk:.0f} MB ({disk * 100_000 / chunks:.0f} MB per 100k chunks); RSS {rss_mb():.0f} MB "
                  f"({rss_mb() - rss_before:.0f} MB above the start)", flush=True)
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
