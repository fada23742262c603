"""Notices for the user: a neutral blue box in a notebook, plain stderr elsewhere."""

from __future__ import annotations

import html
import importlib
import sys
from typing import Any

#: An information, not a problem: neutral blue (Bootstrap's "info" alert colours).
_INFO_STYLE = (
    "background:#e7f1ff;border:1px solid #b6d4fe;color:#084298;padding:6px 10px;"
    "border-radius:4px;white-space:pre-wrap"
)


def notice_html(text: str) -> str:
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
    display_module.display(display_module.HTML(notice_html(text)))


def _notebook_shell() -> Any:
    """The running Jupyter kernel's shell, or None (a terminal, a script, a test)."""
    if "IPython" not in sys.modules:  # never import IPython just to ask
        return None
    shell = sys.modules["IPython"].get_ipython()
    return shell if type(shell).__name__ == "ZMQInteractiveShell" else None
