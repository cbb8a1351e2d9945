"""The manifest's own cost at archive scale: the version-1 JSON file against the SQLite manifest (rag/manifest.py).

Synthetic records shaped like real ones (12 chunk ids, a 64-value MinHash signature, headline, date, URL) for
`--files` files (83,000 ≈ 1M chunks). Measured, each the median of `--repeat` runs:
  - JSON: load (parse and build the records, what every sync did first) and save (write, fsync, rename: what
    each sync that changed something did, twice);
  - SQLite: what a no-change sync reads (open, the stat columns of every row, no chunk ids), what adding one
    article writes (mark incomplete, then one transaction: the new row and the meta row), what the retriever's
    catalog reads after it (the rows changed since its last look), and the whole table (`files`, for listings
    and a crash repair).

Run: .venv/bin/python -m bench.bench_manifest [--files 83000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from rag.manifest import LEGACY_JSON, FileRecord, Manifest


def record(i: int) -> FileRecord:
    digest = f"{i:08x}" * 4
    return FileRecord(size=5000 + i % 977, mtime_ns=1_700_000_000_000_000_000 + i, content_hash=digest * 2,
                      title=f"Council approves harbour plan after long debate number {i}",
                      chunk_ids=[f"{i:08x}{c:024x}" for c in range(12)], date=f"20{10 + i % 16:02d}-05-01",
                      url=f"https://news.example/{i}", minhash=base64.b64encode(os.urandom(256)).decode(),
                      date_source="front matter")


def timed(call: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def save_json(path: Path, files: dict[str, FileRecord]) -> None:
    """As the version-1 manifest was saved: the whole file, written, fsynced and renamed into place."""
    data = {"version": 1, "generation": 1, "complete": True, "fingerprint": {},
            "files": {s: dataclasses.asdict(r) for s, r in sorted(files.items())}}
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(json.dumps(data, ensure_ascii=False, separators=(",", ":")))
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def load_json(path: Path) -> dict[str, FileRecord]:
    raw = json.loads(path.read_text(encoding="utf-8"))
    return {s: FileRecord(**r) for s, r in raw["files"].items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--files", type=int, default=83_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    files = {f"{i // 1000:04d}/article-{i:07d}.md": record(i) for i in range(args.files)}
    print(f"{args.files:,} files; load average {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs, shared)")
    with tempfile.TemporaryDirectory(prefix="bench-manifest-") as folder:
        index = Path(folder)
        legacy = index / LEGACY_JSON
        json_save = timed(lambda: save_json(legacy, files), args.repeat)
        json_load = timed(lambda: load_json(legacy), args.repeat)
        print(f"JSON (version 1): {legacy.stat().st_size / 1e6:.1f} MB; load {json_load:.2f} s, save {json_save:.2f} s;"
              f" a sync that changed something: load + 2 saves = {json_load + 2 * json_save:.2f} s")

        started = time.perf_counter()
        Manifest.open(index).close()  # imports the JSON (the migration of an existing index)
        migrate = time.perf_counter() - started
        size = sum(p.stat().st_size for p in index.glob("manifest.sqlite3*")) / 1e6

        def no_change() -> None:
            with Manifest.open(index) as manifest:
                manifest.states()
                manifest.totals()

        counter = iter(range(args.files, args.files + 1000))

        def add_one() -> None:
            with Manifest.open(index) as manifest:
                manifest.states()
                manifest.mark_incomplete({})
                i = next(counter)
                manifest.commit({f"new/article-{i}.md": record(i)}, (), generation=manifest.generation + 1,
                                fingerprint={})

        def read_all() -> None:
            with Manifest.load(index) as manifest:
                assert len(manifest.files) >= args.files

        with Manifest.load(index) as reader:
            last = (reader.epoch, reader.seq)
        sync_read = timed(no_change, args.repeat)
        add = timed(add_one, args.repeat)
        with Manifest.load(index) as reader:
            changes = timed(lambda: reader.changes_since(*last), args.repeat)
        whole = timed(read_all, args.repeat)
        print(f"SQLite: {size:.1f} MB; migration from the JSON {migrate:.2f} s (once); no-change sync's reads "
              f"{sync_read * 1000:.0f} ms; adding one article's writes (and reads) {add * 1000:.0f} ms; the "
              f"catalog's read of what changed {changes * 1000:.1f} ms; every row with chunk ids {whole:.2f} s")
        print(f"ratios: a sync that changed one article, JSON / SQLite = {(json_load + 2 * json_save) / add:.0f}x; "
              f"a no-change sync's manifest reads, JSON / SQLite = {json_load / sync_read:.0f}x")


if __name__ == "__main__":
    main()
