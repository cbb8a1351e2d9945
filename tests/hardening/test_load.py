"""Load, short version of bench/bench_load.py: 20 concurrent gradio_client sessions against the real app
(`rag serve` subprocess on 127.0.0.1, real Chroma and MiniLM, extractive backend), each its own Gradio
session, half through the streamed web-chat endpoint `/chat` (history in the server's per-session state), half
through `/ask` (history sent by the client). Each session asks a question, a follow-up that only its own
history makes answerable, and a next question. The session logic is bench/bench_load.py's (one copy)."""

from __future__ import annotations

import time

import pytest

from bench.bench_load import load_pairs, report, run_load

pytestmark = pytest.mark.slow

SESSIONS = 20
TURNS = 3  # question, follow-up, next conversation's question


def test_twenty_concurrent_sessions_get_their_own_answers_without_errors() -> None:
    pairs = load_pairs()
    assert len({p.first for p in pairs}) >= SESSIONS, "each session needs its own conversation"
    started = time.monotonic()
    # seconds=600 is only a safety bound: each session stops after TURNS turns. A request may wait in Gradio's
    # queue (concurrency 4) behind the other 19 sessions; 120 s each is far above what that takes.
    result = run_load("extractive", SESSIONS, seconds=600, timeout_s=120, max_turns=TURNS)
    text = report(result, 600)
    print(text)  # the figures, for a human reading the test log

    assert not result.errors, text
    assert len(result.turns) == SESSIONS * TURNS, text
    assert {t.session for t in result.turns} == set(range(SESSIONS))
    assert {t.api for t in result.turns} == {"chat", "ask"}
    # No session received another's turn: echoed question, standalone question (the extractive rewrite is
    # deterministic, so it must equal the rewrite of the session's own history) and the /chat transcript.
    assert not result.mixed, text
    # Each follow-up ("How old is she?", "How much did it cost?") was answered from the session's own article;
    # alone, every one of them is (that is how the pairs were chosen), so any miss here is a mixed history.
    follow_ups = [t for t in result.turns if t.kind == "follow-up"]
    assert len(follow_ups) == SESSIONS
    assert not result.off_topic("follow-up"), text
    # The extractive backend is deterministic: one input, one answer, however many sessions run at once.
    assert not result.inconsistent(), text
    assert result.peak_rss_mb > 0, "the server's memory was sampled"
    print(f"test wall time {time.monotonic() - started:.0f} s")
