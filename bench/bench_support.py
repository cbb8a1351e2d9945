"""Benchmark of the citation check (rag/verify.py): accuracy, precision, recall, AUC and latency per checker.

Two labelled sets:
- SQuAD 2.0 sample (../shared/data/squad2_500): each answerable question is turned into a statement with its
  gold answer. Supported = statement vs its paragraph. Unsupported = the same statement with the answer swapped
  for another span of the same kind from the same paragraph (a number for a number, a name for a name), or
  the gold statement vs the most word-overlapping other paragraph that does not contain the answer (the
  passage retrieval would wrongly pick). Balanced: as many unsupported as supported.
- bench/data/support_news_pairs.jsonl: hand-written answer sentences vs news passages (supported,
  paraphrased, changed number, unrelated passage, swapped entity, an answer taken from the neighbouring
  sentence, a changed ordinal, a claim joined across two sentences by a name or number).
- optionally (--recorded SET=RUN_DIR …): sentences a local model wrote in a recorded eval run, accepted by the check
  of the day and labelled by hand in bench/data/support_model_labels.tsv (ids and labels only: the passages are
  read from the run's results.jsonl, never kept in the repository).

The threshold is tuned for accuracy on SQuAD and reported on every set; news is the held-out check.

    python -m bench.bench_support [--squad DIR] [--kinds lexical,hybrid] [--out bench/results/support.txt]
        [--recorded news23-small=RUN_DIR sample=RUN_DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import rag  # noqa: F401  (offline environment)
from rag.answer.text import content_terms

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Pair:
    premise: str
    hypothesis: str
    label: int
    kind: str
    ref: str = ""  # a recorded sentence's set/question id/sentence id (its text is not printed)


# --- SQuAD statements -----------------------------------------------------------------------------------

_WH = ["how many", "how much", "how long", "how old", "how far", "how large", "how big", "what", "which", "whose",
       "who", "whom", "when", "where"]
_AUX = {"did", "does", "do"}
_NUM_SPAN_RE = re.compile(r"\b\d[\d,.]*(?:\s+(?:percent|million|billion|years?|days?|km|miles?))?")
_NAME_SPAN_RE = re.compile(r"\b[A-Z][\w'-]+(?:\s+(?:of|the|de|von|[A-Z][\w'-]+))*")


def to_statement(question: str, answer: str) -> str | None:
    """Crude question → statement: the wh-phrase is replaced by the answer; do-support is dropped. "When/where"
    questions get "in <answer>" appended. Returns None for question shapes it cannot rewrite (why, yes/no)."""
    q = question.strip().rstrip("?").strip()
    low = q.lower()
    found = [(m.start(), -len(wh), wh, m) for wh in _WH if (m := re.search(rf"\b{wh}\b", low))]
    for _, _, wh, m in sorted(found, key=lambda f: f[:2])[:1]:  # the earliest wh-phrase, longest first
        before, after = q[: m.start()], q[m.end():].strip()
        words = after.split()
        if words and words[0].lower() in _AUX:
            after = " ".join(words[1:])
        if wh in ("when", "where"):
            prep = "" if re.match(r"(?i)(in|on|at|during|by|from|after|before|near)\b", answer) else "in "
            text = f"{before}{after} {prep}{answer}".strip()
        elif wh.startswith("how "):
            text = f"{before}{answer} {words[0] if words and words[0].lower() not in _AUX else ''} {after}".strip()
            text = re.sub(r"\s+", " ", text)
            if words and words[0].lower() not in _AUX:
                text = text.replace(f"{words[0]} {words[0]}", words[0], 1)
        else:
            text = f"{before}{answer} {after}".strip()
        text = re.sub(r"\s+", " ", text).strip()
        return text[0].upper() + text[1:] + "."
    return None


def _swap_candidates(paragraph: str, answer: str, question: str) -> list[str]:
    pattern = _NUM_SPAN_RE if re.search(r"\d", answer) else _NAME_SPAN_RE
    avoid = {w.lower() for w in re.findall(r"\w+", answer + " " + question)}
    out = []
    for m in pattern.finditer(paragraph):
        span = m.group(0).strip(" ,.")
        if not span or span.lower() in answer.lower() or answer.lower() in span.lower():
            continue
        words = {w.lower() for w in re.findall(r"\w+", span)}
        if words & avoid or span.split()[0] in ("The", "A", "An", "In", "It", "This", "However"):
            continue
        out.append(span)
    return sorted(set(out))


def squad_pairs(data_dir: Path, seed: int = 0) -> list[Pair]:
    rng = random.Random(seed)
    paragraphs = {p["id"]: p["text"] for p in map(json.loads, (data_dir / "paragraphs.jsonl").open())}
    para_terms = {pid: set(content_terms(text)) for pid, text in paragraphs.items()}
    questions = [q for q in map(json.loads, (data_dir / "questions.jsonl").open()) if q["answerable"]]
    supported, swapped, unrelated = [], [], []
    for q in questions:
        answer = min(q["answers"], key=len)
        paragraph = paragraphs[q["paragraph_id"]]
        statement = to_statement(q["question"], answer)
        if statement is None or len(answer.split()) > 6:
            continue
        others = [pid for pid, text in paragraphs.items()
                  if pid != q["paragraph_id"] and answer.lower() not in text.lower()]
        if not others:  # an answer so common that every paragraph holds it tells nothing
            continue
        supported.append(Pair(paragraph, statement, 1, "squad-supported"))
        candidates = _swap_candidates(paragraph, answer, q["question"])
        if candidates:
            wrong = rng.choice(candidates)
            swapped.append(Pair(paragraph, statement.replace(answer, wrong, 1), 0, "squad-swapped"))
        h_terms = set(content_terms(statement))
        hard = max(others, key=lambda pid: (len(h_terms & para_terms[pid]), pid))
        unrelated.append(Pair(paragraphs[hard], statement, 0, "squad-unrelated"))
    n_neg = len(supported)
    n_swap = min(len(swapped), n_neg // 2)
    negatives = rng.sample(swapped, n_swap) + rng.sample(unrelated, n_neg - n_swap)
    return supported + negatives


def news_pairs(path: Path) -> list[Pair]:
    return [Pair(r["premise"], r["hypothesis"], int(r["label"]), f"news-{r['kind']}")
            for r in map(json.loads, path.open(encoding="utf-8"))]


def sentence_id(question_id: str, sentence: str) -> str:
    """How support_model_labels.tsv names a recorded sentence without keeping its text."""
    return hashlib.sha1(f"{question_id}|{sentence}".encode()).hexdigest()[:10]


def recorded_pairs(labels_path: Path, runs: dict[str, Path]) -> list[Pair]:
    """The labelled model sentences of recorded runs (results.jsonl rows: `sentences` with origin "model" and
    their `citations`), each against the text of the passages it cites; borderline labels ("b") are left out."""
    labels: dict[tuple[str, str], int] = {}
    for line in labels_path.read_text(encoding="utf-8").splitlines():
        fields = line.split("\t")
        if line.startswith("#") or len(fields) < 4 or fields[0] == "set" or fields[3] not in ("0", "1"):
            continue
        labels[(fields[0], fields[2])] = int(fields[3])
    pairs = []
    for set_name, run in runs.items():
        for row in map(json.loads, (run / "results.jsonl").open(encoding="utf-8")):
            texts = {c["n"]: c["text"] for c in row.get("citations") or []}
            for sentence in row.get("sentences") or []:
                label = labels.get((set_name, sentence_id(row["id"], sentence["text"])))
                if sentence["origin"] == "model" and label is not None:
                    premise = "\n".join(texts[n] for n in sentence["citations"])
                    ref = f"{set_name}/{row['id']}/{sentence_id(row['id'], sentence['text'])}"
                    pairs.append(Pair(premise, sentence["text"], label, f"model-{set_name}", ref))
    return pairs


# --- metrics --------------------------------------------------------------------------------------------


def auc(scores: list[float], labels: list[int]) -> float:
    """Probability that a random supported pair outscores a random unsupported one (ties count half)."""
    pos = [s for s, y in zip(scores, labels, strict=True) if y]
    neg = [s for s, y in zip(scores, labels, strict=True) if not y]
    if not pos or not neg:
        return float("nan")
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def confusion(scores: list[float], labels: list[int], threshold: float) -> dict[str, float]:
    pred = [s >= threshold for s in scores]
    tp = sum(p and y for p, y in zip(pred, labels, strict=True))
    fp = sum(p and not y for p, y in zip(pred, labels, strict=True))
    fn = sum((not p) and y for p, y in zip(pred, labels, strict=True))
    correct = sum(p == bool(y) for p, y in zip(pred, labels, strict=True))
    return {"acc": correct / len(labels), "prec": tp / (tp + fp) if tp + fp else 0.0,
            "rec": tp / (tp + fn) if tp + fn else 0.0}


def best_threshold(scores: list[float], labels: list[int]) -> float:
    grid = [round(0.05 * i, 2) for i in range(1, 20)]
    return max(grid, key=lambda t: (confusion(scores, labels, t)["acc"], -abs(t - 0.5)))


def make_checker(kind: str, model: object | None) -> object:
    from rag.verify import make_support_checker

    return make_support_checker(kind, model=model)


def run(kinds: list[str], squad_dir: Path, news_path: Path, recorded: list[Pair] | None = None) -> str:
    squad = squad_pairs(squad_dir)
    news = news_pairs(news_path)
    sets = {"squad": squad, "news": news} | ({"recorded": recorded} if recorded else {})
    model = None
    if any(k != "lexical" for k in kinds):
        from rag.verify import _load_model

        model = _load_model(None)
    lines = ["; ".join(f"{name} pairs: {len(pairs)} ({sum(p.label for p in pairs)} supported)"
                       for name, pairs in sets.items()), ""]
    lines.append("| checker | set | threshold | acc | prec | rec | AUC | ms/pair |")
    lines.append("|---|---|---|---|---|---|---|---|")
    per_kind_errors: list[str] = []
    for kind in kinds:
        results: dict[str, tuple[list[float], float]] = {}
        for set_name, pairs in sets.items():
            checker = make_checker(kind, model)  # fresh checker: cold cache, as for a new answer
            scorer: Callable[[list[tuple[str, str]]], list[float]] = checker.scores  # type: ignore[attr-defined]
            start = time.perf_counter()
            scores = scorer([(p.premise, p.hypothesis) for p in pairs])
            results[set_name] = (scores, 1000 * (time.perf_counter() - start) / len(pairs))
        tuned = best_threshold(results["squad"][0], [p.label for p in squad])
        default = make_checker(kind, model).threshold  # type: ignore[attr-defined]
        for set_name, pairs in sets.items():
            scores, ms = results[set_name]
            labels = [p.label for p in pairs]
            for t in sorted({tuned, default}):
                m = confusion(scores, labels, t)
                tag = "tuned" if t == tuned else "default"
                tag = "tuned=default" if t == tuned == default else tag
                lines.append(f"| {kind} | {set_name} | {t:.2f} ({tag}) | {m['acc']:.3f} | {m['prec']:.3f} | "
                             f"{m['rec']:.3f} | {auc(scores, labels):.3f} | {ms:.1f} |")
            for p, s in zip(pairs, scores, strict=True):
                if (s >= default) != bool(p.label):
                    text = p.ref or p.hypothesis
                    per_kind_errors.append(f"{kind} {p.kind} score={s:.2f}: {text}")
        by_kind: dict[str, list[float]] = {}
        for set_name, pairs in sets.items():
            for p, s in zip(pairs, results[set_name][0], strict=True):
                by_kind.setdefault(p.kind, []).append(s)
        lines.append("")
        lines.append(f"{kind}: mean score by pair kind: " + ", ".join(
            f"{k} {sum(v) / len(v):.2f} (n={len(v)})" for k, v in sorted(by_kind.items())))
        lines.append("")
    news_errors = [e for e in per_kind_errors if " news-" in e or " model-" in e]
    lines.append("News and recorded-sentence errors at the default threshold:")
    lines += [f"- {e}" for e in news_errors] or ["- none"]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--squad", type=Path, default=ROOT.parent / "shared" / "data" / "squad2_500")
    ap.add_argument("--news", type=Path, default=ROOT / "bench" / "data" / "support_news_pairs.jsonl")
    ap.add_argument("--kinds", default="lexical,hybrid")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--labels", type=Path, default=ROOT / "bench" / "data" / "support_model_labels.tsv")
    ap.add_argument("--recorded", nargs="*", default=[], metavar="SET=RUN_DIR",
                    help="recorded eval runs whose model sentences --labels names (e.g. news23-small=RUN_DIR)")
    args = ap.parse_args()
    runs = {name: Path(path) for name, _, path in (r.partition("=") for r in args.recorded)}
    recorded = recorded_pairs(args.labels, runs) if runs else None
    report = run(args.kinds.split(","), args.squad, args.news, recorded)
    print(report)
    if args.out:
        args.out.write_text(report + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
