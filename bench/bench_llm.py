"""The local default model on this machine: prompt tokens, prefill and generation tokens/s, time to first
token and total time for typical grounded questions, with the production prompt (focused passages) and with
whole passages, each after a warm-up so the fixed system prompt's KV cache is reused.

Run: .venv/bin/python bench/bench_llm.py   (needs the sample eval corpus; builds its index under /tmp)
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from common import percentile

from rag.answer.prompt import SYSTEM_PROMPT, user_message
from rag.embedding import get_embedder
from rag.llm.local import load_server
from rag.llm.weights import ensure_local_gguf
from rag.retrieve import HybridRetriever
from rag.settings import get_settings
from rag.sync import sync_corpus

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = [
    "How long did the Platinum Wolf exercise last?",
    "How much did Varnholm's new tram line cost?",
    "What was inflation in Aldora in February?",
    "Who won the Harbour Chess Open?",
    "How many jobs is Nexaline cutting?",
    "Which treaty does Aldora say the toll increase breaches?",
]


def main() -> None:
    settings = get_settings(corpus_dir=ROOT / "evals" / "sample" / "corpus", index_dir=Path("/tmp/bench-llm-index"))
    embedder = get_embedder(settings.embedding_model)
    sync_corpus(settings, embedder=embedder)
    retriever = HybridRetriever(settings, embedder=embedder)
    server = load_server(ensure_local_gguf(ROOT / ".rag"), settings.llm_context_tokens, settings.llm_threads)
    for label, chars in (("focused passages (default)", settings.llm_passage_chars), ("whole passages", None)):
        rows = []
        for i, question in enumerate([QUESTIONS[0], *QUESTIONS]):
            passages = [h.chunk for h in retriever.search(question, k=settings.answer_passages)]
            body = {"messages": [{"role": "system", "content": SYSTEM_PROMPT},
                                 {"role": "user", "content": user_message(question, passages, chars)}],
                    "max_tokens": settings.llm_max_tokens, "temperature": 0, "stream": True, "cache_prompt": True}
            started = time.perf_counter()
            first: list[float] = []
            timings: dict = {}

            def on_chunk(chunk: dict, first: list[float] = first, timings: dict = timings) -> bool:
                if not first and any((c.get("delta") or {}).get("content") for c in chunk.get("choices", [])):
                    first.append(time.perf_counter())
                timings.update(chunk.get("timings") or {})
                return False

            server.handle_chat_completions(body, on_chunk)
            total = time.perf_counter() - started
            if i == 0:
                continue  # warm-up: fills the system prompt's KV cache
            rows.append({"prompt": timings.get("prompt_n", 0) + timings.get("cache_n", 0),
                         "cached": timings.get("cache_n", 0), "prefill": timings.get("prompt_per_second", 0),
                         "gen": timings.get("predicted_per_second", 0), "gen_n": timings.get("predicted_n", 0),
                         "ttft": (first[0] if first else started + total) - started, "total": total})
        print(f"\n{label}")
        print(f"{'prompt tok':>10} {'cached':>7} {'prefill tok/s':>13} {'gen tok/s':>9} {'gen tok':>7} "
              f"{'TTFT s':>7} {'total s':>7}")
        for r in rows:
            print(f"{r['prompt']:>10} {r['cached']:>7} {r['prefill']:>13.1f} {r['gen']:>9.1f} {r['gen_n']:>7} "
                  f"{r['ttft']:>7.2f} {r['total']:>7.2f}")
        ttft = [r["ttft"] for r in rows]
        print(f"TTFT p50 {percentile(ttft, 50):.2f} s, max {max(ttft):.2f} s; mean prompt "
              f"{statistics.fmean(r['prompt'] for r in rows):.0f} tokens; goal TTFT <= 5 s: "
              f"ratio p50/goal {percentile(ttft, 50) / 5:.2f}")


if __name__ == "__main__":
    main()
