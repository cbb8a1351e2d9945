"""`rag eval`: score retrieval, answers, citations and refusals on a dataset (evals/), or compare two runs."""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

from rag.cli.common import add_backend_flag, count, err, settings_from
from rag.errors import DatasetError, UsageError


def register(sub: Any) -> None:
    p = sub.add_parser("eval", help="score retrieval, answers, citations and refusals on a dataset")
    p.add_argument("dataset", nargs="?", type=Path, help="questions.jsonl (see evals/README.md)")
    p.add_argument("--out", type=Path, help="output folder (default evals/runs/<dataset>-<pipeline>-<time>)")
    p.add_argument("--pipeline", choices=["full", "baseline"], default="full")
    add_backend_flag(p, "answering backend")
    p.add_argument("--limit", type=count(1), help="only the first N questions")
    p.add_argument("--resume", action="store_true", help="skip questions already in --out/results.jsonl")
    p.add_argument("--compare", nargs=2, type=Path, metavar=("RUN_A", "RUN_B"), help="print and write deltas")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--ignore-asked-on", action="store_true",
                   help='ask every question as of today instead of its "asked_on" date (to measure what dates add)')
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.compare:
        return compare(*args.compare, args.out)
    if not args.dataset:
        raise UsageError("give a DATASET (questions.jsonl) or --compare RUN_A RUN_B")
    args.corpus = args.corpus or dataset_corpus(args)
    summary = evaluate(args.dataset, args, settings_from(args, llm_backend=args.backend))
    if args.json:
        print(json.dumps(summary))
    return 0


def dataset_corpus(args: argparse.Namespace) -> Path | None:
    """A dataset's own corpus: the folder `corpus/` beside its file (evals/sample/questions.jsonl ->
    evals/sample/corpus), unless --corpus or RAG_CORPUS_DIR names one; None = the settings' corpus."""
    beside = args.dataset.parent / "corpus"
    if args.corpus is not None or os.environ.get("RAG_CORPUS_DIR") or not beside.is_dir():
        return None
    if beside.resolve() == Path("corpus").resolve():
        return None  # the default corpus anyway (a feedback export in the repository root): nothing to say
    print(f"corpus {beside}: the folder beside the dataset (--corpus DIR scores against another)", flush=True)
    return beside


def check_gold_sources(dataset: Path, rows: list[dict[str, Any]], corpus: Path) -> None:
    """Stops when none of the dataset's gold sources is in the corpus (scoring it there measures nothing); warns
    in one line when some are not."""
    from rag.evals.runner import gold_not_in

    missing, total = gold_not_in(rows, corpus)
    if total and len(missing) == total:
        raise DatasetError(f"none of the {total} gold sources of {dataset} is in corpus {corpus}: give the "
                           "dataset's corpus with --corpus DIR")
    if missing:
        err(f"warning: {len(missing)} of {total} gold sources of {dataset} are not in corpus {corpus} "
            f"({', '.join(missing[:3])}{', …' if len(missing) > 3 else ''}): their questions cannot be retrieved")


def compare(run_a: Path, run_b: Path, out: Path | None) -> int:
    from rag.evals.runner import compare_runs

    for run_dir in (run_a, run_b):
        if not (run_dir / "summary.json").exists():
            raise UsageError(f"{run_dir} has no summary.json: not an eval run folder")
    table, deltas = compare_runs(run_a, run_b)
    out = out or run_b
    out.mkdir(parents=True, exist_ok=True)
    (out / "compare.md").write_text(table + "\n", encoding="utf-8")
    (out / "compare.json").write_text(json.dumps(deltas, indent=2), encoding="utf-8")
    print(table)
    print(f"\nwritten to {out / 'compare.md'}")
    return 0


def evaluate(dataset: Path, args: argparse.Namespace, settings: Any) -> dict[str, Any]:
    from rag.answer.engine import AnswerEngine
    from rag.answer.factory import make_answerer, make_engine
    from rag.embedding import embedder_for
    from rag.evals.runner import default_index_dir, load_dataset, run_eval
    from rag.sync import sync_corpus
    from rag.verify import make_support_checker

    rows = load_dataset(dataset)[: args.limit or None]  # a malformed dataset fails here, before any indexing
    corpus = settings.corpus_dir
    check_gold_sources(dataset, rows, corpus)
    # An explicit --index is used as given; otherwise each eval corpus gets its own index under .rag/evals.
    if args.index is None:
        settings = settings.model_copy(update={"index_dir": default_index_dir(settings, corpus)})
    embedder = embedder_for(settings)
    report = sync_corpus(settings, embedder=embedder)
    print(f"corpus {corpus}: {report.summary_line()}")
    answerer = make_answerer(settings, embedder)
    checker = make_support_checker("auto", model=embedder)
    if args.pipeline == "baseline":
        from rag.evals.baseline import BaselineRetriever

        retriever: Any = BaselineRetriever(settings, embedder)
        engine = AnswerEngine(settings.model_copy(update={"answer_passages": 4}), retriever, answerer, checker,
                              gates=False)
    else:
        # The product's own engine, as the CLI and the web chat build it (evidence selection, fallback).
        engine = make_engine(settings, embedder=embedder, answerer=answerer)
    out = args.out or Path("evals/runs") / f"{dataset.parent.name}-{args.pipeline}-{answerer.backend}-" \
                                          f"{time.strftime('%Y%m%d-%H%M%S')}"
    summary = run_eval(dataset, settings, out, engine=engine, pipeline=args.pipeline, limit=args.limit,
                       resume=args.resume, use_asked_on=not args.ignore_asked_on)
    print((out / "report.md").read_text(encoding="utf-8").split("## Worst failures")[0])
    print(f"results, summary and report in {out}")
    return summary
