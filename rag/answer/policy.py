"""Answer policy: verified or not shown.

Every sentence a generator writes is checked against the passages it cites (rag/verify.py) the moment it is
complete. A sentence the check accepts becomes part of the answer; one it rejects never does, anywhere (the
streamed text, the final answer, `--json`, the chat, the API): it is kept apart in `Answer.rejected`, which
the chat and the CLI show separately, clearly marked as not supported, for transparency.

Citations are tidied by the same rule: a sentence without a citation, or whose citations do not support it,
is given the passage that supports it best, if the check accepts that passage, and of several citations only those that carry the sentence are kept
(a citation that neither supports the sentence alone nor is needed by the others is dropped, ALCE's
"irrelevant" citation). So each shown sentence has one verdict, "supported", in the answer and in the sources
panel alike, and every source listed is one that a shown sentence rests on.

Repair, when no generated sentence survives (`answer_repair`, measured in docs/design.md):
- "quote-always" (default): beside the model's checked sentences, the best evidence sentence, verbatim and
  verified, labelled as a quotation (`origin="quote"`), unless the model's sentences say most of it already.
- "quote": the quotation only when no generated sentence survives.
- The model's own "I cannot find it" gives way to the quotation as well: the gates before generation found
  passages that cover the question, and a small model's "cannot find" there was wrong in 2 of 2 cases on the
  sample set (docs/benchmarks.md); the quotation is verified like any sentence.
- "drop": refuse.

What the check reads (measured: docs/benchmarks.md#the-local-models-own-sentences-issue-12): passage headers the
model repeats are taken out of its text before it is split (`strip_echoes`), frames such as "According to the
passage," off each sentence (`clean_model_sentence`); the rest is checked as written. When the model's sentences
were rejected, their answer words guide an added quotation (`guided`).

What is shown of the accepted sentences, and in which order (docs/design.md, "What the answer shows"): a
sentence that tells nothing (a restatement of the question, debris, an article's question, the model's comment)
is listed in `omitted`, not shown (`ShownFilter`); the one holding the asked-for kind of answer leads
(`LeadOrder`), in the stream as in the final answer.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from rag.answer.citations import CITATION_RE, NAME_TITLES, CitedSentence, _expand, split_sentences
from rag.answer.text import (
    MONTH_WORDS,
    STOPWORDS,
    WEEKDAY_WORDS,
    content_terms,
    looks_like_instruction,
    question_terms,
    without_context,
    without_possessives,
)
from rag.types import Chunk
from rag.verify import SupportChecker

log = logging.getLogger(__name__)

# What small models write instead of the exact refusal sentence.
MODEL_REFUSAL_RE = re.compile(
    r"couldn'?t find|could not find|cannot find|can'?t find|not (?:mentioned|stated|provided|found|included|given)"
    r"|no information|do(?:es)? not (?:contain|mention|say|provide|include)|i don'?t know|unable to (?:find|answer)"
    r"|not in the (?:corpus|passages|articles)",
    re.IGNORECASE,
)


@dataclass
class Verdict:
    """One sentence and the check's verdict on it."""

    text: str  # without citation markers
    citations: list[int]  # original passage numbers (1-based positions in the passages the generator saw)
    supported: bool
    support: float
    origin: str = "model"  # "model": written by the generator; "quote": an evidence sentence, verbatim

    def as_cited(self) -> CitedSentence:
        return CitedSentence(text=self.text, citations=list(self.citations), supported=self.supported,
                             support=self.support)


_WORD_SPAN_RE = re.compile(r"\w+")


def _word_spans(text: str) -> list[tuple[str, int, int]]:
    return [(m.group().lower(), m.start(), m.end()) for m in _WORD_SPAN_RE.finditer(text)]


def _header_words(passages: Sequence[Chunk]) -> list[tuple[list[str], list[str]]]:
    """Each passage's header as the prompt shows it, "(Title, 2023-05-18)" (rag/answer/prompt.py), in words."""
    return [([w for w, _, _ in _word_spans(p.title)], [w for w, _, _ in _word_spans(p.date or "")])
            for p in passages]


def _echo_spans(text: str, passages: Sequence[Chunk]) -> list[tuple[int, int]]:
    """(start, end) of each passage header the text repeats: a passage's title words followed by its date
    ("…, replacing Tyra Banks, 2023-03-20": the title's last words are enough before the date), a whole title of
    three words or more in parentheses, or a parenthesised header cut off by the end of the text.
    Only the headers of the passages the model saw count, never any parenthesis: a made-up "title" stays part
    of the sentence and is checked with it."""
    words = _word_spans(text)
    found: list[tuple[int, int]] = []
    for title, date in _header_words(passages):
        if not title:
            continue
        for k in range(len(words)):
            if date and [w for w, _, _ in words[k:k + len(date)]] == date:
                t, j = k - 1, len(title) - 1
                while t >= 0 and j >= 0 and words[t][0] == title[j]:
                    t, j = t - 1, j - 1
                if len(title) - 1 - j >= min(2, len(title)):
                    found.append((words[t + 1][1], words[k + len(date) - 1][2]))
            if (len(title) >= 3 and [w for w, _, _ in words[k:k + len(title)]] == title
                    and text[:words[k][1]].rstrip().endswith("(")):
                found.append((words[k][1], words[k + len(title) - 1][2]))
        opened = text.rfind("(")
        tail = [w for w, start, _ in words if start > opened] if opened >= 0 and ")" not in text[opened:] else []
        header = title + date
        if (3 <= len(tail) <= len(header) and tail[:-1] == header[:len(tail) - 1]
                and header[len(tail) - 1].startswith(tail[-1])):
            found.append((opened + 1, len(text)))
    merged: list[tuple[int, int]] = []
    for start, end in sorted(found):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def strip_echoes(text: str, passages: Sequence[Chunk]) -> str:
    """The model's text without the passage headers it repeats ("(ESPN plans to launch subscription streaming
    service, 2023-05-18) Earlier this week, …"): a header marks where a passage's text starts, so it becomes a
    sentence boundary, and the text on either side is checked on its own. A header is no claim of the model's:
    a list of headlines ("Kaiser Permanente strike: Why over 75K workers walked off the job, 2023-10-04 …")
    answers nothing (measured: checking a headline against its title added no right answer on news23-small,
    only headline lists; docs/benchmarks.md#the-local-models-own-sentences-issue-12)."""
    out: list[str] = []
    cursor = 0
    for start, end in _echo_spans(text, passages):
        if text[start - 1: start] == "(":
            start -= 1
        if text[end: end + 1] == ")":
            end += 1
        out += [text[cursor:start], "\n\n"]
        cursor = end
    out.append(text[cursor:])
    return "".join(out)


def _unclosed_paren(text: str) -> int | None:
    """Where a parenthesis opens that the text has not closed yet (a header still being written)."""
    depth_at: list[int] = []
    for i, char in enumerate(text):
        if char == "(":
            depth_at.append(i)
        elif char == ")" and depth_at:
            depth_at.pop()
    return depth_at[0] if depth_at else None


@dataclass
class SentenceStream:
    """Feed generated text piece by piece; complete sentences come out once the next one starts (and, with
    `passages`, no parenthesis is left open). With `passages`, the headers of those passages that the text repeats
    are taken out first (strip_echoes). Only the text after what was already given out is split again, so a
    sentence given out is never taken back or counted twice, and the cost stays linear in the text."""

    buffer: str = ""
    passages: Sequence[Chunk] = ()
    _released: int = 0  # offset in `buffer` where the text not yet given out starts

    def _sentences(self, text: str) -> list[str]:
        return split_sentences(strip_echoes(text, self.passages) if self.passages else text)

    def feed(self, piece: str) -> list[str]:
        self.buffer += piece
        pending = self.buffer[self._released:]
        # A header being written may hold a full stop ("(Graham called for Putin's assassination. Even …, date)"):
        # nothing after an open parenthesis is released until it closes.
        cut = _unclosed_paren(pending) if self.passages else None
        sentences = self._sentences(pending if cut is None else pending[:cut])
        if len(sentences) < 2:
            return []
        # The last sentence may still grow (a sentence ends only when the next one starts): hold it back, and
        # everything from where it starts (it is raw text: a stripped header only ever ends a sentence).
        start = pending.rfind(sentences[-1])
        if start < 0:
            return []  # not found as written: hold all back; close() gives it out
        self._released += start
        return sentences[:-1]

    def close(self) -> list[str]:
        rest = self._sentences(self.buffer[self._released:])
        self._released = len(self.buffer)
        return rest


def _bare(sentence: str) -> str:
    text = CITATION_RE.sub("", sentence)
    text = re.sub(r"\s+([.,;:!?])", r"\1", text)
    return re.sub(r"\s{2,}", " ", text).strip()


# How small models frame a claim: "According to the passage, X", "The article states that X". The frame names
# no fact (and "passage" is no word of any article), so X alone is checked and shown.
_FRAME_RE = re.compile(
    r"^(?:(?:according to|based on|as (?:stated|mentioned|reported|described) in)\s+(?:the\s+)?"
    r"(?:(?:given|provided|above|first|second|third|cited)\s+)?(?:passages?|articles?|texts?|information|context|"
    r"sources?|evidence)(?:\s*\(?\d+\)?)?(?:\s+(?:provided|given|above))?\s*,\s*"
    r"|(?:(?:the\s+)?(?:passages?|articles?)|the\s+texts?)(?:\s*\(?\d+\)?)?\s+(?:states?|says?|mentions?|notes?|"
    r"reports?|indicates?|explains?|shows?)\b(?!\s+(?:nothing|no|not|none|neither|never)\b)\s*(?:that\s+|:\s*|,\s*)?)",
    re.IGNORECASE,
)
_TRAILING_FRAME_RE = re.compile(
    r",?\s+(?:according to|as (?:stated|mentioned|reported) in)\s+(?:the\s+)?(?:passages?|articles?|texts?)"
    r"(?:\s*\(?\d+\)?)?(?=[.!?]?$)", re.IGNORECASE)
# The evidence's own joiner (" … ", rag/answer/evidence.py), list bullets and a stray bracket, repeated at a
# sentence's edges.
_EDGE_RE = re.compile(r"^(?:[\s…◾•▪■*·]|[–—-](?=\s))+|(?<=\S)\s+(?:…|\.\.\.)$")


def clean_model_sentence(text: str) -> str:
    """A model sentence without the frame around its claim and the evidence joiner at its edges; the claim
    itself is left word for word (it is what the check reads)."""
    cleaned = _EDGE_RE.sub("", _FRAME_RE.sub("", _TRAILING_FRAME_RE.sub("", _EDGE_RE.sub("", text)))).strip()
    if cleaned != text and cleaned[:1].islower() and not cleaned[1:2].isupper():  # not "iPhone" → "IPhone"
        cleaned = cleaned[0].upper() + cleaned[1:]
    return cleaned


def _one_word_repeated(text: str) -> bool:
    """"CNN CNN CNN": a small model's stutter names no claim, though every word of it is in the passage."""
    tokens = re.findall(r"\w+", text.lower())
    return len(tokens) > 1 and len(set(tokens)) == 1


def _cited_numbers(sentence: str, passage_count: int) -> list[int]:
    numbers: list[int] = []
    for group in CITATION_RE.findall(sentence):
        for n in _expand(group):
            if 1 <= n <= passage_count and n not in numbers:
                numbers.append(n)
    return numbers


@dataclass
class SentenceJudge:
    """Checks one generated sentence against the passages it cites (see the module docstring)."""

    checker: SupportChecker
    passages: Sequence[Chunk]
    auto_cite: bool = True  # cite the best passage for a sentence that names none (off for the plain baseline)

    def judge(self, raw_sentence: str, origin: str = "model") -> Verdict | None:
        """None for a sentence with no words left once its markers are removed, or one word repeated."""
        text = without_kicker(_bare(raw_sentence))
        if origin == "model":
            text = clean_model_sentence(text)
        if not text.strip(" .,;:!?") or _one_word_repeated(text):
            return None
        numbers = _cited_numbers(raw_sentence, len(self.passages))
        if not numbers and self.auto_cite and not MODEL_REFUSAL_RE.search(text):
            best = self._best_passage(text)
            numbers = [best] if best else []
        if not numbers:
            return Verdict(text, [], False, 0.0, origin)
        score = self._support(numbers, text)
        if not self.checker.is_supported(score) and self.auto_cite:
            # A small model often cites the wrong one of the passages it saw: cite the one that supports the
            # sentence instead, if the check accepts one (the claim is still checked, against that passage).
            best = self._best_passage(text)
            if best is not None:
                numbers, score = [best], self._support([best], text)
        # Text that reads as an instruction is never presented as a supported fact.
        supported = self.checker.is_supported(score) and not looks_like_instruction(text)
        if supported and len(numbers) > 1:
            numbers = self._needed(text, numbers)
        return Verdict(text, numbers, supported, score, origin)

    def _support(self, numbers: list[int], text: str) -> float:
        return self.checker.score("\n".join(self.passages[n - 1].text for n in numbers), text)

    def _best_passage(self, text: str) -> int | None:
        """A citation is never added that the check would reject."""
        scores = self.checker.scores([(p.text, text) for p in self.passages])
        best = max(range(len(self.passages)), key=lambda i: scores[i])
        return best + 1 if self.checker.is_supported(scores[best]) else None

    def _needed(self, text: str, numbers: list[int]) -> list[int]:
        """Drop citations the sentence does not rest on (ALCE: irrelevant = does not support it alone and the
        others still do without it), one at a time, so at least one citation always remains."""
        kept = list(numbers)
        for n in list(numbers):
            if len(kept) == 1:
                break
            rest = [m for m in kept if m != n]
            alone = self.checker.is_supported(self._support([n], text))
            if not alone and self.checker.is_supported(self._support(rest, text)):
                kept = rest
        return kept


@dataclass
class PolicyOutcome:
    shown: list[Verdict] = field(default_factory=list)  # the answer, in order: supported sentences only
    rejected: list[Verdict] = field(default_factory=list)  # what the check rejected: never part of the answer
    # Supported sentences not shown, each with why (ShownFilter): transparency, never part of the answer.
    omitted: list[tuple[Verdict, str]] = field(default_factory=list)
    # Shown-worthy sentences past the answer's first sentences (LeadOrder.over), also listed in `omitted`: when the
    # answer is refused after generation they are refused with the shown ones.
    over: list[Verdict] = field(default_factory=list)
    model_refused: bool = False  # the generator itself said the passages do not hold the answer
    repaired: bool = False  # the shown sentences are quotations that stand in for a rejected answer


def verified_stream(pieces: Iterator[str], judge: SentenceJudge, outcome: PolicyOutcome,
                    gate: bool = True, shown: ShownFilter | None = None, origin: str = "model") -> Iterator[Verdict]:
    """Judge sentences as they complete; yield only the supported ones. Rejected ones go to `outcome`, and so do
    supported ones that `shown` keeps out of the answer (`outcome.omitted`, with the reason).
    gate=False (the plain baseline of the evals, never a product path) yields every sentence with its verdict.
    origin="quote": the pieces are articles' sentences, verbatim (the extractive fallback after a model failure)."""
    splitter = SentenceStream(passages=judge.passages)
    raw: list[str] = []
    seen: set[str] = set()

    def judged(sentences: list[str]) -> Iterator[Verdict]:
        for sentence in sentences:
            verdict = judge.judge(sentence, origin)
            if verdict is None or verdict.text.lower() in seen:
                continue  # a repeated sentence (small models loop) is judged and shown once
            seen.add(verdict.text.lower())
            reason = (shown.omission(verdict.text) or shown.off_subject(verdict)) \
                if shown is not None and verdict.supported and gate else None
            if reason:
                outcome.omitted.append((verdict, reason))
            elif verdict.supported or not gate:
                outcome.shown.append(verdict)
                yield verdict
            else:
                outcome.rejected.append(verdict)

    for piece in pieces:
        raw.append(piece)
        yield from judged(splitter.feed(piece))
    yield from judged(splitter.close())
    text = "".join(raw)
    sentences = len(outcome.shown) + len(outcome.rejected)
    outcome.model_refused = bool(MODEL_REFUSAL_RE.search(text)) and sentences <= 2


# Weight of the model's answer words in ranking the quotation, beside the candidates' own score (0.6 cosine + 0.4
# question-term coverage + cue): swept 0–1 on news23-small and the sample set, 0.4–1.0 a plateau
# (docs/benchmarks.md#the-local-models-own-sentences-issue-12).
GUIDE_WEIGHT = 0.5


def guided(question: str, ranked: list[Any], guide: Sequence[Verdict]) -> list[Any]:
    """The candidates that hold some of the model's own answer words (its words that the question does not
    have: "Los Angeles" of "Los Angeles was forced to close one of its busiest freeways"), ranked by their score
    plus GUIDE_WEIGHT × the share of those words they hold: they point at the passage sentence the model drew
    on, even when its sentence failed the check. The quotation is still verified word for word; only its choice
    is guided."""
    answer_terms = set(content_terms(" ".join(v.text for v in guide))) - set(content_terms(question))
    shares = [len(answer_terms & set(content_terms(c.sentence))) / len(answer_terms) if answer_terms else 0.0
              for c in ranked]
    pointed = [(c.score + GUIDE_WEIGHT * share, i) for i, (c, share) in enumerate(zip(ranked, shares, strict=True))
               if share > 0]
    return [ranked[i] for _, i in sorted(pointed, key=lambda p: (-p[0], p[1]))]


def quote_repair(question: str, passages: Sequence[Chunk], judge: SentenceJudge, candidates: Any,
                 max_sentences: int = 1, already: Sequence[Verdict] = (),
                 guide: Sequence[Verdict] = (), shown: ShownFilter | None = None,
                 omitted: list[tuple[Verdict, str]] | None = None) -> list[Verdict]:
    """The best evidence sentence(s) for the question, verbatim, each verified against its own passage, unless
    the sentences `already` shown say it (most of its terms). `candidates(question, passages)` ranks sentences
    (ExtractiveAnswerer.candidates). The model's rejected sentences (`guide`) add the sentence their answer
    words point at (`guided`), when it is another one: the model's answer, in the article's own words. A
    candidate that `shown` keeps out (a restatement of the question, debris, a question) is passed over for the
    next one and listed in `omitted`."""
    said = set(content_terms(" ".join(v.text for v in already)))
    ranked = clear_span_first(candidates(question, list(passages)), shown)
    out = _quotes(ranked, judge, said, max_sentences, shown, omitted)
    # Rejected sentences guide only when no accepted sentence of the model's says more than the question (one
    # that only restates it, "Damar Hamlin suffered a medical emergency", answers nothing): beside an answer
    # they are the model's wrong turns ("joint exercises with NATO forces" beside "Platinum Wolf"). The
    # question's own best sentence stays first: a wrong answer of the model's may paraphrase a real sentence
    # that answers something else (measured: docs/benchmarks.md#the-local-models-own-sentences-issue-12).
    # Nor do the accepted sentences answer when none holds a clear span of the asked kind ("The MSG Sphere is the
    # latest attraction for Sin City to flex." for "Which city …?"): the rejected "Las Vegas lit up …" still points at
    # the passage sentence naming Las Vegas (docs/benchmarks.md#where-the-05bs-reachable-answers-are-lost-session-10-issue-12).
    asked = set(content_terms(question))
    answered = any(set(content_terms(v.text)) - asked for v in already if v.origin == "model") and (
        shown is None or not shown.asks_a_kind or any(shown.holds_answer(v.text, opening=True) >= 1.0
                                                      for v in already))
    if guide and not answered:
        chosen = {v.text for v in out}
        others = [c for c in guided(question, ranked, [v for v in guide if v.origin == "model"])
                  if _bare(c.sentence) not in chosen]
        out += _quotes(others, judge, said | set(content_terms(" ".join(chosen))), 1, shown, omitted)
    return out


def clear_span_first(ranked: list[Any], shown: ShownFilter | None) -> list[Any]:
    """The ranked candidates with, for a question asking for a place, when the best one holds no clear place (a
    name after "in", "at", "from" …: ShownFilter.holds_answer 1.0) ("… the transport secretary said on Wednesday"
    for "… launched from where?"), the best one within SECOND_SENTENCE_MARGIN of it that holds one and names the
    question moved first ("… the first launch from Cornwall"): the quotation answers what is asked when a sentence
    that does is as close as the extractive answer's second sentence. Scores are unchanged; the rest keep their
    order. Only places: for a person or another name a "clear" span is any two capitalised words, and moving to one
    lost as many answers as it gained on held-out news23 and lost more on SQuAD
    (docs/benchmarks.md#where-the-05bs-reachable-answers-are-lost-session-10-issue-12)."""
    from rag.answer.ranking import SECOND_SENTENCE_MARGIN

    if shown is None or shown.profile.kind != "place" or shown.options or not ranked \
            or shown.holds_answer(ranked[0].sentence) >= 1.0:
        return ranked
    floor = ranked[0].score - SECOND_SENTENCE_MARGIN
    clear = next((c for c in ranked[1:] if c.score >= floor and shown.holds_answer(c.sentence) >= 1.0
                  and shown.names_the_question(c.sentence)), None)
    return ranked if clear is None else [clear, *(c for c in ranked if c is not clear)]


def _quotes(ranked: list[Any], judge: SentenceJudge, said: set[str], max_sentences: int,
            shown: ShownFilter | None = None, omitted: list[tuple[Verdict, str]] | None = None) -> list[Verdict]:
    out: list[Verdict] = []
    for cand in ranked:
        if len(out) >= max_sentences:
            break
        if said_already(cand.sentence, said):
            break  # the best sentence is said already
        verdict = judge.judge(f"{cand.sentence} [{cand.passage}]", origin="quote")
        if verdict is None or not verdict.supported:
            continue
        reason = (shown.omission(verdict.text) or shown.off_subject(verdict)) if shown is not None else None
        if reason:
            if omitted is not None and all(v.text != verdict.text for v, _ in omitted):
                omitted.append((verdict, reason))
            continue
        out.append(verdict)
    return out


# ------------------------------------------------------------------------------------- what is shown

# A link or section label glued to the headline after it, as news pages print them ("More:Top-rated Fox News host
# …", "NBA TRADE DEADLINE TRACKER:Former MVP …"): a colon with no space after it. The label names no fact; the
# headline after it is judged as any sentence.
# A letter (or a year: "Super Bowl 2024:Usher confirmed …") before the colon and a capital or a quote right after
# it: a clock time ("7:30 p.m.") or a score ("won 6:4") is no label and stays verbatim.
_KICKER_RE = re.compile(r"^[A-Z][\w'’&.-]*(?: [\w'’&.-]+){0,5}(?:(?<=[A-Za-z])|(?<=\b\d{4})):(?=[\"“'‘A-Z])")
# A dateline before a wire story's first sentence: a place in capitals ("WASHINGTON - ", "NEW YORK (AP) — ",
# "WELLINGTON, New Zealand (AP) — "). Bare, without a region or an agency, it must have five letters or more or be
# a listed city ("KYIV —", "DOHA –"): a shorter word in capitals is as often an organisation that starts a
# sentence ("NASA - The agency said …").
_DATELINE_RE = re.compile(r"^(?P<place>[A-Z][A-Z.'’ -]{2,30}?)(?P<region>, [A-Z][\w.]*(?: [A-Z][\w.]*){0,2})?"
                          r"(?P<agency> \([A-Za-z]+\))? [—–-]+ (?=[\"“A-Z0-9])")
# What shows that a name in capitals before the dash is the sentence's subject, an organisation, not a place: the
# rest opens by naming it again as what it is and says what it did ("UNICEF - The agency said …", "NASCAR - The
# sanctioning body fined …"); a dateline's sentence names its own subject, and a place's name is followed by
# anything ("AUSTIN — The international commission that oversees …", "BEIJING — It's gotta be the skis."). Only a
# single word (organisations in capitals are acronyms; "NEW YORK", "KANSAS CITY" are places) that is not one of the
# cities wire datelines print alone ("WASHINGTON — The department said …"), or a phrase that starts with an
# article ("A USA TODAY NETWORK - Tennessee review …"). A dateline with a region or an agency ("YORK, Pa. —",
# "(AP) —") is a place.
_REFERS_BACK_RE = re.compile(
    r"^The (?:(?:[a-z][\w'’-]*|[A-Z.]{2,}) ){0,2}(?:agency|organi[sz]ation|group|body|company|firm|corporation|"
    r"union|league|association|federation|alliance|bloc|council|committee|commission|board|bureau|department|"
    r"ministry|fund|charity|network|party|authority|regulator|institute|foundation|administration) (?P<verb>\w+)")
# Cities that stand alone in a wire dateline (AP style, single words; "NEW YORK", "LOS ANGELES" are two), and the
# national and US state capitals that papers print alone ("KYIV —", "NASHVILLE —", "SACRAMENTO —").
_DATELINE_CITIES = frozenset("""
    WASHINGTON ATLANTA BALTIMORE BOSTON CHICAGO CINCINNATI CLEVELAND DALLAS DENVER DETROIT HONOLULU HOUSTON
    INDIANAPOLIS MIAMI MILWAUKEE MINNEAPOLIS PHILADELPHIA PHOENIX PITTSBURGH SEATTLE AMSTERDAM BAGHDAD BANGKOK
    BEIJING BEIRUT BERLIN BRUSSELS CAIRO GENEVA HAVANA HELSINKI ISLAMABAD ISTANBUL JERUSALEM JOHANNESBURG KABUL
    LONDON MADRID MILAN MONTREAL MOSCOW MUNICH PARIS PRAGUE ROME SHANGHAI SINGAPORE STOCKHOLM SYDNEY TOKYO
    TORONTO VIENNA ZURICH
    KYIV KIEV OTTAWA ABUJA ACCRA ALGIERS ANKARA ATHENS BELGRADE BERN BOGOTA BRASILIA BUCHAREST BUDAPEST CANBERRA
    CARACAS COPENHAGEN DAMASCUS DHAKA DOHA DUBLIN HANOI JAKARTA KHARTOUM KINSHASA LIMA LISBON MANILA MINSK NAIROBI
    OSLO RIYADH SANTIAGO SEOUL SOFIA TAIPEI TALLINN TBILISI TEHRAN RIGA VILNIUS WARSAW WELLINGTON YEREVAN ZAGREB
    ALBANY ANNAPOLIS AUSTIN BOISE CHEYENNE COLUMBUS HARRISBURG HARTFORD JUNEAU LANSING MADISON MONTGOMERY
    MONTPELIER NASHVILLE OLYMPIA PROVIDENCE RALEIGH RICHMOND SACRAMENTO SPRINGFIELD TALLAHASSEE TOPEKA TRENTON
    """.split())


def _names_an_organisation(place: str, rest: str) -> bool:
    """The name in capitals before a dash is the subject of the rest, not its dateline (see _REFERS_BACK_RE)."""
    if re.match(r"(?:A|AN) ", place):
        return True
    refers_back = _REFERS_BACK_RE.match(rest)
    return bool(refers_back and " " not in place.strip() and place.strip() not in _DATELINE_CITIES
                and _verb_like(refers_back["verb"]))


_LINK_LABELS = frozenset(["more", "read more", "related", "also", "see also", "watch", "listen", "opinion", "analysis"])
# A link word glued to a headline that starts with a number ("More:6.5 million pounds of beef recalled …").
_LINK_KICKER_RE = re.compile(rf"^(?i:{'|'.join(sorted(_LINK_LABELS, key=len, reverse=True))}):(?=\d)")


def _kicker(match: re.Match[str]) -> str:
    """A link word or a label in capitals names nothing and is taken off; a label in ordinary case may name the
    answer ("Taylor Swift 'Eras' movie review:Concert film …"): it stays, set apart from what follows."""
    label = match.group()[:-1]
    letters = [c for c in label if c.isalpha()]
    if label.lower() in _LINK_LABELS or (letters and all(c.isupper() for c in letters)):
        return ""
    return f"{label}: "


def without_kicker(text: str) -> str:
    """The sentence without a link label or a label in capitals glued to its front ("More:…", "LATEST UPDATES
    WEDNESDAY:…"), or a wire dateline: the rest is what it says."""
    text = _LINK_KICKER_RE.sub("", _KICKER_RE.sub(_kicker, text, count=1), count=1)
    dateline = _DATELINE_RE.match(text)
    if dateline and (dateline["region"] or dateline["agency"] or (
            (sum(c.isalpha() for c in dateline["place"]) >= 5 or dateline["place"].strip() in _DATELINE_CITIES)
            and not _names_an_organisation(dateline["place"], text[dateline.end():]))):
        text = text[dateline.end():]
    return text


# A model's comment on its own answer ("This directly answers the question by …", "I hope this helps").
_META_RE = re.compile(
    r"\b(?:answers?|address(?:es)?|respond(?:s)? to|relevant to|related to)\s+(?:the|your|this|that)\s+"
    r"(?:question|query)\b|^(?:I hope|Let me know|Please note|Note that|In (?:summary|conclusion),? (?:the|this) "
    r"(?:passage|article|text))\b", re.IGNORECASE)
# Lines that send a reader elsewhere: bylines and calls to action ("Contributing: Marc Weiszer, Athens
# Banner-Herald", "Get your men's and women's NCAA Tournament brackets").
_LINK_LINE_RE = re.compile(
    r"^(?:(?:Contributing|Reporting|Additional reporting|Contact|Related|Photo|Credit|Source|Editor's note)\b[^.]*:"
    r"|(?:Get your|Sign up|Subscribe|Click|Read more|Read the full|Watch|Listen to|Follow us|Download)\b)",
    re.IGNORECASE)
# A line that leads into what is not there ("Here is the full schedule of the tournament:"), or a sentence cut at
# an abbreviation the splitter took for its end ("She will succeed Democrat Rep.", "As John F.").
# The titles are the splitter's own (citations.NAME_TITLES): it never ends a sentence at one.
_CUT_OFF_RE = re.compile(r":\s*$|(?:(?<=\s)[A-HJ-Z]\.|\b(?:" + "|".join(re.escape(t) for t in NAME_TITLES) + r"))$")
# Verb-like words: a sentence without one (and short) is a label or a fragment, not a statement.
_VERB_WORDS = frozenset(
    """is are was were be been being am has have had do does did will would can could shall should may might must
    said says say told tells get gets got go goes went make makes made take takes took won win wins lost lose
    became become becomes left leaves came come comes ran run runs set sets hit hits put puts
    rose fell gave led met saw sent cut beat began broke brought bought built chose drew drove fought found flew
    grew held kept knew paid read rode sold spoke stood struck swore taught thought threw understood wore wrote""".split())
_WORDS_RE = re.compile(r"[A-Za-z][\w'’-]*|\d[\d.,:]*")
# The phrase that asks for a number or a date, and an auxiliary right after it ("How much did …", "When was …"):
# an indirect question needs the auxiliary moved ("how much the bridge cost"), which ShownFilter.not_stated does not
# attempt.
_ASKED_PHRASE_RE = re.compile(r"(?:how (?:many|much|long|old|far|big|tall|fast|high)|when|what (?:year|date|day|time))\b",
                              re.IGNORECASE)
_FUNCTION_WORDS = STOPWORDS | {"did", "does", "do", "is", "are", "was", "were", "will", "has", "have", "had", "can"}
_LOOSE_TIME_RE = re.compile(r"\d|\b(?:" + "|".join(sorted(MONTH_WORDS | WEEKDAY_WORDS)) + r"|century|centuries|decade|"
                            r"today|yesterday|tomorrow|ago|week|month|year|spring|summer|autumn|winter|"
                            # the time of day answers "when" too: "last night", "at midnight", "overnight"
                            r"night|midnight|overnight|tonight|dawn|dusk|daybreak|noon|midday|morning|afternoon|"
                            r"evening)\b", re.IGNORECASE)
# An amount, age or duration in words (LeadOrder.require): a number word or fraction ("a quarter of a percentage
# point"), an age ("in his seventies") or a span ("a fortnight", "a decade"); for "how many" also zero ("Nobody
# was hurt", "No one …") and one of each ("a man and a woman").
_LOOSE_QUANTITY_RE = re.compile(
    r"\b(?:zero|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|"
    r"seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundreds?|thousands?|"
    r"millions?|billions?|dozens?|couple|pair|both|half|quarter|percentage points?|per ?cent|"
    r"(?:twen|thir|for|fif|six|seven|eigh|nine)ties|teens|fortnights?|decades?|centur(?:y|ies))\b", re.IGNORECASE)
_LOOSE_COUNT_RE = re.compile(r"\b(?:nobody|no[ -]one|none|(?:a|an|one) (?:man|woman|boy|girl|child|person|baby|"
                             r"teenager) and (?:a|an|one|two|three) \w+)\b", re.IGNORECASE)
_HOW_MANY_RE = re.compile(r"\bhow many\b", re.IGNORECASE)


def _multiword_name(text: str) -> bool:
    """Two or more capitalised words in a row, not counting a sentence's opening function word ("Which Northeast")."""
    for run in _NAME_RUN_RE.finditer(text):
        words = run.group(0).split()
        opening = not text[:run.start()].strip(" (") or re.search(r"[.?!:]\s*$", text[:run.start()])
        if not (opening and len(words) == 2 and words[0].lower() in _FUNCTION_WORDS):
            return True
    return False


_NAME_RUN_RE = re.compile(r"\b[A-Z][\w'’&.-]*(?: [A-Z][\w'’&.-]*)+")
_WHAT_IS_THE_RE = re.compile(r"what (is|was|are|were) (the [^,;:]+)$", re.IGNORECASE)
_AUX_AFTER_ASKED_RE = re.compile(
    r"(?:how (?:many|much)(?: [\w'’-]+)?|how \w+|when|what (?:year|date|day|time)(?: [\w'’-]+)?) "
    r"(?:is|are|was|were|do|does|did|has|have|had|will|would|can|could|should|might|may)\b", re.IGNORECASE)
# Words that add no fact to a restatement of the question: its attribution, and its time unless the question asks
# for a time ("What day did the Fed raise rates?" is answered by "… on Wednesday").
_NO_NEWS_SAID = frozenset(content_terms(
    "said says say told reported reports according also just new officials authorities statement spokesperson "
    "spokesman spokeswoman"))
_NO_NEWS = _NO_NEWS_SAID | frozenset(content_terms(
    "week weekend today yesterday tonight recently year now " + " ".join(MONTH_WORDS | WEEKDAY_WORDS)))
# A question answered by restating it, beside a yes/no one: a choice ("Who retired, Tom Brady or Aaron Rodgers?",
# by a restatement that names one of its options: choice_options), "whether …", and a tag question ("…, right?",
# "…, didn't he?"); not a wh-question that merely holds "whether" or "or" ("Which judge will decide whether …?",
# "…, which state received two months of rain or more?").
_WH = r"\b(?:who|whom|whose|what|which|where|when|why|how)\b"
_RESTATED_ANSWER_RE = re.compile(
    rf"^(?:(?!{_WH}).)*?\b(?:whether|either)\b"
    r"|,\s*(?:right|correct|true|no|yes|ok(?:ay)?|(?:is|are|was|were|do|does|did|has|have|had|can|could|will|would|"
    r"should|wo|ca)(?:n['’]t)?\s+(?:it|he|she|they|we|you|there|i|that))\s*\?\s*$", re.IGNORECASE)
# "Which <noun phrase> <verb> …?": the 1-3 words after "which" up to its verb (an auxiliary, a past tense in -ed or a
# common irregular one) or a function word ("Which of these teams …": none), modifiers included ("Which two
# countries", "Which NFL team", "Which 'Star Wars' film").
_WHICH_NOUN_RE = re.compile(
    r"\bwhich((?: (?!(?:is|was|are|were|do|does|did|has|have|had|can|could|will|would|should|may|might|must|"
    r"of|in|on|at|for|from|to|with|by|these|those|the|a|an|won|made|took|became|got|came|went|led|lost|beat|held|"
    r"hit|set|sold|bought|left|saw|said|gave|told|ran|wrote|broke|found|kept|met|paid|put|sent|spent|stood|struck|"
    r"won['’]t)\b|[\w’'-]+ed\b)[\w’'-]+){1,3})", re.IGNORECASE)
_ASKS_NAME_RE = re.compile(
    r"\bwhich\b|\bname[ds]?\b|\bcalled\b|\bwhat (?!(?:is|was|are|were|do|does|did|has|have|had|can|could|will|would|"
    r"might|may|should|must|caused?|causes|happened|happens|made|makes|led|leads)\b)[a-z]", re.IGNORECASE)
_YES_NO_RE = re.compile(r"^\s*(?:is|are|was|were|do|does|did|has|have|had|can|could|will|would|should)\b"
                        r"|\btrue or false\b", re.IGNORECASE)


# A choice question's list, word by word: its separators (a comma, a colon before a space, "or") and its words.
_LIST_TOKEN_RE = re.compile(r",|:(?=\s)|\b[Oo]r\b|[^\s,?:]+(?::[^\s,?:]+)*")
_AUXILIARY = frozenset("""is are was were do does did has have had can could will would should shall may might must
    whether""".split())
_CHOOSING_WH = frozenset(["which", "who", "whom", "whose"])
# The words that join a choice's options without choosing ("either the Chiefs or the Eagles", "neither … nor").
_JOINING = frozenset(["or", "either", "neither", "nor", "whether"])
_JOINING_TERMS = frozenset(content_terms(" ".join(_JOINING)))
_ARTICLES = frozenset(["the", "a", "an"])
_AFTER_PRESENT_VERB = frozenset("the a an its his her their this these those".split())


def _is_name(word: str) -> bool:
    """A word of a name or a number ("Chiefs", "2022"), not a question word or an auxiliary that opens the
    question ("Which", "Did")."""
    low = word.lower()
    return (word[:1].isupper() or word[:1].isdigit()) and low not in _AUXILIARY and not re.fullmatch(_WH, low)


def _trailing_item(words: list[str]) -> list[str]:
    """The item that ends `words`: a name with its article ("the Chiefs", "Tom Brady", "the 2022"), else the last
    word ("rise" of "will inflation rise")."""
    start = len(words)
    while start > 0 and _is_name(words[start - 1]):
        start -= 1
    if start == len(words):
        return words[-1:]
    return words[start - 1:] if start > 0 and words[start - 1].lower() in _ARTICLES else words[start:]


def choice_options(asking: str, listed: bool = False) -> list[frozenset[str]]:
    """The terms of each option a question asks to choose between, [] for any other question. A choice is
    "which/who …, A or B?" (the list set off by a comma or a colon: "Which team won, the Chiefs or the Eagles?",
    or its first item a name after "among", "between", "of": "Which state … among Texas, Florida or California?"),
    or "A or B?" and "whether A or B" in a question with no question word ("Did the Chiefs or the Eagles win?");
    "How did the storm affect Texas, Florida or California?" asks no choice, nor does "True or false: …". The list
    is the whole ", … or …" run with the item before its first separator (a name with its article, "the Chiefs",
    or a single word, "rise"; before a comma, only a name after "among", "between", "of" or an auxiliary, "Did
    Texas, Florida or California …": other words before a comma are the question's head); the last item is a
    name, or the words up to the question mark. Each option keeps its own terms: without those all options share
    and without the question's terms outside the list ("…, the home team or the visitors?" → home; visitor). When
    the first item is one word that is no name, so is the last ("Did the Fed raise or cut interest rates this
    week?" → rais; cut). `listed`: the items of any such list, asked as a choice or not ("How did the storm affect
    Texas, Florida or California?" → florida; california)."""
    options, choosing = question_list(asking)
    return options if choosing or listed else []


def question_list(asking: str) -> tuple[list[frozenset[str]], bool]:
    """The terms of each item of a ", … or …" list in the question (choice_options), and whether the question asks
    to choose one of them; ([], False) without such a list."""
    if re.search(r"\btrue or false\b", asking, re.IGNORECASE):
        return [], False  # a quiz's frame, not a choice (a yes/no question: _YES_NO_RE)
    tokens = _LIST_TOKEN_RE.findall(asking)
    separators = [i for i, t in enumerate(tokens) if t in (",", ":") or t.lower() == "or"]
    ors = [i for i in separators if tokens[i].lower() == "or"]
    if not ors or ors[-1] + 1 >= len(tokens) or tokens[ors[-1] + 1] in (",", ":"):
        return [], False
    # The last item: a name (and its article), or the words up to the next separator or the end.
    after = tokens[ors[-1] + 1:]
    after = after[:next((i for i, t in enumerate(after) if t in (",", ":")), len(after))]
    named = 1 if after[0].lower() in _ARTICLES and len(after) > 1 else 0
    if _is_name(after[named]):
        while named < len(after) and _is_name(after[named]):
            named += 1
        after = after[:named]
    items = [after]
    end = ors[-1] + 1 + len(after)
    # Back from the last "or": every item between two separators, until the words before the first one.
    sep = ors[-1]
    while True:
        before = [i for i in separators if i < sep]
        start = before[-1] + 1 if before else 0
        segment = tokens[start:sep]
        if not segment:
            return [], False
        if not before or any(w.lower() in _AUXILIARY or re.fullmatch(_WH, w, re.IGNORECASE) for w in segment):
            break
        items.insert(0, segment)
        sep = before[-1]
    first = _trailing_item(segment)
    lead_in = segment[:len(segment) - len(first)]
    set_off = tokens[sep] != "or"
    if not set_off or (_is_name(first[-1]) and (
            not lead_in or lead_in[-1].lower() in ("among", "between", "of", *_AUXILIARY))):
        items.insert(0, first)
        segment = lead_in
        if len(first) == 1 and not _is_name(first[0]) and len(items[-1]) > 1 and not _is_name(items[-1][0]) \
                and items[-1][0].lower() not in _ARTICLES:  # "raise or cut interest rates this week": "cut"
            end -= len(items[-1]) - 1
            items[-1] = items[-1][:1]
    head = [*tokens[:start], *segment]
    question_words = [w.lower() for w in head if re.fullmatch(_WH, w, re.IGNORECASE)]
    # Which/who …, or any wh-word but how/why when the list is set off after a word that is no name ("Where did
    # the balloon fly over, Montana or Alaska?"; not "What did the report say about Texas, Florida or …?").
    choosing = set_off and (question_words[0] in _CHOOSING_WH or (
        question_words[0] not in ("how", "why") and not _is_name(first[-1]))) if question_words else True
    terms = [frozenset(content_terms(" ".join(item))) for item in items]
    outside = frozenset(content_terms(" ".join([*head, *tokens[end:]])))
    shared = frozenset.intersection(*terms)
    options = [t - shared - outside for t in terms if t - shared - outside]
    return (options, choosing) if len(options) >= 2 else ([], False)


def _names(question: str) -> set[str]:
    """Capitalised words of the question but its first (an acronym counts there too: "NFL player …"), as terms."""
    first, *rest = _WORDS_RE.findall(question) or [""]
    return set(content_terms(" ".join([*([first] if first.isupper() else []),
                                       *(w for w in rest if w[:1].isupper())]))) - set("abcdefghijklmnopqrstuvwxyz")


def _which_noun_words(noun: re.Match[str], asking: str) -> list[str]:
    """The words of a "which <noun>" match, less a present-tense verb that ends it: a word in -s followed by an article,
    a possessive or a demonstrative ("Which company owns the MSG Sphere?": company), when words come before it
    ("Which teams in …" keeps its noun), or followed by words none of which is verb-like: the question's only verb
    ("Which team plays in Las Vegas?": team; "Which NFL teams in the league won?" and "… between which two US
    cities?" keep their noun)."""
    words = noun.group(1).split()
    after = _WORDS_RE.findall(asking[noun.end():])
    if len(words) > 1 and words[-1].lower().endswith("s") and not words[-1].lower().endswith("ss") and after \
            and (after[0].lower() in _AFTER_PRESENT_VERB or not any(_verb_like(w) for w in after)):
        return words[:-1]
    return words


def _verb_like(word: str) -> bool:
    low = word.lower().strip("'’")
    return (low in _VERB_WORDS or low.endswith("n't") or (len(low) > 4 and low.endswith("ed"))
            or (len(low) > 5 and low.endswith("ing")))


@dataclass
class ShownFilter:
    """Which verified sentences are shown: one that is true to its passage but tells the reader nothing is
    kept out of the answer and listed apart with the reason (`Answer.omitted`). Not shown:
    - "restates the question": it names no term, name or number the question does not (its time and "said"
      aside): "Damar Hamlin suffered an on-field medical emergency this week." for "… which team?"; only for a
      question that asks for something (a yes/no, true-or-false, "whether" or tag question is answered by a
      restatement, a choice question by one that picks an option: "The Chiefs won.", not "A team won." nor
      "The Chiefs or the Eagles won."); a question that asks for a time is answered by a day or month ("… on
      Wednesday");
    - "a question": an article's own question ("Who owns the MSG Sphere in Las Vegas?");
    - "comment on the answer": the model's remarks about its answer ("This directly answers the question …");
    - "headline or link debris": mostly capitals ("BRACKETS ARE BACK!"), a byline or call to action
      ("Contributing: …", "Get your … brackets"), a short line ending in a colon or cut at an abbreviation
      ("She will succeed Democrat Rep."; a long one may still hold the answer), or a short fragment with no verb-like word and no span of the
      asked kind ("Rainfall percentages in the Northeast", "11 p.m." for "which country?"); a short answer of
      the asked kind ("Platinum Wolf.", "600 years") is shown.
    The sentence is still verified; this only decides whether it is worth showing (docs/design.md, answer
    policy; measured in docs/benchmarks.md#what-the-answer-shows-first-issue-12)."""

    question: str
    max_fragment_words: int = 6  # a verbless sentence this short is a label (measured: docs/benchmarks.md)
    # Each passage's title and text, by the number the answerer saw it under: a sentence is about the question's
    # subject when a passage it cites names one of the question's names (off_subject).
    passage_texts: Sequence[str] = ()

    def __post_init__(self) -> None:
        from rag.answer.ranking import question_profile

        self.profile = question_profile(self.question)
        self.asked = set(content_terms(self.question))
        self.names = _names(self.question)
        # A follow-up is about its context's subject or what it asks itself: "Talks … in Geneva" names the talks of
        # "Where will the talks take place? (context: What did Vesmark announce about the Tidewater Canal?)".
        own = without_context(self.question)
        self.own = (_names(own) or question_terms(own)) if own != self.question else set()
        self.asking = asking_sentence(without_context(self.question))  # not a follow-up's context note
        self.listed, choosing = question_list(self.asking)
        self.options = self.listed if choosing else []
        self.asks_for_something = not (_YES_NO_RE.search(self.asking) or self.options
                                       or _RESTATED_ANSWER_RE.search(self.asking))
        self.no_news = _NO_NEWS_SAID if self.profile.kind == "time" else _NO_NEWS
        # The noun phrase a "which <noun>" question asks a name for ("Which ministry …?": ministry; "Which two
        # countries …?": two, countries; a sentence naming any of them names it); none for a person, a place, a time
        # or a quantity, whose kind says what answers them.
        noun = _WHICH_NOUN_RE.search(self.asking) if self.profile.kind == "name" and not self.options else None
        self.asked_noun = set(content_terms(" ".join(_which_noun_words(noun, self.asking)))) if noun else set()

    def holds_answer(self, text: str, opening: bool = False) -> float:
        """How clearly the sentence holds a span of the asked kind (ranking.asked_span: 1.0 clear, 0.5 weak;
        `opening`: its first word may be the name); 0.0 for a question that asks for no kind (why, how, yes/no)."""
        from rag.answer.ranking import asked_span

        if self.options:  # a choice question is answered by naming one of its options
            return 1.0 if self.names_option(text) else 0.0
        if self.profile.kind == "quantity":
            text = _DATE_RE.sub(" ", text)  # "on September 4, 2020" counts nothing
        return asked_span(self.profile, text, opening)[0] if self.profile.kind else 0.0

    @property
    def asks_a_kind(self) -> bool:
        """The question asks for a kind of answer to lead with: a person, place, time, quantity, or a name asked
        with "which …", "what <noun>", "called" or "named" ("What might have caused …?" asks for none), or one
        of a choice question's options."""
        if self.options:
            return True
        if self.profile.kind != "name":
            return bool(self.profile.kind)
        return bool(_ASKS_NAME_RE.search(self.asking))

    def names_the_question(self, text: str) -> bool:
        """The sentence names one of the question's names ("Platinum Wolf", "Damar Hamlin"), or for a question
        without names one of its terms: a quotation about something else never leads ("a long endgame that
        lasted almost six hours" names "long" and "last" of "How long did Platinum Wolf last?"). A follow-up is named by
        its context's names or by its own (else its own terms: "talks" of "Where will the talks take place?")."""
        terms = set(content_terms(text))
        return bool(terms & (self.names or self.asked) or terms & self.own)

    def off_subject(self, verdict: Verdict) -> str | None:
        """Why a sentence is about something else, or None: the question names its subject ("Platinum Wolf",
        "Tessa") and not one passage the sentence cites names any of those names ("The agreement gives the mine's
        1,800 workers a pay rise …" for "How many soldiers took part in Platinum Wolf?"). The cited passage, not the
        sentence, is judged: an article's answer need not repeat its subject ("It ran over a two-week period")."""
        subject = self.subject_names
        if not subject or not self.passage_texts:
            return None
        cited = [self.passage_texts[n - 1] for n in verdict.citations if 0 < n <= len(self.passage_texts)]
        if not cited or any(subject & set(content_terms(without_possessives(t))) for t in cited):
            return None
        if any(names_a_name(without_context(self.question), [t]) for t in cited):
            return None  # the name written another way: "the Fed" for "Federal Reserve", "LA" for "Los Angeles"
        return "not about the question's subject"

    @cached_property  # the question's own: worked out once, not for every sentence off_subject judges
    def subject_names(self) -> frozenset[str]:
        """The names of the sentence that asks (and of a follow-up's context note) when it names one of two or more
        words: "Platinum" and "Wolf" of "How many soldiers took part in Platinum Wolf?"; "Jacksonville" and "Duval"
        of "What year did consolidation cause Jacksonville to become part of Duval County?"; not the preamble's
        ("Fans and Hollywood stars …"). A question whose only names are single words ("Which state of the Northeast
        received the most rain?") names as often a place that sets the scene as its subject: no names."""
        from rag.verify import _entities

        asked = without_possessives(asking_sentence(without_context(self.question)))
        note = without_possessives(self.question[len(without_context(self.question)):])
        if not any(_multiword_name(text) for text in (asked, note)):
            return frozenset()
        named = {w for w in _entities(asked) | _entities(note) if w not in _FUNCTION_WORDS}
        return frozenset(content_terms(" ".join(named))) - _TIME_AND_FRAME

    def holds_asked(self, text: str) -> bool:
        """The sentence holds something of the asked kind, loosely (LeadOrder.require): for a time, any number, month,
        weekday or time word ("in 1281", "last week", "at dawn"), not only a news year; for a quantity, a number
        in words too ("Nobody was hurt", "a man and a woman", "in his seventies", "lasting a fortnight")."""
        if self.holds_answer(text):
            return True
        if self.profile.kind == "time":
            return bool(_LOOSE_TIME_RE.search(text))
        if self.profile.kind != "quantity":
            return False
        return bool(_LOOSE_QUANTITY_RE.search(text)
                    or (_HOW_MANY_RE.search(self.asking) and _LOOSE_COUNT_RE.search(text)))

    def not_stated(self) -> str:
        """The answer's first line when no shown sentence holds the asked number or date: "The sources do not say
        how many soldiers took part in Platinum Wolf." (a question whose asking phrase is its subject), else "The
        sources do not give the number asked for." (rewording "How much did the bridge cost?" needs its verb's
        past tense)."""
        asking = self.asking.strip().rstrip("?").strip()
        what = "date" if self.profile.kind == "time" else "number"
        be = _WHAT_IS_THE_RE.match(asking)
        if be:  # "What is the population of Belgrade?" → "what the population of Belgrade is"
            return f"The sources do not say what {be.group(2)} {be.group(1).lower()}."
        if not asking or _AUX_AFTER_ASKED_RE.match(asking) or not _ASKED_PHRASE_RE.match(asking):
            return f"The sources do not give the {what} asked for."
        return f"The sources do not say {asking[0].lower()}{asking[1:]}."

    def off_the_asked(self, text: str) -> bool:
        """For a "which <noun>" question that asks a name: the sentence names neither the noun nor the question
        (names_the_question) ("In parallel, Vucic indicated … joint exercises …" for "Which ministry conducted the Platinum Wolf
        exercise?"); False for any other question."""
        return bool(self.asked_noun) and not set(content_terms(text)) & self.asked_noun \
            and not self.names_the_question(text)

    def names_option(self, text: str) -> bool:
        """The sentence names one of a choice question's options ("The Chiefs won." for "…, the Chiefs or the
        Eagles?")."""
        terms = set(content_terms(text))
        return any(option & terms for option in self.options)

    def picks_an_option(self, text: str) -> bool:
        """The sentence names some of a choice question's options, or every one but not joined by or, either,
        whether or nor ("The Chiefs or the Eagles won." chooses nothing; "Biden is older than Trump." chooses)."""
        terms = set(content_terms(text))
        named = sum(bool(option & terms) for option in self.options)
        return named > 0 and (named < len(self.options) or not self._joins_options(text))

    def _option_words(self, text: str) -> tuple[list[str], list[int | None]]:
        """The sentence's words and, for each, the number of the choice option it names (None: none)."""
        words = _WORDS_RE.findall(text)
        return words, [next((k for k, option in enumerate(self.options) if set(content_terms(w)) & option), None)
                       for w in words]

    def _joins_options(self, text: str) -> bool:
        """An or, either, whether or nor stands before the last option the sentence names."""
        words, owner = self._option_words(text)
        last = max((i for i, k in enumerate(owner) if k is not None), default=-1)
        return any(w.lower() in _JOINING for w in words[:last])

    def joins_every_option(self, text: str) -> bool:
        """The sentence names every option of a choice question joined by "or" and nothing else between them but
        articles ("Either the Chiefs or the Eagles won the game.", "… whether the Fed will raise or cut rates"); not
        "The Chiefs beat the Eagles, or so it seemed.", "Neither the Chiefs nor the Eagles won; the game was postponed."
        (it answers: neither) nor "The Chiefs, whether fans liked it or not, beat the Eagles.")."""
        words, owner = self._option_words(text)
        if not self.options or any(k not in owner for k in range(len(self.options))):
            return False
        marks = [i for i, k in enumerate(owner) if k is not None]
        between = [w.lower() for w, k in zip(words[marks[0]: marks[-1] + 1], owner[marks[0]: marks[-1] + 1],
                                             strict=True) if k is None]
        return "or" in between and set(between) <= {"or"} | _ARTICLES

    def names_one_listed(self, text: str) -> bool:
        """The sentence names exactly one item of a list in the question (question_list): it tells
        which one, whether or not the question asks a choice."""
        terms = set(content_terms(text))
        return sum(bool(item & terms) for item in self.listed) == 1

    def leads(self, verdict: Verdict, opening: bool = False) -> bool:
        """The sentence holds the asked kind well enough to lead: a person's two-word name, a number for a
        quantity, a year or month for a time; for a place or another name a single capitalised word will do
        ("Vermont", "TikTok": a place is 'clear' only after a preposition), with `opening` (a language model's
        own sentence) also its first word. An article's sentence (a quotation, the extractive answer's) must also
        name the question (names_the_question): the model writes to the question, an article may not. Chosen
        on news23-small (docs/benchmarks.md#what-the-answer-shows-first-issue-12)."""
        if self.options:  # only a sentence that names an option answers a choice ("A team won." does not)
            return self.names_option(verdict.text)
        weak_enough = self.profile.kind in ("place", "name")
        return self.holds_answer(verdict.text, opening) >= (0.5 if weak_enough else 1.0) and (
            opening or self.names_the_question(verdict.text))

    def omission(self, text: str) -> str | None:
        """Why the sentence is not shown, or None to show it."""
        if _META_RE.search(text):
            return "comment on the answer"
        if text.rstrip(" \"'”’)]").endswith("?"):
            return "a question"
        tokens = _WORDS_RE.findall(text)
        letters = [c for c in text if c.isalpha()]
        if (len(tokens) >= 2 and letters and sum(c.isupper() for c in letters) / len(letters) >= 0.7) \
                or _LINK_LINE_RE.search(text) or (len(tokens) <= 2 * self.max_fragment_words
                                                   and _CUT_OFF_RE.search(text)):
            return "headline or link debris"
        if (len(tokens) <= self.max_fragment_words and not any(_verb_like(t) for t in tokens)
                and not self.holds_answer(text)):
            return "headline or link debris"
        # Options joined by "or" choose none, whatever else the sentence says ("The winner was either the Chiefs or
        # the Eagles.").
        if self.options and self.joins_every_option(text):
            return "restates the question"
        # A choice question is answered by a restatement that picks an option ("The Chiefs won."), not by one that
        # names none ("A team won.") or all of them ("The Chiefs or the Eagles won.").
        # A sentence naming exactly one listed item tells which one ("The balloon was over Montana.").
        if (self.asks_for_something or (self.options and not self.picks_an_option(text))) \
                and not set(content_terms(text)) - self.asked - self.no_news - _JOINING_TERMS \
                and not self.names_one_listed(text):
            return "restates the question"
        return None


# A model's sentence that names neither a "which <noun>" question's noun nor its names, and that the extractive ranker
# scores this much or more below the passages' best sentence, does not lead (LeadOrder). 0.0–0.5 gave the same leads on
# news23-small and the sample set (docs/benchmarks.md#evidence-by-default-and-the-ranked-lead-session-9-issue-12).
RANKED_LEAD_MARGIN = 0.3


@dataclass
class LeadRanking:
    """The extractive ranker's scores (rag/answer/ranking.py) for LeadOrder, computed only when asked: `score` of a
    sentence's text as a sentence of passage n (1-based), `best` of the passages' best sentence. A verified sentence
    scores its best over the passages it cites (`cited`)."""

    score: Callable[[str, int], float]
    best: Callable[[], float]

    def cited(self, verdict: Verdict) -> float:
        return max(self.score(verdict.text, n) for n in verdict.citations or [1])


@dataclass
class LeadOrder:
    """The order verified sentences are shown in, so that the one holding the asked-for answer leads: while no
    sentence is shown yet, a sentence that does not hold the asked kind well enough (ShownFilter.leads) is held
    back; the first one that does is shown, then those held, in the order written; after that each sentence is
    shown as it is verified. At the end, the quotations that hold the asked kind (and name the question) come
    before the sentences still held. Streaming shows exactly this order: the stream and the final answer are the same
    text. For a question that asks for no kind (why, how, yes/no) nothing is held. At most `limit` sentences
    are shown (0: no limit); those past it are listed in `over`. With `ranking`, a model's sentence that is off what
    a "which <noun>" question asks (ShownFilter.off_the_asked) and that the ranker scores RANKED_LEAD_MARGIN or more
    below the passages' best sentence is held too: "In parallel, Vucic indicated … joint exercises with North
    Atlantic Alliance forces" for "Which ministry conducted the Platinum Wolf exercise?"."""

    shown_filter: ShownFilter | None
    limit: int = 0
    opening: bool = False  # a language model writes the sentences: one may open with its answer ("Vermont …")
    ranking: LeadRanking | None = None
    # With `require` (a question asking a number or a date), nothing is shown until a sentence holds one: when none
    # does, the answer opens with ShownFilter.not_stated ("The sources do not say how many soldiers took part …")
    # and then what the sources do say, in the order it came (waiting). The order is otherwise unchanged.
    require: ShownFilter | None = None
    released: list[Verdict] = field(default_factory=list)
    held: list[Verdict] = field(default_factory=list)
    over: list[Verdict] = field(default_factory=list)
    repeated: list[Verdict] = field(default_factory=list)  # not shown: a shown sentence says them word for word
    waiting: list[Verdict] = field(default_factory=list)
    found: bool = False  # a sentence holding the asked number or date came

    def _asks(self) -> bool:
        return self.shown_filter is not None and self.shown_filter.asks_a_kind

    def _release(self, verdicts: list[Verdict]) -> list[Verdict]:
        verdicts = self._once(verdicts)
        room = len(verdicts) if not self.limit else max(0, self.limit - len(self.released))
        self.released += verdicts[:room]
        self.over += verdicts[room:]
        return verdicts[:room]

    def _once(self, verdicts: list[Verdict]) -> list[Verdict]:
        """`verdicts` less those that would say word for word what is shown (`repeated`): a sentence inside a shown
        one ("Vesmark announced it would raise tolls …" after the lede that says it in those words, a quotation and
        the model's copy of it), or one that holds a shown sentence of 6 words or more (it would say it twice; a
        short answer, "In Geneva.", does not hide the sentence it is part of), unless it adds facts to it (_adds_facts:
        "The Tessa bridge will close on Monday." does not hide "… on Monday and reopen in March after repairs costing
        40 million euros."). Of two sentences shown together the one that holds the other takes its place: it says
        all the other says."""
        out: list[Verdict] = []
        for verdict in verdicts:
            words = _word_list(verdict.text)
            if any(_holds(_word_list(v.text), words) or (len(_word_list(v.text)) >= REPEATED_MIN_WORDS
                                                          and _holds(words, _word_list(v.text))
                                                          and not _adds_facts(verdict.text, v.text))
                   for v in self.released):
                self.repeated.append(verdict)
                continue
            inside = next((i for i, v in enumerate(out) if _holds(words, _word_list(v.text))), None)
            if inside is not None:
                self.repeated.append(out[inside])
                out[inside] = verdict
            elif any(_holds(_word_list(v.text), words) for v in out):
                self.repeated.append(verdict)
            else:
                out.append(verdict)
        return out

    def offer(self, verdict: Verdict) -> list[Verdict]:
        """The sentences to show now (in order) once `verdict` is verified and shown-worthy."""
        if self.require is None or self.found:
            return self._offer(verdict)
        if not self.require.holds_asked(verdict.text):
            self.waiting.append(verdict)
            return []
        self.found = True
        waited, self.waiting = self.waiting, []
        return [shown for v in [*waited, verdict] for shown in self._offer(v)]

    def _offer(self, verdict: Verdict) -> list[Verdict]:
        opening = self.opening and verdict.origin == "model"
        if not self.released and self._asks() and (not self.shown_filter.leads(verdict, opening)  # type: ignore[union-attr]
                                                   or self._ranked_off(verdict)):
            self.held.append(verdict)
            return []
        out = [verdict, *self.held]
        self.held = []
        return self._release(out)

    def _ranked_off(self, verdict: Verdict) -> bool:
        """A model's sentence off what the question asks that the ranker rates far below the passages' best. A
        ranking that fails (the embedding model, say) means no ranked lead from then on, not a failed answer."""
        if not (self.ranking is not None and verdict.origin == "model"
                and self.shown_filter is not None and self.shown_filter.off_the_asked(verdict.text)):
            return False
        try:
            return self.ranking.cited(verdict) <= self.ranking.best() - RANKED_LEAD_MARGIN
        except Exception:
            log.warning("the ranked lead is off for this answer: ranking a sentence failed", exc_info=True)
            self.ranking = None
            return False

    def close(self, quotes: Sequence[Verdict] = ()) -> list[Verdict]:
        """The rest, in order: quotations that hold the asked kind first while no sentence leads yet (the clearest
        span first, else in their own order), then the held sentences, then the other quotations. With `require`
        and no sentence or quotation holding the asked number or date, ShownFilter.not_stated opens them."""
        if self.require is not None and not self.found:
            waited, self.waiting = self.waiting, []
            if any(self.require.holds_asked(q.text) for q in quotes):
                self.found = True
                return [shown for v in waited for shown in self._offer(v)] + self._close(quotes)
            if not waited and not quotes:
                return []
            note = Verdict(self.require.not_stated(), [], supported=True, support=1.0, origin="note")
            self.found = True
            self.released.append(note)  # beside the limit's sentences: it says what they lack
            self.limit += 1 if self.limit else 0
            self.held += waited
            return [note, *self._close(quotes)]
        return self._close(quotes)

    def _close(self, quotes: Sequence[Verdict] = ()) -> list[Verdict]:
        if self._asks():  # the clearest span of the asked kind first (a two-word name before a single word)
            quotes = sorted(quotes, key=lambda q: -self.shown_filter.holds_answer(q.text))  # type: ignore[union-attr]
        leading = [q for q in quotes if self._asks() and self.shown_filter.leads(q)]  # type: ignore[union-attr]
        leading = leading if not self.released else []
        out = [*leading, *self.held, *[q for q in quotes if q not in leading]]
        self.held = []
        return self._release(out)


# A shown sentence of this many words or more that another sentence holds word for word hides that sentence
# (LeadOrder._once, repeats_shown): it would say it twice.
REPEATED_MIN_WORDS = 6


# A sentence holding a shown one is still shown when it adds this many content terms the shown one lacks: it says
# more than an attribution ("…, officials said on Friday.").
ADDS_FACTS_MIN_TERMS = 4


def _adds_facts(text: str, shown: str) -> bool:
    return len(set(content_terms(text)) - set(content_terms(shown))) >= ADDS_FACTS_MIN_TERMS


def _word_list(text: str) -> list[str]:
    return [w.lower() for w in _WORDS_RE.findall(text)]


def _holds(words: list[str], part: list[str]) -> bool:
    """`part` occurs in `words`, word for word (a sentence inside another one)."""
    n = len(part)
    return bool(part) and any(words[i:i + n] == part for i in range(len(words) - n + 1))


def said_already(text: str, said: set[str]) -> bool:
    """The sentence's content terms are mostly (60 % or more) among `said`, the terms of what is shown: it would say
    little that is not said already (a repair's quotation, a fallback's sentence after a model failure)."""
    terms = set(content_terms(text))
    return bool(said and terms and len(terms & said) / len(terms) >= 0.6)


def repeats_shown(text: str, shown: Sequence[str]) -> bool:
    """The sentence says again what the shown sentences say (said_already): after a model failure the fallback's
    sentence may be the model's shown sentence plus little more ("…, Dmitry Peskov." then "…, Dmitry Peskov, who
    emphasized …"). A short shown answer does not hide a longer sentence that it is only part of ("Platinum Wolf."
    before "Platinum Wolf was a multinational exercise held in Serbia with troops from six countries."), but a
    shown sentence of 6 or more words that opens it word for word does: its start would be said twice."""
    words = _word_list(text)
    for sentence in shown:
        opening = _word_list(sentence)
        if len(opening) >= REPEATED_MIN_WORDS and words[:len(opening)] == opening:
            return True
    return said_already(text, set(content_terms(" ".join(shown))))


def kept_from_omitted(omitted: list[tuple[Verdict, str]], shown_filter: ShownFilter | None) -> Verdict | None:
    """When the filter kept out everything true there was to say, the answer still says something: the omitted
    sentence: a restatement of the question before debris before a question, then the one holding the clearest
    span of the asked kind; taken out of `omitted`. A comment on the answer is never kept."""
    order = {"restates the question": 0, "headline or link debris": 1, "a question": 2}
    keepable = [i for i, (_, reason) in enumerate(omitted) if reason in order]  # never a comment on the answer
    if not keepable:
        return None
    best = min(keepable, key=lambda i: (
        order[omitted[i][1]], -(shown_filter.holds_answer(omitted[i][0].text) if shown_filter else 0.0), i))
    return omitted.pop(best)[0]


def with_markers(text: str, citations: list[int]) -> str:
    """Put citation markers before the sentence's closing punctuation: "ran two weeks [1][2]."; after a closing
    double quote mark that ends it, as the web chat shows a quotation: "“… for their power.” [1]" (not "… power
    [1].”", a marker inside the quoted words)."""
    markers = "".join(f"[{n}]" for n in citations)
    if not markers:
        return text
    if re.search(r"[.!?…][\"”]$", text):
        return f"{text} {markers}"
    match = re.search(r"[.!?…][\"'”’)]*$", text)
    if match:
        return f"{text[: match.start()]} {markers}{text[match.start():]}"
    return f"{text} {markers}"


# Capitalised words of a question that anchor no fact of its own: days and months are the question's time (the
# date window weighs them, rag/answer/gates.py), quiz framing ("True or false:") is not about the news.
_TIME_AND_FRAME = MONTH_WORDS | WEEKDAY_WORDS | {"true", "false"}
_ACRONYM_GLUE = frozenset(["of", "and", "the", "for", "&"])


def _acronym_found(acronym: str, texts: Sequence[str]) -> bool:
    """"MLB" is named by "Major League Baseball": consecutive capitalised words whose initials spell it (small
    words such as "of" may sit between them: "Department of Justice" spells "DOJ" and "DJ")."""
    letters = acronym.lower()
    for text in texts:
        words = re.findall(r"[A-Za-z][\w’'-]*|&", text)
        for start in range(len(words)):
            i, k = start, 0
            while i < len(words) and k < len(letters):
                word = words[i]
                if word.lower() in _ACRONYM_GLUE and k > 0:
                    if word.lower()[0] == letters[k] and k + 1 < len(letters):
                        k += 1  # "of" may also be a letter of the acronym ("DOJ")
                    i += 1
                    continue
                if not word[0].isupper() or word[0].lower() != letters[k]:
                    break
                k, i = k + 1, i + 1
            if k == len(letters):
                return True
    return False


_MONTH_NAME = (r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?")
# A calendar date ("Jan. 8", "January 6, 2021", "8 January", "May 2023"): the question's time, which the date
# window weighs (rag/answer/gates.py), not a number an article repeats ("on Sunday" rather than "on Jan. 8").
_DATE_RE = re.compile(rf"\b{_MONTH_NAME}\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?\b"
                      rf"|\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH_NAME}(?:,?\s+\d{{4}})?\b"
                      rf"|\b{_MONTH_NAME}\s+\d{{4}}\b"
                      r"|\b\d{4}s\b")  # a decade ("the 1990s") describes; it is not the year 1990


def asking_sentence(question: str) -> str:
    """The sentence of a question that asks: the last one with a question word or mark ("Millions of Americans
    were under flood alerts this week. Which state received the most rain?" → the second); the whole question
    when no sentence has one."""
    sentences = split_sentences(question.strip())
    asking = [s for s in sentences if re.search(r"\?|\b(who|whom|whose|what|which|where|when|why|how)\b", s, re.I)]
    return asking[-1] if asking else question


def _question_anchors(question: str) -> tuple[set[str], set[str]]:
    """(numbers, entities) of a question worth checking: numbers of the whole question (an edition, "the 75th
    Emmy Awards", tells next year's news from this year's), names of the sentence that asks (a quiz's scene-setting
    preamble, "Fans and Hollywood stars are paying tribute …", names context an answering article need not); not
    the first word of a sentence or clause, not a single letter ("U.S." → "u"), not a day or month name, no
    number of a calendar date."""
    from rag.verify import _entities, _numbers

    entities: set[str] = set()
    for clause in re.split(r"(?<=[.?!:;])\s+|\s+[—–-]\s+", asking_sentence(question)):
        entities |= _entities(clause)
    return _numbers(_DATE_RE.sub(" ", question)), {e for e in entities if len(e) > 1 and e not in _TIME_AND_FRAME}


def missing_anchors(question: str, texts: Sequence[str]) -> list[str]:
    """The question's anchors that none of `texts` names: its numbers (years included: "2019", "two") and its
    capitalised words (names, places: "Nexaline", "Serbia"), matched as the citation check matches them
    (rag/verify.py: "1,200" = "1200", Serbia ~ Serbian), an acronym also by the words it stands for ("MLB":
    "Major League Baseball"). An answer that rests on passages missing one of them is about another year,
    person or place: the near miss of news asked a year later."""
    misses = anchor_misses(question, texts)
    return [*misses.numbers, *misses.names]


@dataclass(frozen=True)
class AnchorMisses:
    """The question's anchors none of the passages names, by kind (missing_anchors), and how many names the
    asking sentence holds: a missed number or year is another edition or another year's figure; a missed name
    weighs by how many the question names (rag/answer/gates.py weighs them)."""

    numbers: list[str]
    names: list[str]
    asked_names: int
    # The missed numbers that say which event: a year ("the 2023 playoffs") or an edition ("the 75th Emmys"),
    # not a count ("more than 200 officers", "two shootings"), which an article words its own way.
    editions: list[str] = field(default_factory=list)
    name_runs: int = 0  # names of the asking sentence, a run of capitalised words each ("Federal Reserve")
    # The asking sentence's names (runs of capitalised words) no passage names in any form (_name_named: a word
    # of it, its initials, a word by a prefix): "tessa"; not "federal reserve" beside "the Fed".
    unnamed: list[str] = field(default_factory=list)
    # Those of them specific enough that no passage naming none of the question's names can be about it: one
    # capitalised word, not an acronym ("Tessa"). A name of several words ("Pope Francis": "the pontiff") or an
    # acronym ("UK": "Britain") may be written with another word only a table of aliases knows.
    specific_unnamed: list[str] = field(default_factory=list)


_YEAR_RE = re.compile(r"^(?:1[89]|20)\d\d$")
_ORDINAL_RE = re.compile(r"\b(\d+)(?:st|nd|rd|th)\b")


def anchor_misses(question: str, texts: Sequence[str]) -> AnchorMisses:
    from rag.verify import _entity_found, _numbers, _word_set

    words: set[str] = set()
    numbers: set[str] = set()
    for text in texts:
        words |= _word_set(text)
        numbers |= _numbers(text)
    wanted_numbers, entities = _question_anchors(question)
    acronyms = {t.lower() for t in re.findall(r"\b[A-Z]{2,6}\b", question)}
    missed = [n for n in sorted(wanted_numbers) if n not in numbers]
    ordinals = set(_ORDINAL_RE.findall(question))
    return AnchorMisses(
        numbers=missed, editions=[n for n in missed if _YEAR_RE.match(n) or n in ordinals],
        names=[e for e in sorted(entities) if not _entity_found(e, words)
               and not (e in acronyms and _acronym_found(e, texts))],
        asked_names=len(entities), **_unnamed_names(question, entities, acronyms, texts, words))


# Words of a name that do not say which one it is: titles ("Pope Francis", "President Biden") and the generic
# words of places and bodies ("New", "United", "City", "Los"). Another passage's "the pope" or "new" names no name.
_GENERIC_NAME_WORDS = frozenset(
    "president pope king queen prince princess sir lord lady mr mrs ms dr saint st san los las el la le de del da "
    "the of and for new united city county state states north south east west great general senator governor "
    "mayor minister prime chancellor secretary judge justice coach captain chief".split())


def _name_runs(question: str, entities: set[str]) -> list[list[str]]:
    """The asking sentence's names as runs of its capitalised words (those of `entities`): "Federal Reserve",
    "Los Angeles", "UK"."""
    runs: list[list[str]] = []
    run: list[str] = []
    for word in _WORDS_RE.findall(asking_sentence(question)):
        low = re.sub(r"['’]s?$", "", word.lower())
        if low in entities:
            run.append(low)
            continue
        if run:
            runs.append(run)
        run = []
    return [*runs, run] if run else runs


def _name_named(run: list[str], words: set[str], capitalised: set[str], initials: set[str]) -> bool:
    """A passage names the name when it names one of its words (not a title or generic word, unless it has no
    other), its initials ("LA" for "Los Angeles", "UK" for "United Kingdom") or a word of it by a capitalised prefix
    of 3 letters or more ("the Fed" for "Federal Reserve", "Man Utd" for "Manchester United")."""
    from rag.verify import _entity_found

    telling = [w for w in run if w not in _GENERIC_NAME_WORDS] or run
    if any(_entity_found(w, words) for w in telling):
        return True
    if len(run) > 1 and "".join(w[0] for w in run) in initials:
        return True
    return any(len(w) > len(c) and w.startswith(c) for w in telling for c in capitalised)


def names_a_name(question: str, texts: Sequence[str]) -> bool:
    """`texts` name one of the asking sentence's names in some form (_name_named)."""
    misses = anchor_misses(question, texts)
    return len(misses.unnamed) < misses.name_runs


def _unnamed_names(question: str, entities: set[str], acronyms: set[str], texts: Sequence[str],
                   words: set[str]) -> dict[str, Any]:
    """AnchorMisses.name_runs, .unnamed and .specific_unnamed."""
    tokens = [t for text in texts for t in re.findall(r"[A-Za-z][A-Za-z.]*", text)]
    capitalised = {t.lower() for t in tokens if t[0].isupper() and len(t) >= 3 and t.isalpha()
                   and t.lower() not in _FUNCTION_WORDS}
    initials = {t.replace(".", "").lower() for t in tokens
                if t.replace(".", "").isupper() and len(t.replace(".", "")) >= 2}
    runs = _name_runs(question, entities)
    unnamed = [run for run in runs
               if not _name_named(run, words, capitalised, initials)
               and not (len(run) == 1 and run[0] in acronyms and _acronym_found(run[0], texts))]
    return {"name_runs": len(runs), "unnamed": [" ".join(run) for run in unnamed],
            "specific_unnamed": [run[0] for run in unnamed if len(run) == 1 and run[0] not in acronyms
                                 and run[0] not in _GENERIC_NAME_WORDS]}
