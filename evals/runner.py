"""`rag eval`: run a dataset through a pipeline, score every answer, write results and a report."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rag.answer.citations import strip_citations
from rag.answer.engine import Answer, AnswerEngine
from rag.errors import DatasetError
from rag.evals import metrics as m
from rag.questions import parse_question_lines
from rag.settings import Settings
from rag.types import SearchFilters

HIT_KS = (1, 3, 5, 10)
RETRIEVE_K = 10
# What a question costs, stage by stage: the first shown sentence can come after the model's first token (the lead
# order holds back sentences that do not hold the asked-for answer: rag/answer/policy.py LeadOrder).
LATENCY_STAGES = ("retrieve_ms", "first_token_ms", "first_shown_ms", "total_ms")


def load_dataset(path: Path) -> list[dict[str, Any]]:
    """JSONL lines {"id", "question", "answers"?, "gold_sources"?, "answerable"? (default true), "history"?}."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise DatasetError(f"cannot read dataset {path}: {exc.strerror or exc}") from None
    rows = [{"answers": [], "gold_sources": [], "answerable": True, "history": [], **row}
            for row in parse_question_lines(lines, str(path))]
    if not rows:
        raise DatasetError(f"{path}: no questions")
    return rows


def gold_not_in(rows: list[dict[str, Any]], corpus: Path) -> tuple[list[str], int]:
    """(the gold sources that are not files of `corpus`, how many distinct gold sources the rows name): a dataset
    scored against another corpus than its own can only miss."""
    gold = sorted({source for row in rows for source in row["gold_sources"]})
    return [source for source in gold if not (corpus / source).is_file()], len(gold)


def default_index_dir(settings: Settings, corpus: Path) -> Path:
    """One eval index per corpus folder, beside the product's index."""
    digest = hashlib.sha256(str(corpus.resolve()).encode()).hexdigest()[:8]
    return settings.index_dir / "evals" / f"{corpus.name}-{digest}"


def score(row: dict[str, Any], answer: Answer, entails: Callable[[str, str], bool],
          answer_passages: int = 3) -> dict[str, Any]:
    ranked = [h.chunk.source for h in answer.retrieved]
    gold = row["gold_sources"]
    out: dict[str, Any] = {}
    if gold:
        for k in HIT_KS:
            out[f"hit@{k}"] = m.hit_at_k(ranked, gold, k)
        out["mrr@10"] = m.mrr_at_k(ranked, gold, 10)
        out["recall@5"] = m.recall_at_k(ranked, gold, 5)
        stories = [[h.chunk.source, *(c["source"] for c in h.also)] for h in answer.retrieved]
        for k in HIT_KS:
            out[f"story_hit@{k}"] = m.story_hit_at_k(stories, gold, k)
        out["story_mrr@10"] = m.story_mrr_at_k(stories, gold, 10)
    prediction = "" if answer.refused else strip_citations(answer.answer)
    if row["answerable"] and row["answers"]:
        out["exact_match"] = m.exact_match(prediction, row["answers"])
        out["token_f1"] = m.token_f1(prediction, row["answers"])
        out["gold_contained"] = m.gold_contained(prediction, row["answers"])
        shown = [] if answer.refused else [s["text"] for s in answer.sentences]
        out["gold_first_sentence"] = m.gold_first_sentence(shown, row["answers"])
        # The passages the answerer chose from: those it was handed (a hit and its article's next passages),
        # not the first retrieved hits' best chunks.
        handed = [p["text"] for p in answer.passages] or [h.chunk.text for h in answer.retrieved[:answer_passages]]
        out["answer_in_passages"] = m.answer_found(handed, row["answers"])
        if answer.evidence:  # refused before any answerer saw evidence: nothing to measure
            recall = m.evidence_recall([e["text"] for e in answer.evidence], handed, row["answers"])
            if recall is not None:
                out["evidence_recall"] = recall
    if not answer.refused:
        by_n = {c.n: c.text for c in answer.citations}
        # A note ("The sources do not say …") claims nothing from the passages: not a sentence to score.
        claims = [s for s in answer.sentences if s.get("origin") != "note"]
        sentences = [(s["text"], [by_n[n] for n in s["citations"] if n in by_n]) for s in claims]
        alce = m.alce_citation_scores(sentences, entails)
        out["citation_recall"] = alce.recall
        out["citation_precision"] = alce.precision
        out["supported_share"] = m.supported_share([s["supported"] for s in claims])
    return out


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def summarize(results: list[dict[str, Any]]) -> dict[str, Any]:
    keys = [f"hit@{k}" for k in HIT_KS] + ["mrr@10", "recall@5"] + [f"story_hit@{k}" for k in HIT_KS] + [
        "story_mrr@10", "exact_match", "token_f1", "gold_contained", "gold_first_sentence", "answer_in_passages",
        "evidence_recall", "citation_recall", "citation_precision", "supported_share"]
    summary: dict[str, Any] = {"questions": len(results)}
    for key in keys:
        values = [r["metrics"][key] for r in results if key in r["metrics"]]
        summary[key] = _mean(values)
        summary[f"{key}_n"] = len(values)
    summary.update(m.refusal_scores([r["refused"] for r in results], [r["answerable"] for r in results]))
    summary["refused"] = sum(r["refused"] for r in results)
    summary["answerable"] = sum(r["answerable"] for r in results)
    latency: dict[str, Any] = {}
    for stage in LATENCY_STAGES:
        values = [r["timings"][stage] for r in results if stage in r["timings"]]
        latency[stage] = m.latency_summary(values)
    summary["latency"] = latency
    return summary


def run_eval(dataset: Path, settings: Settings, out_dir: Path, *, engine: AnswerEngine, pipeline: str,
             limit: int | None = None, resume: bool = False, show_progress: bool = True,
             use_asked_on: bool = True) -> dict[str, Any]:
    """`use_asked_on`: each question is asked as of its dataset "asked_on" date (else as of today)."""
    from tqdm import tqdm

    rows = load_dataset(dataset)[: limit or None]
    out_dir.mkdir(parents=True, exist_ok=True)
    results_path = out_dir / "results.jsonl"
    done: dict[str, dict[str, Any]] = {}
    if resume and results_path.exists():
        for line in results_path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                done[row["id"]] = row
    entails = lambda premise, hypothesis: engine.checker.is_supported(engine.checker.score(premise, hypothesis))  # noqa: E731
    mode = "a" if resume else "w"
    with open(results_path, mode, encoding="utf-8") as sink:
        for row in tqdm(rows, desc=f"eval {dataset.stem} ({pipeline})", unit="q", disable=not show_progress):
            if row["id"] in done:
                continue
            as_of = row.get("asked_on") if use_asked_on else None
            answer = engine.ask(row["question"], history=row.get("history") or [], k=RETRIEVE_K,
                                filters=SearchFilters(as_of=as_of))
            record = {
                "id": row["id"], "question": row["question"], "standalone_question": answer.standalone_question,
                "asked_on": as_of, "as_of": answer.as_of, "window": answer.window,
                "answerable": bool(row["answerable"]), "answers": row["answers"], "gold_sources": row["gold_sources"],
                "answer": answer.answer, "refused": answer.refused, "refusal_reason": answer.refusal_reason,
                "support": answer.support,
                "retrieved": [{"rank": h.rank, "source": h.chunk.source, "date": h.chunk.date,
                               "score": round(h.score, 6),
                               "dense_score": None if h.dense_score is None else round(h.dense_score, 4),
                               "in_window": h.in_window, "also": [c["source"] for c in h.also],
                               "text": h.chunk.text} for h in answer.retrieved],
                "citations": [c.to_dict() for c in answer.citations],
                "sentences": answer.sentences,
                "rejected": answer.rejected,
                "omitted": answer.omitted,
                "evidence": answer.evidence,
                "passages": answer.passages,
                "timings": {k: round(v, 1) for k, v in answer.timings.items()},
                "metrics": score(row, answer, entails, engine.settings.answer_passages),
            }
            done[row["id"]] = record
            sink.write(json.dumps(record, ensure_ascii=False) + "\n")
            sink.flush()
    results = [done[r["id"]] for r in rows if r["id"] in done]
    summary = {"dataset": str(dataset), "pipeline": pipeline, "backend": engine.answerer.backend,
               "as_of": "asked_on" if use_asked_on else "today",
               "time_window_ranking": settings.time_window_ranking, "recency_weight": settings.recency_weight,
               "story_grouping": settings.story_grouping,
               "model": engine.answerer.model, "corpus": str(settings.corpus_dir),
               "created": time.strftime("%Y-%m-%d %H:%M:%S"), **summarize(results)}
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    from rag.evals.report import write_reports

    write_reports(out_dir, summary, results)
    return summary


COMPARED = ["hit@1", "hit@5", "mrr@10", "story_hit@1", "story_hit@5", "story_mrr@10", "exact_match", "token_f1", "gold_contained", "gold_first_sentence", "evidence_recall",
            "citation_recall",
            "citation_precision", "supported_share", "refusal_precision", "refusal_recall", "false_refusal_rate"]


def compare_runs(run_a: Path, run_b: Path) -> tuple[str, dict[str, Any]]:
    a = json.loads((run_a / "summary.json").read_text(encoding="utf-8"))
    b = json.loads((run_b / "summary.json").read_text(encoding="utf-8"))
    deltas: dict[str, Any] = {}
    lines = [f"| metric | {run_a.name} | {run_b.name} | Δ |", "|---|---:|---:|---:|"]
    for key in COMPARED:
        va, vb = a.get(key), b.get(key)
        delta = None if va is None or vb is None else vb - va
        deltas[key] = {"a": va, "b": vb, "delta": delta}
        lines.append(f"| {key} | {_fmt(va)} | {_fmt(vb)} | {'' if delta is None else f'{delta:+.3f}'} |")
    for stage in LATENCY_STAGES:
        if stage not in a["latency"] or stage not in b["latency"]:
            continue  # a run recorded before the stage was timed
        va, vb = a["latency"][stage]["p50"], b["latency"][stage]["p50"]
        deltas[f"{stage}_p50"] = {"a": va, "b": vb, "delta": vb - va}
        lines.append(f"| {stage} p50 | {va:.0f} | {vb:.0f} | {vb - va:+.0f} |")
    return "\n".join(lines), deltas


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"
