"""Where the gold answer is lost: one stage per answerable question of an eval run.

    python -m rag.evals.loss RUN_DIR [--corpus CORPUS] [--top N]

Each answerable question with a gold answer falls in the first of these that applies (pipeline order):

- answered: the answer contains a gold answer (`gold_contained`);
- refused: a gate or the answer policy refused it (by reason; "answer in passages" says whether the passages
  it would have rested on held the answer, i.e. whether the refusal cost anything);
- not retrieved: no gold article among the first N retrieved;
- not in passages: a gold article was retrieved, but no passage handed to the answerer holds a gold answer
  (split by whether a gold article was handed at all; with --corpus, also whether the answer string occurs in
  any of the first N retrieved articles' full text, i.e. whether better passage choice could find it);
- evidence drops it: a handed passage holds it, the evidence the answerer was shown does not;
- answer misses it: the evidence holds it, the answer does not.

Reads results.jsonl (rag eval, python -m rag.evals.replay); the run must record `passages` (handed passages).
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path
from typing import Any

from rag.evals.metrics import answer_found, dedupe

REFUSAL_GATES = (
    ("mention only", "term coverage"),
    ("do not mention", "anchor check"),
    ("near miss", "combined decision"),  # its reason names the best cosine too (rag/answer/gates.py)
    ("cosine", "best cosine"),
    ("no retrieved article", "date window"),
    ("model found no answer", "model: cannot find"),
    ("no answer sentence", "no sentence verified"),
    ("nothing in the corpus", "nothing retrieved"),
)


def refusal_gate(reason: str | None) -> str:
    for marker, gate in REFUSAL_GATES:
        if marker in (reason or "").lower():  # reasons are sentences now, older runs' were clauses
            return gate
    return "other"


def stage(row: dict[str, Any], top: int = 5, corpus: Path | None = None) -> tuple[str, str]:
    """(stage, detail) of one answerable row (see the module docstring)."""
    golds = row["answers"]
    handed = [p["text"] for p in row.get("passages") or []]
    in_passages = answer_found(handed, golds)
    if not row["refused"] and row["metrics"].get("gold_contained"):
        return "answered", ""
    if row["refused"]:
        return "refused", f"{refusal_gate(row['refusal_reason'])}" + (" (answer in passages)" if in_passages else "")
    if in_passages:
        if not answer_found([e["text"] for e in row.get("evidence") or []], golds):
            return "evidence drops it", ""
        return "answer misses it", ""
    retrieved = dedupe([h["source"] for h in row["retrieved"]])[:top]
    gold = set(row["gold_sources"])
    if not gold & set(retrieved):
        return "not retrieved", ""
    handed_gold = bool(gold & {p["source"] for p in row.get("passages") or []})
    detail = "gold article handed" if handed_gold else "gold article not handed"
    if corpus is not None:
        texts = [_read(corpus / s) for s in retrieved]
        detail += ", answer in a retrieved article" if answer_found(texts, golds) else ", answer in no retrieved article"
    return "not in passages", detail


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def decompose(rows: list[dict[str, Any]], top: int = 5, corpus: Path | None = None) -> Counter[tuple[str, str]]:
    return Counter(stage(r, top, corpus) for r in rows if r["answerable"] and r["answers"])


ORDER = ["answered", "refused", "not retrieved", "not in passages", "evidence drops it", "answer misses it"]


def table(counts: Counter[tuple[str, str]]) -> str:
    total = sum(counts.values())
    lines = ["| stage | detail | questions | share |", "|---|---|---:|---:|"]
    for name in ORDER:
        rows = sorted(((d, n) for (s, d), n in counts.items() if s == name), key=lambda x: -x[1])
        subtotal = sum(n for _, n in rows)
        lines.append(f"| **{name}** | | **{subtotal}** | **{subtotal / total:.1%}** |")
        if len(rows) > 1 or (rows and rows[0][0]):
            lines += [f"| | {d} | {n} | {n / total:.1%} |" for d, n in rows]
    lines.append(f"| total answerable | | {total} | |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(prog="python -m rag.evals.loss")
    parser.add_argument("run", type=Path, help="an eval run's folder (holds results.jsonl)")
    parser.add_argument("--corpus", type=Path, help="the corpus folder: look for the answer in whole articles")
    parser.add_argument("--top", type=int, default=5, help="a gold article counts as retrieved in the first N")
    args = parser.parse_args(argv)
    lines = (args.run / "results.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines if line.strip()]
    out = table(decompose(rows, args.top, args.corpus))
    print(out)
    return out


if __name__ == "__main__":
    main()
