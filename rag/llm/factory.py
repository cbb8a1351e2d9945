"""Choose the chat model by settings: `local` (embedded llama.cpp) or `openai` (any OpenAI-compatible server).
The `extractive` backend is not a language model and is built in rag/answer/factory.py."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rag.settings import Settings

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel


def describe_model(settings: Settings) -> tuple[str, str]:
    """(backend, model) as shown to users."""
    if settings.llm_backend == "local":
        from rag.llm.weights import packaged_model

        return "local", packaged_model(settings.llm_local_model).name
    if settings.llm_backend == "openai":
        return "openai", f"{settings.llm_model or 'default'} @ {settings.llm_base_url or 'api.openai.com'}"
    return settings.llm_backend, "extractive"


def make_chat_model(settings: Settings) -> BaseChatModel:
    """The chat model for settings.llm_backend. Imports are local: the openai client and xllamacpp load only
    for the backend in use. Raises ModelUnavailable (local weights) or ValueError (bad configuration)."""
    if settings.llm_backend == "local":
        from rag.llm.local import LocalLlamaChat
        from rag.llm.weights import ensure_local_gguf

        path = ensure_local_gguf(settings.index_dir, settings.llm_local_model)
        return LocalLlamaChat(model_path=path, model_name=describe_model(settings)[1],
                              n_ctx=settings.llm_context_tokens, threads=settings.llm_threads,
                              max_tokens=settings.llm_max_tokens, temperature=settings.llm_temperature)
    if settings.llm_backend == "openai":
        from langchain_openai import ChatOpenAI

        if not settings.llm_model:
            raise ValueError("RAG_LLM_MODEL is required with the openai backend (any name for a llama.cpp server)")
        return ChatOpenAI(
            base_url=settings.llm_base_url,
            model=settings.llm_model,
            api_key=settings.llm_api_key or "not-needed",  # local servers ignore it; the client insists on one
            timeout=settings.llm_timeout_s,
            max_retries=1,  # a dead server should fail fast, not after the client's default 2 retries with backoff
            temperature=settings.llm_temperature,
            max_tokens=settings.llm_max_tokens,
            streaming=True,
            stream_usage=True,
        )
    raise ValueError(f"{settings.llm_backend!r} is not a chat-model backend")


def describe_model_error(exc: BaseException, settings: Settings) -> str:
    """One line a user can act on, for a language model call that failed."""
    detail = (str(exc).strip().splitlines() or [""])[0][:200]
    kind = f"{type(exc).__name__}: {detail}"
    if settings.llm_backend == "openai":
        import httpx
        import openai

        where = settings.llm_base_url or "api.openai.com"
        # APITimeoutError is a kind of APIConnectionError: test it first. A timeout while a stream is being read
        # reaches us as httpx's own exception, not wrapped by the openai client.
        if isinstance(exc, openai.APITimeoutError | httpx.TimeoutException | TimeoutError):
            return f"the language model server at {where} did not answer within {settings.llm_timeout_s:g} s"
        if isinstance(exc, openai.APIConnectionError | ConnectionError):
            return f"the language model server at {where} is unreachable"
        if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
            return f"the language model server at {where} refused the API key (RAG_LLM_API_KEY)"
        if isinstance(exc, openai.NotFoundError):
            return f"the language model server at {where} does not serve model {settings.llm_model!r}"
        return f"the language model server at {where} failed: {kind}"
    return f"the {settings.llm_backend} language model failed: {kind}"
