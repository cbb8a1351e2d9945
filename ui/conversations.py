"""The web chat's saved conversations and feedback: the panel, its events, and their API endpoints.

State per browser tab (`conversation` gr.State): {"id": saved conversation id or None, "positions": the saved turn
position of each assistant message, None where an answer failed and was not saved}. Every handler checks the
user on the server and scopes the store by it (rag/conversations.py).
"""

from __future__ import annotations

import logging
import re
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

import gradio as gr

from rag.answer.engine import Answer
from rag.auth import AccessPolicy
from rag.conversations import ConversationNotFound, ConversationStore, conversation_markdown
from rag.storage import write_error_line
from rag.ui.auth import require
from rag.ui.render import escape, retrieved_html, sources_html
from rag.users import Role

log = logging.getLogger(__name__)

NEW_CONVERSATION: dict[str, Any] = {"id": None, "positions": []}


def _fail(exc: Exception) -> gr.Error:
    return gr.Error(escape(str(exc).strip("'\"")), print_exception=False)


def save_turn(store: ConversationStore, owner: str, state: dict[str, Any], question: str, answer: Answer,
              answer_html: str, sources: str, as_of: str | None = None) -> tuple[dict[str, Any], str]:
    """Save one answered turn. Returns the new state and a warning to show under the answer ("" if saved):
    a failed save (full disk, damaged database) never loses the answer on screen nor what was saved before."""
    try:
        conversation_id, position = store.append_turn(owner, state.get("id"), question, answer.to_dict(),
                                                      answer_html, sources, as_of)
    except ConversationNotFound:  # deleted in another tab: this answer starts a new conversation
        conversation_id, position = store.append_turn(owner, None, question, answer.to_dict(), answer_html,
                                                      sources, as_of)
    except (sqlite3.Error, OSError) as exc:
        reason = write_error_line(exc, store.db.path.parent)
        log.error("conversation not saved: %s", reason)
        return ({"id": state.get("id"), "positions": [*state.get("positions", []), None]},
                f'<div class="warn">⚠ this answer was not saved: {escape(reason)}</div>')
    return {"id": conversation_id, "positions": [*state.get("positions", []), position]}, ""


def _choices(store: ConversationStore, owner: str) -> list[tuple[str, str]]:
    return [(f"{c['title']} · {c['updated_at'][:10]}", c["id"]) for c in store.list(owner)]


def _safe_file_stem(title: str) -> str:
    return re.sub(r"[^\w\- ]+", "_", title, flags=re.UNICODE).strip(" _")[:60] or "conversation"


def conversation_panel(policy: AccessPolicy, store: ConversationStore, *, chatbot: gr.Chatbot,
                       history_state: gr.State, sources: gr.HTML, retrieved: gr.HTML,
                       conversation: gr.State) -> dict[str, Any]:
    """Build the panel inside the current layout block and wire its events. Returns its components."""
    with gr.Accordion("Saved conversations", open=True, elem_id="conversations-panel"):
        saved = gr.Dropdown(label="Reopen a conversation", choices=[], value=None, elem_id="conversation-list",
                            allow_custom_value=False, interactive=True)
        title = gr.Textbox(label="Title", max_lines=1, elem_id="conversation-title")
        with gr.Row():
            rename = gr.Button("Rename", size="sm", elem_id="rename-conversation")
            forget = gr.Button("Delete", size="sm", variant="stop", elem_id="delete-conversation")
            export = gr.Button("Export Markdown", size="sm", elem_id="export-conversation")
        exported = gr.File(label="Markdown export", visible=False, elem_id="conversation-export")
        conversation_status = gr.Markdown(elem_id="conversation-status")
    with gr.Accordion("Feedback on an answer", open=False, elem_id="feedback-panel"):
        # Words, not 👍/👎: without a colour-emoji font (Debian's chromium has none) emoji are empty boxes.
        gr.Markdown("Use the Like / Dislike buttons under an answer; add a note here (it goes with the last "
                    "answer you rated, or the last answer).")
        note = gr.Textbox(label="Note", lines=2, elem_id="feedback-note")
        send_note = gr.Button("Save note", size="sm", elem_id="save-note")
    feedback_status = gr.Markdown(elem_id="feedback-status")  # outside the accordion: seen while it is closed
    rated = gr.State(None)  # position of the answer last rated in this tab

    def refresh(state: dict[str, Any], request: gr.Request):  # noqa: ANN202
        who = require(policy, request, Role.reader)
        current = state.get("id") if state else None
        choices = _choices(store, who.name)
        title_value = next((label.rsplit(" · ", 1)[0] for label, cid in choices if cid == current), "")
        return gr.update(choices=choices, value=current), title_value

    def open_conversation(conversation_id: str | None, request: gr.Request):  # noqa: ANN202
        who = require(policy, request, Role.reader)
        if not conversation_id:
            return gr.update(), gr.update(), gr.update(), gr.update(), gr.update(), gr.update(), ""
        try:
            saved_conversation = store.get(who.name, conversation_id)
        except ConversationNotFound as exc:
            raise _fail(exc) from None
        chat: list[dict[str, str]] = []
        for turn in saved_conversation.turns:
            chat += [{"role": "user", "content": escape(turn.question)},
                     {"role": "assistant", "content": turn.answer_html}]
        last_sources = saved_conversation.turns[-1].sources_html if saved_conversation.turns else sources_html(None)
        state = {"id": saved_conversation.id, "positions": [t.position for t in saved_conversation.turns]}
        return (chat, saved_conversation.history(), last_sources, retrieved_html(None), state,
                saved_conversation.title, "")

    def rename_current(state: dict[str, Any], new_title: str, request: gr.Request):  # noqa: ANN202
        who = require(policy, request, Role.reader)
        if not state.get("id"):
            return gr.update(), gr.update(), "Ask a question first: a conversation is saved with its first answer."
        try:
            store.rename(who.name, state["id"], new_title)
        except (ConversationNotFound, ValueError) as exc:
            raise _fail(exc) from None
        choices, title_value = refresh(state, request)
        return choices, title_value, "Renamed."

    def delete_current(state: dict[str, Any], request: gr.Request):  # noqa: ANN202
        who = require(policy, request, Role.reader)
        if state.get("id"):
            try:
                store.delete(who.name, state["id"])
            except ConversationNotFound as exc:
                raise _fail(exc) from None
        fresh = dict(NEW_CONVERSATION)
        choices, _ = refresh(fresh, request)
        return [], [], sources_html(None), retrieved_html(None), fresh, choices, "", "Deleted."

    def export_current(state: dict[str, Any], request: gr.Request):  # noqa: ANN202
        who = require(policy, request, Role.reader)
        if not state.get("id"):
            return gr.update(visible=False), "Nothing to export yet."
        try:
            saved_conversation = store.get(who.name, state["id"])
        except ConversationNotFound as exc:
            raise _fail(exc) from None
        folder = Path(tempfile.mkdtemp(prefix="newsrag-export-"))
        path = folder / f"{_safe_file_stem(saved_conversation.title)}.md"
        path.write_text(conversation_markdown(saved_conversation), encoding="utf-8")
        return gr.update(value=str(path), visible=True), ""

    def rate(state: dict[str, Any], like: gr.LikeData, request: gr.Request):  # noqa: ANN202
        who = require(policy, request, Role.reader)
        index = like.index if isinstance(like.index, int) else like.index[0]
        positions = state.get("positions", [])
        answer_number = index // 2
        if answer_number >= len(positions) or positions[answer_number] is None:
            return gr.update(), "This answer was not saved, so it cannot be rated."
        rating = 0 if like.liked is None else (1 if like.liked is True or like.liked == "Like" else -1)
        try:
            store.set_feedback(who.name, state["id"], positions[answer_number], rating=rating)
        except (ConversationNotFound, ValueError) as exc:
            raise _fail(exc) from None
        word = {1: "Like saved", -1: "Dislike saved", 0: "Rating cleared"}[rating]
        return positions[answer_number], f"{word} for answer {answer_number + 1}."

    def save_note(state: dict[str, Any], target: int | None, text: str, request: gr.Request):  # noqa: ANN202
        who = require(policy, request, Role.reader)
        positions = [p for p in state.get("positions", []) if p is not None]
        if not state.get("id") or not positions:
            return gr.update(), "No saved answer to add a note to yet."
        position = target if target is not None else positions[-1]
        try:
            store.set_feedback(who.name, state["id"], position, note=text or "")
        except (ConversationNotFound, ValueError) as exc:
            raise _fail(exc) from None
        return "", f"Note saved for answer {positions.index(position) + 1}."

    # --- the API: the same checks as the page -----------------------------------------------------------------

    def api_conversations(request: gr.Request = None) -> list[dict[str, Any]]:  # type: ignore[assignment]
        """The caller's saved conversations: id, title, created_at, updated_at, turns."""
        who = require(policy, request, Role.reader)
        return store.list(who.name)

    def api_conversation(conversation_id: str, request: gr.Request = None) -> dict[str, Any]:  # type: ignore[assignment]
        """One of the caller's conversations with its turns (question, as_of, answer as in /ask)."""
        who = require(policy, request, Role.reader)
        try:
            found = store.get(who.name, conversation_id)
        except ConversationNotFound as exc:
            raise _fail(exc) from None
        return {**found.summary(), "turns": [{"position": t.position, "question": t.question, "as_of": t.as_of,
                                              "answer": t.answer} for t in found.turns]}

    def api_rename(conversation_id: str, new_title: str, request: gr.Request = None) -> str:  # type: ignore[assignment]
        """Rename one of the caller's conversations; returns the stored title."""
        who = require(policy, request, Role.reader)
        try:
            return store.rename(who.name, conversation_id, new_title)
        except (ConversationNotFound, ValueError) as exc:
            raise _fail(exc) from None

    def api_forget(conversation_id: str, request: gr.Request = None) -> str:  # type: ignore[assignment]
        """Delete one of the caller's conversations."""
        who = require(policy, request, Role.reader)
        try:
            store.delete(who.name, conversation_id)
        except ConversationNotFound as exc:
            raise _fail(exc) from None
        return "deleted"

    def api_export(conversation_id: str, request: gr.Request = None) -> str:  # type: ignore[assignment]
        """One of the caller's conversations as Markdown, with every answer's citations and sources."""
        who = require(policy, request, Role.reader)
        try:
            return conversation_markdown(store.get(who.name, conversation_id))
        except ConversationNotFound as exc:
            raise _fail(exc) from None

    def api_feedback(conversation_id: str, position: int, rating: int, note: str = "",
                     request: gr.Request = None) -> str:  # type: ignore[assignment]
        """Rate answer `position` (0-based) of one of the caller's conversations: 1 up, -1 down, 0 none; a note."""
        who = require(policy, request, Role.reader)
        try:
            store.set_feedback(who.name, conversation_id, int(position), rating=int(rating), note=note)
        except (ConversationNotFound, ValueError) as exc:
            raise _fail(exc) from None
        return "saved"

    gr.api(api_conversations, api_name="conversations")
    gr.api(api_conversation, api_name="conversation")
    gr.api(api_rename, api_name="rename_conversation")
    gr.api(api_forget, api_name="delete_conversation")
    gr.api(api_export, api_name="export_conversation")
    gr.api(api_feedback, api_name="feedback")

    chat_outputs = [chatbot, history_state, sources, retrieved, conversation]
    saved.input(open_conversation, [saved], [*chat_outputs, title, conversation_status], api_name=False)
    rename.click(rename_current, [conversation, title], [saved, title, conversation_status], api_name=False)
    forget.click(delete_current, [conversation], [*chat_outputs, saved, title, conversation_status], api_name=False)
    export.click(export_current, [conversation], [exported, conversation_status], api_name=False)
    chatbot.like(rate, [conversation], [rated, feedback_status], api_name=False)
    send_note.click(save_note, [conversation, rated, note], [note, feedback_status], api_name=False)
    return {"list": saved, "title": title, "refresh": refresh, "status": conversation_status}
