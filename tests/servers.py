"""Real servers the tests and the benchmarks start and stop: a Chroma server (`chroma run`) and the web app
(`rag serve`), each in a child process on a free port of 127.0.0.1. The one copy of this harness: the
benchmarks import it too (`python -m bench.bench_load`)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from rag.llm.server import stop_openai_server as stop_process  # SIGTERM, then SIGKILL after a timeout

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
# A child process must not look for the Hugging Face Hub, nor send analytics.
OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False",
               "GRADIO_ANALYTICS_ENABLED": "False"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen, seconds: float, what: str, log: Path | None = None) -> None:
    """Until `url` answers; raises (with the end of `log`) when the process exits first or time runs out."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except OSError:
            if proc.poll() is not None:
                tail = f": {log.read_text(errors='replace')[-2000:]}" if log and log.exists() else ""
                raise RuntimeError(f"{what} exited at start (code {proc.returncode}){tail}") from None
            time.sleep(0.2)
    proc.kill()
    proc.wait()
    raise RuntimeError(f"{what} did not answer {url} within {seconds:.0f} s")


class ChromaServer:
    """`chroma run` on a fixed port and data folder, so it can be stopped and started again as the same server."""

    def __init__(self, data: Path, port: int | None = None) -> None:
        self.data = data
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> ChromaServer:
        self.proc = subprocess.Popen(
            [str(BIN / "chroma"), "run", "--path", str(self.data), "--host", "127.0.0.1", "--port", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        wait_http(f"{self.url}/api/v2/heartbeat", self.proc, 60, "chroma server")
        return self

    def stop(self) -> None:
        if self.proc:
            stop_process(self.proc, 20)


class AppServer:
    """`rag serve --no-watch` on a free port with the given RAG_* environment; `args` are more flags of
    `rag serve`. Also a context manager: started on entry, stopped on exit."""

    def __init__(self, env: dict[str, str], log: Path, *, args: tuple[str, ...] = (), ready_s: float = 120) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.env = {**os.environ, **OFFLINE_ENV, **env}
        self.log = log
        self.args = args
        self.ready_s = ready_s
        self.proc: subprocess.Popen | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None, "not started"
        return self.proc.pid

    def start(self) -> AppServer:
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen([str(BIN / "rag"), "serve", *self.args, "--port", str(self.port), "--no-watch"],
                                         cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT)
        wait_http(self.url, self.proc, self.ready_s, "rag serve", self.log)
        return self

    def stop(self) -> None:
        if self.proc:
            stop_process(self.proc, 30)

    def __enter__(self) -> AppServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
