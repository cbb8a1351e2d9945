"""Accounts and saved conversations in a real browser (Debian chromium via playwright) against the app with
accounts: the login page, a reader refused an upload through the page, conversations that survive a reload,
feedback from the thumbs, and markup in titles, notes and user names shown as text."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from rag.conversations import ConversationStore
from rag.settings import Settings, get_settings
from rag.users import AccountStore, Role
from tests.helpers import SAMPLE_CORPUS, article, ask, write
from tests.servers import free_port

pytestmark = [pytest.mark.slow, pytest.mark.browser]

PASSWORDS = {"rita": "reader password", "eddie": "editor password", "ada": "admin password"}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, embedder) -> Iterator[tuple[str, Settings]]:  # noqa: ANN001
    from rag.ui.app import serve

    base = tmp_path_factory.mktemp("accounts-web")
    shutil.copytree(SAMPLE_CORPUS, base / "corpus")
    store = AccountStore(base / "index")
    store.add("rita", Role.reader, PASSWORDS["rita"])
    store.add("eddie", Role.editor, PASSWORDS["eddie"])
    store.add("ada", Role.admin, PASSWORDS["ada"])
    settings = get_settings(corpus_dir=base / "corpus", index_dir=base / "index", llm_backend="extractive",
                            port=free_port())
    app, _ = serve(settings, block=False, quiet=True, watch=False)
    yield f"http://127.0.0.1:{settings.port}/", settings
    app.close()


def open_login(browser, url: str):  # noqa: ANN001, ANN201
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.on("dialog", lambda d: d.dismiss())
    page.goto(url)
    page.wait_for_selector("input[type=password]")
    return page


def log_in(browser, url: str, user: str):  # noqa: ANN001, ANN201
    page = open_login(browser, url)
    page.locator("input[type=text]").first.fill(user)
    page.locator("input[type=password]").fill(PASSWORDS[user])
    page.get_by_role("button", name="Login").click()
    page.wait_for_selector("#question textarea", timeout=30_000)
    return page


def test_login_page_refuses_a_wrong_password_and_shows_names_as_text(browser, site) -> None:  # noqa: ANN001
    url, _ = site
    page = open_login(browser, url)
    assert page.locator("#question").count() == 0  # nothing of the app before login
    page.locator("input[type=text]").first.fill("<img src=x onerror=window.__pwned=1>")
    page.locator("input[type=password]").fill("whatever password")
    page.get_by_role("button", name="Login").click()
    page.wait_for_selector("text=Incorrect", timeout=15_000)
    assert page.evaluate("() => window.__pwned === undefined")
    assert page.locator("#question").count() == 0
    page.context.close()


def test_reader_is_refused_an_upload_through_the_page(browser, site, tmp_path) -> None:  # noqa: ANN001
    url, settings = site
    page = log_in(browser, url, "rita")
    upload = write(tmp_path / "reader upload.md", article("Reader upload", "Text a reader tries to add.", "2026-02-02"))
    page.get_by_role("tab", name="Corpus").click()
    page.wait_for_function("() => document.querySelector('#documents').innerText.includes('harbour-chess-open.md')",
                           timeout=30_000)
    page.locator("#upload input[type=file]").set_input_files([str(upload)])
    page.click("#add")
    page.wait_for_selector("text=this needs the editor role", timeout=30_000)
    assert not (settings.corpus_dir / "reader upload.md").exists()
    page.context.close()


def test_conversations_survive_a_reload_reopen_and_take_feedback(browser, site) -> None:  # noqa: ANN001
    url, settings = site
    page = log_in(browser, url, "rita")
    assert "Mira Castell" in ask(page, "Who won the Harbour Chess Open?", 1)
    assert "sixteen" in ask(page, "How old is she?", 2)
    # 👎 on the second answer, with a note carrying markup.
    page.locator("#chatbot button[aria-label='Dislike']").nth(1).click()
    page.wait_for_function("() => document.querySelector('#feedback-status').innerText.includes('answer 2')")
    assert page.inner_text("#feedback-status").strip() == "Dislike saved for answer 2."
    page.get_by_text("Feedback on an answer").click()
    page.fill("#feedback-note textarea", "<script>window.__pwned=3</script> she is 16")
    page.click("#save-note")
    page.wait_for_function("() => document.querySelector('#feedback-status').innerText.includes('Note saved')")
    rows = ConversationStore(settings.index_dir).feedback("rita")
    assert [(r["position"], r["rating"]) for r in rows] == [(1, -1)]
    assert rows[0]["note"] == "<script>window.__pwned=3</script> she is 16"
    # A title with markup, set through the page.
    page.fill("#conversation-title input", "Chess <img src=x onerror=window.__pwned=2>")
    page.click("#rename-conversation")
    page.wait_for_function("() => document.querySelector('#conversation-status').innerText.includes('Renamed')")

    page.reload()
    page.wait_for_selector("#question textarea")
    assert page.locator("#chatbot .answer").count() == 0
    listing = page.locator("#conversation-list input")
    listing.click()
    option = page.get_by_role("option", name="Chess <img src=x onerror=window.__pwned=2>", exact=False)
    option.first.click()
    page.wait_for_function("() => document.querySelectorAll('#chatbot .answer').length === 2", timeout=30_000)
    assert "sixteen" in page.locator("#chatbot .answer").nth(1).inner_text()
    assert "harbour-chess-open.md" in page.inner_text("#sources")
    # The reopened conversation goes on: a follow-up resolves against its saved history.
    assert "Brenna" in ask(page, "Where is she from?", 3)
    assert page.evaluate("() => window.__pwned === undefined")
    assert page.locator("#conversation-list img").count() == 0
    titles = [c["title"] for c in ConversationStore(settings.index_dir).list("rita")]
    assert titles == ["Chess <img src=x onerror=window.__pwned=2>"]
    assert len(ConversationStore(settings.index_dir).get("rita", ConversationStore(settings.index_dir)
                                                         .list("rita")[0]["id"]).turns) == 3
    # Another user does not see it.
    other = log_in(browser, url, "eddie")
    other.locator("#conversation-list input").click()
    assert other.get_by_role("option", name="Chess", exact=False).count() == 0
    other.context.close()
    page.context.close()


def test_admin_manages_accounts_in_the_app_and_others_cannot(browser, site) -> None:  # noqa: ANN001
    import httpx

    url, settings = site
    reader = log_in(browser, url, "rita")
    reader.wait_for_function("() => document.querySelector('#who').innerText.includes('rita (reader)')")
    reader.get_by_role("tab", name="Accounts").click()
    reader.fill("#account-name input", "mallory")
    reader.fill("#account-password input", "mallory password")
    reader.click("#account-add")
    reader.wait_for_selector("text=this needs the admin role", timeout=30_000)
    assert "eddie" not in reader.inner_text("#accounts")  # the list is not sent to a reader
    assert AccountStore(settings.index_dir).get("mallory") is None

    admin = log_in(browser, url, "ada")
    admin.get_by_role("tab", name="Accounts").click()
    admin.wait_for_function("() => document.querySelector('#accounts').innerText.includes('eddie')")
    admin.fill("#account-name input", "nina")
    admin.fill("#account-password input", "nina's password")
    admin.click("#account-add")
    admin.wait_for_function("() => document.querySelector('#account-status').innerText.includes('Added nina')")
    assert admin.input_value("#account-password input") == ""  # not left on the page
    assert AccountStore(settings.index_dir).verify("nina", "nina's password").role is Role.reader
    assert httpx.post(url + "login", data={"username": "nina", "password": "nina's password"}).status_code == 200
    admin.fill("#account-name input", "<b>x</b>")
    admin.fill("#account-password input", "some password")
    admin.click("#account-add")
    admin.wait_for_function("() => document.querySelector('#account-status').innerText.includes('invalid user name')")
    admin.fill("#account-name input", "nina")
    admin.click("#account-remove")
    admin.wait_for_function("() => document.querySelector('#account-status').innerText.includes('Removed nina')")
    assert AccountStore(settings.index_dir).get("nina") is None
    # Log out ends the session: the login page again, and the old cookie no longer opens the app.
    admin.click("#logout")
    admin.wait_for_selector("input[type=password]", timeout=30_000)
    admin.goto(url)
    admin.wait_for_selector("input[type=password]", timeout=30_000)
    reader.context.close()
    admin.context.close()
