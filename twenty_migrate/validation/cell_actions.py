"""What a failure costs: the cell, or the row (:func:`failure_actions`, :func:`empty_cells`).

Twenty refuses a whole record for one bad value, but a migration need not lose the record
for an optional cell: by default a bad value in an optional field is emptied (the record
is imported without it, the problem is reported with the row, column, value and reason,
and the row goes to the fix-me file), and only these set the row aside:

* a required field (Twenty cannot create the record without it);
* a unique field (its value is how Twenty and later runs recognise the record: imported
  without it, the corrected row would become a second record);
* a rule about the whole record: a duplicate within the file, a record of Twenty already
  holding the key when not upserting, several records matching one upsert;
* a failure of the whole table, or of a column that is no field of the object.

With ``strict`` every row Twenty would refuse is set aside: every error but a relation
that could not be made (Twenty takes a record without the link; ``strict_relations`` of
:func:`~twenty_migrate.pipeline.exclusions.keep_valid` sets those rows aside).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

import numpy as np
import pandas as pd

from twenty_migrate.twenty.schema import ObjectSchema
from twenty_migrate.values.payloads import CELLS_EMPTIED_COLUMN, ROW_COLUMN

__all__ = [
    "ACTION_CELL",
    "ACTION_NONE",
    "ACTION_ROW",
    "CELLS_EMPTIED_COLUMN",
    "RELATION_RULES",
    "ROW_RULES",
    "cells_emptied_text",
    "empty_cells",
    "failure_actions",
]

#: ``action`` of an error in an optional field: the cell is emptied, the row imported.
ACTION_CELL = "cell emptied"
#: ``action`` of an error that keeps its row out of the import.
ACTION_ROW = "row set aside"
#: ``action`` of a warning: the value is imported as it is.
ACTION_NONE = "none"
#: Relations by natural key that could not be made: the record is imported without the
#: link unless relations are strict.
RELATION_RULES = frozenset({"unresolved_relation", "ambiguous_relation"})
#: Rules about the whole record: they set the row aside even in an optional field.
ROW_RULES = frozenset({"required", "duplicate_in_file", "exists_in_twenty", "upsert_conflict"})

_REFERENCE = re.compile(r"^_(?:source)?ref\.")
# Sub-fields read together by Twenty: emptying one part alone would change the others'
# meaning (a number read in another country, an amount in another currency).
_TOGETHER = (
    re.compile(r"^(?P<f>[^.]+)\.primaryPhone(?:Number|CountryCode|CallingCode)$"),
    re.compile(r"^(?P<f>[^.]+)\.(?:amountMicros|currencyCode)$"),
)
_PARTS = (
    ("primaryPhoneNumber", "primaryPhoneCountryCode", "primaryPhoneCallingCode"),
    ("amountMicros", "currencyCode"),
)


def _row_column(column: Any, obj: ObjectSchema, unique: Collection[str]) -> bool:
    """Whether an error in ``column`` sets its row aside whatever its rule."""
    if not isinstance(column, str) or not column:
        return True  # the whole table
    name = _REFERENCE.sub("", column)
    if column.startswith("_") and name == column:
        return True
    if name in unique:
        return True
    head = name.split(".", 1)[0]
    field = obj.fields.get(head)
    if field is None:  # a join column (companyId) names its relation field
        field = next((f for f in obj.fields.values() if f.join_column == head), None)
    if field is None:
        return name != "targets"  # task and note targets: a link, optional
    return bool(field.is_required)


def failure_actions(
    failures: pd.DataFrame,
    obj: ObjectSchema,
    *,
    strict: bool = False,
    row_rules: Collection[str] = (),
) -> np.ndarray[Any, Any]:
    """The ``action`` of each failure: :data:`ACTION_CELL`, :data:`ACTION_ROW` or
    :data:`ACTION_NONE` (a warning).

    Args:
        failures: Validation failures (``column``, ``rule``, ``severity``).
        obj: The object validated.
        strict: Every error sets its row aside, but a relation that could not be made.
        row_rules: More rules that set the row aside (e.g. unresolved relations).
    """
    n = len(failures)
    actions = np.full(n, ACTION_NONE, dtype=object)
    if not n:
        return actions
    errors = (failures["severity"] == "error").to_numpy(dtype=bool)
    links = failures["rule"].isin(RELATION_RULES).to_numpy(dtype=bool)
    if strict:
        actions[errors & ~links] = ACTION_ROW
        errors = errors & links  # a link is judged as when not strict
    unique = {path for group in obj.unique_keys for path in group} | {"id"}
    rules = failures["rule"].isin(ROW_RULES | set(row_rules)).to_numpy(dtype=bool)
    verdict = {c: _row_column(c, obj, unique) for c in dict.fromkeys(failures["column"])}
    by_column = np.fromiter((verdict[c] for c in failures["column"]), dtype=bool, count=n)
    actions[errors] = ACTION_CELL
    actions[errors & (rules | by_column)] = ACTION_ROW
    return actions


def _emptied_columns(column: str, columns: Collection[str]) -> list[str]:
    """The columns of the frame emptied for a bad ``column``."""
    for pattern, parts in zip(_TOGETHER, _PARTS, strict=True):
        found = pattern.match(column)
        if found:
            return [f"{found['f']}.{p}" for p in parts if f"{found['f']}.{p}" in columns]
    return [column] if column in columns else []


def empty_cells(frame: pd.DataFrame, failures: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the cells of the :data:`ACTION_CELL` failures emptied (a copy).

    A phone's number, country and calling code are emptied together, as are an amount and
    its currency: Twenty reads each with the other.
    """
    if "action" not in failures.columns or frame.empty:
        return frame
    cells = failures[(failures["action"] == ACTION_CELL) & failures[ROW_COLUMN].notna()]
    if cells.empty:
        return frame
    out = frame.copy()
    rows = out[ROW_COLUMN]
    for column, group in cells.groupby("column", sort=False):
        targets = _emptied_columns(str(column), out.columns)
        if not targets:
            continue
        mask = rows.isin(group[ROW_COLUMN].tolist()).to_numpy(dtype=bool)
        for target in targets:
            values = out[target].astype(object).to_numpy(dtype=object, copy=True)
            values[mask] = None
            out[target] = pd.Series(values, index=out.index, dtype=object)
    return out


def cells_emptied_text(failures: pd.DataFrame) -> dict[Any, str]:
    """Per ``_row``, the cells emptied and why: ``"phones.primaryPhoneNumber: '12' (...)"``."""
    cells = failures[(failures["action"] == ACTION_CELL) & failures[ROW_COLUMN].notna()]
    texts: dict[Any, list[str]] = {}
    for row, column, value, message in zip(
        cells[ROW_COLUMN], cells["column"], cells["value"], cells["message"], strict=True
    ):
        blank = value is None or value is pd.NA or (isinstance(value, float) and value != value)
        shown = "" if blank else f" {value!r}"
        texts.setdefault(row, []).append(f"{column}{shown} emptied ({message})")
    return {row: "; ".join(parts) for row, parts in texts.items()}
