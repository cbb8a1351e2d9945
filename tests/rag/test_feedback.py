"""Feedback export as eval rows (rag/feedback.py, `rag feedback export`) and web-app changes in `rag status`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from rag.audit import AuditLog
from rag.conversations import ConversationStore
from rag.evals.runner import load_dataset

BIN = Path(sys.executable).parent


def _answer(text: str, sources: list[str], refused: bool = False) -> dict:
    return {"answer": text, "refused": refused, "citations": [
        {"n": i + 1, "source": s, "title": s, "date": None, "url": None, "text": "t", "supported": True}
        for i, s in enumerate(sources)], "retrieved": [{"source": s} for s in sources + ["other.md"]]}


def test_export_writes_rows_rag_eval_accepts(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path / "index")
    cid, _ = store.append_turn("alice", None, "Who won the open?", _answer("Mira Castell won [1].", ["chess.md"]),
                               "h", "s", as_of="2026-05-01")
    store.append_turn("alice", cid, "How old is she?", _answer("She is sixty [1].", ["chess.md"]), "h", "s")
    store.append_turn("alice", cid, "Who won the cup?", _answer("I couldn't find that.", [], refused=True), "h", "s")
    store.append_turn("alice", cid, "And the bakery?", _answer("Petra [1].", ["bakery.md"]), "h", "s")
    store.set_feedback("alice", cid, 0, rating=1)
    store.set_feedback("alice", cid, 1, rating=-1, note="She is sixteen.")
    store.set_feedback("alice", cid, 2, rating=1)
    store.set_feedback("alice", cid, 3, note="only a note")
    out = tmp_path / "fb.jsonl"
    done = subprocess.run([str(BIN / "rag"), "--index", str(tmp_path / "index"), "feedback", "export", "--out",
                           str(out)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "wrote 3 rows" in done.stdout and "1 note without a rating skipped" in done.stdout
    rows = {r["id"]: r for r in load_dataset(out)}  # exactly what `rag eval FILE` reads
    up, down, refusal = rows["feedback-1"], rows["feedback-2"], rows["feedback-3"]
    assert up["answers"] == ["Mira Castell won."]
    assert up["gold_sources"] == ["chess.md"] and up["answerable"] and up["asked_on"] == "2026-05-01"
    assert down["feedback"] == "down" and down["needs_gold"] and down["answers"] == [] and down["gold_sources"] == []
    assert down["rejected_answer"] == "She is sixty [1]." and down["note"] == "She is sixteen."
    assert down["history"][0] == {"role": "user", "content": "Who won the open?"}
    assert refusal["answerable"] is False and refusal["answers"] == []
    assert all("alice" not in json.dumps(r) for r in rows.values())  # user names are not exported


def test_status_shows_the_last_changes_made_in_the_app(tmp_path: Path) -> None:
    (tmp_path / "corpus").mkdir()
    log = AuditLog(tmp_path / "index")
    log.record("eddie", "upload", "tram depot.md")
    log.record("ada", "delete", "old.md")
    args = [str(BIN / "rag"), "--index", str(tmp_path / "index"), "--corpus", str(tmp_path / "corpus"), "status"]
    text = subprocess.run(args, capture_output=True, text=True, timeout=120).stdout
    assert "last changes through the web app:" in text
    lines = [line for line in text.splitlines() if line.startswith("  ")]
    assert "ada  delete  old.md" in lines[0] and "eddie  upload  tram depot.md" in lines[1]
    data = json.loads(subprocess.run([*args, "--json"], capture_output=True, text=True, timeout=120).stdout)
    assert [c["user"] for c in data["app_changes"]] == ["ada", "eddie"]
