"""The package's layout contract, read from the source.

* The stages: each subpackage of ``twenty_migrate`` imports only from the stages below it
  (:data:`STAGES`, the table of the README's Development section).
* The sandbox is an independent oracle of Twenty: it shares no code with the client side,
  and the client starts a sandbox only in the few places meant to.
* No import cycle between modules, and no module over 600 lines.

Imports are read from the source (AST), lazy imports inside functions included; imports
under ``if TYPE_CHECKING:`` are ignored (they never run).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "twenty_migrate"
SANDBOX = PACKAGE / "sandbox"

#: (module, enclosing function) pairs of the client side allowed to import the sandbox:
#: each one starts a sandbox for a user who asked for one.
SANDBOX_STARTERS: frozenset[tuple[str, str]] = frozenset(
    {
        ("twenty_migrate.twenty.client", "connect"),  # connect() without credentials
        ("twenty_migrate.ui.demo", "run_demo"),  # the demo runs against a sandbox
        ("twenty_migrate.ui.cli", "main"),  # `twenty-migrate sandbox` serves one
        ("twenty_migrate.widgets", "_sandbox_client"),  # the notebook's "try it" button
    }
)


#: Each stage of the pipeline and the stages it may import, bottom to top. The sandbox is
#: not a stage: only :data:`SANDBOX_STARTERS` reach it.
STAGES: dict[str, frozenset[str]] = {
    "twenty": frozenset(),
    "values": frozenset({"twenty"}),
    "clean": frozenset({"twenty", "values"}),
    "loading": frozenset({"twenty", "values", "clean"}),
    "mapping": frozenset({"twenty", "values", "clean"}),
    "plan": frozenset({"twenty", "values"}),
    "run": frozenset({"twenty", "values", "plan"}),
    "relations": frozenset({"twenty", "values", "clean", "loading", "mapping", "plan", "run"}),
    "validation": frozenset({"twenty", "values", "mapping", "relations"}),
    "verify": frozenset({"twenty", "values", "plan", "run"}),
    "pipeline": frozenset(
        {"twenty", "values", "clean", "loading", "mapping", "plan", "run", "relations"}
        | {"validation", "verify"}
    ),
    "ui": frozenset(
        {"twenty", "values", "clean", "loading", "mapping", "plan", "run", "relations"}
        | {"validation", "verify", "pipeline"}
    ),
}
#: Modules directly in the package: the public facade and the widgets' namespace.
TOP_MODULES = frozenset({"twenty_migrate", "twenty_migrate.__main__", "twenty_migrate.widgets"})
MAX_MODULE_LINES = 600


@dataclass(frozen=True)
class FoundImport:
    module: str  # the importing module, dotted
    line: int
    function: str  # the innermost enclosing function, "" at module level
    target: str  # the imported module, absolute

    def __str__(self) -> str:
        where = f" in {self.function}()" if self.function else ""
        return f"{self.module}:{self.line}{where} imports {self.target}"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _absolute(module: str, is_package: bool, node: ast.ImportFrom) -> list[str]:
    if node.level == 0:
        base = node.module or ""
    else:
        package = module.split(".") if is_package else module.split(".")[:-1]
        package = package[: len(package) - (node.level - 1)]
        base = ".".join(package + ([node.module] if node.module else []))
    if node.module is None:  # `from . import x`: x may be a module
        return [f"{base}.{alias.name}" for alias in node.names]
    return [base]


def imports_of(path: Path) -> Iterator[FoundImport]:
    """Every import a module runs, with the function it sits in."""
    module = _module_name(path)
    is_package = path.name == "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))

    def visit(node: ast.AST, function: str) -> Iterator[FoundImport]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for other in child.orelse:
                    yield from visit_one(other, function)
                continue
            yield from visit_one(child, function)

    def visit_one(node: ast.AST, function: str) -> Iterator[FoundImport]:
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield FoundImport(module, node.lineno, function, alias.name)
        elif isinstance(node, ast.ImportFrom):
            for target in _absolute(module, is_package, node):
                yield FoundImport(module, node.lineno, function, target)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield from visit(node, node.name)
        else:
            yield from visit(node, function)

    yield from visit(tree, "")


def _inside(target: str, package: str) -> bool:
    return target == package or target.startswith(package + ".")


def _sources(root: Path) -> list[Path]:
    return sorted(root.rglob("*.py"))


def test_the_sandbox_imports_nothing_from_the_client_side():
    offending = [
        str(found)
        for path in _sources(SANDBOX)
        for found in imports_of(path)
        if _inside(found.target, "twenty_migrate")
        and not _inside(found.target, "twenty_migrate.sandbox")
    ]
    assert not offending, "the sandbox must keep its own code:\n" + "\n".join(offending)


def test_the_client_side_starts_a_sandbox_only_where_it_is_meant_to():
    client_files = [p for p in _sources(PACKAGE) if SANDBOX not in p.parents]
    found = [
        imp
        for path in client_files
        for imp in imports_of(path)
        if _inside(imp.target, "twenty_migrate.sandbox")
    ]
    offending = [str(imp) for imp in found if (imp.module, imp.function) not in SANDBOX_STARTERS]
    assert not offending, "only the sandbox starters may import it:\n" + "\n".join(offending)
    # Every listed starter still exists (a stale list would hide a moved import).
    assert {(imp.module, imp.function) for imp in found} == SANDBOX_STARTERS


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from twenty_migrate.values.jsvalues import x", ["twenty_migrate.values.jsvalues"]),
        ("from .. import values", ["twenty_migrate.values"]),
        ("from ..dates import f", ["twenty_migrate.dates"]),
        ("def f():\n    import twenty_migrate.plan.plan\n", ["twenty_migrate.plan.plan"]),
        ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import twenty_migrate\n", []),
        ("from .jsvalues import inspect_js", ["twenty_migrate.sandbox.jsvalues"]),
    ],
)
def test_the_contract_reads_imports_as_python_runs_them(tmp_path, monkeypatch, source, expected):
    fake_package = tmp_path / "twenty_migrate"
    (fake_package / "sandbox").mkdir(parents=True)
    path = fake_package / "sandbox" / "probe.py"
    path.write_text(source, encoding="utf-8")
    monkeypatch.setattr(f"{__name__}.PACKAGE", fake_package)
    targets = [
        imp.target
        for imp in imports_of(path)
        if _inside(imp.target, "twenty_migrate") or imp.target.startswith("twenty_migrate")
    ]
    assert targets == expected


def _stage(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in STAGES else None


def test_every_module_sits_in_a_stage_or_is_the_facade():
    modules = {_module_name(p) for p in _sources(PACKAGE) if SANDBOX not in p.parents}
    loose = sorted(m for m in modules if _stage(m) is None and m not in TOP_MODULES)
    assert not loose, f"modules outside the stage subpackages: {loose}"
    assert {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()} == (
        set(STAGES) | {"sandbox"}
    )


def test_each_stage_imports_only_the_stages_below_it():
    offending = []
    for path in _sources(PACKAGE):
        module = _module_name(path)
        stage = _stage(module)
        if stage is None:
            continue
        for found in imports_of(path):
            target = _stage(found.target)
            if target is not None and target != stage and target not in STAGES[stage]:
                offending.append(f"{found} (stage {stage} may import {sorted(STAGES[stage])})")
    assert not offending, "imports against the layering:\n" + "\n".join(offending)


def test_the_stage_table_is_ordered_bottom_to_top():
    seen: set[str] = set()
    for stage, allowed in STAGES.items():
        assert allowed <= seen, f"{stage} may import a stage listed above it: {allowed - seen}"
        seen.add(stage)


def test_no_import_cycle_between_modules():
    graph: dict[str, set[str]] = {}
    modules = {_module_name(p): p for p in _sources(PACKAGE) if p.name != "__init__.py"}
    for name, path in modules.items():
        graph[name] = {
            candidate
            for found in imports_of(path)
            for candidate in (found.target, found.target.rsplit(".", 1)[0])
            if candidate in modules and candidate != name
        }
    cycles = _cycles(graph)
    assert not cycles, f"import cycles: {cycles}"


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in graph:
        if node not in index:
            visit(node)
    return groups


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_module_is_longer_than_the_limit():
    long = {
        str(p.relative_to(PACKAGE.parent)): n
        for p in _sources(PACKAGE)
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert not long, f"modules over {MAX_MODULE_LINES} lines: {long}"
