"""Serve the packaged model over llama.cpp's OpenAI-compatible HTTP API: `python -m rag.llm.server --port N`.

xllamacpp ships no llama-server binary; `xllamacpp.Server(params)` itself runs llama.cpp's HTTP server
(cpp-httplib, the same /v1/chat/completions, /v1/models, /health routes) on params.hostnames/params.port for
as long as the object lives. So a child Python process that builds one and waits is a real llama.cpp server.

Used by the tests of the `openai` backend (a real server, not a fake), and handy to share one loaded model
between several processes: point RAG_LLM_BASE_URL at http://127.0.0.1:N/v1.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

MODEL_ALIAS = "qwen2.5-coder-0.5b-instruct"


def serve(model: Path, host: str, port: int, n_ctx: int = 4096, threads: int = 2, alias: str = MODEL_ALIAS,
          api_key: str | None = None, exit_with_parent: bool = False) -> None:
    """Run until SIGTERM/SIGINT (or, with exit_with_parent, until the parent process is gone)."""
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = str(model)
    params.n_ctx = n_ctx
    params.n_parallel = 1
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    params.cpuparams.poll = 0  # see rag/llm/local.py: spinning threads collapse under CPU contention
    params.cpuparams_batch.poll = 0
    params.hostnames = [host]
    params.port = port
    params.model_alias = {alias}  # the name /v1/models reports; requests may name any model
    params.cache_ram_mib = 256
    params.warmup = False
    params.verbosity = -1
    params.ui = False
    if api_key:
        params.api_keys = [api_key]
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    parent = os.getppid()
    server = xllamacpp.Server(params)  # loads the model and starts listening
    print(f"serving {model.name} as {alias!r} on {server.listening_address}/v1", flush=True)
    # Poll rather than block forever: a test runner killed with SIGKILL must not leave a 650 MB orphan behind.
    while not stop.wait(1.0):
        if exit_with_parent and os.getppid() != parent:
            break
    del server  # stops the HTTP threads and frees the model


def _models_ready(base_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base_url}/models", timeout=2) as response:
            return bool(json.load(response).get("data"))
    except (OSError, ValueError):  # refused, reset, 503 while loading, or not yet JSON
        return False


def start_openai_server(gguf: Path, port: int, host: str = "127.0.0.1", timeout_s: float = 120.0,
                        n_ctx: int = 4096, threads: int = 2) -> tuple[subprocess.Popen[bytes], str]:
    """Start the server in a child process and wait until /v1/models lists the model. Returns (process,
    base_url) with base_url ending in /v1, ready for ChatOpenAI(base_url=...). Stop it with stop_openai_server."""
    log = tempfile.NamedTemporaryFile(prefix="rag-llm-server.", suffix=".log", delete=False)  # noqa: SIM115
    cmd = [sys.executable, "-m", "rag.llm.server", "--model", str(gguf), "--host", host, "--port", str(port),
           "--ctx", str(n_ctx), "--threads", str(threads), "--exit-with-parent"]
    # The child must import this package from the same tree as the parent, even when started elsewhere.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(Path(__file__).resolve().parents[2]),
                                                                     os.environ.get("PYTHONPATH")]))}
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    base_url = f"http://{host}:{port}/v1"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = Path(log.name).read_text(errors="replace").strip().splitlines()[-5:]
            raise RuntimeError(f"model server exited with status {proc.returncode}: {' | '.join(tail)}")
        if _models_ready(base_url):
            return proc, base_url
        time.sleep(0.3)
    stop_openai_server(proc)
    raise RuntimeError(f"model server did not answer on {base_url}/models within {timeout_s:.0f} s (log: {log.name})")


def stop_openai_server(proc: subprocess.Popen[bytes], timeout_s: float = 30.0) -> None:
    """SIGTERM, then SIGKILL if it has not exited within timeout_s."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def main() -> None:
    import rag  # noqa: F401  (offline environment)
    from rag.llm.weights import ensure_local_gguf
    from rag.settings import get_settings

    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--model", type=Path, help="GGUF file (default: the packaged model, assembled if needed)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--ctx", type=int, default=4096)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--alias", default=MODEL_ALIAS, help="model name reported by /v1/models")
    parser.add_argument("--api-key", default=os.environ.get("RAG_LLM_SERVER_API_KEY"),
                        help="require this bearer token (default: none; the server binds to loopback)")
    parser.add_argument("--exit-with-parent", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    settings = get_settings()
    model = args.model or ensure_local_gguf(settings.index_dir, settings.llm_local_model)
    serve(model, args.host, args.port, args.ctx, args.threads, args.alias, args.api_key, args.exit_with_parent)


if __name__ == "__main__":
    main()
