"""Question → grounded answer: rewrite follow-up → hybrid search → answerer → parse and check citations.

`AnswerEngine.stream()` yields answer text as it is generated, then one final `Answer` with citations resolved.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from rag.answer.citations import CitedSentence, parse_citations, strip_citations
from rag.answer.evidence import select_evidence
from rag.answer.generate import Answerer, ExtractiveAnswerer, Message, heuristic_rewrite
from rag.answer.prompt import REFUSAL
from rag.answer.text import coverage, looks_like_instruction
from rag.retrieve import HybridRetriever, as_of_date
from rag.settings import Settings
from rag.timewindow import DateWindow, format_day, resolve_window
from rag.types import Hit, SearchFilters
from rag.verify import SupportChecker

log = logging.getLogger(__name__)

# What small models write instead of the exact refusal sentence.
_MODEL_REFUSAL_RE = re.compile(
    r"couldn'?t find|could not find|cannot find|can'?t find|not (?:mentioned|stated|provided|found|included|given)"
    r"|no information|do(?:es)? not (?:contain|mention|say|provide|include)|i don'?t know|unable to (?:find|answer)"
    r"|not in the (?:corpus|passages|articles)",
    re.IGNORECASE,
)


@dataclass
class Citation:
    n: int
    source: str
    title: str
    date: str | None
    url: str | None
    chunk_id: str
    text: str
    supported: bool
    support: float
    highlight: tuple[int, int] | None = None  # span in `text` of the sentence that best supports the claim

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n, "source": self.source, "title": self.title, "date": self.date, "url": self.url,
            "chunk_id": self.chunk_id, "text": self.text, "supported": self.supported,
            "support": round(self.support, 4), "highlight": list(self.highlight) if self.highlight else None,
        }


@dataclass
class Answer:
    question: str
    standalone_question: str
    answer: str
    refused: bool
    support: float  # share of answer sentences supported by the passages they cite
    citations: list[Citation]
    retrieved: list[Hit]
    sentences: list[dict[str, Any]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    backend: str = ""
    model: str = ""
    refusal_reason: str | None = None
    warning: str | None = None  # set when a dependency failed and the answer came from a fallback
    as_of: str | None = None  # the date the question was asked as of (YYYY-MM-DD)
    window: dict[str, Any] | None = None  # the date window its time words name (DateWindow.to_dict())

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "standalone_question": self.standalone_question,
            "answer": self.answer,
            "refused": self.refused,
            "refusal_reason": self.refusal_reason,
            "support": round(self.support, 4),
            "sentences": self.sentences,
            "citations": [c.to_dict() for c in self.citations],
            "retrieved": [
                {"rank": h.rank, "source": h.chunk.source, "title": h.chunk.title, "date": h.chunk.date,
                 "url": h.chunk.url, "chunk_id": h.chunk.id,
                 "score": round(h.score, 6), "dense_score": None if h.dense_score is None else round(h.dense_score, 4),
                 "in_window": h.in_window, "also": h.also, "text": h.chunk.text}
                for h in self.retrieved
            ],
            "as_of": self.as_of,
            "window": self.window,
            "timings": {k: round(v, 1) for k, v in self.timings.items()},
            "backend": self.backend,
            "model": self.model,
            "warning": self.warning,
        }


class AnswerEngine:
    def __init__(
        self, settings: Settings, retriever: HybridRetriever, answerer: Answerer, checker: SupportChecker,
        gates: bool = True,
        fallback: ExtractiveAnswerer | None = None,
        evidence_chars: int = 0,
    ) -> None:
        """`gates=False` turns off the refusal gates and verified auto-citation (for the plain baseline):
        the answer is whatever the answerer wrote, still parsed and checked for the metrics."""
        self.settings = settings
        self.retriever = retriever
        self.answerer = answerer
        self.checker = checker
        self.gates = gates
        # Used when the generator returns no text at all (a small model sometimes emits only "[1] [2]").
        self.fallback = fallback
        self.evidence_chars = evidence_chars  # > 0: a generator sees only the best sentences (answer/evidence.py)

    def ask(self, question: str, history: list[Message] | None = None, **kwargs: Any) -> Answer:
        for event in self.stream(question, history, **kwargs):
            if isinstance(event, Answer):
                return event
        raise RuntimeError("the answer stream ended without an answer")

    def stream(
        self,
        question: str,
        history: list[Message] | None = None,
        k: int | None = None,
        filters: SearchFilters | None = None,
    ) -> Iterator[str | Answer]:
        started = time.perf_counter()
        history = [m for m in (history or []) if m.get("role") in ("user", "assistant") and m.get("content")]
        question = question.strip()
        standalone = question
        warning: str | None = None
        if history:
            try:
                rewritten_by_model = self.answerer.rewrite(question, history)
            except Exception as exc:  # noqa: BLE001  (a model server that is down must not stop the answer)
                rewritten_by_model, warning = None, self._model_failed(exc)
            standalone = rewritten_by_model or heuristic_rewrite(question, history)
        rewritten = time.perf_counter()

        k = k or self.settings.top_k
        as_of, window = time_context(standalone, filters, self.settings)
        hits = self.retriever.search(standalone, k=max(k, self.settings.answer_passages), filters=filters)
        retrieved = time.perf_counter()
        timings = {"rewrite_ms": (rewritten - started) * 1000, "retrieve_ms": (retrieved - rewritten) * 1000}
        base = {"question": question, "standalone_question": standalone, "backend": self.answerer.backend,
                "model": self.answerer.model, "as_of": as_of.isoformat(),
                "window": window.to_dict() if window else None}

        passages = [h.chunk for h in answer_hits(hits, window, self.settings.answer_passages)]
        reason = self._retrieval_refusal(without_time_words(question, window), history, hits, passages) \
            if self.gates else None
        if not passages:
            reason = "nothing in the corpus matches the question"
        refusal = REFUSAL
        if self.gates and window is not None and not any(h.in_window for h in hits):
            reason, refusal = window_refusal(window, as_of, self.settings.time_window_days_after)
        if reason:
            timings["first_token_ms"] = timings["total_ms"] = (time.perf_counter() - started) * 1000
            yield refusal
            yield Answer(answer=refusal, refused=True, support=0.0, citations=[], retrieved=hits, timings=timings,
                         refusal_reason=reason, warning=warning, **base)
            return

        texts: list[str] | None = None
        if self.answerer.backend != "extractive" and self.evidence_chars > 0:
            # Passages without a chosen sentence leave the prompt, so [n] numbers what the model saw.
            evidence = select_evidence(standalone, passages, self.retriever.embedder, self.evidence_chars)
            passages, texts = [e.chunk for e in evidence], [e.text for e in evidence]
        pieces: list[str] = []
        first_token: float | None = None
        failed = False
        try:
            for token in self.answerer.stream(standalone, passages, texts):
                if first_token is None:
                    first_token = time.perf_counter()
                pieces.append(token)
                yield token
        except Exception as exc:
            if self.fallback is None:
                raise
            failed, warning = True, self._model_failed(exc)
        raw = "".join(pieces)
        if self.fallback is not None and (failed or not strip_citations(raw).strip(" .\n")):
            raw = "".join(self.fallback.stream(standalone, passages))
            why = "the model failed" if failed else "the model returned no text"
            base["model"] = f"{base['model']} → {self.fallback.backend} fallback ({why})"
            if first_token is None:
                first_token = time.perf_counter()
            yield ("\n" if pieces else "") + raw
        generated = time.perf_counter()
        timings["first_token_ms"] = ((first_token or generated) - started) * 1000
        timings["generate_ms"] = (generated - retrieved) * 1000

        answer = self._finish(raw, hits, passages, base, timings)
        if window is not None and not answer.refused:
            answer.answer = dated_answer(answer.answer, answer.citations)
        answer.warning = warning
        answer.timings["check_ms"] = (time.perf_counter() - generated) * 1000
        answer.timings["total_ms"] = (time.perf_counter() - started) * 1000
        yield answer

    def _model_failed(self, exc: Exception) -> str:
        from rag.llm.factory import describe_model_error

        message = describe_model_error(exc, self.settings)
        log.warning("%s", message)
        return f"{message}; this answer was picked from the passages without it" if self.fallback else message

    def _cite_best_passage(self, sentence: CitedSentence, passages: list[Any], order: list[int]) -> None:
        """Small models often state a fact without its [n]. Cite the passage that best supports the sentence,
        but only if the citation check accepts it: a citation is never added that the check would reject."""
        scores = self.checker.scores([(p.text, sentence.text) for p in passages])
        best = max(range(len(passages)), key=lambda i: scores[i])
        if not self.checker.is_supported(scores[best]):
            return
        original = best + 1
        if original not in order:
            order.append(original)
        sentence.citations = [order.index(original) + 1]

    def _retrieval_refusal(self, question: str, history: list[Message], hits: list[Hit],
                           passages: list[Any]) -> str | None:
        """Refuse before generating when retrieval found nothing that could hold the answer."""
        if not passages:
            return "nothing in the corpus matches the question"
        best = max((h.dense_score or 0.0 for h in hits), default=0.0)
        if best < self.settings.min_relevance:
            return f"no passage relevant enough (best cosine {best:.2f} < {self.settings.min_relevance:.2f})"
        # A follow-up leans on earlier turns: terms said there count as covered by the conversation.
        covered = coverage(question, [f"{c.title} {c.text}" for c in passages], [m["content"] for m in history[-4:]])
        if covered < self.settings.min_question_coverage:
            return (f"the passages mention only {covered:.0%} of the question's terms "
                    f"(< {self.settings.min_question_coverage:.0%})")
        return None

    def _finish(self, raw: str, hits: list[Hit], passages: list[Any], base: dict[str, Any],
                timings: dict[str, float]) -> Answer:
        parsed = parse_citations(raw, len(passages))
        refused_reason = None
        if not parsed.sentences or (_MODEL_REFUSAL_RE.search(raw) and len(parsed.sentences) <= 2):
            refused_reason = "the model found no answer in the passages"
        order = list(parsed.order)
        checked = []
        for sentence in parsed.sentences:
            if self.gates and not sentence.citations and not _MODEL_REFUSAL_RE.search(sentence.text):
                self._cite_best_passage(sentence, passages, order)
            cited = [passages[order[n - 1] - 1] for n in sentence.citations]
            premise = "\n".join(c.text for c in cited)
            score = self.checker.score(premise, sentence.text) if cited else 0.0
            # Text that reads as an instruction is never presented as a supported fact.
            supported = bool(cited) and self.checker.is_supported(score) and not looks_like_instruction(sentence.text)
            sentence.supported, sentence.support = supported, score
            checked.append(sentence)
        supported_count = sum(1 for s in checked if s.supported)
        support = supported_count / len(checked) if checked else 0.0
        if refused_reason is None and supported_count == 0 and self.gates:
            refused_reason = "no answer sentence is supported by the passages it cites"
        if refused_reason:
            return Answer(answer=REFUSAL, refused=True, support=0.0, citations=[], retrieved=hits, timings=timings,
                          refusal_reason=refused_reason, sentences=[], **base)

        if self.settings.drop_unsupported:
            checked = [s for s in checked if s.supported]
        text = " ".join(_with_markers(s.text, s.citations) for s in checked)
        citations = []
        for new_n, original in enumerate(order, start=1):
            if not any(new_n in s.citations for s in checked):
                continue  # cited only by a dropped sentence
            chunk = passages[original - 1]
            claims = [s for s in checked if new_n in s.citations]
            claim_support = max((s.support or 0.0 for s in claims), default=0.0)
            highlight = self.checker.best_sentence(chunk.text, " ".join(s.text for s in claims)) if claims else None
            citations.append(Citation(
                n=new_n, source=chunk.source, title=chunk.title, date=chunk.date, url=chunk.url, chunk_id=chunk.id,
                text=chunk.text, supported=any(s.supported for s in claims), support=claim_support,
                highlight=highlight,
            ))
        sentences = [{"text": s.text, "citations": s.citations, "supported": s.supported,
                      "support": round(s.support or 0.0, 4)} for s in checked]
        return Answer(answer=text, refused=False, support=support, citations=citations, retrieved=hits,
                      timings=timings, sentences=sentences, **base)


# ----------------------------------------------------------------------------------------------- time


def time_context(question: str, filters: SearchFilters | None, settings: Settings) -> tuple[dt.date, DateWindow | None]:
    """The question's as-of date and the date window its time words name (None: it names no time)."""
    as_of = as_of_date(filters)
    return as_of, resolve_window(question, as_of) if settings.time_window_ranking else None


def without_time_words(question: str, window: DateWindow | None) -> str:
    """The question without the words that set its date window: "this week" is answered by the publication
    date, not by a passage that says "week", so it does not count against the passages' coverage."""
    if window is None or not window.phrase:
        return question
    return re.sub(re.escape(window.phrase), " ", question, count=1, flags=re.IGNORECASE)


def answer_hits(hits: list[Hit], window: DateWindow | None, n: int) -> list[Hit]:
    """The passages an answer may use: for a question with a date window, only those published in it when there
    are any (an answer about "this week" is not drawn from last month's article); else the first n."""
    inside = [h for h in hits if h.in_window] if window is not None else []
    return (inside or hits)[:n]


def window_refusal(window: DateWindow, as_of: dt.date, days_after: int) -> tuple[str, str]:
    """(reason, answer) when no retrieved article was published in the question's window."""
    searched = window.news_about(days_after, as_of)
    reason = f"no retrieved article was published {searched.describe()} (\"{window.phrase}\")"
    return reason, f"{REFUSAL} (no articles {searched.describe()})"


_LOWER_FIRST = {"the", "a", "an", "it", "there", "this", "these", "that", "those", "in", "on", "at", "after",
                "before", "according"}


def dated_answer(text: str, citations: list[Citation]) -> str:
    """A time-sensitive answer names the date of its evidence: "As of 11 May 2023, the Fed … [1]." The date is
    the newest publication date among the cited sources; an answer citing only undated sources is unchanged."""
    dates = [c.date for c in citations if c.date]
    if not dates or not text:
        return text
    try:
        newest = dt.date.fromisoformat(max(dates)[:10])
    except ValueError:
        return text
    first, _, rest = text.partition(" ")
    if first.lower() in _LOWER_FIRST:
        text = f"{first.lower()} {rest}" if rest else first.lower()
    return f"As of {format_day(newest)}, {text}"


def _with_markers(text: str, citations: list[int]) -> str:
    """Put citation markers before the sentence's closing punctuation: "ran two weeks [1][2]." """
    markers = "".join(f"[{n}]" for n in citations)
    if not markers:
        return text
    match = re.search(r"[.!?…][\"'”’)]*$", text)
    if match:
        return f"{text[: match.start()]} {markers}{text[match.start():]}"
    return f"{text} {markers}"


def plain_answer(answer: Answer) -> str:
    return strip_citations(answer.answer)
