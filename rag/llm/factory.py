"""Choose the chat model by settings: `local` (embedded llama.cpp) or `openai` (any OpenAI-compatible server)."""

from __future__ import annotations

from typing import Any

from rag.settings import Settings


def describe_model(settings: Settings) -> tuple[str, str]:
    """(backend, model) as shown to users."""
    if settings.llm_backend == "local":
        from rag.llm.weights import MODEL_NAME

        return "local", MODEL_NAME
    if settings.llm_backend == "openai":
        return "openai", f"{settings.llm_model or 'default'} @ {settings.llm_base_url or 'api.openai.com'}"
    return settings.llm_backend, "extractive"


def make_chat_model(settings: Settings) -> Any:
    if settings.llm_backend == "local":
        from rag.llm.local import LocalLlamaChat
        from rag.llm.weights import ensure_local_gguf

        path = ensure_local_gguf(settings.index_dir)
        return LocalLlamaChat(model_path=path, model_name=describe_model(settings)[1], n_ctx=settings.llm_context_tokens,
                              threads=settings.llm_threads, max_tokens=settings.llm_max_tokens,
                              temperature=settings.llm_temperature)
    if settings.llm_backend == "openai":
        from langchain_openai import ChatOpenAI

        if not settings.llm_model:
            raise ValueError("RAG_LLM_MODEL is required with the openai backend")
        return ChatOpenAI(
            base_url=settings.llm_base_url,
            model=settings.llm_model,
            api_key=settings.llm_api_key or "not-needed",
            timeout=settings.llm_timeout_s,
            max_retries=1,
            temperature=settings.llm_temperature,
            max_tokens=settings.llm_max_tokens,
            streaming=True,
        )
    raise ValueError(f"{settings.llm_backend!r} is not a chat-model backend")
