"""Record a language model's raw answers once per prompt, and replay them through any answer policy.

    python -m rag.evals.replay DATASET --corpus CORPUS --index INDEX --cache FILE --out OUT \\
        [--limit N] [--offline] [--set answer_repair=quote] [--set llm_evidence_chars=900]

The model's text depends only on its prompt (greedy decoding, temperature 0), so a prompt seen before is
answered from FILE (JSON lines {"key": sha256 of the prompt, "raw": text}) and only new prompts run the model:
policy settings (repair, anchor check, gates) replay for free, and only an evidence change that alters the prompt
pays for the model again. `--offline` never runs the model (a prompt not in FILE gets no text, so the extractive
fallback answers it): evidence recall, which is measured before generation, is exact even then.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rag.answer.generate import Answerer, Message
from rag.answer.prompt import user_message
from rag.types import Chunk

SUMMARY_KEYS = ("gold_contained", "gold_first_sentence", "evidence_recall", "citation_precision", "refusal_recall", "false_refusal_rate",
                "refused", "answerable", "questions")


class RecordingAnswerer:
    """Wraps an answerer: each prompt's full text is taken from the cache, or generated once and appended."""

    def __init__(self, inner: Answerer | None, cache: Path, backend: str = "local", model: str = "replay") -> None:
        self.inner = inner
        self.cache_path = cache
        self.backend = inner.backend if inner else backend
        self.model = inner.model if inner else model
        self.cache: dict[str, str] = {}
        if cache.exists():
            for line in cache.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    row = json.loads(line)
                    self.cache[row["key"]] = row["raw"]
        self.misses = 0

    @staticmethod
    def key(question: str, passages: list[Chunk], texts: list[str] | None) -> str:
        return hashlib.sha256(user_message(question, passages, texts).encode()).hexdigest()

    def stream(self, question: str, passages: list[Chunk], texts: list[str] | None = None) -> Iterator[str]:
        key = self.key(question, passages, texts)
        if key not in self.cache:
            self.misses += 1
            if self.inner is None:
                return  # offline: no text; the engine's extractive fallback answers
            raw = "".join(self.inner.stream(question, passages, texts))
            self.cache[key] = raw
            with open(self.cache_path, "a", encoding="utf-8") as sink:
                sink.write(json.dumps({"key": key, "raw": raw}) + "\n")
        yield self.cache[key]

    def rewrite(self, question: str, history: list[Message]) -> str | None:
        return None  # the deterministic rewrite: replays must not depend on a second model call


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m rag.evals.replay")
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--cache", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--limit", type=int)
    parser.add_argument("--offline", action="store_true")
    parser.add_argument("--set", action="append", default=[], metavar="SETTING=VALUE")
    args = parser.parse_args(argv)

    from rag.answer.factory import make_answerer, make_engine
    from rag.embedding import embedder_for
    from rag.evals.runner import run_eval
    from rag.settings import get_settings
    from rag.sync import sync_corpus

    overrides = dict(pair.split("=", 1) for pair in args.set)
    settings = get_settings(corpus_dir=args.corpus, index_dir=args.index, llm_backend="local")
    settings = settings.model_copy(update={k: _value(v) for k, v in overrides.items()})
    embedder = embedder_for(settings)
    print(sync_corpus(settings, embedder=embedder).summary_line(), file=sys.stderr)
    answerer = RecordingAnswerer(None if args.offline else make_answerer(settings, embedder), args.cache)
    engine = make_engine(settings, embedder=embedder, answerer=answerer)
    summary = run_eval(args.dataset, settings, args.out, engine=engine, pipeline="full", limit=args.limit,
                       show_progress=False)
    result = {k: summary.get(k) for k in SUMMARY_KEYS} | {"model_runs": answerer.misses}
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
