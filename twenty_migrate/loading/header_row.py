"""Find the header row of a sheet that starts with a title or notes.

People put a title, a date or a filter description above the table (Salesforce's
formatted reports do too). :func:`find_header_row` looks at the first rows and picks the
first one that reads like a header: at least two labels, about as wide as the table
under it, and above it only short rows (one or two cells) or blank ones. When the first
non-empty row qualifies, or nothing does, the answer is that first non-empty row, as
before; :func:`twenty_migrate.loading.load` says which row it used and that
``header_row=`` overrides it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["SCAN_ROWS", "find_header_row"]

#: Rows looked at for a header.
SCAN_ROWS = 30
#: Cells a title or note row may fill.
NOTE_CELLS = 2
_NUMBER_OR_DATE = re.compile(r"^[-+]?[\d\s.,:/\-]+(?:[T ][\d:.]+)?$")


def _filled(row: Sequence[str]) -> list[int]:
    return [i for i, cell in enumerate(row) if str(cell).strip()]


def _reads_like_labels(row: Sequence[str]) -> bool:
    """Header cells are labels: mostly not numbers or dates, and not repeated."""
    cells = [str(c).strip() for c in row if str(c).strip()]
    numeric = sum(1 for c in cells if _NUMBER_OR_DATE.match(c))
    return numeric * 2 < len(cells) and len(set(cells)) * 10 >= len(cells) * 8


def find_header_row(rows: Sequence[Sequence[str]]) -> int | None:
    """The 0-based index of the header row, or None for an empty sheet.

    Args:
        rows: The sheet's rows (cells as text), from the top.
    """
    window = list(rows[:SCAN_ROWS])
    filled = [_filled(r) for r in window]
    first = next((i for i, f in enumerate(filled) if f), None)
    if first is None:
        return None
    widest = max(len(f) for f in filled)
    for index, cells in enumerate(filled):
        if not cells:
            continue
        if _is_header(index, cells, filled, widest, window):
            return index
        if len(cells) > NOTE_CELLS:
            break  # a wide row that is no header: the table starts at the first row
    return first


def _is_header(
    index: int,
    cells: list[int],
    filled: list[list[int]],
    widest: int,
    window: list[Sequence[str]],
) -> bool:
    if len(cells) < 2 or len(cells) * 2 < widest:
        return False
    if not _reads_like_labels(window[index]):
        return False
    below = [f for f in filled[index + 1 : index + 21] if f]
    if not below:
        return index == next(i for i, f in enumerate(filled) if f)
    span = cells[-1]
    fits = sum(1 for f in below if f[-1] <= span)
    return fits * 10 >= len(below) * 9
