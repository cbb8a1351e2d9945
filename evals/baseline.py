"""The baseline: a plain LangChain rag-chroma style pipeline, to show what the full pipeline gains.

Recursive 500-character chunks without overlap, dense top-4 from Chroma through langchain-chroma, the same
embedding model and the same answerer, no BM25, no fusion, no refusal gates, no verified auto-citation.
"""

from __future__ import annotations

import hashlib
from typing import Any

from langchain_core.embeddings import Embeddings

from rag.embedding import Embedder
from rag.loaders import LoadError, is_supported, iter_corpus_files, load_document, relative_source
from rag.settings import Settings
from rag.types import Chunk, Hit, SearchFilters


class _SameEmbeddings(Embeddings):
    """Our loaded MiniLM behind LangChain's interface: same vectors, loaded once."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embedder.embed_documents(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embedder.embed_query(text).tolist()


class BaselineRetriever:
    def __init__(self, settings: Settings, embedder: Embedder, k: int = 4) -> None:
        from chromadb.config import Settings as ChromaSettings
        from langchain_chroma import Chroma

        self.settings = settings
        self.k = k
        self.store = Chroma(
            collection_name="baseline",
            embedding_function=_SameEmbeddings(embedder),
            persist_directory=str(settings.index_dir / "baseline"),
            client_settings=ChromaSettings(anonymized_telemetry=False, is_persistent=True,
                                           persist_directory=str(settings.index_dir / "baseline")),
            collection_metadata={"hnsw:space": "cosine"},
        )
        if not self.store.get(limit=1)["ids"]:
            self._build()

    def _build(self) -> None:
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        splitter = RecursiveCharacterTextSplitter(chunk_size=500, chunk_overlap=0)
        texts, metas, ids = [], [], []
        root = self.settings.corpus_dir
        for path in iter_corpus_files(root):
            if not is_supported(path):
                continue
            try:
                doc = load_document(path, root, max_bytes=int(self.settings.max_file_mb * 2**20),
                                    max_chars=self.settings.max_document_chars)
            except LoadError:
                continue
            for i, piece in enumerate(splitter.split_text(doc.text)):
                texts.append(piece)
                metas.append({"source": relative_source(path, root), "title": doc.title, "date": doc.date or "",
                              "ordinal": i})
                ids.append(hashlib.sha256(f"{doc.source}\0{i}\0{piece}".encode()).hexdigest()[:32])
        for start in range(0, len(texts), 1000):
            self.store.add_texts(texts[start:start + 1000], metadatas=metas[start:start + 1000],
                                 ids=ids[start:start + 1000])

    def search(self, query: str, k: int | None = None, filters: SearchFilters | None = None) -> list[Hit]:
        hits = []
        for rank, (doc, distance) in enumerate(self.store.similarity_search_with_score(query, k=self.k), start=1):
            meta: dict[str, Any] = doc.metadata
            chunk = Chunk(id=doc.id or f"b{rank}", source=meta["source"], text=doc.page_content,
                          title=meta.get("title", ""), start=0, end=len(doc.page_content),
                          ordinal=int(meta.get("ordinal", 0)), text_hash="", date=meta.get("date") or None)
            hits.append(Hit(chunk=chunk, score=1 - float(distance), rank=rank, dense_rank=rank,
                            dense_score=1 - float(distance)))
        return hits
