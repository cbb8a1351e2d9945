"""Build the `squad2` eval set from the SQuAD 2.0 sample in ../shared/data/squad2_500.

    python -m evals.build_squad2 [--src ../shared/data/squad2_500] [--out evals/squad2]

Each paragraph becomes one document (`corpus/<paragraph id>.md`, with a neutral title so that no title leaks
the topic); each question becomes a dataset line. The output is committed: the product never reads ../shared.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTICE = """# SQuAD 2.0 sample — licence

The documents in `corpus/` and the questions in `questions.jsonl` are derived from a sample of 500 questions
from the SQuAD 2.0 development set (Rajpurkar, Jia and Liang, 2018) with the 411 Wikipedia paragraphs they
were asked about; 242 questions are answerable from their paragraph and 258 are not.

Licence: CC BY-SA 4.0 (SQuAD 2.0, https://rajpurkar.github.io/SQuAD-explorer/). Keep this notice with any copy.
"""


def build(src: Path, out: Path) -> tuple[int, int, int]:
    paragraphs = [json.loads(line) for line in (src / "paragraphs.jsonl").read_text(encoding="utf-8").splitlines()
                  if line.strip()]
    questions = [json.loads(line) for line in (src / "questions.jsonl").read_text(encoding="utf-8").splitlines()
                 if line.strip()]
    corpus = out / "corpus"
    shutil.rmtree(corpus, ignore_errors=True)
    corpus.mkdir(parents=True)
    for para in sorted(paragraphs, key=lambda p: p["id"]):
        (corpus / f"{para['id']}.md").write_text(
            f"---\ntitle: Wikipedia paragraph\n---\n\n{para['text'].strip()}\n", encoding="utf-8")
    lines = []
    for q in questions:
        answerable = bool(q["answerable"])
        lines.append(json.dumps({
            "id": q["id"],
            "question": q["question"].strip(),
            "answers": q["answers"] if answerable else [],
            "gold_sources": [f"{q['paragraph_id']}.md"] if answerable else [],
            "answerable": answerable,
            # Unanswerable questions were written against one paragraph: kept for retrieval analysis only.
            "paragraph": f"{q['paragraph_id']}.md",
        }, ensure_ascii=False))
    (out / "questions.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (out / "LICENSE.md").write_text(NOTICE, encoding="utf-8")
    return len(paragraphs), len(questions), sum(1 for q in questions if not q["answerable"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", type=Path, default=ROOT.parent / "shared" / "data" / "squad2_500")
    parser.add_argument("--out", type=Path, default=ROOT / "evals" / "squad2")
    args = parser.parse_args()
    docs, questions, unanswerable = build(args.src, args.out)
    print(f"{docs} documents, {questions} questions ({unanswerable} unanswerable) → {args.out}")


if __name__ == "__main__":
    main()
