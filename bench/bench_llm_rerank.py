"""Retrieval replay (issue 11): the first stories of each search reordered by a local language model that judges
whether each story answers the question. Measured, see docs/benchmarks.md, "Language-model relevance judge
(issue 11)".

This replays the system's search (`HybridRetriever.search`, k = 30, as of `asked_on`) and asks the packaged Qwen2.5
model, for each of the first `--judge-top` distinct stories, one question: the question, the story's title and
date and its best candidate chunks (`--chars` characters), "Does this article answer the question? Answer Yes or
No." The judge's score is P(Yes) / (P(Yes) + P(No)) for the one next token (llama.cpp's top log-probabilities;
"Yes"/"yes"/"No"/"no" summed). The first `top` stories are then ordered by

    score = P(yes) + w / (c + rank)          (rank counted from 0; ties keep the search's order)

with the stories inside the question's time window kept first when the search has one (or not: `window first`).
Hit@k / MRR@10 over distinct stories, as `rag eval` scores them, for a grid of (top, c, w, window first); choose
on held-out questions only. Every judge output is cached on disk by its prompt (`--cache`, JSON lines, one file
per model), so re-fusing costs nothing and a rerun only judges what is missing.

Run: nice -n 10 .venv/bin/python -m bench.bench_llm_rerank /tmp/s6/news23-heldout.jsonl \
        --corpus ../shared/data/news23/corpus --index COPY_OF_n23full-idx --cache /tmp/judge-cache-heldout.jsonl \
        [--every 5] [--only TOP,C,W,WINDOW_FIRST]
"""

from __future__ import annotations

import itertools
import json
import math
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

import bench.common  # offline mode on import; dataset_parser
from bench.bench_document_rerank import mean, synced_retriever
from bench.bench_retrieval_bound import Story, hit_stories, scores_of
from rag.evals.runner import load_dataset
from rag.types import Hit, SearchFilters

SEARCH_K = 30
JUDGE_TOP = 10
JUDGE_CHARS = 500
GRID = {"top": (5, 10), "c": (1, 2, 5), "w": (0.0, 0.05, 0.1, 0.2, 0.4, 1.0), "window_first": (True, False)}
SYSTEM_PROMPT = "You judge whether a news article answers a question. Reply with Yes or No only."
YES = ("Yes", "yes", "YES")
NO = ("No", "no", "NO")

Judge = Callable[[list[dict[str, str]]], dict[str, float]]  # chat messages -> {"yes": logprob, "no": logprob}


def story_excerpt(hit: Hit, chars: int) -> str:
    """The story's best candidate chunk and its next-best ones, joined, cut at a word before `chars`."""
    chunks = [hit.chunk, *(c for c in hit.document_passages if c.id != hit.chunk.id)]
    text = " ".join(" ".join(c.text.split()) for c in chunks)
    if len(text) <= chars:
        return text
    cut = text[:chars]
    return (cut[: cut.rfind(" ")] if " " in cut else cut) + " …"


def judge_messages(question: str, hit: Hit, chars: int = JUDGE_CHARS) -> list[dict[str, str]]:
    """The judge's prompt: the question first (so llama.cpp's prompt cache reuses it across a question's stories),
    then the story."""
    date = (hit.chunk.date or "undated")[:10]
    user = (f"Question: {question}\n\nArticle: {hit.chunk.title} ({date})\n{story_excerpt(hit, chars)}\n\n"
            f"Does this article answer the question? Answer Yes or No.")
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


def yes_probability(logprobs: dict[str, float]) -> float:
    """P(Yes) / (P(Yes) + P(No)) from the two log-probabilities (a missing one counts as -inf)."""
    yes, no = logprobs.get("yes", -math.inf), logprobs.get("no", -math.inf)
    if yes == no == -math.inf:
        return 0.5
    top = max(yes, no)
    return math.exp(yes - top) / (math.exp(yes - top) + math.exp(no - top))


def _logsumexp(values: Sequence[float]) -> float:
    if not values:
        return -math.inf
    top = max(values)
    return top + math.log(sum(math.exp(v - top) for v in values))


def yes_no_logprobs(top_logprobs: Sequence[dict[str, Any]]) -> dict[str, float]:
    """The log-probabilities of answering Yes and No, each summed over its spellings, from llama.cpp's top list."""
    yes = [t["logprob"] for t in top_logprobs if t["token"].strip() in YES]
    no = [t["logprob"] for t in top_logprobs if t["token"].strip() in NO]
    return {"yes": _logsumexp(yes), "no": _logsumexp(no)}


class JudgeCache:
    """Judge outputs on disk, one JSON line per prompt ({"key", "yes", "no", "seconds"}); appended as they come."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: dict[str, dict[str, float]] = {}
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    row = json.loads(line)
                    self.entries[row["key"]] = row

    @staticmethod
    def key(messages: list[dict[str, str]]) -> str:
        return json.dumps(messages, ensure_ascii=False, sort_keys=True)

    def get(self, messages: list[dict[str, str]]) -> dict[str, float] | None:
        return self.entries.get(self.key(messages))

    def put(self, messages: list[dict[str, str]], result: dict[str, float]) -> None:
        row = {"key": self.key(messages), **result}
        self.entries[row["key"]] = row
        with self.path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")


class LlamaJudge:
    """The packaged local model (rag/llm/local.py's loaded server) asked for one next token's log-probabilities."""

    def __init__(self, model_path: Path, threads: int = 2, top_logprobs: int = 20) -> None:
        from rag.llm.local import load_model

        self.model = load_model(model_path, n_ctx=2048, threads=threads)
        self.top_logprobs = top_logprobs

    def __call__(self, messages: list[dict[str, str]]) -> dict[str, float]:
        body = {"messages": messages, "max_tokens": 1, "temperature": 0.0, "logprobs": True,
                "top_logprobs": self.top_logprobs, "cache_prompt": True}
        with self.model.lock:
            result = self.model.server.handle_chat_completions(body)
        if not isinstance(result, dict) or "error" in result:
            raise RuntimeError(f"local model error: {result}")
        first = result["choices"][0]["logprobs"]["content"][0]
        return yes_no_logprobs(first["top_logprobs"])


def cached_judge(judge: Judge | None, cache: JudgeCache) -> Callable[[list[dict[str, str]]], tuple[float, float]]:
    """(P(yes), seconds spent judging now: 0 when cached). judge None: cached outputs only (KeyError if missing)."""
    def run(messages: list[dict[str, str]]) -> tuple[float, float]:
        found = cache.get(messages)
        if found is not None:
            return yes_probability(found), 0.0
        if judge is None:
            raise KeyError("no cached judge output for a prompt (run without --offline)")
        started = time.perf_counter()
        result = judge(messages)
        seconds = time.perf_counter() - started
        cache.put(messages, {**result, "seconds": round(seconds, 3)})
        return yes_probability(result), seconds
    return run


@dataclass
class Judged:
    """One question's search as the system ran it, and the judge's P(yes) for its first stories."""

    gold: list[str]
    stories: list[Story]
    in_window: list[bool | None]  # per story; None: the question names no time window
    yes: list[float]  # per judged story (the first len(yes) stories)
    seconds: float = 0.0  # judging time spent in this run (0 when every prompt was cached)


def fuse(judged: Judged, top: int, c: float, w: float, window_first: bool = True) -> list[Story]:
    """The first `top` stories (at most the judged ones) by P(yes) + w / (c + rank), the window's stories first
    when `window_first`; ties and the rest keep the search's order."""
    head = min(top, len(judged.yes), len(judged.stories))

    def key(i: int) -> tuple[int, float, int]:
        outside = window_first and judged.in_window[i] is False
        return (int(outside), -(judged.yes[i] + w / (c + i)), i)

    order = sorted(range(head), key=key)
    return [judged.stories[i] for i in order] + judged.stories[head:]


def table_row(name: str, s: dict[str, float]) -> str:
    return f"| {name} | {s['hit@1']:.3f} | {s['hit@5']:.3f} | {s['hit@10']:.3f} | {s['mrr@10']:.3f} |"


def variants(only: str | None) -> list[tuple[int, float, float, bool]]:
    if only:
        top, c, w, window = only.split(",")
        return [(int(top), float(c), float(w), window.strip().lower() in ("1", "true", "yes"))]
    return [(int(t), float(c), float(w), bool(f)) for t, c, w, f in itertools.product(*GRID.values())]


def separation(judged: Sequence[Judged], by_rank: bool = False) -> tuple[float, float, float]:
    """Over every judged story: mean P(yes) of gold stories, of the others, and the AUC (the chance that a gold
    story of a question outscores a non-gold story of the same question; ties count half). by_rank: the AUC of
    the search's own order over the same stories instead (the means are then of -rank)."""
    gold_yes, other_yes, pairs, wins = [], [], 0, 0.0
    for q in judged:
        flags = [bool(set(s) & set(q.gold)) for s in q.stories[: len(q.yes)]]
        scores = [-float(i) for i in range(len(q.yes))] if by_rank else q.yes
        gold = [p for p, f in zip(scores, flags, strict=True) if f]
        other = [p for p, f in zip(scores, flags, strict=True) if not f]
        gold_yes += gold
        other_yes += other
        for g in gold:
            for o in other:
                pairs += 1
                wins += 1.0 if g > o else 0.5 if g == o else 0.0
    return (statistics.fmean(gold_yes) if gold_yes else math.nan,
            statistics.fmean(other_yes) if other_yes else math.nan, wins / pairs if pairs else math.nan)


def report(judged: Sequence[Judged], only: str | None) -> list[str]:
    """How well the judge separates gold stories, then the table: the system, then each variant."""
    gold, other, auc = separation(judged)
    lines = [f"judged stories: mean P(yes) {gold:.3f} gold, {other:.3f} other; AUC within a question {auc:.3f} "
             f"(the search's own order over the same stories: {separation(judged, by_rank=True)[2]:.3f})", "",
             "| variant | hit@1 | hit@5 | hit@10 | mrr@10 |", "|---|---:|---:|---:|---:|",
             table_row("system", mean([scores_of(q.stories, q.gold) for q in judged]))]
    for top, c, w, window in variants(only):
        s = mean([scores_of(fuse(q, top, c, w, window), q.gold) for q in judged])
        lines.append(table_row(f"top {top}, c {c:g}, w {w:g}, window first {'yes' if window else 'no'}", s))
    return lines


def main(argv: Sequence[str] | None = None) -> None:
    parser = bench.common.dataset_parser(__doc__)
    parser.add_argument("--cache", type=Path, required=True, help="judge outputs by prompt (JSON lines; one per model)")
    parser.add_argument("--judge-top", type=int, default=JUDGE_TOP, help="stories judged per question")
    parser.add_argument("--chars", type=int, default=JUDGE_CHARS, help="characters of each story's chunks shown")
    parser.add_argument("--every", type=int, default=1, help="every Nth answerable question only (a spread subset)")
    parser.add_argument("--offline", action="store_true", help="cached judge outputs only; never load the model")
    parser.add_argument("--only", help="one variant as TOP,C,W,WINDOW_FIRST (default: the whole grid)")
    args = parser.parse_args(argv)
    settings, retriever = synced_retriever(args.corpus, args.index)
    judge: Judge | None = None
    if not args.offline:
        from rag.llm.weights import ensure_local_gguf

        judge = LlamaJudge(ensure_local_gguf(settings.index_dir, settings.llm_local_model), settings.llm_threads)
    run = cached_judge(judge, JudgeCache(args.cache))
    rows = [r for r in load_dataset(args.dataset) if r["answerable"] and r["gold_sources"]][:: args.every]
    load_before = os.getloadavg()
    judged = []
    for row in tqdm(rows, desc="questions", unit="q", file=sys.stderr):
        hits = retriever.search(row["question"], k=SEARCH_K, filters=SearchFilters(as_of=row.get("asked_on")))
        outputs = [run(judge_messages(row["question"], h, args.chars)) for h in hits[: args.judge_top]]
        judged.append(Judged(row["gold_sources"], hit_stories(hits), [h.in_window for h in hits],
                             [p for p, _ in outputs], sum(s for _, s in outputs)))
    load_after = os.getloadavg()
    ran = [q.seconds for q in judged if q.seconds]
    print(f"{len(judged)} questions with gold sources (every {args.every}); model {settings.llm_local_model}, "
          f"{args.judge_top} stories judged per question, {args.chars} characters each")
    if ran:
        print(f"judge time per question judged now: mean {statistics.fmean(ran):.1f} s, median "
              f"{statistics.median(ran):.1f} s over {len(ran)} questions ({settings.llm_threads} threads); load "
              f"average (1 min) {load_before[0]:.1f} before, {load_after[0]:.1f} after")
    print()
    print("\n".join(report(judged, args.only)))


if __name__ == "__main__":
    main()
