"""Documents → chunks: sentence-aware recursive splitting sized in tokens of the embedding model."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import lru_cache

from langchain_text_splitters import RecursiveCharacterTextSplitter

from rag.types import Chunk, Document

# Coarse to fine: paragraphs, lines, sentence ends, clause marks, words, characters. The look-behinds keep
# the punctuation with the sentence it ends, so chunks end on whole sentences where they can. Separators
# stay attached to the end of the piece before them (keep_separator="end").
SEPARATORS = ["\n\n", "\n", r"(?<=[.!?…])\s+", r"(?<=[;:])\s+", r"(?<=,)\s+", r"\s+", ""]

TITLE_MAX_TOKENS = 32

# Token counts of short pieces are memoised. Text without separators (CJK, a base64 or hex blob, one long
# "word") is split into single characters, and the splitter counts the tokens of every piece, once or twice:
# a tokenizer call each (~100 µs) made a 100,000-character line take 40 s and a 2 M-character one (within
# max_document_chars) over ten minutes. Such pieces repeat (characters, words), so a cache makes it linear and
# ~100× faster, with exactly the same chunks.
_CACHED_PIECE_CHARS = 32
_COUNT_CACHE_SIZE = 65_536  # of strings ≤ 32 characters: a few MB at most
# The splitter also counts each longer piece up to three times (to sort it, to merge it, to drop it from the
# overlap): a small cache of recent ones makes that one tokenizer call (a third of a bulk ingest's CPU time with
# a fast encoder). Bounded in entries and in characters: at most ~4 MB of text.
_RECENT_PIECE_CHARS = 16_384
_RECENT_CACHE_SIZE = 256


def embedding_text(title: str, text: str) -> str:
    """What is embedded and indexed lexically: the title gives a passage the topic its text may not name."""
    return f"{title}\n\n{text}" if title else text


def chunk_id(source: str, text: str, start: int, title: str, date: str | None, url: str | None) -> str:
    """Stable id: a pure function of the chunk's content, position and metadata, so a rebuild from scratch
    yields exactly the same ids and any change to a chunk yields a new id (old one is then deleted)."""
    key = "\x00".join([source, title, date or "", url or "", str(start), text])
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Chunker:
    """Splits documents so that title + chunk fits the embedding model's window (nothing is truncated)."""

    def __init__(
        self, count_tokens: Callable[[str], int], max_model_tokens: int, chunk_tokens: int, overlap_tokens: int
    ) -> None:
        self.count_tokens = count_tokens
        cached = lru_cache(maxsize=_COUNT_CACHE_SIZE)(count_tokens)
        recent = lru_cache(maxsize=_RECENT_CACHE_SIZE)(count_tokens)

        def piece_tokens(text: str) -> int:
            if len(text) <= _CACHED_PIECE_CHARS:
                return cached(text)
            return recent(text) if len(text) <= _RECENT_PIECE_CHARS else count_tokens(text)

        # Every chunk of a document carries its title: shortened once per title, not once per chunk.
        self._short_titles = lru_cache(maxsize=1024)(self._shorten_title)

        # Room for [CLS]/[SEP] and a title header; chunk_tokens beyond that budget is clamped.
        budget = max_model_tokens - 2 - TITLE_MAX_TOKENS - 4
        self.chunk_tokens = max(16, min(chunk_tokens, budget))
        self.overlap_tokens = max(0, min(overlap_tokens, self.chunk_tokens // 2))
        self.max_model_tokens = max_model_tokens
        self._splitter = RecursiveCharacterTextSplitter(
            separators=SEPARATORS,
            is_separator_regex=True,
            keep_separator="end",  # joined back with "", so every chunk is a verbatim substring
            chunk_size=self.chunk_tokens,
            chunk_overlap=self.overlap_tokens,
            length_function=piece_tokens,
            strip_whitespace=True,
        )

    def short_title(self, title: str) -> str:
        """Titles longer than the header budget are cut at a word boundary."""
        return self._short_titles(title)

    def _shorten_title(self, title: str) -> str:
        if self.count_tokens(title) <= TITLE_MAX_TOKENS:
            return title
        words = title.split()
        while words and self.count_tokens(" ".join(words) + " …") > TITLE_MAX_TOKENS:
            words.pop()
        return " ".join(words) + " …"

    def split(self, document: Document) -> list[Chunk]:
        pieces = self._splitter.split_text(document.text)
        header = self.short_title(document.title)
        chunks: list[Chunk] = []
        cursor = 0
        for piece in pieces:
            start = _locate(document.text, piece, cursor)
            end = start + len(piece)
            # Overlapping chunks start before the previous one ends; search from just after its start.
            cursor = start + 1
            embedded = embedding_text(header, piece)
            chunks.append(
                Chunk(
                    id=chunk_id(document.source, piece, start, header, document.date, document.url),
                    source=document.source,
                    text=piece,
                    title=document.title,
                    start=start,
                    end=end,
                    ordinal=len(chunks),
                    text_hash=text_hash(embedded),
                    date=document.date,
                    url=document.url,
                )
            )
        return chunks

    def embedded_text(self, chunk: Chunk) -> str:
        return embedding_text(self.short_title(chunk.title), chunk.text)

    def fingerprint(self) -> dict[str, object]:
        """What must match for existing chunks to be reused; a change means a rebuild."""
        return {"chunk_tokens": self.chunk_tokens, "overlap_tokens": self.overlap_tokens, "separators": SEPARATORS}


def _locate(text: str, piece: str, cursor: int) -> int:
    """Offset of `piece` in `text` at or after `cursor`. The splitter only strips whitespace and drops
    separators between pieces, so each piece is a verbatim substring."""
    found = text.find(piece, cursor)
    if found < 0:
        found = text.find(piece)
    if found < 0:  # not expected: the splitter returns substrings
        raise ValueError("chunk text is not a substring of its document")
    return found
