"""The `rag` command: one module per sub-command, the flags and helpers they share in `rag.cli.common`, and
`rag.cli.commands`, which lists the command modules and runs the one asked for.

A new command is a module here with `register(sub)` (its parser) and `run(args)`, added to
`rag.cli.commands.COMMANDS`. The CLI only parses flags into Settings and calls the library: nothing below it
(rag.*, ui, evals) imports it (tests/test_imports.py checks).
"""

from __future__ import annotations


def main(argv: list[str] | None = None) -> int:
    """The console script `rag` (pyproject: `rag.cli:main`)."""
    from rag.cli.commands import main as run_main

    return run_main(argv)
