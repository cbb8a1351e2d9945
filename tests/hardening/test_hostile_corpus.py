"""A hostile corpus (tests/hardening/hostile_files.py: 200+ broken, huge, mislabelled or oddly named files,
made at test time) added to an index that already holds good articles.

Asserted, for the library (`sync_corpus`) and for the `rag ingest` command in a subprocess:
* the ingest finishes (exit status 0, no traceback);
* every bad file is reported exactly once, with a one-line reason that says what is wrong with it, and the
  command prints nothing else on stderr (no parser chatter, which could not be matched to a file);
* every good file, odd names and UTF-16-with-BOM text included, is found by `HybridRetriever` by its phrase;
* articles indexed before are all still there, including one overwritten with garbage (its last good
  version is kept);
* the ingest's peak RSS, measured with wait4() on the child, stays within MEMORY_HEADROOM_MB of a clean ingest
  of only the good files, measured the same way in the same test.

Huge files, decided: over `max_file_mb` (50 MB; here a 100 MB, a 60 MB, a 51 MB and a sparse 80 MB file) they
are refused from their size before a byte is read. Under it but over `max_document_chars` (2 M characters; the
10 MB one-line files) they are read, decoded and refused as "text too long" — never truncated, since half an
article would answer questions wrongly; one is held in memory at a time (≈10 MB of bytes plus its text, tens of
MB). A one-line HTML file of 10 MB is refused as too large to parse (libxml2 stops at a 10 MB text node). A
one-line file just *under* the character limit is real text by the product's rules and is indexed:
`test_one_huge_line_under_the_limit_chunks_in_linear_time` checks that chunking it is linear in time and
bounded in memory (it used to take >10 minutes for 2 M characters without spaces); embedding its ~12,000 chunks
then costs minutes, which is the price `max_document_chars` allows and is not repeated here.
"""

from __future__ import annotations

import logging
import os
import random
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from rag.chunking import Chunker
from rag.embedding import Embedder
from rag.index import Manifest
from rag.loaders import LoadError, load_document
from rag.retrieve import HybridRetriever
from rag.settings import Settings
from rag.sync import make_chunker, sync_corpus
from tests.hardening.hostile_files import CorpusFile, HostileCorpus, make_hostile_corpus, zip_bomb
from tests.helpers import ROOT, article, write

# Peak RSS allowed above a clean ingest of the good files alone (the model, torch and Chroma dominate both,
# ≈0.9 GB). The most any hostile file may cost is what one file within the limits needs while it is parsed:
# the PDF compression bomb is inflated up to pypdf's 75 MB output limit (measured +98 MB), a 10 MB one-line
# file is ≈10 MB of bytes plus its decoded and normalised copies (measured +25 MB; +15 MB for the HTML one),
# and nothing is kept after its file is done. 256 MB covers that with margin for allocator slack, and is far
# below what a regression would cost: reading the 100 MB file (≥100 MB, ≥400 MB as text), inflating a
# zip bomb's 300 MB-1 GB member, or building a 100k-deep HTML tree.
MEMORY_HEADROOM_MB = 256

# The reason given for each kind of bad file must say what is wrong: one of these words (case-insensitive).
REASON_WORDS: dict[str, tuple[str, ...]] = {
    "binary": ("binary content", "not valid utf-8"),
    "empty": ("empty file", "no text to index"),
    "too-large": ("file too large",),
    "one-line": ("text too long", "too large to parse"),
    "invalid-utf8": ("not valid utf-8",),
    "utf16-no-bom": ("binary content (nul bytes)",),
    "utf16-bom-invalid": ("not valid utf-16",),
    "pdf-truncated": ("corrupt or truncated pdf",),
    "pdf-encrypted": ("encrypted pdf",),
    "pdf-not-pdf": ("not a pdf",),
    "pdf-corrupt": ("corrupt",),
    "pdf-bomb": ("too large to decompress",),
    "zip-bomb": ("zip bomb suspected", "not a valid docx"),
    "docx-invalid": ("not a valid docx",),
    "docx-truncated": ("not a valid docx",),
    "docx-xml-bomb": ("not a valid docx",),
    "html-nested": ("nested too deeply",),
    "odd-name-bad-content": ("binary", "empty", "pdf", "docx", "not valid utf-"),
    "name-not-utf8": ("file name is not valid utf-8",),
    "link-outside": ("outside the corpus",),
    # rag/sync.py stats the file before the loader can say "broken symbolic link" (see the report).
    "link-dangling": ("broken symbolic link", "no such file or directory"),
    "fifo": ("not a regular file",),
    "unsupported": ("unsupported file type",),
}


def printable(source: str) -> str:
    """How a log line must spell a name: control characters (newline, tab, CR) and undecodable bytes escaped,
    so that one file is one line."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in source)


def prefixed(corpus: HostileCorpus, prefix: str) -> tuple[list[CorpusFile], list[CorpusFile]]:
    def move(f: CorpusFile) -> CorpusFile:
        return CorpusFile(f"{prefix}/{f.source}", f.kind, f.phrase)

    return [move(f) for f in corpus.good], [move(f) for f in corpus.hostile]


def write_before(corpus: Path) -> dict[str, str]:
    """Articles indexed before the hostile files arrive: source → phrase."""
    topics = ["pension reform", "harbour dredging", "teacher shortages", "olive oil fraud", "metro automation"]
    phrases = {f"before/report-{n}.md": f"the Mavzan treaty on {topic}" for n, topic in enumerate(topics[:4])}
    phrases["before/overwritten.md"] = f"the Gastcor treaty on {topics[4]}"
    for source, phrase in phrases.items():
        body = (f"Ministers signed {phrase} in the port of Varnholm. The treaty sets new quotas for the northern "
                f"bay.\n\nCritics said {phrase} came too late for the fishing fleet.")
        write(corpus / source, article(f"Treaty {source}", body, "2026-02-01"))
    return phrases


def overwrite_with_garbage(corpus: Path) -> None:
    """A file indexed before becomes unreadable: the index must keep its last good version."""
    (corpus / "before/overwritten.md").write_bytes(b"\x00\x01\x02 garbage \xff" * 100)


def assert_searchable(settings: Settings, embedder: Embedder, expected: dict[str, str]) -> None:
    retriever = HybridRetriever(settings, embedder=embedder)
    missing = []
    for source, phrase in expected.items():
        hits = retriever.search(phrase, k=3)
        if source not in [h.chunk.source for h in hits]:
            missing.append((source, phrase, [h.chunk.source for h in hits]))
    assert not missing, missing


def assert_reasons_are_clear(reasons: dict[str, str], bad: list[CorpusFile]) -> None:
    unclear = []
    for f in bad:
        reason = reasons[f.source]
        words = REASON_WORDS[f.kind.split(":")[0]]
        if "\n" in reason or not any(w in reason.lower() for w in words) or "Traceback" in reason:
            unclear.append((f.source, f.kind, reason))
    assert not unclear, unclear


# --------------------------------------------------------------------------------------------- library


@pytest.mark.slow
def test_sync_skips_each_bad_file_once_and_indexes_every_good_one(make_settings, embedder: Embedder) -> None:
    settings = make_settings()
    before = write_before(settings.corpus_dir)
    first = sync_corpus(settings, embedder=embedder)
    assert (first.added, first.skipped) == (len(before), 0)

    hostile = make_hostile_corpus(settings.corpus_dir / "hostile", seed=1, big=False)
    good, bad = prefixed(hostile, "hostile")
    assert len(bad) >= 200
    overwrite_with_garbage(settings.corpus_dir)
    # A name that is not valid UTF-8 is reported with its bad bytes escaped (it must fit JSON and the UI).
    shown = {f.source.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace"): f.source for f in bad}
    expected_bad = set(shown) | {"before/overwritten.md"}

    report = sync_corpus(settings, embedder=embedder)
    reported = Counter(entry["source"] for entry in report.skipped_files)
    assert set(reported) == expected_bad, (set(reported) ^ expected_bad)
    assert max(reported.values()) == 1
    assert report.skipped == len(expected_bad)
    assert (report.added, report.deleted) == (len(good), 0)
    reasons = {shown.get(entry["source"], entry["source"]): entry["reason"] for entry in report.skipped_files}
    assert_reasons_are_clear(reasons, bad)
    assert "binary content" in reasons["before/overwritten.md"]

    # Everything good is searchable, old and new; the garbage overwrite did not remove the old version.
    assert set(Manifest.load(settings.index_dir).files) == set(before) | {f.source for f in good}
    assert_searchable(settings, embedder, {**before, **{f.source: f.phrase for f in good if f.phrase}})

    # A second run over the same folder: nothing to embed, the same files reported again, once each.
    again = sync_corpus(settings, embedder=embedder)
    assert again.chunks_embedded == 0 and again.unchanged == len(before) - 1 + len(good)
    assert Counter(entry["source"] for entry in again.skipped_files) == reported


# ------------------------------------------------------------------------------------------------- CLI


@dataclass
class IngestRun:
    returncode: int
    stdout: str
    stderr: str
    peak_rss_mb: float
    seconds: float


def run_ingest(corpus: Path, index: Path, tmp: Path) -> IngestRun:
    """`python -m rag.cli ingest --quiet` (warnings are still printed), waited for with wait4() so that
    ru_maxrss is this child's own peak, not the largest of every child the test process ever had."""
    env = {**os.environ, "RAG_CORPUS_DIR": str(corpus), "RAG_INDEX_DIR": str(index), "HF_HUB_OFFLINE": "1",
           "TRANSFORMERS_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False"}
    out, err = tmp / "stdout.txt", tmp / "stderr.txt"
    started = time.perf_counter()
    # Output goes to files, not pipes: wait4() does not drain pipes, and a full pipe would block the child.
    with out.open("wb") as stdout, err.open("wb") as stderr:
        child = subprocess.Popen([sys.executable, "-m", "rag.cli", "ingest", "--quiet"], cwd=ROOT, env=env,
                                 stdout=stdout, stderr=stderr)
        try:
            _, status, usage = os.wait4(child.pid, 0)
        finally:
            child.returncode = 0  # reaped by wait4; keeps Popen from waiting again
    seconds = time.perf_counter() - started
    # Names may hold bytes that are not UTF-8; the child writes them surrogate-escaped (C.UTF-8 locale).
    read = {"encoding": "utf-8", "errors": "surrogateescape"}
    return IngestRun(os.waitstatus_to_exitcode(status), out.read_text(**read), err.read_text(**read),
                     usage.ru_maxrss / 1024, seconds)


def skip_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("warning: skipped ")]


@pytest.mark.slow
def test_cli_ingest_prints_one_line_per_bad_file_with_bounded_memory(make_settings, embedder: Embedder,
                                                                    tmp_path: Path) -> None:
    settings = make_settings()
    corpus = settings.corpus_dir
    before = write_before(corpus)
    # The clean reference: the same good files, without the hostile ones, ingested by the same command.
    staging = make_hostile_corpus(tmp_path / "staging", seed=2, big=False)
    for f in staging.good:
        (corpus / "clean" / f.source).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(staging.root / f.source, corpus / "clean" / f.source)
    shutil.rmtree(staging.root)
    clean = run_ingest(corpus, settings.index_dir, tmp_path)
    assert clean.returncode == 0, clean.stderr
    assert clean.stderr.strip() == "", clean.stderr

    hostile = make_hostile_corpus(corpus / "hostile", seed=3, big=True)
    good, bad = prefixed(hostile, "hostile")
    overwrite_with_garbage(corpus)
    bad_sources = [f.source for f in bad] + ["before/overwritten.md"]
    run = run_ingest(corpus, settings.index_dir, tmp_path)
    print(f"\nclean ingest: {clean.seconds:.1f} s, peak RSS {clean.peak_rss_mb:.0f} MB; hostile ingest "
          f"({len(bad)} bad, {len(good)} good files): {run.seconds:.1f} s, peak RSS {run.peak_rss_mb:.0f} MB")

    assert run.returncode == 0, run.stderr[-3000:]
    assert "Traceback" not in run.stderr
    # Exactly one line per bad file, naming it (escaped: a name with a newline is still one line), and
    # nothing else: no parser warnings that belong to no file, no summary (--quiet).
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    warnings = skip_lines(run.stderr)
    assert lines == warnings, [line for line in lines if line not in warnings][:10]
    assert len(warnings) == len(bad_sources)
    for source in bad_sources:
        prefix = f"warning: skipped {printable(source)}: "
        assert sum(line.startswith(prefix) for line in warnings) == 1, (source, prefix)
    reasons = {}
    for f in bad:
        line = next(line for line in warnings if line.startswith(f"warning: skipped {printable(f.source)}: "))
        reasons[f.source] = line.removeprefix(f"warning: skipped {printable(f.source)}: ")
    assert_reasons_are_clear(reasons, bad)
    assert "kept its previously indexed version" in next(line for line in warnings if "before/overwritten" in line)
    assert not any(printable(f.source) + ":" in line for f in good for line in warnings)

    expected = {**before, **{f.source: f.phrase for f in good if f.phrase}}
    assert set(Manifest.load(settings.index_dir).files) >= set(expected)
    assert_searchable(settings, embedder, expected)

    assert run.peak_rss_mb <= clean.peak_rss_mb + MEMORY_HEADROOM_MB, (run.peak_rss_mb, clean.peak_rss_mb)


# ----------------------------------------------------------------------------------- huge but in limits


def status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"{field} not in /proc/self/status")


def reset_peak_rss_mb() -> float:
    """Reset this process's peak RSS (VmHWM) to its current RSS, so that the peak measures this test alone
    rather than the largest moment of the whole pytest session. Returns the current RSS."""
    Path("/proc/self/clear_refs").write_text("5")
    return status_mb("VmRSS")


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["hex", "cjk"])
def test_one_huge_line_under_the_limit_chunks_in_linear_time(kind: str, embedder: Embedder, tmp_path: Path,
                                                             make_settings) -> None:
    """~1.9 M characters on one line, no separator the splitter knows (a hex blob; Japanese has no spaces):
    split character by character. Loading and chunking must take seconds and bounded memory."""
    settings = make_settings()
    rng = random.Random(0)
    # Not periodic: in a repeating text every chunk also matches at an earlier offset (see the report).
    kana = [chr(c) for c in range(0x3041, 0x3097)] + list("東京港会議市長選挙経済")
    text = rng.randbytes(950_000).hex() if kind == "hex" else "".join(rng.choices(kana, k=1_900_000))
    assert len(text) < settings.max_document_chars
    path = settings.corpus_dir / f"one-line-{kind}.txt"
    path.write_text(text, encoding="utf-8")
    chunker: Chunker = make_chunker(settings, embedder)
    rss_before = reset_peak_rss_mb()
    started = time.perf_counter()
    document = load_document(path, settings.corpus_dir, max_bytes=int(settings.max_file_mb * 1024 * 1024),
                             max_chars=settings.max_document_chars)
    chunks = chunker.split(document)
    seconds = time.perf_counter() - started
    grown = status_mb("VmHWM") - rss_before
    # Measured ≈5-7 s on 2 busy cores (was ≈40 s per 100,000 characters, i.e. >10 min here, before the
    # chunker memoised the token counts of short pieces).
    assert seconds < 60, seconds
    assert grown < 400, grown  # the text (≤4 bytes a character), its chunks, the token-count cache
    # Nothing lost or truncated: the chunks cover the text, in order, within the model window.
    assert chunks[0].start == 0 and chunks[-1].end == len(document.text)
    assert all(b.start <= a.end for a, b in zip(chunks, chunks[1:], strict=False))
    assert max(embedder.count_tokens(chunker.embedded_text(c)) for c in chunks[:: max(1, len(chunks) // 50)]) \
        <= embedder.max_tokens - 2
    if kind == "hex":
        assert re.fullmatch(r"[0-9a-f]+", chunks[1].text)


# ------------------------------------------------------------------------- the loader fixes, one by one
# Fast checks of what the hostile corpus found (each failed before rag/loaders.py was fixed).

LIMITS = {"max_bytes": 50 * 1024 * 1024, "max_chars": 2_000_000}


def load_error(path: Path, root: Path) -> str:
    with pytest.raises(LoadError) as info:
        load_document(path, root, **LIMITS)
    return str(info.value)


def test_docx_lying_about_its_size_is_refused_without_inflating_it(tmp_path: Path) -> None:
    """Declares 1 KB, inflates to 1 GB: used to take 2 GB of memory and 20 s before failing."""
    path = tmp_path / "lying.docx"
    path.write_bytes(zip_bomb(1024, declared=1024))
    reset_peak_rss_mb()
    rss = status_mb("VmRSS")
    started = time.perf_counter()
    assert "word/document.xml is corrupt" in load_error(path, tmp_path)
    assert time.perf_counter() - started < 5
    assert status_mb("VmHWM") - rss < 100


def test_file_name_that_is_not_utf8_is_refused_not_fatal(tmp_path: Path) -> None:
    """Used to pass the loader and crash the whole ingest in the chunker (UnicodeEncodeError)."""
    path = tmp_path / os.fsdecode(b"caf\xe9.md")
    path.write_text("A perfectly good article about the harbour.", encoding="utf-8")
    assert load_error(path, tmp_path) == "file name is not valid UTF-8 (rename the file)"


@pytest.mark.parametrize("name", ["noise.html", "noise.txt"])
def test_binary_without_nul_bytes_is_refused(tmp_path: Path, name: str) -> None:
    """High bytes and control characters: an .html used to be decoded as cp1252 and indexed as garbage; ASCII
    control bytes are valid UTF-8, so a .txt of them was indexed too."""
    rng = random.Random(5)
    noise = bytes(rng.choice(list(range(1, 9)) + list(range(14, 32)) + list(range(0x41, 0x5b))) for _ in range(4096))
    if name.endswith(".html"):
        noise = bytes(rng.choice(range(0x80, 0x100)) for _ in range(2048)) + noise
    (tmp_path / name).write_bytes(noise)
    assert "binary content (control bytes)" in load_error(tmp_path / name, tmp_path)


def test_text_with_a_few_control_characters_still_loads(tmp_path: Path) -> None:
    text = "Minutes of the council.\x0b Item one: the harbour.\x1a\n" * 40 + "\x07\x08 stray bytes"
    (tmp_path / "old.txt").write_text(text, encoding="utf-8")
    assert "Item one" in load_document(tmp_path / "old.txt", tmp_path, **LIMITS).text


def test_huge_html_is_refused_for_its_size_quickly(tmp_path: Path) -> None:
    """A 10 MB paragraph: libxml2's limit, which was reported as 'nested too deeply'; 5 MB: refused before
    trafilatura spends ~10 s on it."""
    words = b"harbour tram budget council vote " * (10 * 1024 * 1024 // 33)
    (tmp_path / "ten.html").write_bytes(b"<html><body><p>" + words + b"</p></body></html>")
    assert load_error(tmp_path / "ten.html", tmp_path).startswith("HTML too large to parse")
    (tmp_path / "five.html").write_bytes(b"<html><body><p>" + words[: 5 * 1024 * 1024] + b"</p></body></html>")
    started = time.perf_counter()
    assert load_error(tmp_path / "five.html", tmp_path).startswith("text too long (5,")
    assert time.perf_counter() - started < 3


def test_pdf_compression_bomb_is_named_as_such(tmp_path: Path) -> None:
    from tests.hardening.hostile_files import _flate_bomb_stream
    from tests.helpers import make_pdf

    (tmp_path / "bomb.pdf").write_bytes(make_pdf([[]], compress=True, raw_streams=[_flate_bomb_stream(100)]))
    assert load_error(tmp_path / "bomb.pdf", tmp_path) == "PDF page 1 too large to decompress (compression bomb?)"


def test_parsers_do_not_log_about_the_files_they_refuse(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """pypdf ("EOF marker not found") and trafilatura ("empty HTML tree") logged a line of their own per bad
    file, which the CLI printed next to the one-line reason, naming no file."""
    from tests.helpers import make_pdf

    pdf = make_pdf([["Cut short."]])
    (tmp_path / "cut.pdf").write_bytes(pdf[: len(pdf) // 2])
    (tmp_path / "empty.html").write_bytes(b"<html><head><script>x=1</script></head><body></body></html>")
    with caplog.at_level(logging.WARNING):
        for name in ("cut.pdf", "empty.html"):
            load_error(tmp_path / name, tmp_path)
    assert [r for r in caplog.records if not r.name.startswith("rag")] == []
