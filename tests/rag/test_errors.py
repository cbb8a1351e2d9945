"""One error root: every error class of the library, the web app and the evals is a RagError, which the CLI and
the web app show as its one line."""

from __future__ import annotations

import ast
import builtins

import pytest

import rag.errors
from rag.cli.commands import main
from rag.errors import RagError
from tests.helpers import first_party_files

BUILTIN_EXCEPTIONS = {name for name, value in vars(builtins).items()
                      if isinstance(value, type) and issubclass(value, BaseException)}
ERROR_NAMES = {name for name, value in vars(rag.errors).items() if isinstance(value, type)}


def test_every_error_class_is_a_rag_error() -> None:
    offenders = []
    for module, path in first_party_files().items():
        if not module.startswith("rag."):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                bases = {b.id for b in node.bases if isinstance(b, ast.Name)}
                if bases & BUILTIN_EXCEPTIONS and not bases & ERROR_NAMES and node.name != "RagError":
                    offenders.append(f"{module}.{node.name}")
    assert not offenders, "subclass rag.errors.RagError (or one of its subclasses): " + ", ".join(offenders)


def test_errors_keep_their_standard_kind() -> None:
    for name in ERROR_NAMES - {"RagError", "UsageError"}:
        error = getattr(rag.errors, name)
        assert issubclass(error, RagError)
        assert len(error.__mro__) > 3, f"{name}: give it a standard second base (ValueError, RuntimeError...)"


def test_the_cli_prints_a_rag_error_as_one_line(capsys: pytest.CaptureFixture[str], tmp_path) -> None:  # noqa: ANN001
    code = main(["--index", str(tmp_path / "index"), "--corpus", str(tmp_path / "missing"), "ingest"])
    err = capsys.readouterr().err
    assert code == 2 and err.splitlines() == [f"error: corpus folder {tmp_path / 'missing'} does not exist"]
