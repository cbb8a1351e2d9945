"""The loss decomposition puts each answerable question at the first stage that lost its gold answer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rag.evals.loss import decompose, stage, table


def row(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "answerable": True, "answers": ["Platinum Wolf"], "gold_sources": ["gold.md"], "refused": False,
        "refusal_reason": None, "answer": "", "metrics": {"gold_contained": 0.0},
        "retrieved": [{"source": "other.md"}, {"source": "gold.md"}],
        "passages": [{"source": "other.md", "text": "Peskov spoke."}],
        "evidence": [{"text": "Peskov spoke."}],
    }
    return base | over


HOLDS = [{"source": "gold.md", "text": "The exercise, named Platinum Wolf, ran for two weeks."}]


def test_each_stage() -> None:
    assert stage(row(metrics={"gold_contained": 1.0})) == ("answered", "")
    assert stage(row(refused=True, refusal_reason="the passages mention only 40% of the question's terms")) == (
        "refused", "term coverage")
    assert stage(row(refused=True, refusal_reason="The passages … do not mention 'Serbia'.", passages=HOLDS)) == (
        "refused", "anchor check (answer in passages)")
    # Reasons are sentences since session 10 (capital first letter); older runs' clauses read alike.
    for reason in ("Nothing in the corpus matches the question.", "nothing in the corpus matches the question"):
        assert stage(row(refused=True, refusal_reason=reason)) == ("refused", "nothing retrieved")
    assert stage(row(refused=True, refusal_reason="the passages look like a near miss (terms 60%, in the first 40%, "
                                                  "best cosine 0.49: log-odds 0.61 > -0.55)")) == (
        "refused", "combined decision")
    assert stage(row(retrieved=[{"source": f"o{i}.md"} for i in range(5)] + [{"source": "gold.md"}])) == ("not retrieved", "")
    assert stage(row()) == ("not in passages", "gold article not handed")
    assert stage(row(passages=[{"source": "gold.md", "text": "Serbia hosted it."}])) == (
        "not in passages", "gold article handed")
    assert stage(row(passages=HOLDS)) == ("evidence drops it", "")
    assert stage(row(passages=HOLDS, evidence=[{"text": "named Platinum Wolf"}])) == ("answer misses it", "")


def test_whole_articles_tell_whether_better_passages_could_find_it(tmp_path: Path) -> None:
    (tmp_path / "gold.md").write_text("# Drill\n\nSerbia hosted it.\n\nIt was called Platinum Wolf.")
    (tmp_path / "other.md").write_text("Peskov spoke.")
    assert stage(row(), corpus=tmp_path) == ("not in passages", "gold article not handed, answer in a retrieved article")
    (tmp_path / "gold.md").write_text("Serbia hosted it.")
    assert stage(row(), corpus=tmp_path)[1].endswith("answer in no retrieved article")


def test_table_counts_only_answerable_questions() -> None:
    counts = decompose([row(metrics={"gold_contained": 1.0}), row(), row(answerable=False), row(answers=[])])
    assert sum(counts.values()) == 2
    text = table(counts)
    assert "| **answered** | | **1** | **50.0%** |" in text and "| total answerable | | 2 | |" in text
