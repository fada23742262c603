"""What the notebook widgets share: ipywidgets imported when first used, and display.

:class:`_Widget` makes a builder display as its ipywidgets container; :func:`_say` writes
to an Output widget with or without a kernel; :func:`_message` and :func:`_cell` turn
errors and values into the text a widget shows. The widgets themselves are exported by
:mod:`twenty_migrate.widgets`.
"""

from __future__ import annotations

import html
import importlib
import json
import re
import sys
from typing import Any

_ERROR_STYLE = "background:#f8d7da"
_WARNING_STYLE = "background:#fff3cd"
#: An information, not a problem: neutral blue (Bootstrap's "info" alert colours).
_INFO_STYLE = (
    "background:#e7f1ff;border:1px solid #b6d4fe;color:#084298;padding:6px 10px;"
    "border-radius:4px;white-space:pre-wrap"
)
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


def _info_html(text: str) -> str:
    """``text`` in a neutral blue box: a notice, not an error."""
    return f'<div class="twenty-notice" style="{_INFO_STYLE}">{html.escape(text)}</div>'


def show_notice(text: str) -> None:
    """Tell the user something that is not a problem: a blue box in a notebook, else stderr.

    Jupyter paints whatever reaches stderr red, as if it were an error.
    """
    shell = _notebook_shell()
    if shell is None:
        print(text, file=sys.stderr)
        return
    display_module = importlib.import_module("IPython.display")
    display_module.display(display_module.HTML(_info_html(text)))


def _notebook_shell() -> Any:
    """The running Jupyter kernel's shell, or None (a terminal, a script, a test)."""
    if "IPython" not in sys.modules:  # never import IPython just to ask
        return None
    shell = sys.modules["IPython"].get_ipython()
    return shell if type(shell).__name__ == "ZMQInteractiveShell" else None


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
