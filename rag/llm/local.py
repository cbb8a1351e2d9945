"""The embedded local model: a GGUF run in-process by xllamacpp (llama.cpp's server engine), as a LangChain
chat model.

xllamacpp API used (2026.10.11549; no .pyi ships, found by introspection and tests):
- `xllamacpp.CommonParams()`: `.model.path`, `.n_ctx`, `.n_parallel`, `.cpuparams.n_threads`/`.poll`,
  `.cpuparams_batch.n_threads`/`.poll`, `.cache_prompt`, `.cache_ram_mib`, `.warmup`, `.verbosity`,
  `.api_keys`, `.ui`, `.endpoint_slots`, `.model_alias` (a set), `.hostnames`, `.port` (0 = any free port).
- `xllamacpp.Server(params)` loads the model (≈4 s) AND starts llama.cpp's HTTP server on
  `server.listening_address` (loopback, random port). We lock that listener with a random API key.
- `server.handle_chat_completions(body: dict)` → OpenAI-shaped dict (with "usage" and llama.cpp "timings"),
  or `{"error": {...}}` (e.g. prompt longer than the context). Malformed bodies raise ValueError.
- `server.handle_chat_completions(body | {"stream": True}, callback)` → None; callback(chunk: dict) per
  OpenAI chunk, returning True cancels. First chunk carries only the role; the last has finish_reason and
  "timings" (prompt_n, cache_n, prompt_per_second, predicted_n, predicted_per_second). Errors arrive as a
  single `{"error": ...}` chunk. The GIL is released while it runs, so another thread can consume chunks live.
- Request field `cache_prompt` (default true): the one slot keeps its KV cache and the next prompt reuses the
  longest common token prefix (`timings.cache_n`), so the fixed system prompt is prefilled once, not per question.
"""

from __future__ import annotations

import queue
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict

from rag.errors import LocalModelError


@dataclass
class LoadedModel:
    """One llama.cpp server per model file per process, with the lock that serialises generation on it."""

    server: Any
    path: Path
    n_ctx: int
    lock: threading.Lock = field(default_factory=threading.Lock)


_LOADED: dict[tuple[str, int, int, int], LoadedModel] = {}
_LOADED_LOCK = threading.Lock()


def load_model(model_path: Path, n_ctx: int = 4096, threads: int = 2, poll: int = 0) -> LoadedModel:
    """Load once per (file, context, threads, poll) per process: loading takes ≈4 s and ≈650 MB."""
    key = (str(Path(model_path).resolve()), n_ctx, threads, poll)
    with _LOADED_LOCK:
        if key not in _LOADED:
            import xllamacpp

            params = xllamacpp.CommonParams()
            params.model.path = key[0]
            params.n_ctx = n_ctx
            params.n_parallel = 1  # 2 cores: one sequence at a time, and the one slot keeps the prompt cache
            params.cpuparams.n_threads = threads
            params.cpuparams_batch.n_threads = threads
            # poll=0: idle worker threads sleep instead of spinning. Measured under CPU contention (other jobs
            # on the 2 cores): the default poll=50 with 2 threads fell to 0.25 tok/s, poll=0 kept ≈8 tok/s.
            params.cpuparams.poll = poll
            params.cpuparams_batch.poll = poll
            params.cache_prompt = True
            params.cache_ram_mib = 256  # host-RAM prompt cache across slot switches; default 8 GiB is unbounded here
            params.warmup = False  # saves ≈1 s at start-up; the first real request warms up anyway
            params.verbosity = -1
            # Server() also starts llama.cpp's HTTP listener on a random loopback port. Nothing of ours uses it:
            # lock it with a random key and turn off its web UI and slot endpoints.
            params.api_keys = [secrets.token_hex(16)]
            params.ui = False
            params.endpoint_slots = False
            params.n_threads_http = 1
            _LOADED[key] = LoadedModel(server=xllamacpp.Server(params), path=Path(key[0]), n_ctx=n_ctx)
        return _LOADED[key]


def load_server(model_path: Path, n_ctx: int = 4096, threads: int = 2) -> Any:
    """The raw xllamacpp.Server (for benchmarks that want llama.cpp's timings directly)."""
    return load_model(model_path, n_ctx, threads).server


def _role(message: BaseMessage) -> str:
    return {"human": "user", "ai": "assistant", "system": "system", "tool": "tool"}.get(message.type, "user")


def _error_text(error: Any) -> str:
    return str(error.get("message", error)) if isinstance(error, dict) else str(error)


def _metadata(final: dict[str, Any], model_name: str) -> tuple[dict[str, Any], UsageMetadata | None]:
    """response_metadata and usage from llama.cpp's last chunk / response (timings hold the cache hit)."""
    choices = final.get("choices") or [{}]
    timings = final.get("timings") or {}
    meta = {"finish_reason": choices[0].get("finish_reason"), "model_name": model_name, "timings": timings}
    if not timings:
        return meta, None
    cached = int(timings.get("cache_n", 0))
    prompt = int(timings.get("prompt_n", 0)) + cached
    out = int(timings.get("predicted_n", 0))
    usage = UsageMetadata(input_tokens=prompt, output_tokens=out, total_tokens=prompt + out,
                          input_token_details={"cache_read": cached})
    return meta, usage


class LocalLlamaChat(BaseChatModel):
    """Chat completions from an in-process llama.cpp server, streamed token by token.

    Thread-safe: all instances on the same model file share one loaded server and one lock, so concurrent
    callers (web sessions) queue instead of interleaving and evicting each other's prompt cache."""

    model_config = ConfigDict(arbitrary_types_allowed=True, protected_namespaces=())

    model_path: Path
    model_name: str = "local"
    n_ctx: int = 4096
    threads: int = 2
    poll: int = 0
    max_tokens: int = 256
    temperature: float = 0.0
    stop: list[str] | None = None
    cache_prompt: bool = True  # False only to measure what prefix reuse saves

    @property
    def _llm_type(self) -> str:
        return "xllamacpp"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name, "model_path": str(self.model_path), "n_ctx": self.n_ctx,
                "max_tokens": self.max_tokens, "temperature": self.temperature}

    def loaded(self) -> LoadedModel:
        return load_model(self.model_path, self.n_ctx, self.threads, self.poll)

    def _request(self, messages: list[BaseMessage], stop: list[str] | None, stream: bool,
                 kwargs: dict[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = {
            "messages": [{"role": _role(m), "content": m.text} for m in messages],
            "max_tokens": int(kwargs.get("max_tokens", self.max_tokens)),
            "temperature": float(kwargs.get("temperature", self.temperature)),
            "stream": stream,
            "cache_prompt": self.cache_prompt,
        }
        stops = stop if stop is not None else kwargs.get("stop", self.stop)
        if stops:
            body["stop"] = list(stops)
        return body

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        model = self.loaded()
        request = self._request(messages, stop, stream=False, kwargs=kwargs)
        with model.lock:
            result = model.server.handle_chat_completions(request)
        if not isinstance(result, dict) or "error" in result:
            error = result.get("error") if isinstance(result, dict) else result
            raise LocalModelError(f"local model error: {_error_text(error)}")
        text = (result["choices"][0].get("message") or {}).get("content") or ""
        meta, usage = _metadata(result, self.model_name)
        message = AIMessage(content=text, response_metadata=meta, usage_metadata=usage)
        info = {"finish_reason": meta["finish_reason"]}
        return ChatResult(generations=[ChatGeneration(message=message, generation_info=info)])

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        model = self.loaded()
        request = self._request(messages, stop, stream=True, kwargs=kwargs)
        # llama.cpp calls back from inside a blocking C++ call; a worker thread runs it and hands chunks over a
        # queue so this generator can yield each token as it arrives.
        chunks: queue.Queue[dict[str, Any] | None] = queue.Queue()
        cancelled = threading.Event()

        def on_chunk(chunk: dict[str, Any]) -> bool:
            chunks.put(chunk)
            return cancelled.is_set()  # True stops llama.cpp: the consumer went away

        def run() -> None:
            try:
                with model.lock:
                    model.server.handle_chat_completions(request, on_chunk)
            except Exception as exc:  # noqa: BLE001  (re-raised in the consumer's thread below)
                chunks.put({"error": {"message": f"{type(exc).__name__}: {exc}"}})
            finally:
                chunks.put(None)

        # Not a daemon: a daemon thread still inside llama.cpp when the interpreter exits is unwound by force
        # through C++ frames and aborts the process ("FATAL: exception not rethrown"). Exit waits for it instead;
        # once `cancelled` is set that is at most one more token.
        worker = threading.Thread(target=run, name="llama-generate", daemon=False)
        worker.start()
        final: dict[str, Any] = {}
        abandoned = False
        try:
            while (chunk := chunks.get()) is not None:
                if "error" in chunk:
                    raise LocalModelError(f"local model error: {_error_text(chunk['error'])}")
                for choice in chunk.get("choices", []):
                    content = (choice.get("delta") or {}).get("content")
                    if content:
                        gen = ChatGenerationChunk(message=AIMessageChunk(content=content))
                        if run_manager:
                            run_manager.on_llm_new_token(content, chunk=gen)
                        yield gen
                    if choice.get("finish_reason"):
                        final = chunk
            # A last empty chunk carries finish_reason, timings and usage, as ChatOpenAI's streams do.
            meta, usage = _metadata(final, self.model_name)
            yield ChatGenerationChunk(message=AIMessageChunk(content="", response_metadata=meta, usage_metadata=usage,
                                                             chunk_position="last"),
                                      generation_info={"finish_reason": meta["finish_reason"]})
        except GeneratorExit:
            abandoned = True  # the reader stopped early: llama.cpp stops at its next token, no need to wait
            raise
        finally:
            cancelled.set()
            if not abandoned:
                worker.join()  # done or failed: the C++ call is returning; wait so nothing outlives the request
