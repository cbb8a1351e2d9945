"""Answerers: turn (question, passages) into answer text with [n] citations, streamed.

- `LLMAnswerer`: a LangChain runnable (prompt | chat model | parser) over any chat model backend.
- `ExtractiveAnswerer`: no generator; picks the sentences of the passages that best answer the question and
  cites them. Deterministic and fast: the fallback when no model is available, and the backend of tests whose
  subject is not the language model.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from rag.answer.citations import split_sentences
from rag.answer.prompt import REFUSAL, REWRITE_PROMPT, SYSTEM_PROMPT, user_message
from rag.answer.text import ANSWER_CUE_WEIGHT, answer_cue_for, content_terms, looks_like_instruction
from rag.embedding import Embedder
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


_FOLLOW_UP_RE = re.compile(
    r"\b(he|she|it|they|them|his|her|its|their|this|that|these|those|there|then|the same|which one|who else|"
    r"what else|and)\b",
    re.IGNORECASE,
)


def heuristic_rewrite(question: str, history: list[Message]) -> str:
    """Deterministic follow-up rewrite: a question that leans on the conversation (pronouns, "and …?", very
    short) gets the previous user question appended as context, which is what retrieval needs."""
    previous = [m["content"].strip() for m in history if m.get("role") == "user" and m.get("content", "").strip()]
    if not previous:
        return question.strip()
    q = question.strip()
    if _leans_on_context(q):
        # Follow-ups chain ("Who won?" → "How old is she?" → "How many points did she score?"): the context
        # is the latest earlier question that stands on its own, not merely the previous one.
        topic = next((p for p in reversed(previous) if _names_its_topic(p)), previous[-1])
        return f"{q} (context: {topic})"
    return q


def keep_time_words(question: str, rewritten: str) -> str:
    """A rewrite must not lose the question's time words ("this week", "in May"): they set its date window.
    A model that dropped them gets them appended."""
    import datetime as dt

    from rag.timewindow import resolve_window

    window = resolve_window(question, dt.date.today())  # only the phrase matters here, not the dates
    if window is None or not window.phrase or window.phrase.lower() in rewritten.lower():
        return rewritten
    return f"{rewritten} ({window.phrase})"


def _leans_on_context(question: str) -> bool:
    return bool(_FOLLOW_UP_RE.search(question)) or len(content_terms(question)) <= 3


_PRONOUN_RE = re.compile(r"\b(he|she|it|they|them|his|her|its|their|him)\b", re.IGNORECASE)


def _names_its_topic(question: str) -> bool:
    """No pronoun to resolve and enough words of its own: a question that can anchor the ones after it."""
    return not _PRONOUN_RE.search(question) and len(content_terms(question)) > 3


# ------------------------------------------------------------------------------------------ extractive


@dataclass
class Candidate:
    sentence: str
    passage: int  # 1-based passage number
    position: int  # sentence index within its passage
    score: float
    coverage: float


class ExtractiveAnswerer:
    backend = "extractive"
    model = "sentence selection (MiniLM + term overlap)"

    def __init__(self, embedder: Embedder, max_sentences: int = 2) -> None:
        self.embedder = embedder
        self.max_sentences = max_sentences

    def candidates(self, question: str, passages: list[Chunk], title_aware: bool = False) -> list[Candidate]:
        """Sentences of the passages ranked for the question. `title_aware`: a sentence's term coverage counts the
        question's terms its passage's title does not already name (as evidence selection does): for "How much did
        Varnholm's tram line cost?" in "Varnholm opens its first tram line", the sentence naming the cost."""
        rows: list[tuple[str, int, int]] = []
        for n, chunk in enumerate(passages, start=1):
            for i, sentence in enumerate(split_sentences(chunk.text)):
                # Skip fragments and text that reads as instructions to us rather than news.
                if len(content_terms(sentence)) >= 3 and not looks_like_instruction(sentence):
                    rows.append((sentence, n, i))
        if not rows:
            return []
        q_terms = set(content_terms(question))
        # The question's terms a sentence of each passage should name (once per passage, not per sentence).
        wanted_in = [(q_terms - set(content_terms(p.title)) if title_aware else q_terms) or q_terms for p in passages]
        cue = answer_cue_for(question)
        vectors = self.embedder.embed_documents([question] + [r[0] for r in rows])
        cosines = vectors[1:] @ vectors[0]
        out = []
        for (sentence, n, i), cosine in zip(rows, cosines, strict=True):
            s_terms = set(content_terms(sentence))
            wanted = wanted_in[n - 1]
            coverage = len(wanted & s_terms) / len(wanted) if wanted else 0.0
            # Earlier passages rank higher in retrieval: a small prior breaks near-ties their way.
            score = 0.6 * float(cosine) + 0.4 * coverage - 0.01 * (n - 1) + ANSWER_CUE_WEIGHT * cue(sentence)
            out.append(Candidate(sentence, n, i, score, coverage))
        return sorted(out, key=lambda c: -c.score)

    def answer_text(self, question: str, passages: list[Chunk]) -> str:
        ranked = self.candidates(question, passages)
        if not ranked:
            return REFUSAL
        chosen = [ranked[0]]
        for cand in ranked[1:]:
            if len(chosen) >= self.max_sentences:
                break
            if cand.score >= 0.85 * ranked[0].score and cand.sentence != chosen[0].sentence:
                chosen.append(cand)
        # Keep the article's own order when both come from one passage, so the text reads naturally.
        lead = chosen[0].passage
        chosen.sort(key=lambda c: (c.passage, c.position) if c.passage == lead else (99, 0))
        return " ".join(_cite(c.sentence, c.passage) for c in chosen)

    def stream(self, question: str, passages: list[Chunk], texts: list[str] | None = None) -> Iterator[str]:
        text = self.answer_text(question, passages)  # picks sentences itself: whole passages are no cost here
        yield from re.findall(r"\S+\s*", text)

    def rewrite(self, question: str, history: list[Message]) -> str | None:
        return None


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
