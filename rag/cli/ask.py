"""`rag ask`: stream a grounded answer, then its numbered sources; or one JSON object; or a batch file."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from rag.cli.common import (
    add_backend_flag,
    add_filters,
    also_in,
    count,
    filters_from,
    plural,
    question_from,
    require_index,
    run_batch,
    settings_from,
)
from rag.errors import BackendUnavailable, UsageError
from rag.stories import outlet

if TYPE_CHECKING:
    from rag.answer.engine import Answer


def register(sub: Any) -> None:
    p = sub.add_parser("ask", help="answer a question from the corpus, with [n] citations")
    p.add_argument("question", nargs="?", help="the question")
    add_backend_flag(p)
    p.add_argument("--model", help="model name for the openai backend (RAG_LLM_MODEL)")
    p.add_argument("--base-url", help="OpenAI-compatible server URL (RAG_LLM_BASE_URL)")
    p.add_argument("-k", type=count(1), help="passages to retrieve")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of streaming text")
    p.add_argument("--history", metavar="FILE.json", help='earlier turns: [{"role": "user"|"assistant", "content"}]')
    p.add_argument("--queries", metavar="FILE.jsonl", help='batch: lines {"id", "question", "history"?}')
    p.add_argument("--output", metavar="FILE", help="batch: write JSON lines here instead of stdout")
    add_filters(p)
    p.set_defaults(func=run)


def print_sources(answer: Any, out: Any = None) -> None:
    """The numbered sources under an answer, or the closest sources under a refusal."""
    out = out or sys.stdout
    if answer.refused:
        if answer.refusal_reason:
            print(f"\n{answer.refusal_reason}", file=out)
        print_rejected(answer, out)
        if answer.retrieved:
            print("\nClosest sources:", file=out)
            seen = {}
            for hit in answer.retrieved:
                seen.setdefault(hit.chunk.source, hit)
            for hit in list(seen.values())[:3]:
                print(f"  - {hit.chunk.date or 'no date'} · {outlet(hit.chunk.url, hit.chunk.source)} · "
                      f"{hit.chunk.title} ({hit.chunk.source})", file=out)
        return
    print("\nSources:", file=out)
    for c in answer.citations:
        mark = "" if c.supported else "  (not supported by the check)"
        print(f"  [{c.n}] {c.date or 'no date'} · {outlet(c.url, c.source)} · {c.title}{mark}", file=out)
        print(f"      {c.source}" + (f"  {c.url}" if c.url else ""), file=out)
        also = next((h.also for h in answer.retrieved if h.chunk.source == c.source), [])
        if also:
            print("      " + also_in(also), file=out)
    print_rejected(answer, out)


def print_rejected(answer: Answer, out: Any = None) -> None:
    """What the model wrote that the citation check rejected: apart from the answer, and said so."""
    out = out or sys.stdout
    if answer.rejected:
        print("\nNot part of the answer (not supported by the cited passages):", file=out)
        for r in answer.rejected:
            print(f"  ✖ {r['text']}", file=out)


def stream_answer(events: Iterator[str | Answer], out: Any = None) -> Answer:
    """Write the streamed (already checked) sentences as they come, then the final answer if it differs."""
    from rag.answer.engine import Answer, dated_answer

    out = out or sys.stdout
    answer = None
    streamed = []
    for event in events:
        if isinstance(event, Answer):
            answer = event
        else:
            streamed.append(event)
            out.write(event)
            out.flush()
    assert answer is not None
    print(file=out)
    # Only checked sentences are streamed; a refusal or a fallback can still replace them at the end.
    text = "".join(streamed).strip()
    if text and answer.window and dated_answer(text, answer.citations) == answer.answer != text:
        # Only the date of the evidence came after the stream: name it, without printing the answer twice.
        print(f"({answer.answer.split(',', 1)[0]}: the date of the newest cited source)", file=out)
    elif text != answer.answer:
        print(f"\n{answer.answer}", file=out)
    quoted = [s["text"] for s in answer.sentences if s.get("origin") == "quote"]
    if quoted:
        print(f"({plural(len(quoted), 'sentence')} quoted verbatim from the sources)", file=out)
    return answer


def read_history(path: str | None) -> list[dict[str, str]]:
    if not path:
        return []
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read --history {path}: {exc}") from None


def run(args: argparse.Namespace) -> int:
    from rag.answer.factory import make_engine
    from rag.retrieve import HybridRetriever

    question = None if args.queries else question_from(args.question, "question")  # before any model loads
    settings = settings_from(args, llm_backend=args.backend, llm_model=args.model, llm_base_url=args.base_url)
    filters = filters_from(args)
    # The index first: the local backend's model is assembled into INDEX/models, never for a wrong --index.
    retriever = HybridRetriever(settings)
    require_index(retriever)
    try:
        engine = make_engine(settings, embedder=retriever.embedder, retriever=retriever)
    except BackendUnavailable as exc:
        raise BackendUnavailable(f"{exc} (or answer without a language model: --backend extractive)") from None
    if args.queries:
        return run_batch(args.queries, args.output, lambda row: engine.ask(
            row["question"], history=row.get("history"), k=args.k, filters=filters_from(args, row)).to_dict())
    history = read_history(args.history)
    if args.json:
        print(json.dumps(engine.ask(question, history=history, k=args.k, filters=filters).to_dict(),
                         ensure_ascii=False))
        return 0
    answer = stream_answer(engine.stream(question, history=history, k=args.k, filters=filters))
    print_sources(answer)
    print(f"(as of {answer.as_of}" + (f"; \"{answer.window['phrase']}\" = {answer.window['description']})"
                                      if answer.window else ")"), file=sys.stderr)
    if answer.warning:
        print(f"warning: {answer.warning}", file=sys.stderr)
    return 0
