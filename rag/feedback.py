"""Feedback on the web chat's answers as eval rows (`rag feedback export`), in the format `rag eval` reads.

- 👍 on an answer: a regression case. `answers` holds the accepted answer (citation markers removed) and
  `gold_sources` the files it cited; `rag eval` then checks a later version still finds and says the same.
- 👍 on a refusal: a case that must stay refused (`answerable: false`).
- 👎: a case to fix. The user said the answer was wrong but not what is right, so no gold is invented:
  `answers` and `gold_sources` are empty, `needs_gold: true`, and the rejected answer, its sources and the
  user's note come along (`rejected_answer`, `rejected_sources`, `note`) for whoever fills in the gold. Until
  then `rag eval` scores it on retrieval-free measures only (citation support; refusal if `answerable` is set
  to false by the reviewer).
Each row keeps the conversation before the question (`history`), so follow-ups are asked as they were, and
`asked_on`: the as-of date the question was asked with, else the day it was asked. User names are not exported.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rag.answer.citations import strip_citations
from rag.conversations import ConversationStore


def feedback_rows(store: ConversationStore) -> tuple[list[dict[str, Any]], int]:
    """(eval rows of every rated answer, number of unrated rows skipped: a note without a thumb)."""
    rows: list[dict[str, Any]] = []
    skipped = 0
    for fb in store.feedback():
        if fb["rating"] not in (1, -1):
            skipped += 1
            continue
        answer = fb["answer"]
        cited = list(dict.fromkeys(c["source"] for c in answer.get("citations") or []))
        row: dict[str, Any] = {
            "id": f"feedback-{fb['id']}",
            "question": fb["question"],
            "history": fb["history"],
            "asked_on": fb["as_of"] or datetime.fromtimestamp(fb["created_at"], UTC).strftime("%Y-%m-%d"),
            "feedback": "up" if fb["rating"] == 1 else "down",
            "note": fb["note"],
        }
        if fb["rating"] == 1 and answer.get("refused"):
            row.update(answers=[], gold_sources=[], answerable=False)
        elif fb["rating"] == 1:
            row.update(answers=[strip_citations(str(answer.get("answer", ""))).strip()], gold_sources=cited,
                       answerable=True)
        else:
            row.update(answers=[], gold_sources=[], answerable=True, needs_gold=True,
                       rejected_answer=str(answer.get("answer", "")), rejected_refusal=bool(answer.get("refused")),
                       rejected_sources=cited or [h["source"] for h in answer.get("retrieved") or []][:5])
        rows.append(row)
    return rows, skipped
