"""Saved conversations, per user: list, reopen, rename, delete, export as Markdown; feedback on answers.

Every function takes the owner and every query is scoped by it: another user's conversation is "not found",
exactly like one that never existed (its existence is not revealed either).
"""

from __future__ import annotations

import json
import re
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rag.appdb import AppDB
from rag.errors import ConversationNotFound

MAX_TITLE_CHARS = 120
MAX_NOTE_CHARS = 2000


@dataclass
class Turn:
    position: int
    question: str
    as_of: str | None
    answer: dict[str, Any]  # Answer.to_dict()
    answer_html: str  # as shown when it was answered
    sources_html: str
    created_at: float


@dataclass
class Conversation:
    id: str
    owner: str
    title: str
    created_at: float
    updated_at: float
    turns: list[Turn]

    def summary(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "created_at": _iso(self.created_at),
                "updated_at": _iso(self.updated_at), "turns": len(self.turns)}

    def history(self, upto: int | None = None) -> list[dict[str, str]]:
        """The turns before position `upto` (all if None) as chat messages, for follow-up questions."""
        out: list[dict[str, str]] = []
        for t in self.turns:
            if upto is not None and t.position >= upto:
                break
            out += [{"role": "user", "content": t.question},
                    {"role": "assistant", "content": str(t.answer.get("answer", ""))}]
        return out


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")


def clean_title(title: str) -> str:
    """One line of plain text: control characters removed, whitespace collapsed, at most 120 characters."""
    title = re.sub(r"[\x00-\x1f\x7f\u2028\u2029]", " ", title or "")
    title = " ".join(title.split())[:MAX_TITLE_CHARS].strip()
    if not title:
        raise ValueError("a conversation title cannot be empty")
    return title


class ConversationStore:
    def __init__(self, index_dir: Path) -> None:
        self.db = AppDB(index_dir)

    # ------------------------------------------------------------------------------------------ writing

    def append_turn(self, owner: str, conversation_id: str | None, question: str, answer: dict[str, Any],
                    answer_html: str, sources_html: str, as_of: str | None = None) -> tuple[str, int]:
        """Save one answered question; creates the conversation (titled by the question) when id is None.
        One transaction: after a crash or a full disk the turn is either wholly saved or not at all.
        Returns (conversation id, position of the turn)."""
        now = time.time()
        with self.db.connect() as conn:
            if conversation_id is None:
                conversation_id = uuid.uuid4().hex
                conn.execute("INSERT INTO conversations (id, owner, title, created_at, updated_at) "
                             "VALUES (?, ?, ?, ?, ?)", (conversation_id, owner, clean_title(question), now, now))
            elif not conn.execute("SELECT 1 FROM conversations WHERE id = ? AND owner = ?",
                                  (conversation_id, owner)).fetchone():
                raise ConversationNotFound(f"no conversation {conversation_id!r}")
            position = conn.execute("SELECT COALESCE(MAX(position) + 1, 0) FROM turns WHERE conversation_id = ?",
                                    (conversation_id,)).fetchone()[0]
            conn.execute("INSERT INTO turns (conversation_id, position, question, as_of, answer_json, answer_html, "
                         "sources_html, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                         (conversation_id, position, question, as_of, json.dumps(answer, ensure_ascii=False),
                          answer_html, sources_html, now))
            conn.execute("UPDATE conversations SET updated_at = ? WHERE id = ?", (now, conversation_id))
        return conversation_id, position

    def rename(self, owner: str, conversation_id: str, title: str) -> str:
        title = clean_title(title)
        with self.db.connect() as conn:
            cur = conn.execute("UPDATE conversations SET title = ? WHERE id = ? AND owner = ?",
                               (title, conversation_id, owner))
            if cur.rowcount != 1:
                raise ConversationNotFound(f"no conversation {conversation_id!r}")
        return title

    def delete(self, owner: str, conversation_id: str) -> None:
        with self.db.connect() as conn:
            cur = conn.execute("DELETE FROM conversations WHERE id = ? AND owner = ?", (conversation_id, owner))
            if cur.rowcount != 1:
                raise ConversationNotFound(f"no conversation {conversation_id!r}")

    # ------------------------------------------------------------------------------------------ reading

    def list(self, owner: str) -> list[dict[str, Any]]:
        """The owner's conversations, most recently used first."""
        with self.db.connect(write=False) as conn:
            rows = conn.execute(
                "SELECT c.id, c.title, c.created_at, c.updated_at, COUNT(t.position) AS n FROM conversations c "
                "LEFT JOIN turns t ON t.conversation_id = c.id WHERE c.owner = ? GROUP BY c.id "
                "ORDER BY c.updated_at DESC", (owner,)).fetchall()
        return [{"id": r["id"], "title": r["title"], "created_at": _iso(r["created_at"]),
                 "updated_at": _iso(r["updated_at"]), "turns": r["n"]} for r in rows]

    def get(self, owner: str, conversation_id: str) -> Conversation:
        with self.db.connect(write=False) as conn:
            head = conn.execute("SELECT * FROM conversations WHERE id = ? AND owner = ?",
                                (conversation_id or "", owner)).fetchone()
            if head is None:
                raise ConversationNotFound(f"no conversation {conversation_id!r}")
            rows = conn.execute("SELECT * FROM turns WHERE conversation_id = ? ORDER BY position",
                                (conversation_id,)).fetchall()
        turns = [Turn(r["position"], r["question"], r["as_of"], json.loads(r["answer_json"]), r["answer_html"],
                      r["sources_html"], r["created_at"]) for r in rows]
        return Conversation(head["id"], head["owner"], head["title"], head["created_at"], head["updated_at"], turns)

    # ------------------------------------------------------------------------------------------ feedback

    def set_feedback(self, owner: str, conversation_id: str, position: int, rating: int | None = None,
                     note: str | None = None) -> None:
        """Thumbs up (+1) / down (-1) / cleared (0) and an optional note on one answer. The row keeps its own
        copy of the question, earlier turns, as-of date and answer, so it outlives the conversation as an
        eval case (`rag feedback export`). `rating=None` keeps the rating; `note=None` keeps the note."""
        conversation = self.get(owner, conversation_id)
        turn = next((t for t in conversation.turns if t.position == position), None)
        if turn is None:
            raise ConversationNotFound(f"no answer {position} in conversation {conversation_id!r}")
        if rating is not None and rating not in (-1, 0, 1):
            raise ValueError("rating must be 1 (up), -1 (down) or 0 (none)")
        if note is not None:
            note = re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", "", note)[:MAX_NOTE_CHARS].strip()
        now = time.time()
        with self.db.connect() as conn:
            conn.execute(
                "INSERT INTO feedback (owner, conversation_id, position, rating, note, question, history_json, as_of, "
                "answer_json, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (conversation_id, position) DO UPDATE SET "
                "rating = COALESCE(excluded.rating, feedback.rating), "
                "note = CASE WHEN ? THEN excluded.note ELSE feedback.note END, updated_at = excluded.updated_at",
                (owner, conversation_id, position, None if rating is None else (rating or None), note or "",
                 turn.question, json.dumps(conversation.history(position), ensure_ascii=False), turn.as_of,
                 json.dumps(turn.answer, ensure_ascii=False), now, now, note is not None))
            if rating == 0:  # cleared: COALESCE above kept the old value
                conn.execute("UPDATE feedback SET rating = NULL WHERE conversation_id = ? AND position = ?",
                             (conversation_id, position))

    def feedback(self, owner: str | None = None) -> list[dict[str, Any]]:
        """Feedback rows (all users' when owner is None: for the server's operator, `rag feedback export`)."""
        query = "SELECT * FROM feedback" + (" WHERE owner = ?" if owner else "") + " ORDER BY id"
        with self.db.connect(write=False) as conn:
            rows = conn.execute(query, (owner,) if owner else ()).fetchall()
        return [{"id": r["id"], "owner": r["owner"], "conversation_id": r["conversation_id"],
                 "position": r["position"], "rating": r["rating"], "note": r["note"], "question": r["question"],
                 "history": json.loads(r["history_json"]), "as_of": r["as_of"],
                 "answer": json.loads(r["answer_json"]), "created_at": r["created_at"]} for r in rows]


def conversation_markdown(conversation: Conversation) -> str:
    """The conversation as Markdown: each question, its answer with [n] citations, and the answer's sources."""
    lines = [f"# {_md_line(conversation.title)}", "",
             f"_{len(conversation.turns)} question(s); started {_iso(conversation.created_at)}, "
             f"last {_iso(conversation.updated_at)}_", ""]
    for turn in conversation.turns:
        answer = turn.answer
        lines += [f"## Q{turn.position + 1}. {_md_line(turn.question)}", ""]
        if turn.as_of:
            lines += [f"_as of {turn.as_of}_", ""]
        if answer.get("refused"):
            lines += [f"> Not found in the corpus: {answer.get('answer', '')}", ""]
        else:
            lines += [str(answer.get("answer", "")), ""]
        if answer.get("warning"):
            lines += [f"_warning: {answer['warning']}_", ""]
        citations = answer.get("citations") or []
        if citations:
            lines += ["Sources:", ""]
            for c in citations:
                date = c.get("date") or "no date"
                url = f" <{c['url']}>" if c.get("url") else ""
                check = "supported" if c.get("supported") else "NOT supported by the passage"
                lines.append(f"- [{c['n']}] {_md_line(c.get('title', ''))} ({date}) `{c.get('source', '')}`{url} "
                             f"({check})")
                passage = " ".join(str(c.get("text", "")).split())
                lines.append(f"  > {passage}")
            lines.append("")
        elif answer.get("retrieved"):
            closest = list(dict.fromkeys(h["source"] for h in answer["retrieved"]))[:3]
            lines += ["Closest sources: " + ", ".join(f"`{s}`" for s in closest), ""]
    return "\n".join(lines).rstrip() + "\n"


def _md_line(text: str) -> str:
    return " ".join(str(text).split())
