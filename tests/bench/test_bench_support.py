"""bench_support's recorded set: hand labels name a run's model sentences by id, never by text."""

from __future__ import annotations

import json
from pathlib import Path

from bench.bench_support import recorded_pairs, sentence_id


def test_recorded_pairs_join_labels_to_a_runs_model_sentences(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    row = {
        "id": "q1",
        "citations": [{"n": 1, "text": "Passage one."}, {"n": 2, "text": "Passage two."}],
        "sentences": [
            {"text": "Claim A.", "citations": [1, 2], "origin": "model"},
            {"text": "Claim B.", "citations": [2], "origin": "model"},
            {"text": "Claim C.", "citations": [1], "origin": "model"},
            {"text": "Passage one.", "citations": [1], "origin": "quote"},
        ],
    }
    (run / "results.jsonl").write_text(json.dumps(row) + "\n", encoding="utf-8")
    labels = tmp_path / "labels.tsv"
    labels.write_text(
        "# comment\nset\tqid\tsid\tlabel\treason\n"
        f"news\tq1\t{sentence_id('q1', 'Claim A.')}\t1\tparaphrase\n"
        f"news\tq1\t{sentence_id('q1', 'Claim B.')}\t0\tswap\n"
        f"news\tq1\t{sentence_id('q1', 'Claim C.')}\tb\tborderline\n"
        f"news\tq1\t{sentence_id('q1', 'Passage one.')}\t1\ta quotation is no model sentence\n"
        f"other\tq1\t{sentence_id('q1', 'Claim A.')}\t0\tanother set's label\n",
        encoding="utf-8",
    )
    pairs = recorded_pairs(labels, {"news": run})
    assert [(p.hypothesis, p.label, p.premise) for p in pairs] == [
        ("Claim A.", 1, "Passage one.\nPassage two."),
        ("Claim B.", 0, "Passage two."),
    ]
    assert pairs[0].ref == f"news/q1/{sentence_id('q1', 'Claim A.')}"
