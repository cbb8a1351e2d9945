"""Issue 12 in a real browser, with the default local model: the answer bubble itself names the exercise with
a citation, and the answer and the sources panel give one verdict per sentence, the same in both places."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.helpers import serve_sample_app

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.llm]

QUESTION = "What was the military exercise in Serbia called, and who took part?"


@pytest.fixture(scope="module")
def local_app_url(tmp_path_factory: pytest.TempPathFactory, embedder) -> Iterator[str]:  # noqa: ANN001
    app, service, url = serve_sample_app(tmp_path_factory.mktemp("web-local"), llm_backend="local")
    assert service.engine.answerer.backend == "local", service.notice
    yield url
    app.close()


def test_the_answer_bubble_names_platinum_wolf_with_one_verdict_per_sentence(browser, local_app_url: str) -> None:  # noqa: ANN001
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        page.goto(local_app_url)
        page.wait_for_selector("#question textarea")
        page.fill("#question textarea", QUESTION)
        page.click("#ask")
        # The local model on two shared cores: allow minutes, not seconds.
        page.wait_for_function(
            "() => document.querySelectorAll('#chatbot .answer:not(.streaming), #chatbot .refusal').length >= 1",
            timeout=300_000)
        bubble = page.locator("#chatbot .answer:not(.streaming)").first
        text = bubble.inner_text()
        assert "Platinum Wolf" in text and re.search(r"Platinum Wolf[^\[]*\[\d\]", text), text
        # One verdict per sentence: every sentence in the bubble is supported, and the panel says the same of it.
        sentences = bubble.locator(".sentence")
        assert sentences.count() >= 1
        panel = page.locator("#sources")
        for i in range(sentences.count()):
            sentence = sentences.nth(i)
            # The chat's sanitiser keeps classes, not data attributes: the verdict is the sentence's class.
            assert (sentence.get_attribute("class") or "").split() == ["sentence", "supported"]
            claim_text = re.sub(r"\s*\[\d+\]", "", sentence.inner_text()).replace("quoted from source: ", "")
            claim_text = claim_text.strip("“” ")
            claims = panel.locator("li.claim", has_text=claim_text[:40])
            assert claims.count() >= 1, claim_text
            assert {claims.nth(j).get_attribute("class") for j in range(claims.count())} == {"claim supported"}
        assert panel.locator(".badge.no").count() == 0
        # Whatever the check rejected is not in the bubble's answer but listed apart, marked.
        rejected = page.locator("#chatbot details.rejected li")
        for j in range(rejected.count()):
            assert rejected.nth(j).inner_text() not in text
    finally:
        context.close()
