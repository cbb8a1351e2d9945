"""Typed records that flow between the stages: corpus → chunks → index → retrieve → answer."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Document:
    """One loaded article. `source` is the path relative to the corpus root, with forward slashes."""

    source: str
    text: str
    title: str
    content_hash: str  # sha256 of the file's bytes
    date: str | None = None  # ISO date, YYYY-MM-DD
    url: str | None = None
    author: str | None = None
    tags: tuple[str, ...] = ()
    # Where `date` came from: "front matter", "html metadata", "pdf metadata", "docx metadata" or "dateline";
    # a file's modification time never counts as a publication date.
    date_source: str | None = None
    warnings: tuple[str, ...] = ()  # e.g. a date that could not be read (the document is indexed undated)


@dataclass(frozen=True)
class Chunk:
    """A passage of a document, as indexed. `id` is stable: derived from source and text."""

    id: str
    source: str
    text: str
    title: str
    start: int  # character offset of `text` in the document text
    end: int
    ordinal: int  # position of the chunk within its document
    text_hash: str  # sha256 of the text embedded for this chunk; equal text is embedded once
    date: str | None = None
    url: str | None = None

    def metadata(self) -> dict[str, Any]:
        """Flat metadata as stored in Chroma (no None values: Chroma rejects them)."""
        meta: dict[str, Any] = {
            "source": self.source,
            "title": self.title,
            "start": self.start,
            "end": self.end,
            "ordinal": self.ordinal,
            "text_hash": self.text_hash,
        }
        if self.date:
            meta["date"] = self.date
            meta["date_int"] = int(self.date.replace("-", "")[:8])
        if self.url:
            meta["url"] = self.url
        return meta

    @classmethod
    def from_record(cls, chunk_id: str, text: str, meta: dict[str, Any]) -> Chunk:
        return cls(
            id=chunk_id,
            source=meta["source"],
            text=text,
            title=meta.get("title", ""),
            start=int(meta.get("start", 0)),
            end=int(meta.get("end", 0)),
            ordinal=int(meta.get("ordinal", 0)),
            text_hash=meta.get("text_hash", ""),
            date=meta.get("date"),
            url=meta.get("url"),
        )


@dataclass
class Hit:
    """A retrieved chunk with its fused score and the ranks it had in each retriever."""

    chunk: Chunk
    score: float
    rank: int = 0
    dense_rank: int | None = None
    bm25_rank: int | None = None
    dense_score: float | None = None  # cosine similarity, 1 is identical
    bm25_score: float | None = None
    rerank_score: float | None = None
    # Time and stories (rag/timewindow.py, rag/stories.py): whether the article falls inside the question's date
    # window (None: the question names no time), its story id, and the story's other copies ("also in").
    in_window: bool | None = None
    story: str | None = None
    also: list[dict[str, Any]] = field(default_factory=list)
    # The same document's next-best candidate passages, best first: a result is one document, and an answer may
    # need more of it than its best chunk (rag/answer/engine.py answer_hits).
    passages: list[Chunk] = field(default_factory=list)
    # Every candidate passage of the document that the search ranked, best first (`passages` are the first of
    # them that ranked right after the hit), and the dense cosine to the query of the hit's chunk and of each:
    # the answerer's passages are ranked from these (rag/answer/engine.py answerer_passages).
    document_passages: list[Chunk] = field(default_factory=list)
    cosines: dict[str, float] = field(default_factory=dict)

    def to_dict(self, with_text: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "rank": self.rank,
            "score": round(self.score, 6),
            "source": self.chunk.source,
            "title": self.chunk.title,
            "date": self.chunk.date,
            "url": self.chunk.url,
            "chunk_id": self.chunk.id,
            "start": self.chunk.start,
            "end": self.chunk.end,
            "dense_rank": self.dense_rank,
            "bm25_rank": self.bm25_rank,
            "dense_score": None if self.dense_score is None else round(self.dense_score, 6),
            "bm25_score": None if self.bm25_score is None else round(self.bm25_score, 6),
        }
        if self.rerank_score is not None:
            out["rerank_score"] = round(self.rerank_score, 6)
        if self.in_window is not None:
            out["in_window"] = self.in_window
        if self.story is not None:
            out["story"] = self.story
            out["also"] = self.also
        if with_text:
            out["text"] = self.chunk.text
        return out


@dataclass
class SearchFilters:
    source_glob: str | None = None
    since: str | None = None  # YYYY-MM-DD inclusive
    until: str | None = None
    # The date the question is asked on (YYYY-MM-DD or YYYY/MM/DD; None = today). Articles dated after it are
    # never retrieved; undated ones stay. Time words in the question are resolved against it.
    as_of: str | None = None

    def is_empty(self) -> bool:
        return not (self.source_glob or self.since or self.until or self.as_of)


@dataclass
class SyncReport:
    added: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    skipped: int = 0
    chunks_embedded: int = 0
    chunks_reused: int = 0  # text already embedded elsewhere in the index: vectors copied
    chunks_removed: int = 0
    chunks_total: int = 0
    documents_total: int = 0
    seconds: float = 0.0
    repaired: bool = False  # the previous run had not finished; the index was reconciled
    skipped_files: list[dict[str, str]] = field(default_factory=list)

    @property
    def chunks_per_second(self) -> float:
        return self.chunks_embedded / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["chunks_per_second"] = round(self.chunks_per_second, 2)
        out["seconds"] = round(self.seconds, 3)
        return out

    def summary_line(self) -> str:
        return (
            f"added {self.added}, updated {self.updated}, deleted {self.deleted}, "
            f"unchanged {self.unchanged}, skipped {self.skipped}; chunks: {self.chunks_embedded} embedded, "
            f"{self.chunks_reused} reused, {self.chunks_removed} removed, {self.chunks_total} in index; "
            f"{self.seconds:.1f} s, {self.chunks_per_second:.1f} chunks/s"
        )
