"""The as-of control, dated answers and the timeline, in chromium; and the as-of parameter of the API."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from rag.settings import Settings, get_settings
from tests.helpers import FLOODS, WIRE, article, ask, open_chat, write
from tests.servers import free_port

pytestmark = [pytest.mark.slow, pytest.mark.browser]

QUESTION = "How many families did the Orrin flood force from their homes this week?"


@pytest.fixture(scope="module")
def time_app(tmp_path_factory: pytest.TempPathFactory, embedder) -> Iterator[tuple[str, Settings]]:  # noqa: ANN001
    from rag.ui.app import serve

    base = tmp_path_factory.mktemp("time-web")
    corpus = base / "corpus"
    for name, (title, date, text) in FLOODS.items():
        write(corpus / name, article(title, text, date))
    write(corpus / "wire-ap.md", article("Kessel miners win six percent raise, ending strike | AP", WIRE,
                                         "2023-05-09"))
    settings = get_settings(corpus_dir=corpus, index_dir=base / "index", llm_backend="extractive", port=free_port())
    app, service = serve(settings, block=False, quiet=True, watch=False)
    yield f"http://127.0.0.1:{settings.port}/", settings
    app.close()


@pytest.fixture
def page(browser, time_app):  # noqa: ANN001, ANN201
    yield from open_chat(browser, time_app[0])


def set_as_of(page, value: str) -> None:  # noqa: ANN001
    page.fill("#as-of input, #as-of textarea", value)


def test_the_as_of_control_defaults_to_today_and_hides_later_articles(page) -> None:  # noqa: ANN001
    field = page.locator("#as-of input, #as-of textarea").first
    assert field.input_value() == dt.date.today().isoformat()
    set_as_of(page, "2023-05-10")
    text = ask(page, "How many families did the Orrin flood force from their homes?", 1)
    assert "340" not in text, "an article of 20 May is not known on 10 May"
    timeline = page.inner_text("#timeline")
    assert "As of 10 May 2023" in timeline and "20 May 2023" not in timeline
    assert "340" not in page.inner_text("#sources")


def test_a_dated_answer_with_a_timeline_linked_to_its_sources(page) -> None:  # noqa: ANN001
    set_as_of(page, "2023/05/21")
    text = ask(page, QUESTION, 1)
    assert text.startswith("As of 20 May 2023,") and "340" in text
    first_card = page.locator("#sources .source").first
    # Date first; a source without a URL has no outlet to name, and its file name is shown once, below.
    assert first_card.locator(".when").inner_text().startswith("[1] 20 May 2023")
    assert first_card.inner_text().count("flood-2023-05-20.md") == 1
    items = page.locator("#timeline .tl-item")
    dates = [items.nth(i).get_attribute("data-date") for i in range(items.count())]
    dated = [d for d in dates if d]
    assert len(dated) >= 3 and dated == sorted(dated), "the timeline is in publication order"
    assert all(d <= "2023-05-21" for d in dated)
    window_item = page.locator("#timeline .tl-item.in-window")
    assert window_item.count() == 1 and "20 May 2023" in window_item.inner_text()
    link = window_item.locator("a.tl-link")
    assert link.get_attribute("href") == "#cite-1"
    assert "this week" in page.inner_text("#timeline .tl-head")


def test_an_empty_window_names_the_window_searched(page) -> None:  # noqa: ANN001
    set_as_of(page, "2024-05-07")
    text = ask(page, QUESTION, 1)
    assert "couldn't find that in the corpus" in text
    assert "no articles between 30 April and 7 May 2024" in text


def test_what_happened_this_week_lists_the_windows_story_dated_and_cited(page) -> None:  # noqa: ANN001
    # One article of the week (20 May) is indexed; the question names no topic, so its cosine to any article is
    # near 0: it was refused ("no passage relevant enough") while the timeline listed that article.
    set_as_of(page, "2023-05-21")
    text = ask(page, "What happened this week?", 1)
    assert text.startswith("As of 21 May 2023: on 20 May, a second storm sent the Orrin over its banks on Friday "
                           "night [1]"), text
    assert "couldn't find" not in text and "Kessel" not in text and text.count("[") == 1
    card = page.locator("#sources .source").first
    assert card.locator(".when").inner_text().startswith("[1] 20 May 2023")  # no URL: no outlet beside the date
    assert card.inner_text().count("flood-2023-05-20.md") == 1
    assert "A second storm sent the Orrin over its banks" in card.locator("mark").first.inner_text()


def test_a_bad_as_of_date_is_one_clear_line(page) -> None:  # noqa: ANN001
    set_as_of(page, "next Tuesday")
    page.fill("#question textarea", QUESTION)
    page.click("#ask")
    page.wait_for_selector("#chatbot .refusal")
    assert page.inner_text("#chatbot .refusal").startswith("⚠ As of must be a date like 2023-05-11")


@pytest.mark.parametrize(("since", "until", "line"), [
    ("last spring", "", "⚠ Since must be a date like 2026-06-30, got 'last spring'"),
    ("2023-05-20", "2023-05-01", "⚠ Since (2023-05-20) is later than Until (2023-05-01): no article can be in "
                                 "that range"),
])
def test_bad_search_dates_name_the_page_fields(page, since: str, until: str, line: str) -> None:  # noqa: ANN001
    page.get_by_text("Search settings").click()
    page.get_by_label("Since (YYYY-MM-DD)").fill(since)
    page.get_by_label("Until (YYYY-MM-DD)").fill(until)
    page.fill("#question textarea", QUESTION)
    page.click("#ask")
    page.wait_for_selector("#chatbot .refusal")
    assert page.inner_text("#chatbot .refusal") == line


def test_the_api_takes_an_as_of_date(time_app) -> None:  # noqa: ANN001
    from gradio_client import Client

    client = Client(time_app[0], verbose=False)
    early = client.predict("How many families did the Orrin flood force from their homes?", "[]", "2023-05-10",
                           api_name="/ask")
    assert early["as_of"] == "2023-05-10"
    assert all(h["date"] is None or h["date"] <= "2023-05-10" for h in early["retrieved"])
    assert "340" not in early["answer"]
    late = client.predict(QUESTION, "[]", "2023/05/21", api_name="/ask")
    assert late["answer"].startswith("As of 20 May 2023,") and late["window"]["since"] == "2023-05-14"
    chat = client.predict(QUESTION, [], 5, "", "", "", "2023-05-10", api_name="/chat")
    assert "340" not in str(chat[0][-1]["content"])
