"""Ingest throughput per embedding runtime, in one run: OpenVINO (the default) against torch on the same corpus.

Each runtime builds a fresh index of the same files in its own process (so peak RSS is its own), through the
product path (`sync_corpus`: load, chunk, embed, Chroma, lexical index), then encodes the same texts once more
with the bare runtime (pipeline/raw shows what the pipeline adds around the encoder; goal ≥ 0.80).
Prints seconds, chunks/s, peak RSS, and the throughput ratio of each runtime to torch.

Run: .venv/bin/python -m bench.bench_ingest                          # 40 synthetic articles
     .venv/bin/python -m bench.bench_ingest --corpus ../shared/data/news23-small --limit 150
     .venv/bin/python -m bench.bench_ingest --corpus ../shared/data/news23 --runtimes openvino --no-raw
The model conversion (first use of OpenVINO) is done before timing: it is cached under the index folder once.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import write_corpus

ROOT = Path(__file__).resolve().parent.parent


def one(runtime: str, corpus: Path, index: Path, model_cache: Path, raw: bool) -> dict[str, float | int | str]:
    from rag.embedding import embedder_for
    from rag.index import iter_all_chunks, open_collection
    from rag.settings import get_settings
    from rag.sync import make_chunker, sync_corpus

    settings = get_settings(corpus_dir=corpus, index_dir=index, embedding_runtime=runtime,
                            embedding_cache_dir=model_cache)
    embedder = embedder_for(settings)
    embedder.embed_documents(["warm up the model"] * 8)  # load (and convert once) outside the timing
    started = time.perf_counter()
    cpu = time.process_time()
    report = sync_corpus(settings, embedder=embedder)
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu
    out: dict[str, float | int | str] = {
        "runtime": embedder.runtime_label, "documents": report.documents_total, "chunks": report.chunks_embedded,
        "seconds": seconds, "cpu_seconds": cpu_seconds,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    if raw:
        chunker = make_chunker(settings, embedder)
        texts = [chunker.embedded_text(c) for c in iter_all_chunks(open_collection(settings))]
        started = time.perf_counter()
        embedder.embed_documents(texts)
        out["raw_seconds"] = time.perf_counter() - started
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--docs", type=int, default=40, help="synthetic articles when no --corpus is given")
    parser.add_argument("--corpus", type=Path, help="a real corpus folder (read only)")
    parser.add_argument("--limit", type=int, help="only the first N files of --corpus (sorted by name)")
    parser.add_argument("--runtimes", default="openvino,torch")
    parser.add_argument("--no-raw", dest="raw", action="store_false", help="skip the bare-encoder pass")
    parser.add_argument("--keep-index", type=Path, help="build here and keep it (one runtime only)")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: run one runtime in this process
    parser.add_argument("--index", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--model-cache", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.corpus, args.index, args.model_cache, args.raw)))
        return

    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        corpus = Path(tmp) / "corpus"
        if args.corpus is None:
            write_corpus(corpus, docs=args.docs, paragraphs=6, sentences=5)
        elif args.limit:
            corpus.mkdir()
            files = sorted(p for p in args.corpus.resolve().rglob("*") if p.is_file())[: args.limit]
            for path in files:  # a temporary copy (the index does not follow symbolic links), removed after
                target = corpus / path.relative_to(args.corpus.resolve())
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target)
        else:
            corpus = args.corpus.resolve()
        results = []
        load = os.getloadavg()
        for runtime in args.runtimes.split(","):
            index = args.keep_index or Path(tmp) / f"index-{runtime}"
            command = [sys.executable, "-m", "bench.bench_ingest", "--one", runtime, "--corpus", str(corpus),
                       "--index", str(index), "--model-cache", str(Path(tmp) / "models")]
            if not args.raw:
                command.append("--no-raw")
            done = subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT)
            results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    print(f"load average before {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, after "
          f"{os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs, shared with other jobs)")
    for r in results:
        line = (f"{r['runtime']:<26} {r['documents']:>5} docs {r['chunks']:>6} chunks  {r['seconds']:8.1f} s  "
                f"{r['chunks'] / r['seconds']:6.1f} chunks/s  ({r['chunks'] / r['cpu_seconds']:6.1f} per CPU-s)  "
                f"peak RSS {r['peak_rss_mb']:6.0f} MB")
        if "raw_seconds" in r:
            line += f"  pipeline/raw {r['raw_seconds'] / r['seconds']:.2f}"
        print(line)
    torch = next((r for r in results if r["runtime"] == "torch"), None)
    if torch:
        for r in results:
            if r is not torch:
                print(f"throughput ratio {r['runtime']} / torch: "
                      f"{(r['chunks'] / r['seconds']) / (torch['chunks'] / torch['seconds']):.2f}x  (goal >= 3.00)")


if __name__ == "__main__":
    main()
