"""`rag ingest` over a hostile corpus (tests/hardening/hostile_files.py: 200+ broken, huge, mislabelled or oddly
named files among good articles) vs a clean ingest of only its good files, both as real subprocesses.

Prints wall time, files by outcome (indexed; skipped, grouped by reason), and the peak RSS of each ingest
process (wait4's ru_maxrss for that child alone) with their ratio. Goal: every bad file skipped with one line,
every good file indexed, peak RSS ratio close to 1 (no hostile file costs more than parsing one bounded file).
Run: .venv/bin/python -m bench.bench_hostile [--small]  (--small: no 100 MB file, smaller bombs)
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import rag  # noqa: F401  (offline environment first)
from rag.index import Manifest
from tests.hardening.hostile_files import make_hostile_corpus

ROOT = Path(__file__).resolve().parent.parent


def ingest(corpus: Path, index: Path, logs: Path) -> tuple[float, float, int, str]:
    """Runs `python -m rag.cli ingest --quiet`; returns wall seconds, peak RSS in MB, exit status, stderr."""
    env = {**os.environ, "RAG_CORPUS_DIR": str(corpus), "RAG_INDEX_DIR": str(index), "HF_HUB_OFFLINE": "1",
           "TRANSFORMERS_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False"}
    err = logs / f"{index.name}.stderr"
    started = time.perf_counter()
    with err.open("wb") as stderr:  # a file, not a pipe: wait4 does not drain pipes
        child = subprocess.Popen([sys.executable, "-m", "rag.cli", "ingest", "--quiet"], cwd=ROOT, env=env,
                                 stdout=subprocess.DEVNULL, stderr=stderr)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    return seconds, usage.ru_maxrss / 1024, child.returncode, err.read_text("utf-8", errors="surrogateescape")


def reason_class(reason: str) -> str:
    """'not valid UTF-8 (byte 0xc3 at offset 200)' → 'not valid UTF-8'."""
    return re.split(r" \(|: ", reason, maxsplit=1)[0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", action="store_true", help="skip the 100 MB file and the 1 GB zip bomb")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir="/tmp", prefix="bench-hostile-") as tmp:
        base = Path(tmp)
        started = time.perf_counter()
        corpus = make_hostile_corpus(base / "hostile", seed=0, big=not args.small)
        made = time.perf_counter() - started
        clean_dir = base / "clean"
        for f in corpus.good:
            (clean_dir / f.source).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(corpus.root / f.source, clean_dir / f.source)
        size = sum(p.lstat().st_size for p in corpus.root.rglob("*") if p.is_file() and not p.is_symlink())
        print(f"corpus: {len(corpus.good)} good + {len(corpus.hostile)} hostile files, {size / 2**20:.0f} MB "
              f"(made in {made:.1f} s)")

        clean_s, clean_rss, clean_rc, clean_err = ingest(clean_dir, base / "clean-index", base)
        hostile_s, hostile_rss, hostile_rc, hostile_err = ingest(corpus.root, base / "hostile-index", base)
        assert clean_rc == 0 and not clean_err.strip(), clean_err[-2000:]

        lines = [line for line in hostile_err.splitlines() if line.strip()]
        skipped = [line.removeprefix("warning: skipped ") for line in lines if line.startswith("warning: skipped ")]
        other = [line for line in lines if not line.startswith("warning: skipped ")]
        reasons = Counter(reason_class(line.split(": ", 1)[1]) for line in skipped)
        indexed = set(Manifest.load(base / "hostile-index").files)
        good = {f.source for f in corpus.good}

        print(f"clean ingest ({len(good)} good files):    {clean_s:6.1f} s   peak RSS {clean_rss:6.0f} MB")
        print(f"hostile ingest (all {len(good) + len(corpus.hostile)} files):   {hostile_s:6.1f} s   "
              f"peak RSS {hostile_rss:6.0f} MB   exit status {hostile_rc}")
        print(f"peak RSS ratio hostile/clean: {hostile_rss / clean_rss:.2f}x  (+{hostile_rss - clean_rss:.0f} MB)")
        print(f"outcome: indexed {len(indexed)} (good files indexed {len(good & indexed)}/{len(good)}), "
              f"skipped {len(skipped)} (hostile files {len(corpus.hostile)}), other stderr lines {len(other)}")
        for reason, count in reasons.most_common():
            print(f"  {count:4d}  {reason}")
        for line in other[:10]:
            print(f"  unexpected stderr: {line[:200]}")


if __name__ == "__main__":
    main()
