"""The Corpus tab in a real browser: uploads are checked before they are saved (a file the ingest would skip is
refused with one line and never reaches corpus/), metadata warnings are shown with the upload, and files in the
folder that the ingest skips are listed once under the documents table, not in every later upload's status."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import article, make_pdf, open_chat, serve_sample_app, write

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, embedder) -> Iterator:  # noqa: ANN001
    app, service, url = serve_sample_app(tmp_path_factory.mktemp("web-corpus"), llm_backend="extractive")
    yield service, url
    app.close()


@pytest.fixture
def page(browser, served):  # noqa: ANN001, ANN201
    for page in open_chat(browser, served[1]):
        page.get_by_role("tab", name="Corpus").click()
        yield page


def upload(page, paths: list[Path], first_line: str) -> str:  # noqa: ANN001
    """Upload `paths` with the Add button; the status once it opens with `first_line` and the sync has reported."""
    page.locator("#upload input[type=file]").set_input_files([str(p) for p in paths])
    page.click("#add")
    page.wait_for_function("first => { const now = document.querySelector('#corpus-status').innerText.trim(); "
                           "return now.startsWith(first) && now.includes('in index'); }", arg=first_line,
                           timeout=60_000)
    return page.inner_text("#corpus-status").strip()


def test_bad_uploads_are_refused_before_saving_and_warnings_are_shown(page, served, tmp_path: Path) -> None:  # noqa: ANN001
    service, _ = served
    corpus = service.settings.corpus_dir
    pdf = make_pdf([["Harbour crane collapse injures two", "A crane collapsed at the Varn harbour."]])
    bad = {
        "binary.txt": b"abc\x00def",
        "latin1.txt": "Caf\u00e9 cr\u00e8me prices rose.".encode("latin-1"),
        "broken.pdf": pdf[: len(pdf) // 3],
        "fake.docx": b"this is not a zip archive",
    }
    for name, data in bad.items():
        (tmp_path / name).write_bytes(data)
    good = write(tmp_path / "tram depot.md", article("Tram depot opens", "The new tram depot in Varnholm opened on "
                                                      "Monday with room for 40 trams.", "2026-11-02"))
    bad_date = write(tmp_path / "bad-date.md", "---\ntitle: Ferry timetable\ndate: 2026-13-45\n---\n\n"
                                               "The winter ferry timetable starts in December.\n")
    bad_yaml = write(tmp_path / "bad-yaml.md", '---\ntitle: "Unclosed quote\n---\n# Bridge tolls\n\n'
                                               "Bridge tolls rise by ten percent next year.\n")
    status = upload(page, [*(tmp_path / n for n in bad), good, bad_date, bad_yaml], "✖ binary.txt: ")
    lines = status.splitlines()
    for name in bad:
        assert not (corpus / name).exists(), f"{name} must not be saved"
        mine = [line for line in lines if name in line]
        assert len(mine) == 1 and mine[0].startswith(f"✖ {name}: "), mine
    assert "✖ broken.pdf: corrupt or truncated PDF" in status and "✖ fake.docx: not a valid DOCX" in status
    assert "✔ tram depot.md" in lines and (corpus / "tram depot.md").exists()
    assert "✔ bad-date.md" in lines and "⚠ bad-date.md: unreadable date '2026-13-45': indexed without a date" in lines
    assert "✔ bad-yaml.md" in lines
    assert [line for line in lines if line.startswith("⚠ bad-yaml.md: front matter is not valid YAML")]
    documents = page.inner_text("#documents")
    assert "tram depot.md" in documents and "bad-yaml.md" in documents and "bad-date.md" in documents

    # A broken new version of an indexed file is refused, not saved beside it as "tram depot (2).md".
    broken = tmp_path / "again" / "tram depot.md"
    broken.parent.mkdir()
    broken.write_bytes(b"\x00\x01\x02")
    status = upload(page, [broken], "✖ tram depot.md: binary content")
    assert not (corpus / "tram depot (2).md").exists()


def test_files_the_ingest_skips_are_listed_once_and_can_be_deleted(page, served, tmp_path: Path) -> None:  # noqa: ANN001
    service, _ = served
    (service.settings.corpus_dir / "dropped.txt").write_bytes(b"\x00binary junk")
    first = upload(page, [write(tmp_path / "one.md", article("Library hours", "The library opens at nine.",
                                                            "2026-10-01"))], "✔ one.md")
    assert "dropped.txt" not in first, "only this upload's files are reported in its status"
    page.wait_for_function("() => document.querySelector('#not-indexed').innerText.includes('dropped.txt')",
                           timeout=10_000)
    listed = page.inner_text("#not-indexed")
    assert "Not indexed" in listed and "dropped.txt: binary content (NUL bytes)" in listed
    second = upload(page, [write(tmp_path / "two.md", article("Pool hours", "The pool opens at seven.",
                                                             "2026-10-02"))], "✔ two.md")
    assert "dropped.txt" not in second
    # It can be removed from the page.
    page.get_by_label("Document").fill("dropped.txt")
    page.keyboard.press("Enter")
    page.click("#delete")
    page.wait_for_function("() => document.querySelector('#corpus-status').innerText.startsWith('Deleted')",
                           timeout=60_000)
    assert not (service.settings.corpus_dir / "dropped.txt").exists()
    page.wait_for_function("() => !document.querySelector('#not-indexed').innerText.includes('dropped.txt')",
                           timeout=10_000)
