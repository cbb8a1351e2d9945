from __future__ import annotations

from rag.chunking import Chunker
from rag.embedding import Embedder
from rag.types import Document

LONG = "\n\n".join(
    " ".join(f"Sentence {p}.{s} talks about the harbour of Varnholm and its cranes number {s}." for s in range(12))
    for p in range(8)
)


def make(embedder: Embedder, size: int = 200, overlap: int = 40) -> Chunker:
    return Chunker(embedder.count_tokens, embedder.max_tokens, size, overlap)


def doc(text: str, title: str = "Harbour news", source: str = "a/harbour.md") -> Document:
    return Document(source=source, text=text, title=title, content_hash="h", date="2026-03-01")


def test_no_chunk_exceeds_the_model_window(embedder: Embedder) -> None:
    chunker = make(embedder, size=10_000)  # asks for more than fits: clamped
    chunks = chunker.split(doc(LONG, title="A very long title " * 20))
    assert len(chunks) > 3
    for chunk in chunks:
        # +2 for [CLS] and [SEP]: the window the model would truncate at.
        assert embedder.count_tokens(chunker.embedded_text(chunk)) + 2 <= embedder.max_tokens


def test_offsets_point_at_the_chunk_text(embedder: Embedder) -> None:
    d = doc(LONG)
    for chunk in make(embedder).split(d):
        assert d.text[chunk.start : chunk.end] == chunk.text


def test_chunks_end_on_sentence_boundaries_and_overlap(embedder: Embedder) -> None:
    chunks = make(embedder, size=60, overlap=20).split(doc(LONG.replace("\n\n", " ")))
    assert all(c.text.endswith(".") for c in chunks)
    assert any(b.start < a.end for a, b in zip(chunks, chunks[1:], strict=False)), "consecutive chunks overlap"


def test_ids_are_stable_and_depend_on_content_and_path(embedder: Embedder) -> None:
    chunker = make(embedder)
    first = [c.id for c in chunker.split(doc(LONG))]
    assert first == [c.id for c in chunker.split(doc(LONG))]
    assert len(set(first)) == len(first)
    moved = [c.id for c in chunker.split(doc(LONG, source="b/harbour.md"))]
    assert not set(first) & set(moved)
    edited = [c.id for c in chunker.split(doc(LONG.replace("cranes number 11", "cranes number 99")))]
    assert set(first) != set(edited) and set(first) & set(edited)


def test_metadata_travels_with_each_chunk(embedder: Embedder) -> None:
    chunk = make(embedder).split(doc(LONG))[0]
    meta = chunk.metadata()
    assert meta["source"] == "a/harbour.md" and meta["title"] == "Harbour news"
    assert meta["date"] == "2026-03-01" and meta["date_int"] == 20260301
    assert None not in meta.values()
