"""How far news23's labels let retrieval go (issue 11): the system's Hit@k / MRR@10 over distinct stories beside
the ceilings the dataset's own rules set and an oracle that knows the answer string.

news23's gold sources are the web-search results for a question whose text names its answer (whole words,
case-insensitive: ../shared/data/NEWS23.md). An article that names the answer but came from another question's
search is not gold, and a gold article may be a years-old one that merely names the answer. So no ranking can
score more than these rows, measured over the answerable questions with gold sources, as `rag eval` scores them
(rag/evals/metrics.py story_hit_at_k / story_mrr_at_k, each question as of its `asked_on`):

  (a) the system as is: the search `rag eval` runs (HybridRetriever.search, k=10, as of `asked_on`); and the same
      search counting any story that names the answer as a hit (what it scores if every answer-naming article
      were labelled);
  (b) hard ceilings: a gold article dated on or before `asked_on` (or undated: the system keeps those) exists in
      the corpus / in the candidate pool (every distinct story of the search's candidates);
  (c) the answer-string oracle: the candidate pool, and separately every story not after `asked_on`, reordered so
      that stories naming a gold answer come first (`metrics.names_gold`: gold_contained's whole-token rule on
      the title and text), each part in the system's order (stories outside the pool after the pool's, by their
      best chunk's dense cosine to the question);
  (d) that oracle with the answer-naming stories inside the question's time window first (the window the search
      ranks by, `DateWindow.news_about`): what a system that is right about time would rank first;
  (e) with `--answers-from RUN` (a `rag eval` / replay output folder): the pool reordered by the system's OWN
      answer instead of the gold one: stories naming a name or number of that answer's first sentence that the
      question does not name come first (`answer_spans`), each part in the system's order; a refused question
      keeps the pool's order. What the answerer's reading is worth as a reranker.

Each miss of (c) at Hit@5 gets a reason: gold only after `asked_on`; gold not in the pool; the gold article does
not name the answer by the rule; gold behind N other answer-naming stories.

Run: .venv/bin/python -m bench.bench_retrieval_bound ../shared/data/news23-small/questions.jsonl \
        --corpus ../shared/data/news23-small/corpus --index /tmp/COPY-of-n23s-idx [--pool N] [--misses] [--answers-from RUN]
"""

from __future__ import annotations

import json
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

import bench.common  # offline mode on import; dataset_parser
from rag.embedding import Embedder, embedder_for
from rag.evals import metrics as m
from rag.evals.runner import RETRIEVE_K, load_dataset
from rag.index import CHROMA_MAX_BATCH
from rag.loaders import LoadError, load_document
from rag.retrieve import Catalog, HybridRetriever, as_of_date, question_window
from rag.settings import Settings, get_settings
from rag.sync import sync_corpus
from rag.timewindow import date_int
from rag.types import Hit, SearchFilters

Story = list[str]  # the shown source first, then its story's other copies (as rag eval scores a result)
KS = (1, 5, 10)
MISS_K = 5

SYSTEM = "(a) system as is (rag eval's search)"
SYSTEM_NAMED = "(a) system, a story naming the answer counts as a hit"
CEIL_CORPUS = "(b) ceiling: gold dated <= asked_on in the corpus"
CEIL_POOL = "(b) ceiling: gold in the candidate pool"
ORACLE_POOL = "(c) answer oracle over the candidate pool"
ORACLE_ALL = "(c) answer oracle over every article <= asked_on"
ORACLE_PASSAGES = "(c) answer oracle over the pool, its candidate passages only"
WINDOW_POOL = "(d) window-first answer oracle over the pool"
WINDOW_ALL = "(d) window-first answer oracle, every article <= asked_on"
OWN_ANSWER = "(e) the pool, stories naming the system's own answer first"
ROWS = (SYSTEM, SYSTEM_NAMED, CEIL_CORPUS, CEIL_POOL, ORACLE_POOL, ORACLE_ALL, ORACLE_PASSAGES, WINDOW_POOL,
        WINDOW_ALL)
POOL_ROWS = (ORACLE_POOL, ORACLE_PASSAGES, WINDOW_POOL)


@dataclass
class Question:
    """One answerable question's figures: per row, hit@k and mrr@10; the reasons of the oracles' misses."""

    id: str
    asked_on: str
    scores: dict[str, dict[str, float]] = field(default_factory=dict)
    misses: dict[str, Miss] = field(default_factory=dict)  # row -> why the gold is not in the first MISS_K
    first: dict[str, list[Story]] = field(default_factory=dict)  # row -> its first 10 stories


def scores_of(stories: Sequence[Story], gold: Sequence[str]) -> dict[str, float]:
    out = {f"hit@{k}": m.story_hit_at_k(stories, gold, k) for k in KS}
    out["mrr@10"] = m.story_mrr_at_k(stories, gold, 10)
    return out


_SPAN = re.compile(r"[A-Z][\w'’.-]*(?:\s+(?:(?:of|the|de|and)\s+)?[A-Z][\w'’.-]*)*|\d[\d,.]*")
_NOT_SPANS = frozenset("The A An In On At Of And Or But As It He She They This That These Those His Her Its Their".split())


def answer_spans(answer: str | None, question: str) -> list[str]:
    """The names (runs of capitalised words) and numbers of an answer's first sentence that the question does not
    name: what the answer adds, the part a story would have to name to agree with it."""
    first = re.split(r"(?<=[.!?])\s", re.sub(r"\s*\[\d+\]", "", answer or ""), maxsplit=1)[0]
    asked = question.lower()
    spans = (re.sub(r"^(?:The|A|An)\s+", "", span.strip(" .,")) for span in _SPAN.findall(first))
    return [span for span in spans if span and span not in _NOT_SPANS and span.lower() not in asked]


def run_answers(run: Path) -> dict[str, str | None]:
    """Question id → the answer a `rag eval` / replay run gave (None when it refused)."""
    rows = (json.loads(line) for line in (run / "results.jsonl").read_text().splitlines() if line.strip())
    return {row["id"]: None if row["refused"] else row["answer"] for row in rows}


def ceiling(reachable: bool) -> dict[str, float]:
    """A ceiling row: a question counts as first place when its gold can be reached at all."""
    return {**{f"hit@{k}": float(reachable) for k in KS}, "mrr@10": float(reachable)}


def answer_first(stories: Sequence[Story], names: Callable[[Story], bool],
                 first: Callable[[Story], bool] = lambda story: True) -> list[Story]:
    """Stories naming the answer first (those `first` also picks before the others), each part in its given
    order; then the rest, in its given order."""
    named = [s for s in stories if names(s)]
    rest = [s for s in stories if not names(s)]
    return [s for s in named if first(s)] + [s for s in named if not first(s)] + rest


class Corpus:
    """Every document's title and text in `metrics.contained_form` (normalised once), its date and story, and its
    chunks' vectors (for ordering stories the search never saw)."""

    def __init__(self, settings: Settings, retriever: HybridRetriever) -> None:
        self.catalog: Catalog = retriever.catalog()
        self.forms: dict[str, str] = {}
        self.unreadable: list[str] = []
        max_bytes = int(settings.max_file_mb * 1024 * 1024)
        for source, record in self.catalog.records.items():
            try:
                doc = load_document(settings.corpus_dir / source, settings.corpus_dir, max_bytes=max_bytes,
                                    max_chars=settings.max_document_chars)
            except LoadError:
                self.unreadable.append(source)
                self.forms[source] = m.contained_form(record.title)
                continue
            self.forms[source] = m.contained_form(f"{doc.title}\n{doc.text}")
        self.sources, self.vectors = self._vectors(retriever)
        members: dict[str, list[str]] = {}
        for source in self.catalog.records:
            members.setdefault(self.catalog.story.get(source, source), []).append(source)
        self.members = members

    @staticmethod
    def _vectors(retriever: HybridRetriever) -> tuple[np.ndarray, np.ndarray]:
        """Each chunk's source (as an index into the sorted source names) and its vector, all chunks."""
        names: list[str] = []
        rows: list[np.ndarray] = []
        collection = retriever.collection
        offset = 0
        while True:
            page = collection.get(include=["metadatas", "embeddings"], limit=CHROMA_MAX_BATCH, offset=offset)
            if not page["ids"]:
                break
            names.extend(meta["source"] for meta in page["metadatas"])
            rows.append(np.asarray(page["embeddings"], dtype=np.float32))
            offset += len(page["ids"])
        if not rows:
            return np.array([], dtype=object), np.zeros((0, 1), dtype=np.float32)
        return np.asarray(names, dtype=object), np.vstack(rows)

    def date(self, source: str) -> str:
        return self.catalog.records[source].date or ""

    def not_after(self, source: str, as_of: int) -> bool:
        date = self.date(source)
        return not date or int(date.replace("-", "")[:8]) <= as_of

    def stories_as_of(self, as_of: int) -> list[Story]:
        """Every story with a copy not after the as-of date: its newest such copy first (the one shown)."""
        out = []
        for members in self.members.values():
            kept = sorted((s for s in members if self.not_after(s, as_of)), key=lambda s: (self.date(s), s),
                          reverse=True)
            if kept:
                out.append(kept)
        return out

    def best_cosines(self, vector: np.ndarray) -> dict[str, float]:
        """source → its best chunk's cosine with the query vector."""
        best: dict[str, float] = {}
        if not len(self.vectors):
            return best
        for source, cosine in zip(self.sources, self.vectors @ vector, strict=True):
            if cosine > best.get(source, -2.0):
                best[source] = float(cosine)
        return best


def hit_stories(hits: Sequence[Hit]) -> list[Story]:
    return [[h.chunk.source, *(c["source"] for c in h.also)] for h in hits]


AFTER = "gold only after asked_on"
NOT_IN_POOL = "gold not in the pool"
NOT_NAMED = "the gold's story does not name the answer by the rule"
NOT_IN_PASSAGES = "the gold's candidate passages do not name the answer"
BEHIND = "gold behind other answer-naming stories"


@dataclass(frozen=True)
class Miss:
    kind: str  # AFTER, NOT_IN_POOL, NOT_NAMED, NOT_IN_PASSAGES or BEHIND
    detail: str


def miss_reason(gold: Sequence[str], ranked: Sequence[Story], pool_sources: set[str] | None, corpus: Corpus,
                as_of: int, names: Callable[[Story], bool], not_named: str = NOT_NAMED) -> Miss:
    """Why the gold is not among an oracle's first MISS_K stories (`pool_sources` None: the all-articles one;
    `not_named`: what it means that `names` passes over every gold story)."""
    known = [g for g in gold if g in corpus.catalog.records]
    reachable = [g for g in known if corpus.not_after(g, as_of)]
    years = ",".join(sorted({corpus.date(g)[:4] or "undated" for g in known})) or "none in the corpus"
    if not reachable:
        return Miss(AFTER, f"gold dated {', '.join(sorted(corpus.date(g) for g in known)) or 'none in the corpus'}")
    if pool_sources is not None and not set(reachable) & pool_sources:
        return Miss(NOT_IN_POOL, f"gold from {years}")
    gold_stories = [(rank, story) for rank, story in enumerate(ranked, start=1) if set(story) & set(reachable)]
    if not any(names(story) for _, story in gold_stories):
        return Miss(not_named, f"gold from {years}")
    gold_rank = gold_stories[0][0]  # answer-naming stories come first: this one names it
    ahead = [corpus.date(s[0])[:4] or "undated" for s in ranked[: gold_rank - 1] if names(s)]
    counts = ", ".join(f"{ahead.count(y)} from {y}" for y in sorted(set(ahead)))
    return Miss(BEHIND, f"gold from {years} at rank {gold_rank}, behind {len(ahead)} ({counts})")


@dataclass
class Facts:
    """What the table rests on, over all questions measured."""

    pool_stories: list[int] = field(default_factory=list)  # distinct stories in each question's pool
    named_in_pool: list[int] = field(default_factory=list)  # of them, naming the answer
    named_as_of: list[int] = field(default_factory=list)  # answer-naming stories not after asked_on
    windowed: int = 0  # questions whose words name a time window
    gold_articles: int = 0  # gold articles found in the corpus
    gold_naming: int = 0  # of them, naming the answer by the rule


class Bound:
    """Measures one question at a time against one index. `pool`: candidate chunks per retriever of the pool's
    search (default: the settings' candidates_k, the system's own pool)."""

    def __init__(self, settings: Settings, embedder: Embedder, pool: int | None = None,
                 answers: dict[str, str | None] | None = None) -> None:
        self.settings = settings
        self.answers = answers
        self.retriever = HybridRetriever(settings, embedder=embedder)
        pool_settings = settings.model_copy(update={"candidates_k": pool}) if pool else settings
        self.pool_retriever = HybridRetriever(pool_settings, embedder=embedder)
        # More than the distinct stories two retrievers' candidates can hold: every candidate story comes back.
        self.pool_k = 2 * pool_settings.candidates_k
        self.corpus = Corpus(settings, self.retriever)
        self.facts = Facts()

    def question(self, row: dict[str, Any]) -> Question:
        corpus, gold = self.corpus, row["gold_sources"]
        filters = SearchFilters(as_of=row.get("asked_on"))
        as_of = date_int(as_of_date(filters))
        named: dict[str, bool] = {}

        def names(story: Story) -> bool:
            for source in story:
                if source not in named:
                    named[source] = m.names_gold(corpus.forms.get(source, ""), row["answers"])
            return any(named[source] for source in story)

        system = hit_stories(self.retriever.search(row["question"], k=RETRIEVE_K, filters=filters))
        pool_hits = self.pool_retriever.search(row["question"], k=self.pool_k, filters=filters)
        pool = hit_stories(pool_hits)
        # What a reranker of the pool could read: each story's title and candidate chunks (not its whole text).
        passages = {h.chunk.source: m.contained_form("\n".join([h.chunk.title, h.chunk.text,
                                                                *(c.text for c in h.document_passages)]))
                    for h in pool_hits}

        def passages_name(story: Story) -> bool:
            return m.names_gold(passages[story[0]], row["answers"])
        pool_sources = {s for story in pool for s in story}
        window = question_window(row["question"], filters) if self.settings.time_window_ranking else None
        ranking_window = (window.news_about(self.settings.time_window_days_after, as_of_date(filters))
                          if window else None)

        def in_window(story: Story) -> bool:
            return ranking_window is not None and ranking_window.contains(corpus.date(story[0]) or None)

        # Stories the pool never saw: after the pool's, by their best chunk's cosine with the question.
        cosines = corpus.best_cosines(self.retriever.embedder.embed_query(row["question"]))
        outside = [s for s in corpus.stories_as_of(as_of) if not set(s) & pool_sources]
        outside.sort(key=lambda s: (-max(cosines.get(x, -2.0) for x in s), s[0]))
        every = pool + outside
        ranked = {
            ORACLE_POOL: answer_first(pool, names),
            ORACLE_ALL: answer_first(every, names),
            ORACLE_PASSAGES: answer_first(pool, passages_name),
            WINDOW_POOL: answer_first(pool, names, in_window),
            WINDOW_ALL: answer_first(every, names, in_window),
        }
        if self.answers is not None:
            own = answer_spans(self.answers.get(row["id"]), row["question"])
            ranked[OWN_ANSWER] = answer_first(
                pool, lambda story: bool(own) and any(m.names_gold(corpus.forms.get(s, ""), own) for s in story))
        q = Question(row["id"], str(row.get("asked_on") or ""))
        q.scores[SYSTEM] = scores_of(system, gold)
        q.first[SYSTEM] = system[:10]
        # A story naming the answer counts as if it held a gold article.
        q.scores[SYSTEM_NAMED] = scores_of([[*s, *gold] if names(s) else s for s in system], gold)
        known = [g for g in gold if g in corpus.catalog.records]
        q.scores[CEIL_CORPUS] = ceiling(any(corpus.not_after(g, as_of) for g in known))
        q.scores[CEIL_POOL] = ceiling(bool(pool_sources & set(gold)))
        for name, stories in ranked.items():
            q.scores[name] = scores_of(stories, gold)
            q.first[name] = stories[:10]
            if name != OWN_ANSWER and not q.scores[name][f"hit@{MISS_K}"]:
                by_passages = name == ORACLE_PASSAGES
                q.misses[name] = miss_reason(gold, stories, pool_sources if name in POOL_ROWS else None, corpus,
                                             as_of, passages_name if by_passages else names,
                                             NOT_IN_PASSAGES if by_passages else NOT_NAMED)
        facts = self.facts
        facts.pool_stories.append(len(pool))
        facts.named_in_pool.append(sum(map(names, pool)))
        facts.named_as_of.append(sum(map(names, every)))
        facts.windowed += window is not None
        facts.gold_articles += len(known)
        facts.gold_naming += sum(names([g]) for g in known)
        return q


def mean_scores(questions: Sequence[Question], row: str) -> dict[str, float]:
    keys = [f"hit@{k}" for k in KS] + ["mrr@10"]
    return {key: statistics.fmean(q.scores[row][key] for q in questions) for key in keys}


def table(questions: Sequence[Question]) -> str:
    lines = ["| retrieval, distinct stories | hit@1 | hit@5 | hit@10 | mrr@10 |", "|---|---:|---:|---:|---:|"]
    for row in (*ROWS, OWN_ANSWER):
        if row not in questions[0].scores:
            continue
        s = mean_scores(questions, row)
        lines.append(f"| {row} | {s['hit@1']:.3f} | {s['hit@5']:.3f} | {s['hit@10']:.3f} | {s['mrr@10']:.3f} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = bench.common.dataset_parser(__doc__)
    parser.add_argument("--pool", type=int, help="candidate chunks per retriever of the pool (default: the system's)")
    parser.add_argument("--misses", action="store_true", help="list every miss of the oracles with its reason")
    parser.add_argument("--answers-from", type=Path, metavar="RUN",
                        help="a rag eval / replay output folder: add row (e), the pool reordered by its answers")
    args = parser.parse_args(argv)
    settings = get_settings(corpus_dir=args.corpus, index_dir=args.index)
    embedder = embedder_for(settings)
    print(sync_corpus(settings, embedder=embedder).summary_line())
    rows = [r for r in load_dataset(args.dataset) if r["answerable"] and r["gold_sources"] and r["answers"]]
    started = time.perf_counter()
    bound = Bound(settings, embedder, args.pool, run_answers(args.answers_from) if args.answers_from else None)
    questions = [bound.question(row) for row in tqdm(rows, desc="questions", unit="q", file=sys.stderr)]
    facts = bound.facts
    elapsed = time.perf_counter() - started
    pool = args.pool or settings.candidates_k
    print(f"{len(questions)} answerable questions with gold sources; pool: {pool} candidate chunks per retriever "
          f"({statistics.median(facts.pool_stories):.0f} distinct stories at the median); "
          f"{facts.windowed} questions name a time window; {elapsed / max(len(questions), 1):.2f} s/q\n")
    print(table(questions))
    print(f"\nanswer-naming stories per question (median): {statistics.median(facts.named_in_pool):.0f} in the "
          f"pool, {statistics.median(facts.named_as_of):.0f} among every story <= asked_on; gold articles whose "
          f"title and text name the answer by the rule: {facts.gold_naming} of {facts.gold_articles}"
          + (f"; unreadable articles (title only): {len(bound.corpus.unreadable)}" if bound.corpus.unreadable
             else ""))
    for row in ROWS[4:]:
        missed = [q for q in questions if row in q.misses]
        kinds = Counter(q.misses[row].kind for q in missed)
        print(f"\n{row}: {len(missed)} misses at hit@{MISS_K}: "
              + "; ".join(f"{n} {kind}" for kind, n in kinds.most_common()))
        if args.misses:
            for q in missed:
                print(f"  {q.id} (asked {q.asked_on}): {q.misses[row].kind}: {q.misses[row].detail}")


if __name__ == "__main__":
    main()
