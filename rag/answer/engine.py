"""Question → grounded answer: rewrite follow-up → hybrid search → answerer → parse and check citations.

`AnswerEngine.stream()` yields answer text as it is generated, then one final `Answer` with citations resolved.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from rag.answer import digest
from rag.answer.citations import strip_citations
from rag.answer.evidence import select_evidence
from rag.answer.gates import CorpusDates, decides_combined, retrieval_refusal, time_standing, window_is_empty
from rag.answer.generate import Answerer, Candidate, ExtractiveAnswerer, Message, heuristic_rewrite
from rag.answer.policy import (
    LeadOrder,
    LeadRanking,
    PolicyOutcome,
    SentenceJudge,
    ShownFilter,
    Verdict,
    kept_from_omitted,
    missing_anchors,
    quote_repair,
    repeats_shown,
    verified_stream,
    with_markers,
)
from rag.answer.prompt import REFUSAL
from rag.answer.text import context_as_words, coverage, lowered_opener
from rag.retrieve import HybridRetriever, as_of_date
from rag.settings import Settings
from rag.timewindow import DateWindow, format_day, resolve_window, time_only
from rag.types import Chunk, Hit, SearchFilters
from rag.verify import SupportChecker

log = logging.getLogger(__name__)

# The kinds of answer a shown sentence must hold, or the answer says the sources do not give it (LeadOrder.require):
# a number and a date, which ranking.asked_span reads reliably.
REQUIRED_KINDS = ("quantity", "time")
# "What is the population of Belgrade?" asks a number though it asks with "what" (a name, to the ranker).
_ASKS_AMOUNT_RE = re.compile(r"^what(?: is|'s|’s| was| were| are) the (?:population|cost|price|number|amount|size|"
                             r"budget|salary|value|total|death toll|age|height|length|area|percentage|share)\b",
                             re.IGNORECASE)


def required_answer(shown_filter: ShownFilter | None) -> ShownFilter | None:
    """The filter whose asked kind every answer must hold (LeadOrder.require), or None: a question asking a number
    or a date; "what is the population/cost/… of …" asks a number too (only here: the ranker's kind is unchanged)."""
    if shown_filter is None:
        return None
    if shown_filter.profile.kind in REQUIRED_KINDS:
        return shown_filter
    if _ASKS_AMOUNT_RE.search(shown_filter.asking):
        amount = ShownFilter(shown_filter.question, passage_texts=shown_filter.passage_texts)
        amount.profile = replace(amount.profile, kind="quantity")
        return amount
    return None


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
    # One span per answer sentence citing this passage (its best premise sentence): the sources panel marks each.
    highlights: tuple[tuple[int, int], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n, "source": self.source, "title": self.title, "date": self.date, "url": self.url,
            "chunk_id": self.chunk_id, "text": self.text, "supported": self.supported,
            "support": round(self.support, 4), "highlight": list(self.highlight) if self.highlight else None,
            "highlights": [list(span) for span in self.highlights],
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
    # Sentences the citation check rejected: never part of `answer`, shown apart and marked (answer/policy.py).
    rejected: list[dict[str, Any]] = field(default_factory=list)
    # Sentences the check accepted but the answer does not show, with the reason (policy.ShownFilter): a
    # restatement of the question, debris, a question, the model's comment. Never part of `answer`.
    omitted: list[dict[str, Any]] = field(default_factory=list)
    # What the answerer was shown of each passage, in its [n] order (evidence recall is measured on it).
    evidence: list[dict[str, Any]] = field(default_factory=list)
    # The passages handed to the answerer (before a model's evidence selection), also when a gate refused: the
    # evals tell "retrieval missed the answer" from "the evidence dropped it" from "a gate refused it" with them.
    passages: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        # Gates and checks word their reason as a clause ("the passages mention only …"); it is shown as a sentence
        # of its own ("Not found in the corpus. The passages mention only …."): composed once here, for the CLI,
        # the JSON and the web chat alike.
        if self.refusal_reason:
            self.refusal_reason = as_sentence(self.refusal_reason)

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "standalone_question": self.standalone_question,
            "answer": self.answer,
            "refused": self.refused,
            "refusal_reason": self.refusal_reason,
            "support": round(self.support, 4),
            "sentences": self.sentences,
            "rejected": self.rejected,
            "omitted": self.omitted,
            "evidence": self.evidence,
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


def as_sentence(clause: str) -> str:
    """A clause as a sentence: capital first letter, final full stop ('the passages …' -> 'The passages ….')."""
    text = clause.strip()
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else f"{text}."


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
        self._dates: tuple[Any, CorpusDates] | None = None

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
        follow_up = False  # the question leans on the conversation ("And how much …?")
        heuristic = question
        if history:
            # One rule says whether the question leans on the conversation (generate.leans_on_context): a
            # question that names its own subject is answered as asked, borrowing nothing from earlier turns.
            heuristic = heuristic_rewrite(question, history)
            follow_up = heuristic != question
        if follow_up:
            try:
                rewritten_by_model = self.answerer.rewrite(question, history)
            except Exception as exc:  # noqa: BLE001  (a model server that is down must not stop the answer)
                rewritten_by_model, warning = None, self._model_failed(exc)
            standalone = rewritten_by_model or heuristic
        rewritten = time.perf_counter()

        k = k or self.settings.top_k
        as_of, window = time_context(standalone, filters, self.settings)
        hits = self.retriever.search(standalone, k=max(k, self.settings.answer_passages), filters=filters)
        retrieved = time.perf_counter()
        timings = {"rewrite_ms": (rewritten - started) * 1000, "retrieve_ms": (retrieved - rewritten) * 1000}
        base = {"question": question, "standalone_question": standalone, "backend": self.answerer.backend,
                "model": self.answerer.model, "as_of": as_of.isoformat(),
                "window": window.to_dict() if window else None}

        if window is not None and time_only(standalone, window):
            # "What happened this week?": the window's stories, not passages similar to the question's words.
            yield from self._digest(hits, window, as_of, k, base, timings, started, warning)
            return

        # The gates judge the first passages as they always have; the answerer may be handed its own, longer list.
        passages = [h.chunk for h in answer_hits(hits, window, self.settings.answer_passages)]
        handed = passages
        if self.settings.answerer_passages > 0:
            handed = answerer_passages(standalone, hits, window, self.settings.answerer_passages,
                                       documents=k)
        base["passages"] = [{"chunk_id": c.id, "source": c.source, "text": c.text} for c in handed]
        corpus = self._corpus_dates()
        reason = None
        anchors_after = False  # the anchor check after generation: only where the combined decision did not judge
        if self.gates:
            standing = time_standing(passages, as_of, corpus, self.settings)
            # A follow-up is about its context note's subject too ("How long did it last? (context: What was the
            # military exercise in Serbia called?)"): the passages must name the note's terms as well as its own;
            # a question asked alone is judged by its own terms, never the conversation's.
            reason = retrieval_refusal(without_time_words(context_as_words(heuristic), window), [], hits, passages, standing,
                                       self.settings, asked=standalone, follow_up=follow_up)
            anchors_after = self.settings.refuse_missing_anchors and not decides_combined(standing, self.settings,
                                                                                          follow_up)
        if not passages:
            reason = "nothing in the corpus matches the question"
        refusal = REFUSAL
        if self.gates and window is not None:
            searched = window.news_about(self.settings.time_window_days_after, as_of)
            if window_is_empty(searched, hits, corpus, self.settings):
                reason, refusal = window_refusal(window, searched)
        if reason:
            yield from self._refused(refusal, reason, hits, timings, started, warning, base)
            return

        gated, passages = passages, handed
        texts: list[str] | None = None
        if self.answerer.backend != "extractive" and self.evidence_chars > 0:
            # Passages without a chosen sentence leave the prompt, so [n] numbers what the model saw.
            evidence = select_evidence(standalone, passages, self.retriever.embedder, self.evidence_chars,
                                       ranking=self.settings.llm_evidence_ranking,
                                       extra_chars=self.settings.llm_evidence_extra_chars)
            passages, texts = [e.chunk for e in evidence], [e.text for e in evidence]
        shown_evidence = [{"chunk_id": c.id, "source": c.source, "text": t}
                          for c, t in zip(passages, texts or [c.text for c in passages], strict=True)]
        judge = SentenceJudge(self.checker, passages, auto_cite=self.gates)
        outcome = PolicyOutcome()
        # What is shown and in which order (rag/answer/policy.py): a verified sentence that tells nothing is kept
        # out, and the one holding the asked-for answer leads.
        shown_filter = ShownFilter(standalone, passage_texts=[f"{c.title}\n{c.text}" for c in passages]) \
            if self.gates and self.settings.answer_filter else None
        # A question asking a number or a date is answered by a sentence holding one, else the answer says the
        # sources do not give it before what they do say (LeadOrder.require).
        require = required_answer(shown_filter)
        # The extractive answer keeps its own order, the lead passage's sentences in the article's order, which on
        # held-out news led with the answer more often than holding back by answer type or always putting the
        # best-ranked first (docs/benchmarks.md#what-the-answer-shows-first-issue-12).
        writes = self.answerer.backend != "extractive"
        lead = LeadOrder(shown_filter if self.settings.answer_lead and writes else None,
                         limit=self.settings.answer_max_sentences if self.gates else 0, opening=writes, require=require)
        ranked = self._ranked_once(standalone, passages)
        if writes and self.gates and self.fallback is not None:
            fallback = self.fallback
            lead.ranking = LeadRanking(
                score=lambda text, n: fallback.sentence_score(standalone, text, n, passages),
                best=lambda: max((c.score for c in ranked(standalone, passages)), default=0.0))
        order: list[int] = []  # order[i] = passage number (as the answerer saw it) of shown citation i + 1
        first_token: float | None = None
        failed = False

        def timed(pieces: Iterator[str]) -> Iterator[str]:
            nonlocal first_token
            for piece in pieces:
                if first_token is None:
                    first_token = time.perf_counter()
                yield piece

        streamed = 0  # sentences streamed so far
        # The model's first token is not what a user first sees: the lead order may hold sentences back.
        first_shown: float | None = None

        def show(verdicts: list[Verdict]) -> Iterator[str]:
            # The stream is the final answer in pieces, also after a model failure (no separator of its own).
            nonlocal streamed, first_shown
            for verdict in verdicts:
                streamed += 1
                if first_shown is None:
                    first_shown = time.perf_counter()
                yield self._shown(verdict, order, first=streamed == 1)

        # Only sentences the check accepts are streamed: what a user sees while it is written is already the
        # verified answer (rag/answer/policy.py).
        try:
            for verdict in verified_stream(timed(self.answerer.stream(standalone, passages, texts)), judge, outcome,
                                           gate=self.gates, shown=shown_filter):
                yield from show(lead.offer(verdict))
        except Exception as exc:
            if self.fallback is None:
                raise
            failed, warning = True, self._model_failed(exc)
        wrote_nothing = not outcome.shown and not outcome.rejected and not outcome.omitted
        quotes: list[Verdict] = []
        if self.fallback is not None and (failed or wrote_nothing):
            # The model failed or wrote no words (a small model sometimes emits only "[1] [2]").
            why = "the model failed" if failed else "the model returned no text"
            base["model"] = f"{base['model']} → {self.fallback.backend} fallback ({why})"
            if not lead.released:
                # The model's verified sentences still held back for a leading one are not lost: they are listed
                # apart like the rest of what the model wrote (its rejected and omitted sentences stay as they are).
                outcome.omitted += [(v, "held back for a leading sentence when the model failed") for v in lead.held]
                outcome.shown, order = [], []
                lead = LeadOrder(lead.shown_filter, limit=lead.limit, require=require)
            lead.opening = False  # the fallback's sentences are the articles' own
            said = [v.text for v in lead.released]  # shown before the model failed: never shown twice
            for verdict in verified_stream(self.fallback.stream(standalone, passages), judge, outcome,
                                           gate=self.gates, shown=shown_filter, origin="quote"):
                if repeats_shown(verdict.text, said):  # the shown sentences say most of it already
                    outcome.omitted.append((verdict, "repeats a sentence already shown"))
                else:
                    yield from show(lead.offer(verdict))
            if first_token is None:
                first_token = time.perf_counter()
        elif self.gates and self.fallback is not None and (
                self.settings.answer_repair == "quote-always"
                or (self.settings.answer_repair == "quote" and not outcome.shown)):
            # The quotation adds to what the model saw with each passage's title (as evidence selection ranks).
            quotes = quote_repair(standalone, passages, judge, ranked, already=outcome.shown, guide=outcome.rejected,
                                  shown=shown_filter, omitted=outcome.omitted)
            outcome.repaired = bool(quotes)
        yield from show(lead.close(quotes))
        if not lead.released:
            # The filter never empties an answer that had something true to say: the best omitted sentence.
            kept = kept_from_omitted(outcome.omitted, shown_filter)
            if kept is not None:
                yield from show(lead.close([kept]))
        outcome.shown = list(lead.released)
        past = "past the answer's first sentence" if lead.limit == 1 else f"past the answer's first {lead.limit} sentences"
        outcome.over = list(lead.over)
        outcome.omitted += [(v, past) for v in outcome.over]
        outcome.omitted += [(v, "repeats a sentence already shown") for v in lead.repeated]
        generated = time.perf_counter()
        timings["first_token_ms"] = ((first_token or generated) - started) * 1000
        timings["first_shown_ms"] = ((first_shown or generated) - started) * 1000
        timings["generate_ms"] = (generated - retrieved) * 1000

        answer = self._finish(outcome, order, hits, passages, base, timings, anchors_after, gated)
        answer.evidence = shown_evidence
        if window is not None and not answer.refused:
            answer.answer = dated_answer(answer.answer, answer.citations)
        answer.warning = warning
        answer.timings["check_ms"] = (time.perf_counter() - generated) * 1000
        answer.timings["total_ms"] = (time.perf_counter() - started) * 1000
        yield answer

    @staticmethod
    def _refused(refusal: str, reason: str, hits: list[Hit], timings: dict[str, float], started: float,
                 warning: str | None, base: dict[str, Any]) -> Iterator[str | Answer]:
        """A refusal decided before anything was written: the stream is the refusal, then the final Answer."""
        timings["first_token_ms"] = timings["first_shown_ms"] = timings["total_ms"] = (
            time.perf_counter() - started) * 1000
        yield refusal
        yield Answer(answer=refusal, refused=True, support=0.0, citations=[], retrieved=hits, timings=timings,
                     refusal_reason=reason, warning=warning, **base)

    def _digest(self, hits: list[Hit], window: DateWindow, as_of: dt.date, k: int, base: dict[str, Any],
                timings: dict[str, float], started: float, warning: str | None) -> Iterator[str | Answer]:
        """The answer to a time-only question (rag/answer/digest.py): the window's first k stories, each dated and
        cited by its first verified sentence; no model writes it. Refused with the window searched when the window
        holds no article (or, rarely, none of their opening sentences passes the check)."""
        items = digest.digest_items(hits, self.checker, k)
        base["passages"] = base["evidence"] = [{"chunk_id": i.hit.chunk.id, "source": i.hit.chunk.source,
                                                "text": i.hit.chunk.text} for i in items]
        if self.answerer.backend != "extractive":
            base["model"] = f"{base['model']} (not used: a digest of the window's stories)"
        if not items:
            # A digest searches the window it was asked about, not the one widened for topical questions (retrieve).
            reason, refusal = window_refusal(window, window)
            corpus = self._corpus_dates()
            if any(h.in_window for h in hits):
                reason = "no opening sentence of the window's articles passed the citation check"
            elif corpus is not None and corpus.any_between(window.since, window.until):
                reason = f"no article published {window.describe()} matches the search's filters"
            yield from self._refused(refusal, reason, hits, timings, started, warning, base)
            return
        clauses = [digest.clause(item, as_of, last=n == len(items)) for n, item in enumerate(items, start=1)]
        pieces = [digest.opening(as_of)] + [("" if n == 1 else " ") + digest.with_marker(text, n)
                                            for n, text in enumerate(clauses, start=1)]
        timings["first_token_ms"] = timings["first_shown_ms"] = (time.perf_counter() - started) * 1000
        yield from pieces
        citations = [Citation(n=n, source=i.hit.chunk.source, title=i.hit.chunk.title, date=i.hit.chunk.date,
                              url=i.hit.chunk.url, chunk_id=i.hit.chunk.id, text=i.hit.chunk.text, supported=True,
                              support=i.verdict.support,
                              highlight=self.checker.best_sentence(i.hit.chunk.text, i.verdict.text))
                     for n, i in enumerate(items, start=1)]
        sentences = [{"text": text, "citations": [n], "supported": True, "support": round(i.verdict.support, 4),
                      "origin": "digest"} for n, (text, i) in enumerate(zip(clauses, items, strict=True), start=1)]
        timings["total_ms"] = (time.perf_counter() - started) * 1000
        yield Answer(answer="".join(pieces), refused=False, support=1.0, citations=citations, retrieved=hits,
                     timings=timings, sentences=sentences, warning=warning, **base)

    def _ranked_once(self, question: str, passages: list[Chunk]) -> Callable[[str, list[Chunk]], list[Candidate]]:
        """The fallback's title-aware candidates for this answer's passages, ranked once: the lead order's ranking and
        the quotation repair read the same list."""
        done: list[list[Candidate]] = []

        def ranked(asked: str, chunks: list[Chunk]) -> list[Candidate]:
            if asked != question or chunks != passages:  # another question or passages: ranked anew, not cached
                return self.fallback.candidates(asked, chunks, title_aware=True) if self.fallback else []
            if not done:
                done.append(self.fallback.candidates(question, passages, title_aware=True) if self.fallback else [])
            return done[0]
        return ranked

    @staticmethod
    def _shown(verdict: Verdict, order: list[int], first: bool) -> str:
        """The sentence as shown, its citations renumbered by first use over the shown sentences."""
        for n in verdict.citations:
            if n not in order:
                order.append(n)
        return ("" if first else " ") + with_markers(verdict.text, [order.index(n) + 1 for n in verdict.citations])

    def _model_failed(self, exc: Exception) -> str:
        from rag.llm.factory import describe_model_error

        message = describe_model_error(exc, self.settings)
        log.warning("%s", message)
        return f"{message}; this answer was picked from the passages without it" if self.fallback else message

    def _corpus_dates(self) -> CorpusDates | None:
        """The corpus's publication dates, from the catalog the retriever keeps (rebuilt when the index changes)."""
        catalog_of = getattr(self.retriever, "catalog", None)
        if catalog_of is None:
            return None
        catalog = catalog_of()
        if self._dates is None or self._dates[0] is not catalog:
            self._dates = (catalog, CorpusDates.from_records(catalog.records))
        return self._dates[1]

    def _finish(self, outcome: PolicyOutcome, order: list[int], hits: list[Hit], passages: list[Any],
                base: dict[str, Any], timings: dict[str, float], anchors_after: bool,
                gated: list[Chunk]) -> Answer:
        """`passages`: as the answerer numbered them; `gated`: the passages the refusal gates judged."""
        def listed(verdicts: list[Verdict]) -> list[dict[str, Any]]:
            """Sentences kept out of the answer, as Answer.rejected lists them."""
            return [{"text": v.text, "support": round(v.support, 4),
                     "cited": [passages[n - 1].source for n in v.citations]} for v in verdicts]

        def left_out(refused: Sequence[Verdict] = ()) -> list[dict[str, Any]]:
            """Answer.omitted: the supported sentences not shown, with why, but those refused with the answer."""
            return [{**listed([v])[0], "origin": v.origin, "reason": reason} for v, reason in outcome.omitted
                    if not any(v is r for r in refused)]

        rejected = listed(outcome.rejected)
        omitted = left_out()
        # Where the combined decision judged the question (gates.decides_combined), it weighed the anchors before
        # generation.
        if outcome.shown and self.gates and anchors_after:
            # Checked against every passage the gates judged, not only the cited one: a news question's
            # preamble ("Millions of Americans were under flood alerts this week. Which state …?") names context
            # that the sentence holding the answer need not repeat; a near miss (another year, person, place)
            # is named by none of them.
            missing = missing_anchors(base["standalone_question"], [f"{p.title}\n{p.text}" for p in gated])
            if missing:
                # The sentences past the answer's first ones rest on the same passages: refused with them, not
                # listed as left out of an answer that is not given.
                rejected += listed([*outcome.shown, *outcome.over])
                return Answer(answer=REFUSAL, refused=True, support=0.0, citations=[], retrieved=hits,
                              timings=timings, sentences=[], rejected=rejected, omitted=left_out(outcome.over), **base,
                              refusal_reason=f"the passages the answer rests on do not mention "
                                             f"{', '.join(repr(m) for m in missing)} from the question")
        if not outcome.shown:
            if outcome.model_refused or not outcome.rejected:
                reason = "the model found no answer in the passages"
            else:
                reason = "no answer sentence is supported by the passages it cites"
            return Answer(answer=REFUSAL, refused=True, support=0.0, citations=[], retrieved=hits, timings=timings,
                          refusal_reason=reason, sentences=[], rejected=rejected, omitted=omitted,
                          **base)
        shown = [(v, [order.index(n) + 1 for n in v.citations]) for v in outcome.shown]
        text = " ".join(with_markers(v.text, numbers) for v, numbers in shown)
        citations = []
        for new_n, original in enumerate(order, start=1):
            chunk = passages[original - 1]
            claims = [v for v, numbers in shown if new_n in numbers]
            highlight = self.checker.best_sentence(chunk.text, " ".join(v.text for v in claims)) if claims else None
            highlights = sorted({span for v in claims if (span := self.checker.best_sentence(chunk.text, v.text))})
            citations.append(Citation(
                n=new_n, source=chunk.source, title=chunk.title, date=chunk.date, url=chunk.url, chunk_id=chunk.id,
                text=chunk.text, supported=all(v.supported for v in claims),
                support=max((v.support for v in claims), default=0.0), highlight=highlight,
                highlights=tuple(highlights),
            ))
        # A note ("The sources do not say how many …", LeadOrder.close) cites nothing and is checked by nothing:
        # neither verified nor counted (supported None), so no reader, eval or style takes it for a checked claim.
        sentences = [{"text": v.text, "citations": numbers,
                      "supported": None if v.origin == "note" else v.supported,
                      "support": None if v.origin == "note" else round(v.support, 4), "origin": v.origin}
                     for v, numbers in shown]
        checked = [v for v in outcome.shown if v.origin != "note"]
        support = sum(v.supported for v in checked) / len(checked) if checked else 0.0
        return Answer(answer=text, refused=False, support=support, citations=citations, retrieved=hits,
                      timings=timings, sentences=sentences, rejected=rejected, omitted=omitted, **base)


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
    # Each hit is one document (or story): its next-best passages follow it, as an answer often needs two
    # neighbouring chunks of the best article more than the best chunk of a fifth one.
    return [p for h in in_window_first(hits, window)
            for p in (h, *(replace(h, chunk=c, passages=[]) for c in h.passages))][:n]


def in_window_first(hits: list[Hit], window: DateWindow | None) -> list[Hit]:
    """The hits published in the question's date window when there are any, else all of them."""
    inside = [h for h in hits if h.in_window] if window is not None else []
    return inside or hits


def answerer_passages(question: str, hits: list[Hit], window: DateWindow | None, n: int,
                      documents: int) -> list[Chunk]:
    """The n passages handed to the answerer, ranked from every candidate passage of the first `documents` hits'
    articles (those published in the question's date window when there are any, as in answer_hits) by dense
    cosine to the question plus the share of the question's terms that the passage and its title name. The
    passage that holds the answer is often an article's third or fourth best, below other articles' best chunks
    in the search's order; the question's terms it names lift it (docs/benchmarks.md#passages-and-evidence-for-
    the-answerer-issue-12)."""
    question = without_time_words(question, window)
    relevance: dict[str, tuple[float, Chunk]] = {}
    for h in in_window_first(hits, window)[:documents]:
        for chunk in (h.chunk, *h.document_passages):
            score = h.cosines.get(chunk.id, 0.0) + coverage(question, [f"{chunk.title}\n{chunk.text}"])
            relevance.setdefault(chunk.id, (score, chunk))
    return [chunk for _, chunk in sorted(relevance.values(), key=lambda sc: -sc[0])][:n]


def window_refusal(window: DateWindow, searched: DateWindow) -> tuple[str, str]:
    """(reason, answer) when the corpus has no article published in the question's window (`searched`: the
    window widened by the days its news is published after it, DateWindow.news_about; a digest searches the window
    itself)."""
    after = "" if searched == window else " and the days after it, when news about it appears"
    reason = f"no retrieved article was published {searched.describe()} (\"{window.phrase}\"{after}), nor any in the corpus"
    # The answer names the window asked about ("in 2022": the year), not the longer span searched.
    return reason, f"{REFUSAL} (no articles {window.describe()})"


def dated_answer(text: str, citations: list[Citation]) -> str:
    """A time-sensitive answer names the date of its evidence: "As of 11 May 2023, the Fed … [1]." The date is
    the newest publication date among the cited sources; an answer citing only undated sources is unchanged.
    The answer's first word is lower-cased only when it is a common sentence opener (text.lowered_opener)."""
    dates = [c.date for c in citations if c.date]
    if not dates or not text:
        return text
    try:
        newest = dt.date.fromisoformat(max(dates)[:10])
    except ValueError:
        return text
    if re.match(r"as of\b", text, re.IGNORECASE):
        return text  # the answer dates itself
    return f"As of {format_day(newest)}, {lowered_opener(text)}"


def plain_answer(answer: Answer) -> str:
    return strip_citations(answer.answer)
