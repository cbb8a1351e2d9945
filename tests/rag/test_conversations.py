"""Saved conversations, feedback and the audit log (rag/conversations.py, rag/audit.py) on a real SQLite file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from rag.audit import AuditLog
from rag.conversations import ConversationNotFound, ConversationStore, clean_title, conversation_markdown


def _answer(text: str, source: str = "a.md", refused: bool = False) -> dict:
    return {"question": "q", "answer": text, "refused": refused, "warning": None,
            "citations": [] if refused else [{"n": 1, "source": source, "title": "Title of A", "date": "2026-01-02",
                                              "url": "https://example.org/a", "text": "Passage  text.",
                                              "supported": True}],
            "retrieved": [{"rank": 1, "source": source, "title": "Title of A", "text": "Passage text."}]}


def test_conversations_are_saved_per_owner_and_scoped(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path)
    cid, pos = store.append_turn("alice", None, "Who won the chess open?", _answer("Mira won [1]."), "<p>a</p>", "s")
    assert pos == 0
    assert store.append_turn("alice", cid, "How old is she?", _answer("Sixteen [1]."), "<p>b</p>", "s") == (cid, 1)
    other, _ = store.append_turn("bob", None, "Bob's question", _answer("x [1]."), "h", "s")
    assert [c["id"] for c in store.list("alice")] == [cid]
    assert store.list("alice")[0]["title"] == "Who won the chess open?" and store.list("alice")[0]["turns"] == 2
    # A fresh store (a restart) reads the same data.
    again = ConversationStore(tmp_path).get("alice", cid)
    assert [t.question for t in again.turns] == ["Who won the chess open?", "How old is she?"]
    assert again.history() == [{"role": "user", "content": "Who won the chess open?"},
                               {"role": "assistant", "content": "Mira won [1]."},
                               {"role": "user", "content": "How old is she?"},
                               {"role": "assistant", "content": "Sixteen [1]."}]
    # Bob cannot read, rename, delete, append to or rate Alice's conversation: it is "not found" to him.
    for attempt in [lambda: store.get("bob", cid), lambda: store.rename("bob", cid, "mine"),
                    lambda: store.delete("bob", cid), lambda: store.set_feedback("bob", cid, 0, rating=-1),
                    lambda: store.append_turn("bob", cid, "sneak", _answer("x"), "h", "s")]:
        with pytest.raises(ConversationNotFound):
            attempt()
    assert len(store.get("alice", cid).turns) == 2 and store.get("alice", cid).title == "Who won the chess open?"
    store.rename("alice", cid, "  Chess\n<b>open</b>\x00 ")
    assert store.get("alice", cid).title == "Chess <b>open</b>"  # one line of text; markup is escaped where shown
    store.delete("alice", cid)
    assert store.list("alice") == [] and [c["id"] for c in store.list("bob")] == [other]


def test_titles_are_one_clean_line() -> None:
    assert clean_title("a\tb\r\nc\u2028d") == "a b c d"
    assert len(clean_title("x" * 500)) == 120
    with pytest.raises(ValueError, match="cannot be empty"):
        clean_title(" \n ")


def test_database_is_wal_and_each_save_is_one_transaction(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path)
    cid, _ = store.append_turn("alice", None, "first", _answer("one"), "h", "s")
    with sqlite3.connect(store.db.path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    # A save that fails half-way (here: a title that cannot be stored) leaves nothing behind.
    with pytest.raises(ValueError):
        store.append_turn("alice", None, "   ", _answer("two"), "h", "s")
    assert len(store.list("alice")) == 1 and len(store.get("alice", cid).turns) == 1


def test_feedback_keeps_its_own_copy_and_can_be_updated(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path)
    cid, _ = store.append_turn("alice", None, "Who won?", _answer("Mira [1]."), "h", "s", as_of="2026-01-05")
    store.append_turn("alice", cid, "How old is she?", _answer("Sixty [1]."), "h", "s")
    store.set_feedback("alice", cid, 1, rating=-1)
    store.set_feedback("alice", cid, 1, note="She is sixteen, not sixty.")
    store.set_feedback("alice", cid, 0, rating=1)
    store.delete("alice", cid)  # feedback outlives the conversation: it is an eval case now
    rows = store.feedback()
    assert [(r["position"], r["rating"], r["note"]) for r in rows] == [(1, -1, "She is sixteen, not sixty."),
                                                                       (0, 1, "")]
    assert rows[0]["history"] == [{"role": "user", "content": "Who won?"}, {"role": "assistant", "content": "Mira [1]."}]
    assert rows[1]["as_of"] == "2026-01-05" and rows[0]["answer"]["answer"] == "Sixty [1]."
    assert store.feedback("bob") == []
    with pytest.raises(ValueError):
        cid2, _ = store.append_turn("alice", None, "q", _answer("a"), "h", "s")
        store.set_feedback("alice", cid2, 0, rating=5)


def test_markdown_export_has_every_answer_with_citations_and_sources(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path)
    cid, _ = store.append_turn("alice", None, "Who won?", _answer("Mira won [1]."), "h", "s")
    store.append_turn("alice", cid, "Who won the cup?", _answer("I couldn't find that.", refused=True), "h", "s")
    text = conversation_markdown(store.get("alice", cid))
    assert text.startswith("# Who won?\n")
    assert "## Q1. Who won?" in text and "Mira won [1]." in text
    assert "- [1] Title of A (2026-01-02) `a.md` <https://example.org/a> (supported)" in text
    assert "  > Passage text." in text
    assert "## Q2. Who won the cup?" in text and "> Not found in the corpus" in text and "Closest sources: `a.md`" in text


def test_audit_log_records_and_lists_latest_first(tmp_path: Path) -> None:
    log = AuditLog(tmp_path)
    assert log.last() == [] and not log.db.path.exists()  # reading never creates the database
    log.record("eddie", "upload", "a.md")
    log.record("eddie", "delete", "b.md")
    assert [(e["user"], e["action"], e["target"]) for e in log.last(5)] == [("eddie", "delete", "b.md"),
                                                                           ("eddie", "upload", "a.md")]
    assert log.last(1)[0]["at"].endswith("UTC")
