"""Access control of the real app (in-process `serve`, real Gradio routes, gradio_client and raw HTTP):
unauthenticated calls to every route and every event are refused, each role gets what it may do and no more,
failed logins are slowed down, sessions expire."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from rag.settings import Settings, get_settings
from rag.users import AccountStore, Role
from tests.helpers import SAMPLE_CORPUS, article, write
from tests.servers import free_port

pytestmark = pytest.mark.slow

PASSWORDS = {"rita": "reader password", "eddie": "editor password", "ada": "admin password"}
ROLES = {"rita": Role.reader, "eddie": Role.editor, "ada": Role.admin}


def _accounts(index: Path) -> None:
    store = AccountStore(index)
    for name, role in ROLES.items():
        store.add(name, role, PASSWORDS[name])


def _serve(settings: Settings) -> Iterator[str]:
    from rag.ui.app import serve

    app, service = serve(settings, block=False, quiet=True, watch=False)
    yield f"http://127.0.0.1:{settings.port}"
    app.close()


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory, embedder) -> Iterator[tuple[str, Settings]]:  # noqa: ANN001
    base = tmp_path_factory.mktemp("guarded")
    shutil.copytree(SAMPLE_CORPUS, base / "corpus")
    _accounts(base / "index")
    settings = get_settings(corpus_dir=base / "corpus", index_dir=base / "index", llm_backend="extractive",
                            port=free_port(), login_free_failures=5, login_lockout_s=2)
    for url in _serve(settings):
        yield url, settings


def login(url: str, user: str, password: str | None = None) -> httpx.Client:
    http = httpx.Client(base_url=url, timeout=60)
    response = http.post("/login", data={"username": user, "password": password or PASSWORDS[user]})
    assert response.status_code == 200, response.text
    return http


def client(url: str, user: str) -> Any:
    from gradio_client import Client

    return Client(url + "/", auth=(user, PASSWORDS[user]), verbose=False)


def test_without_login_every_route_and_every_event_is_refused(guarded: tuple[str, Settings]) -> None:
    url, _ = guarded
    config = login(url, "rita").get("/config").json()
    events = config["dependencies"]
    named = {d["api_name"] for d in events if d.get("api_name")}
    assert {"ask", "chat", "upload", "delete", "documents", "conversations", "conversation", "rename_conversation",
            "delete_conversation", "export_conversation", "feedback"} <= named
    anonymous = httpx.Client(base_url=url, timeout=30)
    page = anonymous.get("/")
    assert page.status_code == 200 and '"auth_required":true' in page.text.replace(" ", "")
    assert "harbour-chess-open" not in page.text and "Mira Castell" not in page.text
    for path in ["/config", "/gradio_api/info", "/gradio_api/openapi.json", "/gradio_api/queue/data",
                 "/gradio_api/file=/etc/passwd"]:
        assert anonymous.get(path).status_code == 401, path
    assert anonymous.post("/gradio_api/upload", files={"files": ("a.md", b"# x\n\ntext")}).status_code == 401
    for name in named:
        response = anonymous.post(f"/gradio_api/call/{name}", json={"data": ["Who won the Harbour Chess Open?"]})
        assert response.status_code == 401, name
    # The page's own events (API name or not) go through the queue by number: each one is refused too.
    for event in events:
        response = anonymous.post("/gradio_api/queue/join", json={
            "data": [], "fn_index": event["id"], "session_hash": "anon", "event_data": None, "trigger_id": None})
        assert response.status_code == 401, event
    # A made-up session cookie is no better than none.
    forged = httpx.Client(base_url=url, timeout=30, cookies={"access-token-unsecure-x": "forged"})
    assert forged.get("/config").status_code == 401


def test_wrong_password_and_injected_names_are_refused(guarded: tuple[str, Settings]) -> None:
    url, _ = guarded
    anonymous = httpx.Client(base_url=url, timeout=30)
    for user, password in [("ada", "not the password"), ("../../etc/passwd", "x" * 10),
                           ("<img src=x onerror=alert(1)>", "admin password"), ("nobody", "admin password")]:
        response = anonymous.post("/login", data={"username": user, "password": password})
        assert response.status_code == 400, user
    assert anonymous.get("/config").status_code == 401
    login(url, "ada")  # a success clears this address's failure count (the other tests log in from it too)


def test_reader_asks_but_cannot_change_the_corpus(guarded: tuple[str, Settings], tmp_path: Path) -> None:
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    url, settings = guarded
    reader = client(url, "rita")
    result = reader.predict("Who won the Harbour Chess Open?", "[]", api_name="/ask")
    assert "Mira Castell" in result["answer"]
    assert any(d["source"] == "harbour-chess-open.md" for d in reader.predict(api_name="/documents"))
    upload = write(tmp_path / "sneaky.md", article("Sneaky", "A reader tries to add this article.", "2026-01-01"))
    with pytest.raises(AppError, match="rita is a reader: this needs the editor role"):
        reader.predict([handle_file(str(upload))], api_name="/upload")
    with pytest.raises(AppError, match="needs the editor role"):
        reader.predict("harbour-chess-open.md", api_name="/delete")
    assert not (settings.corpus_dir / "sneaky.md").exists()
    assert (settings.corpus_dir / "harbour-chess-open.md").exists()


def test_editor_uploads_and_deletes(guarded: tuple[str, Settings], tmp_path: Path) -> None:
    from gradio_client import handle_file

    url, settings = guarded
    editor = client(url, "eddie")
    upload = write(tmp_path / "tram depot.md", article(
        "Tram depot opens", "The new tram depot in Varnholm opened with space for 42 trams.", "2026-03-01"))
    status, *_ = editor.predict([handle_file(str(upload))], api_name="/upload")
    assert "tram depot.md" in status and (settings.corpus_dir / "tram depot.md").exists()
    status, *_ = editor.predict("tram depot.md", api_name="/delete")
    assert status.startswith("Deleted tram depot.md")
    assert not (settings.corpus_dir / "tram depot.md").exists()
    from rag.audit import AuditLog

    changes = [(e["user"], e["action"], e["target"]) for e in AuditLog(settings.index_dir).last(2)]
    assert changes == [("eddie", "delete", "tram depot.md"), ("eddie", "upload", "tram depot.md")]


def test_removed_account_loses_its_open_session(guarded: tuple[str, Settings]) -> None:
    url, settings = guarded
    store = AccountStore(settings.index_dir)
    store.add("temp", Role.reader, "temporary pass")
    http = login(url, "temp", "temporary pass")
    assert http.get("/config").status_code == 200
    store.remove("temp")
    assert http.get("/config").status_code == 401


def test_failed_logins_are_slowed_down(guarded: tuple[str, Settings]) -> None:
    url, settings = guarded
    AccountStore(settings.index_dir).add("victim", Role.reader, "victim password")
    anonymous = httpx.Client(base_url=url, timeout=30)

    def attempt(password: str) -> int:
        return anonymous.post("/login", data={"username": "victim", "password": password}).status_code

    assert [attempt(f"guess {n}") for n in range(6)] == [400] * 6
    # Locked out now (5 free failures, then 2 s doubling): the right password is refused unchecked ...
    assert attempt("victim password") == 400
    time.sleep(settings.login_lockout_s + 0.5)
    # ... and accepted once the lock-out has passed.
    assert attempt("victim password") == 200


def _one_article_app(tmp_path_factory: pytest.TempPathFactory, name: str, **overrides: Any) -> Iterator[str]:
    """An app of its own (one article, the usual accounts) for a test that changes a server setting."""
    base = tmp_path_factory.mktemp(name)
    write(base / "corpus" / "one.md", article("One article", "A single article about the tram.", "2026-01-01"))
    _accounts(base / "index")
    settings = get_settings(corpus_dir=base / "corpus", index_dir=base / "index", llm_backend="extractive",
                            port=free_port(), **overrides)
    yield from _serve(settings)


@pytest.fixture(scope="module")
def short_sessions(tmp_path_factory: pytest.TempPathFactory, embedder) -> Iterator[str]:  # noqa: ANN001
    yield from _one_article_app(tmp_path_factory, "expiry", session_ttl_s=5)


def test_sessions_expire(short_sessions: str) -> None:
    http = login(short_sessions, "rita")
    assert http.get("/config").status_code == 200
    time.sleep(5.5)
    assert http.get("/config").status_code == 401
    assert "auth_required" in http.get("/").text


def test_each_user_sees_only_their_own_conversations(guarded: tuple[str, Settings]) -> None:
    from gradio_client.exceptions import AppError

    url, _ = guarded
    rita, eddie = client(url, "rita"), client(url, "eddie")
    chat, *_ = rita.predict("Who won the Harbour Chess Open?", [], 5, "", "", "", api_name="/chat")
    assert "Mira Castell" in chat[-1]["content"][0]["text"]
    rita.predict("How old is she?", chat, 5, "", "", "", api_name="/chat")  # same session: same conversation
    mine = rita.predict(api_name="/conversations")
    assert [c["title"] for c in mine] == ["Who won the Harbour Chess Open?"] and mine[0]["turns"] == 2
    cid = mine[0]["id"]
    assert all(c["id"] != cid for c in eddie.predict(api_name="/conversations"))
    for api, args in [("/conversation", [cid]), ("/export_conversation", [cid]), ("/rename_conversation", [cid, "x"]),
                      ("/delete_conversation", [cid]), ("/feedback", [cid, 0, -1, "not mine"])]:
        with pytest.raises(AppError, match="no conversation"):
            eddie.predict(*args, api_name=api)
    assert rita.predict(cid, 0, -1, "<script>alert(1)</script> wrong", api_name="/feedback") == "saved"
    full = rita.predict(cid, api_name="/conversation")
    assert full["title"] == "Who won the Harbour Chess Open?" and len(full["turns"]) == 2
    assert "sixteen" in full["turns"][1]["answer"]["answer"]
    markdown = rita.predict(cid, api_name="/export_conversation")
    assert "## Q2. How old is she?" in markdown and "`harbour-chess-open.md`" in markdown
    assert rita.predict(cid, "Chess <img src=x onerror=alert(1)>", api_name="/rename_conversation") == \
        "Chess <img src=x onerror=alert(1)>"
    assert rita.predict(cid, api_name="/delete_conversation") == "deleted"
    assert rita.predict(api_name="/conversations") == []


@pytest.fixture(scope="module")
def two_sessions(tmp_path_factory: pytest.TempPathFactory, embedder) -> Iterator[str]:  # noqa: ANN001
    yield from _one_article_app(tmp_path_factory, "capacity", ui_session_capacity=2)


def test_server_keeps_state_for_a_bounded_number_of_sessions(two_sessions: str) -> None:
    """RAG_UI_SESSION_CAPACITY=2: a third session pushes out the least recently used one, whose next question
    then starts a new saved conversation (its earlier one stays saved and listed)."""
    first, second, third = (client(two_sessions, "eddie") for _ in range(3))
    before = len(first.predict(api_name="/conversations"))
    chat, *_ = first.predict("What is the single article about?", [], 5, "", "", "", api_name="/chat")
    first.predict("And the tram?", chat, 5, "", "", "", api_name="/chat")
    assert len(first.predict(api_name="/conversations")) == before + 1  # one session, one conversation
    for other in (second, third):
        other.predict("What is the single article about?", [], 5, "", "", "", api_name="/chat")
    first.predict("And the tram again?", chat, 5, "", "", "", api_name="/chat")
    listed = first.predict(api_name="/conversations")
    assert len(listed) == before + 4
    assert sorted(c["turns"] for c in listed[:4]) == [1, 1, 1, 2]


def test_accounts_file_damaged_while_running_ends_sessions_until_restored(guarded: tuple[str, Settings]) -> None:
    url, settings = guarded
    store = AccountStore(settings.index_dir)
    http = login(url, "eddie")
    good = store.path.read_text()
    try:
        store.path.write_text("{damaged")
        assert http.get("/config").status_code == 401  # a damaged file is not trusted: the session ends
        anonymous = httpx.Client(base_url=url, timeout=30)
        assert anonymous.post("/login", data={"username": "eddie", "password": PASSWORDS["eddie"]}).status_code == 400
    finally:
        store.path.write_text(good)
    assert login(url, "eddie").get("/config").status_code == 200
