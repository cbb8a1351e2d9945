"""Changing the corpus folder from the app: uploads (sanitised, never outside the folder) and deletions."""

from __future__ import annotations

import os
import re
import shutil
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from rag.index import Manifest
from rag.settings import SUPPORTED_EXTENSIONS, Settings


class UploadRejected(ValueError):
    """One-line reason an uploaded file was not saved."""


@dataclass
class SavedUpload:
    path: Path
    source: str
    renamed_from: str | None  # the sanitised name was taken: saved under a new name instead of overwriting


def safe_filename(name: str) -> str:
    """A plain file name: no folders, no control characters, no leading dots, at most 120 characters."""
    name = unicodedata.normalize("NFC", name).replace("\\", "/").split("/")[-1]
    name = re.sub(r"[\x00-\x1f\x7f]", "", name).strip().lstrip(".")
    name = re.sub(r"[^\w.\- ()]+", "_", name, flags=re.UNICODE)
    name = re.sub(r"\s+", " ", name)
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    stem = stem[:100].strip(" ._") or "upload"
    return f"{stem}.{ext.lower()}" if ext else stem


def save_upload(settings: Settings, temp_path: Path, original_name: str, overwrite: bool = False) -> SavedUpload:
    """Copy an uploaded file into the corpus root. Refuses disallowed types, oversize files and links."""
    name = safe_filename(original_name)
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED_EXTENSIONS:
        raise UploadRejected(f"{original_name}: file type {suffix or '(none)'} is not allowed "
                             f"(allowed: {', '.join(SUPPORTED_EXTENSIONS)})")
    if temp_path.is_symlink() or not temp_path.is_file():
        raise UploadRejected(f"{original_name}: not a regular file")
    size = temp_path.stat().st_size
    limit = int(settings.max_upload_mb * 1024 * 1024)
    if size > limit:
        raise UploadRejected(f"{original_name}: {size / 1048576:.1f} MB is over the {settings.max_upload_mb:g} MB limit")
    if size == 0:
        raise UploadRejected(f"{original_name}: empty file")
    root = settings.corpus_dir.resolve()
    root.mkdir(parents=True, exist_ok=True)
    target = (root / name).resolve()
    if target.parent != root:  # belt and braces: safe_filename already removed every folder part
        raise UploadRejected(f"{original_name}: invalid file name")
    renamed_from = None
    if target.exists() and not overwrite:
        stem, ext = target.stem, target.suffix
        n = 2
        while (root / f"{stem} ({n}){ext}").exists():
            n += 1
        renamed_from = name
        target = root / f"{stem} ({n}){ext}"
    # Write beside the target and rename: the watcher never sees a half-written file under its real name.
    tmp = root / f".{target.name}.part"
    shutil.copyfile(temp_path, tmp)
    os.replace(tmp, target)
    return SavedUpload(path=target, source=target.relative_to(root).as_posix(), renamed_from=renamed_from)


def delete_document(settings: Settings, source: str) -> Path:
    """Delete a corpus file by its source path; the caller syncs to drop its chunks."""
    root = settings.corpus_dir.resolve()
    target = (root / source).resolve()
    if not target.is_relative_to(root) or target == root:
        raise ValueError(f"{source}: not inside the corpus")
    if not target.is_file():
        raise FileNotFoundError(f"{source}: no such document")
    target.unlink()
    return target


def list_documents(settings: Settings) -> list[dict[str, object]]:
    manifest = Manifest.load(settings.index_dir)
    return [
        {"source": src, "title": rec.title, "date": rec.date or "", "chunks": len(rec.chunk_ids)}
        for src, rec in sorted(manifest.files.items())
    ]
