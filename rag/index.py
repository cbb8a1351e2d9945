"""The index: chunk vectors in Chroma, a BM25 index over the same chunks, and a manifest of indexed files.

Chroma is the source of truth for which chunks exist. The manifest is a cache of what each file produced
(so unchanged files are not re-read), and the BM25 index (rag/lexical.py) follows Chroma's contents. Both carry
a generation number so a stale one is detected and reconciled with Chroma instead of trusted.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

from rag.errors import IndexUnavailable
from rag.settings import Settings
from rag.types import Chunk

MANIFEST_VERSION = 1
CHROMA_MAX_BATCH = 5000  # Chroma refuses more than 5,461 records in one call
# Timestamps are as coarse as a kernel tick (ext4 before Linux 6.13), a second (HFS+, some NFS) or two (FAT).
RACY_MTIME_NS = 3_000_000_000


# --------------------------------------------------------------------------------------------- Chroma


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
        path = settings.index_dir / "chroma"
        path.mkdir(parents=True, exist_ok=True)
        _forget_if_written_elsewhere(settings.index_dir, path)
        return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
    except Exception as exc:  # noqa: BLE001
        if settings.chroma_url:
            raise IndexUnavailable(f"the Chroma server at {settings.chroma_url} is not answering "
                                   f"({first_line(exc)})") from exc
        raise IndexUnavailable(f"cannot open the Chroma index at {settings.index_dir / 'chroma'}: "
                               f"{first_line(exc)}") from exc


# Embedded Chroma keeps one in-memory system per folder and process, and does not notice writes made by another
# process (`rag ingest` while `rag serve` runs): its cached segments then fail ("Error finding id") or miss new
# chunks. Every write run saves the manifest, so a manifest this process did not write means another process
# changed the folder: the cached system is dropped and the next client reads the folder afresh.
_MANIFEST_SEEN: dict[str, tuple[int, int] | None] = {}


def manifest_stamp(index_dir: Path) -> tuple[int, int] | None:
    try:
        stat = Manifest.path(index_dir).stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


def _remember_manifest(index_dir: Path) -> None:
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


# ------------------------------------------------------------------------------------------- Manifest


@dataclass
class FileRecord:
    size: int
    mtime_ns: int
    content_hash: str
    title: str
    chunk_ids: list[str]
    date: str | None = None
    url: str | None = None
    # The file's mtime was within RACY_MTIME_NS of the moment it was read: a write in the same timestamp tick
    # after the read leaves size and mtime unchanged, so next time the content is checked, not the stat.
    racy: bool = False
    # MinHash of the document's word shingles (rag/stories.py): story groups are derived from these.
    minhash: str | None = None
    # Where the date came from: "front matter", "html metadata", "pdf metadata", "docx metadata", "dateline".
    date_source: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        if not self.racy:
            del data["racy"]  # the usual case: manifests stay as before
        for optional in ("minhash", "date_source"):
            if data[optional] is None:
                del data[optional]
        return data


@dataclass
class Manifest:
    """What was indexed, per corpus file. `complete` is false while a sync is writing: a crash leaves it so,
    and the next sync reconciles against Chroma's actual contents instead of trusting this file."""

    files: dict[str, FileRecord] = field(default_factory=dict)
    generation: int = 0
    complete: bool = True
    fingerprint: dict[str, Any] = field(default_factory=dict)
    exists: bool = False

    @staticmethod
    def path(index_dir: Path) -> Path:
        return index_dir / "manifest.json"

    @classmethod
    def load(cls, index_dir: Path) -> Manifest:
        path = cls.path(index_dir)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError):
            # A damaged manifest is only a cache: rebuild it by reconciling with Chroma.
            return cls(complete=False, exists=True)
        if raw.get("version") != MANIFEST_VERSION:
            return cls(complete=False, exists=True)
        files = {src: FileRecord(**rec) for src, rec in raw.get("files", {}).items()}
        return cls(
            files=files,
            generation=int(raw.get("generation", 0)),
            complete=bool(raw.get("complete", False)),
            fingerprint=raw.get("fingerprint", {}),
            exists=True,
        )

    def save(self, index_dir: Path) -> None:
        data = {
            "version": MANIFEST_VERSION,
            "generation": self.generation,
            "complete": self.complete,
            "fingerprint": self.fingerprint,
            "files": {src: rec.to_dict() for src, rec in sorted(self.files.items())},
        }
        atomic_write_text(self.path(index_dir), json.dumps(data, ensure_ascii=False, separators=(",", ":")))
        self.exists = True
        _remember_manifest(index_dir)  # our own write: the cached Chroma system of this process is current

    def chunk_ids(self) -> set[str]:
        return {cid for rec in self.files.values() for cid in rec.chunk_ids}


def atomic_write_text(path: Path, text: str) -> None:
    """Write-then-rename with fsync, so a reader or a crash sees the old file or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# ---------------------------------------------------------------------------------------------- BM25
# The lexical index lives in rag/lexical.py (tantivy, updated in place); re-exported for callers here.
from rag.lexical import LexicalFilter, LexicalIndex  # noqa: E402

__all__ = ["LexicalFilter", "LexicalIndex"]
