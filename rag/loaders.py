"""Corpus files → `Document`s. One parser per format; every failure is a `LoadError` with a one-line reason.

Nothing here raises anything else: a parser's surprise becomes a LoadError, so one bad file never stops a run.
Files are read whole or not at all: over a limit, truncated or undecodable means skipped, never half-indexed.
"""

from __future__ import annotations

import codecs
import copy
import datetime as dt
import hashlib
import io
import logging
import os
import re
import stat
import unicodedata
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.errors import RagError
from rag.settings import SUPPORTED_EXTENSIONS
from rag.types import Document

# DOCX archives: declared sizes are checked before anything is inflated (zipfile never inflates past them).
MAX_UNZIPPED_BYTES = 200 * 1024 * 1024
MAX_ZIP_RATIO = 100
MIN_RATIO_CHECK_BYTES = 1024 * 1024  # a tiny member can reach any ratio (deflate does ~1000× on zeros) harmlessly
MAX_ZIP_MEMBERS = 10_000
ZIP_READ_CHUNK = 1024 * 1024  # members are test-inflated this much at a time

MAX_TITLE_CHARS = 300
SHORT_LINE_CHARS = 150  # a first line this short, followed by more text, reads as a title
MAX_REASON_CHARS = 300
SHORT_EXTRACTION_CHARS = 250  # trafilatura's MIN_EXTRACTED_SIZE: below it, it falls back to a raw text dump

# C0 control characters that text never contains (tab, line ends, form feed, the vertical tab Word exports
# for a line break, ESC for ISO-2022 and the DOS end-of-file mark ^Z excepted). Binary data without NUL bytes
# is full of them (≈9% of random bytes).
_BINARY_CONTROLS = bytes(b for b in range(1, 32) if b not in b"\t\n\x0b\x0c\r\x1a\x1b") + b"\x7f"
MAX_CONTROL_SHARE = 0.01
MIN_CONTROLS = 16  # a few stray control bytes in a real article are not enough to call it binary

# Parsers that log about the broken files they are given. Every failure here becomes a LoadError with its
# one-line reason, which the caller reports once per file; their own log lines (pypdf's "EOF marker not
# found", trafilatura's "empty HTML tree", ...) would add unattributed lines per bad file, so they are muted.
_NOISY_PARSER_LOGGERS = ("pypdf", "trafilatura", "htmldate", "courlan", "justext", "readability")

_TEMP_SUFFIXES = ("~", ".swp", ".swo", ".swx", ".part", ".tmp", ".crdownload")
_UTF_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16 LE: its BOM starts with the UTF-16 LE one
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def _mute_parser_logs() -> None:
    for name in _NOISY_PARSER_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:  # leave a level someone set on purpose
            logger.setLevel(logging.CRITICAL)


_mute_parser_logs()


class LoadError(RagError):
    """One-line, human-readable reason a file was skipped."""

    def __init__(self, reason: str) -> None:
        line = " ".join(str(reason).split())  # parser messages may carry newlines; a reason is one log line
        if len(line) > MAX_REASON_CHARS:
            line = line[: MAX_REASON_CHARS - 1] + "…"
        super().__init__(line)


@dataclass
class _Extracted:
    """What a format parser found; `load_document` normalises it into a Document."""

    text: str
    title: str | None = None
    date: str | None = None
    url: str | None = None
    author: str | None = None
    tags: tuple[str, ...] = ()
    date_source: str | None = None
    raw_date: Any = None  # the date value as found, when it could not be read (→ a warning, no date)
    warnings: tuple[str, ...] = ()  # metadata the parser could not read (the text is still indexed)


# ------------------------------------------------------------------------------------------ discovery


def is_supported(path: Path) -> bool:
    return path.suffix.lower() in SUPPORTED_EXTENSIONS


def relative_source(path: Path, root: Path) -> str:
    """`path` relative to `root`, with forward slashes. Links are not resolved: the source is the name in the corpus."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        # One side absolute, the other relative (or spelled with ..): compare absolute spellings.
        return Path(os.path.abspath(path)).relative_to(os.path.abspath(root)).as_posix()


def _ignored_name(name: str) -> bool:
    """Hidden files and folders, editor swap/backup files, partial downloads, Office lock files (~$doc.docx)."""
    return name.startswith((".", "~$")) or name.endswith(_TEMP_SUFFIXES)


def iter_corpus_files(root: Path) -> list[Path]:
    """Every non-folder entry under root, sorted; hidden and temporary names are left out.

    Folders reached through a symlink are not entered (a link to / or a link loop must not walk the disk).
    Unsupported types, links to files, FIFOs and the like are listed: the caller reports them as skipped, and
    `load_document` refuses anything that is not a regular file inside the corpus.
    """
    found: list[Path] = []
    for directory, dirnames, filenames in os.walk(root, followlinks=False):
        base = Path(directory)
        # os.walk lists symlinked folders among dirnames but, with followlinks=False, never descends into them.
        dirnames[:] = sorted(d for d in dirnames if not _ignored_name(d))
        found.extend(base / name for name in filenames if not _ignored_name(name))
    return sorted(found, key=lambda p: p.as_posix())


def in_corpus_scan(path: Path, root: Path) -> bool:
    """Whether `iter_corpus_files(root)` reaches `path` (or would, were it there): inside root, no hidden or
    temporary name on the way, no linked folder above it."""
    try:
        parts = Path(os.path.abspath(path)).relative_to(os.path.abspath(root)).parts
    except ValueError:
        return False
    if any(_ignored_name(part) for part in parts):
        return False
    folder = root
    for part in parts[:-1]:
        folder = folder / part
        if folder.is_symlink():
            return False
    return True


# --------------------------------------------------------------------------------------------- entry


def load_document(path: Path, root: Path, *, max_bytes: int, max_chars: int) -> Document:
    """Read and parse one file, or raise LoadError. Never raises anything else."""
    return _guarded(path.suffix, lambda: _load(path, root, max_bytes, max_chars))


def check_document(data: bytes, name: str, *, max_bytes: int, max_chars: int) -> Document:
    """Parse `data` as the ingest would parse a corpus file called `name`, or raise LoadError: the same checks
    (type, size, empty, binary, encoding, broken PDF or DOCX, ...) before an upload is saved into the corpus."""
    def parse() -> Document:
        if len(data) > max_bytes:
            raise LoadError(f"file too large ({_format_size(len(data))} > {_format_limit(max_bytes)} limit)")
        return _parse(data, Path(name), name, max_chars)

    return _guarded(Path(name).suffix, parse)


def _guarded(suffix: str, load: Callable[[], Document]) -> Document:
    try:
        return load()
    except LoadError:
        raise
    except RecursionError:
        raise LoadError("document nested too deeply to parse") from None
    except MemoryError:
        raise LoadError("document too large to parse in memory") from None
    except Exception as exc:  # noqa: BLE001  (third-party parsers raise anything)
        kind = suffix.lower().lstrip(".").upper() or "file"
        raise LoadError(f"cannot parse {kind}: {type(exc).__name__}: {exc}") from None


def _load(path: Path, root: Path, max_bytes: int, max_chars: int) -> Document:
    if path.suffix.lower() not in _PARSERS:
        raise LoadError(f"unsupported file type {path.suffix.lower() or '(no extension)'}")
    try:
        source = relative_source(path, root)
    except ValueError:
        raise LoadError("file is not inside the corpus folder") from None
    try:
        source.encode("utf-8")
    except UnicodeEncodeError:
        # Linux names are bytes; os.fsdecode keeps undecodable ones as lone surrogates, which no index, log or
        # JSON can store (chunk ids hash the source as UTF-8: one such name used to abort the whole ingest).
        raise LoadError("file name is not valid UTF-8 (rename the file)") from None
    return _parse(_read_bytes(path, root, max_bytes), path, source, max_chars)


def _parse(data: bytes, path: Path, source: str, max_chars: int) -> Document:
    suffix = path.suffix.lower()
    parser = _PARSERS.get(suffix)
    if parser is None:
        raise LoadError(f"unsupported file type {suffix or '(no extension)'}")
    if not data:
        raise LoadError("empty file")
    if not data.strip():
        raise LoadError("empty file (only whitespace)")
    found = parser(data, path, max_chars)
    text = normalize_text(found.text)
    if not text:
        hint = " (scanned or image-only PDF?)" if suffix == ".pdf" else ""
        raise LoadError(f"no text to index{hint}")
    if len(text) > max_chars:
        raise _too_long(len(text), max_chars)
    date, date_source = found.date, found.date_source if found.date else None
    warnings = found.warnings
    if date is None and found.raw_date not in (None, ""):
        shown = str(found.raw_date)[:40]
        warnings = (*warnings, f"unreadable date {shown!r}: indexed without a date")
    if date is None:
        date = dateline_date(text)
        date_source = "dateline" if date else None
    return Document(
        source=source,
        text=text,
        title=clean_title(found.title) or title_from_name(path),
        content_hash=hashlib.sha256(data).hexdigest(),
        date=date,
        url=found.url,
        author=clean_title(found.author) or None,
        tags=found.tags,
        date_source=date_source,
        warnings=warnings,
    )


# A dateline in the opening lines: "WASHINGTON, May 3, 2023 (AP) —", "Published: 3 May 2023", "May 3, 2023 —".
_DATELINE_RE = re.compile(
    r"^(?:[A-Z][A-Z .'-]{1,40},\s+)?(?:(?:Published|Updated|Posted|Date)(?: on)?:?\s+)?"
    r"((?:January|February|March|April|May|June|July|August|September|October|November|December|"
    r"Jan\.?|Feb\.?|Mar\.?|Apr\.?|Jun\.?|Jul\.?|Aug\.?|Sept?\.?|Oct\.?|Nov\.?|Dec\.?)\s+\d{1,2},?\s+\d{4}"
    r"|\d{1,2}\s+(?:January|February|March|April|May|June|July|August|September|October|November|December)\s+\d{4}"
    r"|\d{4}-\d{2}-\d{2})\b",
    re.MULTILINE,
)


def dateline_date(text: str) -> str | None:
    """The publication date a dateline in the first lines states, or None. Only the opening 300 characters
    are read: a date further down is what the article is about, not when it was published."""
    match = _DATELINE_RE.search(text[:300])
    if not match:
        return None
    value = re.sub(r"\s+", " ", match[1].replace(".", "").replace(",", ", ")).replace(" ,", ",").strip()
    value = re.sub(r"^(Sept) ", "Sep ", value)
    return iso_date(value) or iso_date(value.replace(", ", " "))


def _too_long(chars: int, max_chars: int, *, at_least: bool = False) -> LoadError:
    more = "more than " if at_least else ""
    return LoadError(f"text too long ({more}{chars:,} characters > {max_chars:,} limit)")


def _format_size(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def _format_limit(n: int) -> str:
    """Limits are usually round numbers of MB: '50 MB', not '50.0 MB'."""
    return _format_size(n).replace(".0 ", " ")


def _file_kind(mode: int) -> str:
    kinds = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
             (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))
    return next((name for test, name in kinds if test(mode)), "not a regular file")


def _read_bytes(path: Path, root: Path, max_bytes: int) -> bytes:
    try:
        info = os.stat(path)  # follows links: a dangling link fails here
    except FileNotFoundError:
        raise LoadError("broken symbolic link" if path.is_symlink() else "file not found (removed?)") from None
    except OSError as exc:
        raise LoadError(f"cannot read file: {exc.strerror or exc}") from None
    if not stat.S_ISREG(info.st_mode):
        # Opening a FIFO blocks, a device never ends; a folder named like an article is not one.
        raise LoadError(f"not a regular file ({_file_kind(info.st_mode)})")
    if not path.resolve().is_relative_to(root.resolve()):
        raise LoadError("symbolic link pointing outside the corpus folder")
    if info.st_size > max_bytes:
        raise LoadError(f"file too large ({_format_size(info.st_size)} > {_format_limit(max_bytes)} limit)")
    try:
        # O_NONBLOCK: if the file was swapped for a FIFO since the stat, open must still not hang.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
        with os.fdopen(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                raise LoadError("not a regular file (replaced while loading)")
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise LoadError(f"cannot read file: {exc.strerror or exc}") from None
    if len(data) > max_bytes:  # grew between stat and read
        raise LoadError(f"file too large (over {_format_limit(max_bytes)} limit)")
    return data


# ------------------------------------------------------------------------------------------ text helpers


def _looks_binary(data: bytes) -> bool:
    """Many C0 control bytes: binary data that happens to hold no NUL (or only ASCII-range bytes)."""
    controls = len(data) - len(data.translate(None, _BINARY_CONTROLS))
    return controls > MIN_CONTROLS and controls > MAX_CONTROL_SHARE * len(data)


def decode_text(data: bytes, what: str = "a text file") -> str:
    """Strict UTF-8 (BOM dropped), or UTF-16/32 when a BOM says so. Other encodings are refused: guessing a
    legacy code page for plain text would index mojibake."""
    for bom, codec in _UTF_BOMS:
        if data.startswith(bom):
            try:
                return data.decode(codec)  # the codec consumes the BOM
            except UnicodeDecodeError as exc:
                raise LoadError(f"not valid {codec.upper()} (bad bytes at offset {exc.start})") from None
    if b"\x00" in data:
        # NUL never occurs in real UTF-8 text; it marks binary data (or BOM-less UTF-16, which we cannot tell apart).
        raise LoadError(f"binary content (NUL bytes) in {what}")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LoadError(f"not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})") from None
    if _looks_binary(data):
        raise LoadError(f"binary content (control bytes) in {what}")
    return text


def normalize_text(text: str) -> str:
    """NFC, \\n line ends, no trailing spaces, at most one blank line in a row, no outer whitespace."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


def clean_title(value: str | None) -> str:
    """One line, inner whitespace collapsed, at most MAX_TITLE_CHARS."""
    if not value:
        return ""
    title = " ".join(unicodedata.normalize("NFC", str(value)).split())
    return title if len(title) <= MAX_TITLE_CHARS else title[: MAX_TITLE_CHARS - 1].rstrip() + "…"


def title_from_name(path: Path) -> str:
    """'budget_vote-2024' → 'budget vote 2024'."""
    return " ".join(re.sub(r"[_\-]+", " ", path.stem).split()) or path.name


def first_line_title(text: str) -> str | None:
    """The first non-empty line, when it is short and more text follows it."""
    lines = [line.strip() for line in text.strip().splitlines()]
    if len(lines) > 1 and lines[0] and len(lines[0]) <= SHORT_LINE_CHARS and any(lines[1:]):
        return lines[0]
    return None


_DATE_FORMATS = ("%B %d, %Y", "%b %d, %Y", "%b. %d, %Y", "%B %d %Y", "%d %B %Y", "%d %b %Y", "%d.%m.%Y")


def iso_date(value: Any) -> str | None:
    """A date-like value → YYYY-MM-DD, or None when it cannot be read as a date (never a guess)."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # 20240305
    if not isinstance(value, str):
        return None
    text = value.strip()
    # ISO-ish (2024-03-05, 2024/3/5, 2024-03-05T10:00Z), compact (20240305) and PDF dates (D:20240305120000Z).
    match = re.match(r"(?:D:)?(\d{4})(?:[-/.](\d{1,2})[-/.](\d{1,2})|(\d{2})(\d{2})(?:\d{2}){0,3})(?!\d)", text)
    if match:
        month, day = (match[2], match[3]) if match[2] else (match[4], match[5])
        try:
            return dt.date(int(match[1]), int(month), int(day)).isoformat()
        except ValueError:
            return None
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date().isoformat()
        except ValueError:
            continue
    return None


def _scalar_str(value: Any) -> str | None:
    """A metadata value usable as text. Lists and mappings (or a YAML alias bomb) are not stringified."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str | int | float):
        return str(value).strip() or None
    return None


# ------------------------------------------------------------------------------------------- plain text


def parse_txt(data: bytes, path: Path, max_chars: int) -> _Extracted:
    text = decode_text(data, "a .txt file")
    return _Extracted(text=text, title=first_line_title(text))


# ------------------------------------------------------------------------------------------- markdown

# Front matter: '---' on the first line, YAML, then '---' (or '...') on a line of its own.
_FRONT_MATTER_RE = re.compile(r"\A---[ \t]*\n(.*?)^(?:---|\.\.\.)[ \t]*$\n?", re.DOTALL | re.MULTILINE)
_ATX_HEADING_RE = re.compile(r"^#[ \t]+(.+?)[ \t#]*$", re.MULTILINE)


def parse_markdown(data: bytes, path: Path, max_chars: int) -> _Extracted:
    text = decode_text(data, f"a {path.suffix.lower()} file").replace("\r\n", "\n")
    meta: dict[Any, Any] = {}
    warnings: tuple[str, ...] = ()
    match = _FRONT_MATTER_RE.match(text)
    if match:
        text = text[match.end():]
        try:
            meta = _load_front_matter(match.group(1))
        except LoadError as exc:  # bad front matter loses its metadata, not the article
            warnings = (str(exc),)
    heading = _ATX_HEADING_RE.search(text)
    return _Extracted(
        text=text,
        title=_scalar_str(meta.get("title")) or (heading.group(1) if heading else None),
        date=iso_date(meta.get("date")),
        date_source="front matter",
        raw_date=meta.get("date"),
        url=_front_matter_url(meta),
        author=_front_matter_author(meta.get("author")),
        tags=_front_matter_tags(meta.get("tags")),
        warnings=warnings,
    )


def _front_matter_loader() -> Any:
    """YAML's safe loader, with dates left as text: `date: 2024-13-45` would otherwise make the whole front
    matter fail (the title and url lost with it); iso_date reads the text, or warns."""
    import yaml

    class FrontMatterLoader(yaml.SafeLoader):
        pass

    FrontMatterLoader.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    return FrontMatterLoader


def _load_front_matter(block: str) -> dict[Any, Any]:
    """The front matter's fields; {} for a block that is not a mapping. A block that is not YAML raises a
    LoadError whose reason the caller shows as a warning (the article itself is still indexed)."""
    import yaml

    try:
        loaded = yaml.load(block, Loader=_front_matter_loader())  # noqa: S506  (a SafeLoader subclass)
    except Exception as exc:  # noqa: BLE001  (YAMLError, but also ValueError and the like from constructors)
        mark = getattr(exc, "problem_mark", None)
        # +2: the block starts on the file's second line (after '---'), and marks count from 0.
        where = f" (line {mark.line + 2})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise LoadError(f"front matter is not valid YAML{where}: {problem}; indexed without its title, "
                        "date and other fields") from None
    return loaded if isinstance(loaded, dict) else {}


def _front_matter_url(meta: dict[Any, Any]) -> str | None:
    url = _scalar_str(meta.get("url")) or _scalar_str(meta.get("link"))
    if url:
        return url
    source = _scalar_str(meta.get("source"))  # often a publication name; only a web address is a URL
    return source if source and re.match(r"https?://\S+$", source) else None


def _front_matter_author(value: Any) -> str | None:
    if isinstance(value, list):
        names = [s for s in (_scalar_str(v) for v in value) if s]
        return ", ".join(names) or None
    return _scalar_str(value)


def _front_matter_tags(value: Any) -> tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else value if isinstance(value, list) else []
    tags = (" ".join(s.split()) for s in (_scalar_str(v) for v in items) if s)
    return tuple(dict.fromkeys(t for t in tags if t))  # de-duplicated, in order


# ----------------------------------------------------------------------------------------------- HTML

_HTML_SKIP_XPATH = (
    ".//script|.//style|.//noscript|.//template|.//svg|.//math|.//iframe|.//object|.//embed|.//canvas"
    "|.//head|.//title|.//comment()|.//processing-instruction()"
)
# Page furniture around a short article; dropped only by the short-page fallback (trafilatura handles long pages).
_HTML_BOILERPLATE_XPATH = ".//nav|.//aside|.//footer|.//form|.//menu|.//header[not(ancestor::article)]"
_HTML_BLOCK_TAGS = frozenset(
    "address article aside blockquote br caption dd details div dl dt fieldset figcaption figure footer form "
    "h1 h2 h3 h4 h5 h6 header hr li main nav ol p pre section summary table tbody td tfoot th thead tr ul".split()
)


def _decode_html(data: bytes) -> str:
    """UTF-8 first, then the charset the page declares, then Windows-1252, which is what browsers assume:
    unlike plain text, web pages in legacy encodings are common and their declaration is usually right."""
    if data.startswith(tuple(bom for bom, _ in _UTF_BOMS)):
        return decode_text(data, "an HTML file")
    if b"\x00" in data:
        raise LoadError("binary content (NUL bytes) in an HTML file")
    if _looks_binary(data):
        # Without this, the cp1252 fallback below decodes any binary file named .html into indexed garbage.
        raise LoadError("binary content (control bytes) in an HTML file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    declared = re.search(rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)""", data[:8192], re.IGNORECASE)
    candidates = [declared.group(1).decode("ascii")] if declared else []
    for encoding in [*candidates, "cp1252"]:
        try:
            return data.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
    return data.decode("cp1252", errors="replace")  # cp1252 leaves 5 bytes undefined


def _parse_html_tree(markup: str) -> Any:
    from lxml import etree
    from lxml import html as lxml_html

    parser = lxml_html.HTMLParser(encoding="utf-8", remove_comments=False)
    try:
        tree = lxml_html.fromstring(markup.encode("utf-8", errors="replace"), parser=parser)
    except etree.ParserError:
        raise LoadError("no text to index (empty HTML document)") from None
    # libxml2 stops building the tree at 256 levels and silently drops the rest of the page; refuse instead of
    # indexing half an article (and deeper trees would overflow recursive code downstream).
    for entry in parser.error_log:
        if "Excessive depth" in entry.message:
            raise LoadError("HTML nested too deeply to parse (over 255 levels of tags)")
        if entry.type_name == "ERR_RESOURCE_LIMIT":
            # E.g. one text node or attribute over 10 MB: libxml2 stops there, so the rest would be lost.
            reason = " ".join(entry.message.split()).split(", try XML_PARSE_HUGE")[0]
            raise LoadError(f"HTML too large to parse ({reason})")
    return tree


def _visible_chars(tree: Any) -> int:
    """Characters of text outside scripts and styles, whitespace runs counted as one: cheap (no copy)."""
    nodes = tree.xpath("//text()[not(ancestor::script) and not(ancestor::style)]")
    return sum(len(" ".join(str(node).split())) for node in nodes)


def _trafilatura_extract(markup: str) -> Any:
    """trafilatura's main-text extraction: a trafilatura Document (a dict with as_dict=True), or None."""
    import trafilatura

    try:
        return trafilatura.bare_extraction(markup, with_metadata=True, include_comments=False, include_tables=True)
    except Exception:  # noqa: BLE001  (RecursionError, lxml errors...: the plain-text fallback takes over)
        return None


def _field(result: Any, name: str) -> Any:
    if result is None:
        return None
    return result.get(name) if isinstance(result, dict) else getattr(result, name, None)


def _visible_text(tree: Any, *, drop_boilerplate: bool = False) -> str:
    """Body text without scripts, styles and comments; blocks on their own lines. Iterative (no recursion);
    works on a copy, the tree is left as it was."""
    from lxml import etree

    body = tree.find(".//body")
    root = copy.deepcopy(body if body is not None else tree)
    xpath = _HTML_SKIP_XPATH + ("|" + _HTML_BOILERPLATE_XPATH if drop_boilerplate else "")
    for node in root.xpath(xpath):
        node.drop_tree()  # keeps the node's tail text, which belongs to its parent
    parts: list[str] = []
    for event, element in etree.iterwalk(root, events=("start", "end")):
        block = element.tag in _HTML_BLOCK_TAGS
        if event == "start":
            parts.append("\n" if block else "")
            parts.append(element.text or "")
        else:
            parts.append("\n" if block else "")
            if element is not root:
                parts.append(element.tail or "")
    # HTML whitespace is not significant: collapse it within lines.
    return "\n".join(" ".join(line.split()) for line in "".join(parts).split("\n"))


def _short_page_text(tree: Any, extracted: str) -> str:
    """Below ~250 characters trafilatura gives up on finding an article and dumps every text node of the page
    on its own line (nav links included, sentences split at <b> and <a>). For a short page our own visible
    text reads better; on a long page, a short extraction is more likely the real article among the clutter."""
    own = _visible_text(tree, drop_boilerplate=True) or _visible_text(tree)
    if not extracted:
        return own
    return own if own and len(own) <= max(4 * len(extracted), 1000) else extracted


def _tree_title(tree: Any) -> str | None:
    for xpath in (".//title", ".//h1"):
        nodes = tree.xpath(xpath)
        if nodes and nodes[0].text_content().strip():
            return nodes[0].text_content()
    return None


def parse_html(data: bytes, path: Path, max_chars: int) -> _Extracted:
    markup = _decode_html(data)
    tree = _parse_html_tree(markup)  # first: refuses over-deep pages before trafilatura walks them
    visible = _visible_chars(tree)
    if visible > 2 * max_chars:
        # trafilatura takes seconds per MB of text (7 s for a 3 MB paragraph, more for the 10 MB a page may
        # have). A page with over twice the limit in text is refused without extracting: its article would
        # have to be under half of the page to fit. Below that, the exact check runs on what is extracted.
        raise _too_long(visible, max_chars)
    result = _trafilatura_extract(markup)
    text = _field(result, "text") or ""
    title = _scalar_str(_field(result, "title")) or _tree_title(tree)
    if len(text.strip()) < SHORT_EXTRACTION_CHARS:
        text = _short_page_text(tree, text.strip())
    tags = [t for t in (_field(result, "tags") or []) if isinstance(t, str)]
    return _Extracted(
        text=text,
        title=title,
        date=iso_date(_field(result, "date")),
        date_source="html metadata",
        raw_date=_field(result, "date"),
        url=_scalar_str(_field(result, "url")),
        author=_scalar_str(_field(result, "author")),
        tags=_front_matter_tags(tags),
    )


# ------------------------------------------------------------------------------------------------ PDF

_PDF_JUNK_TITLES = re.compile(r"(untitled|untitled document|document|title|no title|unknown|\(anonymous\))[-_ ]*\d*",
                              re.IGNORECASE)
_PDF_TITLE_PREFIXES = re.compile(r"^Microsoft (?:Word|PowerPoint|Excel) - ", re.IGNORECASE)
_FILE_NAME_TITLE = re.compile(r"\.(docx?|pdf|rtf|odt|txt|tex|dvi|indd|qxd|pages|pptx?|xlsx?)$", re.IGNORECASE)


def _clean_pdf_title(raw: Any) -> str | None:
    """Producers often store junk as the title: 'Untitled', 'Microsoft Word - draft3.docx', 'Document1'."""
    title = clean_title(_scalar_str(raw))
    title = _PDF_TITLE_PREFIXES.sub("", title).strip()
    if not title or _PDF_JUNK_TITLES.fullmatch(title) or _FILE_NAME_TITLE.search(title):
        return None
    return title


# A PDF's text keeps its layout's line breaks ("A crane collapsed at the Varn harbour on Monday,\ninjuring two
# workers"): a break before a lower-case letter is inside a sentence and becomes a space, so a sentence reads as one
# line and a headline line above the text stays apart (rag/answer/citations.py). A break before a capital may end a
# headline or a paragraph and stays; so does one after a hyphen ("collab-\noration").
_PDF_WRAPPED_RE = re.compile(r"(?<=[^\s-])[ \t]*\n[ \t]*(?=[a-z])")


def parse_pdf(data: bytes, path: Path, max_chars: int) -> _Extracted:
    from pypdf import PdfReader
    from pypdf.errors import LimitReachedError

    if b"%PDF-" not in data[:1024]:  # the header may follow some junk, within the first 1024 bytes
        raise LoadError("not a PDF file (no %PDF- header)")
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        encrypted = reader.is_encrypted
    except Exception as exc:  # noqa: BLE001
        raise LoadError(f"corrupt or truncated PDF ({type(exc).__name__})") from None
    if encrypted:
        _unlock_pdf(reader)
    try:
        pages = reader.pages
        page_count = len(pages)
    except Exception as exc:  # noqa: BLE001
        raise LoadError(f"corrupt or truncated PDF ({type(exc).__name__})") from None
    texts: list[str] = []
    total = 0
    for number in range(page_count):
        try:
            page_text = pages[number].extract_text() or ""
        except LimitReachedError:
            # pypdf refuses to inflate a stream past its output limit (75 MB): a compression bomb, or a page
            # far bigger than any article.
            raise LoadError(f"PDF page {number + 1} too large to decompress (compression bomb?)") from None
        except Exception as exc:  # noqa: BLE001  (a missing page would make the document half-read)
            raise LoadError(f"corrupt PDF: page {number + 1} unreadable ({type(exc).__name__})") from None
        texts.append(_PDF_WRAPPED_RE.sub(" ", page_text.strip()))
        total += len(page_text)
        if total > 2 * max_chars:  # stop early on huge PDFs; the exact check runs on the normalised text
            raise _too_long(total // 2, max_chars, at_least=True)
    text = "\n\n".join(t for t in texts if t)
    title, date = _pdf_metadata(reader)
    return _Extracted(text=text, title=title or first_line_title(text), date=date, date_source="pdf metadata")


def _unlock_pdf(reader: Any) -> None:
    """PDFs with only an owner password (copy/print restrictions) open with the empty user password."""
    try:
        unlocked = reader.decrypt("")
    except Exception as exc:  # noqa: BLE001  (e.g. an algorithm the installed crypto library lacks)
        raise LoadError(f"encrypted PDF (cannot decrypt: {type(exc).__name__})") from None
    if not unlocked:
        raise LoadError("encrypted PDF (password required)")


def _pdf_metadata(reader: Any) -> tuple[str | None, str | None]:
    try:
        info = reader.metadata
        if not info:
            return None, None
        return _clean_pdf_title(info.title), iso_date(_scalar_str(info.get("/CreationDate")))
    except Exception:  # noqa: BLE001  (broken info dictionary: the text is still good)
        return None, None


# ----------------------------------------------------------------------------------------------- DOCX

# python-docx's built-in template carries this creation time; documents made from it were not created then.
_PYTHON_DOCX_TEMPLATE_CREATED = dt.datetime(2013, 12, 23, 23, 15, tzinfo=dt.UTC)


def check_zip_archive(data: bytes) -> zipfile.ZipFile:
    """Refuse archives that are not zips or that would inflate to something huge, from declared sizes only."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        raise LoadError("not a valid DOCX (not a zip archive)") from None
    if len(members) > MAX_ZIP_MEMBERS:
        raise LoadError(f"zip bomb suspected: {len(members):,} archive members")
    total = sum(member.file_size for member in members)
    if total > MAX_UNZIPPED_BYTES:
        raise LoadError(f"zip bomb suspected: {_format_size(total)} uncompressed")
    for member in members:
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > MIN_RATIO_CHECK_BYTES and ratio > MAX_ZIP_RATIO:
            raise LoadError(f"zip bomb suspected: {member.filename} compressed {ratio:.0f}:1")
    for member in members:
        _check_member_inflates_as_declared(archive, member)
    return archive


def _check_member_inflates_as_declared(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> None:
    """Declared sizes can lie. zipfile stops at the declared size, but `ZipFile.read` (python-docx's way)
    inflates all the compressed bytes in one call first: a 1 MB member declaring 1 KB and inflating to 1 GB
    cost 2 GB of memory and 20 s. Inflating in bounded steps here stops at the declared size, and the CRC
    check at its end refuses a member whose data is not what its header says."""
    try:
        with archive.open(member) as stream:
            while stream.read(ZIP_READ_CHUNK):
                pass
    except Exception as exc:  # noqa: BLE001  (BadZipFile for a bad CRC, zlib.error, encrypted members...)
        raise LoadError(f"not a valid DOCX (archive member {member.filename} is corrupt: {exc})") from None


def parse_docx(data: bytes, path: Path, max_chars: int) -> _Extracted:
    import docx

    archive = check_zip_archive(data)
    if "[Content_Types].xml" not in archive.namelist():
        raise LoadError("not a valid DOCX (zip archive without [Content_Types].xml)")
    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001  (another Office format renamed, a broken package...)
        raise LoadError(f"not a valid DOCX ({type(exc).__name__}: {exc})") from None
    parts, heading = _docx_blocks(document)
    props = document.core_properties
    created = props.created
    if created is not None and created.replace(tzinfo=created.tzinfo or dt.UTC) == _PYTHON_DOCX_TEMPLATE_CREATED:
        created = None
    return _Extracted(
        text="\n\n".join(parts),
        title=_scalar_str(props.title) or heading,
        date=iso_date(created),
        date_source="docx metadata",
        author=_scalar_str(props.author),
        tags=_front_matter_tags(props.keywords or ""),
    )


def _docx_blocks(document: Any) -> tuple[list[str], str | None]:
    """Paragraphs and tables in document order (a table row is one line, cells joined by ' | '), and the
    first Title/Heading paragraph."""
    from docx.table import Table

    parts: list[str] = []
    heading: str | None = None
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            for row in block.rows:
                # A merged cell is returned once per grid column it spans: keep each text once.
                cells = dict.fromkeys(c.text.strip() for c in row.cells if c.text.strip())
                if cells:
                    parts.append(" | ".join(cells))
            continue
        text = block.text.strip()
        if not text:
            continue
        style = block.style.name if block.style is not None else ""
        if heading is None and (style or "").startswith(("Heading", "Title")):
            heading = text
        parts.append(text)
    return parts, heading


_PARSERS: dict[str, Callable[[bytes, Path, int], _Extracted]] = {
    ".txt": parse_txt,
    ".md": parse_markdown,
    ".markdown": parse_markdown,
    ".html": parse_html,
    ".htm": parse_html,
    ".pdf": parse_pdf,
    ".docx": parse_docx,
}
