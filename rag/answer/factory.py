"""Build an AnswerEngine from settings: the one place that picks the answering backend."""

from __future__ import annotations

import logging

from rag.answer.engine import AnswerEngine
from rag.answer.generate import Answerer, ExtractiveAnswerer, LLMAnswerer
from rag.embedding import Embedder, embedder_for
from rag.errors import BackendUnavailable
from rag.retrieve import HybridRetriever
from rag.settings import Settings
from rag.verify import make_support_checker

log = logging.getLogger(__name__)


def make_answerer(settings: Settings, embedder: Embedder) -> Answerer:
    if settings.llm_backend == "extractive":
        return ExtractiveAnswerer(embedder)
    from rag.llm.factory import describe_model, make_chat_model

    try:
        chat_model = make_chat_model(settings)
    except Exception as exc:  # noqa: BLE001
        raise BackendUnavailable(f"the {settings.llm_backend} language model is unavailable: {exc}") from exc
    backend, model = describe_model(settings)
    # A 0.5B local model rewrites follow-ups poorly and slowly; the deterministic rewrite serves it better.
    return LLMAnswerer(chat_model, backend=backend, model=model, rewrite_with_model=settings.llm_backend == "openai")


def make_engine(settings: Settings, embedder: Embedder | None = None, retriever: HybridRetriever | None = None,
                answerer: Answerer | None = None) -> AnswerEngine:
    embedder = embedder or embedder_for(settings)
    retriever = retriever or HybridRetriever(settings, embedder=embedder)
    answerer = answerer or make_answerer(settings, embedder)
    fallback = None if answerer.backend == "extractive" else ExtractiveAnswerer(embedder)
    return AnswerEngine(settings, retriever, answerer, make_support_checker("auto", model=embedder),
                        fallback=fallback, evidence_chars=settings.llm_evidence_chars)
