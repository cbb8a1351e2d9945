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
"""

from __future__ import annotations

from dataclasses import dataclass

from rag.answer.citations import split_sentences
from rag.answer.ranking import FEATURES, WEIGHTS
from rag.answer.text import answer_cue_for, content_terms, looks_like_instruction, question_terms
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
    text: str  # the chosen sentences of chunk.text, in article order, joined by " … "


def select_evidence(question: str, passages: list[Chunk], embedder: Embedder, budget_chars: int,
                    answer_cues: bool = False) -> list[Evidence]:
    """The passages that hold the best sentences for the question (in retrieval order), each with only those
    sentences. budget_chars <= 0, or passages that fit whole, keep every passage whole. `answer_cues`: a relevant
    lede and a sentence holding the kind of answer asked rank higher (RAG_LLM_EVIDENCE_RANKING=answer-cues)."""
    if budget_chars <= 0 or sum(len(p.text) for p in passages) <= budget_chars:
        return [Evidence(p, p.text) for p in passages]
    rows: list[tuple[int, int, str]] = []  # (passage index, sentence position, sentence)
    sentences = [split_sentences(p.text) for p in passages]
    for n, passage_sentences in enumerate(sentences):
        for i, sentence in enumerate(passage_sentences):
            if len(content_terms(sentence)) >= 2 and not looks_like_instruction(sentence):
                rows.append((n, i, sentence))
    if not rows:  # only fragments or instruction-like text: show the top passage, cut to the budget
        return [Evidence(passages[0], passages[0].text[:budget_chars])]
    vectors = embedder.embed_documents([question] + [f"{passages[n].title}. {s}" for n, _, s in rows])
    cosines = vectors[1:] @ vectors[0]
    wanted = question_terms(question)
    cue = answer_cue_for(question) if answer_cues else (lambda sentence: 0.0)
    lede_weight = LEDE_WEIGHT if answer_cues else 0.0
    scores = []
    for (n, i, sentence), cosine in zip(rows, cosines, strict=True):
        new_terms = wanted - set(content_terms(passages[n].title))
        covered = len(new_terms & set(content_terms(sentence))) / len(new_terms) if new_terms else 0.0
        lede = passages[n].ordinal == 0 and i < LEDE_SENTENCES
        # Earlier passages rank higher in retrieval: a small prior breaks near-ties their way.
        scores.append(0.6 * float(cosine) + 0.4 * covered - 0.01 * n + lede_weight * lede * max(float(cosine), 0.0)
                      + ANSWER_CUE_WEIGHT * cue(sentence))
    chosen: dict[int, set[int]] = {}
    used = 0
    for r in sorted(range(len(rows)), key=lambda r: -scores[r]):
        n, i, sentence = rows[r]
        cost = len(sentence) + len(_JOIN)
        if used and used + cost > budget_chars:
            continue  # a shorter, lower-ranked sentence may still fit
        chosen.setdefault(n, set()).add(i)
        used += cost
        if used >= budget_chars:
            break
    return [Evidence(passages[n], _JOIN.join(sentences[n][i] for i in sorted(chosen[n]))) for n in sorted(chosen)]
