"""What every command shares: the global flags, settings from flags, output, filters, batch question files.

A leaf: it imports the library, never a command module or rag.cli.commands.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import rag  # noqa: F401  (offline environment first)
from rag.errors import QuestionFileError, UsageError
from rag.settings import Settings, get_settings
from rag.stories import outlet
from rag.types import SearchFilters

BACKENDS = ("local", "openai", "extractive")


def settings_from(args: argparse.Namespace, **extra: Any) -> Settings:
    """Settings from the environment, overridden by the global flags and by `extra` (None = not given)."""
    return get_settings(corpus_dir=args.corpus, index_dir=args.index, chroma_url=args.chroma_url, **extra)


def out(line: str = "") -> None:
    print(line, flush=True)


def plural(number: int, noun: str, nouns: str | None = None) -> str:
    """'1 chunk', '0 chunks', '2 chunks' ('1 match', '2 matches' with nouns='matches')."""
    return f"{number} {noun if number == 1 else nouns or noun + 's'}"


def err(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def add_global_flags(parser: argparse.ArgumentParser, default: Any) -> None:
    """--corpus, --index, --chroma-url, --verbose: before the command, or after it (default=SUPPRESS there)."""
    parser.add_argument("--corpus", type=Path, default=default, help="corpus folder (RAG_CORPUS_DIR, default ./corpus)")
    parser.add_argument("--index", type=Path, default=default, help="index folder (RAG_INDEX_DIR, default ./.rag)")
    parser.add_argument("--chroma-url", default=default,
                        help="use a Chroma server, e.g. http://127.0.0.1:8000 (RAG_CHROMA_URL)")
    parser.add_argument("-v", "--verbose", action="store_true", default=default or False, help="debug logging")


def count(least: int) -> Callable[[str], int]:
    """An argparse type: a whole number >= `least` (`-k 0` would otherwise fall back to the default, `-k -1`
    slice away the last result); argparse reports a wrong one as `argument -k: …` and exits 2."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if value < least:
            raise argparse.ArgumentTypeError(f"must be {least} or more, got {text!r}")
        return value

    return parse


def question_from(text: str | None, what: str) -> str:
    """The one question or query given on the command line; a blank one is a usage error, not an empty search."""
    if text is None:
        raise UsageError(f"give a {what.upper()} or --queries FILE.jsonl")
    if not text.strip():
        raise UsageError(f"the {what} is blank: give a few words to look for")
    return text


def add_backend_flag(p: argparse.ArgumentParser, text: str = "answering backend (RAG_LLM_BACKEND)") -> None:
    p.add_argument("--backend", choices=list(BACKENDS), help=text)


def add_filters(p: argparse.ArgumentParser) -> None:
    p.add_argument("--source", metavar="GLOB", help="only sources matching this glob, e.g. 'reuters/*' or '*.pdf'")
    p.add_argument("--since", metavar="DATE", help="only articles dated on or after DATE (YYYY-MM-DD)")
    p.add_argument("--until", metavar="DATE", help="only articles dated on or before DATE (YYYY-MM-DD)")
    p.add_argument("--as-of", metavar="DATE", help="ask as of DATE (YYYY-MM-DD or YYYY/MM/DD; default today): "
                   "later articles are never used, 'this week' means the 7 days before DATE")


def filters_from(args: argparse.Namespace, row: dict[str, Any] | None = None) -> SearchFilters:
    """The search filters of the flags; a --queries line's "asked_on" overrides --as-of. The as-of date is
    always set (today when not given), so --json output can echo it."""
    from rag.retrieve import as_of_date

    as_of = (row or {}).get("asked_on") or getattr(args, "as_of", None)
    return SearchFilters(source_glob=args.source, since=args.since, until=args.until,
                         as_of=as_of_date(SearchFilters(as_of=as_of)).isoformat())


def also_in(copies: list[dict[str, Any]]) -> str:
    """A story's other copies as the CLI lists them: "also in: usatoday.com (2023-05-09), rtqa-3.md (no date)"."""
    return "also in: " + ", ".join(f"{outlet(c.get('url'), c['source'])} ({c.get('date') or 'no date'})" for c in copies)


def require_index(retriever: Any) -> None:
    if retriever.count() == 0:
        raise UsageError(f"the index is empty: run `rag ingest` first (corpus {retriever.settings.corpus_dir})")


def read_queries(path: str) -> list[dict[str, Any]]:
    """A question file (JSON lines with at least "question"); "-" reads stdin."""
    from rag.questions import parse_question_lines

    if path == "-":
        return parse_question_lines(sys.stdin, "stdin")
    try:
        with open(path, encoding="utf-8") as fh:
            return parse_question_lines(fh, path)
    except OSError as exc:
        raise QuestionFileError(f"cannot read {path}: {exc.strerror or exc}") from None


def run_batch(path: str, output: str | None, run: Callable[[dict[str, Any]], dict[str, Any]]) -> int:
    """One JSON line per query, models loaded once; written as each query finishes."""
    rows = read_queries(path)
    try:
        sink = open(output, "w", encoding="utf-8") if output else sys.stdout  # noqa: SIM115
    except OSError as exc:
        raise UsageError(f"cannot write --output {output}: {exc.strerror or exc}") from None
    try:
        for row in rows:
            result = {"id": row["id"], **run(row)}
            sink.write(json.dumps(result, ensure_ascii=False) + "\n")
            sink.flush()
    finally:
        if output:
            sink.close()
    return 0
