"""Soak: 20 chat sessions for 30 minutes against the real app, the server's RSS sampled each minute.

`rag serve` (extractive backend by default) runs as a subprocess on the sample corpus, as in bench_load.py.
Each of `--sessions` threads plays users one after another: a user opens the app (a new gradio_client Client,
so a new Gradio session), has `--turns` turns (a question and its follow-up, then the next pair; even users
through the streamed `/chat` handler, which saves the conversation, odd ones through `/ask`), leaves, and the
next user comes. The server's resident memory (VmRSS of its process tree) is sampled every `--every` seconds.

The goal (issue 14): RSS after the first 5 minutes grows by at most 15 %: the figure printed is
(last sample − sample at minute 5) / sample at minute 5, and the same for the largest later sample.

Run: nice -n 10 .venv/bin/python -m bench.bench_soak [--minutes 30] [--sessions 20] [--out FILE.json]
A benchmark, not part of `make test`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import threading
import time
from pathlib import Path

from bench.bench_load import Session, app_server, load_average, load_pairs, session_pairs, tree_rss_kb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--turns", type=int, default=6, help="turns per user before the next user comes")
    parser.add_argument("--every", type=float, default=60.0, help="seconds between RSS samples")
    parser.add_argument("--backend", default="extractive")
    parser.add_argument("--out", type=Path, help="write the curve and figures as JSON here")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="newsrag-soak-", dir="/tmp"))
    pairs = load_pairs()
    answers = [0]
    errors: list[str] = []
    users = [0]
    lock = threading.Lock()
    try:
        with app_server(args.backend, workdir, workdir / "serve.log") as (url, pid):
            from gradio_client import Client

            warm = Client(url, verbose=False, download_files=False)
            warm.predict("Who won the Harbour Chess Open?", "[]", api_name="/ask")
            warm.close()
            started = time.monotonic()
            deadline = started + args.minutes * 60

            def worker(slot: int) -> None:
                n = 0
                while time.monotonic() < deadline:
                    index = slot + n * args.sessions
                    api = "chat" if slot % 2 == 0 else "ask"
                    try:
                        session = Session(index, url, api, session_pairs(pairs, index % len(pairs)), pairs,
                                          timeout_s=300)
                    except Exception as exc:  # noqa: BLE001
                        with lock:
                            errors.append(f"connect: {exc}"[:200])
                        time.sleep(1)
                        continue
                    try:
                        turns = session.run(deadline, max_turns=args.turns)
                    finally:
                        session.close()
                    with lock:
                        users[0] += 1
                        answers[0] += sum(1 for t in turns if t.error is None)
                        errors.extend(t.error for t in turns if t.error)
                    n += 1

            threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(args.sessions)]
            for t in threads:
                t.start()
            curve: list[dict[str, float]] = []
            print(f"{'minute':>6} {'RSS MB':>8} {'answers':>8} {'users':>6} {'errors':>6} {'load1':>6}", flush=True)
            while True:
                now = time.monotonic()
                sample = {"minute": round((now - started) / 60, 2), "rss_mb": round(tree_rss_kb(pid) / 1024, 1),
                          "answers": answers[0], "users": users[0], "errors": len(errors),
                          "load1": load_average()[0]}
                curve.append(sample)
                print(f"{sample['minute']:6.1f} {sample['rss_mb']:8.1f} {sample['answers']:8d} {sample['users']:6d} "
                      f"{sample['errors']:6d} {sample['load1']:6.2f}", flush=True)
                if now >= deadline:
                    break
                time.sleep(min(args.every, max(deadline - now, 0.1)))
            for t in threads:
                t.join(timeout=600)
            final = {"minute": round((time.monotonic() - started) / 60, 2), "rss_mb": round(tree_rss_kb(pid) / 1024, 1),
                     "answers": answers[0], "users": users[0], "errors": len(errors), "load1": load_average()[0]}
            curve.append(final)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    at5 = next((s for s in curve if s["minute"] >= 5), curve[0])
    later = [s for s in curve if s["minute"] > at5["minute"]] or [at5]
    growth_last = (curve[-1]["rss_mb"] - at5["rss_mb"]) / at5["rss_mb"]
    growth_max = (max(s["rss_mb"] for s in later) - at5["rss_mb"]) / at5["rss_mb"]
    print(f"\n{args.sessions} sessions, {args.minutes:g} min, backend {args.backend}: {answers[0]} answers, "
          f"{users[0]} users, {len(errors)} errors")
    print(f"RSS at minute {at5['minute']:.1f}: {at5['rss_mb']:.0f} MB; at the end: {curve[-1]['rss_mb']:.0f} MB "
          f"({growth_last:+.1%}); largest later sample {max(s['rss_mb'] for s in later):.0f} MB ({growth_max:+.1%}); "
          f"goal: at most +15 %: {'met' if growth_max <= 0.15 else 'NOT met'}")
    if errors:
        print("first errors:", *errors[:5], sep="\n  ")
    if args.out:
        args.out.write_text(json.dumps({"curve": curve, "growth_last": growth_last, "growth_max": growth_max,
                                        "errors": errors[:50], "args": {k: str(v) for k, v in vars(args).items()}},
                                       indent=1))


if __name__ == "__main__":
    main()
