"""A tiny end-to-end eval producing every output file, --compare, and the CI gate on the sample set."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.answer.factory import make_engine
from rag.embedding import Embedder
from rag.evals.runner import DatasetError, compare_runs, load_dataset, run_eval
from rag.settings import Settings
from tests.helpers import SAMPLE_QUESTIONS

# The CI gate: floors set from measured values of the full pipeline with the extractive backend on the sample
# set (measured: Hit@5 1.00, citation precision 1.00, refusal recall 0.50), with a margin for noise.
GATE = {"hit@5": 0.95, "citation_precision": 0.90, "refusal_recall": 0.40}


@pytest.fixture(scope="module")
def sample_run(sample_index: Settings, embedder: Embedder, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("eval") / "run"
    engine = make_engine(sample_index.model_copy(update={"llm_backend": "extractive"}), embedder=embedder)
    run_eval(SAMPLE_QUESTIONS, sample_index, out, engine=engine, pipeline="full", show_progress=False)
    return out


def test_run_writes_every_output(sample_run: Path) -> None:
    for name in ("results.jsonl", "summary.json", "report.md", "report.html"):
        assert (sample_run / name).stat().st_size > 0, name
    results = [json.loads(line) for line in (sample_run / "results.jsonl").read_text().splitlines()]
    assert len(results) == len(load_dataset(SAMPLE_QUESTIONS))
    first = results[0]
    for key in ("question", "standalone_question", "retrieved", "answer", "citations", "refused", "metrics"):
        assert key in first
    html = (sample_run / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 3, "metric bars, Hit@k curve and latency histogram"
    assert "Worst failures" in (sample_run / "report.md").read_text()


def test_ci_gate_on_the_sample_set(sample_run: Path) -> None:
    summary = json.loads((sample_run / "summary.json").read_text())
    for metric, floor in GATE.items():
        assert summary[metric] is not None and summary[metric] >= floor, f"{metric} {summary[metric]} < {floor}"


def test_resume_skips_finished_questions(sample_run: Path, sample_index: Settings, embedder: Embedder) -> None:
    class Exploding:
        backend, model = "extractive", "x"

        def stream(self, question, passages):  # noqa: ANN001, ANN202
            raise AssertionError("resume must not ask again")

        def rewrite(self, question, history):  # noqa: ANN001, ANN202
            return None

    engine = make_engine(sample_index, embedder=embedder, answerer=Exploding())
    summary = run_eval(SAMPLE_QUESTIONS, sample_index, sample_run, engine=engine, pipeline="full", resume=True,
                       show_progress=False)
    assert summary["questions"] == len(load_dataset(SAMPLE_QUESTIONS))


def test_compare_reports_deltas(sample_run: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    summary = json.loads((sample_run / "summary.json").read_text())
    summary["hit@1"] = summary["hit@1"] - 0.25
    (other / "summary.json").write_text(json.dumps(summary))
    table, deltas = compare_runs(sample_run, other)
    assert deltas["hit@1"]["delta"] == pytest.approx(-0.25)
    assert "| hit@1 |" in table and "-0.250" in table


def test_bad_datasets_are_refused_clearly(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1, "question": "ok?"}\n{"id": 1, "question": "dup?"}\n')
    with pytest.raises(DatasetError, match="duplicate id '1' with different content"):
        load_dataset(bad)
    bad.write_text("{not json\n")
    with pytest.raises(DatasetError, match="not valid JSON"):
        load_dataset(bad)


def test_a_repeated_line_is_skipped_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # news23's questions.jsonl repeats one line word for word; it must not stop an eval.
    data = tmp_path / "repeat.jsonl"
    data.write_text('{"id": "a", "question": "ok?"}\n{"id": "b", "question": "b?"}\n{"id": "a", "question": "ok?"}\n')
    with caplog.at_level("WARNING"):
        rows = load_dataset(data)
    assert [r["id"] for r in rows] == ["a", "b"]
    assert "repeat.jsonl:3: the same line as id 'a' again, skipped" in caplog.text
