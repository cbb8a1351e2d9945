"""Server mode: the same ingest and search through chromadb.HttpClient against a real `chroma run`."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from rag.embedding import Embedder
from rag.retrieve import HybridRetriever
from rag.sync import sync_corpus
from tests.conftest import article, write


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    data = tmp_path_factory.mktemp("chroma-server")
    chroma = Path(sys.executable).parent / "chroma"
    proc = subprocess.Popen([str(chroma), "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1).read()
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail("chroma server exited at start")
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("chroma server did not start within 60 s")
    yield url
    proc.terminate()
    proc.wait(timeout=20)


def test_ingest_sync_and_search_through_a_chroma_server(chroma_server: str, make_settings, embedder: Embedder) -> None:
    settings = make_settings(chroma_url=chroma_server, collection="server-test")
    write(settings.corpus_dir / "tram.md", article("Tram line opens", "The new tram line has twelve stops.", "2026-01-02"))
    write(settings.corpus_dir / "drought.md", article("Drought", "Water rationing began in the valley.", "2026-02-03"))
    report = sync_corpus(settings, embedder=embedder)
    assert report.added == 2 and not (settings.index_dir / "chroma").exists(), "nothing written to embedded Chroma"
    hits = HybridRetriever(settings, embedder=embedder).search("how many stops does the tram have", k=2)
    assert hits[0].chunk.source == "tram.md"
    (settings.corpus_dir / "tram.md").unlink()
    assert sync_corpus(settings, embedder=embedder).deleted == 1
    hits = HybridRetriever(settings, embedder=embedder).search("tram stops", k=2)
    assert [h.chunk.source for h in hits] == ["drought.md"]
