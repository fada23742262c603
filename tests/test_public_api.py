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
