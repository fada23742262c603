"""What the notebook widgets share: ipywidgets imported when first used, and display.

:class:`_Widget` makes a builder display as its ipywidgets container; :func:`_say` writes
to an Output widget with or without a kernel; :func:`_message` and :func:`_cell` turn
errors and values into the text a widget shows. The widgets themselves are exported by
:mod:`twenty_migrate.widgets`.
"""

from __future__ import annotations

import importlib
import json
import re
from typing import Any

_ERROR_STYLE = "background:#f8d7da"
_WARNING_STYLE = "background:#fff3cd"
#: Let long lines of the widgets' labels and outputs wrap instead of running off the cell
#: (a Label is one line, cut with an ellipsis; an Output's text is preformatted).
_WRAP_CSS = (
    "<style>.twenty-wrap,.twenty-wrap pre,.twenty-wrap .widget-label"
    "{white-space:pre-wrap !important;word-break:break-word;overflow-wrap:anywhere;"
    "height:auto;overflow:visible;text-overflow:clip}</style>"
)
_PUNYCODE_EMAIL = re.compile(r"^[^@\s]+@(?:[^@\s.]+\.)*xn--[^@\s]*$", re.IGNORECASE)


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


def unicode_email(address: str) -> str:
    """An email whose domain is punycode, shown with its Unicode form as well:
    ``admin@xn--ls8h.la (admin@💩.la)``; any other text as it is."""
    if not _PUNYCODE_EMAIL.match(address):
        return address
    local, _, domain = address.rpartition("@")
    labels = []
    for label in domain.split("."):
        if label.lower().startswith("xn--"):
            try:
                label = label[4:].encode("ascii").decode("punycode")
            except (UnicodeError, ValueError):  # not valid punycode: show it as sent
                return address
        labels.append(label)
    return f"{address} ({local}@{'.'.join(labels)})"


def _shown(value: Any) -> str:
    """A cell's text for a person to read: :func:`_cell`, with punycode emails spelled out."""
    if isinstance(value, str):
        return unicode_email(value)
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return _cell([unicode_email(v) for v in value])
    return _cell(value)


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
