"""The local default model on this machine, on the production path: for typical questions of the sample set,
hybrid search → evidence selection (rag/answer/evidence.py) → the production prompt → LocalLlamaChat, as the
engine runs them. Prints prompt tokens (and how many came from the reused KV cache of the fixed system
prompt), prefill and generation tokens/s, time to first token (from the question, retrieval included) and total
time; then the same questions with whole passages, the prompt before evidence selection, for the ratio.

The machine is shared: the load average is printed with the results; the two modes alternate question by
question so that drift in load hits both alike.

Run: .venv/bin/python -m bench.bench_llm [--questions 10] [--out bench/results/llm.txt]
     .venv/bin/python -m bench.bench_llm --threads 1,2     # choose llama.cpp's thread count (RAG_LLM_THREADS)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

from bench.common import percentile
from rag.answer.evidence import select_evidence
from rag.answer.prompt import SYSTEM_PROMPT, user_message
from rag.embedding import embedder_for
from rag.llm.local import LocalLlamaChat
from rag.llm.weights import ensure_local_gguf, packaged_model
from rag.retrieve import HybridRetriever
from rag.settings import get_settings
from rag.sync import sync_corpus

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "evals" / "sample"
GOAL_TTFT_S = 5.0


def run(model: LocalLlamaChat, retriever: HybridRetriever, question: str, passages_n: int,
        evidence_chars: int, ranking: str = "similarity", extra_chars: int = 0) -> dict[str, float | str]:
    started = time.perf_counter()
    chunks = [h.chunk for h in retriever.search(question, k=passages_n)]
    evidence = select_evidence(question, chunks, retriever.embedder, evidence_chars, ranking=ranking,
                               extra_chars=extra_chars)
    messages = [("system", SYSTEM_PROMPT),
                ("human", user_message(question, [e.chunk for e in evidence], [e.text for e in evidence]))]
    first: float | None = None
    text, meta = "", {}
    for piece in model.stream(messages):
        if piece.text and first is None:
            first = time.perf_counter()
        text += piece.text
        meta = piece.response_metadata or meta
    total = time.perf_counter() - started
    t = meta.get("timings", {})
    return {"prompt": t.get("prompt_n", 0) + t.get("cache_n", 0), "cached": t.get("cache_n", 0),
            "prefill": t.get("prompt_per_second", 0.0), "gen": t.get("predicted_per_second", 0.0),
            "gen_n": t.get("predicted_n", 0), "ttft": (first or started + total) - started, "total": total,
            "answer": text.strip().replace("\n", " ")}


def table(label: str, rows: list[dict]) -> str:
    lines = [label, f"{'prompt tok':>10} {'cached':>6} {'prefill tok/s':>13} {'gen tok/s':>9} {'gen tok':>7} "
                    f"{'TTFT s':>7} {'total s':>7}  answer"]
    for r in rows:
        lines.append(f"{r['prompt']:>10} {r['cached']:>6} {r['prefill']:>13.1f} {r['gen']:>9.1f} {r['gen_n']:>7} "
                     f"{r['ttft']:>7.2f} {r['total']:>7.2f}  {str(r['answer'])[:60]}")
    ttft = [r["ttft"] for r in rows]
    lines.append(f"TTFT p50 {percentile(ttft, 50):.2f} s, p95 {percentile(ttft, 95):.2f} s, max {max(ttft):.2f} s; "
                 f"total p50 {percentile([r['total'] for r in rows], 50):.2f} s; mean prompt "
                 f"{statistics.fmean(r['prompt'] for r in rows):.0f} tok "
                 f"({statistics.fmean(r['cached'] for r in rows):.0f} cached); prefill p50 "
                 f"{percentile([r['prefill'] for r in rows], 50):.1f} tok/s; generation p50 "
                 f"{percentile([r['gen'] for r in rows], 50):.1f} tok/s")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--questions", type=int, default=13, help="at most this many articles, one question each")
    parser.add_argument("--out", type=Path, help="also write the report here")
    parser.add_argument("--threads", help="compare llama.cpp thread counts instead, e.g. 1,2 (production prompt; "
                                          "the counts alternate question by question)")
    args = parser.parse_args()

    settings = get_settings(corpus_dir=SAMPLE / "corpus", index_dir=Path("/tmp/bench-llm-index"))
    embedder = embedder_for(settings)
    sync_corpus(settings, embedder=embedder)
    retriever = HybridRetriever(settings, embedder=embedder)
    rows = [json.loads(line) for line in (SAMPLE / "questions.jsonl").read_text().splitlines() if line.strip()]
    # One question per article, so prompts vary as they do in use (article lengths, titles, answer positions).
    by_article: dict[str, str] = {}
    for r in rows:
        if r.get("answerable") and not r.get("history"):
            by_article.setdefault(r["gold_sources"][0], r["question"])
    questions = list(by_article.values())[: args.questions]

    if args.threads:
        compare_threads(settings, retriever, questions, [int(t) for t in args.threads.split(",")], args.out)
        return
    load_before = os.getloadavg()
    # RAG_LLM_LOCAL_MODEL picks the packaged model (qwen2.5-coder-1.5b after `make model-1.5b`).
    model_name = packaged_model(settings.llm_local_model).name
    model = LocalLlamaChat(model_path=ensure_local_gguf(ROOT / ".rag", settings.llm_local_model), model_name=model_name,
                           threads=settings.llm_threads, max_tokens=settings.llm_max_tokens, temperature=0.0)
    model.loaded()
    n = settings.answer_passages
    budget, ranking = settings.llm_evidence_chars, settings.llm_evidence_ranking
    extra = settings.llm_evidence_extra_chars
    run(model, retriever, "How are households in the Kessel Valley rationing water?", n, budget, ranking, extra)  # warm-up
    tight, whole = [], []
    for question in questions:
        tight.append(run(model, retriever, question, n, budget, ranking, extra))
        whole.append(run(model, retriever, question, n, 0))
    p50_tight = percentile([r["ttft"] for r in tight], 50)
    p50_whole = percentile([r["ttft"] for r in whole], 50)
    report = "\n\n".join([
        f"{model_name}, xllamacpp in-process, threads {settings.llm_threads}, temperature 0, {n} passages; "
        f"load average before {load_before[0]:.2f}, after {os.getloadavg()[0]:.2f} (2 cores)",
        table(f"production prompt: {prompt_label(settings)}", tight),
        table("whole passages (no evidence selection)", whole),
        f"TTFT p50 ratio production/whole {p50_tight / p50_whole:.2f}; production p50/goal ({GOAL_TTFT_S:.0f} s) "
        f"{p50_tight / GOAL_TTFT_S:.2f}",
    ])
    print(report)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(report + "\n", encoding="utf-8")


def prompt_label(settings) -> str:  # noqa: ANN001
    """The production prompt's evidence settings, as both reports (main, --threads) name them."""
    return (f"evidence selection, {settings.llm_evidence_chars} chars, {settings.llm_evidence_ranking}, "
            f"{settings.llm_evidence_extra_chars} extra")


def compare_threads(settings, retriever: HybridRetriever, questions: list[str], counts: list[int],  # noqa: ANN001
                    out: Path | None) -> None:
    """Time to first token of the production prompt per llama.cpp thread count, in one run: each question is
    asked of every count in turn, so drift in the machine's load hits all counts alike."""
    load_before = os.getloadavg()
    model_name = packaged_model(settings.llm_local_model).name
    path = ensure_local_gguf(ROOT / ".rag", settings.llm_local_model)
    models = {t: LocalLlamaChat(model_path=path, model_name=model_name, threads=t,
                                max_tokens=settings.llm_max_tokens, temperature=0.0) for t in counts}
    n, budget, ranking = settings.answer_passages, settings.llm_evidence_chars, settings.llm_evidence_ranking
    extra = settings.llm_evidence_extra_chars
    rows: dict[int, list[dict]] = {t: [] for t in counts}
    for model in models.values():
        model.loaded()
        run(model, retriever, "How are households in the Kessel Valley rationing water?", n, budget, ranking, extra)  # warm-up
    for question in questions:
        for t, model in models.items():
            rows[t].append(run(model, retriever, question, n, budget, ranking, extra))
    parts = [f"{model_name}, xllamacpp in-process, threads {counts}, production prompt ({prompt_label(settings)}); load "
             f"average before {load_before[0]:.2f}, after {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs, shared)"]
    parts += [table(f"threads {t}", rows[t]) for t in counts]
    best = min(counts, key=lambda t: (percentile([r["ttft"] for r in rows[t]], 95),
                                      percentile([r["ttft"] for r in rows[t]], 50)))
    parts.append(f"lowest TTFT p95: threads {best} (goal p50 and p95 <= {GOAL_TTFT_S:.0f} s)")
    report = "\n\n".join(parts)
    print(report)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(report + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
