"""The import graph of the first-party code: one way, no cycles.

Every import statement counts, at module level or inside a function (those run too, only later), and so do
imports under `if TYPE_CHECKING:`. `from package import name` is an edge to the submodule `package.name` when
there is one, else to `package`. Running a submodule also runs its package's `__init__`; those implicit
edges are left out, as import-linter and pylint's cyclic-import leave them out.
"""

from __future__ import annotations

import ast
import inspect
from collections.abc import Iterator
from pathlib import Path

from tests.helpers import INSTALLED_AS, ROOT, first_party_files


def imported_names(path: Path, module: str) -> Iterator[tuple[str, tuple[str, ...]]]:
    """(module named, names imported from it) for every import statement in the file."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, ()
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            yield base, tuple(alias.name for alias in node.names)


def import_graph() -> dict[str, set[str]]:
    modules = first_party_files()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for module, path in modules.items():
        for target, names in imported_names(path, module):
            submodules = {f"{target}.{name}" for name in names} & modules.keys()
            if submodules:
                graph[module] |= submodules
            if target in modules and len(submodules) < len(names or (None,)):
                graph[module].add(target)
    for module in graph:
        graph[module].discard(module)
    return graph


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for nxt in graph[todo.pop()] - seen:
            seen.add(nxt)
            todo.append(nxt)
    return seen


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_graph_sees_function_level_and_relative_imports(tmp_path: Path) -> None:
    # The parser on a file written here: a function-level import and a relative one are both edges.
    source = tmp_path / "mod.py"
    source.write_text("import os\n\ndef f():\n    from rag.cli.common import out\n    from . import sibling\n",
                      encoding="utf-8")
    names = list(imported_names(source, "rag.answer.mod"))
    assert ("rag.cli.common", ("out",)) in names and ("rag.answer", ("sibling",)) in names
    graph = import_graph()
    assert "rag.cli.common" in graph["rag.cli.ask"]  # module level
    assert "rag.sync" in graph["rag.cli.ingest"]  # function level only
    assert {"a", "b"} in [set(c) for c in cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}})]


def test_no_first_party_module_imports_a_module_that_imports_it_back() -> None:
    found = cycles(import_graph())
    assert not found, "import cycles: " + "; ".join(" ↔ ".join(cycle) for cycle in found)


def test_nothing_below_the_cli_imports_the_cli() -> None:
    graph = import_graph()
    below = [m for m in graph if m.split(".")[0] == "rag" and not m.startswith("rag.cli.") and m != "rag.cli"]
    offenders = {m: sorted(t for t in reachable(graph, m) if t == "rag.cli" or t.startswith("rag.cli."))
                 for m in below}
    assert not {m: t for m, t in offenders.items() if t}


def test_the_cli_lists_every_command_module() -> None:
    import rag.cli
    from rag.cli.commands import COMMANDS

    assert inspect.isfunction(rag.cli.main)  # the console script's target, not shadowed by a submodule

    modules = {p.stem for p in (ROOT / "rag" / "cli").glob("*.py")} - {"__init__", "__main__", "commands", "common"}
    assert {command.__name__.rpartition(".")[2] for command in COMMANDS} == modules
    for command in COMMANDS:
        assert callable(command.register)


def test_tests_import_helpers_not_conftest_nor_other_tests() -> None:
    graph = import_graph()
    wrong = {m: sorted(t for t in targets if t == "tests.conftest" or t.rpartition(".")[2].startswith("test_"))
             for m, targets in graph.items()}
    assert not {m: t for m, t in wrong.items() if t}, "import shared test code from tests/helpers.py"


def test_no_module_edits_sys_path() -> None:
    """bench/ runs as `python -m bench.NAME` and tests under pytest: both import the project as it is."""
    offenders = []
    for module, path in first_party_files().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Attribute) and node.attr in ("insert", "append", "extend")
                    and isinstance(node.value, ast.Attribute) and node.value.attr == "path"
                    and isinstance(node.value.value, ast.Name) and node.value.value.id == "sys"):
                offenders.append(f"{module}:{node.lineno}")
    assert not offenders


def test_ui_and_evals_are_imported_by_their_installed_names() -> None:
    """The wheel ships only `rag` (with rag.ui and rag.evals): an `import ui` would work here and fail installed."""
    offenders = [f"{module}: {target}" for module, path in first_party_files().items()
                 for target, _ in imported_names(path, module) if target.split(".")[0] in INSTALLED_AS]
    assert not offenders
