"""What tests import: paths, small file writers, index snapshots, PDF files and the browser's settings.
(Fixtures are in tests/conftest.py; real servers in tests/servers.py.)"""

from __future__ import annotations

import io
import json
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from rag.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_CORPUS = ROOT / "evals" / "sample" / "corpus"
SAMPLE_QUESTIONS = ROOT / "evals" / "sample" / "questions.jsonl"
INJECTION_DIR = ROOT / "tests" / "fixtures" / "injection"
FIRST_PARTY = ("rag", "ui", "evals", "bench", "tests")
# ui/ and evals/ are installed inside the rag package (rag/ui and rag/evals link to them): that is their name.
INSTALLED_AS = {"ui": "rag.ui", "evals": "rag.evals"}


def first_party_files() -> dict[str, Path]:
    """Module name → file, for every .py file of the first-party folders."""
    modules = {}
    for path in sorted(f for top in FIRST_PARTY for f in (ROOT / top).rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        parts[0] = INSTALLED_AS.get(parts[0], parts[0])
        modules[".".join(parts)] = path
    return modules


def injection_rows() -> list[dict[str, Any]]:
    text = (INJECTION_DIR / "questions.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def article(title: str, body: str, date: str | None = None) -> str:
    front = [f"title: {title!r}"] + ([f"date: {date}"] if date else [])
    return "---\n" + "\n".join(front) + "\n---\n\n" + body + "\n"


def index_snapshot(settings: Settings) -> dict[str, tuple[str, dict[str, Any], np.ndarray]]:
    """Everything Chroma holds for the collection: id → (text, metadata, vector)."""
    from rag.index import CHROMA_MAX_BATCH, open_collection

    collection = open_collection(settings)
    out: dict[str, tuple[str, dict[str, Any], np.ndarray]] = {}
    offset = 0
    while True:
        page = collection.get(include=["documents", "metadatas", "embeddings"], limit=CHROMA_MAX_BATCH, offset=offset)
        for cid, doc, meta, vec in zip(page["ids"], page["documents"], page["metadatas"], page["embeddings"],
                                       strict=True):
            out[cid] = (doc, meta, np.asarray(vec))
        if len(page["ids"]) < CHROMA_MAX_BATCH:
            return out
        offset += CHROMA_MAX_BATCH


def assert_same_index(a: Settings, b: Settings) -> None:
    """Same chunk set (ids, texts, metadata) and the same vectors up to float noise."""
    snap_a, snap_b = index_snapshot(a), index_snapshot(b)
    assert sorted(snap_a) == sorted(snap_b)
    for cid, (doc, meta, vec) in snap_a.items():
        doc_b, meta_b, vec_b = snap_b[cid]
        assert doc == doc_b
        assert meta == meta_b
        # The default runtime computes in bf16: one chunk embedded in batches of different shapes differs by up
        # to ~1e-3 per component (cosine > 0.99999), as in a clean build vs an incremental one.
        assert np.allclose(vec, vec_b, atol=2e-3)
        assert float(np.dot(vec, vec_b)) > 0.9999


# ------------------------------------------------------------------------------------------------------ PDF


def _pdf_string(text: str) -> bytes:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)").encode("latin-1")


def make_pdf(pages: list[list[str]], *, info: dict[str, str] | None = None, compress: bool = False,
             raw_streams: list[bytes] | None = None) -> bytes:
    """A valid PDF written by hand: one page per list of lines, Helvetica, with an optional /Info dictionary.
    `raw_streams` replaces the pages' content streams (already Flate-compressed when `compress`)."""
    streams = raw_streams or [
        b"\n".join([b"BT", b"/F1 12 Tf", b"14 TL", b"72 720 Td",
                    *(b"(" + _pdf_string(line) + b") Tj T*" for line in lines), b"ET"])
        for lines in pages
    ]
    n = len(streams)
    kids = b" ".join(b"%d 0 R" % (4 + 2 * i) for i in range(n))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % n,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for i, stream in enumerate(streams):
        body = stream if (raw_streams and compress) else (zlib.compress(stream) if compress else stream)
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >>"
                       b" /Contents %d 0 R >>" % (5 + 2 * i))
        flt = b" /Filter /FlateDecode" if compress else b""
        objects.append(b"<< /Length %d%s >>\nstream\n" % (len(body), flt) + body + b"\nendstream")
    if info:
        objects.append(b"<< " + b" ".join(b"/" + k.encode() + b" (" + _pdf_string(v) + b")" for k, v in info.items())
                       + b" >>")
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    info_ref = b" /Info %d 0 R" % len(objects) if info else b""
    out += b"trailer\n<< /Size %d /Root 1 0 R%s >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, info_ref, xref)
    return bytes(out)


def encrypt_pdf(data: bytes, user_password: str, algorithm: str = "AES-128") -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt(user_password=user_password, owner_password="owner-secret", algorithm=algorithm)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


# -------------------------------------------------------------------------------------------------- browser

# Debian's chromium, driven by playwright (tests/ui/).
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run"]


def serve_sample_app(base: Path, **overrides: Any) -> tuple[Any, Any, str]:
    """The web chat in this process over a copy of the sample corpus in `base`, on a free port, no watcher:
    (app, service, url). `overrides` are Settings fields (llm_backend, …)."""
    import shutil

    from rag.settings import get_settings
    from rag.ui.app import serve
    from tests.servers import free_port

    shutil.copytree(SAMPLE_CORPUS, base / "corpus")
    settings = get_settings(corpus_dir=base / "corpus", index_dir=base / "index", port=free_port(),
                            **{"watch": False, **overrides})
    app, service = serve(settings, block=False, quiet=True)
    return app, service, f"http://127.0.0.1:{settings.port}/"


def open_chat(browser, url: str):  # noqa: ANN001, ANN201
    """A page on the web chat at 1400 x 1000, once the question box is there: a generator for a fixture to
    yield from (the context is closed after the test)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(url)
    page.wait_for_selector("#question textarea")
    yield page
    context.close()


def ask(page, question: str, expect_answers: int) -> str:  # noqa: ANN001
    page.fill("#question textarea", question)
    page.click("#ask")
    # The final render replaces the streaming cursor; wait for the n-th finished answer.
    page.wait_for_function(
        "n => document.querySelectorAll('#chatbot .answer:not(.streaming), #chatbot .refusal').length >= n",
        arg=expect_answers, timeout=60_000)
    return page.locator("#chatbot .answer:not(.streaming), #chatbot .refusal").nth(expect_answers - 1).inner_text()


# ------------------------------------------------------------------ dated news (tests of rag/timewindow.py)

# Four different articles about floods of the Orrin (distinct texts: not copies of one story).
FLOODS = {
    "flood-2023-05-02.md": ("Orrin valley flood", "2023-05-02",
                            "Heavy rain flooded the Orrin valley on Monday. The Orrin flood forced 120 families from "
                            "their homes in Varnholm, and the council opened two shelters in school halls."),
    "flood-2023-05-20.md": ("Second Orrin flood in a month", "2023-05-20",
                            "A second storm sent the Orrin over its banks on Friday night. This time the flood forced "
                            "340 families out of their houses, emergency services said, twice as many as in May's "
                            "first flood, and the army brought boats to the lower town."),
    "flood-2022-04-01.md": ("Spring thaw floods Orrin farms", "2022-04-01",
                            "Melting snow raised the Orrin river last spring and flooded farms near Dunmore. About 80 "
                            "families had to leave their homes for a week while pumps drained the fields."),
    "flood-undated.md": ("A history of Orrin floods", None,
                         "The Orrin has flooded often in the last century. Records kept by the town archive tell of "
                         "55 families forced from their homes in the great flood, and of the dam built after it."),
}
# One wire story in three outlets (syndicated copies), and an updated version of it a day later.
WIRE = ("The Kessel mining company agreed to raise wages by six percent after a three-week strike, union leaders "
        "said on Tuesday. The agreement covers 4,000 miners at the Kessel and Dunmore pits. Production is "
        "expected to resume on Monday, the company said, after the union members vote on the deal this weekend. "
        "The strike had halted exports of copper from the port of Varnholm for the first time in a decade.")


# A week of news as of Monday 30 November 2026 (tests of time-only questions: "What happened this week?"), with
# undated articles whose words match such a question better than any dated one's.
WEEK_AS_OF = "2026-11-30"
WEEK = {
    "serbia-exercise.md": ("Platinum Wolf exercise ends in Serbia", "2026-11-28",
                           "Serbian and American troops ended the Platinum Wolf joint exercise near Nis on Saturday "
                           "after two weeks of drills. About 600 soldiers from eight countries took part."),
    "zoo-pandas.md": ("Twin red pandas born at Varnholm zoo", "2026-11-27",
                      "Two red panda cubs were born at the Varnholm zoo on Friday, the first twins in its history. "
                      "Keepers said both cubs are healthy and will stay out of sight until spring."),
    "library-hours.md": ("Varnholm library extends its opening hours", "2026-11-25",
                         "The Varnholm city library will open until 10 p.m. on weekdays from January. The change "
                         "costs 40,000 euros a year, the council said on Wednesday."),
    "port-strike.md": ("Dockworkers at Port Halvik end nine-day strike", "2026-11-24",
                       "Dockworkers at Port Halvik returned to work on Tuesday after accepting a 6.5 percent pay rise. "
                       "The nine-day strike had left forty ships waiting at anchor."),
    "bridge-opening.md": ("Tessa bridge opens to traffic", "2026-11-20",
                          "The new Tessa bridge over the Orrin opened to traffic on Friday after three years of "
                          "building. It cost 120 million euros."),
    "news-guide.md": ("How to follow the main news stories", None,
                      "What happened this week? The main news stories of the last few days are easy to miss. This "
                      "guide explains how to follow the news stories that matter every week."),
    "weekly-quiz.md": ("The week in news: quiz", None,
                       "Test what you know about the main news stories of the week. Were you following the news in "
                       "the last few days? Ten questions about what happened this week."),
}


class FixedAnswerer:
    """An answerer that streams a fixed text word by word, whatever the question: constructed model outputs for
    tests whose subject is the answer policy, not the model."""

    backend = "local"
    model = "fixed text (test)"

    def __init__(self, text: str) -> None:
        self.text = text

    def stream(self, question: str, passages: list, texts: list[str] | None = None) -> Any:
        import re

        yield from re.findall(r"\S+\s*", self.text)

    def rewrite(self, question: str, history: list) -> str | None:
        return None
