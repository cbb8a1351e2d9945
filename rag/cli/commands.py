"""Builds the `rag` parser from the command modules and runs the command asked for.

A new command: a module in rag/cli/ with `register(sub)` and `run(args)`, listed in COMMANDS.
"""

from __future__ import annotations

import argparse
import logging
from typing import Any

from rag.cli import ask, evaluate, feedback, ingest, search, serve, status, user
from rag.cli.common import add_global_flags, err, settings_from
from rag.errors import RagError

# In the order `rag --help` lists them.
COMMANDS = (ingest, search, status, ask, serve, evaluate, user, feedback)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rag", description="newsrag: grounded question answering over a folder of news articles."
    )
    add_global_flags(parser, None)
    # The same flags after the command (`rag eval DATA --corpus DIR`); SUPPRESS keeps a flag given before it.
    common = argparse.ArgumentParser(add_help=False)
    add_global_flags(common, argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_parser_with(common))
    for command in COMMANDS:
        command.register(sub)
    return parser


def _parser_with(common: argparse.ArgumentParser) -> type[argparse.ArgumentParser]:
    class SubParser(argparse.ArgumentParser):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("parents", [common])
            super().__init__(*args, **kwargs)

    return SubParser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    from pydantic import ValidationError

    try:
        return int(args.func(args) or 0)
    except RagError as exc:
        err(f"error: {exc}")
        return 2
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors())
        err(f"error: invalid setting: {problems}")
        return 2
    except KeyboardInterrupt:
        err("interrupted: the next `rag ingest` completes or repairs the index")
        return 130
    except Exception as exc:
        # A full disk surfaces from any layer (our writes, SQLite, Chroma's Rust core) as its own exception type.
        from rag.storage import disk_full

        if not disk_full(exc):
            raise
        err(f"error: the disk is full (index {settings_from(args).index_dir}): free some space and run the "
            "command again; what was indexed before is kept and the next `rag ingest` completes the index")
        _end_now(2)
        return 2  # not reached


def _end_now(code: int) -> None:
    """Ends the process at once, after the error line. On a full disk the native cores (Chroma's Rust, tantivy)
    can crash while the interpreter closes them (a clean-clone CI run saw `rag ingest` print the line above and
    then die of SIGSEGV, exit -11); what is on disk is already consistent, as after a kill -9 at any point
    (tests/hardening/test_crash_consistency.py), so nothing is lost by skipping their shutdown."""
    import os
    import sys

    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
