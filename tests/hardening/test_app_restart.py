"""`kill -9` of `rag serve` while it answers and while it takes an upload loses no saved conversation and no
corpus file: after a restart every conversation saved before is whole, the turn being answered is either
wholly saved or absent, every upload that was confirmed is in the corpus, and the app answers and saves again.

Real `rag serve` subprocess (extractive backend, no accounts on 127.0.0.1), real gradio_client, real SIGKILL."""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from pathlib import Path

import pytest

from bench.bench_load import app_server
from tests.helpers import article, write

pytestmark = pytest.mark.slow

KILL_AFTER_S = [0.0, 0.3, 1.0]  # after submitting: before, during and around the end of the answer


def _client(url: str):  # noqa: ANN202
    from gradio_client import Client

    return Client(url, verbose=False, download_files=False)


def test_kill_9_mid_answer_loses_no_conversation_and_no_corpus_file(tmp_path: Path) -> None:
    from gradio_client import handle_file

    workdir = tmp_path / "app"
    confirmed: dict[str, bytes] = {}  # corpus files whose upload the app confirmed
    saved: dict[str, list[str]] = {}  # conversation id -> questions, as listed by the app before each kill
    for round_number, delay in enumerate(KILL_AFTER_S):
        with app_server("extractive", workdir, tmp_path / f"serve-{round_number}.log") as (url, pid):
            client = _client(url)
            # Everything saved before survived the previous kill.
            listed = {c["id"]: c for c in client.predict(api_name="/conversations")}
            assert set(saved) <= set(listed)
            for cid in listed:  # including one the killed follow-up may have saved: never half a turn
                turns = client.predict(cid, api_name="/conversation")["turns"]
                assert turns and all(t["question"] and t["answer"]["answer"] for t in turns)
            for cid, questions in saved.items():
                turns = client.predict(cid, api_name="/conversation")["turns"]
                assert [t["question"] for t in turns][:len(questions)] == questions
            for name, data in confirmed.items():
                assert (workdir / "corpus" / name).read_bytes() == data
            # A saved conversation and a confirmed upload in this round.
            question = f"Who won the Harbour Chess Open? (round {round_number})"
            chat, *_ = client.predict(question, [], 5, "", "", "", api_name="/chat")
            mine = [c for c in client.predict(api_name="/conversations") if c["id"] not in listed]
            assert len(mine) == 1 and mine[0]["turns"] == 1
            saved[mine[0]["id"]] = [question]
            name = f"ferry-{round_number}.md"
            upload = write(tmp_path / name, article(f"Ferry {round_number}", f"The ferry number {round_number} "
                                                    "carries 640 passengers across the bay.", "2026-09-01"))
            status, *_ = client.predict([handle_file(str(upload))], api_name="/upload")
            assert f"✔ {name}" in status
            confirmed[name] = upload.read_bytes()
            # Then: a follow-up and another upload in flight, and the server is killed.
            busy = _client(url)
            busy.submit("How old is she?", chat, 5, "", "", "", api_name="/chat")
            late = write(tmp_path / f"late-{round_number}.md", article("Late", "An upload cut short.", "2026-09-02"))
            busy.submit([handle_file(str(late))], api_name="/upload")
            time.sleep(delay)
            os.kill(pid, signal.SIGKILL)
            time.sleep(0.5)
            client.close()
            busy.close()
        # A cut-short upload is either wholly there or not there at all.
        cut = workdir / "corpus" / f"late-{round_number}.md"
        assert not cut.exists() or cut.read_bytes() == late.read_bytes()
        with sqlite3.connect(workdir / "index" / "app.sqlite3") as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    with app_server("extractive", workdir, tmp_path / "serve-last.log") as (url, _):
        client = _client(url)
        for cid, questions in saved.items():
            turns = client.predict(cid, api_name="/conversation")["turns"]
            assert [t["question"] for t in turns] == questions and turns[0]["answer"]["answer"]
        answer = client.predict("How many passengers does the ferry number 1 carry?", "[]", api_name="/ask")
        assert "640" in answer["answer"]
        before = len(client.predict(api_name="/conversations"))
        client.predict("Who won the Harbour Chess Open?", [], 5, "", "", "", api_name="/chat")
        assert len(client.predict(api_name="/conversations")) == before + 1
        client.close()
