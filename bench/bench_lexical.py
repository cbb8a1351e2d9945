"""The lexical step alone: time per question of `LexicalIndex.search` on a built index.

Each question of an eval set is searched for its 50 best chunks (the retriever's candidates_k), once with no
filter and once as of its `asked_on` date (the filter every eval and web search carries), after 5 untimed
searches. Prints p50/p95 wall milliseconds and mean CPU milliseconds a question, and how many chunks the
index holds. The interface is the same for every engine the project has had, so the same command run with
another checkout's code on PYTHONPATH (`PYTHONPATH=../main .venv/bin/python bench/bench_lexical.py ...`)
measures that checkout's engine on its own index.

Run: .venv/bin/python -m bench.bench_lexical INDEX_DIR ../shared/data/news23-small/questions.jsonl
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from bench.common import percentile
from rag.lexical import LexicalFilter, LexicalIndex, date_int


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("index", type=Path)
    parser.add_argument("questions", type=Path)
    parser.add_argument("-k", type=int, default=50)
    args = parser.parse_args()
    rows = [json.loads(line) for line in args.questions.read_text(encoding="utf-8").splitlines() if line.strip()]
    index = LexicalIndex.load(args.index)
    assert index is not None, f"no lexical index in {args.index}"
    print(f"{LexicalIndex.__module__}: {len(index):,} chunks, {len(rows)} questions, k={args.k}")
    for label in ("no filter", "as of asked_on"):
        def where(row: dict, label: str = label) -> LexicalFilter | None:
            day = date_int(row.get("asked_on"))
            return LexicalFilter(as_of=day) if label != "no filter" and day else None

        for row in rows[:5]:
            index.search(row["question"], args.k, where(row))
        wall, cpu = [], []
        for row in rows:
            started, cpu_started = time.perf_counter(), time.process_time()
            index.search(row["question"], args.k, where(row))
            wall.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - cpu_started) * 1000)
        print(f"  {label}: wall p50 {percentile(wall, 50):.2f} ms, p95 {percentile(wall, 95):.2f} ms; "
              f"CPU mean {statistics.mean(cpu):.2f} ms, p50 {percentile(cpu, 50):.2f} ms")


if __name__ == "__main__":
    main()
