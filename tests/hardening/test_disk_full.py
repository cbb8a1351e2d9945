"""Disk full: an ingest and a conversation save on a small tmpfs that fills up end with one clear error line, the
index and the saved conversations stay intact, and the next run after space is freed completes.

Needs permission to mount a tmpfs (root, as in this project's test machine); skipped with the reason otherwise."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from rag.answer.engine import Answer
from rag.conversations import ConversationStore
from rag.ui.conversations import save_turn
from tests.helpers import SAMPLE_CORPUS, article, write

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)], capture_output=True,
                          text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(fs: Path, leave_bytes: int) -> Path:
    """Take all but `leave_bytes` of the filesystem with one file; deleting it frees the space again."""
    st = os.statvfs(fs)
    filler = fs / f"filler-{uuid.uuid4().hex}"
    with open(filler, "wb") as fh:
        fh.write(b"\0" * max(st.f_bavail * st.f_frsize - leave_bytes, 0))
    return filler


def rag(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "rag"), *args], capture_output=True, text=True, env={**os.environ, **env},
                          timeout=600)


def test_ingest_on_a_full_disk_fails_with_one_line_then_completes(small_fs: Path, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(SAMPLE_CORPUS, corpus)
    # The converted embedding model is cached outside the small filesystem: the index is what fills it.
    env = {"RAG_CORPUS_DIR": str(corpus), "RAG_INDEX_DIR": str(small_fs / "index"),
           "RAG_EMBEDDING_CACHE_DIR": str(tmp_path / "models"), "HF_HUB_OFFLINE": "1"}
    first = rag("ingest", "--quiet", env=env)
    assert first.returncode == 0, first.stderr
    for i in range(30):
        write(corpus / f"harbour-{i:02d}.md", article(f"Harbour report {i}", " ".join(
            f"Sentence {j}: the harbour of Keldstrand number {i} counted {j * 7 + i} fishing boats." for j in range(60)),
            "2026-03-01"))
    filler = fill(small_fs, 100_000)
    full = rag("ingest", "--quiet", env=env)
    assert full.returncode == 2
    lines = [line for line in full.stderr.splitlines() if line.startswith(("error", "Traceback"))]
    assert lines == [f"error: the disk is full (index {small_fs / 'index'}): free some space and run the command "
                     "again; what was indexed before is kept and the next `rag ingest` completes the index"]
    # What was indexed before still answers.
    found = rag("search", "How long did the Platinum Wolf exercise last?", "-k", "1", "--json", env=env)
    assert found.returncode == 0 and "serbia-nato-russia-platinum-wolf.md" in found.stdout
    filler.unlink()
    again = rag("ingest", "--json", env=env)
    assert again.returncode == 0, again.stderr
    assert '"added": 30' in again.stdout or '"added":30' in again.stdout.replace(" ", "")
    found = rag("search", "Keldstrand harbour number 17 fishing boats", "-k", "3", "--json", env=env)
    assert "harbour-17.md" in found.stdout


def _answer(text: str) -> Answer:
    return Answer(question="q", standalone_question="q", answer=text, refused=False, support=1.0, citations=[],
                  retrieved=[])


def test_conversation_save_on_a_full_disk_keeps_earlier_saves_then_completes(small_fs: Path) -> None:
    store = ConversationStore(small_fs / "index")
    state = {"id": None, "positions": []}
    for n in range(3):
        state, warning = save_turn(store, "rita", state, f"question {n}", _answer(f"answer {n}"), "<p>a</p>", "s")
        assert warning == ""
    filler = fill(small_fs, 0)
    big = "long answer " * 20_000  # 240 KB: cannot fit
    state, warning = save_turn(store, "rita", state, "question 3", _answer(big), "<p>big</p>", "s")
    assert warning.count("\n") == 0 and "this answer was not saved" in warning
    assert f"this answer was not saved: the disk is full ({small_fs / 'index'}" in warning
    assert state["positions"] == [0, 1, 2, None]
    filler.unlink()
    # Earlier saves are whole, and the database is consistent. (While the disk is full SQLite cannot even open
    # the database to read: it must create its shared-memory file; that is a wait, not a loss.)
    fresh = ConversationStore(small_fs / "index")
    assert [t.question for t in fresh.get("rita", state["id"]).turns] == ["question 0", "question 1", "question 2"]
    with sqlite3.connect(fresh.db.path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    state, warning = save_turn(store, "rita", state, "question 3", _answer(big), "<p>big</p>", "s")
    assert warning == "" and state["positions"][-1] == 3
    assert len(ConversationStore(small_fs / "index").get("rita", state["id"]).turns) == 4


def test_upload_to_a_full_disk_says_so_in_one_line_and_keeps_the_corpus(small_fs: Path, tmp_path: Path,
                                                                      embedder) -> None:  # noqa: ANN001
    from gradio_client import Client, handle_file

    from rag.settings import get_settings
    from rag.ui.app import serve
    from tests.servers import free_port

    corpus = small_fs / "corpus"
    shutil.copytree(SAMPLE_CORPUS, corpus)
    before = {p.name: p.read_bytes() for p in corpus.iterdir()}
    settings = get_settings(corpus_dir=corpus, index_dir=tmp_path / "index", llm_backend="extractive",
                            port=free_port(), embedding_cache_dir=tmp_path / "models")
    app, _ = serve(settings, block=False, quiet=True, watch=False)
    try:
        client = Client(f"http://127.0.0.1:{settings.port}/", verbose=False, download_files=False)
        upload = write(tmp_path / "big report.md", article("Big report", "The big report. " * 20_000, "2026-04-01"))
        filler = fill(small_fs, 0)
        status, *_ = client.predict([handle_file(str(upload))], api_name="/upload")
        assert f"✖ big report.md: the disk is full ({corpus}" in status
        assert {p.name: p.read_bytes() for p in corpus.iterdir() if not p.name.startswith(".")} == before
        filler.unlink()
        status, *_ = client.predict([handle_file(str(upload))], api_name="/upload")
        assert "✔ big report.md" in status and "added 1" in status
        client.close()
    finally:
        app.close()
