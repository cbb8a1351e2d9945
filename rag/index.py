"""The index: chunk vectors in Chroma, a BM25 index over the same chunks, and a manifest of indexed files.

Chroma is the source of truth for which chunks exist. The manifest is a cache of what each file produced
(so unchanged files are not re-read), and the BM25 index (rag/lexical.py) follows Chroma's contents. Both carry
a generation number so a stale one is detected and reconciled with Chroma instead of trusted.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

from rag.errors import IndexUnavailable
from rag.manifest import FileRecord, Manifest, stamp
from rag.settings import Settings
from rag.types import Chunk

CHROMA_MAX_BATCH = 5000  # Chroma refuses more than 5,461 records in one call
# Timestamps are as coarse as a kernel tick (ext4 before Linux 6.13), a second (HFS+, some NFS) or two (FAT).
RACY_MTIME_NS = 3_000_000_000


# --------------------------------------------------------------------------------------------- Chroma


def chroma_dir(settings: Settings) -> Path:
    """The embedded Chroma's folder in the index folder (not used with a Chroma server)."""
    return settings.index_dir / "chroma"


def chroma_client(settings: Settings) -> Any:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=True)
    try:
        if settings.chroma_url:
            parsed = urlparse(settings.chroma_url if "://" in settings.chroma_url else f"http://{settings.chroma_url}")
            return chromadb.HttpClient(
                host=parsed.hostname or "127.0.0.1",
                port=parsed.port or (443 if parsed.scheme == "https" else 8000),
                ssl=parsed.scheme == "https",
                settings=chroma_settings,
            )
        path = chroma_dir(settings)
        path.mkdir(parents=True, exist_ok=True)
        _forget_if_written_elsewhere(settings.index_dir, path)
        return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
    except Exception as exc:  # noqa: BLE001
        if settings.chroma_url:
            raise IndexUnavailable(f"the Chroma server at {settings.chroma_url} is not answering "
                                   f"({first_line(exc)})") from exc
        raise IndexUnavailable(f"cannot open the Chroma index at {chroma_dir(settings)}: "
                               f"{first_line(exc)}") from exc


# Embedded Chroma keeps one in-memory system per folder and process, and does not notice writes made by another
# process (`rag ingest` while `rag serve` runs): its cached segments then fail ("Error finding id") or miss new
# chunks. Every write run writes the manifest, so a manifest stamp this process did not write means another
# process changed the folder: the cached system is dropped and the next client reads the folder afresh.
_MANIFEST_SEEN: dict[str, str | None] = {}


def manifest_stamp(index_dir: Path) -> str | None:
    """Changes with every write to the manifest (rag/manifest.py)."""
    return stamp(index_dir)


def remember_manifest(index_dir: Path) -> None:
    """After this process wrote the manifest: the cached Chroma system of this process is current."""
    _MANIFEST_SEEN[str(index_dir.resolve())] = manifest_stamp(index_dir)


def _forget_if_written_elsewhere(index_dir: Path, chroma_dir: Path) -> None:
    from chromadb.api.shared_system_client import SharedSystemClient

    key = str(index_dir.resolve())
    stamp = manifest_stamp(index_dir)
    if key in _MANIFEST_SEEN and _MANIFEST_SEEN[key] != stamp:
        with SharedSystemClient._refcount_lock:
            SharedSystemClient._identifier_to_system.pop(str(chroma_dir), None)
            SharedSystemClient._identifier_to_refcount.pop(str(chroma_dir), None)
    _MANIFEST_SEEN[key] = stamp


def open_collection(settings: Settings, client: Any | None = None) -> Any:
    client = client or chroma_client(settings)
    try:
        # embedding_function=None: we always pass our own vectors; Chroma's default would download a model.
        return client.get_or_create_collection(
            name=settings.collection, metadata={"hnsw:space": "cosine"}, embedding_function=None
        )
    except Exception as exc:  # noqa: BLE001
        raise IndexUnavailable(f"cannot open Chroma collection {settings.collection!r}: {first_line(exc)}") from exc


def first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def batched(items: list[Any], size: int) -> Iterator[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def all_chunk_ids(collection: Any) -> set[str]:
    ids: set[str] = set()
    offset = 0
    while True:
        page = collection.get(include=[], limit=CHROMA_MAX_BATCH, offset=offset)
        ids.update(page["ids"])
        if len(page["ids"]) < CHROMA_MAX_BATCH:
            return ids
        offset += CHROMA_MAX_BATCH


def iter_all_chunks(collection: Any) -> Iterator[Chunk]:
    offset = 0
    while True:
        page = collection.get(include=["documents", "metadatas"], limit=CHROMA_MAX_BATCH, offset=offset)
        for chunk_id, text, meta in zip(page["ids"], page["documents"], page["metadatas"], strict=True):
            yield Chunk.from_record(chunk_id, text, meta)
        if len(page["ids"]) < CHROMA_MAX_BATCH:
            return
        offset += CHROMA_MAX_BATCH


def get_chunks(collection: Any, ids: list[str]) -> dict[str, Chunk]:
    out: dict[str, Chunk] = {}
    for part in batched(ids, CHROMA_MAX_BATCH):
        page = collection.get(ids=part, include=["documents", "metadatas"])
        for chunk_id, text, meta in zip(page["ids"], page["documents"], page["metadatas"], strict=True):
            out[chunk_id] = Chunk.from_record(chunk_id, text, meta)
    return out


def stored_metadata(collection: Any, ids: list[str]) -> dict[str, dict[str, Any]]:
    """The metadata Chroma holds for those of `ids` it has."""
    out: dict[str, dict[str, Any]] = {}
    for part in batched(sorted(set(ids)), CHROMA_MAX_BATCH):
        page = collection.get(ids=part, include=["metadatas"])
        out.update(zip(page["ids"], page["metadatas"], strict=True))
    return out


def vectors_by_text_hash(collection: Any, hashes: Iterable[str]) -> dict[str, np.ndarray]:
    """Existing vectors for chunk texts already embedded (under any id): equal text is never embedded twice."""
    wanted = sorted(set(hashes))
    found: dict[str, np.ndarray] = {}
    for part in batched(wanted, 500):
        page = collection.get(where={"text_hash": {"$in": part}}, include=["embeddings", "metadatas"])
        for meta, vector in zip(page["metadatas"], page["embeddings"], strict=True):
            found.setdefault(meta["text_hash"], np.asarray(vector, dtype=np.float32))
    return found


# ---------------------------------------------------------------------------------------------- BM25
# The lexical index lives in rag/lexical.py (tantivy, updated in place); re-exported for callers here.
from rag.lexical import LexicalFilter, LexicalIndex  # noqa: E402

__all__ = ["FileRecord", "LexicalFilter", "LexicalIndex", "Manifest"]
