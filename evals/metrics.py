"""Metric functions. Pure: no model calls; entailment is passed in as a function."""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

# ----------------------------------------------------------------------------------------- retrieval


def _dedupe(ranked: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(ranked))


def hit_at_k(ranked: Sequence[str], gold: Sequence[str], k: int) -> float:
    """Hit@k = 1 if any gold document is among the first k distinct retrieved documents, else 0."""
    return float(bool(set(_dedupe(ranked)[:k]) & set(gold)))


def mrr_at_k(ranked: Sequence[str], gold: Sequence[str], k: int = 10) -> float:
    """MRR@k = 1 / rank of the first gold document among the first k distinct documents (0 if none)."""
    for rank, doc in enumerate(_dedupe(ranked)[:k], start=1):
        if doc in gold:
            return 1.0 / rank
    return 0.0


def recall_at_k(ranked: Sequence[str], gold: Sequence[str], k: int) -> float:
    """Recall@k = |gold ∩ first k distinct documents| / |gold|."""
    if not gold:
        return 0.0
    return len(set(_dedupe(ranked)[:k]) & set(gold)) / len(set(gold))


# -------------------------------------------------------------------------------------------- answers


def normalize_answer(text: str) -> str:
    """SQuAD's normalisation: lower case, drop punctuation and the articles a/an/the, squeeze white space."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in set(string.punctuation) | {"‘", "’", "“", "”"})
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def exact_match(prediction: str, golds: Sequence[str]) -> float:
    """EM = 1 if the normalised prediction equals any normalised gold answer."""
    return float(any(normalize_answer(prediction) == normalize_answer(g) for g in golds))


def token_f1(prediction: str, golds: Sequence[str]) -> float:
    """Token F1 (SQuAD): max over golds of 2·P·R / (P + R) on normalised token multisets."""
    pred = normalize_answer(prediction).split()
    best = 0.0
    for gold in golds:
        ref = normalize_answer(gold).split()
        common = sum((Counter(pred) & Counter(ref)).values())
        if not pred or not ref or common == 0:
            best = max(best, float(pred == ref))
            continue
        p, r = common / len(pred), common / len(ref)
        best = max(best, 2 * p * r / (p + r))
    return best


def gold_contained(prediction: str, golds: Sequence[str]) -> float:
    """1 if some normalised gold answer occurs in the normalised prediction (long answers, short golds)."""
    pred = f" {normalize_answer(prediction)} "
    return float(any(normalize_answer(g) and f" {normalize_answer(g)} " in pred for g in golds))


# ------------------------------------------------------------------------------------------ grounding


@dataclass
class CitationScores:
    recall: float  # mean over sentences
    precision: float  # mean over citations
    sentences: int
    citations: int


def alce_citation_scores(sentences: Sequence[tuple[str, Sequence[str]]],
                         entails: Callable[[str, str], bool]) -> CitationScores:
    """Citation recall and precision as ALCE defines them (Gao et al., 2023).

    `sentences`: (answer sentence, texts of the passages it cites).
    Recall, per sentence: 1 if the concatenation of its cited passages entails it, else 0 (no citation → 0).
    Precision, per citation c of sentence s: c is *irrelevant* if c alone does not entail s and the other
    citations of s without c still do. A citation counts as precise iff s has recall 1 and c is not irrelevant.
    precision = precise citations / all citations (1.0 by convention when there are no citations and no
    sentences, 0.0 when sentences exist but cite nothing).
    """
    recall_sum = 0.0
    precise = 0
    total = 0
    for sentence, cited in sentences:
        if not cited:
            continue
        joined = "\n".join(cited)
        supported = entails(joined, sentence)
        recall_sum += float(supported)
        for i, passage in enumerate(cited):
            total += 1
            if not supported:
                continue
            alone = entails(passage, sentence)
            rest = [p for j, p in enumerate(cited) if j != i]
            irrelevant = not alone and bool(rest) and entails("\n".join(rest), sentence)
            precise += int(not irrelevant)
    n = len(sentences)
    recall = recall_sum / n if n else 0.0
    precision = precise / total if total else (1.0 if n == 0 else 0.0)
    return CitationScores(recall=recall, precision=precision, sentences=n, citations=total)


def supported_share(flags: Sequence[bool]) -> float:
    """Share of answer sentences the citation check marked supported (0 for an empty answer)."""
    return sum(flags) / len(flags) if flags else 0.0


# -------------------------------------------------------------------------------------------- refusal


def refusal_scores(refused: Sequence[bool], answerable: Sequence[bool]) -> dict[str, float | None]:
    """Refusal precision = refused ∧ unanswerable / refused; recall = refused ∧ unanswerable / unanswerable;
    false-refusal rate = refused ∧ answerable / answerable. None where the denominator is 0."""
    pairs = list(zip(refused, answerable, strict=True))
    refused_n = sum(r for r, _ in pairs)
    unanswerable_n = sum(not a for _, a in pairs)
    answerable_n = sum(a for _, a in pairs)
    true_refusals = sum(r and not a for r, a in pairs)
    false_refusals = sum(r and a for r, a in pairs)
    return {
        "refusal_precision": true_refusals / refused_n if refused_n else None,
        "refusal_recall": true_refusals / unanswerable_n if unanswerable_n else None,
        "false_refusal_rate": false_refusals / answerable_n if answerable_n else None,
    }


# -------------------------------------------------------------------------------------------- latency


def percentile(values: Sequence[float], p: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * p / 100
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def latency_summary(values: Sequence[float]) -> dict[str, float]:
    return {"p50": percentile(values, 50), "p95": percentile(values, 95),
            "mean": sum(values) / len(values) if values else float("nan"), "n": len(values)}
