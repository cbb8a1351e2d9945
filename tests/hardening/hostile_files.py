"""A hostile corpus, written at test time (nothing is committed): 200+ files that must each be skipped with one
clear line, mixed with good articles that must all be indexed. Used by tests/hardening/test_hostile_corpus.py
and bench/bench_hostile.py.

What the product should do with the files that could go either way (decided here, asserted by the tests):

* UTF-16 / UTF-32 text *with* a byte-order mark is unambiguous text: it is indexed (good). Without a BOM it
  cannot be told from binary (it is full of NUL bytes), so it is refused. A BOM followed by an odd number of
  bytes or a lone surrogate is refused as invalid UTF-16.
* A PDF encrypted with only an owner password (copy/print restrictions) opens with the empty user password:
  indexed. A user password: refused.
* Odd names (spaces, unicode, a newline, a leading dash, 250-byte names) are valid names: such files are indexed
  when their content is good, and refused for their content when it is bad. A name that is not valid UTF-8
  (Linux allows any bytes) cannot be stored as a source: refused.
* Over `max_file_mb` (50 MB): refused from its size, before a byte is read. Over `max_document_chars` (2 M
  characters, e.g. a 10 MB one-line file): refused as too long, never truncated.
* A symlink to a file outside the corpus, a dangling link and a FIFO are refused (each with its line).
"""

from __future__ import annotations

import codecs
import io
import os
import random
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from tests.helpers import encrypt_pdf, make_pdf

MB = 1024 * 1024
TEXT_EXTENSIONS = (".txt", ".md", ".markdown", ".html", ".htm")
ALL_EXTENSIONS = (*TEXT_EXTENSIONS, ".pdf", ".docx")

# Unique phrases: a made-up name (so that BM25 finds exactly one document for it) and a topic of its own (so
# that the dense retriever, for which made-up words mean little, also tells the articles apart).
_SYLLABLES = ["var", "nol", "keth", "dru", "mav", "osk", "pel", "tirn", "ulv", "zan", "brim", "cor", "fjel", "gast"]
TOPICS = [
    "volcanic ash monitoring", "chess tournament prize money", "measles vaccination", "tram line extension",
    "salmon farming licences", "lighthouse restoration", "wildfire evacuation routes", "copper mine expansion",
    "canal lock repairs", "opera house funding", "drought water rationing", "airport noise limits",
    "university tuition fees", "bee colony losses", "coastal erosion defences", "cycling lane network",
    "hospital waiting lists", "wind farm subsidies", "library opening hours", "football stadium safety",
    "rent control", "avalanche warnings", "glacier retreat", "jazz festival", "steel plant closure",
    "ferry timetable", "heatwave emergency plan", "child care vouchers", "police body cameras",
    "rare earth exports", "nuclear waste storage", "bread prices", "space telescope launch", "truffle harvest",
    "marathon route", "museum looted artefacts", "satellite internet", "earthquake drills", "postal strike",
    "lottery fraud", "cathedral fire", "zoo panda loan", "dairy quotas", "tunnel boring machine",
]


@dataclass(frozen=True)
class CorpusFile:
    source: str  # path relative to the corpus root, forward slashes (as SyncReport and the index name it)
    kind: str  # e.g. "pdf-truncated", "good-utf16-bom"
    phrase: str | None = None  # set for files that must be indexed: a phrase only this file contains


@dataclass
class HostileCorpus:
    root: Path
    good: list[CorpusFile] = field(default_factory=list)  # must be indexed and searchable by `phrase`
    hostile: list[CorpusFile] = field(default_factory=list)  # must be skipped, each with exactly one line

    @property
    def hostile_sources(self) -> set[str]:
        return {f.source for f in self.hostile}

    def kinds(self) -> Counter[str]:
        return Counter(f.kind.split(":")[0] for f in self.hostile)


class _Writer:
    """Writes files under root and records what each one is."""

    def __init__(self, root: Path, rng: random.Random) -> None:
        self.corpus = HostileCorpus(root=root)
        self.rng = rng
        self._phrases = 0

    def path(self, name: str) -> Path:
        path = self.corpus.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def bad(self, name: str, kind: str, data: bytes | None = None) -> Path:
        path = self.path(name)
        if data is not None:
            path.write_bytes(data)
        self.corpus.hostile.append(CorpusFile(name, kind))
        return path

    def good(self, name: str, kind: str, phrase: str, data: bytes) -> None:
        self.path(name).write_bytes(data)
        self.corpus.good.append(CorpusFile(name, kind, phrase))

    def phrase(self) -> str:
        """A made-up name and a topic no other file has, e.g. 'the Kethulvdrupel accord on bread prices'."""
        topic = TOPICS[self._phrases % len(TOPICS)]
        self._phrases += 1
        name = "".join(self.rng.sample(_SYLLABLES, 4)).capitalize()
        return f"the {name} accord on {topic}"


def article_text(phrase: str, title: str) -> str:
    """A short news article (several sentences, so the chunker has real text) mentioning `phrase` twice."""
    return (
        f"{title}\n\nNegotiators in Varnholm signed {phrase} on Tuesday after three days of talks in the old "
        f"customs house. The agreement covers fishing quotas in the northern bay and a joint patrol of the "
        f"strait.\n\nOfficials said {phrase} would be reviewed in two years, and that the harbour fees agreed "
        f"last spring stay as they are."
    )


def article_md(phrase: str, title: str) -> bytes:
    return f"---\ntitle: {title!r}\ndate: 2026-03-04\n---\n\n{article_text(phrase, title)}\n".encode()


def article_html(phrase: str, title: str) -> bytes:
    paragraphs = "".join(f"<p>{p}</p>" for p in article_text(phrase, title).split("\n\n")[1:])
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title></head><body><article>"
            f"<h1>{title}</h1>{paragraphs}</article></body></html>").encode()


# ------------------------------------------------------------------------------------------------ PDF


def deflate_repeated(megabytes: int, byte: int = 0) -> tuple[bytes, int]:
    """Raw deflate of `megabytes` MB of one repeated byte, and the CRC-32 of the inflated data. Fast: one MB is
    compressed once and its block repeated (after a full flush the compressor restarts, so each MB compresses
    to the same bytes), instead of compressing up to 1 GB at test time."""
    import zlib

    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = bytes([byte]) * MB
    block = packer.compress(chunk) + packer.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(megabytes):
        crc = zlib.crc32(chunk, crc)
    return block * megabytes + packer.flush(), crc


def _flate_bomb_stream(megabytes: int) -> bytes:
    """A zlib stream (as /FlateDecode wants) inflating to `megabytes` of spaces: valid content with no text."""
    import struct
    import zlib

    raw, _ = deflate_repeated(megabytes, ord(" "))
    adler = 1
    for _ in range(megabytes):
        adler = zlib.adler32(b" " * MB, adler)
    return b"\x78\xda" + raw + struct.pack(">I", adler)


# ----------------------------------------------------------------------------------------------- DOCX


def docx_bytes(paragraphs: list[str]) -> bytes:
    import docx

    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def write_zip(members: list[tuple[str, bytes, int, int]]) -> bytes:
    """A zip of (name, raw deflate data, crc32, declared uncompressed size) members, written by hand: zipfile
    would compress the data itself and always declares the true size."""
    import struct

    out, central = bytearray(), bytearray()
    for name, body, crc, size in members:
        encoded = name.encode()
        offset = len(out)
        out += struct.pack("<4s5H3I2H", b"PK\x03\x04", 20, 0, 8, 0, 0, crc, len(body), size, len(encoded), 0)
        out += encoded + body
        central += struct.pack("<4s6H3I5H2I", b"PK\x01\x02", 20, 20, 0, 8, 0, 0, crc, len(body), size,
                               len(encoded), 0, 0, 0, 0, 0, offset) + encoded
    end = struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, len(members), len(members), len(central), len(out), 0)
    return bytes(out + central + end)


def _deflated(data: bytes) -> tuple[bytes, int]:
    import zlib

    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    return packer.compress(data) + packer.flush(), zlib.crc32(data)


def zip_bomb(megabytes: int, *, declared: int | None = None) -> bytes:
    """A .docx-like zip ([Content_Types].xml + word/document.xml) whose document inflates to `megabytes` MB of
    zeros. `declared`: the uncompressed size written in the headers, when it should lie."""
    # Every other part of a real DOCX, so that only the document part is wrong.
    real = zipfile.ZipFile(io.BytesIO(docx_bytes(["A real paragraph."])))
    members = [(i.filename, *_deflated(real.read(i.filename)), i.file_size)
               for i in real.infolist() if i.filename != "word/document.xml"]
    body, crc = deflate_repeated(megabytes)
    size = megabytes * MB if declared is None else declared
    return write_zip([*members, ("word/document.xml", body, crc, size)])


def billion_laughs_docx() -> bytes:
    """A real DOCX whose document.xml declares nested entities (10^9 'lol's if expanded)."""
    source = zipfile.ZipFile(io.BytesIO(docx_bytes(["A paragraph that is cut short."])))
    buffer = io.BytesIO()
    entities = '<!ENTITY e0 "lol">' + "".join(f'<!ENTITY e{n} "{f"&e{n - 1};" * 10}">' for n in range(1, 10))
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "word/document.xml":
                body = content.split(b"?>", 1)[1].replace(b"cut short.", b"&e9;")
                content = b'<?xml version="1.0"?><!DOCTYPE w:document [' + entities.encode() + b"]>" + body
            archive.writestr(info.filename, content)
    return buffer.getvalue()


# --------------------------------------------------------------------------------------------- the corpus


def make_hostile_corpus(dir: Path, seed: int = 0, big: bool = True) -> HostileCorpus:  # noqa: A002, PLR0915
    """Write the corpus under `dir` (created if needed) and return what each file is.

    `big`: also write the files that cost disk and seconds: a 100 MB text file and 60 MB ones over the size
    limit, 10 MB one-line files, and zip bombs inflating to 300 MB-1 GB. Without it the same kinds are written
    at sizes that still cross each limit where possible (≥ 200 hostile files either way).
    """
    dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    w = _Writer(dir, rng)

    # -- good articles, in every format, some with odd names ------------------------------------------------
    for i in range(8):
        p = w.phrase()
        w.good(f"good/article-{i:02d}.md", "good-md", p, article_md(p, f"Accord report {i}"))
    for i in range(3):
        p = w.phrase()
        w.good(f"good/page-{i}.html", "good-html", p, article_html(p, f"Harbour page {i}"))
    p = w.phrase()
    w.good("good/plain.txt", "good-txt", p, article_text(p, "Plain report").encode())
    p = w.phrase()
    w.good("good/paper.pdf", "good-pdf", p, make_pdf([article_text(p, "Paper").split(". ")], compress=True))
    p = w.phrase()
    restricted = encrypt_pdf(make_pdf([article_text(p, "Restricted").split(". ")]), "", "AES-128")
    w.good("good/restricted (owner password only).pdf", "good-pdf-owner-password", p, restricted)
    # A broken cross-reference table, all objects intact: pypdf rebuilds the table and reads every page, so
    # nothing is half-read; indexing it is right.
    p = w.phrase()
    intact = make_pdf([article_text(p, "Xref").split(". ")])
    w.good("good/broken xref.pdf", "good-pdf-broken-xref", p,
           intact.replace(b"xref\n0 ", b"xref\n9 ").replace(b" 00000 n", b" 00000 q"))
    p = w.phrase()
    w.good("good/memo.docx", "good-docx", p, docx_bytes(article_text(p, "Memo").split("\n\n")))
    for codec, bom in (("utf-16-le", codecs.BOM_UTF16_LE), ("utf-16-be", codecs.BOM_UTF16_BE),
                       ("utf-32-le", codecs.BOM_UTF32_LE)):
        p = w.phrase()
        w.good(f"good/{codec} with bom.txt", "good-utf16-bom" if "16" in codec else "good-utf32-bom", p,
               bom + article_text(p, f"Wide {codec}").encode(codec))
    p = w.phrase()
    w.good("good/utf8 with bom.md", "good-utf8-bom", p, codecs.BOM_UTF8 + article_md(p, "BOM"))
    odd_good_names = [
        "odd/name with  spaces .md",
        "odd/ünïcödé — Zürich 東京 🚋.md",
        "odd/new\nline.md",
        "odd/tab\there.md",
        "odd/-leading-dash.md",
        "odd/--help.md",
        "odd/" + "l" * 247 + ".md",  # 250 bytes: near NAME_MAX (255)
        "odd/" + "é" * 120 + ".md",  # 240 bytes of UTF-8
        "odd/sub dir/ünï/deep name.md",
        "odd/quote'\"and;semicolon&$(x).md",
    ]
    for name in odd_good_names:
        p = w.phrase()
        w.good(name, "good-odd-name", p, article_md(p, "Odd name"))
    # Hostile in structure but a real article: YAML alias bomb in the front matter (the text still counts).
    p = w.phrase()
    yaml_bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
        for i in range(9)) + "tags: *j\n"
    w.good("good/yaml alias bomb.md", "good-yaml-alias-bomb", p,
           f"---\n{yaml_bomb}---\n\n{article_text(p, 'YAML')}\n".encode())

    # -- binary content with text extensions -------------------------------------------------------------
    magic = {
        "png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        "jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
        "elf": b"\x7fELF\x02\x01\x01\x00",
        "gzip": b"\x1f\x8b\x08\x00\x00\x00\x00\x00",
        "sqlite": b"SQLite format 3\x00",
        "random": b"",
    }
    for label, head in magic.items():
        for ext in TEXT_EXTENSIONS:
            w.bad(f"binary/{label}{ext}", f"binary:{label}", head + rng.randbytes(4096))
    # No NUL byte at all: only high bytes and C0 controls. Not UTF-8; an HTML page must not be read as cp1252.
    for i, ext in enumerate(TEXT_EXTENSIONS * 2):
        alphabet = bytes(range(0x80, 0x100)) + bytes(range(1, 9)) + bytes(range(14, 32))
        w.bad(f"binary/no-nul-{i}{ext}", "binary:no-nul", bytes(rng.choice(alphabet) for _ in range(4096)))

    # Valid UTF-8 (ASCII-range bytes only) yet binary: control characters throughout.
    for i, ext in enumerate(TEXT_EXTENSIONS):
        w.bad(f"binary/ascii-controls-{i}{ext}", "binary:ascii-controls", rng.randbytes(4096).translate(
            bytes((b % 127) + 1 for b in range(256))))

    # -- empty ------------------------------------------------------------------------------------------
    for ext in ALL_EXTENSIONS:
        w.bad(f"empty/empty{ext}", "empty", b"")
    for i, blank in enumerate([b" ", b"\n\n\n", b"\t \r\n \x0b\x0c", b"   " * 1000]):
        for ext in (".txt", ".md"):
            w.bad(f"empty/blank-{i}{ext}", "empty:whitespace", blank)
    w.bad("empty/only-bom.txt", "empty:bom-only", codecs.BOM_UTF8)
    w.bad("empty/only-front-matter.md", "empty:front-matter-only", b"---\ntitle: Nothing here\n---\n")
    w.bad("empty/only-markup.html", "empty:markup-only", b"<html><head><script>x=1</script></head><body></body></html>")
    w.bad("empty/blank-page.pdf", "empty:pdf-no-text", make_pdf([[]]))
    w.bad("empty/no-paragraphs.docx", "empty:docx-no-text", docx_bytes([]))

    # -- too big for max_file_mb (50 MB) ------------------------------------------------------------------
    line = b"The council met again on Tuesday and talked about the harbour, the tram and the budget.\n"
    over = {"huge-100mb.txt": 100, "huge-60mb.md": 60, "huge-51mb.html": 51} if big else {"huge-51mb.txt": 51}
    for name, megabytes in over.items():
        path = w.bad(f"big/{name}", "too-large")
        with path.open("wb") as out:
            block = line * (MB // len(line) + 1)
            for _ in range(megabytes):
                out.write(block[:MB])
            out.write(b"x")  # strictly over the limit even at exactly 50 MB
    sparse = w.bad("big/sparse-80mb.txt", "too-large:sparse")
    with sparse.open("wb") as out:  # a sparse file: its size is all that is known without reading it
        out.truncate(80 * MB)

    # -- one-line files over max_document_chars (2 M characters) but under max_file_mb ---------------------
    one_line_mb = 10 if big else 3
    word_line = (b"harbour tram budget council vote " * (one_line_mb * MB // 33 + 1))[: one_line_mb * MB]
    w.bad(f"long/one-line-{one_line_mb}mb-words.txt", "one-line:words", word_line)
    w.bad(f"long/one-line-{one_line_mb}mb-words.md", "one-line:words", word_line)
    w.bad(f"long/one-line-{one_line_mb}mb-nospace.txt", "one-line:no-whitespace",
          rng.randbytes(one_line_mb * MB // 4 * 3).hex().encode()[: one_line_mb * MB])
    w.bad(f"long/one-line-{one_line_mb}mb.html", "one-line:html",
          b"<html><body><p>" + word_line + b"</p></body></html>")
    cjk_mb = max(one_line_mb, 7)  # 3 bytes a character: 7 MB is the least that is over 2 M characters
    w.bad(f"long/one-line-{cjk_mb}mb-cjk.txt", "one-line:cjk", ("東京の港" * (cjk_mb * MB // 12)).encode())

    # -- invalid UTF-8 --------------------------------------------------------------------------------------
    base = article_text("an invalid accord", "Broken bytes").encode()
    invalid = {
        "latin1": "Café au lait à Genève, façade".encode("latin-1"),
        "cp1252-quotes": "It’s “quoted” – dash".encode("cp1252"),
        "lone-continuation": b"\x80",
        "truncated-2byte": b"\xc3",
        "truncated-3byte": b"\xe2\x82",
        "truncated-4byte": b"\xf0\x9f\x98",
        "overlong-slash": b"\xc0\xaf",
        "overlong-nul": b"\xc0\x80",
        "utf8-surrogate": b"\xed\xa0\x80",
        "beyond-unicode": b"\xf4\x90\x80\x80",
        "ff-byte": b"\xff",
        "fe-byte": b"\xfe",
        "cesu8-emoji": b"\xed\xa0\xbd\xed\xb8\x80",
    }
    for i, (label, bad_bytes) in enumerate(invalid.items()):
        ext = (".txt", ".md", ".markdown")[i % 3]
        # Bad bytes at the start, in the middle, at the very end: a reader must not index the good part.
        w.bad(f"utf8/{label}-start{ext}", f"invalid-utf8:{label}", bad_bytes + base)
        w.bad(f"utf8/{label}-middle{ext}", f"invalid-utf8:{label}", base[:200] + bad_bytes + base[200:])
        w.bad(f"utf8/{label}-end{ext}", f"invalid-utf8:{label}", base + bad_bytes)

    # -- UTF-16 / UTF-32 without BOM, or broken after their BOM -----------------------------------------------
    wide = article_text("a wide accord", "Wide text")
    for codec in ("utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"):
        for ext in (".txt", ".md", ".html"):
            w.bad(f"utf16/{codec}-no-bom{ext}", "utf16-no-bom", wide.encode(codec))
    w.bad("utf16/odd-length.txt", "utf16-bom-invalid", codecs.BOM_UTF16_LE + wide.encode("utf-16-le") + b"\x41")
    w.bad("utf16/lone-surrogate.txt", "utf16-bom-invalid",
          codecs.BOM_UTF16_LE + wide.encode("utf-16-le") + b"\x00\xd8\x41\x00")
    w.bad("utf16/lone-surrogate-be.md", "utf16-bom-invalid",
          codecs.BOM_UTF16_BE + wide.encode("utf-16-be") + b"\xdc\x00\x00\x41")

    # -- PDFs: truncated, encrypted, corrupt, bombs -------------------------------------------------------
    pdf = make_pdf([[f"Page {n} of the truncated report.", "The strike went on."] for n in range(1, 6)])
    zpdf = make_pdf([[f"Compressed page {n}.", "Ships waited offshore."] for n in range(1, 6)], compress=True)
    for label, data in (("plain", pdf), ("flate", zpdf)):
        for keep in (0.02, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99):
            w.bad(f"pdf/truncated-{label}-{int(keep * 100):02d}pct.pdf", "pdf-truncated", data[: int(len(data) * keep)])
        # Cut right before the xref table and right after the last page's stream.
        w.bad(f"pdf/truncated-{label}-before-xref.pdf", "pdf-truncated", data[: data.rfind(b"xref")])
        w.bad(f"pdf/truncated-{label}-no-eof.pdf", "pdf-truncated", data[: data.rfind(b"%%EOF")])
    secret = make_pdf([["Secret memo", "Do not read."]])
    for algorithm in ("RC4-40", "RC4-128", "AES-128", "AES-256-R5", "AES-256"):
        for password in ("hunter2", "a much longer pass phrase"):
            tag = algorithm.lower() + ("-long" if " " in password else "")
            w.bad(f"pdf/encrypted-{tag}.pdf", "pdf-encrypted", encrypt_pdf(secret, password, algorithm))
    w.bad("pdf/html-renamed.pdf", "pdf-not-pdf", b"<html><body>not a pdf</body></html>")
    w.bad("pdf/header-only.pdf", "pdf-corrupt", b"%PDF-1.7\n")
    w.bad("pdf/header-then-garbage.pdf", "pdf-corrupt", b"%PDF-1.4\n" + rng.randbytes(20_000))
    w.bad("pdf/self-referencing-pages.pdf", "pdf-corrupt",
          pdf.replace(b"/Type /Pages /Kids [", b"/Type /Pages /Kids [2 0 R "))
    bomb_mb = 300 if big else 120
    w.bad(f"pdf/flate-bomb-{bomb_mb}mb.pdf", "pdf-bomb",
          make_pdf([[]], compress=True, raw_streams=[_flate_bomb_stream(bomb_mb)]))

    # -- DOCX: zip bombs and things that are not Word documents ----------------------------------------------
    for megabytes in (300, 600, 1024) if big else (210,):
        w.bad(f"docx/zip-bomb-{megabytes}mb.docx", "zip-bomb:total", zip_bomb(megabytes))
    for megabytes in (5, 20, 50):  # under the 200 MB total, over the 100:1 ratio
        w.bad(f"docx/dense-{megabytes}mb.docx", "zip-bomb:ratio", zip_bomb(megabytes))
    # Declares 1 KB, inflates to 1 GB: the declared-size checks pass; inflating must stop at the declared size.
    w.bad("docx/lying-declared-size.docx", "zip-bomb:lying-size", zip_bomb(1024 if big else 100, declared=1024))
    many = io.BytesIO()
    with zipfile.ZipFile(many, "w") as archive:
        for n in range(10_001):
            archive.writestr(f"word/m{n}.xml", b"")
    w.bad("docx/ten-thousand-members.docx", "zip-bomb:members", many.getvalue())
    nested = io.BytesIO()
    with zipfile.ZipFile(nested, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        inner = io.BytesIO()
        with zipfile.ZipFile(inner, "w", compression=zipfile.ZIP_DEFLATED) as inner_zip:
            inner_zip.writestr("zeros.bin", bytes(MB))
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/nested.zip", inner.getvalue())
    w.bad("docx/zip-in-zip.docx", "docx-invalid", nested.getvalue())
    good_docx = docx_bytes(["A paragraph that is cut short."])
    for keep in (0.1, 0.5, 0.9, 0.99):
        w.bad(f"docx/truncated-{int(keep * 100)}pct.docx", "docx-truncated", good_docx[: int(len(good_docx) * keep)])
    w.bad("docx/ole-word97.docx", "docx-invalid", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(4096))
    w.bad("docx/plain-text.docx", "docx-invalid", b"This was saved as text with a .docx name.\n")
    w.bad("docx/random.docx", "docx-invalid", rng.randbytes(8192))
    w.bad("docx/billion-laughs.docx", "docx-xml-bomb", billion_laughs_docx())

    # -- deeply nested HTML ---------------------------------------------------------------------------------
    for depth in (300, 1_000, 10_000, 100_000):
        for tag in ("div", "span", "table><tr><td"):
            label = tag.split(">")[0]
            close = "</" + "></".join(reversed(tag.split("><"))) + ">"
            page = ("<html><body><p>Intro paragraph.</p>" + f"<{tag}>" * depth + "deep text"
                    + close * depth + "</body></html>")
            w.bad(f"html/nested-{label}-{depth}.html", "html-nested", page.encode())
    for depth in (1_000, 100_000):
        w.bad(f"html/unclosed-b-{depth}.htm", "html-nested", ("<html><body>" + "<b>x" * depth).encode())
        w.bad(f"html/unclosed-div-{depth}.htm", "html-nested", ("<html><body>" + "<div>x" * depth).encode())

    # -- odd names holding bad content ---------------------------------------------------------------------
    odd_bad = {
        "odd/bad name with spaces.pdf": pdf[: len(pdf) // 2],
        "odd/ünïcödé 東京 empty.txt": b"",
        "odd/new\nline empty.md": b"",
        "odd/-rf binary.txt": b"\x00\x01\x02" * 100,
        "odd/--version.html": b"\x00" * 64,
        "odd/" + "b" * 245 + ".docx": b"not a zip",
        "odd/carriage\rreturn.txt": b"\xff\xfe\xfd",
        "odd/emoji 🚋🚋.pdf": b"%PDF-1.4\n",
    }
    for name, data in odd_bad.items():
        w.bad(name, "odd-name-bad-content", data)
    not_utf8_name = os.fsdecode(b"odd/not-utf8-\xff\xfe name.md")  # surrogate-escaped: not valid Unicode
    p = w.phrase()
    w.bad(not_utf8_name, "name-not-utf8", article_md(p, "Bad name"))

    # -- not regular files, unsupported types ---------------------------------------------------------------
    os.symlink("/etc/hostname", w.bad("links/outside.txt", "link-outside"))
    os.symlink("does-not-exist.md", w.bad("links/dangling.md", "link-dangling"))
    os.mkfifo(w.bad("links/fifo.txt", "fifo"))
    w.path("links/folder.md").mkdir()
    w.corpus.hostile.append(CorpusFile("links/folder.md/inner.doc", "unsupported"))
    w.path("links/folder.md/inner.doc").write_bytes(b"\xd0\xcf\x11\xe0")
    for name in ("unsupported/report.doc", "unsupported/notes.rtf", "unsupported/README", "unsupported/data.json"):
        w.bad(name, "unsupported", b"{}")
    return w.corpus
