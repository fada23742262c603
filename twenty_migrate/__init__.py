"""Move CRM exports and spreadsheets into Twenty CRM from a notebook."""

from __future__ import annotations

__version__ = "0.1.0"
