"""What the answer leaves out, in a real browser: verified sentences that tell nothing (a restatement of the
question, sentences past the answer's first ones) are not in the answer bubble's answer but summed up after it in
one collapsed line. Constructed model output (tests/helpers.FixedAnswerer) through the real engine, index and
citation check; the subject is the chat, not the model."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from rag.answer.factory import make_engine
from tests.helpers import FixedAnswerer, ask, serve_sample_app

pytestmark = [pytest.mark.slow, pytest.mark.browser]

QUESTION = "Who is the press secretary of the Russian President?"
RESTATED = "The press secretary of the Russian President [1]."
ANSWER = "This perspective was conveyed by the press secretary of the Russian President, Dmitry Peskov [1]."
ASIDE = "Peskov pointed out that there is political pressure on Belgrade from multiple directions [1]."


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory, embedder) -> Iterator[str]:  # noqa: ANN001
    app, service, url = serve_sample_app(tmp_path_factory.mktemp("web-omitted"), llm_backend="extractive")
    # The app's engine, answering with a fixed model text: one answer, one restatement, one past the first sentence.
    service.engine = make_engine(
        service.settings.model_copy(update={"llm_backend": "local", "answer_repair": "drop",
                                            "answer_max_sentences": 1}),
        embedder=service.embedder, answerer=FixedAnswerer(f"{RESTATED} {ANSWER} {ASIDE}"))
    yield url
    app.close()


def test_what_was_left_out_is_one_collapsed_line_after_the_answer(browser, app_url: str) -> None:  # noqa: ANN001
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        page.goto(app_url)
        page.wait_for_selector("#question textarea")
        text = ask(page, QUESTION, 1)
        assert "Dmitry Peskov" in text and "political pressure" not in text
        # The bubble: the answer, then the line that sums up what was left out, closed.
        answer = page.locator("#chatbot .answer:not(.streaming)").first
        left_out = answer.locator("xpath=following-sibling::details[contains(@class, 'omitted')]")
        assert left_out.count() == 1 and left_out.get_attribute("open") is None
        summary = left_out.locator("summary").inner_text()
        assert summary == "2 sentences left out: restates the question; past the answer's first sentence"
        assert not left_out.locator("li").first.is_visible()  # collapsed: the sentences show only when opened
        assert re.sub(r"\s*\[\d+\]", "", answer.inner_text()).count("press secretary") == 1
        left_out.locator("summary").click()
        items = [left_out.locator("li").nth(i).inner_text() for i in range(left_out.locator("li").count())]
        assert [i.split(" (")[-1] for i in items] == ["restates the question)", "past the answer's first sentence)"]
        assert "political pressure on Belgrade" in items[1]
    finally:
        context.close()
