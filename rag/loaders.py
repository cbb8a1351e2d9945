"""Corpus files → `Document`s. One function per format; every failure is a `LoadError` with a one-line reason.

Nothing here raises anything else: a parser's surprise becomes a LoadError, so one bad file never stops a run.
"""

from __future__ import annotations

import codecs
import datetime as dt
import hashlib
import io
import re
import stat
import unicodedata
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rag.settings import SUPPORTED_EXTENSIONS
from rag.types import Document

MAX_UNZIPPED_BYTES = 200 * 1024 * 1024
MAX_ZIP_RATIO = 100
_TEMP_SUFFIXES = ("~", ".swp", ".swx", ".part", ".tmp", ".crdownload")


class LoadError(Exception):
    """Why a file was skipped, in one line."""

    def __init__(self, reason: str) -> None:
        super().__init__(" ".join(str(reason).split()))


# ------------------------------------------------------------------------------------------ discovery


def is_supported(path: Path) -> bool:
    return path.suffix.lower() in SUPPORTED_EXTENSIONS


def relative_source(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def _ignored_name(name: str) -> bool:
    return name.startswith(".") or name.endswith(_TEMP_SUFFIXES) or name.startswith("~$")


def iter_corpus_files(root: Path) -> list[Path]:
    """Files under root, sorted; hidden files and folders, editor temp files and folders reached through a
    symlink are left out (a link loop or a link to / must not walk the disk). Links to files are listed:
    `load_document` refuses those that point outside the corpus."""
    found: list[Path] = []
    for directory, dirnames, filenames in _walk(root):
        dirnames[:] = sorted(d for d in dirnames if not _ignored_name(d) and not (directory / d).is_symlink())
        found.extend(directory / name for name in filenames if not _ignored_name(name))
    return sorted(found, key=lambda p: p.as_posix())


def _walk(root: Path):  # noqa: ANN202
    import os

    for directory, dirnames, filenames in os.walk(root, followlinks=False):
        yield Path(directory), dirnames, filenames


# --------------------------------------------------------------------------------------------- entry


def load_document(path: Path, root: Path, *, max_bytes: int, max_chars: int) -> Document:
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_EXTENSIONS:
        raise LoadError(f"unsupported file type {suffix or '(no extension)'}")
    data = _read_bytes(path, root, max_bytes)
    if not data.strip():
        raise LoadError("empty file")
    parser = _PARSERS[suffix]
    try:
        fields = parser(data, path)
    except LoadError:
        raise
    except RecursionError:
        raise LoadError("document structure nested too deeply to parse") from None
    except MemoryError:
        raise LoadError("document too large to parse in memory") from None
    except Exception as exc:  # noqa: BLE001  (third-party parsers raise anything)
        raise LoadError(f"cannot parse {suffix[1:].upper()}: {type(exc).__name__}: {str(exc)[:160]}") from None
    text = normalize_text(fields.pop("text"))
    if not text:
        raise LoadError("no text to index (scanned PDF or only markup?)" if suffix == ".pdf" else "no text to index")
    if len(text) > max_chars:
        raise LoadError(f"text too long ({len(text):,} characters > {max_chars:,} limit)")
    title = " ".join((fields.get("title") or "").split()) or title_from_name(path)
    return Document(
        source=relative_source(path, root),
        text=text,
        title=title[:300],
        content_hash=hashlib.sha256(data).hexdigest(),
        date=fields.get("date"),
        url=fields.get("url"),
        author=fields.get("author"),
        tags=tuple(fields.get("tags") or ()),
    )


def _read_bytes(path: Path, root: Path, max_bytes: int) -> bytes:
    try:
        info = path.stat()  # follows links: a dangling link fails here
    except FileNotFoundError:
        raise LoadError("cannot read: file vanished or is a broken link") from None
    except OSError as exc:
        raise LoadError(f"cannot read: {exc.strerror or exc}") from None
    if not stat.S_ISREG(info.st_mode):
        # FIFOs and devices would block or never end; folders named like files are not articles.
        raise LoadError("not a regular file")
    if path.is_symlink():
        target = path.resolve()
        if not target.is_relative_to(root.resolve()):
            raise LoadError("symbolic link pointing outside the corpus")
    if info.st_size > max_bytes:
        raise LoadError(f"file too large ({info.st_size / 1048576:.1f} MB > {max_bytes / 1048576:.0f} MB limit)")
    try:
        with open(path, "rb") as fh:
            return fh.read(max_bytes + 1)
    except OSError as exc:
        raise LoadError(f"cannot read: {exc.strerror or exc}") from None


# ------------------------------------------------------------------------------------------ decoding


def decode_text(data: bytes) -> str:
    """Strict UTF-8 (BOM dropped), or UTF-16/32 when a BOM says so. Binary and other encodings are refused:
    guessing a legacy code page would index mojibake."""
    for bom, codec in ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
                       (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            try:
                return data.decode(codec)
            except UnicodeDecodeError as exc:
                raise LoadError(f"not valid {codec.upper()} (bad bytes at offset {exc.start})") from None
    if b"\x00" in data[:8192]:
        raise LoadError("binary content (NUL bytes) in a text file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LoadError(f"not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})") from None


def normalize_text(text: str) -> str:
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


def title_from_name(path: Path) -> str:
    return re.sub(r"[_\-]+", " ", path.stem).strip() or path.name


def iso_date(value: Any) -> str | None:
    """A date-like value → YYYY-MM-DD, or None when it cannot be read as a date."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if not isinstance(value, str):
        return None
    text = value.strip()
    match = re.match(r"(?:D:)?(\d{4})-?(\d{2})-?(\d{2})", text)
    if not match:
        return None
    try:
        return dt.date(int(match[1]), int(match[2]), int(match[3])).isoformat()
    except ValueError:
        return None


# ------------------------------------------------------------------------------------------- formats


def _first_line_title(text: str) -> str | None:
    lines = [line.strip() for line in text.strip().splitlines()]
    if len(lines) > 1 and lines[0] and len(lines[0]) <= 150:
        return lines[0].lstrip("#").strip()
    return None


def parse_txt(data: bytes, path: Path) -> dict[str, Any]:
    text = decode_text(data)
    return {"text": text, "title": _first_line_title(text)}


_FRONT_MATTER_RE = re.compile(r"\A---[ \t]*\n(.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)


def parse_markdown(data: bytes, path: Path) -> dict[str, Any]:
    import yaml

    text = decode_text(data).replace("\r\n", "\n")
    meta: dict[str, Any] = {}
    match = _FRONT_MATTER_RE.match(text)
    if match:
        text = text[match.end():]
        try:
            loaded = yaml.safe_load(match.group(1))
        except yaml.YAMLError:
            loaded = None  # bad front matter loses its metadata, not the article
        if isinstance(loaded, dict):
            meta = loaded
    url = meta.get("url") or meta.get("link")
    if not url and isinstance(meta.get("source"), str) and re.match(r"https?://", meta["source"]):
        url = meta["source"]
    tags = meta.get("tags")
    if isinstance(tags, str):
        tags = [t.strip() for t in tags.split(",")]
    heading = re.search(r"^#\s+(.+)$", text, re.MULTILINE)
    title = meta.get("title")
    return {
        "text": text,
        "title": str(title) if title else (heading.group(1).strip() if heading else None),
        "date": iso_date(meta.get("date")),
        "url": str(url) if url else None,
        "author": str(meta["author"]) if meta.get("author") else None,
        "tags": [str(t) for t in tags if t] if isinstance(tags, list) else [],
    }


def _decode_html(data: bytes) -> str:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return decode_text(data)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    declared = re.search(rb"""<meta[^>]+charset=["']?([\w-]+)""", data[:4096], re.IGNORECASE)
    # Web pages often are not UTF-8; their declared charset, else Windows-1252, is what browsers use too.
    for encoding in ([declared.group(1).decode("ascii", "ignore")] if declared else []) + ["cp1252"]:
        try:
            return data.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
    return data.decode("cp1252", errors="replace")


def parse_html(data: bytes, path: Path) -> dict[str, Any]:
    import trafilatura
    from lxml import html as lxml_html

    markup = _decode_html(data)
    if b"\x00" in data[:8192] and not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise LoadError("binary content (NUL bytes) in an HTML file")
    try:
        tree = lxml_html.fromstring(markup.encode("utf-8"), parser=lxml_html.HTMLParser(encoding="utf-8", huge_tree=False))
    except Exception as exc:  # noqa: BLE001
        raise LoadError(f"cannot parse HTML: {type(exc).__name__}") from None
    page_title = (tree.findtext(".//title") or "").strip()
    h1 = tree.find(".//h1")
    heading = h1.text_content().strip() if h1 is not None else ""
    extracted = None
    try:
        extracted = trafilatura.bare_extraction(markup, with_metadata=True, include_comments=False, include_tables=True)
    except RecursionError:
        extracted = None
    text = (getattr(extracted, "text", None) or "").strip() if extracted is not None else ""
    if len(text) < 40:
        # Trafilatura drops very short pages; fall back to the visible body text.
        text = _visible_text(tree) or text
    title = (getattr(extracted, "title", None) if extracted is not None else None) or page_title or heading
    date = iso_date(getattr(extracted, "date", None)) if extracted is not None else None
    url = getattr(extracted, "url", None) if extracted is not None else None
    author = getattr(extracted, "author", None) if extracted is not None else None
    return {"text": text, "title": title, "date": date, "url": url, "author": author}


def _visible_text(tree: Any) -> str:
    for bad in tree.xpath("//script|//style|//noscript|//template|//head"):
        bad.drop_tree()
    body = tree.find(".//body")
    node = body if body is not None else tree
    return "\n".join(t.strip() for t in node.itertext() if t.strip())


def parse_pdf(data: bytes, path: Path) -> dict[str, Any]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    if not data.lstrip()[:5] == b"%PDF-":
        raise LoadError("not a PDF file (no %PDF header)")
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            try:
                unlocked = reader.decrypt("")
            except Exception:  # noqa: BLE001
                unlocked = 0
            if not unlocked:
                raise LoadError("encrypted PDF (password required)")
        pages = [page.extract_text() or "" for page in reader.pages]
        info = reader.metadata or {}
    except LoadError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError, OSError) as exc:
        raise LoadError(f"corrupt or truncated PDF ({type(exc).__name__})") from None
    text = "\n\n".join(p.strip() for p in pages if p.strip())
    title = str(info.get("/Title") or "").strip()
    if title.lower() in {"untitled", "untitled document"} or title.lower().endswith((".doc", ".docx")):
        title = ""
    title = re.sub(r"^Microsoft Word - ", "", title)
    return {"text": text, "title": title or _first_line_title(text), "date": iso_date(str(info.get("/CreationDate") or ""))}


def _check_zip(data: bytes) -> None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise LoadError("not a valid DOCX (not a zip archive)") from None
    total = 0
    for member in archive.infolist():
        total += member.file_size
        if member.compress_size and member.file_size / member.compress_size > MAX_ZIP_RATIO and member.file_size > 10 * 2**20:
            raise LoadError(f"zip bomb suspected ({member.filename} expands {member.file_size // member.compress_size}×)")
    if total > MAX_UNZIPPED_BYTES:
        raise LoadError(f"zip bomb suspected ({total / 2**30:.1f} GB uncompressed)")
    if "word/document.xml" not in archive.namelist():
        raise LoadError("not a valid DOCX (no word/document.xml)")


def parse_docx(data: bytes, path: Path) -> dict[str, Any]:
    import docx

    _check_zip(data)
    document = docx.Document(io.BytesIO(data))
    parts: list[str] = []
    heading = None
    for paragraph in document.paragraphs:
        text = paragraph.text.strip()
        if not text:
            continue
        style = (paragraph.style.name if paragraph.style is not None else "") or ""
        if heading is None and (style.startswith("Heading") or style == "Title"):
            heading = text
        parts.append(text)
    for table in document.tables:
        for row in table.rows:
            cells = [c.text.strip() for c in row.cells if c.text.strip()]
            if cells:
                parts.append(" | ".join(dict.fromkeys(cells)))
    props = document.core_properties
    return {
        "text": "\n\n".join(parts),
        "title": (props.title or "").strip() or heading,
        "date": iso_date(props.created) if props.created else None,
        "author": props.author or None,
    }


_PARSERS: dict[str, Callable[[bytes, Path], dict[str, Any]]] = {
    ".txt": parse_txt,
    ".md": parse_markdown,
    ".markdown": parse_markdown,
    ".html": parse_html,
    ".htm": parse_html,
    ".pdf": parse_pdf,
    ".docx": parse_docx,
}
