"""`rag status`: the indexed documents, from the index's manifest (no models loaded), and the last corpus
changes made in the web app (rag/audit.py)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from rag.cli.common import count, out, plural, settings_from


def register(sub: Any) -> None:
    p = sub.add_parser("status", help="list indexed documents and the last corpus changes made in the web app")
    p.add_argument("--json", action="store_true")
    p.add_argument("--changes", type=count(0), default=10, metavar="N", help="how many web-app changes to show (10)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rag.audit import AuditLog
    from rag.index import Manifest

    settings = settings_from(args)
    with Manifest.load(settings.index_dir) as manifest:
        docs = [{"source": d.source, "title": d.title, "date": d.date, "date_source": d.date_source,
                 "chunks": d.chunks} for d in manifest.listing()]
    undated = sum(1 for d in docs if not d["date"])
    changes = AuditLog(settings.index_dir).last(args.changes)
    if args.json:
        out(json.dumps({"corpus": str(settings.corpus_dir), "index": str(settings.index_dir),
                        "complete": manifest.complete, "undated": undated, "documents": docs,
                        "app_changes": changes},
                       ensure_ascii=False))
        return 0
    out(f"corpus {settings.corpus_dir}  ·  index {settings.chroma_url or settings.index_dir}")
    if not manifest.exists:
        out("not indexed yet: run `rag ingest`")
        print_changes(changes)
        return 0
    if not manifest.complete:
        out("the last ingest did not finish: the next `rag ingest` repairs the index")
    for doc in docs:
        chunks = "chunk " if doc["chunks"] == 1 else "chunks"  # the column stays aligned
        out(f"{doc['chunks']:5d} {chunks}  {doc['date'] or '          '}  {doc['source']}  ·  {doc['title']}")
    out(f"{plural(len(docs), 'document')}, {plural(sum(d['chunks'] for d in docs), 'chunk')}; "
        f"{undated} without a publication date")
    print_changes(changes)
    return 0


def print_changes(changes: list[dict[str, Any]]) -> None:
    if changes:
        out("last changes through the web app:")
        for change in changes:
            out(f"  {change['at']}  {change['user']}  {change['action']}  {change['target']}"
                + (f"  ({change['detail']})" if change["detail"] else ""))
