"""From DataFrame cells to the JSON records Twenty takes.

* :func:`to_json_value` turns a cell into a JSON-safe Python value (numpy scalars to
  Python, timestamps to ISO strings, NaN/None/NA/NaT to "missing": left out of the record).
* :func:`unflatten` turns field paths into nested objects
  (``{"name.firstName": "Ada"}`` -> ``{"name": {"firstName": "Ada"}}``).
* Relation markers ``{"$ref": [object, _row]}`` stand for "the id that row of an earlier
  step got in Twenty"; the importer replaces them (:func:`replace_refs`) before sending.
* :func:`canonical_json` gives one text per value (fingerprints, sizes, the journal).
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
import uuid
from collections.abc import Iterable, Mapping
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

__all__ = [
    "REF_KEY",
    "ROW_COLUMN",
    "RowId",
    "canonical_json",
    "check_paths",
    "flatten",
    "frame_cells",
    "is_ref",
    "iter_refs",
    "replace_refs",
    "row_id",
    "to_json_value",
    "unflatten",
]

RowId: TypeAlias = int | str

#: Column holding the stable source-row id.
ROW_COLUMN = "_row"
#: Marker of a relation to another step's row in a payload: ``{"$ref": [object, _row]}``.
REF_KEY = "$ref"
#: What :func:`to_json_value` returns for an empty cell.
MISSING: Any = object()

_CANONICAL = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


def canonical_json(value: Any) -> str:
    """Compact, key-sorted JSON: the same value always gives the same text."""
    return _CANONICAL.encode(value)


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float | np.floating):
        return math.isnan(value)
    if isinstance(value, np.datetime64 | np.timedelta64):
        return bool(np.isnat(value))
    return False


def to_json_value(value: Any) -> Any:
    """Convert one DataFrame cell to a JSON-safe Python value (``MISSING`` when empty).

    numpy scalars become Python scalars, timestamps ISO strings, arrays lists, and the
    empties pandas uses (NaN, None, NA, NaT) the ``MISSING`` marker.
    """
    kind = type(value)
    if kind is str or kind is int:  # the common cases first
        return value
    if kind is float:
        if math.isinf(value):
            raise ValueError(f"infinite number {value!r} cannot be sent to Twenty")
        return MISSING if math.isnan(value) else value
    if _is_missing(value):
        return MISSING
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        number = float(value)
        if math.isinf(number):
            raise ValueError(f"infinite number {value!r} cannot be sent to Twenty")
        return number
    if isinstance(value, str):
        return value
    if isinstance(value, pd.Timestamp | dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, np.datetime64):
        return pd.Timestamp(value).isoformat()
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _inner(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray | pd.Series):
        return [_inner(v) for v in value]
    raise TypeError(f"cannot send a {type(value).__name__} value to Twenty: {value!r}")


def _inner(value: Any) -> Any:
    """Like :func:`to_json_value` inside a list or dict, where an empty stays ``None``."""
    converted = to_json_value(value)
    return None if converted is MISSING else converted


def row_id(value: Any, position: int) -> RowId:
    if _is_missing(value):
        raise ValueError(f"`_row` is empty at position {position}; every row needs an id")
    if isinstance(value, bool | np.bool_):
        raise TypeError(f"`_row` must hold str or int ids, not bool (position {position})")
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, str):
        return value
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return int(value)  # an int column pandas turned to float (it had an empty cell)
    raise TypeError(
        f"`_row` must hold str or int ids, not {type(value).__name__} {value!r} (position "
        f"{position}); e.g. df['_row'] = range(len(df)) right after loading"
    )


def unflatten(flat: Mapping[str, Any]) -> dict[str, Any]:
    """``{"name.firstName": "Ada"}`` -> ``{"name": {"firstName": "Ada"}}``."""
    nested: dict[str, Any] = {}
    for path, value in flat.items():
        parts = path.split(".")
        node = nested
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ValueError(f"field path {path!r} conflicts with a value at {part!r}")
            node = child
        if parts[-1] in node:
            raise ValueError(f"field path {path!r} is given twice")
        node[parts[-1]] = value
    return nested


def flatten(record: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"name": {"firstName": "Ada"}}`` -> ``{"name.firstName": "Ada"}`` (the inverse of
    :func:`unflatten`; an empty object stays one value)."""
    out: dict[str, Any] = {}
    for key, value in record.items():
        if isinstance(value, Mapping) and value:
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def is_ref(value: Any) -> bool:
    """Whether ``value`` is a relation marker ``{"$ref": [object, _row]}``."""
    return isinstance(value, dict) and len(value) == 1 and REF_KEY in value


def iter_refs(payload: Mapping[str, Any], prefix: str = "") -> Iterable[tuple[str, str, RowId]]:
    """``(field path, object, _row)`` of every relation marker in a payload."""
    for key, value in payload.items():
        if is_ref(value):
            target, row = value[REF_KEY]
            yield f"{prefix}{key}", str(target), row
        elif isinstance(value, Mapping):
            yield from iter_refs(value, f"{prefix}{key}.")


def replace_refs(payload: Mapping[str, Any], ids: Mapping[str, str]) -> dict[str, Any]:
    """A copy of ``payload`` with each marker replaced by ``ids[field path]``."""

    def walk(node: Mapping[str, Any], prefix: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in node.items():
            path = f"{prefix}{key}"
            if is_ref(value):
                out[key] = ids[path]
            elif isinstance(value, Mapping):
                out[key] = walk(value, path + ".")
            else:
                out[key] = value
        return out

    return walk(payload, "")


def check_paths(columns: Iterable[str]) -> None:
    """Refuse columns that are not field paths Twenty can store.

    A column starting with ``_`` is the toolkit's own (``_ref.companyId`` holds a related
    record's natural key, not a field): sending it would write ``{"_ref": {...}}``.
    """
    names = sorted(columns)
    for column in names:
        if not column or any(not part for part in column.split(".")):
            raise ValueError(f"invalid field path {column!r}")
    internal = [c for c in names if c.startswith("_")]
    if internal:
        raise ValueError(
            f"columns {internal} are not Twenty fields: natural-key columns (_ref.*) are "
            "resolved by tm.resolve_relations (tm.prepare does it all), others dropped"
        )
    for first, second in zip(names, names[1:], strict=False):
        if second.startswith(first + "."):
            raise ValueError(f"columns {first!r} and {second!r} overlap; keep one of them")


def frame_cells(frame: pd.DataFrame) -> list[list[Any]]:
    """Converted cells, row by row, with ``None`` for empties (the saved-plan form)."""
    return [[_inner(v) for v in row] for row in frame.itertuples(index=False, name=None)]


#: Prefix of the columns that hold natural keys of related records (see the module doc).
REF_PREFIX = "_ref."


#: Prefix of the columns that name related records by the source system's ids
#: (:mod:`~twenty_migrate.relations.source_refs`): ``_sourceref.companyId``, ``_sourceref.targets``.
SOURCE_REF_PREFIX = "_sourceref."


#: Column of the mapped rows holding each row's own source id (:attr:`FieldMap.source_id`).
SOURCE_ID_COLUMN = "_source_id"
#: Twenty's field the source ids are stored in when ``store_source_id`` names none.
DEFAULT_SOURCE_ID_FIELD = "sourceId"


def source_id_field(store_source_id: bool | str) -> str:
    """The field source ids are stored in (and looked up by): the one named, else the default."""
    return (
        store_source_id
        if isinstance(store_source_id, str) and store_source_id
        else (DEFAULT_SOURCE_ID_FIELD)
    )


#: Key columns naming a task's or note's records (several source columns may feed them).
TARGET_KEY_PATHS = frozenset({REF_PREFIX + "targets", SOURCE_REF_PREFIX + "targets"})


#: Column of the source rows kept in a run's journal naming the cells emptied on import;
#: the fix-me file lists those rows with it.
CELLS_EMPTIED_COLUMN = "_cells_emptied"
