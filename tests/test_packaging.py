"""The wheel: it installs only the `rag` package (the web chat and the evals inside it, as rag.ui and rag.evals),
so that `pip install` claims no generic top-level name such as `ui` or `evals`, and what is installed runs."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LEFT_OUT = shutil.ignore_patterns(".git", ".venv", ".rag", "build", "dist", "*.egg-info", "__pycache__", "runs",
                                  "results", ".pytest_cache", ".ruff_cache")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built from a copy of the working tree (links kept as links), as `make setup` builds it: no isolation."""
    base = tmp_path_factory.mktemp("wheel")
    source = base / "src"
    shutil.copytree(ROOT, source, symlinks=True, ignore=LEFT_OUT)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w",
                    str(base / "dist"), str(source)], check=True, capture_output=True)
    (built,) = (base / "dist").glob("newsrag-*.whl")
    return built


def test_the_wheel_claims_only_the_rag_name(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")} == {"rag"}
    top_level = next(n for n in names if n.endswith(".dist-info/top_level.txt"))
    assert zipfile.ZipFile(wheel).read(top_level).decode().split() == ["rag"]
    for module in ("rag/ui/app.py", "rag/ui/render.py", "rag/evals/runner.py", "rag/evals/metrics.py",
                   "rag/cli/commands.py", "rag/answer/engine.py"):
        assert module in names
    # The int8 encoder's calibration passages, with their licence.
    calibration = [n for n in names if n.startswith("rag/evals/squad2/corpus/")]
    assert len(calibration) == len(list((ROOT / "evals" / "squad2" / "corpus").glob("*.txt")))
    assert "rag/evals/squad2/LICENSE.md" in names
    entry_points = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "rag = rag.cli:main" in entry_points


def test_the_installed_wheel_imports_the_app_and_the_evals(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-compile", "--target", str(site),
                    str(wheel)], check=True, capture_output=True)
    check = (
        "import rag, rag.ui.app, rag.evals.runner\n"
        "from rag.cli.commands import COMMANDS\n"
        "from rag.embedding import CALIBRATION_CORPUS\n"
        "assert len(list(CALIBRATION_CORPUS.glob('*.txt'))) > 300, CALIBRATION_CORPUS\n"
        f"assert rag.__file__.startswith({str(site)!r}), rag.__file__\n"
        "print(' '.join(c.__name__ for c in COMMANDS))\n"
    )
    installed = {p.name for p in site.iterdir() if not p.name.endswith(".dist-info")}
    assert "rag" in installed and not installed & {"ui", "evals"}
    # Run from a folder outside the repository, with only the installed wheel before the venv's packages.
    done = subprocess.run([sys.executable, "-c", check], cwd=tmp_path, env={"PATH": "/usr/bin:/bin",
                          "PYTHONPATH": str(site), "HF_HUB_OFFLINE": "1"}, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "rag.cli.serve" in done.stdout and "rag.cli.evaluate" in done.stdout
