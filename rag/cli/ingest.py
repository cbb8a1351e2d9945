"""`rag ingest`: sync the index with the corpus folder, with progress bars on stderr."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from rag.cli.common import out, settings_from


def register(sub: Any) -> None:
    p = sub.add_parser("ingest", help="sync the index with the corpus folder (add, update, delete)")
    p.add_argument("--quiet", action="store_true", help="no progress bars or summary (warnings still shown)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--verify", action="store_true", help="re-read files even if size and time are unchanged")
    p.set_defaults(func=run)


def tqdm_progress(quiet: bool) -> Any:
    """Progress bars on stderr. Built here so that `rag --help` loads neither tqdm nor rag.sync (≈1 s)."""
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


def run(args: argparse.Namespace) -> int:
    from rag.sync import sync_corpus

    settings = settings_from(args)
    progress = tqdm_progress(args.quiet or args.json)
    try:
        report = sync_corpus(settings, progress=progress, verify=args.verify)
    finally:
        progress.close()
    if args.json:
        out(json.dumps(report.to_dict(), ensure_ascii=False))
    elif not args.quiet:
        if report.repaired:
            out("the previous ingest did not finish: the index was reconciled with the corpus")
        out(report.summary_line())
    return 0
