"""Hybrid retrieval: dense (Chroma) and BM25 candidates fused by reciprocal rank fusion."""

from __future__ import annotations

import datetime as dt
import fnmatch
import math
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rag.embedding import Embedder, embedder_for, index_vectors
from rag.errors import FilterError
from rag.index import (
    IndexUnavailable,
    LexicalFilter,
    LexicalIndex,
    Manifest,
    chroma_dir,
    first_line,
    get_chunks,
    manifest_stamp,
    open_collection,
)
from rag.lexical import analyze
from rag.lexical import date_int as stored_date_int
from rag.manifest import DocumentInfo
from rag.settings import Settings
from rag.timewindow import AsOfError, DateWindow, date_int, parse_as_of, resolve_window, time_only
from rag.types import Chunk, Hit, SearchFilters


def as_of_date(filters: SearchFilters | None, name: str = "as-of date") -> dt.date:
    """The as-of date of a search: the filter's, else today. `name`: what a FilterError calls it."""
    try:
        return parse_as_of(filters.as_of if filters else None, name)
    except AsOfError as exc:
        raise FilterError(str(exc)) from None


def date_range(filters: SearchFilters | None, names: tuple[str, str] = ("--since", "--until")) -> tuple[int | None,
                                                                                                      int | None]:
    """The since/until filter as YYYYMMDD ints, or a FilterError naming the bound by `names` (the CLI's flags,
    the web chat's fields): a date that is not one, or a since later than the until (no article could match)."""
    since = parse_date(filters.since if filters else None, names[0])
    until = parse_date(filters.until if filters else None, names[1])
    if filters and since is not None and until is not None and since > until:
        raise FilterError(f"{names[0]} ({(filters.since or '').strip()}) is later than {names[1]} "
                          f"({(filters.until or '').strip()}): no article can be in that range")
    return since, until


def question_window(question: str, filters: SearchFilters | None) -> DateWindow | None:
    """The date window the question's time words name, relative to its as-of date."""
    return resolve_window(question, as_of_date(filters))


DENSE_OVERFETCH = 4  # dense candidates read unfiltered per one needed, before a date filter is run in Chroma
# A source glob naming at least this share of the archive is filtered like a date bound (over-fetch, then
# filter); a narrower one restricts Chroma's query to its chunks' ids, up to ID_FILTER_MAX of them (beyond, the
# metadata `where`). Chroma runs `$in` over sources as a metadata scan: 94 ms a query at 100k chunks for 1,000
# articles, against 15 ms for the same 12,000 chunks by id (docs/benchmarks.md#scale).
SOURCE_OVERFETCH_SHARE = 0.5
ID_FILTER_MAX = 100_000
RECENCY_COSINE_BAND = 0.1
# Window-first ordering promotes only in-window candidates within this dense cosine of the best candidate.
WINDOW_COSINE_BAND = 0.2
# How many more passages of its document a hit carries (Hit.passages).
PASSAGES_PER_HIT = 2


class Catalog:
    """Per-document facts from the manifest: dates (for the as-of filter of undated articles) and story groups.
    Derived from the manifest alone, so every process sees the groups the last finished sync left. Given the
    catalog it had, a reader reads only the documents changed since (`Manifest.changes_since`) and updates the
    story groups with those (StoryIndex): a dropped article costs what it changed, not a pass over the archive."""

    def __init__(self, manifest: Manifest, threshold: float, previous: Catalog | None = None) -> None:
        from rag.stories import StoryIndex

        since = previous if previous is not None and previous.threshold == threshold else None
        changes = manifest.changes_since(since.epoch if since else None, since.seq if since else 0)
        self.threshold, self.epoch, self.seq = threshold, changes.epoch, changes.seq
        if since is None or changes.full or since._stories is None:
            self.records: dict[str, DocumentInfo] = dict(changes.upserted)
            self._stories = StoryIndex(threshold)
            self._stories.update({s: (r.minhash, r.title) for s, r in self.records.items()}, ())
        else:
            self.records = {s: r for s, r in since.records.items() if s not in changes.removed}
            self.records.update(changes.upserted)
            # Shared with the previous catalog, whose own fields stay as they were: it may still be in use.
            self._stories = since._stories
            since._stories = None  # type: ignore[assignment]  (only the newest catalog may update it)
            self._stories.update({s: (r.minhash, r.title) for s, r in changes.upserted.items()}, changes.removed)
        self.undated = sorted(src for src, rec in self.records.items() if not rec.date)
        self.newest = max((stored_date_int(rec.date) for rec in self.records.values()), default=0)
        self.story = self._stories.groups()
        self.members: dict[str, list[str]] = {}
        for source, story in self.story.items():
            self.members.setdefault(story, []).append(source)

    def copies(self, source: str, as_of: int) -> list[str]:
        """The other documents of `source`'s story that exist at the as-of date, newest first."""
        story = self.story.get(source, source)
        others = [s for s in self.members.get(story, []) if s != source and _not_after(self.records[s].date, as_of)]
        return sorted(others, key=lambda s: (self.records[s].date or "", s), reverse=True)


def _dated_within(day: int | None, since: int | None, until: int | None, as_of: int | None) -> bool:
    """What the search's date filters keep (_dense's `where`; a newer copy standing in for a hit): since/until
    need a date within them; as_of (without until) keeps the undated (no date_int) and those not after it."""
    if since is not None and (day is None or day < since):
        return False
    if until is not None:
        return day is not None and day <= until
    return as_of is None or day is None or day <= as_of


def _not_after(date: str | None, as_of: int) -> bool:
    return not date or int(date.replace("-", "")[:8]) <= as_of


def recency(date: str | None, as_of: dt.date, half_life_days: float) -> float:
    """0.5^(age / half-life) for an article of `date` read on `as_of`; 0 for undated ones (never "new")."""
    if not date or half_life_days <= 0:
        return 0.0
    try:
        age = (as_of - dt.date.fromisoformat(date[:10])).days
    except ValueError:
        return 0.0
    return float(0.5 ** (max(age, 0) / half_life_days))


def parse_date(value: str | None, name: str) -> int | None:
    """YYYY-MM-DD (or YYYY-MM, YYYY) → YYYYMMDD int; partial dates take the period's first day."""
    if not value:
        return None
    text = value.strip()
    for fmt, length in (("%Y-%m-%d", 10), ("%Y-%m", 7), ("%Y", 4)):
        try:
            parsed = dt.datetime.strptime(text[:length], fmt).date()
        except ValueError:
            continue
        if len(text) == length:
            return int(parsed.strftime("%Y%m%d"))
    raise FilterError(f"{name} must be a date like 2026-06-30, got {value!r}")


# Question forms that say how to answer, not what about: as lexical terms they match any article using the words.
_QUESTION_FORM = re.compile(r"\b(?:true or false|(?:which|what|who) of the following|all of the following|"
                            r"which one of these|all (?:of )?these)\b|\bexcept\s*[:?]?\s*$", re.IGNORECASE)


def lexical_query(question: str, window: DateWindow | None) -> str:
    """The words the lexical index searches for: the question without the time words that set its window
    ("this week" is matched by publication date, not by articles saying "week") and without question forms."""
    text = question
    if window is not None and window.phrase:
        text = re.sub(re.escape(window.phrase), " ", text, count=1, flags=re.IGNORECASE)
    text = _QUESTION_FORM.sub(" ", text)
    return text if text.strip() else question


def reciprocal_rank_fusion(rankings: list[list[str]], k: int) -> dict[str, float]:
    """score(d) = Σ over rankings of 1 / (k + rank(d)), rank starting at 1 (Cormack et al., 2009)."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, chunk_id in enumerate(ranking, start=1):
            scores[chunk_id] = scores.get(chunk_id, 0.0) + 1.0 / (k + rank)
    return scores


def check_vectors(manifest: Manifest, settings: Settings) -> None:
    """A query must be embedded as the index's passages were: int8 vectors are close to the others, not equal, so
    an index embedded with RAG_EMBEDDING_PRECISION=int8 is searched only with int8 queries, and vice versa."""
    if not manifest.fingerprint:
        return
    recorded = manifest.fingerprint.get("embedding_precision")
    wanted = index_vectors(settings.embedding_precision)
    if recorded != wanted:
        raise IndexUnavailable(
            f"the index at {settings.index_dir} holds {recorded or 'bf16/f32'} vectors but queries would be "
            f"{wanted or 'bf16/f32'} ones (RAG_EMBEDDING_PRECISION={settings.embedding_precision}): set the "
            "precision the index was built with, or run `rag ingest` to re-embed it")


def feedback_terms(stories: list[list[str]], question: set[str], frequencies: dict[str, int], total: int,
                   m: int) -> dict[str, float]:
    """RM3-style expansion terms from pseudo-relevant stories (each a list of passage texts): the m stems with the
    highest weight = Σ over stories of the stem's share of that story's terms (each story counts alike, however
    long) × BM25 IDF from `frequencies` (chunks holding the stem, of `total`); the question's own stems left out.
    → stem: its weight relative to the best one (1.0 for the first)."""
    weight: Counter[str] = Counter()
    for texts in stories:
        counts = Counter(term for text in texts for term in analyze(text))
        size = sum(counts.values())
        for term, count in counts.items():
            if term not in question:
                weight[term] += count / size
    scored = {term: w * math.log(1.0 + (total - frequencies.get(term, 0) + 0.5) / (frequencies.get(term, 0) + 0.5))
              for term, w in weight.items()}
    best = sorted(scored.items(), key=lambda item: (-item[1], item[0]))[:m]
    top = best[0][1] if best else 0.0
    return {term: score / top for term, score in best if score > 0} if top > 0 else {}


@dataclass(frozen=True)
class _Scope:
    """What one search may return and how its lexical query reads: the same for a first and an expanded pass."""

    lexical: LexicalIndex | None
    catalog: Catalog
    sources: set[str] | None
    source_ids: list[str] | None
    since: int | None
    until: int | None
    as_of: dt.date
    as_of_int: int
    window: DateWindow | None
    lexical_text: str
    # The question asks only for the news of its window ("What happened this week?", timewindow.time_only).
    time_only: bool = False


@dataclass
class _Pool:
    """One candidate stage: both retrievers' lists, the candidates' chunks and cosines to the question, and their
    order after fusion and time (`ranked`)."""

    dense: list[tuple[str, float]]
    bm25: list[tuple[str, float]]
    chunks: dict[str, Chunk]
    dense_sim: dict[str, float]
    base: dict[str, float]
    in_window: dict[str, bool]
    ranking_window: DateWindow | None
    ranked: list[str]

    @property
    def dense_rank(self) -> dict[str, int]:
        return {cid: i for i, (cid, _) in enumerate(self.dense, start=1)}

    @property
    def bm25_rank(self) -> dict[str, int]:
        return {cid: i for i, (cid, _) in enumerate(self.bm25, start=1)}

    @property
    def bm25_score(self) -> dict[str, float]:
        return dict(self.bm25)


class HybridRetriever:
    """`search(query, k, filters) -> list[Hit]`. One instance serves many queries and threads; it notices
    when a sync rebuilt the lexical index and reloads it."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None, collection: Any | None = None) -> None:
        self.settings = settings
        self.embedder = embedder or embedder_for(settings)
        # Opened on first use and again after a failure: a Chroma server that was down (or restarted on a new
        # data directory) is picked up by the next search, with no restart of the app.
        self._collection = collection
        self._collection_stamp = None if settings.chroma_url else manifest_stamp(settings.index_dir)
        self._lexical: LexicalIndex | None = None
        self._lexical_stamp: tuple[int, int] | None = None
        self._catalog: Catalog | None = None
        self._catalog_stamp: str | None = None
        self._lock = threading.Lock()
        # The last source globs' matches and chunk ids, per index state (a glob is typically asked again).
        self._glob_cache: dict[tuple[Any, str], tuple[set[str], list[str]]] = {}

    @property
    def collection(self) -> Any:
        # Reopened when the manifest changed since: if another process wrote the embedded index, reopening
        # is what makes Chroma read it afresh (see index.py); after our own writes it reuses the same client.
        stamp = None if self.settings.chroma_url else manifest_stamp(self.settings.index_dir)
        if self._collection is None or stamp != self._collection_stamp:
            self._collection = open_collection(self.settings)
            self._collection_stamp = stamp
        return self._collection

    def count(self) -> int:
        """Chunks in the dense index (raises IndexUnavailable with a clear message when it cannot be read). An
        embedded index never written holds none: opening Chroma would create its folder, and reading creates
        nothing (`rag search` with a wrong --index must not leave a folder behind)."""
        if not self.settings.chroma_url and not chroma_dir(self.settings).exists():
            return 0
        with self._chroma():
            return int(self.collection.count())

    @contextmanager
    def _chroma(self) -> Iterator[None]:
        """Any failure of Chroma becomes one clear IndexUnavailable; the collection is reopened next time."""
        try:
            yield
        except IndexUnavailable:
            self._collection = None
            raise
        except Exception as exc:  # noqa: BLE001  (httpx, chromadb and sqlite errors all mean the same here)
            self._collection = None
            if self.settings.chroma_url:
                raise IndexUnavailable(f"the Chroma server at {self.settings.chroma_url} is not answering "
                                       f"({first_line(exc)}); search resumes when it is back") from exc
            raise IndexUnavailable(f"the index at {self.settings.index_dir} failed: {first_line(exc)}") from exc

    # The lexical index is one SQLite file updated in place: every query sees the last committed sync. It is
    # reopened only when the file itself was replaced (deleted and written again), which its inode tells.
    def lexical(self) -> LexicalIndex | None:
        try:
            stat = LexicalIndex.file(self.settings.index_dir).stat()
            stamp: tuple[int, int] | None = (stat.st_dev, stat.st_ino)
        except OSError:
            stamp = None
        with self._lock:
            if stamp != self._lexical_stamp or self._lexical is None:
                # The old object is not closed here: another thread may be searching with it; it goes when unused.
                self._lexical = LexicalIndex.load(self.settings.index_dir) if stamp is not None else None
                self._lexical_stamp = stamp
            return self._lexical

    def sources(self) -> list[str]:
        lexical = self.lexical()
        return sorted(set(lexical.sources)) if lexical else []

    def catalog(self) -> Catalog:
        stamp = manifest_stamp(self.settings.index_dir)
        with self._lock:
            if self._catalog is None or stamp != self._catalog_stamp:
                with Manifest.load(self.settings.index_dir) as manifest:
                    check_vectors(manifest, self.settings)
                    try:
                        self._catalog = Catalog(manifest, self.settings.story_threshold, self._catalog)
                    except Exception:  # an update that failed half-way: the next one starts afresh
                        self._catalog = None
                        raise
                self._catalog_stamp = stamp
            return self._catalog

    def search(self, query: str, k: int | None = None, filters: SearchFilters | None = None) -> list[Hit]:
        k = k or self.settings.top_k
        query = query.strip()
        if not query:
            return []
        filters = filters or SearchFilters()
        since, until = date_range(filters)
        as_of = as_of_date(filters)
        as_of_int = date_int(as_of)
        window = resolve_window(query, as_of) if self.settings.time_window_ranking else None
        lexical = self.lexical()
        catalog = self.catalog()
        allowed_sources, allowed_ids = self._matching_sources(lexical, catalog, filters.source_glob)
        if allowed_sources is not None and not allowed_sources:
            return []
        vector = self.embedder.embed_query(query)
        scope = _Scope(lexical, catalog, allowed_sources, allowed_ids, since, until, as_of, as_of_int, window,
                       lexical_query(query, window), window is not None and time_only(query, window))
        pool = self._pool(scope, vector, vector, k)
        if pool is not None and (self.settings.feedback_terms > 0 or self.settings.feedback_beta > 0):
            # Query expansion by pseudo-relevance feedback (docs/benchmarks.md#query-expansion-issue-11): the first
            # stories of this search suggest words and a direction the question did not spell out, and the
            # candidates are searched again with them, under the same filters.
            pool = self._expanded(scope, pool, query, vector, k) or pool
        if pool is None:
            return []
        chunks, dense_sim, in_window, base, ranked = pool.chunks, pool.dense_sim, pool.in_window, pool.base, pool.ranked
        dense_rank, bm25_rank, bm25_score = pool.dense_rank, pool.bm25_rank, pool.bm25_score
        ranking_window = pool.ranking_window
        if self.settings.story_grouping:
            def searchable(source: str) -> bool:
                # A copy may stand in for a retrieved one only if the search's own filters would have allowed it.
                day = stored_date_int(catalog.records[source].date) or None  # undated: outside any since/until
                return ((allowed_sources is None or source in allowed_sources)
                        and _dated_within(day, since, until, None))

            order = self._one_document_per_story(ranked, chunks, catalog, k, as_of_int, vector, dense_sim, searchable)
        else:
            order = self._one_chunk_per_document(ranked, chunks, k)
        more = self._following_passages(ranked, order, chunks)
        documents = self._document_passages(ranked, order, chunks)
        if ranking_window:
            in_window.update({cid: ranking_window.contains(chunks[cid].date) for cid in order if cid not in in_window})
        hits = []
        for rank, cid in enumerate(order, start=1):
            chunk = chunks[cid]
            score = base.get(cid, 0.0)
            hit = Hit(
                chunk=chunk,
                score=score,
                rank=rank,
                dense_rank=dense_rank.get(cid),
                bm25_rank=bm25_rank.get(cid),
                dense_score=dense_sim.get(cid),
                bm25_score=bm25_score.get(cid),
                rerank_score=score if self.settings.reranker == "cosine" else None,
                in_window=in_window.get(cid) if window else None,
                passages=more.get(cid, []),
                document_passages=documents[cid],
                cosines={c.id: dense_sim[c.id] for c in (chunk, *documents[cid]) if c.id in dense_sim},
            )
            if self.settings.story_grouping:
                hit.story = catalog.story.get(chunk.source, chunk.source)
                hit.also = [self._copy(catalog, src) for src in catalog.copies(chunk.source, as_of_int)]
            hits.append(hit)
        return hits

    def _pool(self, scope: _Scope, search_vector: np.ndarray, vector: np.ndarray, k: int,
              expansion: dict[str, float] | None = None, dense: list[tuple[str, float]] | None = None,
              bm25: list[tuple[str, float]] | None = None, known_sim: dict[str, float] | None = None) -> _Pool | None:
        """The candidate stage: the dense neighbours of `search_vector` (or the given `dense` list) and the BM25
        matches of the question's words plus `expansion`'s weighted stems (or the given `bm25` list), fused and put in
        time order; None when nothing matched. Cosines (the relevance bands, Hit.dense_score) are always to the question's own `vector`
        (`known_sim`: ones already computed)."""
        n, catalog, as_of = self.settings.candidates_k, scope.catalog, scope.as_of
        if dense is None:
            with self._chroma():
                # As of a date no article is after (today, usually) the as-of clause excludes nothing, and Chroma's
                # `where` filter costs ~100x an unfiltered query (docs/benchmarks.md#scale): it is left out. A
                # chunk a running sync wrote past the manifest is still dropped below (_not_after).
                dense_as_of = scope.as_of_int if scope.as_of_int < catalog.newest else None
                share = len(scope.sources or ()) / max(len(catalog.records), 1)
                dense = self._dense(search_vector, n, scope.sources, scope.since, scope.until, dense_as_of,
                                    catalog.undated, source_ids=scope.source_ids, source_share=share)
        if bm25 is None:
            bm25 = self._bm25(scope.lexical, scope.lexical_text, n, scope.sources, scope.since, scope.until,
                              scope.as_of_int, expansion)
        fused = reciprocal_rank_fusion([[cid for cid, _ in dense], [cid for cid, _ in bm25]], self.settings.rrf_k)
        if not fused:
            return None
        dense_sim = dict(dense) if search_vector is vector else {}
        dense_sim.update({cid: sim for cid, sim in (known_sim or {}).items() if cid in fused})
        with self._chroma():
            # Lexical-only candidates get a cosine too: the relevance bands below compare every candidate.
            chunks, vectors = self._fetch(list(fused), need_vectors=[cid for cid in fused if cid not in dense_sim])
        for cid, vec in vectors.items():
            dense_sim[cid] = float(np.dot(vec, vector))
        # Deleted between the candidate search and the fetch; or dated after the as-of date (never shown, even
        # if an index written by an older version lacks the date in its filterable metadata).
        candidates = [cid for cid in fused if cid in chunks and _not_after(chunks[cid].date, scope.as_of_int)]
        base = dict(fused)
        if self.settings.reranker == "cosine":
            # Rescore the best fused candidates by the query–passage cosine alone (title header included).
            top = sorted(candidates, key=lambda cid: -fused[cid])[: max(k, self.settings.rerank_top_n)]
            base = {cid: (1.0 + dense_sim.get(cid, -1.0)) if cid in top else fused[cid] * 1e-3 for cid in candidates}
        window = scope.window
        # A question that asks only for the news of its window ("What happened this week?") is about the window's
        # stories, not about passages similar to its words: their opening passages join the candidates. Its window
        # is the one it names: the widening past the end (news_about: February's inflation is reported on 5 March)
        # is for a topical question; "Any news from yesterday?" asks for yesterday's stories, not today's.
        digest = window is not None and scope.time_only
        ranking_window = window if digest else (
            window.news_about(self.settings.time_window_days_after, as_of) if window else None)
        if digest:
            with self._chroma():
                ledes = self._window_ledes(catalog, ranking_window, scope.since, scope.until, scope.as_of_int,
                                           scope.sources, vector)
            known = set(candidates)
            for chunk, cosine in ledes:
                if chunk.id not in known:  # scored 0: neither retriever found it
                    chunks[chunk.id], base[chunk.id] = chunk, 0.0
                    candidates.append(chunk.id)
                dense_sim.setdefault(chunk.id, cosine)
        in_window = {cid: ranking_window.contains(chunks[cid].date) for cid in candidates} if ranking_window else {}
        # Time only reorders candidates about as relevant as the best one (dense cosine within a band of it): on
        # flat fused scores the recency prior would lift any recent article, and window-first ordering would put
        # an in-window article on another subject (a cosine of 0.05) above the answer published a day earlier.
        best_cosine = max((dense_sim.get(cid, -1.0) for cid in candidates), default=-1.0)
        near = {cid for cid in candidates if dense_sim.get(cid, -1.0) >= best_cosine - RECENCY_COSINE_BAND}
        relevant = {cid for cid in candidates if dense_sim.get(cid, -1.0) >= best_cosine - WINDOW_COSINE_BAND}
        if digest:
            inside = [cid for cid in candidates if in_window[cid]]
            outside = [cid for cid in candidates if not in_window[cid]]
            ranked = (self._newest_first(inside, base, chunks, catalog)
                      + self._time_order(outside, base, chunks, {}, as_of, near))
        else:
            ranked = self._time_order(candidates, base, chunks,
                                      {c: v for c, v in in_window.items() if c in relevant}, as_of, near)
        return _Pool(dense, bm25, chunks, dense_sim, base, in_window, ranking_window, ranked)

    def _expanded(self, scope: _Scope, pool: _Pool, query: str, vector: np.ndarray, k: int) -> _Pool | None:
        """The candidate stage again, with the first `feedback_stories` stories of `pool` as pseudo-relevant
        feedback: lexical (`feedback_terms` stems of their candidate passages at `feedback_weight`) and dense
        (Rocchio: the question vector plus `feedback_beta` × the mean of their best passages' vectors). Only
        `pool`'s candidates (already within the search's filters) are read; the new search runs under the same
        filters. None when the feedback suggests nothing."""
        settings = self.settings
        stories: dict[str, list[str]] = {}  # story → its candidate chunk ids, best first
        for cid in pool.ranked:
            source = pool.chunks[cid].source
            story = scope.catalog.story.get(source, source)
            if story in stories or len(stories) < settings.feedback_stories:
                stories.setdefault(story, []).append(cid)
        if not stories:
            return None
        expansion: dict[str, float] = {}
        if settings.feedback_terms > 0 and scope.lexical is not None:
            texts = [[pool.chunks[cid].text for cid in ids] for ids in stories.values()]
            question = set(analyze(query)) | set(analyze(scope.lexical_text))
            candidates = {term for story in texts for text in story for term in analyze(text)} - question
            total, frequencies = scope.lexical.document_frequencies(candidates)
            expansion = {term: settings.feedback_weight * weight for term, weight in
                         feedback_terms(texts, question, frequencies, total, settings.feedback_terms).items()}
        search_vector = vector
        if settings.feedback_beta > 0:
            with self._chroma():
                _, vectors = self._fetch([], need_vectors=[ids[0] for ids in stories.values()])
            if vectors:
                centroid = np.mean([v / (np.linalg.norm(v) or 1.0) for v in vectors.values()], axis=0)
                moved = vector + settings.feedback_beta * centroid / (np.linalg.norm(centroid) or 1.0)
                search_vector = (moved / (np.linalg.norm(moved) or 1.0)).astype(np.float32)
        if not expansion and search_vector is vector:
            return None
        return self._pool(scope, search_vector, vector, k, expansion=expansion or None,
                          dense=pool.dense if search_vector is vector else None,
                          bm25=None if expansion else pool.bm25, known_sim=pool.dense_sim)

    def _time_order(self, candidates: list[str], base: dict[str, float], chunks: dict[str, Chunk],
                    in_window: dict[str, bool], as_of: dt.date, near: set[str] | None = None) -> list[str]:
        """Inside the question's window first; within each part, the base score times the recency prior."""
        weight, half_life = self.settings.recency_weight, self.settings.recency_half_life_days
        boost = self.settings.time_window_boost

        def key(cid: str) -> tuple[int, float]:
            eligible = weight > 0 and (near is None or cid in near)
            score = base[cid] * (1.0 + weight * recency(chunks[cid].date, as_of, half_life) if eligible else 1.0)
            inside = in_window.get(cid, False)
            if boost > 0:
                return (0, -score * (1.0 + boost if inside else 1.0))
            return (0 if inside else 1, -score)

        return sorted(candidates, key=key)

    @staticmethod
    def _newest_first(candidates: list[str], base: dict[str, float], chunks: dict[str, Chunk],
                      catalog: Catalog) -> list[str]:
        """A time-only question's window: its stories newest first; on one day, a story with more copies (outlets
        that ran it) first, then the better fused score of its document; each article's passages in its own order,
        so that its opening passage represents it."""
        best: dict[str, float] = {}
        for cid in candidates:
            source = chunks[cid].source
            best[source] = max(best.get(source, 0.0), base.get(cid, 0.0))

        def key(cid: str) -> tuple[int, int, float, str, int]:
            chunk = chunks[cid]
            copies = len(catalog.members.get(catalog.story.get(chunk.source, chunk.source), ()))
            return (-stored_date_int(chunk.date), -copies, -best[chunk.source], chunk.source, chunk.ordinal)

        return sorted(candidates, key=key)

    def _window_ledes(self, catalog: Catalog, window: DateWindow, since: int | None, until: int | None, as_of: int,
                      allowed: set[str] | None, vector: np.ndarray) -> list[tuple[Chunk, float]]:
        """The opening passage of each of the newest `candidates_k` articles published in `window` that the
        search's filters keep, with its cosine to the query. The catalog names them (no scan of Chroma's
        metadata for dates); Chroma returns their first chunks."""
        inside = [(record.date or "", source) for source, record in catalog.records.items()
                  if window.contains(record.date) and (allowed is None or source in allowed)
                  and _dated_within(stored_date_int(record.date), since, until, as_of)]
        newest = [source for _, source in sorted(inside, reverse=True)[: self.settings.candidates_k]]
        if not newest:
            return []
        where = {"$and": [{"source": {"$in": newest}}, {"ordinal": 0}]}
        page = self.collection.get(where=where, include=["documents", "metadatas", "embeddings"])
        return [(Chunk.from_record(cid, text, meta), float(np.dot(np.asarray(vec, dtype=np.float32), vector)))
                for cid, text, meta, vec in zip(page["ids"], page["documents"], page["metadatas"], page["embeddings"],
                                                strict=True)]

    @staticmethod
    def _following_passages(ranked: list[str], order: list[str], chunks: dict[str, Chunk]) -> dict[str, list[Chunk]]:
        """hit chunk id → its document's chunks that rank right after it, before any other shown document's (at
        most PASSAGES_PER_HIT). Reading each hit with these passages gives the chunk-level order the ranking had."""
        shown = {chunks[cid].source: cid for cid in order}
        passages: dict[str, list[Chunk]] = {cid: [] for cid in order}
        current: str | None = None
        for cid in ranked:
            source = chunks[cid].source
            if cid in passages:
                current = cid
            elif source not in shown:
                continue  # beyond the k results, or a copy shown as another version of its story
            elif current is not None and source == chunks[current].source:
                if len(passages[current]) < PASSAGES_PER_HIT:
                    passages[current].append(chunks[cid])
            else:
                current = None  # another shown document's chunk came between: the rest follow that one
        return passages

    @staticmethod
    def _document_passages(ranked: list[str], order: list[str], chunks: dict[str, Chunk]) -> dict[str, list[Chunk]]:
        """hit chunk id → every other candidate chunk of its document, in ranked order (an article's passage that
        holds the answer often ranks below other articles' best chunks: the answer ranks these for the question)."""
        shown = {chunks[cid].source: cid for cid in order}
        passages: dict[str, list[Chunk]] = {cid: [] for cid in order}
        for cid in ranked:
            hit = shown.get(chunks[cid].source)
            if hit is not None and cid != hit:
                passages[hit].append(chunks[cid])
        return passages

    @staticmethod
    def _one_chunk_per_document(order: list[str], chunks: dict[str, Chunk], k: int) -> list[str]:
        """The first k distinct documents, each by its best-ranked chunk (a document scores as its best passage)."""
        seen: set[str] = set()
        out: list[str] = []
        for cid in order:
            if chunks[cid].source not in seen:
                seen.add(chunks[cid].source)
                out.append(cid)
                if len(out) == k:
                    break
        return out

    def _one_document_per_story(self, order: list[str], chunks: dict[str, Chunk], catalog: Catalog, k: int,
                                as_of: int, vector: np.ndarray, dense_sim: dict[str, float],
                                searchable: Callable[[str], bool]) -> list[str]:
        """The first k distinct stories, at the rank of their best chunk, each shown as the newest of its copies
        not after the as-of date, whether or not that copy was among the candidates (a wire story updated an
        hour later may share too few words with the question to be retrieved itself). The shown copy is
        represented by its best-ranked candidate chunk, else by its chunk closest to the query. `chunks` and
        `dense_sim` gain the chunks fetched for that."""
        out: list[str] = []
        seen: set[str] = set()
        best_of: dict[str, str] = {}
        for cid in order:
            best_of.setdefault(chunks[cid].source, cid)
        for cid in order:
            source = chunks[cid].source
            story = catalog.story.get(source, source)
            if story in seen:
                continue
            seen.add(story)
            date = chunks[cid].date or ""
            # Copies newest first; one of the same date as the retrieved copy never replaces it (syndicated
            # copies, or a near miss of the grouping), a newer version does.
            newer = [s for s in catalog.copies(source, as_of)
                     if (catalog.records[s].date or "") > date and searchable(s)]
            shown = newer[0] if newer else source
            if shown == source:
                out.append(cid)
            elif shown in best_of:
                out.append(best_of[shown])
            else:
                with self._chroma():
                    best = self._closest_chunk(shown, vector)
                if best is None:
                    out.append(cid)
                else:
                    chunk, cosine = best
                    chunks[chunk.id] = chunk
                    dense_sim[chunk.id] = cosine
                    out.append(chunk.id)
            if len(out) == k:
                break
        return out

    def _closest_chunk(self, source: str, vector: np.ndarray) -> tuple[Chunk, float] | None:
        page = self.collection.get(where={"source": source}, include=["documents", "metadatas", "embeddings"])
        best: tuple[Chunk, float] | None = None
        for cid, text, meta, vec in zip(page["ids"], page["documents"], page["metadatas"], page["embeddings"],
                                        strict=True):
            cosine = float(np.dot(np.asarray(vec, dtype=np.float32), vector))
            if best is None or cosine > best[1]:
                best = (Chunk.from_record(cid, text, meta), cosine)
        return best

    @staticmethod
    def _copy(catalog: Catalog, source: str) -> dict[str, Any]:
        record = catalog.records[source]
        return {"source": source, "title": record.title, "date": record.date, "url": record.url}

    def _matching_sources(self, lexical: LexicalIndex | None, catalog: Catalog,
                          glob: str | None) -> tuple[set[str] | None, list[str] | None]:
        """The sources a glob names and their chunk ids (None, None: no glob). Kept per index state: matching
        a glob against 83,000 names costs ~100 ms."""
        if not glob:
            return None, None
        sources = lexical.sources if lexical else []
        state = (id(sources), catalog.epoch, catalog.seq)
        with self._lock:
            cached = self._glob_cache.get((state, glob))
        if cached is not None:
            return cached
        # A pattern without a slash also matches the file name alone, as a user typing "*.pdf" expects.
        matching = {s for s in sources if fnmatch.fnmatchcase(s, glob) or fnmatch.fnmatchcase(Path(s).name, glob)}
        with Manifest.load(self.settings.index_dir) as manifest:
            ids = manifest.chunk_ids_of(sorted(matching)) if matching else []
        with self._lock:
            if any(key != state for key, _ in self._glob_cache):
                self._glob_cache.clear()
            if len(self._glob_cache) >= 16:
                self._glob_cache.pop(next(iter(self._glob_cache)))
            self._glob_cache[(state, glob)] = (matching, ids)
        return matching, ids

    def _dense(
        self, vector: np.ndarray, n: int, sources: set[str] | None, since: int | None, until: int | None,
        as_of: int | None = None, undated: list[str] | None = None, *, source_ids: list[str] | None = None,
        source_share: float = 0.0,
    ) -> list[tuple[str, float]]:
        """The n chunks nearest to `vector` among those the filters keep. `source_ids`: the chunk ids of
        `sources` (the manifest's), to restrict Chroma's query by id rather than by a scan of its metadata."""
        clauses: list[dict[str, Any]] = []
        if since is not None:
            clauses.append({"date_int": {"$gte": since}})
        if until is not None:
            clauses.append({"date_int": {"$lte": until}})
        if as_of is not None and until is None:
            # Undated chunks have no date_int (Chroma cannot match a missing key): they are named by source.
            not_future: dict[str, Any] = {"date_int": {"$lte": as_of}}
            clauses.append({"$or": [not_future, {"source": {"$in": undated}}]} if undated else not_future)
        by_id = sources is not None and bool(source_ids) and len(source_ids or ()) <= ID_FILTER_MAX
        if sources is not None and not by_id:
            clauses.insert(0, {"source": {"$in": sorted(sources)}})
        where = None if not clauses else clauses[0] if len(clauses) == 1 else {"$and": clauses}
        # No count() first: Chroma returns fewer than n_results when it holds fewer (or none), and count() is a
        # scan (24 ms at 400k vectors, docs/benchmarks.md#scale).
        if (sources is None and where is not None) or (sources is not None and source_share >= SOURCE_OVERFETCH_SHARE):
            # Chroma runs a `where` as a scan of the metadata (~100 ms a query at 15k chunks, seconds at 1M:
            # docs/benchmarks.md#scale), while a date bound (or a glob naming most of the archive) usually keeps
            # most of it: the unfiltered best DENSE_OVERFETCH × n are read first, and the filter runs only if
            # fewer than n of them pass.
            wide = self.collection.query(query_embeddings=[vector.tolist()], n_results=n * DENSE_OVERFETCH,
                                         include=["distances", "metadatas"])
            kept = [(cid, 1.0 - float(d)) for cid, d, meta in
                    zip(wide["ids"][0], wide["distances"][0], wide["metadatas"][0], strict=True)
                    if _dated_within((meta or {}).get("date_int"), since, until, as_of)
                    and (sources is None or (meta or {}).get("source") in sources)]
            if len(kept) >= n or len(wide["ids"][0]) < n * DENSE_OVERFETCH:  # enough, or every chunk seen
                return kept[:n]
        result = self.collection.query(query_embeddings=[vector.tolist()], n_results=n, where=where,
                                       ids=source_ids if by_id else None, include=["distances"])
        # Chroma's cosine space returns distance = 1 − cosine similarity.
        return [(cid, 1.0 - float(d)) for cid, d in zip(result["ids"][0], result["distances"][0], strict=True)]

    def _bm25(
        self,
        lexical: LexicalIndex | None,
        query: str,
        n: int,
        sources: set[str] | None,
        since: int | None,
        until: int | None,
        as_of: int | None = None,
        expansion: dict[str, float] | None = None,
    ) -> list[tuple[str, float]]:
        if lexical is None:
            return []
        where = None
        if sources is not None or since is not None or until is not None or as_of is not None:
            # as_of: nothing dated after it; undated chunks are kept (as in the dense filter)
            where = LexicalFilter(sources=frozenset(sources) if sources is not None else None, since=since,
                                  until=until, as_of=as_of)
        return lexical.search(query, n, where, expansion)

    def _fetch(self, ids: list[str], need_vectors: list[str]) -> tuple[dict[str, Chunk], dict[str, np.ndarray]]:
        chunks = get_chunks(self.collection, ids)
        vectors: dict[str, np.ndarray] = {}
        if need_vectors:
            page = self.collection.get(ids=need_vectors, include=["embeddings"])
            for cid, vec in zip(page["ids"], page["embeddings"], strict=True):
                vectors[cid] = np.asarray(vec, dtype=np.float32)
        return chunks, vectors
