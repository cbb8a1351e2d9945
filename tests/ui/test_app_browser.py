"""The web chat in a real browser: Debian chromium driven by playwright, against the app on 127.0.0.1."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from rag.settings import Settings, get_settings
from tests.helpers import ROOT, SAMPLE_CORPUS, article, ask, write
from tests.servers import free_port

pytestmark = [pytest.mark.slow, pytest.mark.browser]



@pytest.fixture(scope="module")
def app_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    base = tmp_path_factory.mktemp("web")
    shutil.copytree(SAMPLE_CORPUS, base / "corpus")
    return get_settings(corpus_dir=base / "corpus", index_dir=base / "index", llm_backend="extractive",
                        port=free_port())


@pytest.fixture(scope="module")
def app_url(app_settings: Settings, embedder) -> Iterator[str]:  # noqa: ANN001
    from rag.ui.app import serve

    app, service = serve(app_settings, block=False, quiet=True)
    yield f"http://127.0.0.1:{app_settings.port}/"
    if service.watcher:
        service.watcher.stop()
    app.close()


def test_question_gets_a_cited_answer_with_sources_then_a_follow_up(page, tmp_path: Path) -> None:  # noqa: ANN001
    text = ask(page, "How long did the Platinum Wolf exercise last?", 1)
    assert "[1]" in text
    sources = page.inner_text("#sources")
    assert "Peskov: Russia understands Serbia" in sources and "serbia-nato-russia-platinum-wolf.md" in sources
    assert page.locator("#sources mark").count() >= 1, "the supporting sentence is highlighted"
    link = page.locator("#chatbot a.cite").first
    assert link.get_attribute("href") == "#cite-1"
    # README's screenshot is refreshed on request only, so a test run leaves the work tree clean.
    shot = ROOT / "docs" / "screenshot.png" if os.environ.get("RAG_UPDATE_SCREENSHOT") else tmp_path / "shot.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000

    ask(page, "Who won the Harbour Chess Open?", 2)
    follow = ask(page, "How old is she?", 3)
    assert "sixteen" in follow
    assert "harbour-chess-open.md" in page.inner_text("#sources")

    page.click("#new-chat")
    page.wait_for_function("() => document.querySelectorAll('#chatbot .answer').length === 0")


def test_refusal_looks_like_a_refusal(page) -> None:  # noqa: ANN001
    text = ask(page, "Who won the football world cup in 2022?", 1)
    assert "couldn't find that in the corpus" in text
    assert "Closest sources" in page.inner_text("#sources")


def test_upload_through_the_page_then_answer_from_it(page, tmp_path: Path, app_settings: Settings) -> None:  # noqa: ANN001
    upload = write(tmp_path / "lighthouse restored.md", article(
        "Brenna lighthouse restored", "The Brenna lighthouse was restored by the mason Oskar Vint in 2026. "
        "Its new lamp can be seen 31 kilometres out at sea.", "2026-08-01"))
    rejected = write(tmp_path / "payload.exe", "MZ not an article")
    page.get_by_role("tab", name="Corpus").click()
    page.locator("#upload input[type=file]").set_input_files([str(upload), str(rejected)])
    page.click("#add")
    page.wait_for_function("() => document.querySelector('#corpus-status').innerText.includes('added')",
                           timeout=60_000)
    status = page.inner_text("#corpus-status")
    assert "lighthouse restored.md" in status
    # The page's file picker filters types; the server refuses them too (tests/rag/test_corpus.py).
    assert not (app_settings.corpus_dir / "payload.exe").exists()
    assert "lighthouse restored.md" in page.inner_text("#documents")
    page.get_by_role("tab", name="Chat").click()
    text = ask(page, "How far out at sea can the Brenna lighthouse lamp be seen?", 1)
    assert "31 kilometres" in text


def test_files_dropped_on_disk_are_picked_up_and_removed_without_restart(page, app_settings: Settings) -> None:  # noqa: ANN001
    path = write(app_settings.corpus_dir / "ferry.md", article(
        "Night ferry to Kessel resumes", "The night ferry between Varnholm and Kessel resumed on Friday with the "
        "ship Aurora Borea, which carries 640 passengers.", "2026-09-01"))
    deadline = time.time() + 30
    hits = []
    from rag.retrieve import HybridRetriever

    retriever = HybridRetriever(app_settings)
    while time.time() < deadline:
        hits = retriever.search("Aurora Borea night ferry", k=1)
        if hits and hits[0].chunk.source == "ferry.md":
            break
        time.sleep(0.5)
    text = ask(page, "How many passengers does the Aurora Borea carry?", 1)
    assert "640" in text
    path.unlink()
    deadline = time.time() + 30
    while time.time() < deadline and any(h.chunk.source == "ferry.md" for h in retriever.search("Aurora Borea", k=3)):
        time.sleep(0.5)
    text = ask(page, "How many passengers does the Aurora Borea carry?", 2)
    assert "640" not in text


def test_article_markup_is_shown_as_text_never_run(page, app_settings: Settings) -> None:  # noqa: ANN001
    from rag.sync import sync_corpus

    write(app_settings.corpus_dir / "xss.md", article(
        "Bakery <b>opens</b> on Elm Street", "The Elm Street bakery opened with 12 kinds of bread. "
        "<script>window.__pwned = 1</script><img src=x onerror=\"window.__pwned = 2\"> "
        "Its owner is Petra Lark.", "2026-06-01"))
    sync_corpus(app_settings)
    page.on("dialog", lambda d: d.dismiss())
    ask(page, "How many kinds of bread does the Elm Street bakery sell?", 1)
    page.get_by_text("All retrieved passages").click()
    page.wait_for_selector("#retrieved .hit")
    html = page.inner_html("#sources") + page.inner_html("#retrieved")
    assert "<script" not in html and "<img" not in html and "<b>opens" not in html
    assert page.evaluate("() => window.__pwned === undefined")
    assert "&lt;b&gt;opens" in page.inner_html("#sources") or "<b>" not in page.inner_text("#sources")


def test_two_sessions_chat_at_once_without_mixing_histories(browser, app_url: str) -> None:  # noqa: ANN001
    pages = []
    for _ in range(2):
        context = browser.new_context()
        p = context.new_page()
        p.goto(app_url)
        p.wait_for_selector("#question textarea")
        pages.append(p)
    a, b = pages
    a.fill("#question textarea", "Who won the Harbour Chess Open?")
    b.fill("#question textarea", "How many stops does the Green Line have?")
    a.click("#ask")
    b.click("#ask")
    for p in pages:
        p.wait_for_function("() => document.querySelectorAll('#chatbot .answer:not(.streaming)').length >= 1",
                            timeout=60_000)
    assert "Castell" in a.inner_text("#chatbot") and "Green Line" not in a.inner_text("#chatbot")
    assert "19 stops" in b.inner_text("#chatbot") and "Castell" not in b.inner_text("#chatbot")
    # Each session's follow-up resolves against its own history.
    assert "sixteen" in ask(a, "How old is she?", 2)
    assert "Castell" not in b.inner_text("#chatbot")
    for p in pages:
        p.context.close()


def test_gradio_client_round_trip(app_url: str) -> None:
    from gradio_client import Client

    client = Client(app_url, verbose=False)
    result = client.predict("Who won the Harbour Chess Open?", "[]", api_name="/ask")
    result = json.loads(result) if isinstance(result, str) else result
    assert "Mira Castell" in result["answer"] and result["citations"][0]["source"] == "harbour-chess-open.md"
    history = json.dumps([{"role": "user", "content": "Who won the Harbour Chess Open?"},
                          {"role": "assistant", "content": result["answer"]}])
    follow = client.predict("How old is she?", history, api_name="/ask")
    follow = json.loads(follow) if isinstance(follow, str) else follow
    assert "sixteen" in follow["answer"]
