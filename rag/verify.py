"""Citation check: does the cited passage text support an answer sentence?

No NLI or cross-encoder model ships inside a package that installs here (shared/MODELS.md: the candidates
download weights at run time), so the check is a documented lexical entailment test, sharpened by the
embedding model we already load:

    coverage  = |content terms of the sentence found in the premise| / |content terms of the sentence|
                (stemmed words without stopwords)
    numbers   = every number in the sentence must occur in the premise, else the score is multiplied by 0.3
                (a changed figure is the commonest unsupported claim in news answers)
    semantic  = highest cosine between the sentence and any single premise sentence (MiniLM)
    support   = numbers_factor × (0.5 × coverage + 0.5 × semantic)

A sentence is supported when support ≥ `threshold` (0.5 by default). Without an embedder, semantic is
replaced by coverage. Measured in `bench/bench_support.py`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from rag.answer.citations import split_sentences
from rag.answer.text import content_terms
from rag.embedding import Embedder

_NUMBER_RE = re.compile(r"\d+(?:[.,]\d+)*")
DEFAULT_THRESHOLD = 0.5


def _numbers(text: str) -> set[str]:
    return {n.replace(",", "") for n in _NUMBER_RE.findall(text)}


@dataclass
class SupportChecker:
    embedder: Embedder | None = None
    threshold: float = DEFAULT_THRESHOLD

    @property
    def name(self) -> str:
        return "lexical+minilm" if self.embedder is not None else "lexical"

    def scores(self, pairs: list[tuple[str, str]]) -> list[float]:
        """(premise, hypothesis) pairs → support in [0, 1]."""
        return [self.score(premise, hypothesis) for premise, hypothesis in pairs]

    def score(self, premise: str, hypothesis: str) -> float:
        h_terms = set(content_terms(hypothesis))
        if not h_terms:
            return 0.0
        p_terms = set(content_terms(premise))
        coverage = len(h_terms & p_terms) / len(h_terms)
        semantic = coverage
        if self.embedder is not None:
            sentences = split_sentences(premise)[:64] or [premise]
            vectors = self.embedder.embed_documents([hypothesis, *sentences])
            semantic = float(np.max(vectors[1:] @ vectors[0]))
        missing_numbers = _numbers(hypothesis) - _numbers(premise)
        factor = 0.3 if missing_numbers else 1.0
        return max(0.0, min(1.0, factor * (0.5 * coverage + 0.5 * semantic)))

    def is_supported(self, score: float) -> bool:
        return score >= self.threshold

    def best_sentence(self, premise: str, hypothesis: str) -> tuple[int, int] | None:
        """Character span of the premise sentence that best supports the hypothesis (for highlighting)."""
        h_terms = set(content_terms(hypothesis))
        best: tuple[float, int, int] | None = None
        cursor = 0
        for sentence in split_sentences(premise):
            start = premise.find(sentence, cursor)
            if start < 0:
                continue
            cursor = start + len(sentence)
            terms = set(content_terms(sentence))
            overlap = len(h_terms & terms) / (len(h_terms) or 1)
            if best is None or overlap > best[0]:
                best = (overlap, start, cursor)
        return (best[1], best[2]) if best and best[0] > 0 else None
