"""The held-out questions that tuned the learned parts (the combined refusal decision, the sentence ranker):
a dataset's rows minus those of another, e.g. news23 without news23-small, so that the figures reported on
news23-small were never fitted on.

    python -m rag.evals.heldout ../shared/data/news23/questions.jsonl \\
        --minus ../shared/data/news23-small/questions.jsonl --out /tmp/news23-heldout.jsonl

Rows are kept in their order; a row whose id was already kept (news23's file repeats one word for word) or
appears in `--minus` is left out. Prints how many questions (answerable) were written.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def held_out(rows: list[str], minus: set[str]) -> list[str]:
    """The JSON lines of `rows` whose id is not in `minus`, each id once."""
    kept, seen = [], set(minus)
    for line in rows:
        if not line.strip():
            continue
        row_id = json.loads(line)["id"]
        if row_id not in seen:
            seen.add(row_id)
            kept.append(line if line.endswith("\n") else line + "\n")
    return kept


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m rag.evals.heldout", description=__doc__.splitlines()[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--minus", type=Path, required=True, help="a dataset whose ids are left out")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    minus = {json.loads(line)["id"] for line in args.minus.read_text(encoding="utf-8").splitlines() if line.strip()}
    kept = held_out(args.dataset.read_text(encoding="utf-8").splitlines(keepends=True), minus)
    args.out.write_text("".join(kept), encoding="utf-8")
    answerable = sum(bool(json.loads(line).get("answerable", True)) for line in kept)
    print(f"{len(kept)} questions ({answerable} answerable) written to {args.out}")


if __name__ == "__main__":
    main()
