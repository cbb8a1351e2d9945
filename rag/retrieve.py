"""Hybrid retrieval: dense (Chroma) and BM25 candidates fused by reciprocal rank fusion."""

from __future__ import annotations

import datetime as dt
import fnmatch
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from rag.embedding import Embedder, embedder_for
from rag.errors import FilterError
from rag.index import IndexUnavailable, LexicalIndex, first_line, get_chunks, manifest_stamp, open_collection
from rag.settings import Settings
from rag.types import Chunk, Hit, SearchFilters


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


def reciprocal_rank_fusion(rankings: list[list[str]], k: int) -> dict[str, float]:
    """score(d) = Σ over rankings of 1 / (k + rank(d)), rank starting at 1 (Cormack et al., 2009)."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, chunk_id in enumerate(ranking, start=1):
            scores[chunk_id] = scores.get(chunk_id, 0.0) + 1.0 / (k + rank)
    return scores


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
        self._lexical_stamp: int | None = None
        self._lock = threading.Lock()

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
        """Chunks in the dense index (raises IndexUnavailable with a clear message when it cannot be read)."""
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

    # The BM25 index is replaced as a whole directory by a sync; its stamp tells us when.
    def lexical(self) -> LexicalIndex | None:
        marker = LexicalIndex.directory(self.settings.index_dir) / "chunks.json"
        try:
            stamp = marker.stat().st_mtime_ns
        except OSError:
            stamp = None
        with self._lock:
            if stamp != self._lexical_stamp or self._lexical is None:
                self._lexical = LexicalIndex.load(self.settings.index_dir) if stamp is not None else None
                self._lexical_stamp = stamp
            return self._lexical

    def sources(self) -> list[str]:
        lexical = self.lexical()
        return sorted(set(lexical.sources)) if lexical else []

    def search(self, query: str, k: int | None = None, filters: SearchFilters | None = None) -> list[Hit]:
        k = k or self.settings.top_k
        query = query.strip()
        if not query:
            return []
        filters = filters or SearchFilters()
        since = parse_date(filters.since, "--since")
        until = parse_date(filters.until, "--until")
        lexical = self.lexical()
        allowed_sources = self._matching_sources(lexical, filters.source_glob)
        if allowed_sources is not None and not allowed_sources:
            return []
        n = self.settings.candidates_k
        vector = self.embedder.embed_query(query)

        with self._chroma():
            dense = self._dense(vector, n, allowed_sources, since, until)
        bm25 = self._bm25(lexical, query, n, allowed_sources, since, until)
        fused = reciprocal_rank_fusion([[cid for cid, _ in dense], [cid for cid, _ in bm25]], self.settings.rrf_k)
        depth = max(k, self.settings.rerank_top_n) if self.settings.reranker != "none" else k
        order = sorted(fused, key=lambda cid: -fused[cid])[:depth]
        if not order:
            return []
        dense_rank = {cid: i for i, (cid, _) in enumerate(dense, start=1)}
        dense_sim = dict(dense)
        bm25_rank = {cid: i for i, (cid, _) in enumerate(bm25, start=1)}
        bm25_score = dict(bm25)
        with self._chroma():
            chunks, vectors = self._fetch(order, need_vectors=[cid for cid in order if cid not in dense_sim])
        for cid, vec in vectors.items():
            # Lexical-only hits still get a cosine, so callers can judge relevance on one scale.
            dense_sim[cid] = float(np.dot(vec, vector))
        rerank_score: dict[str, float] = {}
        if self.settings.reranker == "cosine":
            # Rescore the fused candidates by the query–passage cosine alone (title header included).
            rerank_score = {cid: dense_sim[cid] for cid in order if cid in dense_sim}
            order = sorted(order, key=lambda cid: -rerank_score.get(cid, -1.0))[:k]
        hits = []
        for cid in order:
            if cid not in chunks:  # deleted between the candidate search and the fetch
                continue
            hits.append(
                Hit(
                    chunk=chunks[cid],
                    score=fused[cid],
                    dense_rank=dense_rank.get(cid),
                    bm25_rank=bm25_rank.get(cid),
                    dense_score=dense_sim.get(cid),
                    bm25_score=bm25_score.get(cid),
                    rerank_score=rerank_score.get(cid),
                )
            )
        for rank, hit in enumerate(hits, start=1):
            hit.rank = rank
        return hits

    def _matching_sources(self, lexical: LexicalIndex | None, glob: str | None) -> set[str] | None:
        if not glob:
            return None
        sources = set(lexical.sources) if lexical else set()
        # A pattern without a slash also matches the file name alone, as a user typing "*.pdf" expects.
        return {s for s in sources if fnmatch.fnmatchcase(s, glob) or fnmatch.fnmatchcase(Path(s).name, glob)}

    def _dense(
        self, vector: np.ndarray, n: int, sources: set[str] | None, since: int | None, until: int | None
    ) -> list[tuple[str, float]]:
        clauses: list[dict[str, Any]] = []
        if sources is not None:
            clauses.append({"source": {"$in": sorted(sources)}})
        if since is not None:
            clauses.append({"date_int": {"$gte": since}})
        if until is not None:
            clauses.append({"date_int": {"$lte": until}})
        where = None if not clauses else clauses[0] if len(clauses) == 1 else {"$and": clauses}
        count = self.collection.count()
        if count == 0:
            return []
        result = self.collection.query(
            query_embeddings=[vector.tolist()], n_results=min(n, count), where=where, include=["distances"]
        )
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
    ) -> list[tuple[str, float]]:
        if lexical is None or not lexical.ids:
            return []
        mask = None
        if sources is not None or since is not None or until is not None:
            mask = np.ones(len(lexical.ids), dtype=bool)
            if sources is not None:
                mask &= np.fromiter((s in sources for s in lexical.sources), dtype=bool, count=len(lexical.ids))
            if since is not None:
                mask &= lexical.dates >= since
            if until is not None:
                mask &= (lexical.dates <= until) & (lexical.dates > 0)
        return lexical.search(query, n, mask)

    def _fetch(self, ids: list[str], need_vectors: list[str]) -> tuple[dict[str, Chunk], dict[str, np.ndarray]]:
        chunks = get_chunks(self.collection, ids)
        vectors: dict[str, np.ndarray] = {}
        if need_vectors:
            page = self.collection.get(ids=need_vectors, include=["embeddings"])
            for cid, vec in zip(page["ids"], page["embeddings"], strict=True):
                vectors[cid] = np.asarray(vec, dtype=np.float32)
        return chunks, vectors
