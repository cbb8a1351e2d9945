"""bench/bench_llm_rerank.py around its model: the judge's prompt, reading Yes/No from llama.cpp's top
log-probabilities, the on-disk cache by prompt, and the fusion of the judge's P(yes) with the search's rank. The
judge here is a deterministic fake: the subject is the fusion and the bookkeeping, not the model."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from bench.bench_llm_rerank import (
    JudgeCache,
    Judged,
    cached_judge,
    fuse,
    judge_messages,
    separation,
    yes_no_logprobs,
    yes_probability,
)
from rag.types import Chunk, Hit


def chunk(cid: str, text: str, source: str = "a.md") -> Chunk:
    return Chunk(id=cid, source=source, text=text, title="Lindmoor votes", start=0, end=len(text), ordinal=0,
                 text_hash=cid, date="2023-05-04")


def test_judge_messages_put_the_question_first_and_cut_the_story_at_a_word() -> None:
    best = chunk("1", "The Lindmoor council   elected Ada Byrne mayor on Tuesday.")
    hit = Hit(chunk=best, score=1.0, document_passages=[best, chunk("2", "Byrne won 61 percent of the vote.")])
    user = judge_messages("Who became mayor of Lindmoor?", hit, chars=1000)[1]["content"]
    assert user.startswith("Question: Who became mayor of Lindmoor?\n\nArticle: Lindmoor votes (2023-05-04)\n")
    # The best chunk once (not again from document_passages), whitespace collapsed, then the next passage.
    assert "The Lindmoor council elected Ada Byrne mayor on Tuesday. Byrne won 61 percent of the vote." in user
    assert user.endswith("Does this article answer the question? Answer Yes or No.")
    short = judge_messages("Who became mayor of Lindmoor?", hit, chars=30)[1]["content"]
    assert "The Lindmoor council elected …" in short and "Ada" not in short


def test_yes_and_no_are_read_from_the_top_logprobs_over_their_spellings() -> None:
    top = [{"token": "No", "logprob": math.log(0.5)}, {"token": "Yes", "logprob": math.log(0.2)},
           {"token": " yes", "logprob": math.log(0.1)}, {"token": "Maybe", "logprob": math.log(0.15)}]
    got = yes_no_logprobs(top)
    assert got["yes"] == pytest.approx(math.log(0.3)) and got["no"] == pytest.approx(math.log(0.5))
    assert yes_probability(got) == pytest.approx(0.3 / 0.8)
    assert yes_probability(yes_no_logprobs([{"token": "Yes", "logprob": -3.0}])) == 1.0  # No not in the list
    assert yes_probability(yes_no_logprobs([{"token": "The", "logprob": -0.1}])) == 0.5  # neither: no opinion


def test_judge_outputs_are_cached_on_disk_by_prompt(tmp_path: Path) -> None:
    calls: list[str] = []

    def fake_judge(messages: list[dict[str, str]]) -> dict[str, float]:
        calls.append(messages[-1]["content"])
        return {"yes": math.log(0.9), "no": math.log(0.1)} if "Byrne" in messages[-1]["content"] else \
            {"yes": math.log(0.1), "no": math.log(0.9)}

    path = tmp_path / "judge.jsonl"
    run = cached_judge(fake_judge, JudgeCache(path))
    yes = [{"role": "user", "content": "Byrne"}]
    assert run(yes)[0] == pytest.approx(0.9)
    assert run(yes) == (pytest.approx(0.9), 0.0)  # second time from the cache, no time spent
    assert run([{"role": "user", "content": "other"}])[0] == pytest.approx(0.1)
    assert len(calls) == 2
    offline = cached_judge(None, JudgeCache(path))  # a new process reads the file back
    assert offline(yes)[0] == pytest.approx(0.9)
    with pytest.raises(KeyError):
        offline([{"role": "user", "content": "never judged"}])


def test_fuse_orders_the_judged_head_by_yes_plus_rank_prior() -> None:
    stories = [["a"], ["b"], ["c"], ["d"], ["e"]]
    judged = Judged(gold=["c"], stories=stories, in_window=[None] * 5, yes=[0.2, 0.3, 0.9, 0.25])
    # w 0: the judge alone within the judged head; e (not judged) keeps its place.
    assert fuse(judged, top=10, c=2, w=0.0) == [["c"], ["b"], ["d"], ["a"], ["e"]]
    # prior 1/(2+i) weighted 1: a 0.7, b 0.633, c 1.15, d 0.45
    assert fuse(judged, top=10, c=2, w=1.0) == [["c"], ["a"], ["b"], ["d"], ["e"]]
    assert fuse(judged, top=10, c=1, w=100.0) == stories  # the prior dominates: the search's order
    assert fuse(judged, top=2, c=2, w=0.0) == [["b"], ["a"], ["c"], ["d"], ["e"]]  # only the first 2 move
    tied = Judged(gold=[], stories=stories, in_window=[None] * 5, yes=[0.5] * 5)
    assert fuse(tied, top=5, c=2, w=0.0) == stories  # ties keep the search's order


def test_fuse_keeps_the_questions_window_first_unless_told_not_to() -> None:
    stories = [["a"], ["b"], ["c"], ["d"]]
    judged = Judged(gold=["c"], stories=stories, in_window=[True, True, False, False], yes=[0.1, 0.2, 0.9, 0.8])
    assert fuse(judged, top=4, c=2, w=0.0) == [["b"], ["a"], ["c"], ["d"]]
    assert fuse(judged, top=4, c=2, w=0.0, window_first=False) == [["c"], ["d"], ["b"], ["a"]]


def test_separation_compares_gold_and_other_stories_within_each_question() -> None:
    first = Judged(gold=["b"], stories=[["a"], ["b", "b2"], ["c"]], in_window=[None] * 3, yes=[0.2, 0.9, 0.9])
    second = Judged(gold=["z"], stories=[["x"], ["y"]], in_window=[None] * 2, yes=[0.4, 0.6])  # no gold judged
    gold, other, auc = separation([first, second])
    assert gold == pytest.approx(0.9) and other == pytest.approx((0.2 + 0.9 + 0.4 + 0.6) / 4)
    assert auc == pytest.approx(0.75)  # b beats a, ties c; second question has no pair
    assert separation([first, second], by_rank=True)[2] == pytest.approx(0.5)  # b is behind a, ahead of c
