import json
from pathlib import Path

from rag.evals.heldout import held_out, main


def _row(row_id: str, answerable: bool = True) -> str:
    return json.dumps({"id": row_id, "question": f"q {row_id}?", "answers": ["a"], "answerable": answerable}) + "\n"


def test_held_out_leaves_out_the_other_set_and_repeats() -> None:
    rows = [_row("a"), _row("b"), _row("c"), _row("b"), _row("d")]
    assert [json.loads(r)["id"] for r in held_out(rows, {"c"})] == ["a", "b", "d"]


def test_main_writes_the_held_out_file(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    full, small, out = tmp_path / "full.jsonl", tmp_path / "small.jsonl", tmp_path / "out.jsonl"
    full.write_text(_row("a") + _row("b", answerable=False) + _row("c"), encoding="utf-8")
    small.write_text(_row("c"), encoding="utf-8")
    main([str(full), "--minus", str(small), "--out", str(out)])
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == ["a", "b"]
    assert "2 questions (1 answerable)" in capsys.readouterr().out
