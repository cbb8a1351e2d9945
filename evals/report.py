"""report.md and report.html (with matplotlib plots) for an eval run."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import Any

METRIC_ROWS = [
    ("Retrieval", ["hit@1", "hit@3", "hit@5", "hit@10", "mrr@10", "recall@5"]),
    ("Retrieval over stories (a result counts its grouped copies)", ["story_hit@1", "story_hit@3", "story_hit@5",
                                                                     "story_hit@10", "story_mrr@10"]),
    ("Answers", ["exact_match", "token_f1", "gold_contained", "gold_first_sentence", "answer_in_passages",
                 "evidence_recall"]),
    ("Grounding", ["citation_recall", "citation_precision", "supported_share"]),
    ("Refusal", ["refusal_precision", "refusal_recall", "false_refusal_rate"]),
]


def _fmt(value: Any) -> str:
    return "–" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


def _table_md(summary: dict[str, Any]) -> str:
    lines = ["| group | metric | value | n |", "|---|---|---:|---:|"]
    for group, keys in METRIC_ROWS:
        for key in keys:
            lines.append(f"| {group} | {key} | {_fmt(summary.get(key))} | {summary.get(f'{key}_n', '')} |")
    lines += ["", "| stage | p50 ms | p95 ms | mean ms |", "|---|---:|---:|---:|"]
    for stage, stats in summary["latency"].items():
        lines.append(f"| {stage} | {stats['p50']:.0f} | {stats['p95']:.0f} | {stats['mean']:.0f} |")
    return "\n".join(lines)


def failures(results: list[dict[str, Any]], limit: int = 10) -> list[dict[str, Any]]:
    """Worst first: wrong refusals and confident wrong answers, then retrieval misses."""
    def badness(r: dict[str, Any]) -> float:
        mt = r["metrics"]
        if not r["answerable"]:
            return 2.0 if not r["refused"] else 0.0
        if r["refused"]:
            return 1.5
        return (1 - mt.get("gold_contained", 1.0)) + (1 - mt.get("hit@5", 1.0)) * 0.5
    ranked = sorted(results, key=badness, reverse=True)
    return [r for r in ranked if badness(r) > 0][:limit]


def _plots(summary: dict[str, Any], results: list[dict[str, Any]]) -> dict[str, str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    images: dict[str, str] = {}

    def save(fig: Any, name: str) -> None:
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
        plt.close(fig)
        images[name] = base64.b64encode(buf.getvalue()).decode("ascii")

    keys = [k for _, ks in METRIC_ROWS for k in ks if summary.get(k) is not None]
    fig, ax = plt.subplots(figsize=(9, 3.5))
    ax.bar(keys, [summary[k] for k in keys], color="#2563eb")
    ax.set_ylim(0, 1)
    ax.set_title("Metrics")
    ax.tick_params(axis="x", rotation=60)
    save(fig, "metrics")

    ks = [1, 3, 5, 10]
    if all(summary.get(f"hit@{k}") is not None for k in ks):
        fig, ax = plt.subplots(figsize=(4.5, 3))
        ax.plot(ks, [summary[f"hit@{k}"] for k in ks], marker="o")
        ax.set_xlabel("k")
        ax.set_ylabel("Hit@k")
        ax.set_ylim(0, 1.02)
        ax.set_title("Hit@k")
        save(fig, "hitk")

    totals = [r["timings"].get("total_ms", 0) / 1000 for r in results]
    if totals:
        fig, ax = plt.subplots(figsize=(4.5, 3))
        ax.hist(totals, bins=20, color="#16a34a")
        ax.set_xlabel("seconds per question")
        ax.set_title("Latency")
        save(fig, "latency")
    return images


def write_reports(out_dir: Path, summary: dict[str, Any], results: list[dict[str, Any]]) -> None:
    worst = failures(results)
    header = (f"# Eval report: {Path(summary['dataset']).name} · pipeline {summary['pipeline']} · "
              f"backend {summary['backend']}\n\n{summary['questions']} questions ({summary['answerable']} answerable), "
              f"{summary['refused']} refused. Model: {summary['model']}. Corpus: `{summary['corpus']}`. "
              f"{summary['created']}.\n")
    md = [header, _table_md(summary), "", "## Worst failures", ""]
    for r in worst:
        md.append(f"- **{r['id']}** {r['question']} — answer: {r['answer'][:200]!r}; gold: {r['answers'][:2]}; "
                  f"sources: {r['gold_sources']}; retrieved: {[h['source'] for h in r['retrieved'][:3]]}")
    (out_dir / "report.md").write_text("\n".join(md) + "\n", encoding="utf-8")

    images = _plots(summary, results)
    esc = html.escape
    rows = "".join(
        f"<tr><td>{esc(group)}</td><td>{esc(key)}</td><td>{_fmt(summary.get(key))}</td>"
        f"<td>{summary.get(f'{key}_n', '')}</td></tr>" for group, keys in METRIC_ROWS for key in keys)
    lat = "".join(f"<tr><td>{esc(stage)}</td><td>{s['p50']:.0f}</td><td>{s['p95']:.0f}</td><td>{s['mean']:.0f}</td></tr>"
                  for stage, s in summary["latency"].items())
    fails = "".join(
        f"<details><summary><b>{esc(r['id'])}</b> {esc(r['question'])}</summary>"
        f"<p>Answer: {esc(r['answer'])}<br>Gold: {esc(', '.join(r['answers']))} · "
        f"sources {esc(', '.join(r['gold_sources']))} · refused {r['refused']} "
        f"({esc(r['refusal_reason'] or '')})</p><ol>"
        + "".join(f"<li><code>{esc(h['source'])}</code> {esc(h['text'][:400])}</li>" for h in r["retrieved"][:4])
        + "</ol></details>" for r in worst)
    imgs = "".join(f'<img alt="{name}" src="data:image/png;base64,{data}">' for name, data in images.items())
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>newsrag eval</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:auto}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:3px 8px}}img{{max-width:100%;margin:6px}}</style></head><body>
<h1>Eval: {esc(Path(summary['dataset']).name)} · {esc(summary['pipeline'])} · {esc(summary['backend'])}</h1>
<p>{summary['questions']} questions, {summary['answerable']} answerable, {summary['refused']} refused.
Model: {esc(summary['model'])}. {esc(summary['created'])}.</p>
<table><tr><th>group</th><th>metric</th><th>value</th><th>n</th></tr>{rows}</table>
<h2>Latency</h2><table><tr><th>stage</th><th>p50 ms</th><th>p95 ms</th><th>mean ms</th></tr>{lat}</table>
<h2>Plots</h2>{imgs}<h2>Worst failures</h2>{fails}</body></html>"""
    (out_dir / "report.html").write_text(page, encoding="utf-8")
