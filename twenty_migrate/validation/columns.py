"""The frame's columns as field paths of the object, and their unique keys: :func:`prepare`.

:func:`frame_of` takes the rows and their ``_row`` ids; :func:`resolve_paths` names the
field and composite part each column writes (and refuses the columns Twenty would
refuse); each column gets the check of its type; :func:`prepare` gathers them in
:class:`Prepared` with, for unique keys, the values as Twenty compares them. The
expectations of :mod:`twenty_migrate.validation.expectations` run the checks.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from twenty_migrate.twenty.errors import MappingError
from twenty_migrate.twenty.schema import (
    COMPOSITE_SUBFIELDS,
    RICH_TEXT_TYPES,
    FieldSchema,
    ObjectSchema,
)
from twenty_migrate.validation.phone_rules import scan_phones
from twenty_migrate.validation.scan import (
    all_ok,
    domain_keys,
    is_domain_field,
    link_keys,
    parsed_fast,
    plain_keys,
    regex_fast,
    scan_email,
    sent_value,
)
from twenty_migrate.values.payloads import MISSING
from twenty_migrate.values.rules import (
    COMPOSITE_MARK,
    FAST_DATETIME,
    FAST_YEAR,
    UUID_PATTERN,
    UUID_RE,
    Check,
    blocknote_ok,
    composite_error,
    currency_check,
    email_list_check,
    inspect_js,
    links_list_check,
    required_text,
    scalar_check,
)

if TYPE_CHECKING:
    from twenty_migrate.mapping.mapped import MappedFrame

#: The stable source-row id every row carries.
ROW = "_row"
#: Prefix of a ``refs`` cell naming a record already in Twenty (``twenty:<id>``).
EXISTING_PREFIX = "twenty:"
#: Scalar types whose values are the composite sub-field's own type.
_SUB_TYPES = {
    ("ADDRESS", "addressLat"): "NUMERIC",
    ("ADDRESS", "addressLng"): "NUMERIC",
    ("CURRENCY", "amountMicros"): "NUMERIC",
}


# --------------------------------------------------------------------------- paths
def frame_of(mapped: MappedFrame | pd.DataFrame) -> pd.DataFrame:
    """The rows of a MappedFrame or DataFrame, with a unique, never empty ``_row``."""
    data = mapped if isinstance(mapped, pd.DataFrame) else getattr(mapped, "data", None)
    if not isinstance(data, pd.DataFrame):
        raise TypeError(
            f"expected a MappedFrame (from FieldMap.apply) or a DataFrame, not "
            f"{type(mapped).__name__}"
        )
    if ROW not in data.columns:
        raise MappingError(
            "the rows need a `_row` column (a stable source-row id): clean.add_row_ids(df), "
            "or map with FieldMap.apply, which adds it"
        )
    if data[ROW].isna().any() or data[ROW].duplicated().any():
        dupes = data.loc[data[ROW].duplicated(), ROW].head(5).tolist()
        raise MappingError(f"`_row` must be unique and never empty; repeated or empty: {dupes}")
    return data


@dataclass(frozen=True)
class ColumnPath:
    """One column of the frame: the field it writes and the composite part, if any."""

    path: str
    field: FieldSchema
    sub: str | None

    @property
    def is_join(self) -> bool:
        return self.path == self.field.join_column

    @property
    def value_type(self) -> str:
        if self.is_join:
            return "UUID"
        if self.sub is None:
            return self.field.type
        return _SUB_TYPES.get((self.field.type, self.sub), "TEXT")

    @property
    def is_required(self) -> bool:
        # Composite fields are never refused as a whole: their parts default to null.
        return self.field.is_required and self.field.type not in COMPOSITE_SUBFIELDS


def resolve_paths(columns: list[str], obj: ObjectSchema) -> dict[str, ColumnPath]:
    """The field path of each column (``_row``, ``_ref.*`` and twenty_migrate's other own
    columns aside: they start with ``_``, which no Twenty field name does)."""
    writable = {path: f for f in obj.fields.values() for path in f.paths()}
    paths: dict[str, ColumnPath] = {}
    unknown: list[str] = []
    for column in columns:
        if column.startswith("_"):
            continue
        f = writable.get(column)
        if f is None:
            unknown.append(column)
            continue
        sub = column.split(".", 1)[1] if f.type in COMPOSITE_SUBFIELDS else None
        paths[column] = ColumnPath(column, f, sub)
    if unknown:
        raise MappingError(
            f"{obj.name_plural} has no writable field path {unknown}; Twenty refuses every row "
            f'with them (Object {obj.name_singular} doesn\'t have any "{unknown[0]}" field.). '
            f"Drop these columns or fix the field map. Writable paths: "
            f"{', '.join(obj.writable_paths())}"
        )
    return paths


def required_paths(obj: ObjectSchema) -> list[ColumnPath]:
    """The fields Twenty requires on create, as their first path."""
    out = []
    for f in obj.fields.values():
        if f.is_writable and f.is_required and f.type not in COMPOSITE_SUBFIELDS:
            out.append(ColumnPath(f.paths()[0], f, None))
    return out


def options_for(p: ColumnPath) -> list[str] | None:
    """The values a column must hold (select options, actor sources), if any."""
    if p.sub is None and p.field.type in ("SELECT", "RATING"):
        return p.field.option_values
    if p.field.type == "ACTOR" and p.sub == "source":
        from twenty_migrate.values.convert import ACTOR_SOURCES  # convert imports phonenumbers

        return list(ACTOR_SOURCES)
    return None


# --------------------------------------------------------------------------- checks
def _ref_check(where: str) -> Callable[[Any], Check]:
    """A ``refs`` column: ``_row`` ids of an earlier step, or ``twenty:<id>``."""
    import uuid

    def check(value: Any) -> Check:
        if isinstance(value, str) and value.startswith(EXISTING_PREFIX):
            try:
                uuid.UUID(value[len(EXISTING_PREFIX) :])
            except ValueError:
                return "invalid_uuid", (
                    f"{value!r} starts with 'twenty:' but is not followed by a Twenty record id"
                )
            return None
        if isinstance(value, bool) or not isinstance(value, str | int):
            return "invalid_ref", f"{where} holds _row ids of an earlier step, not {value!r}"
        return None

    return check


def _column_check(
    p: ColumnPath, refs: Collection[str]
) -> tuple[Callable[[Any], Check], Callable[[pd.Series[Any]], np.ndarray[Any, Any]] | None]:
    """The value check of a column, and a vectorised sufficient condition for text cells."""
    ftype, name, where = p.field.type, p.field.name, p.path
    if p.is_join:
        if where in refs:
            return _ref_check(where), None
        return scalar_check("UUID", where), regex_fast(f"^{UUID_PATTERN}$")
    if name == "id" and p.sub is None:

        def record_id(value: Any) -> Check:
            if isinstance(value, str) and UUID_RE.fullmatch(value):
                return None
            return "invalid_uuid", f'Value "{value}" is not a valid UUID'

        return record_id, regex_fast(f"^{UUID_PATTERN}$")
    if p.sub is None:
        check = scalar_check(ftype, where, p.field.option_values)
        if ftype == "TEXT" and p.is_required:
            return required_text(check, where), regex_fast(r"^.")
        fast = {
            "TEXT": all_ok,
            "SELECT": all_ok,
            "RATING": all_ok,
            "UUID": regex_fast(f"^{UUID_PATTERN}$"),
            "NUMERIC": regex_fast(r"^[+-]?[0-9]{1,15}(?:\.[0-9]{0,15})?$"),
            "DATE": parsed_fast(rf"^{FAST_YEAR}-[0-9]{{2}}-[0-9]{{2}}$", "%Y-%m-%d"),
            "DATE_TIME": parsed_fast(FAST_DATETIME, "ISO8601"),
        }.get(ftype)
        return check, fast
    sub = p.sub
    if ftype == "EMAILS" and sub == "additionalEmails":
        return email_list_check(where), None
    if ftype == "LINKS" and sub == "primaryLinkUrl":
        return (lambda v: None if isinstance(v, str) else composite_error(name)), all_ok
    if ftype == "LINKS" and sub == "secondaryLinks":
        return links_list_check(name), None
    if ftype == "ACTOR":

        def source(value: Any) -> Check:
            if isinstance(value, str):
                return None  # checked against the sources by GX (in-set)
            return "not_in_options", f'Invalid value {inspect_js(value)} for field "{where}"'

        return source, all_ok
    if ftype in RICH_TEXT_TYPES:
        rich = (
            f'Invalid rich text v2 value {COMPOSITE_MARK} for field "{name}" - Should be an object'
        )

        def body(value: Any) -> Check:
            if sub == "blocknote" and (value == "" or blocknote_ok(value)):
                return None
            if sub == "markdown" and isinstance(value, str):
                return None
            return "invalid_rich_text", rich

        return body, (all_ok if sub == "markdown" else None)
    if ftype == "CURRENCY" and sub == "currencyCode":
        return currency_check(where), None
    vtype = _SUB_TYPES.get((ftype, sub), "TEXT")
    return scalar_check(vtype, where), (all_ok if vtype == "TEXT" else None)


def composite_value(frame: pd.DataFrame, name: str, position: int) -> dict[str, Any]:
    """The value of a composite field in one row's payload (its non-empty parts)."""
    value: dict[str, Any] = {}
    for column in frame.columns:
        if column.startswith(name + ".") and column.count(".") == 1:
            sent = sent_value(frame[column].iat[position])
            if sent is not MISSING:
                value[column.split(".", 1)[1]] = sent
    return value


# --------------------------------------------------------------------------- preparation
@dataclass
class Prepared:
    """The rows (RangeIndex), their paths, and their unique keys as Twenty compares them."""

    data: pd.DataFrame
    obj: ObjectSchema
    paths: dict[str, ColumnPath]
    refs: frozenset[str]
    keys: dict[str, pd.Series[Any]] = field(default_factory=dict)
    groups: list[tuple[str, ...]] = field(default_factory=list)

    @property
    def rows(self) -> np.ndarray[Any, Any]:
        rows: np.ndarray[Any, Any] = self.data[ROW].to_numpy(dtype=object)
        return rows


def unique_groups(obj: ObjectSchema, paths: Collection[str]) -> list[tuple[str, ...]]:
    """The unique keys the columns cover, with the record ``id`` when it is given."""
    groups = [g for g in obj.unique_keys if all(p in paths for p in g)]
    if "id" in paths and ("id",) not in groups:
        groups.insert(0, ("id",))
    return groups


def prepare(data: pd.DataFrame, obj: ObjectSchema, refs: Collection[str]) -> Prepared:
    """The paths of ``data``'s columns and the values of its unique keys as Twenty compares
    them (the values themselves are checked by the suite's expectations)."""
    paths = resolve_paths([str(c) for c in data.columns], obj)
    prepared = Prepared(data, obj, paths, frozenset(refs))
    prepared.groups = unique_groups(obj, paths)
    unique_paths = {p for g in prepared.groups for p in g}
    for p in paths.values():
        if p.path not in unique_paths:
            continue
        if p.field.type == "PHONES":
            if p.path not in prepared.keys:
                stored = scan_phones(data, p.field.name, want_keys=True)[1]
                if stored is not None:
                    for column in stored.columns:
                        prepared.keys[column] = stored[column]
            continue
        series = data[p.path]
        if p.field.type == "EMAILS" and p.sub == "primaryEmail":
            prepared.keys[p.path] = scan_email(series, p.path)[1]
        elif p.field.type == "LINKS" and is_domain_field(p.field.settings):
            prepared.keys[p.path] = domain_keys(series)
        elif p.field.type == "LINKS":
            prepared.keys[p.path] = link_keys(series)
        elif p.path == "id":
            prepared.keys[p.path] = plain_keys(series).str.lower()
        else:
            prepared.keys[p.path] = plain_keys(series)
    return prepared
