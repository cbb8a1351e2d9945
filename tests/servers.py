"""Real servers the tests start and stop: a Chroma server (`chroma run`) and the web app (`rag serve`)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen, seconds: float, what: str) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(f"{what} exited at start (code {proc.returncode})") from None
            time.sleep(0.2)
    proc.kill()
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
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=20)


class AppServer:
    """`rag serve` on a free port with the given RAG_* environment."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1", **env}
        self.log = log
        self.proc: subprocess.Popen | None = None

    def start(self) -> AppServer:
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen([str(BIN / "rag"), "serve", "--port", str(self.port), "--no-watch"],
                                         cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT)
        wait_http(self.url, self.proc, 120, "rag serve")
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)
