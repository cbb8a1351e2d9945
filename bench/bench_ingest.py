"""Ingest throughput per embedding runtime, in one run: OpenVINO (the default) against torch on the same corpus.

Each runtime builds a fresh index of the same files in its own process (so peak RSS is its own), through the
product path (`sync_corpus`: load, chunk, embed, Chroma, lexical index), then encodes the same texts once more
with the bare runtime (pipeline/raw shows what the pipeline adds around the encoder; goal ≥ 0.80).
Prints seconds, chunks/s, chunks per CPU-second, peak RSS, the throughput ratio of each runtime to torch and,
with the bare pass, the cosine (mean and min) of each runtime's vectors to torch's for the same chunks.

A runtime is `torch`, `openvino` (the CPU's precision) or `openvino:PRECISION` (bf16, f32, int8).
Run: .venv/bin/python -m bench.bench_ingest                          # 40 synthetic articles
     .venv/bin/python -m bench.bench_ingest --corpus ../shared/data/news23-small --limit 150
     .venv/bin/python -m bench.bench_ingest --corpus ../shared/data/news23-small/corpus --limit 40 \
         --runtimes openvino:bf16,openvino:int8,torch
     .venv/bin/python -m bench.bench_ingest --corpus ../shared/data/news23 --runtimes openvino --no-raw
The model conversion (first use of OpenVINO; int8 quantisation) is done before timing: it is cached once.
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

import numpy as np

from bench.common import write_corpus

ROOT = Path(__file__).resolve().parent.parent


def one(spec: str, corpus: Path, index: Path, model_cache: Path, raw: bool,
        vectors: Path | None) -> dict[str, float | int | str]:
    from rag.embedding import embedder_for
    from rag.index import iter_all_chunks, open_collection
    from rag.settings import get_settings
    from rag.sync import make_chunker, sync_corpus

    runtime, _, precision = spec.partition(":")
    settings = get_settings(corpus_dir=corpus, index_dir=index, embedding_runtime=runtime,
                            embedding_precision=precision or "auto", embedding_cache_dir=model_cache)
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
        chunks = sorted(iter_all_chunks(open_collection(settings)), key=lambda c: c.id)
        texts = [chunker.embedded_text(c) for c in chunks]
        started = time.perf_counter()
        cpu = time.process_time()
        encoded = embedder.embed_documents(texts)
        out["raw_seconds"] = time.perf_counter() - started
        out["raw_cpu_seconds"] = time.process_time() - cpu
        if vectors is not None:  # by chunk id: every runtime's index holds the same chunks
            np.save(vectors, encoded)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--docs", type=int, default=40, help="synthetic articles when no --corpus is given")
    parser.add_argument("--corpus", type=Path, help="a real corpus folder (read only)")
    parser.add_argument("--limit", type=int, help="only the first N files of --corpus (sorted by name)")
    parser.add_argument("--runtimes", default="openvino,torch", help="comma-separated: torch, openvino[:PRECISION]")
    parser.add_argument("--no-raw", dest="raw", action="store_false", help="skip the bare-encoder pass")
    parser.add_argument("--keep-index", type=Path, help="build here and keep it (one runtime only)")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: run one runtime in this process
    parser.add_argument("--index", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--model-cache", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--vectors", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.corpus, args.index, args.model_cache, args.raw, args.vectors)))
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
        encoded: dict[str, np.ndarray] = {}
        load = os.getloadavg()
        for spec in args.runtimes.split(","):
            name = spec.replace(":", "-")
            index = args.keep_index or Path(tmp) / f"index-{name}"
            command = [sys.executable, "-m", "bench.bench_ingest", "--one", spec, "--corpus", str(corpus),
                       "--index", str(index), "--model-cache", str(Path(tmp) / "models")]
            if args.raw:
                command += ["--vectors", str(Path(tmp) / f"vectors-{name}.npy")]
            else:
                command.append("--no-raw")
            done = subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT)
            results.append(json.loads(done.stdout.strip().splitlines()[-1]))
            if args.raw:
                encoded[results[-1]["runtime"]] = np.load(Path(tmp) / f"vectors-{name}.npy")
    print(f"load average before {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, after "
          f"{os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs, shared with other jobs)")
    for r in results:
        line = (f"{r['runtime']:<26} {r['documents']:>5} docs {r['chunks']:>6} chunks  {r['seconds']:8.1f} s  "
                f"{r['chunks'] / r['seconds']:6.1f} chunks/s  ({r['chunks'] / r['cpu_seconds']:6.1f} per CPU-s)  "
                f"peak RSS {r['peak_rss_mb']:6.0f} MB")
        if "raw_seconds" in r:
            line += (f"  pipeline/raw {r['raw_seconds'] / r['seconds']:.2f}  "
                     f"bare encoder {r['chunks'] / r['raw_cpu_seconds']:6.1f} per CPU-s")
        print(line)
    torch = next((r for r in results if r["runtime"] == "torch"), None)
    if torch:
        def ratio(r: dict, seconds: str) -> float:
            return (r["chunks"] / r[seconds]) / (torch["chunks"] / torch[seconds])

        for r in results:
            if r is not torch:
                line = (f"throughput ratio {r['runtime']} / torch: {ratio(r, 'seconds'):.2f}x wall, "
                        f"{ratio(r, 'cpu_seconds'):.2f}x per CPU-second  (goal >= 3.00)")
                if "raw_cpu_seconds" in r:
                    line += f"; bare encoder {ratio(r, 'raw_cpu_seconds'):.2f}x per CPU-second"
                print(line)
        for label, vectors in encoded.items():
            if label != "torch" and "torch" in encoded:
                cosines = (vectors * encoded["torch"]).sum(axis=1)
                print(f"cosine {label} to torch over {len(cosines)} chunks: mean {cosines.mean():.5f}, "
                      f"min {cosines.min():.5f}")


if __name__ == "__main__":
    main()
