"""Server mode: the same ingest and search through chromadb.HttpClient against a real `chroma run`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rag.embedding import Embedder
from rag.retrieve import HybridRetriever
from rag.sync import sync_corpus
from rag.types import SearchFilters
from tests.helpers import article, write
from tests.servers import ChromaServer


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = ChromaServer(tmp_path_factory.mktemp("chroma-server")).start()
    yield server.url
    server.stop()


def test_ingest_sync_and_search_through_a_chroma_server(chroma_server: str, make_settings, embedder: Embedder) -> None:
    settings = make_settings(chroma_url=chroma_server, collection="server-test")
    write(settings.corpus_dir / "tram.md", article("Tram line opens", "The new tram line has twelve stops.", "2026-01-02"))
    write(settings.corpus_dir / "drought.md", article("Drought", "Water rationing began in the valley.", "2026-02-03"))
    write(settings.corpus_dir / "harbour.md", article("Harbour", "The harbour dredging ended in March.", "2026-03-01"))
    report = sync_corpus(settings, embedder=embedder)
    assert report.added == 3 and not (settings.index_dir / "chroma").exists(), "nothing written to embedded Chroma"
    hits = HybridRetriever(settings, embedder=embedder).search("how many stops does the tram have", k=2)
    assert hits[0].chunk.source == "tram.md"
    # A narrow source glob restricts the server's query by chunk id (rag/retrieve.py _dense).
    hits = HybridRetriever(settings, embedder=embedder).search("tram stops", k=3,
                                                               filters=SearchFilters(source_glob="dr*"))
    assert [h.chunk.source for h in hits] == ["drought.md"]
    (settings.corpus_dir / "tram.md").unlink()
    assert sync_corpus(settings, embedder=embedder).deleted == 1
    hits = HybridRetriever(settings, embedder=embedder).search("tram stops", k=3)
    assert sorted(h.chunk.source for h in hits) == ["drought.md", "harbour.md"]
