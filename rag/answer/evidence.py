"""Tight evidence for a language model's prompt: the sentences of the top passages that best answer the
question, within a total character budget.

Why: on 2 CPU cores the local model prefills ≈47 tokens/s, so every passage token costs ≈21 ms before the
first answer token. Whole passages (3 × 200 tokens) put the first token at 13 s; the few sentences that carry
the answer fit in ≈100 tokens. Sentences are ranked across passages, not per passage, so one passage may give
three sentences and another none; a passage with no chosen sentence leaves the prompt, and its per-passage
overhead (title, date, delimiters) is not paid either. Chosen sentences keep their article order, so the text
reads as written, and sentences that read as instructions are never chosen (defence in depth against prompt
injection).

With `answer_cues`, a sentence that holds what the question asks for (a new name for "which …?", a new number for
"how many …?": rag/answer/text.py answer_cue) and a relevant article's first sentences, where news puts its main
facts, rank higher.

Ranking knows the model also sees each passage's title: a sentence is scored by how it adds to the title
(MiniLM cosine of "title. sentence" to the question) and by the question terms it names that the title does not.
In an article titled "Varnholm opens its first tram line", for "How much did Varnholm's tram line cost?",
"The project cost 412 million euros" beats "The city of Varnholm opened its first tram line", which plain
sentence-to-question similarity ranks first.

With ranking "ranker" the extractive answer's fitted sentence score (rag/answer/ranking.py) plus the lede lift
chooses, and the sentences are shown best first. `extra_chars` adds that score's best remaining sentences after the
budget's, each after its passage's shown sentences, so the prompt opens as it does without them: the answer
sentence is in the prompt more often (docs/benchmarks.md#evidence-that-holds-the-answer-session-8-issue-12).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rag.answer.ranking import FEATURES, WEIGHTS, SentenceRow, feature_matrix, text_sentences
from rag.answer.text import (
    answer_cue_for,
    asked_terms,
    content_terms,
    looks_like_instruction,
    question_terms,
    weighted_share,
)
from rag.embedding import Embedder
from rag.types import Chunk

_JOIN = " … "
# A news article puts its main facts first (the lede): its first two sentences gain this share of their cosine
# (an unrelated article's lede gains little). With the answer-type cue it kept the answer in 700 characters of
# evidence for 218 of 266 held-out news23 questions whose passages hold it (203 without), but the 0.5B did not
# answer better from it: opt-in (docs/benchmarks.md#passages-and-evidence-for-the-answerer-issue-12).
LEDE_WEIGHT = 0.5
LEDE_SENTENCES = 2
ANSWER_CUE_WEIGHT = float(WEIGHTS[FEATURES.index("cue")])  # as the extractive ranker weighs its cue


@dataclass(frozen=True)
class Evidence:
    chunk: Chunk
    text: str  # the chosen sentences of chunk.text, joined by " … " (in article order unless said otherwise)


Row = tuple[int, int, str]  # (passage index, sentence position, sentence)


def select_evidence(question: str, passages: list[Chunk], embedder: Embedder, budget_chars: int,
                    answer_cues: bool = False, ranking: str | None = None, extra_chars: int = 0) -> list[Evidence]:
    """The passages that hold the best sentences for the question (in retrieval order), each with only those
    sentences. budget_chars <= 0, or passages that fit whole, keep every passage whole. `ranking`
    (RAG_LLM_EVIDENCE_RANKING; `answer_cues=True` is "answer-cues"): "similarity" ranks by cosine and new question
    terms; "answer-cues" also lifts a relevant lede and a sentence holding the kind of answer asked; "ranker"
    scores sentences as the extractive answer does (rag/answer/ranking.py) plus the lede, and shows them best
    first: the passage holding the best sentence is [1], and each passage's sentences come in rank order.
    `extra_chars` (RAG_LLM_EVIDENCE_EXTRA_CHARS): after the budget's sentences, up to this many more characters of
    the sentences the ranker scores best among those not shown, each after its passage's shown sentences (a
    passage not shown yet comes after the others), so the prompt opens as it does without them."""
    ranking = ranking or ("answer-cues" if answer_cues else "similarity")
    if budget_chars <= 0 or sum(len(p.text) for p in passages) <= budget_chars:
        return [Evidence(p, p.text) for p in passages]
    rows: list[Row] = []
    sentences = [text_sentences(p) for p in passages]  # a headline line is read as the passage's title, apart
    for n, passage_sentences in enumerate(sentences):
        for i, sentence in enumerate(passage_sentences):
            if len(content_terms(sentence)) >= 2 and not looks_like_instruction(sentence):
                rows.append((n, i, sentence))
    if not rows:  # only fragments or instruction-like text: show the top passage, cut to the budget
        return [Evidence(passages[0], passages[0].text[:budget_chars])]
    vectors = embedder.embed_documents([question] + [f"{passages[n].title}. {s}" for n, _, s in rows])
    cosines = vectors[1:] @ vectors[0]
    ranker_scores = _ranker_scores(question, passages, rows, cosines) if ranking == "ranker" or extra_chars > 0 \
        else None
    scores = ranker_scores if ranking == "ranker" else _hand_scores(question, passages, rows, cosines,
                                                                    answer_cues=ranking == "answer-cues")
    # Neighbouring chunks of one article overlap: a sentence is shown once, whichever passage's row it is.
    picked, used = _pick(rows, scores, budget_chars, set(), 0, distinct=True)
    if ranking == "ranker":  # best first: passages by their best sentence, each passage's sentences by rank
        blocks = {n: [rows[r][2] for r in picked if rows[r][0] == n] for n in dict.fromkeys(rows[r][0] for r in picked)}
    else:  # the article's order: passages as retrieved, sentences as written
        blocks = {n: [sentences[n][i] for i in sorted(rows[r][1] for r in picked if rows[r][0] == n)]
                  for n in sorted({rows[r][0] for r in picked})}
    if ranker_scores is not None and extra_chars > 0:
        # Neighbouring chunks of one article overlap: a sentence already shown may be another passage's row too.
        shown = {rows[r][2] for r in picked}
        taken = {r for r, row in enumerate(rows) if row[2] in shown}  # the picked rows among them
        more, _ = _pick(rows, ranker_scores, budget_chars + extra_chars, taken, used, distinct=True)
        for r in more:
            blocks.setdefault(rows[r][0], []).append(rows[r][2])
    return [Evidence(passages[n], _JOIN.join(chosen)) for n, chosen in blocks.items()]


def _hand_scores(question: str, passages: list[Chunk], rows: list[Row], cosines: np.ndarray,
                 answer_cues: bool) -> np.ndarray:
    wanted = asked_terms(question, question_terms)  # a follow-up's context terms count less (text.asked_terms)
    cue = answer_cue_for(question) if answer_cues else (lambda sentence: 0.0)
    lede_weight = LEDE_WEIGHT if answer_cues else 0.0
    scores = []
    for (n, i, sentence), cosine in zip(rows, cosines, strict=True):
        title_terms = set(content_terms(passages[n].title))
        new_terms = {t: w for t, w in wanted.items() if t not in title_terms}
        covered = weighted_share(new_terms, set(content_terms(sentence)))
        lede = passages[n].ordinal == 0 and i < LEDE_SENTENCES
        # Earlier passages rank higher in retrieval: a small prior breaks near-ties their way.
        scores.append(0.6 * float(cosine) + 0.4 * covered - 0.01 * n + lede_weight * lede * max(float(cosine), 0.0)
                      + ANSWER_CUE_WEIGHT * cue(sentence))
    return np.array(scores)


def _ranker_scores(question: str, passages: list[Chunk], rows: list[Row], cosines: np.ndarray) -> np.ndarray:
    """The extractive ranker's score (title-aware coverage; the cosine of "title. sentence", as the model reads
    it) plus the lede lift of "answer-cues"."""
    features = feature_matrix(question, [SentenceRow(s, n + 1, i) for n, i, s in rows], passages, cosines,
                              title_aware=True)
    lede = np.array([passages[n].ordinal == 0 and i < LEDE_SENTENCES for n, i, _ in rows], dtype=float)
    return features @ WEIGHTS + LEDE_WEIGHT * lede * np.maximum(cosines, 0.0)


def _pick(rows: list[Row], scores: np.ndarray, budget_chars: int, taken: set[int], used: int,
          distinct: bool = False) -> tuple[list[int], int]:
    """Rows best first while they fit the budget (a shorter, lower-ranked sentence may still fit), skipping
    `taken`; `used` characters are spent already; `distinct`: a sentence whose text is picked already (from an
    overlapping chunk) is skipped too. Returns the picked rows in rank order and the characters used."""
    picked: list[int] = []
    texts: set[str] = set()
    for r in np.argsort(-scores, kind="stable"):
        if used >= budget_chars:
            break
        r = int(r)
        cost = len(rows[r][2]) + len(_JOIN)
        if r in taken or (used and used + cost > budget_chars) or (distinct and rows[r][2] in texts):
            continue
        picked.append(r)
        texts.add(rows[r][2])
        used += cost
    return picked, used
