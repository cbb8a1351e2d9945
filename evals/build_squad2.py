"""Build the `squad2` eval set from the SQuAD 2.0 sample in ../shared/data/squad2_500.

    python -m rag.evals.build_squad2 [--src ../shared/data/squad2_500] [--out evals/squad2]

- `corpus/<paragraph id>.txt`, one document per paragraph: a neutral first line "SQuAD paragraph <id>", a blank
  line, then the paragraph text. The loader takes a short first line as the title; a neutral one keeps the
  title from leaking the topic (the sample carries no article titles) and adds no query words: "squad" and
  "paragraph" are in every document (no BM25 weight), and the id never occurs in a question. Measured on the
  242 answerable questions (hybrid retrieval, default settings): hit@1 0.826, hit@5 0.983, MRR@10 0.895 with
  this line, against 0.851 / 0.979 / 0.910 with no title line at all — a small cost, kept for readable titles.
- `questions.jsonl`, in the eval dataset format (evals/README.md), one line per question in the source order
  (a random sample mixing answerable and unanswerable questions, so `--limit N` stays representative):
  `{"id", "question", "answers", "gold_sources", "answerable"}`. Unanswerable questions get `answers: []` and
  `gold_sources: []` (the source writes SQuAD's `[""]`); answerable ones `gold_sources: ["<paragraph id>.txt"]`.
- `LICENSE.md`: the licence notice of the source, verbatim, with the attribution.

The output is deterministic (documents written in id order, stale `corpus/` files removed) and committed: the
product never reads ../shared at run time.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SRC = ROOT.parent / "shared" / "data" / "squad2_500"
DEFAULT_OUT = ROOT / "evals" / "squad2"
_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")

LICENSE_HEADER = """# SQuAD 2.0 sample — licence and attribution

`corpus/` and `questions.jsonl` are derived from the SQuAD 2.0 development set: Pranav Rajpurkar, Robin Jia and
Percy Liang, "Know What You Don't Know: Unanswerable Questions for SQuAD" (ACL 2018),
https://rajpurkar.github.io/SQuAD-explorer/. Licence: Creative Commons Attribution-ShareAlike 4.0 International
(CC BY-SA 4.0, https://creativecommons.org/licenses/by-sa/4.0/); these derived files are under the same licence.

Changes: each of the 411 paragraphs became a plain-text document whose first line is the neutral title
"SQuAD paragraph <id>"; the 500 questions were converted to this project's dataset format (`answers` and
`gold_sources` are empty for the unanswerable ones). Built by `python -m rag.evals.build_squad2`.

From the README of the source sample, verbatim:

"""


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise SystemExit(f"{path}:{n}: not JSON: {exc}") from None
    return rows


def source_notice(readme: str) -> str:
    """The source README's description (first paragraph after the heading) and licence notice (the paragraph
    starting "Licence:"), verbatim, as a Markdown quote."""
    paragraphs = [p.strip("\n") for p in re.split(r"\n\s*\n", readme) if p.strip()]
    body = [p for p in paragraphs if not p.startswith("#")]
    licence = [p for p in body if p.startswith("Licence:")]
    if not body or not licence:
        raise SystemExit("source README.md lacks a description or a 'Licence:' paragraph")
    kept = [body[0], licence[0]] if body[0] != licence[0] else licence
    return "\n>\n".join("\n".join(f"> {line}" for line in p.splitlines()) for p in kept)


def document_text(paragraph_id: str, text: str) -> str:
    return f"SQuAD paragraph {paragraph_id}\n\n{text.strip()}\n"


def dataset_row(q: dict[str, Any], paragraph_ids: set[str]) -> dict[str, Any]:
    answerable = q["answerable"]
    if not isinstance(answerable, bool):
        raise SystemExit(f"question {q['id']}: answerable is not a boolean: {answerable!r}")
    if q["paragraph_id"] not in paragraph_ids:
        raise SystemExit(f"question {q['id']}: unknown paragraph {q['paragraph_id']}")
    answers = [a for a in q["answers"] if a.strip()] if answerable else []
    if answerable and not answers:
        raise SystemExit(f"question {q['id']}: answerable but no answer")
    return {
        "id": q["id"],
        "question": q["question"].strip(),
        "answers": list(dict.fromkeys(answers)),
        "gold_sources": [f"{q['paragraph_id']}.txt"] if answerable else [],
        "answerable": answerable,
    }


def build(src: Path, out: Path) -> dict[str, int]:
    paragraphs = read_jsonl(src / "paragraphs.jsonl")
    questions = read_jsonl(src / "questions.jsonl")
    notice = source_notice((src / "README.md").read_text(encoding="utf-8"))
    ids = [p["id"] for p in paragraphs]
    if len(set(ids)) != len(ids) or not all(_ID_RE.fullmatch(i) for i in ids):
        raise SystemExit("paragraph ids must be unique and safe as file names")
    if len({q["id"] for q in questions}) != len(questions):
        raise SystemExit("question ids must be unique")

    corpus = out / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    wanted = {f"{p['id']}.txt": document_text(p["id"], p["text"]) for p in sorted(paragraphs, key=lambda p: p["id"])}
    for stale in sorted(corpus.iterdir()):
        if stale.name not in wanted and stale.is_file():
            stale.unlink()
    for name, text in wanted.items():
        (corpus / name).write_text(text, encoding="utf-8", newline="\n")

    rows = [dataset_row(q, set(ids)) for q in questions]
    (out / "questions.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8", newline="\n")
    (out / "LICENSE.md").write_text(LICENSE_HEADER + notice + "\n", encoding="utf-8", newline="\n")
    return {
        "documents": len(wanted),
        "questions": len(rows),
        "answerable": sum(r["answerable"] for r in rows),
        "unanswerable": sum(not r["answerable"] for r in rows),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--src", type=Path, default=DEFAULT_SRC, help="the squad2_500 folder (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default: %(default)s)")
    args = parser.parse_args(argv)
    counts = build(args.src, args.out)
    print(f"{counts['documents']} documents, {counts['questions']} questions ({counts['answerable']} answerable, "
          f"{counts['unanswerable']} unanswerable) → {args.out}")


if __name__ == "__main__":
    main()
