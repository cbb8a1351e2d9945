"""Answerers: turn (question, passages) into answer text with [n] citations, streamed.

- `LLMAnswerer`: a LangChain runnable (prompt | chat model | parser) over any chat model backend.
- `ExtractiveAnswerer`: no generator; picks the sentences of the passages that best answer the question and
  cites them. Deterministic and fast: the fallback when no model is available, and the backend of tests whose
  subject is not the language model.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from rag.answer.prompt import REFUSAL, REWRITE_PROMPT, SYSTEM_PROMPT, user_message
from rag.answer.ranking import (
    SECOND_SENTENCE_MARGIN,
    WEIGHTS,
    QuestionProfile,
    SentenceRow,
    asked_span,
    feature_matrix,
    passage_sentences,
    question_profile,
)
from rag.answer.text import MONTH_WORDS, WEEKDAY_WORDS, content_terms, question_terms
from rag.embedding import Embedder
from rag.timewindow import DateWindow, resolve_window, time_only
from rag.types import Chunk

Message = dict[str, str]  # {"role": "user"|"assistant", "content": "..."}


class Answerer(Protocol):
    backend: str
    model: str

    def stream(self, question: str, passages: list[Chunk], texts: list[str] | None = None) -> Iterator[str]:
        """Answer text with [n] citations (n = 1-based position in passages), streamed. texts, when given,
        are what the answerer may show a model of each passage (its chosen sentences)."""
        ...

    def rewrite(self, question: str, history: list[Message]) -> str | None:
        """A standalone version of a follow-up, or None to use the deterministic rewrite."""
        ...


def heuristic_rewrite(question: str, history: list[Message]) -> str:
    """Deterministic follow-up rewrite: a question that leans on the conversation (leans_on_context) gets the
    latest earlier question that names its own topic appended as context, which is what retrieval needs; a
    question that stands on its own is left as asked (it borrows nothing from the conversation)."""
    previous = [m["content"].strip() for m in history if m.get("role") == "user" and m.get("content", "").strip()]
    if not previous:
        return question.strip()
    q = question.strip()
    if leans_on_context(q):
        # Follow-ups chain ("Who won?" → "How old is she?" → "How many points did she score?"): the context
        # is the latest earlier question that stands on its own, not merely the previous one.
        topic = next((p for p in reversed(previous) if not leans_on_context(p)), previous[-1])
        return f"{q} (context: {topic})"
    return q


def keep_time_words(question: str, rewritten: str) -> str:
    """A rewrite must not lose the question's time words ("this week", "in May"): they set its date window.
    A model that dropped them gets them appended."""
    window = _question_window(question)  # only the phrase matters here, not the dates
    if window is None or not window.phrase or window.phrase.lower() in rewritten.lower():
        return rewritten
    return f"{rewritten} ({window.phrase})"


# Whether a question leans on the conversation, by one rule (docs/design.md "Follow-up questions"):
# - a fragment ("And in 2022?", "What about Belgrade?", "In May?") or a pronoun that needs an antecedent ("How long
#   did it last?", "How old is she?", "Why did that happen?") → a follow-up, whatever else it names;
# - a question naming its own subject (a name, a number or year, or two or more content words besides a
#   definite "the exercise") → standalone; so is a question that asks only for the news of a period ("What
#   happened this week?", "What's new this week?"), by the digest's own test (rag.timewindow.time_only);
# - a definite description with no name ("Which company owns the mine?", "Where will the talks take place?",
#   "What happened to the bridge this week?", whatever time words follow) or too few words to name a subject
#   ("Who won?", "Why?") → a follow-up.
_OPENER_RE = re.compile(r"^(?:and|but|also|or|so|then|what about|how about|what of|same for)\b", re.IGNORECASE)
_ASKING_START_RE = re.compile(
    r"^(?:who|whom|whose|what|which|where|when|why|how|is|are|was|were|do|does|did|has|have|had|can|could|will|"
    r"would|should|shall|may|might|must|tell|list|name|give|show|describe|explain|summari[sz]e|find|any)\b",
    re.IGNORECASE)
_PRONOUN_RE = re.compile(r"\b(?:he|she|it|they|them|him|his|her|hers|its|their|theirs|the same|which one|who else|"
                         r"what else|the other|the latter|the former)\b", re.IGNORECASE)
# "there" and "then" point back unless existential ("Is there …", "there were"); "this/these/those" unless a
# time ("this week"); "that" only at the end ("Who said that?") or in a question naming nothing else.
_THERE_RE = re.compile(r"\b(?<!is )(?<!are )(?<!was )(?<!were )there\b(?! (?:is|are|was|were|be|been)\b)|\bthen\b",
                       re.IGNORECASE)
_DEMONSTRATIVE_RE = re.compile(r"\b(?:this|these|those)\b(?! (?:week|weekend|month|year|morning|afternoon|evening|"
                               r"summer|winter|spring|autumn|fall|season|quarter|century|decade)\b)", re.IGNORECASE)
_THAT_LAST_RE = re.compile(r"\bthat\W*$", re.IGNORECASE)
_THAT_RE = re.compile(r"\bthat\b", re.IGNORECASE)
_DEFINITE_RE = re.compile(r"\bthe ([a-z]+)\b")  # lower case: "the exercise", not "the Hague"
# A definite noun that needs no antecedent: the news of the day.
_SELF_DEFINITE = frozenset("news latest world weather week weekend month year day past future moment headlines "
                           "country economy government".split())
_NUMBER_RE = re.compile(r"\d")


def leans_on_context(question: str) -> bool:
    """Whether the question needs an earlier turn to say what it is about (the rule above)."""
    q = question.strip()
    words = re.findall(r"[\w’'-]+", q)
    if not words:
        return True
    if _OPENER_RE.search(q) or (not _ASKING_START_RE.search(q) and len(words) <= 3):
        return True  # a fragment: "And in 2022?", "What about Belgrade?", "In May?"
    if _PRONOUN_RE.search(q) or _THERE_RE.search(q) or _DEMONSTRATIVE_RE.search(q) or _THAT_LAST_RE.search(q):
        return True
    names = [w for w in words[1:] if w[0].isupper() and w.lower() not in _NOT_NAMES]
    if names or _NUMBER_RE.search(q):
        return False  # names its own subject: "What is the population of Belgrade?"
    if _THAT_RE.search(q):
        return True  # "How long did that take?"
    if _time_only(q):
        # "What happened this week?", "What's new this week?": the digest's own definition (timewindow.time_only),
        # so a question the engine answers by a digest is never rewritten with an earlier turn's topic. A word
        # besides the time and no-topic words ("What happened to the bridge this week?") goes on to the rules below.
        return False
    subject = [t for t in question_terms(_without_window(q))]
    definite = [m.group(1) for m in _DEFINITE_RE.finditer(q) if m.group(1) not in _SELF_DEFINITE]
    if definite:
        # "the exercise" points back unless the question says enough besides it ("Who won the election for mayor
        # of the county?" names its subject in several words).
        return len(subject) <= 3
    return len(subject) < 2


_NOT_NAMES = frozenset("i i’m i'm".split()) | MONTH_WORDS | WEEKDAY_WORDS


def _question_window(question: str) -> DateWindow | None:
    return resolve_window(question, dt.date.today())  # only the phrase and an open start matter here, not the dates


def _window_phrase(question: str) -> str:
    window = _question_window(question)
    return window.phrase if window is not None and window.phrase else ""


def _time_only(question: str) -> bool:
    return time_only(question, _question_window(question))


def _without_window(question: str) -> str:
    phrase = _window_phrase(question)
    return question.replace(phrase, " ") if phrase else question


# ------------------------------------------------------------------------------------------ extractive


@dataclass
class Candidate:
    sentence: str
    passage: int  # 1-based passage number
    position: int  # sentence index within its passage
    score: float


class ExtractiveAnswerer:
    backend = "extractive"
    model = "sentence selection (MiniLM + term overlap)"

    def __init__(self, embedder: Embedder, max_sentences: int = 2) -> None:
        self.embedder = embedder
        self.max_sentences = max_sentences

    def candidates(self, question: str, passages: list[Chunk], title_aware: bool = False) -> list[Candidate]:
        """Sentences of the passages ranked for the question (rag/answer/ranking.py: a fitted linear score over
        cosine, term coverage, answer type and a few more). `title_aware`: a sentence's term coverage counts the
        question's terms its passage's title does not already name (as evidence selection does): for "How much
        did Varnholm's tram line cost?" in "Varnholm opens its first tram line", the sentence naming the cost."""
        rows = passage_sentences(passages)
        if not rows:
            return []
        vectors = self.embedder.embed_documents([question] + [r.sentence for r in rows])
        features = feature_matrix(question, rows, passages, vectors[1:] @ vectors[0], title_aware)
        scores = features @ WEIGHTS
        out = [Candidate(r.sentence, r.passage, r.position, float(score))
               for r, score in zip(rows, scores, strict=True)]
        return sorted(out, key=lambda c: -c.score)

    def sentence_score(self, question: str, sentence: str, passage: int, passages: list[Chunk]) -> float:
        """The score `candidates(..., title_aware=True)` would give `sentence` as a sentence of passage `passage`
        (1-based): how the extractive ranker rates a language model's sentence beside the passages' own."""
        vectors = self.embedder.embed_documents([question, sentence])
        features = feature_matrix(question, [SentenceRow(sentence, passage, 0)], passages, vectors[1:] @ vectors[0],
                                  title_aware=True)
        return float((features @ WEIGHTS)[0])

    def answer_text(self, question: str, passages: list[Chunk]) -> str:
        chosen = answer_sentences(self.candidates(question, passages), self.max_sentences,
                                  profile=question_profile(question))
        if not chosen:
            return REFUSAL
        return " ".join(_cite(c.sentence, c.passage) for c in chosen)

    def stream(self, question: str, passages: list[Chunk], texts: list[str] | None = None) -> Iterator[str]:
        text = self.answer_text(question, passages)  # picks sentences itself: whole passages are no cost here
        yield from re.findall(r"\S+\s*", text)

    def rewrite(self, question: str, history: list[Message]) -> str | None:
        return None


def answer_sentences(ranked: list[Candidate], max_sentences: int,
                     margin: float = SECOND_SENTENCE_MARGIN, profile: QuestionProfile | None = None) -> list[Candidate]:
    """The extractive answer's sentences: the best one, then up to max_sentences - 1 more whose score is within
    `margin` of it, in the article's own order when they come from the lead sentence's passage.

    With the question's `profile`, a quantity asked with its unit ("How long did the Platinum Wolf exercise
    last?": days, weeks …) is answered by a number with that unit: when the best sentence holds none, a close one
    of the same passage that does, and that names a term of the question besides the unit ("The exercise …", not
    "After 12 years of Tory failure …" for "… after how many years as first minister?"), comes next, ahead of
    another passage's ("… an endgame that lasted almost six hours" is about something else), and leads. Only the choice changes, never a score: the scores also rank the
    language model's evidence (docs/benchmarks.md#a-duration-leads-the-extractive-answer-session-9-issue-12)."""
    if not ranked:
        return []
    best = ranked[0]
    close = [c for c in ranked[1:] if c.score >= best.score - margin]
    own: list[Candidate] = []
    if profile is not None and profile.kind == "quantity" and profile.units and not _holds_unit(profile, best):
        # "lasted" or "took" names the question's verb, not its subject ("a press conference lasted two hours").
        asked = set(content_terms(" ".join(profile.named))) - profile.units - _DURATION_WORDS
        own = [c for c in close if c.passage == best.passage and _holds_unit(profile, c)
               and asked & set(content_terms(c.sentence))]
        close = own + [c for c in close if c not in own]
    chosen = [best]
    for cand in close:
        if len(chosen) >= max_sentences:
            break
        if all(cand.sentence != c.sentence for c in chosen):
            chosen.append(cand)
    lead = best.passage
    chosen.sort(key=lambda c: (c not in own,
                               (c.passage, c.position) if c.passage == lead else (99, 0)))
    return chosen


# The words a "how long …" question asks with besides its subject: a sentence naming only these is about anything.
_DURATION_WORDS = frozenset(content_terms("how long last lasted lasts lasting take takes took taken run runs ran "
                                          "running spend spent spends"))


def _holds_unit(profile: QuestionProfile | None, cand: Candidate) -> bool:
    """The sentence holds a number followed by (or joined to) the asked unit: "a two-week period", "six hours"."""
    return profile is not None and asked_span(profile, cand.sentence) == (1.0, 1.0)


def _cite(sentence: str, n: int) -> str:
    sentence = sentence.strip()
    match = re.search(r"[.!?…][\"'”’)]*$", sentence)
    if match:
        return f"{sentence[: match.start()]} [{n}]{sentence[match.start():]}"
    return f"{sentence} [{n}]."


# ------------------------------------------------------------------------------------------------ LLM


class LLMAnswerer:
    """prompt | chat model | text, streamed. Any LangChain chat model: the local one or an OpenAI-compatible."""

    def __init__(self, chat_model: Any, backend: str, model: str, rewrite_with_model: bool = True) -> None:
        from langchain_core.output_parsers import StrOutputParser
        from langchain_core.prompts import ChatPromptTemplate

        self.backend = backend
        self.model = model
        self.rewrite_with_model = rewrite_with_model
        prompt = ChatPromptTemplate.from_messages([("system", SYSTEM_PROMPT), ("human", "{user}")])
        self.chain = prompt | chat_model | StrOutputParser()
        rewrite_prompt = ChatPromptTemplate.from_messages(
            [("system", REWRITE_PROMPT), ("human", "Conversation:\n{conversation}\n\nLast user question: {question}")]
        )
        self.rewrite_chain = rewrite_prompt | chat_model | StrOutputParser()

    def stream(self, question: str, passages: list[Chunk], texts: list[str] | None = None) -> Iterator[str]:
        # Template variables are substituted once; braces inside article text are not re-parsed.
        yield from self.chain.stream({"user": user_message(question, passages, texts)})

    def rewrite(self, question: str, history: list[Message]) -> str | None:
        if not self.rewrite_with_model or not history:
            return None
        conversation = "\n".join(f"{m['role']}: {m['content'].strip()[:500]}" for m in history[-6:])
        text = self.rewrite_chain.invoke({"conversation": conversation, "question": question}).strip()
        text = text.splitlines()[0].strip().strip('"') if text else ""
        # A small model sometimes answers instead of rewriting: keep only plausible questions.
        if not text or len(text) > 300 or len(text) < len(question) * 0.5:
            return None
        return keep_time_words(question, text)


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b))
