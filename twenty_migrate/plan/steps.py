"""One object's rows as Twenty records: :class:`ObjectStep`, and references to existing records."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from twenty_migrate.values.payloads import (
    MISSING,
    REF_KEY,
    ROW_COLUMN,
    SOURCE_ID_COLUMN,
    RowId,
    check_paths,
    frame_cells,
    row_id,
    to_json_value,
    unflatten,
)

#: Prefix of a ``refs`` cell naming a record already in Twenty (``"twenty:<uuid>"``).
EXISTING_PREFIX = "twenty:"


def existing_ref(twenty_id: str | uuid.UUID) -> str:
    """The ``refs`` cell for a record already in Twenty: ``"twenty:<id>"``, sent as the id.

    Example:
        >>> existing_ref("0b7d2f4e-5c1a-4f7e-9a8b-3c2d1e0f9a8b")
        'twenty:0b7d2f4e-5c1a-4f7e-9a8b-3c2d1e0f9a8b'
    """
    try:
        return EXISTING_PREFIX + str(uuid.UUID(str(twenty_id)))
    except ValueError:
        raise ValueError(f"{twenty_id!r} is not a Twenty record id (a UUID)") from None


def _existing_id(value: str) -> str | None:
    """The id in an ``existing_ref`` cell, or None when ``value`` is not one."""
    if not value.startswith(EXISTING_PREFIX):
        return None
    try:
        return str(uuid.UUID(value[len(EXISTING_PREFIX) :]))
    except ValueError:
        raise ValueError(
            f"{value!r} starts with {EXISTING_PREFIX!r} but is not followed by a Twenty "
            "record id (a UUID); use existing_ref(id)"
        ) from None


@dataclass(frozen=True, eq=False)
class ObjectStep:
    """The rows to write into one Twenty object.

    Args:
        object: Twenty object name as Twenty spells it (``"people"``, ``"companies"``).
        records: One row per record; a ``_row`` column (unique str/int source-row ids) and
            columns named by field paths (``"emails.primaryEmail"``, ``"companyId"``).
        key: A unique field path used to recognise the record Twenty matched when it
            updates an existing one (default: the object's known unique fields).
        upsert: Update records that already exist (by id or unique field) instead of
            failing on them. Keeps replays idempotent; leave it on unless you know why.
        source: Optional original rows (with ``_row``) kept in the journal for the
            fix-me file; by default the step's own columns are kept.
        refs: Relation columns that hold ``_row`` ids of an earlier step, by field path:
            ``{"companyId": "companies"}``. The importer sends the id that row got in
            Twenty (its own, or the existing record's when it was an update); a row whose
            target failed fails too, with a message naming it. A cell may instead name a
            record already in Twenty as ``existing_ref(id)`` (``"twenty:<id>"``), which is
            sent as that id.
        source_key: A column holding the source system's record id (in ``records`` or in
            ``source``, e.g. ``"Account ID"``): the row's identity, so its Twenty id stays
            the same whatever else of the row changes (:mod:`twenty_migrate.plan.record_ids`).

    Example:
        >>> step = ObjectStep("people", df[["_row", "name.firstName", "companyId"]],
        ...                   key="emails.primaryEmail", refs={"companyId": "companies"})
    """

    object: str
    records: pd.DataFrame
    key: str | None = None
    upsert: bool = True
    source: pd.DataFrame | None = None
    refs: Mapping[str, str] | None = None
    source_key: str | None = None
    _rows: tuple[RowId, ...] = field(init=False, repr=False)
    _row_refs: dict[str, str] = field(init=False, repr=False)
    _payloads: tuple[dict[str, Any], ...] = field(init=False, repr=False)
    _columns: list[list[Any]] = field(init=False, repr=False)

    @property
    def _cells(self) -> list[list[Any]]:
        """Converted cells row by row (``None`` for empties; relation cells as read)."""
        return [list(row) for row in zip(*self._cells_by_column(), strict=True)]

    def _cells_by_column(self) -> list[list[Any]]:
        return [[None if v is MISSING else v for v in column] for column in self._columns]

    def __post_init__(self) -> None:
        if not isinstance(self.object, str) or not self.object:
            raise ValueError("object must be a Twenty object name such as 'people'")
        if not isinstance(self.records, pd.DataFrame):
            raise TypeError(f"records must be a DataFrame, not {type(self.records).__name__}")
        if ROW_COLUMN not in self.records.columns:
            raise ValueError(
                "records need a `_row` column (a stable source-row id); add it right after "
                "loading, e.g. df.insert(0, '_row', range(len(df)))"
            )
        records = self.records.copy()
        records.columns = [str(c) for c in records.columns]
        if SOURCE_ID_COLUMN in records.columns:  # the rows' source ids (FieldMap.source_id)
            records, source, source_key = _split_source_ids(records, self.source, self.source_key)
            object.__setattr__(self, "source", source)
            object.__setattr__(self, "source_key", source_key)
        fields = [c for c in records.columns if c != ROW_COLUMN]
        check_paths(fields)
        if self.key is not None and self.key not in fields:
            raise ValueError(f"key {self.key!r} is not a column of the {self.object} records")
        refs = {str(k): str(v) for k, v in (self.refs or {}).items()}
        for column in refs:
            if column not in fields:
                raise ValueError(f"ref {column!r} is not a column of the {self.object} records")
        rows = tuple(row_id(v, i) for i, v in enumerate(records[ROW_COLUMN].tolist()))
        if len(set(rows)) != len(rows):
            seen: set[RowId] = set()
            dupes = [r for r in rows if r in seen or seen.add(r)]  # type: ignore[func-returns-value]
            raise ValueError(f"`_row` must be unique; repeated: {dupes[:5]}")
        columns = list(records.columns)
        values: list[list[Any]] = []  # converted cells, column by column
        paths: list[str] = []
        sent: list[list[Any]] = []  # the same with relation cells as sent
        row_refs: dict[str, str] = {}
        for column in columns:
            if column == ROW_COLUMN:
                values.append(list(rows))
                continue
            converted = _convert_column(self.object, column, records[column], rows)
            values.append(converted)
            target = refs.get(column)
            if target is not None:
                converted = _ref_cells(converted, target)
                if any(isinstance(v, dict) for v in converted):
                    row_refs[column] = target
            paths.append(column)
            sent.append(converted)
        payloads = _payloads(paths, sent, len(rows))
        source = self.source
        if source is not None:
            if ROW_COLUMN not in source.columns:
                raise ValueError("source needs the same `_row` column as records")
            source = source.copy()
        key_frame = records if self.source_key in fields else source
        if self.source_key is not None and (
            key_frame is None or self.source_key not in key_frame.columns
        ):
            raise ValueError(
                f"source_key {self.source_key!r} is not a column of the {self.object} records "
                "or of their source rows"
            )
        object.__setattr__(self, "records", records)
        object.__setattr__(self, "source", source)
        object.__setattr__(self, "refs", refs or None)
        object.__setattr__(self, "_rows", rows)
        object.__setattr__(self, "_row_refs", row_refs)
        object.__setattr__(self, "_payloads", tuple(payloads))
        object.__setattr__(self, "_columns", values)

    def __repr__(self) -> str:
        fields = [c for c in self.records.columns if c != ROW_COLUMN]
        return (
            f"ObjectStep(object={self.object!r}, rows={len(self._rows)}, fields={fields!r}, "
            f"key={self.key!r}, upsert={self.upsert!r})"
        )

    def __len__(self) -> int:
        return len(self._rows)

    @property
    def rows(self) -> tuple[RowId, ...]:
        """The ``_row`` ids, in record order."""
        return self._rows

    @property
    def row_refs(self) -> dict[str, str]:
        """The ``refs`` columns holding at least one ``_row`` (not only Twenty ids), with
        their target objects: the steps this one must come after."""
        return dict(self._row_refs)

    def to_payloads(self) -> list[dict[str, Any]]:
        """One nested JSON-safe dict per record, empty cells left out.

        Example:
            >>> ObjectStep("people", pd.DataFrame({"_row": [1], "name.firstName": ["Ada"],
            ...     "emails.primaryEmail": [None]})).to_payloads()
            [{'name': {'firstName': 'Ada'}}]
        """
        return [json.loads(json.dumps(p)) for p in self._payloads]

    def sources(self) -> dict[RowId, dict[str, Any]]:
        """Original values per ``_row`` (``source`` if given, else the step's columns)."""
        if self.source is None:
            columns = list(self.records.columns)
            return {
                r: dict(zip(columns, c, strict=True))
                for r, c in zip(self._rows, self._cells, strict=True)
            }
        frame = self.source
        columns = [str(c) for c in frame.columns]
        ids = [row_id(v, i) for i, v in enumerate(frame[ROW_COLUMN].tolist())]
        out: dict[RowId, dict[str, Any]] = {}
        for key, cells in zip(ids, frame_cells(frame), strict=True):
            out[key] = dict(zip(columns, cells, strict=True))
        return out

    def source_ids(self) -> list[Any] | None:
        """The ``source_key`` value of each row, in record order (None without a key)."""
        if self.source_key is None:
            return None
        if self.source_key in self.records.columns:
            frame = self.records
        else:
            assert self.source is not None  # checked when the step was made
            frame = self.source
        ids = [row_id(v, i) for i, v in enumerate(frame[ROW_COLUMN].tolist())]
        values = [to_json_value(v) for v in frame[self.source_key].to_numpy(dtype=object)]
        found = dict(zip(ids, values, strict=True))
        return [None if found.get(r, MISSING) is MISSING else found[r] for r in self._rows]

    def head(self, n: int) -> ObjectStep:
        """The same step with only its first ``n`` records."""
        source = self.source
        if source is not None:
            source = source[source[ROW_COLUMN].isin(list(self._rows[:n]))]
        return ObjectStep(
            self.object,
            self.records.head(n),
            self.key,
            self.upsert,
            source,
            self.refs,
            self.source_key,
        )

    def _to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "object": self.object,
            "key": self.key,
            "upsert": self.upsert,
            "refs": dict(self.refs or {}),
            "source_key": self.source_key,
            "columns": [str(c) for c in self.records.columns],
            "data": self._cells,
            "source": None,
        }
        if self.source is not None:
            data["source"] = {
                "columns": [str(c) for c in self.source.columns],
                "data": frame_cells(self.source),
            }
        return data

    @classmethod
    def _from_json(cls, data: Mapping[str, Any]) -> ObjectStep:
        records = pd.DataFrame(data["data"], columns=data["columns"], dtype=object)
        source = None
        if data.get("source"):
            src = data["source"]
            source = pd.DataFrame(src["data"], columns=src["columns"], dtype=object)
        upsert = bool(data.get("upsert", True))
        return cls(
            data["object"],
            records,
            data.get("key"),
            upsert,
            source,
            data.get("refs"),
            data.get("source_key"),
        )


def _convert_column(
    object_name: str, column: str, series: pd.Series[Any], rows: tuple[RowId, ...]
) -> list[Any]:
    """A column's cells as JSON values (``MISSING`` for empties)."""
    converted = []
    for position, value in enumerate(series.to_numpy(dtype=object)):
        try:
            converted.append(to_json_value(value))
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"{object_name} _row={rows[position]!r} {column}: {exc}") from None
    return converted


def _ref_cells(converted: list[Any], target: str) -> list[Any]:
    """Relation cells: an existing record's id, or a marker of the target step's row."""
    out: list[Any] = []
    for position, value in enumerate(converted):
        if value is MISSING:
            out.append(value)
            continue
        existing = _existing_id(value) if isinstance(value, str) else None
        out.append(
            existing if existing is not None else {REF_KEY: [target, row_id(value, position)]}
        )
    return out


def _payloads(paths: list[str], columns: list[list[Any]], n: int) -> list[dict[str, Any]]:
    """One nested record per row from converted columns (empties left out)."""
    if any(path.count(".") > 1 for path in paths):  # deeper than Twenty's composites
        return [
            unflatten({p: c[r] for p, c in zip(paths, columns, strict=True) if c[r] is not MISSING})
            for r in range(n)
        ]
    unflatten(dict.fromkeys(paths, 0))  # conflicting paths fail here, once
    specs: list[tuple[str, str | None, list[Any]]] = []
    for path, values in zip(paths, columns, strict=True):
        head, _, rest = path.partition(".")
        specs.append((head, rest or None, values))
    payloads = []
    for r in range(n):
        payload: dict[str, Any] = {}
        for head, tail, values in specs:
            value = values[r]
            if value is MISSING:
                continue
            if tail is None:
                payload[head] = value
            else:
                node = payload.get(head)
                if node is None:
                    node = payload[head] = {}
                node[tail] = value
        payloads.append(payload)
    return payloads


def _split_source_ids(
    frame: pd.DataFrame, source: pd.DataFrame | None, source_key: str | None
) -> tuple[pd.DataFrame, pd.DataFrame | None, str | None]:
    """Records without their ``_source_id`` column, which becomes the step's source key
    (kept with the source rows) unless one is named already."""
    records = frame.drop(columns=[SOURCE_ID_COLUMN])
    if source_key is not None:
        return records, source, source_key
    ids = frame[[ROW_COLUMN, SOURCE_ID_COLUMN]]
    if source is None:
        source = frame
    else:
        source = source.drop(columns=[SOURCE_ID_COLUMN], errors="ignore").merge(
            ids, on=ROW_COLUMN, how="left"
        )
    return records, source, SOURCE_ID_COLUMN
