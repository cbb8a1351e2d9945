"""rag.evals.build_squad2 on a tiny source folder."""

import json
from pathlib import Path

import pytest

from rag.evals.build_squad2 import build

README = """# SQuAD 2.0 — 2-question sample

A sample of 2 questions with 2 paragraphs.

- `paragraphs.jsonl`: one paragraph per line.

Licence: CC BY-SA 4.0 (SQuAD 2.0, https://rajpurkar.github.io/SQuAD-explorer/). Keep this notice with any copy.
"""


def make_src(root: Path) -> Path:
    src = root / "src"
    src.mkdir()
    (src / "README.md").write_text(README, encoding="utf-8")
    paragraphs = [{"id": "p-b", "text": " Beta text about rivers. "}, {"id": "p-a", "text": "Alpha text."}]
    questions = [
        {"id": "q1", "question": "What about rivers? ", "answers": ["rivers", "rivers"], "answerable": True,
         "paragraph_id": "p-b"},
        {"id": "q2", "question": "What about lakes?", "answers": [""], "answerable": False, "paragraph_id": "p-a"},
    ]
    (src / "paragraphs.jsonl").write_text("".join(json.dumps(p) + "\n" for p in paragraphs), encoding="utf-8")
    (src / "questions.jsonl").write_text("".join(json.dumps(q) + "\n" for q in questions), encoding="utf-8")
    return src


def test_build_writes_corpus_questions_and_licence(tmp_path: Path) -> None:
    src, out = make_src(tmp_path), tmp_path / "out"
    (out / "corpus").mkdir(parents=True)
    (out / "corpus" / "stale.md").write_text("old", encoding="utf-8")
    counts = build(src, out)
    assert counts == {"documents": 2, "questions": 2, "answerable": 1, "unanswerable": 1}
    assert sorted(p.name for p in (out / "corpus").iterdir()) == ["p-a.txt", "p-b.txt"]
    assert (out / "corpus" / "p-b.txt").read_text(encoding="utf-8") == "SQuAD paragraph p-b\n\nBeta text about rivers.\n"
    rows = [json.loads(line) for line in (out / "questions.jsonl").read_text(encoding="utf-8").splitlines()]
    assert rows == [
        {"id": "q1", "question": "What about rivers?", "answers": ["rivers"], "gold_sources": ["p-b.txt"],
         "answerable": True},
        {"id": "q2", "question": "What about lakes?", "answers": [], "gold_sources": [], "answerable": False},
    ]
    licence = (out / "LICENSE.md").read_text(encoding="utf-8")
    assert "> A sample of 2 questions with 2 paragraphs." in licence
    assert "> Licence: CC BY-SA 4.0 (SQuAD 2.0, https://rajpurkar.github.io/SQuAD-explorer/). Keep this notice" in licence


def test_build_is_deterministic(tmp_path: Path) -> None:
    src = make_src(tmp_path)
    build(src, tmp_path / "one")
    build(src, tmp_path / "two")
    for name in ["questions.jsonl", "LICENSE.md", "corpus/p-a.txt", "corpus/p-b.txt"]:
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()


def test_build_rejects_unknown_paragraph(tmp_path: Path) -> None:
    src = make_src(tmp_path)
    with (src / "questions.jsonl").open("a", encoding="utf-8") as f:
        f.write(json.dumps({"id": "q3", "question": "?", "answers": ["x"], "answerable": True,
                            "paragraph_id": "p-zzz"}) + "\n")
    with pytest.raises(SystemExit, match="unknown paragraph"):
        build(src, tmp_path / "out")


COMMITTED = Path(__file__).resolve().parents[2] / "evals" / "squad2"


def test_committed_squad2_set() -> None:
    rows = [json.loads(line) for line in (COMMITTED / "questions.jsonl").read_text(encoding="utf-8").splitlines()]
    docs = {p.name for p in (COMMITTED / "corpus").iterdir()}
    assert len(rows) == 500 and sum(not r["answerable"] for r in rows) == 258 and len(docs) == 411
    assert all(set(r["gold_sources"]) <= docs for r in rows)
    assert all(bool(r["answers"]) == bool(r["gold_sources"]) == r["answerable"] for r in rows)
