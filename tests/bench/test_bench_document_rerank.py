"""bench/bench_document_rerank.py's reorder: whole-article coverage lifts a story within the first `top`, the
question's window stays first, and stories past `top` keep their places."""

from __future__ import annotations

from collections import Counter

from bench.bench_document_rerank import Searched, coverage, question_terms, rerank


def test_question_terms_keep_rare_words_with_their_idf() -> None:
    df = Counter({"the": 100, "lindmoor": 2, "election": 10, "won": 60})
    terms = question_terms("Who won the Lindmoor election?", df, documents=100)
    assert set(terms) == {"who", "lindmoor", "election"}  # 'the' is dropped by normalisation, 'won' is common
    assert terms["who"] > terms["lindmoor"] > terms["election"]  # unseen 'who' counts as rarest
    assert coverage(terms, {"lindmoor", "election"}) == (terms["lindmoor"] + terms["election"]) / sum(terms.values())
    assert coverage({}, {"lindmoor"}) == 0.0


def test_rerank_lifts_covering_stories_within_top_and_keeps_the_window_first() -> None:
    stories = [["a"], ["b"], ["c"], ["d"], ["e"]]
    plain = Searched(gold=["c"], stories=stories, in_window=[None] * 5, coverage=[0.0, 0.1, 1.0, 0.0, 1.0])
    # c (full coverage) overtakes a and b (b's 0.1 is less than its lower prior); e is past top=4 and stays last.
    assert rerank(plain, top=4, c=2, w=1.0) == [["c"], ["a"], ["b"], ["d"], ["e"]]
    assert rerank(plain, top=4, c=2, w=0.0) == stories  # no weight: the system's order
    windowed = Searched(gold=["c"], stories=stories, in_window=[True, False, False, True, False],
                        coverage=[0.0, 0.1, 1.0, 0.0, 1.0])
    assert rerank(windowed, top=5, c=2, w=1.0)[:2] == [["a"], ["d"]]  # inside the window first, as the search
    assert rerank(windowed, top=5, c=2, w=1.0)[2:4] == [["c"], ["e"]]
