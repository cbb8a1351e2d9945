"""Retrieval replay (issue 11): the first stories of each search reordered by how much of the question the WHOLE
article covers, not its best chunk. Measured and not adopted: docs/benchmarks.md, "Whole-article coverage rerank
(issue 11)".

news23's gold articles are web-search results for the question (pages matched as a whole) that name its answer;
the system ranks an article by its best chunk. This replays the system's search (`HybridRetriever.search`, k = 30,
as of `asked_on`) and reorders the first `top` stories by

    score = 1 / (c + rank) + w × (IDF-weighted share of the question's terms found in the story's title and text)

(rank counted from 0: the first story's prior is 1 / c; terms: `metrics.contained_form` tokens with IDF > 1.5
over the corpus; a story's text: all its copies), keeping the stories inside the question's window first when the search has one. Hit@k / MRR@10 over distinct stories,
as `rag eval` scores them, for a grid of (top, c, w); fit on held-out questions only.

Run: .venv/bin/python -m bench.bench_document_rerank /tmp/s6/news23-heldout.jsonl \
        --corpus ../shared/data/news23/corpus --index COPY_OF_n23full-idx
"""

from __future__ import annotations

import itertools
import math
import statistics
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

import bench.common  # offline mode on import; dataset_parser
from bench.bench_retrieval_bound import Corpus, Story, hit_stories, scores_of
from rag.embedding import embedder_for
from rag.evals import metrics as m
from rag.evals.runner import load_dataset
from rag.retrieve import HybridRetriever
from rag.settings import Settings, get_settings
from rag.sync import sync_corpus
from rag.types import SearchFilters

SEARCH_K = 30
MIN_IDF = 1.5
GRID = {"top": (10, 20), "c": (2, 5), "w": (0.2, 0.4, 1.0)}


@dataclass
class Searched:
    """One question's search as the system ran it, with what the rerank reads."""

    gold: list[str]
    stories: list[Story]
    in_window: list[bool | None]  # per story; None: the question names no window
    coverage: list[float]  # per story: IDF-weighted share of the question's terms in its title and text


def question_terms(question: str, df: Counter[str], documents: int) -> dict[str, float]:
    """The question's terms with their IDF over the corpus (log((N + 1) / (df + 0.5))), rare ones only."""
    idf = {t: math.log((documents + 1) / (df[t] + 0.5)) for t in set(m.contained_form(question).split())}
    return {t: w for t, w in idf.items() if w > MIN_IDF}


def coverage(terms: dict[str, float], story_tokens: set[str]) -> float:
    total = sum(terms.values())
    return sum(w for t, w in terms.items() if t in story_tokens) / total if total else 0.0


def rerank(searched: Searched, top: int, c: float, w: float) -> list[Story]:
    """The first `top` stories by prior + w × coverage, the window's stories kept first; the rest as they were."""
    def key(i: int) -> tuple[int, float, int]:
        outside = searched.in_window[i] is False
        return (int(outside), -(1.0 / (c + i) + w * searched.coverage[i]), i)

    head = sorted(range(min(top, len(searched.stories))), key=key)
    return [searched.stories[i] for i in head] + searched.stories[top:]


def mean(results: Sequence[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.fmean(r[key] for r in results) for key in results[0]}


def synced_retriever(corpus: Path, index: Path) -> tuple[Settings, HybridRetriever]:
    """The settings for a corpus and an index copy, and the system's retriever over that index after a sync (which
    embeds nothing on an up-to-date copy; its summary line is printed)."""
    settings = get_settings(corpus_dir=corpus, index_dir=index)
    embedder = embedder_for(settings)
    print(sync_corpus(settings, embedder=embedder).summary_line())
    return settings, HybridRetriever(settings, embedder=embedder)


def main(argv: Sequence[str] | None = None) -> None:
    parser = bench.common.dataset_parser(__doc__)
    parser.add_argument("--only", help="one variant as TOP,C,W (default: the whole grid)")
    args = parser.parse_args(argv)
    settings, retriever = synced_retriever(args.corpus, args.index)
    corpus = Corpus(settings, retriever)
    tokens = {source: set(form.split()) for source, form in corpus.forms.items()}
    df = Counter(t for toks in tokens.values() for t in toks)
    rows = [r for r in load_dataset(args.dataset) if r["answerable"] and r["gold_sources"]]
    searched = []
    for row in tqdm(rows, desc="questions", unit="q", file=sys.stderr):
        hits = retriever.search(row["question"], k=SEARCH_K, filters=SearchFilters(as_of=row.get("asked_on")))
        terms = question_terms(row["question"], df, len(tokens))
        stories = hit_stories(hits)
        searched.append(Searched(row["gold_sources"], stories, [h.in_window for h in hits],
                                 [coverage(terms, set().union(*(tokens.get(s, set()) for s in story)))
                                  for story in stories]))
    variants = ([tuple(float(x) for x in args.only.split(","))] if args.only
                else list(itertools.product(*GRID.values())))
    print(f"{len(searched)} questions with gold sources; first {SEARCH_K} stories of each search\n")
    print("| variant | hit@1 | hit@5 | hit@10 | mrr@10 |\n|---|---:|---:|---:|---:|")
    system = mean([scores_of(s.stories, s.gold) for s in searched])
    print(f"| system | {system['hit@1']:.3f} | {system['hit@5']:.3f} | {system['hit@10']:.3f} | {system['mrr@10']:.3f} |")
    for top, c, w in variants:
        s = mean([scores_of(rerank(q, int(top), c, w), q.gold) for q in searched])
        print(f"| top {int(top)}, c {c:g}, w {w:g} | {s['hit@1']:.3f} | {s['hit@5']:.3f} | {s['hit@10']:.3f} | "
              f"{s['mrr@10']:.3f} |", flush=True)


if __name__ == "__main__":
    main()
