"""`rag serve`: index the corpus, then serve the web chat (ui/app.py) and watch the corpus folder."""

from __future__ import annotations

import argparse
from typing import Any

from rag.cli.common import add_backend_flag, settings_from


def register(sub: Any) -> None:
    p = sub.add_parser("serve", help="start the web chat (indexes the corpus first, then watches it)")
    p.add_argument("--host", help="address to bind (RAG_HOST, default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (RAG_PORT, default 7860)")
    add_backend_flag(p, "answering backend")
    p.add_argument("--no-watch", action="store_true", help="do not watch the corpus folder for changes")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rag.auth import AccessPolicy
    from rag.ui.app import serve

    settings = settings_from(args, host=args.host, port=args.port, llm_backend=args.backend)
    AccessPolicy(settings).check_startup()  # no accounts on a network address: refuse before indexing
    print(f"indexing {settings.corpus_dir} …", flush=True)
    serve(settings, watch=not args.no_watch)
    return 0
