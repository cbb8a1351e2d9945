"""Recording a model's raw answers once per prompt (rag/evals/replay.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from rag.evals.replay import RecordingAnswerer
from rag.types import Chunk

PASSAGES = [Chunk(id="a", source="a.md", text="Platinum Wolf ran two weeks.", title="Drill", start=0, end=28,
                  ordinal=0, text_hash="x")]


class CountingAnswerer:
    backend, model = "local", "counting (test)"

    def __init__(self) -> None:
        self.calls = 0

    def stream(self, question: str, passages: list[Chunk], texts: list[str] | None = None) -> Iterator[str]:
        self.calls += 1
        yield from ["It ran ", f"two weeks ({question[:3]}) [1]."]

    def rewrite(self, question: str, history: list[dict[str, str]]) -> None:
        return None


def test_a_prompt_runs_the_model_once_and_replays_from_the_file(tmp_path: Path) -> None:
    cache = tmp_path / "raw.jsonl"
    inner = CountingAnswerer()
    first = RecordingAnswerer(inner, cache)
    assert "".join(first.stream("How long?", PASSAGES)) == "It ran two weeks (How) [1]."
    assert "".join(first.stream("How long?", PASSAGES)) == "It ran two weeks (How) [1]."
    assert inner.calls == 1 and first.misses == 1
    # Another process replays from the file alone; a new prompt (other evidence) is a miss with no text offline.
    offline = RecordingAnswerer(None, cache)
    assert "".join(offline.stream("How long?", PASSAGES)) == "It ran two weeks (How) [1]."
    assert "".join(offline.stream("How long?", PASSAGES, ["Platinum Wolf ran."])) == ""
    assert offline.misses == 1 and offline.rewrite("And?", []) is None
