"""The lexical (BM25) index: tantivy (the Rust search engine, via its official Python bindings), updated in place.

One folder, `lexical/` in the index folder. A change to one article touches only that article's documents:
the sync deletes the chunks that went and adds the new ones in one tantivy commit, so the cost of a sync follows
what changed, not the size of the archive. Search is BM25 (k1 = 1.2, b = 0.75) computed by tantivy with
block-max WAND: the top k are found without scoring every chunk that shares a word with the question, which
is what made SQLite FTS5 (the engine before this one) grow with the posting lists.

Text is analysed as the earlier bm25s and FTS5 indexes analysed it: lower case, words of two or more word
characters, bm25s's English stop words removed, Snowball (Porter 2) English stems, all in Python (`analyze`).
tantivy stores and matches those stems (its `whitespace` tokenizer only splits them), with term frequencies
and no positions (no phrase queries are needed). A word repeated in the question counts once per occurrence,
as in bm25s and FTS5 (a boosted term).

Documents (extend here: add a field in `_schema` and `_document`, and bump SCHEMA_VERSION; an index of
another version is emptied and refilled from Chroma by the next sync, with no re-embedding):
    id        raw text, stored        the chunk id (deletes and replacements go by it)
    source    raw text, stored, fast  the document; filters are term-set queries, `sources` an aggregation
    date_int  i64, indexed, fast      YYYYMMDD, 0 when the article has no date; filters are range queries
    terms     hex digest, stored      of the analysed text (`snapshot` compares two indexes by it)
    body      the stems, indexed with frequencies
One more document, id META_ID, holds the schema version and the sync generation. It is replaced in the same
commit as the chunks, so the generation is committed atomically with them: a kill -9 before the commit leaves
the previous commit (tantivy publishes a commit by an atomic rename of meta.json), and the sync, finding a
generation other than the manifest's, reconciles the index with Chroma's ids.

Readers (the web app) see the last commit: `search` reloads the reader when meta.json changed on disk.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import threading
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from rag.errors import IndexUnavailable
from rag.types import Chunk

SCHEMA_VERSION = 2
DIRECTORY_NAME = "lexical"
# What earlier versions left in the index folder; the sync removes them once this index is filled.
LEGACY_PATHS = ("bm25", ".bm25.old", "lexical.sqlite3", "lexical.sqlite3-wal", "lexical.sqlite3-shm")
META_ID = "\x00meta"
OVERFETCH = 4  # date-filtered searches read this many unfiltered hits per one needed first
WRITER_HEAP_BYTES = 96_000_000  # tantivy flushes a segment when its buffer fills: bigger is fewer segments
_WORD = re.compile(r"(?u)\b\w\w+\b")  # bm25s's default token pattern
AGGREGATION_BUCKETS = 65_000  # tantivy's limit on the buckets of one aggregation


class LexicalUnavailable(IndexUnavailable):
    """The tantivy package is missing or the index folder cannot be opened; the message is one line."""


@lru_cache(maxsize=1)
def _analyzer() -> tuple[frozenset[str], Any]:
    import Stemmer
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN), Stemmer.Stemmer("english")


def analyze(text: str) -> list[str]:
    """Text → the terms BM25 sees (identical to bm25s.tokenize(stopwords="en", stemmer=english))."""
    stopwords, stemmer = _analyzer()
    words = [w for w in _WORD.findall(text.lower()) if w not in stopwords]
    return stemmer.stemWords(words) if words else []


def date_int(date: str | None) -> int:
    digits = (date or "").replace("-", "")[:8]
    return int(digits) if len(digits) == 8 and digits.isdigit() else 0


def _tantivy() -> Any:
    try:
        import tantivy
    except ImportError as exc:  # a broken install: say which package, once
        raise LexicalUnavailable(f"the lexical index needs the `tantivy` package ({exc})") from exc
    return tantivy


@dataclass(frozen=True)
class LexicalFilter:
    """Which chunks a search may return. None means no restriction.

    sources: exactly these documents. since/until: date_int bounds, inclusive (with `until`, undated chunks are
    excluded). as_of: nothing dated after it (undated chunks stay)."""

    sources: frozenset[str] | None = None
    since: int | None = None
    until: int | None = None
    as_of: int | None = None

    def dates(self) -> tuple[int, int] | None:
        """The date_int range a chunk must lie in, or None: as_of is an upper bound that keeps undated chunks
        (0 <= as_of); since and until exclude them."""
        low = max(self.since or 0, 1 if self.until is not None else 0)
        highs = [h for h in (self.until, self.as_of) if h is not None]
        return (low, min(highs) if highs else 2**62) if low or highs else None

    def queries(self, schema: Any) -> list[Any]:
        """tantivy queries every returned chunk must match: a term set over sources, one range over dates."""
        query = _tantivy().Query
        out: list[Any] = []
        if self.sources is not None:
            out.append(query.term_set_query(schema, "source", sorted(self.sources)))
        if (dates := self.dates()) is not None:
            out.append(query.range_query(schema, "date_int", _tantivy().FieldType.Integer, *dates))
        return out


def _schema() -> Any:
    builder = _tantivy().SchemaBuilder()
    builder.add_text_field("id", stored=True, tokenizer_name="raw", index_option="basic")
    builder.add_text_field("source", stored=True, fast=True, tokenizer_name="raw", index_option="basic")
    builder.add_integer_field("date_int", stored=True, indexed=True, fast=True)
    builder.add_text_field("terms", stored=True, tokenizer_name="raw", index_option="basic")
    builder.add_text_field("body", tokenizer_name="whitespace", index_option="freq")
    builder.add_integer_field("schema", stored=True)
    builder.add_integer_field("generation", stored=True)
    return builder.build()


def _digest(terms: str) -> str:
    return hashlib.blake2b(terms.encode(), digest_size=12).hexdigest()


def _document(chunk: Chunk, text: str) -> Any:
    terms = " ".join(analyze(text))
    return _tantivy().Document(id=chunk.id, source=chunk.source, date_int=date_int(chunk.date),
                               terms=_digest(terms), body=terms)


def _meta_document(generation: int) -> Any:
    return _tantivy().Document(id=META_ID, schema=SCHEMA_VERSION, generation=generation)


class LexicalIndex:
    """apply/search over one tantivy index folder. Thread-safe: searches share one reader, reloaded on commit."""

    def __init__(self, path: Path, index: Any) -> None:
        self.path = path
        self._index = index
        self._schema = index.schema
        self._lock = threading.Lock()
        self._stamp = self._meta_stamp()
        self._newest_date, self._newest_of = 0, ("never",)
        self._sources: list[str] = []
        self._sources_of: Any = ("never",)

    # ------------------------------------------------------------------ opening

    @staticmethod
    def file(index_dir: Path) -> Path:
        """The index's folder (its inode changes only when the folder is replaced: a schema migration)."""
        return index_dir / DIRECTORY_NAME

    @classmethod
    def open(cls, index_dir: Path) -> LexicalIndex:
        """The index of `index_dir`, created empty when absent. One of another schema version (or unreadable)
        is replaced by an empty one of generation -1: the sync then refills it from Chroma."""
        tantivy = _tantivy()
        path = cls.file(index_dir)
        path.mkdir(parents=True, exist_ok=True)
        try:
            if tantivy.Index.exists(str(path)):
                index = cls(path, tantivy.Index.open(str(path)))
                if index._meta_field("schema") == SCHEMA_VERSION:
                    return index
            elif not any(path.iterdir()):
                return cls(path, tantivy.Index(_schema(), path=str(path)))
        except (OSError, ValueError):
            pass  # replaced below
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
        try:
            return cls(path, tantivy.Index(_schema(), path=str(path)))
        except (OSError, ValueError) as exc:
            raise LexicalUnavailable(f"cannot create the lexical index {path}: {exc}") from exc

    @classmethod
    def load(cls, index_dir: Path) -> LexicalIndex | None:
        """The index if a sync has written one, else None."""
        tantivy = _tantivy()
        path = cls.file(index_dir)
        try:
            if not tantivy.Index.exists(str(path)):
                return None
            return cls(path, tantivy.Index.open(str(path)))
        except (OSError, ValueError) as exc:
            raise LexicalUnavailable(f"cannot open the lexical index {path}: {exc}") from exc

    # ------------------------------------------------------------------ reading

    def _meta_stamp(self) -> tuple[int, int, int] | None:
        try:
            stat = (self.path / "meta.json").stat()
        except OSError:
            return None
        return stat.st_ino, stat.st_mtime_ns, stat.st_size

    def _searcher(self) -> Any:
        """A searcher of the last commit on disk (another process's sync included)."""
        stamp = self._meta_stamp()
        if stamp != self._stamp:
            with self._lock:
                if stamp != self._stamp:
                    try:
                        self._index.reload()
                    except (ValueError, OSError):  # a commit of another process replaced the files between two reads
                        time.sleep(0.05)
                        self._index.reload()
                    self._stamp = stamp
        return self._index.searcher()

    def _meta_field(self, name: str) -> int | None:
        searcher = self._searcher()
        found = searcher.search(_tantivy().Query.term_query(self._schema, "id", META_ID), 1, count=False).hits
        if not found:
            return None
        values = searcher.doc(found[0][1]).to_dict().get(name)
        return int(values[0]) if values else None

    def _newest(self) -> int:
        """The largest date_int in the index (0 when empty), read from the fast field once per commit."""
        searcher = self._searcher()
        with self._lock:
            if self._newest_of != self._stamp:
                result = searcher.aggregate(_tantivy().Query.all_query(), {"m": {"max": {"field": "date_int"}}})
                self._newest_date, self._newest_of = int(result["m"]["value"] or 0), self._stamp
            return self._newest_date

    @property
    def generation(self) -> int:
        value = self._meta_field("generation")
        return -1 if value is None else value

    def _all(self, fields: tuple[str, ...], searcher: Any = None) -> list[tuple[Any, ...]]:
        searcher = searcher or self._searcher()
        hits = searcher.search(_tantivy().Query.all_query(), max(searcher.num_docs, 1), count=False).hits
        rows = []
        for _, address in hits:
            doc = searcher.doc(address)
            if doc.get_first("id") != META_ID:
                rows.append(tuple(doc.get_first(f) for f in fields))
        return rows

    @property
    def ids(self) -> list[str]:
        return [cid for (cid,) in self._all(("id",))]

    @property
    def sources(self) -> list[str]:
        """Every document in the index, sorted; read once per commit (a source glob asks at each search)."""
        searcher = self._searcher()
        with self._lock:
            if self._sources_of != self._stamp:
                # Bounded by the dates present (a min and a max over the fast field), so that the halves split
                # the archive, not the empty years before it.
                tantivy = _tantivy()
                dated = tantivy.Query.range_query(self._schema, "date_int", tantivy.FieldType.Integer, 1, 2**62)
                bounds = searcher.aggregate(dated, {"lo": {"min": {"field": "date_int"}},
                                                    "hi": {"max": {"field": "date_int"}}})
                names = self._sources_dated(searcher, 0, 0)
                if bounds["hi"]["value"] is not None:
                    names |= self._sources_dated(searcher, int(bounds["lo"]["value"]), int(bounds["hi"]["value"]))
                self._sources, self._sources_of = sorted(names), self._stamp
            return self._sources

    def _sources_dated(self, searcher: Any, low: int, high: int) -> set[str]:
        """The sources with date_int in [low, high], by a terms aggregation over the fast field; tantivy caps
        one at 65,000 buckets, so a larger archive is asked in halves of the date range (an article's chunks
        share one date, so the halves' sources are disjoint)."""
        tantivy = _tantivy()
        dated = tantivy.Query.range_query(self._schema, "date_int", tantivy.FieldType.Integer, low, high)
        try:
            terms = {"field": "source", "size": AGGREGATION_BUCKETS, "segment_size": AGGREGATION_BUCKETS}
            result = searcher.aggregate(dated, {"s": {"terms": terms}})["s"]
            complete = not result.get("sum_other_doc_count")
        except ValueError:  # "bucket limit was exceeded"
            complete = False
        if complete:
            return {bucket["key"] for bucket in result["buckets"]}
        if low >= high:  # more documents on one day than one aggregation holds: read them one by one
            # The caller's searcher: `sources` holds the lock, which _searcher() takes after a new commit.
            return {source for source, day in self._all(("source", "date_int"), searcher) if day == low}
        middle = (low + high) // 2
        return self._sources_dated(searcher, low, middle) | self._sources_dated(searcher, middle + 1, high)

    def snapshot(self) -> dict[str, tuple[str, int, str]]:
        """id → (source, date_int, digest of the indexed terms): everything a search reads, for comparing two
        indexes."""
        return {cid: (source, int(day), terms) for cid, source, day, terms in
                self._all(("id", "source", "date_int", "terms"))}

    def __len__(self) -> int:
        searcher = self._searcher()
        return searcher.num_docs - (1 if self._meta_field("generation") is not None else 0)

    def document_frequencies(self, terms: Iterable[str]) -> tuple[int, dict[str, int]]:
        """(chunks in the index, {stem: chunks whose text holds it}) for analysed terms (stems, as `analyze`
        gives them), from the last commit: what the refusal gates weigh a question's terms by."""
        searcher = self._searcher()
        return len(self), {term: int(searcher.doc_freq("body", term)) for term in set(terms)}

    def search(self, query: str, k: int, where: LexicalFilter | None = None,
               expansion: Mapping[str, float] | None = None) -> list[tuple[str, float]]:
        """The best k chunks by BM25 for `query`, as (chunk id, score > 0), best first. `expansion`: more stems
        (analysed terms, as `analyze` gives them), each weighing its value × a question word's (query expansion)."""
        counts: dict[str, float] = {term: float(n) for term, n in Counter(analyze(query)).items()}
        for term, weight in (expansion or {}).items():
            if term not in counts and weight > 0:
                counts[term] = weight
        if not counts or k <= 0:
            return []
        tantivy = _tantivy()
        query_, occur = tantivy.Query, tantivy.Occur
        terms = [query_.term_query(self._schema, "body", term) for term in counts]
        terms = [q if n == 1 else query_.boost_query(q, n) for q, n in zip(terms, counts.values(), strict=True)]
        # Any term may match, as in bm25s; a union of term queries alone is what block-max WAND prunes.
        scored = query_.boolean_query([(occur.Should, q) for q in terms])
        where = where or LexicalFilter()
        if where.as_of is not None and where.until is None and not where.since and where.as_of >= self._newest():
            # The usual case (as of today): nothing is dated after it, and a filter would cost a check per match.
            where = LexicalFilter(sources=where.sources)
        searcher = self._searcher()
        dates = where.dates()
        if dates is not None and where.sources is None:
            # A date bound usually keeps most of the archive, and a filtered query scores every match (no
            # block-max WAND in an intersection): the unfiltered best OVERFETCH × k are read first, and the
            # filtered query runs only if fewer than k of them are within the dates.
            wide = searcher.search(scored, k * OVERFETCH, count=False).hits
            docs = [(searcher.doc(address), float(score)) for score, address in wide if score > 0]
            kept = [(doc.get_first("id"), score) for doc, score in docs
                    if dates[0] <= doc.get_first("date_int") <= dates[1]]
            if len(kept) >= k or len(wide) < k * OVERFETCH:
                return kept[:k]
        filters = where.queries(self._schema)
        if filters:
            scored = query_.boolean_query([(occur.Must, scored)] +
                                          [(occur.Must, query_.const_score_query(f, 0.0)) for f in filters])
        hits = searcher.search(scored, k, count=False).hits  # count=False: counting would visit every match
        return [(searcher.doc(address).get_first("id"), float(score)) for score, address in hits if score > 0]

    # ------------------------------------------------------------------ writing

    def apply(self, add: Iterable[tuple[Chunk, str]], delete: Iterable[str], generation: int) -> None:
        """In one commit: delete the chunks `delete` names, insert or replace `add` ((chunk, text to index)
        pairs, consumed as they come), and record `generation`. A crash leaves the state before or after."""
        searcher = self._searcher()
        try:
            writer = self._index.writer(heap_size=WRITER_HEAP_BYTES, num_threads=1)
        except ValueError as exc:  # another process holds the writer lock (the sync's own lock prevents it)
            raise LexicalUnavailable(f"the lexical index {self.path} is being written: {exc}") from exc
        try:
            for cid in delete:
                writer.delete_documents_by_term("id", cid)
            added: set[str] = set()
            for chunk, text in add:
                # Replaced (new metadata) only if present: a delete per new chunk would cost at commit time.
                if chunk.id in added or searcher.doc_freq("id", chunk.id):
                    writer.delete_documents_by_term("id", chunk.id)
                added.add(chunk.id)
                writer.add_document(_document(chunk, text))
            writer.delete_documents_by_term("id", META_ID)
            writer.add_document(_meta_document(generation))
            writer.commit()
        except BaseException:
            writer.rollback()
            raise
        finally:
            # Let the merges this commit started finish (else they are abandoned and segments pile up), and
            # release the writer lock.
            writer.wait_merging_threads()
        self._searcher()

    def clear(self, generation: int = -1) -> None:
        writer = self._index.writer(heap_size=WRITER_HEAP_BYTES, num_threads=1)
        try:
            writer.delete_all_documents()
            writer.add_document(_meta_document(generation))
            writer.commit()
        finally:
            writer.wait_merging_threads()

    def close(self) -> None:
        """Nothing to release: tantivy's files are closed when the last searcher goes."""
