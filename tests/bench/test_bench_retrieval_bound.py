"""bench/bench_retrieval_bound.py on a constructed dated corpus (real Chroma, real embedder): the ceilings follow
the as-of rule, the oracle puts answer-naming stories first, and each miss gets its reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.bench_retrieval_bound import (
    AFTER,
    BEHIND,
    CEIL_CORPUS,
    CEIL_POOL,
    NOT_IN_POOL,
    ORACLE_ALL,
    ORACLE_PASSAGES,
    ORACLE_POOL,
    OWN_ANSWER,
    SYSTEM,
    SYSTEM_NAMED,
    WINDOW_ALL,
    WINDOW_POOL,
    Bound,
    answer_spans,
    main,
)
from rag.embedding import Embedder
from rag.settings import Settings, get_settings
from rag.sync import sync_corpus
from tests.helpers import article, write

QUESTION = "Who won the Lindmoor mayoral election this week?"
ANSWER = "Maria Okafor"
ELECTION = {  # five recent reports that name the winner; none is labelled gold for the first question
    "vote-count.md": ("2023-05-08", "Lindmoor mayoral election count ends",
                      "Maria Okafor won the Lindmoor mayoral election after the last ballots were counted on Monday, "
                      "the city's returning officer said."),
    "victory-speech.md": ("2023-05-09", "New Lindmoor mayor gives victory speech",
                          "In her victory speech after the mayoral election, Maria Okafor thanked Lindmoor's voters "
                          "and promised a new tram line."),
    "turnout.md": ("2023-05-08", "Turnout rose in the Lindmoor mayoral election",
                   "More Lindmoor residents voted in this year's mayoral election than in any before; Maria Okafor "
                   "led in every district."),
    "council-reacts.md": ("2023-05-09", "Lindmoor council reacts to the mayoral election result",
                          "Council members from both parties congratulated Maria Okafor on winning the mayoral "
                          "election in Lindmoor."),
    "profile.md": ("2023-05-07", "Who is Lindmoor's next mayor?",
                   "A profile of the candidate who won the Lindmoor mayoral election: Maria Okafor, a former "
                   "harbour engineer."),
}


def write_corpus(corpus: Path) -> None:
    for name, (date, title, body) in ELECTION.items():
        write(corpus / name, article(title, body, date))
    # The gold label of the first question: an old article that merely names the answer (news23's bats case).
    write(corpus / "bats-2013.md", article(
        "Bats return to the Lindmoor caves", "The biologist Maria Okafor counted four hundred bats in the caves "
        "north of the city, twice as many as the winter before.", "2013-04-02"))
    write(corpus / "recount.md", article(
        "Lindmoor mayoral election recount requested", "A recount of the Lindmoor mayoral election was requested "
        "by the losing candidate on Tuesday.", "2023-05-09"))
    write(corpus / "after.md", article(
        "Maria Okafor sworn in as Lindmoor mayor", "Maria Okafor was sworn in as mayor of Lindmoor a month after "
        "winning the mayoral election.", "2023-06-10"))
    write(corpus / "ferry.md", article(
        "Ferry timetable changes in Lindmoor", "The harbour ferry will run every twenty minutes from June.",
        "2023-05-02"))


def rows() -> list[dict[str, object]]:
    base = {"question": QUESTION, "answers": [ANSWER], "answerable": True, "asked_on": "2023/05/10"}
    return [
        {**base, "id": "old-gold", "gold_sources": ["bats-2013.md"]},
        {**base, "id": "future-gold", "gold_sources": ["after.md"]},
        {**base, "id": "recent-gold", "gold_sources": ["victory-speech.md"]},
    ]


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Settings:
    base = tmp_path_factory.mktemp("bound")
    write_corpus(base / "corpus")
    settings = get_settings(corpus_dir=base / "corpus", index_dir=base / "index")
    sync_corpus(settings, embedder=embedder)
    return settings


def naming(story: list[str]) -> bool:
    return any(source in ELECTION or source in ("bats-2013.md", "after.md") for source in story)


def test_the_oracle_puts_answer_naming_stories_first_and_says_why_the_old_gold_misses(
        indexed: Settings, embedder: Embedder) -> None:
    old, future, recent = (Bound(indexed, embedder).question(row) for row in rows())

    # The system's own search, as rag eval runs it: nothing dated after asked_on comes back.
    assert all(story[0] != "after.md" for story in old.first[SYSTEM])
    # Five reports name the winner ahead of the 2013 gold article: the oracle cannot put it in the first 5.
    assert [naming(s) for s in old.first[ORACLE_POOL]][:6] == [True] * 6
    assert old.first[ORACLE_POOL][5] == ["bats-2013.md"]
    assert old.scores[ORACLE_POOL]["hit@5"] == 0.0 and old.scores[ORACLE_POOL]["hit@10"] == 1.0
    assert old.scores[ORACLE_POOL]["mrr@10"] == pytest.approx(1 / 6)
    assert old.misses[ORACLE_POOL].kind == BEHIND
    assert "behind 5 (5 from 2023)" in old.misses[ORACLE_POOL].detail
    assert old.scores[CEIL_CORPUS]["hit@1"] == 1.0 and old.scores[CEIL_POOL]["hit@1"] == 1.0
    # Every article here is one candidate chunk: reading the passages, the oracle sees what the whole text says.
    assert old.first[ORACLE_PASSAGES] == old.first[ORACLE_POOL]
    # A time-correct order puts the week's reports first too (the recount names no winner: it comes after).
    assert old.first[WINDOW_ALL][5] == ["bats-2013.md"]
    assert old.first[WINDOW_ALL][6] == ["recount.md"]
    # Counting any answer-naming story as a hit, the system's first result is one.
    assert old.scores[SYSTEM_NAMED]["hit@1"] == 1.0

    # Gold only after the as-of date: no ranking reaches it, and that is the reason given.
    assert future.scores[CEIL_CORPUS]["hit@10"] == 0.0 and future.scores[CEIL_POOL]["hit@10"] == 0.0
    for row in (ORACLE_POOL, ORACLE_ALL, ORACLE_PASSAGES, WINDOW_POOL, WINDOW_ALL):
        assert future.scores[row]["hit@10"] == 0.0
        assert future.misses[row].kind == AFTER

    # A labelled recent report: the oracle finds it in the first 5 whatever the system's order.
    assert recent.scores[ORACLE_POOL]["hit@5"] == 1.0 and ORACLE_POOL not in recent.misses


def test_a_small_pool_misses_the_gold_that_the_every_article_oracle_still_ranks(
        indexed: Settings, embedder: Embedder) -> None:
    old = Bound(indexed, embedder, pool=1).question(rows()[0])

    assert old.scores[CEIL_POOL]["hit@10"] == 0.0
    assert old.misses[ORACLE_POOL].kind == NOT_IN_POOL
    # Outside the pool, the every-article oracle still ranks every answer-naming story dated <= asked_on.
    assert old.scores[ORACLE_ALL]["hit@10"] == 1.0
    assert old.misses[ORACLE_ALL].kind == BEHIND


def test_command_prints_the_table_and_the_misses(indexed: Settings, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    dataset = tmp_path / "questions.jsonl"
    unanswerable = {"id": "none", "question": "Who won the Lindmoor chess final?", "answers": [],
                    "gold_sources": [], "answerable": False, "asked_on": "2023/05/10"}
    dataset.write_text("\n".join(json.dumps(r) for r in [*rows(), unanswerable]) + "\n", encoding="utf-8")

    main([str(dataset), "--corpus", str(indexed.corpus_dir), "--index", str(indexed.index_dir), "--misses"])

    out = capsys.readouterr().out
    assert "3 answerable questions with gold sources" in out
    assert f"| {CEIL_CORPUS} | 0.667 | 0.667 | 0.667 | 0.667 |" in out
    assert "  future-gold (asked 2023-05-10): gold only after asked_on: gold dated 2023-06-10" in out
    assert "  old-gold (asked 2023-05-10): gold behind other answer-naming stories" in out


@pytest.mark.parametrize(("answer", "question", "spans"), [
    ("Maria Okafor won it [1]. The count ended on Monday.", QUESTION, ["Maria Okafor"]),
    ("The Buffalo Bills signed him in 2019 [1].", "Damar Hamlin plays for which team?", ["Buffalo Bills", "2019"]),
    ("It was the Bank of England that raised rates by 0.25 points.", "Who raised rates?", ["Bank of England", "0.25"]),
    ("Damar Hamlin plays for Buffalo.", "Damar Hamlin plays for which team?", ["Buffalo"]),  # the asked name left out
    (None, QUESTION, []),  # a refusal
])
def test_answer_spans_are_what_the_answer_adds_to_the_question(answer: str | None, question: str,
                                                              spans: list[str]) -> None:
    assert answer_spans(answer, question) == spans


def test_own_answer_row_ranks_stories_naming_the_answer_given(indexed: Settings, embedder: Embedder) -> None:
    """Row (e): the pool reordered by the system's own answer; a wrong answer promotes what names it."""
    row = rows()[0]
    right, wrong, refused = (
        Bound(indexed, embedder, answers={"old-gold": answer}).question(row)
        for answer in ("Maria Okafor won the election [1].", "The ferry runs every twenty minutes from June [1].",
                       None))

    assert [naming(s) for s in right.first[OWN_ANSWER]][:5] == [True] * 5
    assert wrong.first[OWN_ANSWER][0] == ["ferry.md"]  # "June" is named only by the ferry article
    # A refused question keeps the search's order.
    assert refused.first[OWN_ANSWER][:5] == refused.first[SYSTEM][:5]
    # Without a run's answers the row is not measured.
    assert OWN_ANSWER not in Bound(indexed, embedder).question(row).scores
