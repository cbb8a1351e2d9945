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
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from rag.answer.citations import CITATION_RE, CitedSentence, _expand, split_sentences
from rag.answer.text import MONTH_WORDS, WEEKDAY_WORDS, content_terms, looks_like_instruction
from rag.types import Chunk
from rag.verify import SupportChecker

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
        text = _bare(raw_sentence)
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
    model_refused: bool = False  # the generator itself said the passages do not hold the answer
    repaired: bool = False  # the shown sentences are quotations that stand in for a rejected answer


def verified_stream(pieces: Iterator[str], judge: SentenceJudge, outcome: PolicyOutcome,
                    gate: bool = True) -> Iterator[Verdict]:
    """Judge sentences as they complete; yield only the supported ones. Rejected ones go to `outcome`.
    gate=False (the plain baseline of the evals, never a product path) yields every sentence with its verdict."""
    splitter = SentenceStream(passages=judge.passages)
    raw: list[str] = []
    seen: set[str] = set()

    def judged(sentences: list[str]) -> Iterator[Verdict]:
        for sentence in sentences:
            verdict = judge.judge(sentence)
            if verdict is None or verdict.text.lower() in seen:
                continue  # a repeated sentence (small models loop) is judged and shown once
            seen.add(verdict.text.lower())
            if verdict.supported or not gate:
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
                 guide: Sequence[Verdict] = ()) -> list[Verdict]:
    """The best evidence sentence(s) for the question, verbatim, each verified against its own passage, unless
    the sentences `already` shown say it (most of its terms). `candidates(question, passages)` ranks sentences
    (ExtractiveAnswerer.candidates). The model's rejected sentences (`guide`) add the sentence their answer
    words point at (`guided`), when it is another one: the model's answer, in the article's own words."""
    said = set(content_terms(" ".join(v.text for v in already)))
    ranked = candidates(question, list(passages))
    out = _quotes(ranked, judge, said, max_sentences)
    # Rejected sentences guide only when no accepted sentence of the model's says more than the question (one
    # that only restates it, "Damar Hamlin suffered a medical emergency", answers nothing): beside an answer
    # they are the model's wrong turns ("joint exercises with NATO forces" beside "Platinum Wolf"). The
    # question's own best sentence stays first: a wrong answer of the model's may paraphrase a real sentence
    # that answers something else (measured: docs/benchmarks.md#the-local-models-own-sentences-issue-12).
    asked = set(content_terms(question))
    if guide and not any(set(content_terms(v.text)) - asked for v in already if v.origin == "model"):
        chosen = {v.text for v in out}
        others = [c for c in guided(question, ranked, [v for v in guide if v.origin == "model"])
                  if _bare(c.sentence) not in chosen]
        out += _quotes(others, judge, said | set(content_terms(" ".join(chosen))), 1)
    return out


def _quotes(ranked: list[Any], judge: SentenceJudge, said: set[str], max_sentences: int) -> list[Verdict]:
    out: list[Verdict] = []
    for cand in ranked:
        if len(out) >= max_sentences:
            break
        terms = set(content_terms(cand.sentence))
        if said and terms and len(terms & said) / len(terms) >= 0.6:
            break  # the best sentence is said already
        verdict = judge.judge(f"{cand.sentence} [{cand.passage}]", origin="quote")
        if verdict is not None and verdict.supported:
            out.append(verdict)
    return out


def with_markers(text: str, citations: list[int]) -> str:
    """Put citation markers before the sentence's closing punctuation: "ran two weeks [1][2]." """
    markers = "".join(f"[{n}]" for n in citations)
    if not markers:
        return text
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
        asked_names=len(entities))
