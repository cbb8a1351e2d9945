"""Recognising a full disk, whichever layer noticed it first (our own writes, SQLite, Chroma's Rust core)."""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

_FULL_ERRNOS = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT}
_FULL_WORDS = ("database or disk is full", "no space left on device", "file too large", "disk quota exceeded")


def disk_full(exc: BaseException | None) -> bool:
    """True if `exc`, or an exception it was raised from, says the disk (or the file size limit) is full."""
    seen = 0
    while exc is not None and seen < 20:
        if isinstance(exc, OSError) and exc.errno in _FULL_ERRNOS:
            return True
        if any(word in str(exc).lower() for word in _FULL_WORDS):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


def write_error_line(exc: BaseException, folder: Path) -> str:
    """One line for a failed write under `folder`. SQLite reports a full disk met while growing its WAL as a
    plain "disk I/O error": with (almost) no space left in that folder, that is what it is, and we say so."""
    if disk_full(exc):
        return f"the disk is full ({folder}): free some space"
    try:
        nearly_full = shutil.disk_usage(folder).free < 1024 * 1024
    except OSError:
        nearly_full = False
    if nearly_full:
        return f"the disk is full ({folder}; {type(exc).__name__}: {exc}): free some space"
    return f"{type(exc).__name__}: {exc}"
