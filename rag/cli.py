"""The `rag` command. Thin: parses flags into Settings and calls the library."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import rag  # noqa: F401  (offline environment first)
from rag.settings import Settings, get_settings


class CliError(Exception):
    """A user-facing failure: printed as one line, exit status 2."""


def _settings(args: argparse.Namespace, **extra: Any) -> Settings:
    return get_settings(corpus_dir=args.corpus, index_dir=args.index, chroma_url=args.chroma_url, **extra)


def _out(line: str = "") -> None:
    print(line, flush=True)


def _err(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------------------------- ingest


def _tqdm_progress(quiet: bool) -> Any:
    from tqdm import tqdm

    from rag.sync import SyncProgress

    class TqdmProgress(SyncProgress):
        def __init__(self) -> None:
            self.files: Any = None
            self.embed: Any = None

        def files_started(self, total: int) -> None:
            self.files = tqdm(total=total, desc="files", unit="file", disable=quiet, file=sys.stderr, leave=False)

        def file_done(self, source: str) -> None:
            if self.files is not None:
                self.files.update(1)

        def embedding_started(self, total: int) -> None:
            if self.files is not None:
                self.files.close()
            if total:
                self.embed = tqdm(total=total, desc="embedding", unit="chunk", disable=quiet, file=sys.stderr)

        def embedded(self, count: int) -> None:
            if self.embed is not None:
                self.embed.update(count)

        def message(self, line: str) -> None:
            if not quiet:
                tqdm.write(line, file=sys.stderr)

        def warning(self, line: str) -> None:
            # Warnings are shown even with --quiet: a skipped file is never silent.
            tqdm.write(f"warning: {line}", file=sys.stderr)

        def close(self) -> None:
            for bar in (self.files, self.embed):
                if bar is not None:
                    bar.close()

    return TqdmProgress()


def cmd_ingest(args: argparse.Namespace) -> int:
    from rag.sync import sync_corpus

    settings = _settings(args)
    progress = _tqdm_progress(args.quiet or args.json)
    try:
        report = sync_corpus(settings, progress=progress, verify=args.verify)
    finally:
        progress.close()
    if args.json:
        _out(json.dumps(report.to_dict(), ensure_ascii=False))
    elif not args.quiet:
        if report.repaired:
            _out("the previous ingest did not finish: the index was reconciled with the corpus")
        _out(report.summary_line())
    return 0


# ----------------------------------------------------------------------------------------------- search


def _print_hit(hit: dict[str, Any]) -> None:
    date = hit.get("date") or "no date"
    _out(f"[{hit['rank']}] score {hit['score']:.4f}  {hit['source']}  ·  {hit['title']}  ·  {date}")
    _out(f"    chunk {hit['chunk_id']}  (dense #{hit.get('dense_rank') or '-'}, bm25 #{hit.get('bm25_rank') or '-'})")
    text = " ".join(hit["text"].split())
    _out(f"    {text[:400]}{'…' if len(text) > 400 else ''}")
    _out()


def cmd_search(args: argparse.Namespace) -> int:
    from rag.retrieve import HybridRetriever
    from rag.types import SearchFilters

    settings = _settings(args)
    filters = SearchFilters(source_glob=args.source, since=args.since, until=args.until)
    retriever = HybridRetriever(settings)
    _require_index(retriever)
    k = args.k or settings.top_k
    if args.queries:
        return _batch(args.queries, args.output, lambda q: {"results": [
            h.to_dict() for h in retriever.search(q["question"], k, filters)]})
    if not args.query:
        raise CliError("give a QUERY or --queries FILE.jsonl")
    started = time.perf_counter()
    hits = retriever.search(args.query, k, filters)
    elapsed = (time.perf_counter() - started) * 1000
    if args.json:
        _out(json.dumps({"query": args.query, "results": [h.to_dict() for h in hits], "ms": round(elapsed, 1)},
                        ensure_ascii=False))
        return 0
    if not hits:
        _out("no results")
        return 0
    for hit in hits:
        _print_hit(hit.to_dict())
    _out(f"{len(hits)} results in {elapsed:.0f} ms")
    return 0


def _require_index(retriever: Any) -> None:
    if retriever.count() == 0:
        raise CliError(f"the index is empty: run `rag ingest` first (corpus {retriever.settings.corpus_dir})")


def _read_queries(path: str) -> list[dict[str, Any]]:
    from rag.questions import parse_question_lines

    if path == "-":
        return parse_question_lines(sys.stdin, "stdin")
    with open(path, encoding="utf-8") as fh:
        return parse_question_lines(fh, path)


def _batch(path: str, output: str | None, run: Callable[[dict[str, Any]], dict[str, Any]]) -> int:
    """One JSON line per query, models loaded once; written as each query finishes."""
    rows = _read_queries(path)
    sink = open(output, "w", encoding="utf-8") if output else sys.stdout  # noqa: SIM115
    try:
        for row in rows:
            result = {"id": row["id"], **run(row)}
            sink.write(json.dumps(result, ensure_ascii=False) + "\n")
            sink.flush()
    finally:
        if output:
            sink.close()
    return 0


# ----------------------------------------------------------------------------------------------- status


def cmd_status(args: argparse.Namespace) -> int:
    from rag.index import Manifest

    settings = _settings(args)
    manifest = Manifest.load(settings.index_dir)
    docs = [
        {"source": src, "title": rec.title, "date": rec.date, "chunks": len(rec.chunk_ids)}
        for src, rec in sorted(manifest.files.items())
    ]
    from rag.audit import AuditLog

    changes = AuditLog(settings.index_dir).last(args.changes)
    if args.json:
        _out(json.dumps({"corpus": str(settings.corpus_dir), "index": str(settings.index_dir),
                         "complete": manifest.complete, "documents": docs, "app_changes": changes},
                        ensure_ascii=False))
        return 0
    _out(f"corpus {settings.corpus_dir}  ·  index {settings.chroma_url or settings.index_dir}")
    if not manifest.exists:
        _out("not indexed yet: run `rag ingest`")
        _print_changes(changes)
        return 0
    if not manifest.complete:
        _out("the last ingest did not finish: the next `rag ingest` repairs the index")
    for doc in docs:
        _out(f"{doc['chunks']:5d} chunks  {doc['date'] or '          '}  {doc['source']}  ·  {doc['title']}")
    _out(f"{len(docs)} documents, {sum(d['chunks'] for d in docs)} chunks")
    _print_changes(changes)
    return 0


def _print_changes(changes: list[dict[str, Any]]) -> None:
    if changes:
        _out("last changes through the web app:")
        for change in changes:
            _out(f"  {change['at']}  {change['user']}  {change['action']}  {change['target']}"
                 + (f"  ({change['detail']})" if change["detail"] else ""))


# ----------------------------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rag", description="newsrag: grounded question answering over a folder of news articles."
    )
    _add_global_flags(parser, None)
    # The same flags after the command (`rag eval DATA --corpus DIR`); SUPPRESS keeps a flag given before it.
    common = argparse.ArgumentParser(add_help=False)
    _add_global_flags(common, argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_parser_with(common))

    p = sub.add_parser("ingest", help="sync the index with the corpus folder (add, update, delete)")
    p.add_argument("--quiet", action="store_true", help="no progress bars or summary (warnings still shown)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--verify", action="store_true", help="re-read files even if size and time are unchanged")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("search", help="hybrid search (dense + BM25, fused)")
    p.add_argument("query", nargs="?", help="what to search for")
    p.add_argument("-k", type=int, help="number of results (RAG_TOP_K, default 5)")
    p.add_argument("--json", action="store_true", help="print results as JSON")
    p.add_argument("--queries", metavar="FILE.jsonl", help='batch mode: lines {"id", "question"}; "-" for stdin')
    p.add_argument("--output", metavar="FILE", help="batch mode: write JSON lines here instead of stdout")
    _add_filters(p)
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("status", help="list indexed documents and the last corpus changes made in the web app")
    p.add_argument("--json", action="store_true")
    p.add_argument("--changes", type=int, default=10, metavar="N", help="how many web-app changes to show (10)")
    p.set_defaults(func=cmd_status)

    for register in _EXTRA_COMMANDS:
        register(sub)
    return parser


def _add_global_flags(parser: argparse.ArgumentParser, default: Any) -> None:
    parser.add_argument("--corpus", type=Path, default=default, help="corpus folder (RAG_CORPUS_DIR, default ./corpus)")
    parser.add_argument("--index", type=Path, default=default, help="index folder (RAG_INDEX_DIR, default ./.rag)")
    parser.add_argument("--chroma-url", default=default,
                        help="use a Chroma server, e.g. http://127.0.0.1:8000 (RAG_CHROMA_URL)")
    parser.add_argument("-v", "--verbose", action="store_true", default=default or False, help="debug logging")


def _parser_with(common: argparse.ArgumentParser) -> type[argparse.ArgumentParser]:
    class SubParser(argparse.ArgumentParser):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("parents", [common])
            super().__init__(*args, **kwargs)

    return SubParser


def _add_filters(p: argparse.ArgumentParser) -> None:
    p.add_argument("--source", metavar="GLOB", help="only sources matching this glob, e.g. 'reuters/*' or '*.pdf'")
    p.add_argument("--since", metavar="DATE", help="only articles dated on or after DATE (YYYY-MM-DD)")
    p.add_argument("--until", metavar="DATE", help="only articles dated on or before DATE (YYYY-MM-DD)")


# Later stages (ask, serve, eval) register their sub-commands here, keeping this module free of their imports.
def _register_ask(sub: Any) -> None:
    from rag.answer.cli import register

    register(sub)


def cmd_serve(args: argparse.Namespace) -> int:
    from rag.auth import AccessPolicy
    from ui.app import serve

    settings = _settings(args, host=args.host, port=args.port, llm_backend=args.backend)
    AccessPolicy(settings).check_startup()  # no accounts on a network address: refuse before indexing
    print(f"indexing {settings.corpus_dir} …", flush=True)
    serve(settings, watch=not args.no_watch)
    return 0


def _register_serve(sub: Any) -> None:
    p = sub.add_parser("serve", help="start the web chat (indexes the corpus first, then watches it)")
    p.add_argument("--host", help="address to bind (RAG_HOST, default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (RAG_PORT, default 7860)")
    p.add_argument("--backend", choices=["local", "openai", "extractive"], help="answering backend")
    p.add_argument("--no-watch", action="store_true", help="do not watch the corpus folder for changes")
    p.set_defaults(func=cmd_serve)


def _register_eval(sub: Any) -> None:
    from evals.cli import register

    register(sub)


def _register_user(sub: Any) -> None:
    from rag.users_cli import register

    register(sub)


def _register_feedback(sub: Any) -> None:
    from rag.feedback_cli import register

    register(sub)


_EXTRA_COMMANDS: list[Callable[[Any], None]] = [_register_ask, _register_serve, _register_eval, _register_user,
                                                _register_feedback]


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    from pydantic import ValidationError

    from rag.answer.factory import BackendUnavailable
    from rag.embedding import EmbeddingModelUnavailable
    from rag.index import IndexUnavailable
    from rag.questions import QuestionFileError
    from rag.retrieve import FilterError
    from rag.sync import IngestBusy
    from rag.users import AccountError

    try:
        return int(args.func(args) or 0)
    except (CliError, IngestBusy, IndexUnavailable, EmbeddingModelUnavailable, FilterError, FileNotFoundError,
            BackendUnavailable, QuestionFileError, AccountError) as exc:
        _err(f"error: {exc}")
        return 2
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors())
        _err(f"error: invalid setting: {problems}")
        return 2
    except KeyboardInterrupt:
        _err("interrupted: the next `rag ingest` completes or repairs the index")
        return 130


if __name__ == "__main__":
    sys.exit(main())
