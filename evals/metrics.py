"""Metric functions. Pure: no model calls; entailment is passed in as a function.

Retrieval metrics work at document level on a ranked list of source paths (one per retrieved chunk, so a
document may repeat); the list is first deduplicated keeping each document's first occurrence.
"""

from __future__ import annotations

import math
import re
import string
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

# ----------------------------------------------------------------------------------------- retrieval


def dedupe(ranked: Sequence[str]) -> list[str]:
    """Distinct documents in rank order (first occurrence kept)."""
    return list(dict.fromkeys(ranked))


def _check_k(k: int) -> None:
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")


def hit_at_k(ranked: Sequence[str], gold: Sequence[str], k: int) -> float:
    """Hit@k = 1 if any gold document is among the first k distinct retrieved documents, else 0.

    Empty `gold` → 0.0 (nothing can be hit; callers skip such questions)."""
    _check_k(k)
    return float(bool(set(dedupe(ranked)[:k]) & set(gold)))


def mrr_at_k(ranked: Sequence[str], gold: Sequence[str], k: int = 10) -> float:
    """Reciprocal rank: 1 / r, r = rank (1-based) of the first gold document among the first k distinct
    documents; 0 if there is none. Averaged over questions by the caller (MRR@k)."""
    _check_k(k)
    golds = set(gold)
    for rank, doc in enumerate(dedupe(ranked)[:k], start=1):
        if doc in golds:
            return 1.0 / rank
    return 0.0


def recall_at_k(ranked: Sequence[str], gold: Sequence[str], k: int) -> float:
    """Recall@k = |set(gold) ∩ first k distinct documents| / |set(gold)|.

    Empty `gold` → 0.0 (0/0; callers skip such questions)."""
    _check_k(k)
    golds = set(gold)
    if not golds:
        return 0.0
    return len(set(dedupe(ranked)[:k]) & golds) / len(golds)


def _distinct_stories(ranked: Sequence[Sequence[str]]) -> list[Sequence[str]]:
    """Each entry: the shown source first, then its story's other copies. Distinct by shown source."""
    seen: set[str] = set()
    out = []
    for members in ranked:
        if members and members[0] not in seen:
            seen.add(members[0])
            out.append(members)
    return out


def story_hit_at_k(ranked: Sequence[Sequence[str]], gold: Sequence[str], k: int) -> float:
    """Hit@k over stories: 1 if among the first k distinct results some result's story (the shown article or
    one of its grouped copies, all published by the as-of date) contains a gold document. Without grouping
    every story is one article and this equals `hit_at_k`."""
    _check_k(k)
    golds = set(gold)
    return float(any(golds & set(members) for members in _distinct_stories(ranked)[:k]))


def story_mrr_at_k(ranked: Sequence[Sequence[str]], gold: Sequence[str], k: int = 10) -> float:
    """1 / rank of the first result whose story contains a gold document (see story_hit_at_k); 0 if none."""
    _check_k(k)
    golds = set(gold)
    for rank, members in enumerate(_distinct_stories(ranked)[:k], start=1):
        if golds & set(members):
            return 1.0 / rank
    return 0.0


# -------------------------------------------------------------------------------------------- answers

_PUNCTUATION = frozenset(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_POSSESSIVE = re.compile(r"(?<=\w)['’]s\b", re.IGNORECASE)


def normalize_answer(s: str) -> str:
    """SQuAD's official normalisation (evaluate-v2.0.py), in its order: lower case, remove the characters of
    `string.punctuation` (ASCII only — curly quotes stay), replace the words a/an/the with a space, then
    collapse white space: `white_space_fix(remove_articles(remove_punc(lower(s))))`."""
    s = s.lower()
    s = "".join(ch for ch in s if ch not in _PUNCTUATION)
    s = _ARTICLES.sub(" ", s)
    return " ".join(s.split())


def _gold_answers(golds: Sequence[str]) -> list[str]:
    """SQuAD 2.0 convention: golds that normalise to "" are dropped; if none remain, the gold is [""] (no
    answer), so a prediction scores 1 exactly when it too normalises to "" (an abstention)."""
    kept = [g for g in golds if normalize_answer(g)]
    return kept or [""]


def exact_match(pred: str, golds: Sequence[str]) -> float:
    """EM = max over golds g of [normalize_answer(pred) == normalize_answer(g)] (SQuAD; empty golds → [""])."""
    p = normalize_answer(pred)
    return float(any(p == normalize_answer(g) for g in _gold_answers(golds)))


def _f1(pred_tokens: list[str], gold_tokens: list[str]) -> float:
    if not pred_tokens or not gold_tokens:
        return float(pred_tokens == gold_tokens)  # SQuAD: 1 if both are empty, else 0
    common = sum((Counter(pred_tokens) & Counter(gold_tokens)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred_tokens), common / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def token_f1(pred: str, golds: Sequence[str]) -> float:
    """Token F1 (SQuAD): max over golds of 2·P·R / (P + R), where, on whitespace tokens of the normalised
    strings, common = |multiset(pred) ∩ multiset(gold)|, P = common / |pred|, R = common / |gold|.
    If either side has no tokens the score is 1 when both are empty, else 0; empty golds → [""]."""
    p = normalize_answer(pred).split()
    return max(_f1(p, normalize_answer(g).split()) for g in _gold_answers(golds))


def contained_form(s: str) -> str:
    """normalize_answer without possessive endings and without any Unicode punctuation: a whole-token search
    must find "Safer with Susan" in “Safer with Susan” and "Virginia" in "Virginia’s special election", which
    SQuAD's ASCII-only set would leave as “safer … susan” and "virginias" (its exact match and F1 keep the
    official normalisation)."""
    s = _POSSESSIVE.sub("", s)
    # A dash joins two words ("2019–2020"): it becomes a space; other punctuation is dropped.
    s = "".join(" " if unicodedata.category(ch) == "Pd" else ch for ch in s)
    return normalize_answer("".join(ch for ch in s if not unicodedata.category(ch).startswith("P")))


def gold_contained(pred: str, golds: Sequence[str]) -> float:
    """1 if some normalised gold occurs in the normalised prediction as a whole-token sequence, else 0
    (for long answers scored against short gold spans): " " + gold + " " is a substring of " " + pred + " ", so
    "war" is not found in "warsaw" nor "1" in "1990". Normalised as `normalize_answer` and without Unicode
    punctuation (curly quotes, dashes). Empty golds → [""]: 1 iff the prediction is empty."""
    p = contained_form(pred)
    kept = _gold_answers(golds)
    if kept == [""]:
        return float(p == "")
    return float(names_gold(p, kept))


def names_gold(form: str, golds: Sequence[str]) -> bool:
    """`gold_contained`'s whole-token test on a text already in `contained_form` (the way news23's gold sources
    were labelled: the article names the answer): many answers can be tested against one long text normalised
    once. Golds that normalise to "" never match."""
    padded = f" {form} "
    return any(f" {g_form} " in padded for g_form in map(contained_form, golds) if g_form)


def gold_first_sentence(sentences: Sequence[str], golds: Sequence[str]) -> float:
    """1 if the answer's first shown sentence holds a gold answer (`gold_contained`, whole tokens), else 0 (also
    for no sentences, a refusal): does the answer lead with the answer?"""
    return gold_contained(sentences[0], golds) if sentences and _gold_answers(golds) != [""] else 0.0


def answer_found(texts: Sequence[str], golds: Sequence[str]) -> float:
    """1.0 if some gold answer occurs (`gold_contained`, whole tokens) in one of the texts, else 0.0 (also with
    no golds): does a stage's output still hold the answer at all?"""
    kept = [g for g in golds if normalize_answer(g)]
    return float(bool(kept) and any(gold_contained(t, kept) for t in texts))


def evidence_recall(evidence: Sequence[str], passages: Sequence[str], golds: Sequence[str]) -> float | None:
    """Does the evidence a generator was shown keep the answer that retrieval found? Given the passages the
    answerer chose from (`passages`) and what of them it was shown (`evidence`, e.g. their best sentences):
    1.0 if some gold answer occurs in the evidence, 0.0 if it occurs only in the passages, None if no gold occurs
    in the passages (retrieval missed it: not the evidence's fault) or there are no golds. "Occurs" is
    `gold_contained` on the normalised texts (whole tokens)."""
    if not answer_found(passages, golds):
        return None
    return answer_found(evidence, golds)


# ------------------------------------------------------------------------------------------ grounding


@dataclass(frozen=True)
class CitationScores:
    """ALCE citation scores of one answer."""

    recall: float  # supported_sentences / sentences
    precision: float  # precise_citations / citations
    sentences: int  # answer sentences scored
    citations: int  # citations counted (after `at_most_citations`), duplicates included
    supported_sentences: int = 0  # sentences whose cited passages, concatenated, entail them
    precise_citations: int = 0  # citations of supported sentences that are not irrelevant
    irrelevant_citations: int = 0  # citations of supported multi-citation sentences found irrelevant


def alce_citation_scores(sentences: Sequence[tuple[str, Sequence[str]]], entails: Callable[[str, str], bool],
                         *, at_most_citations: int | None = None) -> CitationScores:
    """Citation recall and precision of one answer as ALCE computes them (Gao et al., 2023, "Enabling Large
    Language Models to Generate Text with Citations", §2.3; `compute_autoais` in princeton-nlp/ALCE eval.py).

    `sentences`: (answer sentence without its citation marks, texts of the passages it cites, in order).
    `entails(premise, hypothesis)`: the NLI judgement (ALCE uses TRUE, a T5-11B NLI model).

    Per sentence s with citations C = [c1..cn] (first `at_most_citations` only, if given; ALCE's default is 3):
    - recall(s) = 1 if entails("\\n".join(C), s) else 0; a sentence with no citation scores 0 (and adds no
      citation to the count).
    - each citation c in C is *irrelevant* iff n > 1, recall(s) = 1, (a) entails(c, s) is false and
      (b) entails("\\n".join(C without that one c), s) is true. (With n = 1 the rest is empty, so the only
      citation of a supported sentence is never irrelevant.)
    - c is *precise* iff recall(s) = 1 and c is not irrelevant; every citation of an unsupported sentence is
      imprecise. Repeated passages count as separate citations (ALCE counts each [k] mark).

    Answer scores: recall = Σ recall(s) / #sentences; precision = #precise / #citations (ALCE divides by the
    citations counted, duplicates included).
    Empty cases: no citations at all → precision 0.0 (as ALCE); no sentences → recall 0.0 and precision 0.0 (ALCE
    skips such outputs; callers can do the same by checking `sentences == 0`).
    """
    supported_n = precise = irrelevant_n = total = 0
    for sentence, cited in sentences:
        passages = list(cited)[:at_most_citations] if at_most_citations is not None else list(cited)
        if not passages:
            continue  # recall 0, no citations counted
        total += len(passages)
        if not entails("\n".join(passages), sentence):
            continue  # every citation of an unsupported sentence is imprecise
        supported_n += 1
        if len(passages) == 1:
            precise += 1
            continue
        for i, passage in enumerate(passages):
            rest = passages[:i] + passages[i + 1:]
            if not entails(passage, sentence) and entails("\n".join(rest), sentence):
                irrelevant_n += 1
            else:
                precise += 1
    n = len(sentences)
    return CitationScores(
        recall=supported_n / n if n else 0.0,
        precision=precise / total if total else 0.0,
        sentences=n,
        citations=total,
        supported_sentences=supported_n,
        precise_citations=precise,
        irrelevant_citations=irrelevant_n,
    )


def supported_share(flags: Sequence[bool]) -> float:
    """Share of answer sentences the product's own citation check marked supported: Σ flags / len(flags)
    (0.0 for an empty answer)."""
    return sum(bool(f) for f in flags) / len(flags) if flags else 0.0


# -------------------------------------------------------------------------------------------- refusal


def refusal_scores(refused: Sequence[bool], answerable: Sequence[bool]) -> dict[str, float | None]:
    """Refusal as detection of unanswerable questions (positive class = unanswerable), per question i:

    - refusal_precision = #(refused ∧ ¬answerable) / #refused — share of refusals that were right;
    - refusal_recall = #(refused ∧ ¬answerable) / #¬answerable — share of unanswerable questions refused;
    - false_refusal_rate = #(refused ∧ answerable) / #answerable — share of answerable questions refused.

    A 0/0 ratio is None: precision when nothing was refused, recall when no question is unanswerable, the
    false-refusal rate when no question is answerable. The lists must have the same length.
    """
    pairs = list(zip(refused, answerable, strict=True))
    refused_n = sum(bool(r) for r, _ in pairs)
    unanswerable_n = sum(not a for _, a in pairs)
    answerable_n = len(pairs) - unanswerable_n
    true_refusals = sum(bool(r) and not a for r, a in pairs)
    false_refusals = sum(bool(r) and bool(a) for r, a in pairs)
    return {
        "refusal_precision": true_refusals / refused_n if refused_n else None,
        "refusal_recall": true_refusals / unanswerable_n if unanswerable_n else None,
        "false_refusal_rate": false_refusals / answerable_n if answerable_n else None,
    }


# -------------------------------------------------------------------------------------------- latency


def percentile(values: Sequence[float], p: float) -> float:
    """p-th percentile (0 ≤ p ≤ 100) with linear interpolation, as numpy.percentile's default ("linear"):
    on the sorted values v[0..n-1], x = (n - 1)·p/100, result = v[⌊x⌋] + (v[⌊x⌋+1] − v[⌊x⌋])·(x − ⌊x⌋).
    NaN for no values (numpy raises instead)."""
    if not 0 <= p <= 100:
        raise ValueError(f"percentile must be in [0, 100], got {p}")
    if not values:
        return math.nan
    ordered = sorted(float(v) for v in values)
    pos = (len(ordered) - 1) * p / 100
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def latency_summary(values: Sequence[float]) -> dict[str, float]:
    """{"p50": percentile 50, "p95": percentile 95, "mean": Σ values / n, "n": n}; NaN statistics when n = 0."""
    return {
        "p50": percentile(values, 50),
        "p95": percentile(values, 95),
        "mean": sum(values) / len(values) if values else math.nan,
        "n": len(values),
    }
