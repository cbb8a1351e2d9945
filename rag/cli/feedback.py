"""`rag feedback export --out FILE.jsonl`: the web chat's 👍/👎 as rows `rag eval` accepts (rag/feedback.py)."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from rag.cli.common import plural, settings_from


def register(sub: Any) -> None:
    p = sub.add_parser("feedback", help="export the web chat's feedback as an eval dataset")
    actions = p.add_subparsers(dest="feedback_command", metavar="ACTION", required=True)
    a = actions.add_parser("export", help="write every rated answer as a JSONL row for `rag eval`")
    a.add_argument("--out", required=True, type=Path, metavar="FILE.jsonl")
    a.set_defaults(func=run_export)


def run_export(args: argparse.Namespace) -> int:
    from rag.conversations import ConversationStore
    from rag.feedback import feedback_rows

    settings = settings_from(args)
    rows, skipped = feedback_rows(ConversationStore(settings.index_dir)) \
        if (settings.index_dir / "app.sqlite3").exists() else ([], 0)
    tmp = args.out.with_name(f".{args.out.name}.part")
    with open(tmp, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    os.replace(tmp, args.out)
    down = sum(1 for r in rows if r["feedback"] == "down")
    print(f"wrote {plural(len(rows), 'row')} to {args.out} ({plural(len(rows) - down, '👍 regression case')}, "
          f"{plural(down, '👎 case')} to fix" + (f"; {plural(skipped, 'note')} without a rating skipped" if skipped
                                                  else "") + ")", flush=True)
    return 0
