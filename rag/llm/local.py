"""The embedded local model: a GGUF run in-process by xllamacpp (llama.cpp), as a LangChain chat model."""

from __future__ import annotations

import json
import queue
import secrets
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict, PrivateAttr

_SERVERS: dict[tuple[str, int, int], Any] = {}
_SERVERS_LOCK = threading.Lock()


def load_server(model_path: Path, n_ctx: int, threads: int) -> Any:
    """One llama.cpp server per (model, context, threads) per process: loading takes seconds and 650 MB."""
    key = (str(model_path), n_ctx, threads)
    with _SERVERS_LOCK:
        if key not in _SERVERS:
            import xllamacpp

            params = xllamacpp.CommonParams()
            params.model.path = str(model_path)
            params.n_ctx = n_ctx
            params.n_parallel = 1  # 2 cores: one generation at a time; requests queue
            params.cpuparams.n_threads = threads
            params.cpuparams_batch.n_threads = threads
            params.cache_prompt = True  # reuse the KV cache of the unchanged system-prompt prefix
            params.warmup = False
            params.verbosity = -1
            # The server also listens on a loopback port; nothing of ours uses it, so lock it with a random key.
            params.api_keys = [secrets.token_hex(16)]
            _SERVERS[key] = xllamacpp.Server(params)
        return _SERVERS[key]


def _role(message: BaseMessage) -> str:
    return {"human": "user", "ai": "assistant", "system": "system"}.get(message.type, "user")


class LocalLlamaChat(BaseChatModel):
    """Chat completions from an in-process llama.cpp server, streamed token by token."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    model_path: Path
    model_name: str = "local"
    n_ctx: int = 4096
    threads: int = 2
    max_tokens: int = 256
    temperature: float = 0.0
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "xllamacpp"

    def _server(self) -> Any:
        return load_server(self.model_path, self.n_ctx, self.threads)

    def _request(self, messages: list[BaseMessage], stop: list[str] | None, stream: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "messages": [{"role": _role(m), "content": str(m.content)} for m in messages],
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "stream": stream,
            "cache_prompt": True,
        }
        if stop:
            body["stop"] = stop
        return body

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        text = "".join(chunk.text for chunk in self._stream(messages, stop, run_manager, **kwargs))
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        server = self._server()
        request = self._request(messages, stop, stream=True)
        tokens: queue.Queue[tuple[str, Any]] = queue.Queue()
        cancelled = threading.Event()

        def on_chunk(chunk: Any) -> bool:
            if isinstance(chunk, str):
                chunk = json.loads(chunk)
            if "error" in chunk:
                tokens.put(("error", chunk["error"]))
            for choice in chunk.get("choices", []):
                content = (choice.get("delta") or {}).get("content")
                if content:
                    tokens.put(("token", content))
            return cancelled.is_set()  # True asks llama.cpp to stop: the reader went away

        def run() -> None:
            try:
                with self._lock:
                    result = server.handle_chat_completions(request, on_chunk)
                if isinstance(result, dict) and "error" in result:
                    tokens.put(("error", result["error"]))
            except Exception as exc:  # noqa: BLE001
                tokens.put(("error", str(exc)))
            finally:
                tokens.put(("done", None))

        worker = threading.Thread(target=run, name="llama-generate", daemon=True)
        worker.start()
        try:
            while True:
                kind, value = tokens.get()
                if kind == "done":
                    break
                if kind == "error":
                    message = value.get("message", value) if isinstance(value, dict) else value
                    raise RuntimeError(f"local model error: {message}")
                chunk = ChatGenerationChunk(message=AIMessageChunk(content=value))
                if run_manager:
                    run_manager.on_llm_new_token(value, chunk=chunk)
                yield chunk
        finally:
            cancelled.set()
