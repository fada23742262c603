"""The public API is curated: one sorted ``__all__``, complete, and light to import."""

from __future__ import annotations

import subprocess
import sys
import types

import pytest

import twenty_migrate as tm


def test_all_is_sorted_and_complete():
    public = {
        name
        for name, value in vars(tm).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and name != "annotations"
    }
    assert tm.__all__ == sorted(tm.__all__)
    assert set(tm.__all__) == public | set(tm._LAZY)
    assert set(tm._LAZY) <= set(dir(tm))


def test_lazy_names_resolve_to_their_modules_objects():
    import importlib

    for name, module in tm._LAZY.items():
        assert getattr(tm, name) is getattr(importlib.import_module(module), name)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        tm.nope  # noqa: B018


def test_lazy_names_are_typed_for_checkers():
    """A user's type checker sees each lazy name's real type (``tm.validate`` is a function
    of a frame and an object schema, not ``object``): each is imported for checkers from the
    module that serves it."""
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(tm))
    typed = {
        alias.asname or alias.name: node.module
        for block in tree.body
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for node in block.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    assert typed == tm._LAZY


def test_import_is_light():
    """Importing the package must not pull in notebook, validation or emulator libraries."""
    heavy = ("tqdm", "ipywidgets", "great_expectations", "graphql", "phonenumbers")
    code = (
        "import sys, twenty_migrate\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {heavy!r}))"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert output == "[]"
