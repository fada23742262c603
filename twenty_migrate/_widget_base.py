"""What the notebook widgets share: ipywidgets imported when first used, and display.

:class:`_Widget` makes a builder display as its ipywidgets container; :func:`_say` writes
to an Output widget with or without a kernel; :func:`_message` and :func:`_cell` turn
errors and values into the text a widget shows. The widgets themselves are exported by
:mod:`twenty_migrate.widgets`.
"""

from __future__ import annotations

import importlib
import json
from typing import Any

_ERROR_STYLE = "background:#f8d7da"
_WARNING_STYLE = "background:#fff3cd"


def _ipywidgets() -> Any:
    try:
        import ipywidgets
    except ImportError:
        raise ImportError(
            "twenty_migrate.widgets needs ipywidgets 8: pip install 'ipywidgets>=8'"
        ) from None
    return ipywidgets


def _say(output: Any, text: str) -> None:
    """Replace an Output widget's content with ``text`` (works with or without a kernel)."""
    output.outputs = ({"output_type": "stream", "name": "stdout", "text": text.rstrip() + "\n"},)


def _message(exc: BaseException) -> str:
    """``"AuthenticationError: <Twenty's message>"``: the class, then what it says."""
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


class _Widget:
    """Displays as its ``widget``."""

    widget: Any

    def _ipython_display_(self) -> None:
        display = importlib.import_module("IPython.display").display
        display(self.widget)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)
