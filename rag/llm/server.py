"""Serve the packaged model over llama.cpp's OpenAI-compatible HTTP API: `python -m rag.llm.server --port N`.

Used by the tests of the `openai` backend (a real server, not a fake), and handy to share one loaded model
between several processes: point RAG_LLM_BASE_URL at http://127.0.0.1:N/v1.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path


def serve(model: Path, host: str, port: int, n_ctx: int, threads: int) -> None:
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = str(model)
    params.n_ctx = n_ctx
    params.n_parallel = 1
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    params.hostnames = [host]
    params.port = port
    params.warmup = False
    params.verbosity = -1
    server = xllamacpp.Server(params)  # listens until the process ends
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print(f"serving {model.name} on http://{host}:{port}/v1", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    del server


def start_openai_server(model: Path, port: int, host: str = "127.0.0.1", timeout_s: float = 120.0
                        ) -> tuple[subprocess.Popen, str]:
    """Start the server in a child process and wait until /v1/models answers. Returns (process, base_url)."""
    proc = subprocess.Popen([sys.executable, "-m", "rag.llm.server", "--model", str(model), "--host", host,
                             "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base_url = f"http://{host}:{port}/v1"
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"model server exited with status {proc.returncode}")
        try:
            urllib.request.urlopen(f"{base_url}/models", timeout=2).read()
            return proc, base_url
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError(f"model server did not answer on {base_url} within {timeout_s:.0f} s")


def main() -> None:
    import rag  # noqa: F401
    from rag.llm.weights import ensure_local_gguf
    from rag.settings import get_settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="GGUF file (default: the packaged model)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--ctx", type=int, default=4096)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    model = args.model or ensure_local_gguf(get_settings().index_dir)
    serve(model, args.host, args.port, args.ctx, args.threads)


if __name__ == "__main__":
    main()
