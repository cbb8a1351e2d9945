"""Scale: indexes of 10k, 100k (and 1M) chunks through the product's own sync path.

For each size: a corpus folder of synthetic articles (~12 chunks each, like real news) is built into an index
by `sync_corpus` — scan, chunk with the real tokenizer, write Chroma, the lexical index and the manifest —
with SYNTHETIC VECTORS for the bulk build: each chunk's vector is one of 2,000 real MiniLM embeddings of
real-looking texts plus a little noise (so the HNSW graph holds distinct, clustered points), because
encoding 1M chunks on this CPU would take days. The TEXT is real-looking: words drawn Zipf-wise from the
vocabulary of the SQuAD paragraphs in evals/squad2, so BM25 posting lists have realistic lengths.

Then, with the real encoder (loaded before timing; its load time is not counted):
  - add one article: write one new file, `sync_corpus` (scan, chunk, encode ~12 chunks, write) — goal ≤ 3 s at 1M;
  - no-change sync: `sync_corpus` with nothing changed;
  - hybrid search p50/p95 over 100 queries (query encoding included) — goal p50 ≤ 100 ms, p95 ≤ 250 ms at 1M;
  - RSS of this process after searching, and disk, per 100k chunks.

Run: .venv/bin/python -m bench.bench_scale --sizes 10000,100000 [--sizes 1000000] [--keep DIR]
The machine is shared: the load average is printed with the results.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

from bench.common import percentile, search_latencies
from rag.embedding import Embedder, embedder_for
from rag.retrieve import HybridRetriever
from rag.settings import get_settings
from rag.sync import sync_corpus
from rag.watch import CorpusWatcher

ROOT = Path(__file__).resolve().parent.parent
CHUNKS_PER_ARTICLE = 12


class SyntheticVectors:
    """The real tokenizer (chunking is real) with vectors from a pool of real embeddings plus noise."""

    def __init__(self, real: Embedder, pool: np.ndarray) -> None:
        self.real = real
        self.pool = pool
        self.max_tokens = real.max_tokens
        self.dimension = real.dimension
        self.count_tokens = real.count_tokens
        self.loaded = False

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for i, text in enumerate(texts):
            seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")
            rng = np.random.default_rng(seed)
            v = self.pool[seed % len(self.pool)] + rng.normal(0, 0.03, self.dimension).astype(np.float32)
            out[i] = v / np.linalg.norm(v)
        return out

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]


def vocabulary() -> tuple[list[str], list[float]]:
    counts: Counter[str] = Counter()
    for path in sorted((ROOT / "evals" / "squad2" / "corpus").glob("*.txt")):
        counts.update(re.findall(r"[A-Za-z][a-z]+", path.read_text(encoding="utf-8")))
    words = [w for w, _ in counts.most_common()]
    weights = [1.0 / (rank + 10) for rank in range(len(words))]  # Zipf-like, flattened at the head
    return words, list(itertools.accumulate(weights))  # cumulative: rng.choices is then O(log V) a word


def sentence(rng: random.Random, words: list[str], weights: list[float]) -> str:
    return " ".join(rng.choices(words, cum_weights=weights, k=rng.randint(10, 24))).capitalize() + "."


def write_articles(corpus: Path, start: int, count: int, words: list[str], weights: list[float]) -> None:
    for i in range(start, start + count):
        rng = random.Random(i)
        folder = corpus / f"{i // 1000:04d}"  # ≤ 1,000 files per folder, as an archive would be kept
        folder.mkdir(parents=True, exist_ok=True)
        paragraphs = "\n\n".join(" ".join(sentence(rng, words, weights) for _ in range(7))
                                 for _ in range(CHUNKS_PER_ARTICLE))
        title = " ".join(rng.choices(words, cum_weights=weights, k=6)).title()
        (folder / f"article-{i:07d}.md").write_text(
            f"---\ntitle: {title}\ndate: 20{10 + i % 16:02d}-{1 + i % 12:02d}-{1 + i % 28:02d}\n---\n\n{paragraphs}\n",
            encoding="utf-8")


def disk_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run_size(size: int, base: Path, real: Embedder, synthetic: SyntheticVectors, words: list[str],
             weights: list[float], queries: list[str]) -> None:
    corpus, index = base / "corpus", base / "index"
    rss_before = rss_mb()
    articles = max(1, size // CHUNKS_PER_ARTICLE)
    started = time.perf_counter()
    write_articles(corpus, 0, articles, words, weights)
    written = time.perf_counter() - started
    settings = get_settings(corpus_dir=corpus, index_dir=index, embedding_cache_dir=base.parent / "models")
    started = time.perf_counter()
    built = sync_corpus(settings, embedder=synthetic)  # type: ignore[arg-type]
    build_s = time.perf_counter() - started
    chunks = built.chunks_total
    print(f"\n{chunks:,} chunks in {articles:,} articles (files written in {written:.0f} s)")
    print(f"  build (scan, chunk, synthetic vectors, Chroma, lexical, manifest): {build_s:7.1f} s  "
          f"{chunks / build_s:7.1f} chunks/s")

    adds = []
    for n in range(3):
        write_articles(corpus, articles + n, 1, words, weights)
        started = time.perf_counter()
        report = sync_corpus(settings, embedder=real)
        adds.append(time.perf_counter() - started)
        assert report.added == 1 and report.chunks_embedded > 0
    print(f"  add one article (real encoder, loaded): median {sorted(adds)[1]:.2f} s  "
          f"(runs {', '.join(f'{a:.2f}' for a in adds)}; goal at 1M <= 3 s)")
    # The command a user runs: a new process (interpreter start, imports, tokenizer and model load included).
    write_articles(corpus, articles + 3, 1, words, weights)
    env = {**os.environ, "RAG_CORPUS_DIR": str(corpus), "RAG_INDEX_DIR": str(index),
           "RAG_EMBEDDING_CACHE_DIR": str(settings.embedding_cache_dir)}
    started = time.perf_counter()
    done = subprocess.run([str(Path(sys.executable).parent / "rag"), "ingest", "--quiet"], env=env, cwd=ROOT,
                          capture_output=True, text=True)
    command_s = time.perf_counter() - started
    assert done.returncode == 0, done.stderr
    print(f"  `rag ingest` after adding one article, end to end (new process, model load included): "
          f"{command_s:.2f} s  (goal at 21k chunks <= 5 s)")
    nochange = []
    for _ in range(3):
        started = time.perf_counter()
        report = sync_corpus(settings, embedder=real)
        nochange.append(time.perf_counter() - started)
        assert report.chunks_embedded == 0 and report.added == 0
    print(f"  no-change sync: median {sorted(nochange)[1]:.2f} s")

    retriever = HybridRetriever(settings, embedder=real)
    times = search_latencies(retriever, queries)
    ms = [t * 1000 for t in times]
    print(f"  hybrid search ({len(queries)} queries, encoding included): p50 {percentile(ms, 50):.0f} ms, "
          f"p95 {percentile(ms, 95):.0f} ms  (goal at 1M: p50 <= 100, p95 <= 250)")
    # The web app's path for a file dropped into the corpus folder: the watcher notices it, waits out its
    # debounce (1.5 s after the last event), syncs; the running retriever then finds the new article.
    watcher = CorpusWatcher(settings, lambda: sync_corpus(settings, embedder=real))
    watcher.start()
    try:
        time.sleep(1.0)
        marker = f"zorblaxquay{size}"
        started = time.perf_counter()
        (corpus / f"dropped-{size}.md").write_text(
            f"---\ntitle: Dropped\ndate: 2026-05-01\n---\n\nThe {marker} opened at dawn. " * 3, encoding="utf-8")
        found = None
        while time.perf_counter() - started < 60:
            hits = retriever.search(marker, k=1)
            if hits and marker in hits[0].chunk.text:
                found = time.perf_counter() - started
                break
            time.sleep(0.05)
    finally:
        watcher.stop()
    shown = f"{found:.2f} s" if found is not None else "not within 60 s"
    print(f"  dropped article searchable in the running app (watcher, debounce {watcher.delay_s} s): {shown}"
          f"  (goal <= 3 s)")
    disk = disk_mb(index)
    lexical = disk_mb(index) - disk_mb(index / "chroma")
    rss = rss_mb()
    per = 100_000 / chunks
    print(f"  RSS {rss:.0f} MB, of which {rss - rss_before:.0f} MB above the process with models loaded "
          f"(peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB); disk {disk:.0f} MB "
          f"(Chroma {disk - lexical:.0f}, lexical + manifest {lexical:.0f}); per 100k chunks: disk "
          f"{disk * per:.0f} MB, RSS {(rss - rss_before) * per:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--keep", type=Path, help="build under this folder and keep it")
    args = parser.parse_args()
    load = os.getloadavg()
    words, weights = vocabulary()
    rng = random.Random(7)
    settings = get_settings()
    real = embedder_for(settings.model_copy(update={"embedding_cache_dir": Path(tempfile.gettempdir()) / "rag-models"}))
    pool_texts = [" ".join(sentence(rng, words, weights) for _ in range(6)) for _ in range(2000)]
    pool = real.embed_documents(pool_texts)
    synthetic = SyntheticVectors(real, pool)
    queries = [" ".join(rng.choices(words[30:3000], k=rng.randint(3, 8))) for _ in range(args.queries)]
    print(f"embedding runtime {real.runtime_label}; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} "
          f"({os.cpu_count()} CPUs, shared with other jobs)")
    for size in (int(s) for s in args.sizes.split(",")):
        base = (args.keep / str(size)) if args.keep else Path(tempfile.mkdtemp(prefix=f"bench-scale-{size}-"))
        base.mkdir(parents=True, exist_ok=True)
        try:
            run_size(size, base, real, synthetic, words, weights, queries)
        finally:
            if not args.keep:
                shutil.rmtree(base, ignore_errors=True)
    print(f"load average after {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
