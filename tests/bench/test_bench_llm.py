"""bench_llm's report names the prompt it timed (no model runs here: only the label both reports print)."""

from __future__ import annotations

from bench.bench_llm import prompt_label
from rag.settings import Settings


def test_both_reports_name_the_evidence_budget_ranking_and_extra() -> None:
    settings = Settings(llm_evidence_chars=700, llm_evidence_ranking="ranker", llm_evidence_extra_chars=400)
    assert prompt_label(settings) == "evidence selection, 700 chars, ranker, 400 extra"
