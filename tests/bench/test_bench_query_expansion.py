"""bench/bench_query_expansion.py: variants parse from the command line, and the replay that computes a question's
first pass once returns exactly the searches of the system's own retriever with the same settings."""

from __future__ import annotations

from bench.bench_query_expansion import ReplayRetriever, label, parse_variant
from rag.embedding import Embedder
from rag.retrieve import HybridRetriever
from rag.settings import Settings
from rag.types import SearchFilters


def test_a_variant_is_settings_with_their_types_and_a_short_label() -> None:
    variant = parse_variant("feedback_stories=3,feedback_terms=10,feedback_weight=0.2")
    assert variant == {"feedback_stories": 3, "feedback_terms": 10, "feedback_weight": 0.2}
    assert label(variant) == "N 3, M 10, w 0.2"
    assert label({}) == "system (no expansion)"


def test_the_replay_reusing_first_passes_searches_as_the_system_does(sample_index: Settings,
                                                                       embedder: Embedder) -> None:
    questions = ["Who won the harbour chess open?", "What did the council decide about the tram line?"]
    filters = SearchFilters(as_of="2026-12-01")
    for variant in ({}, {"feedback_terms": 10, "feedback_stories": 3}, {"feedback_beta": 0.5}):
        settings = sample_index.model_copy(update=variant)
        system, replay = HybridRetriever(settings, embedder=embedder), ReplayRetriever(settings, embedder=embedder)
        for question in questions * 2:  # the second time from the cached first pass
            expected = [(h.chunk.id, h.bm25_rank, h.dense_rank) for h in system.search(question, 10, filters)]
            assert [(h.chunk.id, h.bm25_rank, h.dense_rank) for h in replay.search(question, 10, filters)] == expected
    assert ReplayRetriever.first  # the first passes were kept
