"""The answer to a question that asks only for the news of a period ("What happened this week?", "Any news from
yesterday?": rag.timewindow.time_only): a digest of the window's stories, in the order the search ranks them (newest
first), each by the first sentence of its opening passage that the citation check accepts, dated and cited:

    As of 30 November 2026: on 28 November, Serbian and American troops ended … [1]; on 27 November, two red panda
    cubs were born … [2].

No language model writes it, whatever the backend: a list of what the articles themselves say first is what such a
question asks for, and a small model shown four unrelated passages wrote about one of them (docs/time.md)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from rag.answer.citations import split_sentences
from rag.answer.policy import SentenceJudge, Verdict
from rag.answer.text import headline_end, lowered_opener
from rag.timewindow import format_day
from rag.types import Chunk, Hit
from rag.verify import SupportChecker

# The sentences of an opening passage read for its story's first verified one.
LEDE_SENTENCES = 4
_MIN_WORDS = 4  # shorter "sentences" are captions, bylines or kickers, not what happened


@dataclass(frozen=True)
class DigestItem:
    """One story of the digest: its hit (the passage cited) and its first verified sentence."""

    hit: Hit
    verdict: Verdict
    day: dt.date


def digest_items(hits: list[Hit], checker: SupportChecker, limit: int) -> list[DigestItem]:
    """The first `limit` dated hits inside the question's window, each with its first sentence the check accepts;
    a story none of whose opening sentences is accepted is left out."""
    items: list[DigestItem] = []
    for hit in hits:
        if len(items) == limit:
            break
        if not hit.in_window or not hit.chunk.date:
            continue
        try:
            day = dt.date.fromisoformat(hit.chunk.date[:10])
        except ValueError:
            continue
        verdict = lede(hit.chunk, checker)
        if verdict is not None:
            items.append(DigestItem(hit, verdict, day))
    return items


def lede(chunk: Chunk, checker: SupportChecker) -> Verdict | None:
    """The passage's first sentence, past its headline, that the citation check accepts against the passage."""
    judge = SentenceJudge(checker, [chunk])
    for sentence in split_sentences(chunk.text)[:LEDE_SENTENCES]:
        text = " ".join(sentence[headline_end(sentence, chunk.title) :].split())
        if len(text.split()) < _MIN_WORDS:
            continue
        verdict = judge.judge(f"{text} [1]", origin="quote")
        if verdict is not None and verdict.supported and verdict.citations == [1]:
            return verdict
    return None


def opening(as_of: dt.date) -> str:
    return f"As of {format_day(as_of)}: "


def clause(item: DigestItem, as_of: dt.date, last: bool) -> str:
    """"on 28 November, <the story's sentence>;" (the year named only when it is not the as-of date's; "." for the
    last), without its citation marker."""
    day = f"{item.day.day} {format_day(item.day).split()[1]}"
    when = day if item.day.year == as_of.year else format_day(item.day)
    text = re.sub(r"[.;:,]+$", "", item.verdict.text.rstrip())
    return f"on {when}, {lowered_opener(text)}{'.' if last else ';'}"


def with_marker(text: str, n: int) -> str:
    """The clause with its citation marker before its closing ";" or "." ("… pay rise [4].")."""
    return f"{text[:-1]} [{n}]{text[-1]}"
