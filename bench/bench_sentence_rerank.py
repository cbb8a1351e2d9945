"""Retrieval replay (issue 11): the first stories of each search reordered by their best SENTENCE's dense cosine
to the question (max-sim), read with the encoder the index uses. Measured: docs/benchmarks.md, "Sentence-level
dense rerank (issue 11)".

The search ranks a story by its best chunk, a ~256-token passage whose vector is about the story's topic; a news
quiz's answer is in the article with one sentence that states it. So each of the search's first `top` distinct
stories (`HybridRetriever.search`, k = 30, as of `asked_on`, as `rag eval` runs it) gets a story score read from
its sentences (`split_sentences`), each embedded alone by the packaged MiniLM (`embedder_for`, OpenVINO bf16):

    text      whole: the shown article's whole text; cand: only its candidate chunks (the hit's chunk and its
              document's other candidates, what the search found)
    form      sent: the sentence alone; title: "title\\n\\nsentence" (the index's own header form)
    story     max: the best sentence's cosine; top2: the mean of the best two; max+share: the best cosine plus
              lam x the best sentence's share of the question's terms (title-aware, the extractive ranker's
              coverage feature: rag.answer.text.question_terms / content_terms); sentence+share: the best
              sentence by its cosine + lam x its own share
    fusion    score + w / (c + rank) (rank from 1: the search's order is the prior), the first `top` stories only;
              the stories the question's time window put first (the leading in-window hits) stay first, as the
              search ranks them

Sentences of fewer than `min_words` words (bylines, captions, datelines) are left out. Hit@k / MRR@10 over
distinct stories, as `rag eval` scores them (metrics.story_hit_at_k / story_mrr_at_k), for a grid of knobs; the
knobs are chosen on held-out questions only (`--only` replays one variant on another set).

Every embedded text's vector is kept in `--cache DIR/sentences.sqlite` (keyed by the SHA-1 of the text), the
searches in `DIR/<dataset>-<index>.pickle`: a second run embeds nothing and searches nothing. `--cost Q` times
what the rerank would cost at query time on Q questions with nothing cached (embedding the sentences of the
first `top` stories), and at ingest (the extra embedding of every chunk's sentences, against the chunk itself).

Run: .venv/bin/python -m bench.bench_sentence_rerank /tmp/s6/news23-heldout.jsonl \\
        --corpus ../shared/data/news23/corpus --index COPY_OF_n23full-idx --cache /tmp/maxsim-cache
"""

from __future__ import annotations

import hashlib
import itertools
import os
import pickle
import sqlite3
import statistics
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

import bench.common  # offline mode on import; dataset_parser
from bench.bench_document_rerank import synced_retriever
from bench.bench_retrieval_bound import Story, hit_stories, scores_of
from rag.answer.citations import split_sentences
from rag.answer.text import content_terms, question_terms, without_possessives
from rag.chunking import embedding_text
from rag.embedding import Embedder
from rag.evals.runner import load_dataset
from rag.loaders import LoadError, load_document
from rag.retrieve import HybridRetriever
from rag.settings import Settings
from rag.sync import make_chunker
from rag.types import Hit, SearchFilters

SEARCH_K = 30
TEXTS = ("whole", "cand")
FORMS = ("sent", "title")
STORY_SCORES = ("max", "top2", "max+share", "sentence+share")
GRID = {"top": (20, 30), "min_words": (0, 5), "c": (1.0, 3.0, 10.0), "w": (0.0, 0.03, 0.1, 0.3, 1.0, 3.0),
        "lam": (0.1, 0.3, 1.0, 3.0)}


def sentences_of(text: str, min_words: int = 0) -> list[str]:
    """The text's distinct sentences (split_sentences) of at least `min_words` words, in order."""
    seen: set[str] = set()
    out = []
    for sentence in split_sentences(text):
        if sentence not in seen and len(sentence.split()) >= min_words:
            seen.add(sentence)
            out.append(sentence)
    return out


def term_share(wanted: set[str], sentence: str, title_terms: set[str]) -> float:
    """The share of the question's terms the sentence names, a term of the story's title counting as named."""
    if not wanted:
        return 0.0
    return len(wanted & (set(content_terms(without_possessives(sentence))) | title_terms)) / len(wanted)


def story_score(cosines: np.ndarray, shares: np.ndarray, how: str, lam: float = 0.0) -> float:
    """One story's score from its sentences' cosines to the question (and their term shares): see the module
    docstring. A story without sentences scores -1 (below any cosine)."""
    if not len(cosines):
        return -1.0
    if how == "max":
        return float(cosines.max())
    if how == "top2":
        return float(np.sort(cosines)[-2:].mean())
    if how == "max+share":
        return float(cosines.max() + lam * shares.max())
    if how == "sentence+share":
        return float((cosines + lam * shares).max())
    raise ValueError(f"unknown story score {how!r}")


def fuse(scores: Sequence[float], top: int, c: float, w: float, keep_first: int = 0) -> list[int]:
    """The new order (indices into the search's order) of the first `top` stories by score + w / (c + rank), rank
    from 1; the first `keep_first` (the window's stories, ranked first by the search) stay ahead of the others;
    the stories after `top` keep their places."""
    n = min(top, len(scores))
    keep = min(keep_first, n)

    def key(i: int) -> float:
        return -(scores[i] + w / (c + i + 1))

    return sorted(range(keep), key=key) + sorted(range(keep, n), key=key) + list(range(n, len(scores)))


class VectorCache:
    """Vectors of embedded texts on disk, keyed by the SHA-1 of the text: a knob sweep embeds each text once."""

    def __init__(self, path: Path, embedder: Embedder) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path)
        self.db.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vector BLOB)")
        self.embedder = embedder
        self.memory: dict[str, np.ndarray] = {}

    @staticmethod
    def key(text: str) -> str:
        return hashlib.sha1(text.encode("utf-8")).hexdigest()

    def fill(self, texts: Iterable[str], batch: int = 512) -> int:
        """Loads every text's vector into memory, embedding (and storing) those not on disk; returns how many were
        embedded."""
        wanted = {self.key(t): t for t in texts if self.key(t) not in self.memory}
        keys = list(wanted)
        for i in range(0, len(keys), 900):
            part = keys[i:i + 900]
            rows = self.db.execute(f"SELECT key, vector FROM vectors WHERE key IN ({','.join('?' * len(part))})",
                                   part).fetchall()
            for key, blob in rows:
                self.memory[key] = np.frombuffer(blob, dtype=np.float32)
        missing = [k for k in keys if k not in self.memory]
        for i in tqdm(range(0, len(missing), batch), desc="embedding", unit="batch", file=sys.stderr,
                      disable=not missing):
            part = missing[i:i + batch]
            vectors = self.embedder.embed_documents([wanted[k] for k in part]).astype(np.float32)
            self.db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?)",
                                [(k, v.tobytes()) for k, v in zip(part, vectors, strict=True)])
            self.db.commit()
            self.memory.update(zip(part, vectors, strict=True))
        return len(missing)

    def matrix(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.embedder.dimension), dtype=np.float32)
        return np.vstack([self.memory[self.key(t)] for t in texts])


@dataclass
class Candidate:
    """One story of a search: what scores it and what judges it."""

    story: Story
    title: str
    whole: list[str]  # sentences of the shown article's whole text
    cand: list[str]  # sentences of its candidate chunks


@dataclass
class Searched:
    id: str
    question: str
    gold: list[str]
    vector: np.ndarray
    keep_first: int  # leading stories the window put first
    candidates: list[Candidate]
    scores: dict[tuple[str, str, int], tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)


def leading_in_window(hits: Sequence[Hit]) -> int:
    n = 0
    while n < len(hits) and hits[n].in_window:
        n += 1
    return n


def search_all(settings: Settings, retriever: HybridRetriever, rows: Sequence[dict]) -> list[Searched]:
    max_bytes = int(settings.max_file_mb * 1024 * 1024)
    texts: dict[str, list[str]] = {}

    def whole(hit: Hit) -> list[str]:
        source = hit.chunk.source
        if source not in texts:
            try:
                doc = load_document(settings.corpus_dir / source, settings.corpus_dir, max_bytes=max_bytes,
                                    max_chars=settings.max_document_chars)
                texts[source] = sentences_of(doc.text)
            except LoadError:
                texts[source] = sentences_of(hit.chunk.text)
        return texts[source]

    out = []
    for row in tqdm(rows, desc="searching", unit="q", file=sys.stderr):
        hits = retriever.search(row["question"], k=SEARCH_K, filters=SearchFilters(as_of=row.get("asked_on")))
        stories = hit_stories(hits)
        candidates = [Candidate(story, h.chunk.title or "", whole(h),
                                sentences_of("\n\n".join([h.chunk.text, *(c.text for c in h.document_passages)])))
                      for story, h in zip(stories, hits, strict=True)]
        out.append(Searched(row["id"], row["question"], row["gold_sources"],
                            retriever.embedder.embed_query(row["question"]), leading_in_window(hits), candidates))
    return out


def form_texts(candidate: Candidate, text: str, form: str) -> list[str]:
    sentences = getattr(candidate, text)
    return sentences if form == "sent" else [embedding_text(candidate.title, s) for s in sentences]


def prepare(searched: Sequence[Searched], cache: VectorCache, texts: Sequence[str], forms: Sequence[str],
            top: int) -> None:
    """Embeds what the variants read (the first `top` stories' sentences) and keeps each story's per-sentence
    cosines and term shares."""
    for text, form in itertools.product(texts, forms):
        cache.fill(t for q in searched for cand in q.candidates[:top] for t in form_texts(cand, text, form))
    for q in searched:
        wanted = question_terms(q.question)
        for i, cand in enumerate(q.candidates[:top]):
            title_terms = set(content_terms(without_possessives(cand.title)))
            for text in texts:
                sentences = getattr(cand, text)
                shares = np.array([term_share(wanted, s, title_terms) for s in sentences])
                words = np.array([len(s.split()) for s in sentences])
                for form in forms:
                    cosines = cache.matrix(form_texts(cand, text, form)) @ q.vector
                    q.scores[(text, form, i)] = (cosines, np.vstack([shares, words]) if len(sentences)
                                                 else np.zeros((2, 0)))


def replay(q: Searched, text: str, form: str, how: str, top: int, min_words: int, c: float, w: float,
           lam: float) -> list[Story]:
    scores = []
    for i in range(min(top, len(q.candidates))):
        cosines, facts = q.scores[(text, form, i)]
        kept = facts[1] >= min_words
        scores.append(story_score(cosines[kept], facts[0][kept], how, lam))
    order = fuse(scores, top, c, w, q.keep_first)
    return [q.candidates[i].story for i in order]


def mean(results: Sequence[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.fmean(r[key] for r in results) for key in results[0]}


def row_line(name: str, s: dict[str, float]) -> str:
    return f"| {name} | {s['hit@1']:.3f} | {s['hit@5']:.3f} | {s['hit@10']:.3f} | {s['mrr@10']:.3f} |"


def variants(texts: Sequence[str], forms: Sequence[str]) -> list[tuple]:
    out = []
    for text, form, how in itertools.product(texts, forms, STORY_SCORES):
        for top, min_words, c, w, lam in itertools.product(*GRID.values()):
            shared = how.endswith("+share")
            if not shared and lam != GRID["lam"][0]:
                continue
            out.append((text, form, how, top, min_words, c, w, lam if shared else 0.0))
    return out


def parse_only(only: str) -> tuple:
    text, form, how, top, min_words, c, w, lam = only.split(",")
    return (text, form, how, int(top), int(min_words), float(c), float(w), float(lam))


def variant_name(v: tuple) -> str:
    text, form, how, top, min_words, c, w, lam = v
    return (f"{text} {form} {how}" + (f" lam {lam:g}" if how.endswith("+share") else "")
            + f", top {top}, min {min_words}, c {c:g}, w {w:g}")


def measure_cost(settings: Settings, retriever: HybridRetriever, embedder: Embedder, rows: Sequence[dict],
                 documents: int) -> None:
    """Query time: embedding the first `top` stories' sentences (whole text; candidate chunks) with nothing
    cached, per question; ingest: every chunk's sentences embedded besides the chunk, over `documents` articles."""
    searched = search_all(settings, retriever, rows)
    load0 = os.getloadavg()[0]
    for top, text in itertools.product(GRID["top"], TEXTS):
        seconds, counts = [], []
        for q in searched:
            sentences = [s for cand in q.candidates[:top] for s in getattr(cand, text)]
            started = time.perf_counter()
            embedder.embed_documents(sentences)
            seconds.append(time.perf_counter() - started)
            counts.append(len(sentences))
        print(f"query time, {text} text of the first {top} stories: {statistics.median(counts):.0f} sentences "
              f"(median) embedded in {statistics.median(seconds):.2f} s (median), {statistics.fmean(seconds):.2f} s "
              f"(mean) per question", flush=True)
    load1 = os.getloadavg()[0]
    chunker = make_chunker(settings, embedder)
    max_bytes = int(settings.max_file_mb * 1024 * 1024)
    chunk_texts: list[str] = []
    sentence_texts: list[str] = []
    for path in sorted(settings.corpus_dir.glob("*.md"))[:documents]:
        doc = load_document(path, settings.corpus_dir, max_bytes=max_bytes, max_chars=settings.max_document_chars)
        for chunk in chunker.split(doc):
            chunk_texts.append(chunker.embedded_text(chunk))
            sentence_texts.extend(sentences_of(chunk.text))
    started = time.perf_counter()
    embedder.embed_documents(chunk_texts)
    chunk_s = time.perf_counter() - started
    started = time.perf_counter()
    embedder.embed_documents(sentence_texts)
    sentence_s = time.perf_counter() - started
    load2 = os.getloadavg()[0]
    print(f"ingest, {documents} articles: {len(chunk_texts)} chunks embedded in {chunk_s:.1f} s, their "
          f"{len(sentence_texts)} sentences in {sentence_s:.1f} s ({sentence_s / chunk_s:.2f}x the chunks' time, "
          f"{1000 * sentence_s / len(chunk_texts):.0f} ms more per chunk)")
    print(f"1-minute load average during the query-time runs {load0:.2f} -> {load1:.2f}, after ingest {load2:.2f} "
          f"({os.cpu_count()} CPUs)")


def main(argv: Sequence[str] | None = None) -> None:
    parser = bench.common.dataset_parser(__doc__)
    parser.add_argument("--cache", type=Path, required=True, help="folder for sentence vectors and searches")
    parser.add_argument("--texts", default=",".join(TEXTS), help="which texts to score: whole,cand")
    parser.add_argument("--forms", default="sent", help="sent and/or title (title+sentence, 2x the embedding)")
    parser.add_argument("--only", action="append", help="one variant: TEXT,FORM,HOW,TOP,MIN_WORDS,C,W,LAM "
                        "(repeatable; default: the whole grid)")
    parser.add_argument("--best", type=int, default=15, help="print the best N variants of the grid")
    parser.add_argument("--cost", type=int, help="time the cost on this many questions instead (no cache)")
    args = parser.parse_args(argv)
    settings, retriever = synced_retriever(args.corpus, args.index)
    embedder = retriever.embedder
    rows = [r for r in load_dataset(args.dataset) if r["answerable"] and r["gold_sources"]]
    top = max(GRID["top"])
    if args.cost:
        measure_cost(settings, retriever, embedder, rows[:args.cost], documents=100)
        return
    stored = args.cache / f"{args.dataset.stem}-{args.index.name}.pickle"
    if stored.exists():
        searched = pickle.loads(stored.read_bytes())
    else:
        searched = search_all(settings, retriever, rows)
        args.cache.mkdir(parents=True, exist_ok=True)
        stored.write_bytes(pickle.dumps(searched))
    texts, forms = args.texts.split(","), args.forms.split(",")
    prepare(searched, VectorCache(args.cache / "sentences.sqlite", embedder), texts, forms, top)
    print(f"{len(searched)} answerable questions with gold sources; first {SEARCH_K} stories of each search; "
          f"{sum(q.keep_first > 0 for q in searched)} with window stories first\n")
    print("| variant | hit@1 | hit@5 | hit@10 | mrr@10 |\n|---|---:|---:|---:|---:|")
    print(row_line("system", mean([scores_of([c.story for c in q.candidates], q.gold) for q in searched])))
    chosen = [parse_only(o) for o in args.only] if args.only else variants(texts, forms)
    results = [(v, mean([scores_of(replay(q, *v), q.gold) for q in searched])) for v in chosen]
    if not args.only:
        results.sort(key=lambda r: -(r[1]["hit@5"] + r[1]["mrr@10"]))
        groups: dict[tuple, tuple] = {}
        for v, s in results:
            groups.setdefault(v[:3], (v, s))
        results = results[:args.best] + [("best of its kind", None), *groups.values()]
    for v, s in results:
        print(row_line(variant_name(v), s) if s is not None else f"| **{v}** | | | | |")
    if not args.only:
        print(f"\n({len(chosen)} variants; best {len(results)} by hit@5 + mrr@10; replay one with --only "
              "TEXT,FORM,HOW,TOP,MIN_WORDS,C,W,LAM)")


if __name__ == "__main__":
    main()
