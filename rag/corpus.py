"""Changing the corpus folder from the app: uploads (sanitised, never outside the folder) and deletions."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from rag.errors import DocumentNotFound, OutsideCorpus, UploadRejected
from rag.index import Manifest
from rag.loaders import LoadError, check_document
from rag.settings import SUPPORTED_EXTENSIONS, Settings


@dataclass
class SavedUpload:
    path: Path
    source: str
    renamed_from: str | None  # the sanitised name was taken: saved under a new name instead of overwriting
    warnings: tuple[str, ...] = ()  # what the ingest will warn about (e.g. an unreadable date); saved all the same


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
    """Copy an uploaded file into the corpus root. Refuses disallowed types, oversize files, links and any file
    the ingest would skip (rag.loaders.check_document), each with a one-line reason; nothing refused is saved."""
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
    # The ingest's own checks, before the file is saved: a file it would skip (binary, not UTF-8, a broken PDF, a
    # .docx that is not one, ...) is refused here with its reason instead of lying in the corpus, skipped at
    # every sync. A broken new version of an existing file is refused too, never saved beside it as "name (2)".
    try:
        document = check_document(temp_path.read_bytes(), name, max_bytes=int(settings.max_file_mb * 1024 * 1024),
                                  max_chars=settings.max_document_chars)
    except LoadError as exc:
        raise UploadRejected(f"{original_name}: {exc}") from None
    root = settings.corpus_dir.resolve()
    root.mkdir(parents=True, exist_ok=True)
    target = (root / name).resolve()
    if target.parent != root:  # belt and braces: safe_filename already removed every folder part
        raise UploadRejected(f"{original_name}: invalid file name")
    # Write beside the target under a hidden name of our own, then publish it: the watcher and the scan never
    # see a half-written file under its real name, and two uploads at once never share a temporary file.
    fd, tmp_name = tempfile.mkstemp(dir=root, prefix=f".{target.name}.", suffix=".part")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        shutil.copyfile(temp_path, tmp)
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide the file from a server running as another user
        if overwrite:
            os.replace(tmp, target)
            return SavedUpload(path=target, source=target.relative_to(root).as_posix(), renamed_from=None,
                               warnings=document.warnings)
        final = _publish_new(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    renamed_from = name if final != target else None
    return SavedUpload(path=final, source=final.relative_to(root).as_posix(), renamed_from=renamed_from,
                       warnings=document.warnings)


def _publish_new(tmp: Path, target: Path) -> Path:
    """Give `tmp` the first free name of target, "stem (2).ext", "stem (3).ext", ... and return it.

    A check for a free name followed by a rename is a race: two uploads of one name at once both found it
    free and the second replaced the first. A hard link fails if the name exists, so each name is claimed
    atomically and no upload ever replaces another file."""
    stem, ext = target.stem, target.suffix
    n = 1
    while True:
        candidate = target if n == 1 else target.with_name(f"{stem} ({n}){ext}")
        try:
            os.link(tmp, candidate)
            return candidate
        except FileExistsError:
            n += 1
        except OSError:
            # No hard links on this filesystem: claim the name with an exclusive create, then fill it by rename.
            try:
                os.close(os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
            except FileExistsError:
                n += 1
                continue
            os.replace(tmp, candidate)
            return candidate


def delete_document(settings: Settings, source: str) -> Path:
    """Delete a corpus file by its source path; the caller syncs to drop its chunks."""
    root = settings.corpus_dir.resolve()
    path = root / source
    link = path.parent.resolve() / path.name
    if path.name not in ("", ".", "..") and link.is_symlink():
        # A symbolic link the syncs skip (it points outside the corpus, or nowhere): the link itself goes, never its
        # target; the folder holding it must still be inside the corpus.
        if not link.parent.is_relative_to(root):
            raise OutsideCorpus(f"{source}: not inside the corpus")
        link.unlink()
        return link
    target = path.resolve()
    if not target.is_relative_to(root) or target == root:
        raise OutsideCorpus(f"{source}: not inside the corpus")
    if not target.is_file():
        raise DocumentNotFound(f"{source}: no such document")
    target.unlink()
    return target


def list_documents(settings: Settings) -> list[dict[str, object]]:
    with Manifest.load(settings.index_dir) as manifest:
        return [{"source": d.source, "title": d.title, "date": d.date or "", "chunks": d.chunks}
                for d in manifest.listing()]
