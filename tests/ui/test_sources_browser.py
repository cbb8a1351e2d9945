"""The sources panel, the refusal sign and the Corpus table in a real browser (Debian chromium, which has no
colour-emoji font). Constructed model output (tests/helpers.FixedAnswerer) through the real engine, index and
citation check; the subject is the page, not the model."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from rag.answer.factory import make_engine
from tests.helpers import FixedAnswerer, ask, serve_sample_app

pytestmark = [pytest.mark.slow, pytest.mark.browser]

FIRST = "The technology company Nexaline will cut 1,400 jobs, about 12 percent of its workforce [1]."
SECOND = "Most of the cuts will fall on the company's hardware division in Aldora City [1]."
SHOTS = Path(os.environ.get("RAG_TEST_SHOTS", "/tmp"))


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory, embedder) -> Iterator[str]:  # noqa: ANN001
    app, service, url = serve_sample_app(tmp_path_factory.mktemp("web-sources"), llm_backend="extractive")
    service.engine = make_engine(
        service.settings.model_copy(update={"llm_backend": "local", "answer_repair": "drop"}),
        embedder=service.embedder, answerer=FixedAnswerer(f"{FIRST} {SECOND}"))
    yield url
    app.close()


def test_a_txt_card_marks_both_cited_sentences_and_shows_headline_and_file_once(page, tmp_path: Path) -> None:  # noqa: ANN001
    text = ask(page, "How many jobs will Nexaline cut?", 1)
    assert "1,400 jobs" in text and "hardware division" in text
    cards = page.locator("#sources .source")
    assert cards.count() == 1
    card = cards.first.inner_text()
    assert card.count("nexaline-layoffs.txt") == 1, card
    assert card.count("Nexaline to cut 1,400 jobs as smartphone sales fall") == 1, card
    marks = [m.inner_text() for m in cards.first.locator("mark").all()]
    assert len(marks) == 2 and "1,400 jobs" in marks[0] and "hardware division" in marks[1], marks
    page.screenshot(path=str(tmp_path / "sources.png"))


def test_the_refusal_sign_renders_without_an_emoji_font(page) -> None:  # noqa: ANN001
    ask(page, "Who won the football world cup in 2022?", 1)
    sign = page.locator("#chatbot .refusal .no-entry").first
    box = sign.bounding_box()
    assert box is not None and box["width"] >= 8 and box["height"] >= 8
    # What a glyph the fonts lack looks like here (an empty box): the sign must not look like it.
    page.evaluate("""() => { const s = document.createElement('span'); s.id = 'tofu';
        s.style.cssText = 'position:fixed;left:10px;top:10px;font-size:16px;color:#9a3412;background:#fff';
        s.textContent = '\\u{1F6AB}'; document.body.appendChild(s); }""")
    sign.screenshot(path=str(SHOTS / "uxfix-no-entry.png"))
    page.locator("#tofu").screenshot(path=str(SHOTS / "uxfix-tofu.png"))
    drawn = sign.screenshot()
    assert drawn != page.locator("#tofu").screenshot()
    assert len(set(drawn)) > 50, "the sign is not blank"


def test_the_corpus_table_shows_every_column_at_1400_px(page) -> None:  # noqa: ANN001
    page.get_by_role("tab", name="Corpus").click()
    page.wait_for_function("() => document.querySelector('#documents').innerText.includes('nexaline')",
                           timeout=30_000)
    page.screenshot(path=str(SHOTS / "uxfix-corpus.png"), full_page=True)
    table = page.locator("#documents").bounding_box()
    assert table is not None
    for name in ("file", "title", "date", "chunks"):
        header = page.locator("#documents thead th", has_text=name).first
        box = header.bounding_box()
        assert box is not None and box["x"] >= table["x"] and box["x"] + box["width"] <= table["x"] + table["width"] + 1, \
            (name, box, table)
