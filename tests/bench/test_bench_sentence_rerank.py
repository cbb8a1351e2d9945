"""bench/bench_sentence_rerank.py: stories scored by their best sentence's cosine to the question with the real
encoder, the fusion with the search's rank, the window kept first, and the on-disk vector cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench.bench_sentence_rerank import (
    Candidate,
    Searched,
    VectorCache,
    fuse,
    prepare,
    replay,
    sentences_of,
    story_score,
    term_share,
)
from rag.answer.text import content_terms, question_terms
from rag.embedding import Embedder

QUESTION = "Which country won the 2023 Women's World Cup final in Sydney?"
# A report about the tournament that never states the winner, and one article with one sentence that does.
ABOUT = ("The Women's World Cup drew record crowds across Australia and New Zealand. Fans filled stadiums for "
         "weeks. Ticket sales beat every earlier tournament. Broadcasters reported large audiences in Europe.")
STATES = ("Officials counted the crowd at the stadium. Spain won the 2023 Women's World Cup final in Sydney, "
          "beating England 1-0. The team flew home on Monday.")


def test_sentences_of_drops_repeats_and_short_fragments() -> None:
    text = "By Jane Doe. Spain won the final on Sunday. Spain won the final on Sunday.\n\nPhoto: AP"
    assert sentences_of(text) == ["By Jane Doe.", "Spain won the final on Sunday.", "Photo: AP"]
    assert sentences_of(text, min_words=4) == ["Spain won the final on Sunday."]


def test_the_stating_sentence_scores_its_story_above_a_topical_report(embedder: Embedder) -> None:
    question = embedder.embed_query(QUESTION)
    about = embedder.embed_documents(sentences_of(ABOUT)) @ question
    states = embedder.embed_documents(sentences_of(STATES)) @ question
    # Whole texts read as one passage are both about the World Cup; the best sentence tells them apart.
    assert story_score(states, np.zeros(len(states)), "max") > story_score(about, np.zeros(len(about)), "max") + 0.1
    assert int(np.argmax(states)) == 1
    assert story_score(states, np.zeros(len(states)), "top2") < story_score(states, np.zeros(len(states)), "max")
    assert story_score(np.array([]), np.array([]), "max") == -1.0


def test_term_share_counts_the_title_and_adds_to_the_best_cosine() -> None:
    wanted = question_terms(QUESTION)
    title = set(content_terms("Sydney final"))
    stating = term_share(wanted, "Spain won the 2023 Women's World Cup final in Sydney.", set())
    assert term_share(wanted, "Spain won the World Cup.", set()) < stating < 1.0  # 'country' is not named
    assert term_share(wanted, "Spain won the World Cup.", title) > term_share(wanted, "Spain won the World Cup.", set())
    assert term_share(set(), "anything", set()) == 0.0
    cosines, shares = np.array([0.5, 0.2]), np.array([0.1, 1.0])
    assert story_score(cosines, shares, "max+share", lam=0.3) == pytest.approx(0.5 + 0.3 * 1.0)
    # sentence+share: the share counts only with its own sentence's cosine (0.5 + 0.03 beats 0.2 + 0.3).
    assert story_score(cosines, shares, "sentence+share", lam=0.3) == pytest.approx(0.53)
    assert story_score(cosines, shares, "sentence+share", lam=1.0) == pytest.approx(1.2)


def test_fuse_weighs_score_against_rank_and_keeps_the_window_first() -> None:
    scores = [0.30, 0.32, 0.60, 0.31, 0.90]
    # w 0: the best sentence alone orders the first four; the fifth is past top and stays.
    assert fuse(scores, top=4, c=1.0, w=0.0) == [2, 1, 3, 0, 4]
    # a large w: the search's rank wins.
    assert fuse(scores, top=4, c=1.0, w=10.0) == [0, 1, 2, 3, 4]
    # c 1, w 0.3: priors 0.15, 0.1, 0.075, 0.06: 2 rises to the top, 0 stays ahead of 1 and 3.
    assert fuse(scores, top=5, c=1.0, w=0.3) == [4, 2, 0, 1, 3]
    # the first two are the window's stories: they stay first, reordered among themselves only.
    assert fuse(scores, top=5, c=1.0, w=0.0, keep_first=2) == [1, 0, 4, 2, 3]


def test_replay_lifts_the_stating_story_with_the_real_encoder(tmp_path: Path, embedder: Embedder) -> None:
    filler = "Markets rose on Monday. Oil prices fell. The central bank held rates."
    candidates = [Candidate([src], title, sentences_of(text), sentences_of(text)) for src, title, text in (
        ("report.md", "World Cup crowds", ABOUT), ("markets.md", "Markets", filler),
        ("final.md", "Final in Sydney", STATES))]
    searched = Searched("q1", QUESTION, ["final.md"], embedder.embed_query(QUESTION), 0, candidates)
    cache = VectorCache(tmp_path / "vectors.sqlite", embedder)
    prepare([searched], cache, ["whole", "cand"], ["sent", "title"], top=3)
    order = replay(searched, "whole", "sent", "max", 3, 0, 1.0, 0.05, 0.0)
    assert order[0] == ["final.md"]
    # The search's order when its rank dominates.
    assert replay(searched, "whole", "sent", "max", 3, 0, 1.0, 100.0, 0.0) == [["report.md"], ["markets.md"],
                                                                               ["final.md"]]
    # A second cache on the same file embeds nothing: every vector is read back from disk, equal.
    again = VectorCache(tmp_path / "vectors.sqlite", embedder)
    texts = sentences_of(STATES)
    assert again.fill(texts) == 0
    np.testing.assert_array_equal(again.matrix(texts), cache.matrix(texts))
