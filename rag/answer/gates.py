"""Refusal gates before any answer is written: is there anything in the corpus that could hold the answer?

News is asked about a date (the as-of date), and the corpus covers a span of dates. Where the question stands
against that span is the strongest signal of whether the corpus can answer it (docs/design.md, measured in
docs/benchmarks.md "Refusal gates on real news"):

- **current**: a passage the answer would rest on was published within `fresh_days` before the as-of date. The corpus holds
  news of the question's time and retrieval found it; the question's wording rarely matches an article's
  word for word ("slamming", "heaviest"), so the term-coverage gate is lenient (`min_question_coverage_fresh`).
- **past the corpus** (off unless `corpus_gap_days` is set: a static archive is always asked after its newest
  article): the as-of date is more than `corpus_gap_days` after the newest article in the corpus.
  The question is about news the corpus cannot hold yet; what retrieval finds is older news on a similar
  subject (last year's Super Bowl for this year's): the passages must name nearly all of the question's terms
  (`min_question_coverage_past_corpus`) and be close in meaning (`min_relevance_past_corpus`).
- otherwise (the as-of date inside the corpus's span, nothing recent retrieved, or undated articles):
  `min_question_coverage` and `min_relevance`, tuned on SQuAD 2.0 and the sample set.

The window refusal ("no articles between 12 and 19 January") says something about the corpus, so it fires only
when it is true of the corpus: no retrieved article is in the window, the corpus holds no article published in
the window at all, and no relevant undated article is among the answer passages while the window lies inside the
corpus's span of dates (such an article may be from that week).
When the corpus has articles from the window but retrieval found none of them on the subject, the answer comes
from the older articles, under the gates above, and names their date ("As of 3 January 2018, …").
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rag.answer.policy import anchor_misses
from rag.answer.text import coverage, question_terms
from rag.lexical import LexicalIndex, analyze
from rag.settings import Settings
from rag.timewindow import DateWindow
from rag.types import Hit


@dataclass(frozen=True)
class CorpusDates:
    """The publication dates of the corpus's dated articles, sorted (from the manifest's catalog)."""

    days: tuple[dt.date, ...]

    @classmethod
    def from_records(cls, records: dict[str, Any]) -> CorpusDates:
        days = []
        for record in records.values():
            day = _day(getattr(record, "date", None))
            if day is not None:
                days.append(day)
        return cls(tuple(sorted(days)))

    def newest(self, as_of: dt.date) -> dt.date | None:
        """The newest publication date not after the as-of date."""
        i = bisect.bisect_right(self.days, as_of)
        return self.days[i - 1] if i else None

    def spans(self, since: dt.date | None, until: dt.date | None) -> bool:
        """Whether the window overlaps the span from the oldest to the newest dated article."""
        if not self.days:
            return True
        return (since is None or since <= self.days[-1]) and (until is None or until >= self.days[0])

    def any_between(self, since: dt.date | None, until: dt.date | None) -> bool:
        lo = bisect.bisect_left(self.days, since) if since else 0
        hi = bisect.bisect_right(self.days, until) if until else len(self.days)
        return hi > lo


def _day(iso: str | None) -> dt.date | None:
    if not iso:
        return None
    try:
        return dt.date.fromisoformat(iso[:10])
    except ValueError:
        return None


@dataclass(frozen=True)
class TimeStanding:
    """Where a question stands against the corpus's dates."""

    regime: str  # "current" | "past corpus" | "in corpus"
    newest_hit_age_days: int | None  # days between the newest answer passage and the as-of date
    corpus_newest: dt.date | None  # the corpus's newest article on or before the as-of date

    def describe(self) -> str:
        if self.regime == "past corpus" and self.corpus_newest is not None:
            return f"the corpus's newest article is from {self.corpus_newest.isoformat()}"
        if self.regime == "current":
            return f"a passage from {self.newest_hit_age_days} days before the as-of date was found"
        return "inside the corpus's dates"


def time_standing(passages: list[Any], as_of: dt.date, corpus: CorpusDates | None,
                  settings: Settings) -> TimeStanding:
    """`passages`: the chunks an answer would rest on (not every retrieved one: in a small corpus the newest
    article is retrieved for any question)."""
    ages = [(as_of - day).days for day in (_day(c.date) for c in passages) if day is not None and day <= as_of]
    age = min(ages) if ages else None
    newest = corpus.newest(as_of) if corpus is not None else None
    if age is not None and age <= settings.fresh_days:
        return TimeStanding("current", age, newest)
    if settings.corpus_gap_days and newest is not None and (as_of - newest).days > settings.corpus_gap_days:
        return TimeStanding("past corpus", age, newest)
    return TimeStanding("in corpus", age, newest)


def thresholds(standing: TimeStanding, settings: Settings, best: float = 0.0) -> tuple[float, float]:
    """(minimum best cosine, minimum share of the question's terms) for a question of this standing whose best
    passage has dense cosine `best`. Inside the corpus's dates the share slides down as `best` rises above
    `coverage_pivot_relevance` (by `coverage_per_relevance` per unit of cosine): a passage close in meaning to
    the question is on its subject in other words ("walked off the job" for "strike") and needs fewer of its
    terms. Below the pivot the share stays `min_question_coverage` (raising it there refused the sample set's
    answerable questions, whose best cosines are low: docs/benchmarks.md)."""
    if standing.regime == "current":
        return settings.min_relevance, settings.min_question_coverage_fresh
    if standing.regime == "past corpus":
        return (max(settings.min_relevance, settings.min_relevance_past_corpus),
                max(settings.min_question_coverage, settings.min_question_coverage_past_corpus))
    closer = max(0.0, best - settings.coverage_pivot_relevance)
    return settings.min_relevance, max(0.0, settings.min_question_coverage - settings.coverage_per_relevance * closer)


def best_relevance(hits: list[Hit]) -> float:
    return max((h.dense_score or 0.0 for h in hits), default=0.0)


class TermRarity:
    """How rare each of a question's terms is in the corpus: BM25's inverse document frequency over the lexical
    index's chunks, ln(1 + (N - df + 0.5) / (df + 0.5)). A passage that misses "week" or "team" (in thousands of
    chunks) has missed little; one that misses "Hamlin" or "Wimbledon" has missed what the question is about."""

    def __init__(self, chunks: int, frequencies: dict[str, int]) -> None:
        self.chunks = chunks
        self.frequencies = frequencies

    @classmethod
    def of(cls, index: LexicalIndex, terms: set[str]) -> TermRarity:
        # A question term is a stem of text.content_terms; a word with an inner apostrophe ("o’brien") is one
        # term there and several in the lexical index: it is as rare as its rarest piece.
        pieces = {term: analyze(term) or [term] for term in terms}
        chunks, frequencies = index.document_frequencies(p for parts in pieces.values() for p in parts)
        return cls(chunks, {term: min(frequencies[p] for p in parts) for term, parts in pieces.items()})

    def weight(self, term: str) -> float:
        df = self.frequencies.get(term, 0)
        return math.log(1.0 + (self.chunks - df + 0.5) / (df + 0.5))


# One lexical index per index folder, reopened when the folder is replaced (a schema migration), as the
# retriever does (rag/retrieve.py HybridRetriever.lexical); its reader follows each commit.
_lexical_lock = threading.Lock()
_lexical: dict[Path, tuple[tuple[int, int], LexicalIndex]] = {}


def _lexical_index(index_dir: Path) -> LexicalIndex | None:
    try:
        stat = LexicalIndex.file(index_dir).stat()
    except OSError:
        return None
    stamp = (stat.st_dev, stat.st_ino)
    with _lexical_lock:
        known = _lexical.get(index_dir)
        if known is None or known[0] != stamp:
            index = LexicalIndex.load(index_dir)
            if index is None:
                return None
            known = _lexical[index_dir] = (stamp, index)
        return known[1]


def term_rarity(question: str, settings: Settings) -> TermRarity | None:
    """The rarity of the question's terms in the index of `settings`, or None when coverage counts every term
    alike (`question_coverage_weights` "equal") or there is no lexical index to weigh them by."""
    if settings.question_coverage_weights != "idf":
        return None
    index = _lexical_index(settings.index_dir)
    return TermRarity.of(index, question_terms(question)) if index is not None else None


def passage_coverage(question: str, passages: list[Any], context: list[str],
                     rarity: TermRarity | None = None) -> float:
    """The share of the question's terms the passages name: weighted by `rarity` when given, else each alike."""
    texts = [f"{c.title} {c.text}" for c in passages]
    return coverage(question, texts, context, rarity.weight if rarity is not None else None)


def retrieval_refusal(question: str, context: list[str], hits: list[Hit], passages: list[Any],
                      standing: TimeStanding, settings: Settings, asked: str | None = None,
                      follow_up: bool = False) -> str | None:
    """The reason to refuse before generating, or None. `question` is without its time words; `context` holds
    the conversation's earlier turns (a follow-up leans on what was said there); `asked`: the question as asked
    (with its time words), whose numbers and names the combined decision checks (default `question`);
    `follow_up`: the question leans on the conversation ("And how much …?", generate.heuristic_rewrite)."""
    if not passages:
        return "nothing in the corpus matches the question"
    if decides_combined(standing, settings, follow_up):
        # Only questions asked alone reach the combined decision, and its model was fitted without a
        # conversation: earlier turns do not count toward the passages' coverage here.
        return combined_refusal(refusal_features(question, [], hits, passages, asked or question), standing, settings)
    best = best_relevance(hits)
    min_relevance, min_coverage = thresholds(standing, settings, best)
    why = f"; asked past the corpus: {standing.describe()}" if standing.regime == "past corpus" else ""
    if best < min_relevance:
        return f"no passage relevant enough (best cosine {best:.2f} < {min_relevance:.2f}{why})"
    rarity = term_rarity(question, settings)
    covered = passage_coverage(question, passages, context, rarity)
    if covered < min_coverage:
        weighed = " (weighted by rarity)" if rarity is not None else ""
        return (f"the passages mention only {covered:.0%} of the question's terms{weighed} "
                f"(< {min_coverage:.0%}{why})")
    return None


# ------------------------------------------------------------------------------------ the combined decision


def decides_combined(standing: TimeStanding, settings: Settings, follow_up: bool = False) -> bool:
    """Whether the combined decision judges the question (settings.refusal_decision "combined"): not past the
    corpus (its strict gates, opt-in), and not a follow-up that leans on the conversation ("And how much did it
    promise farmers?"): the model was fitted on questions asked alone, and a follow-up names its subject in the
    earlier turns; follow-ups keep the threshold gates and the anchor check after generation."""
    return settings.refusal_decision == "combined" and standing.regime != "past corpus" and not follow_up


@dataclass(frozen=True)
class RefusalFeatures:
    """What the combined decision weighs for a question and the passages an answer would rest on."""

    coverage: float  # share of the question's terms the passages (and the conversation) name
    top_coverage: float  # the same share in the first passage alone
    best: float  # the best retrieved passage's dense cosine
    missing_names: list[str]  # names of the asking sentence no passage names (policy.anchor_misses)
    asked_names: int  # names in the asking sentence
    missing_numbers: list[str]  # numbers and years of the question no passage names
    missing_editions: list[str]  # those of them that say which event: years and editions ("75th")
    # Every name of the asking sentence no passage names in any form (not "Federal Reserve" beside "the Fed"), when
    # one of them is a single word that is no acronym ("Tessa"): a fresh article on another subject.
    unnamed_specific: list[str] = field(default_factory=list)

    def values(self) -> dict[str, float]:
        return {"coverage": self.coverage, "top_coverage": self.top_coverage, "best": self.best,
                "missing_names": float(len(self.missing_names)), "asked_names": float(self.asked_names)}


def refusal_features(question: str, context: list[str], hits: list[Hit], passages: list[Any],
                     asked: str) -> RefusalFeatures:
    misses = anchor_misses(asked, [f"{c.title}\n{c.text}" for c in passages])
    return RefusalFeatures(coverage=passage_coverage(question, passages, context),
                           top_coverage=passage_coverage(question, passages[:1], context),
                           best=best_relevance(hits), missing_names=misses.names, asked_names=misses.asked_names,
                           missing_numbers=misses.numbers, missing_editions=misses.editions,
                           unnamed_specific=misses.specific_unnamed
                           if misses.name_runs and len(misses.unnamed) >= misses.name_runs else [])


# Log-odds that a question inside the corpus's dates cannot be answered from its passages: a logistic model
# fitted on news23's questions outside news23-small (398 answerable, 109 asked a year later of the same corpus:
# another edition, person or winner) by `python -m rag.evals.tune_refusal --dataset HELDOUT.jsonl
# --corpus ../shared/data/news23/corpus --index INDEX --fit --max-false-refusals 0.09` (docs/benchmarks.md "A combined refusal decision"; HELDOUT.jsonl
# from `python -m rag.evals.heldout`).
# Coverage and cosine speak for an answer; each missed name against it, and so does each name asked: a question
# full of names reaches a high coverage and cosine on last year's article about the same people.
@dataclass(frozen=True)
class RefusalModel:
    intercept: float
    weights: dict[str, float]  # by RefusalFeatures.values() name

    def log_odds(self, features: RefusalFeatures) -> float:
        values = features.values()
        return self.intercept + sum(w * values[name] for name, w in self.weights.items())


REFUSAL_MODEL = RefusalModel(7.58, {"coverage": -2.08, "top_coverage": -1.85, "best": -11.65,
                                    "missing_names": 0.97, "asked_names": 0.48})


def combined_refusal(features: RefusalFeatures, standing: TimeStanding, settings: Settings,
                     model: RefusalModel = REFUSAL_MODEL) -> str | None:
    """One decision over several features at once (settings.refusal_decision "combined", docs/design.md):

    - the best passage below `min_relevance` (off-topic) refuses, as in the threshold gates;
    - "current" news (a passage from the question's own fortnight): the lenient coverage gate, a year or an
      edition of the question no passage names (another year's event), and a question none of whose names a
      passage names in any form when one of them is a single word, no acronym (another subject: "the Tessa
      bridge" answered from a library's news); a missed count, one name of several, a name written another way
      ("the Fed", "LA", "Man Utd") or a name of several words or an acronym no passage names ("Pope Francis": "the
      pontiff", "UK": "Britain") does not refuse here;
    - inside the corpus's dates: passages naming every term and every name of the question pass; otherwise the
      logistic model above refuses when its log-odds exceed `refusal_threshold`."""
    if features.best < settings.min_relevance:
        return f"no passage relevant enough (best cosine {features.best:.2f} < {settings.min_relevance:.2f})"
    if standing.regime == "current":
        if features.coverage < settings.min_question_coverage_fresh:
            return (f"the passages mention only {features.coverage:.0%} of the question's terms "
                    f"(< {settings.min_question_coverage_fresh:.0%})")
        if features.missing_editions and settings.refuse_missing_anchors:
            missed = ", ".join(repr(n) for n in features.missing_editions)
            return f"the passages do not mention {missed} from the question"
        if features.unnamed_specific and settings.refuse_missing_anchors:
            # Not one of the names the question asks about, in any form, and one of them a single word: a fresh
            # article on another subject ("The change costs 40,000 euros a year." for "How much did the Tessa bridge
            # cost?"). A name of several words or an acronym may be the same subject in other words ("the pontiff"
            # for "Pope Francis", "Britain" for "UK"): answered rather than refused.
            missed = ", ".join(repr(n) for n in features.unnamed_specific)
            return f"the passages do not mention {missed} from the question"
        return None
    if features.coverage >= 1.0 and not features.missing_names:
        return None
    odds = model.log_odds(features)
    if odds <= settings.refusal_threshold:
        return None
    missing = f", missing {', '.join(repr(n) for n in features.missing_names)}" if features.missing_names else ""
    return (f"the passages look like a near miss (terms {features.coverage:.0%}, in the first "
            f"{features.top_coverage:.0%}, best cosine {features.best:.2f}{missing}: "
            f"log-odds {odds:.2f} > {settings.refusal_threshold:.2f})")


def window_is_empty(searched: DateWindow, hits: list[Hit], corpus: CorpusDates | None, settings: Settings) -> bool:
    """True when the refusal "no articles <searched window>" is true: nothing retrieved is in the window, no
    relevant undated article is among the passages an answer would use (it may be from the window), and the
    corpus has no article published in the window."""
    if any(h.in_window for h in hits):
        return False
    if corpus is not None and corpus.any_between(searched.since, searched.until):
        return False
    # Undated articles are taken to be from the corpus's own span: past its newest (or before its oldest) dated
    # article they cannot be from the window; inside the span a relevant one among the answer passages may be.
    inside_span = corpus is None or corpus.spans(searched.since, searched.until)
    return not (inside_span and any(_day(h.chunk.date) is None and (h.dense_score or 0.0) >= settings.min_relevance
                                    for h in hits[: settings.answer_passages]))
