"""Helpers shared by the benchmarks: synthetic news-like corpora and timing. Run a benchmark from the repository
root as a module (`python -m bench.bench_search`), so that `bench`, `rag` and `tests` import without editing
sys.path."""

from __future__ import annotations

import argparse
import random
import statistics
import time
from pathlib import Path
from typing import Any

import rag  # noqa: F401  (offline environment)

WORDS = ["council", "harbour", "tram", "drought", "election", "museum", "vaccine", "wildfire", "chess", "mining", "canal", "river", "bank", "rate", "inflation", "minister", "strike", "union", "port", "cargo", "ship", "festival", "school", "hospital", "budget", "tax", "energy", "grid", "heatwave", "storm", "flood", "court", "judge", "police", "border", "trade", "export", "import", "farmer", "harvest", "price", "market", "stock", "company", "layoff", "factory", "research", "university", "student", "teacher", "railway", "bridge", "airport", "flight", "tourism", "hotel", "restaurant", "football", "match", "league", "coach", "player", "transfer", "stadium", "concert", "artist", "film", "award", "novel", "author", "library", "archive", "mayor", "city", "village", "region", "province", "governor", "parliament", "senate", "vote", "campaign", "candidate", "poll", "survey", "report", "official"]


def sentence(rng: random.Random, n: int) -> str:
    words = [rng.choice(WORDS) for _ in range(n)]
    return " ".join(words).capitalize() + f" in {rng.randint(1990, 2026)}."


def paragraph(rng: random.Random, sentences: int) -> str:
    return " ".join(sentence(rng, rng.randint(10, 22)) for _ in range(sentences))


def write_corpus(root: Path, docs: int, paragraphs: int, sentences: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    for i in range(docs):
        body = "\n\n".join(paragraph(rng, sentences) for _ in range(paragraphs))
        title = " ".join(rng.choice(WORDS) for _ in range(5)).title()
        month = 1 + i % 12
        (root / f"article-{i:05d}.md").write_text(
            f"---\ntitle: {title}\ndate: 2026-{month:02d}-{1 + i % 28:02d}\n---\n\n{body}\n", encoding="utf-8"
        )


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    pos = (len(ordered) - 1) * p / 100
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def summary_ms(values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return f"p50 {percentile(ms, 50):6.1f} ms  p95 {percentile(ms, 95):6.1f} ms  mean {statistics.fmean(ms):6.1f} ms"


def search_latencies(retriever: Any, queries: list[str], k: int = 5, warm: int = 5) -> list[float]:
    """Seconds per `retriever.search(query, k)` (query encoding included), after `warm` untimed searches."""
    for query in queries[:warm]:
        retriever.search(query)  # warm caches
    times = []
    for query in queries:
        started = time.perf_counter()
        retriever.search(query, k=k)
        times.append(time.perf_counter() - started)
    return times


def dataset_parser(doc: str | None) -> argparse.ArgumentParser:
    """The arguments every replay of the system's search over an eval set takes: the dataset, its corpus and an index
    copy (synced first); the module's docstring's first paragraph describes it."""
    parser = argparse.ArgumentParser(description=(doc or "").split("\n\n")[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--index", type=Path, required=True, help="an index of the corpus (a copy: it is synced)")
    return parser
