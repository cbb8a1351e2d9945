"""Question files (JSONL lines with at least {"question"}), as read by `rag search/ask --queries` and `rag eval`.

An optional "asked_on" (YYYY-MM-DD or YYYY/MM/DD) is the question's as-of date; it is normalised to YYYY-MM-DD."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Any

from rag.errors import QuestionFileError
from rag.timewindow import AsOfError, parse_as_of

log = logging.getLogger(__name__)


def parse_question_lines(lines: Iterable[str], name: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    seen: dict[str, dict[str, Any]] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise QuestionFileError(f"{name}:{number}: not valid JSON ({exc})") from None
        if not isinstance(row, dict) or not isinstance(row.get("question"), str) or not row["question"].strip():
            raise QuestionFileError(f'{name}:{number}: each line needs a "question" string')
        if row.get("asked_on") is not None:
            try:
                row["asked_on"] = parse_as_of(str(row["asked_on"]), '"asked_on"').isoformat()
            except AsOfError as exc:
                raise QuestionFileError(f"{name}:{number}: {exc}") from None
        row["id"] = str(row.get("id", number))
        if row["id"] in seen:
            # A repeated line (news23's file has one) asks nothing new: skip it, say so. The same id with
            # other content is ambiguous: refuse the file.
            if row == seen[row["id"]]:
                log.warning("%s:%d: the same line as id %r again, skipped", name, number, row["id"])
                continue
            raise QuestionFileError(f"{name}:{number}: duplicate id {row['id']!r} with different content")
        seen[row["id"]] = row
        rows.append(row)
    return rows
