"""Converting one mapped column or field group: what :meth:`FieldMap.apply` runs per target."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd

from twenty_migrate.twenty.errors import MappingError
from twenty_migrate.twenty.schema import (
    RICH_TEXT_TYPES,
)
from twenty_migrate.values import composites as cp
from twenty_migrate.values import convert as cv
from twenty_migrate.values.parsing import canonical_email, is_valid_email
from twenty_migrate.values.payloads import SOURCE_REF_PREFIX

if TYPE_CHECKING:
    from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from twenty_migrate.twenty.schema import (
    FieldSchema,
)

if TYPE_CHECKING:
    pass


def _checked_spec(target: _Target, spec_for: Callable[[str, str], Any], ftype: str) -> Any:
    assert target.field is not None
    spec = spec_for(target.path, target.field.name)
    if ftype in _SELECT_TYPES or ftype == "ACTOR":
        return spec
    if not isinstance(spec, Mapping):
        raise MappingError(f"transforms[{target.path!r}] must be a dict, not {spec!r}")
    allowed = _SPEC_KEYS.get(ftype, set())
    unknown = sorted(set(spec) - allowed)
    if unknown:
        raise MappingError(
            f"transforms[{target.path!r}] has unknown settings {unknown} for a {ftype} field; "
            f"allowed: {sorted(allowed) or 'none'}"
        )
    return spec


def _matcher(target: _Target, spec: Any, options: list[str] | None = None) -> cv.OptionMatcher:
    assert target.field is not None
    labels: Any = spec or {}
    if (
        isinstance(labels, Mapping)
        and "labels" in labels
        and set(labels) <= {"labels", "separator"}
    ):
        labels = labels["labels"]
    if not isinstance(labels, Mapping):
        raise MappingError(f"transforms[{target.path!r}] must map labels to option values")
    if options is None:
        options = target.field.option_values
        label_of = {
            str(o["value"]): str(o.get("label") or o["value"]) for o in target.field.options
        }
    else:
        label_of = {value: value for value in options}
    return cv.OptionMatcher(target.out, options, label_of, dict(labels))


def _convert_group(
    ctx: cv.Context, group: list[_Target], spec_for: Callable[[str, str], Any]
) -> dict[str, pd.Series[Any]]:
    first = group[0]
    if first.path.startswith(SOURCE_REF_PREFIX):  # source ids, several columns joined
        parts = [cv.per_unique(ctx.df[t.source], _source_text)[0] for t in group]
        return {first.path: _joined(parts, ctx.df.index)}
    if first.field is None:  # _ref.<joinColumn>
        if len(group) > 1:  # _ref.targets fed by several columns
            parts = [cv.per_unique(ctx.df[t.source], _reference_text)[0] for t in group]
            return {first.path: _joined(parts, ctx.df.index)}
        return {first.path: _reference(ctx, first.source)}
    ftype = first.field.type
    if first.path == first.field.join_column:
        return {first.path: cv.uuids(ctx, first.source, first.path)}
    for target in group:
        _checked_spec(target, spec_for, ftype)  # refuse misspelt settings early
    if ftype == "FULL_NAME":
        return cp.full_name(ctx, group)
    if ftype == "EMAILS":
        return cp.emails(ctx, group)
    if ftype in ("PHONES", "LINKS", "CURRENCY"):
        spec = _checked_spec(first, spec_for, ftype)
        for other in group[1:]:
            spec = {**_checked_spec(other, spec_for, ftype), **spec}
        convert = {"PHONES": cp.phones, "LINKS": cp.links, "CURRENCY": cp.currency}[ftype]
        return convert(ctx, group, spec)
    out: dict[str, pd.Series[Any]] = {}
    for target in group:
        out[target.out] = _scalar(ctx, target, spec_for)
    return out


def _scalar(
    ctx: cv.Context, target: _Target, spec_for: Callable[[str, str], Any]
) -> pd.Series[Any]:
    assert target.field is not None
    ftype, source, path = target.field.type, target.source, target.out
    if ftype in RICH_TEXT_TYPES:
        return cv.markdown(ctx, source) if target.sub == "markdown" else cv.text(ctx, source)
    if ftype == "ADDRESS":
        if target.sub in ("addressLat", "addressLng"):
            return cv.number(ctx, source, path, _checked_spec(target, spec_for, ftype))
        return cv.text(ctx, source)
    if ftype == "ACTOR":
        spec = _checked_spec(target, spec_for, ftype)
        return cv.select(ctx, source, path, _matcher(target, spec, list(cv.ACTOR_SOURCES)))
    spec = _checked_spec(target, spec_for, ftype)
    if ftype in ("NUMBER", "NUMERIC", "POSITION"):
        return cv.number(ctx, source, path, spec)
    if ftype == "BOOLEAN":
        return cv.boolean(ctx, source, path, spec)
    if ftype in ("DATE", "DATE_TIME"):
        return cv.dates(ctx, source, path, ftype, spec)
    if ftype in ("SELECT", "RATING"):
        return cv.select(ctx, source, path, _matcher(target, spec))
    if ftype == "MULTI_SELECT":
        separator = spec.get("separator") if isinstance(spec, Mapping) else None
        return cv.multi_select(ctx, source, path, _matcher(target, spec), separator)
    if ftype == "ARRAY":
        return cv.array(ctx, source, path, spec)
    if ftype == "RAW_JSON":
        return cv.raw_json(ctx, source, path)
    if ftype == "UUID":
        return cv.uuids(ctx, source, path)
    return cv.text(ctx, source)


def _reference_text(value: Any) -> str:
    text = cv.text_value(value).strip()
    if "@" in text:
        email = canonical_email(text)
        return email if is_valid_email(email) else text
    return " ".join(text.split())


def _reference(ctx: cv.Context, source: str) -> pd.Series[Any]:
    """A natural key of a related record: trimmed text, emails in canonical form."""
    return cv.to_series(cv.per_unique(ctx.df[source], _reference_text)[0], ctx.df.index)


def _source_text(value: Any) -> str:
    """A source id as written (a float-read number as its integer), trimmed."""
    return cv.text_value(value).strip()


def _joined(parts: list[Any], index: pd.Index) -> pd.Series[Any]:
    """Several key columns in one, their non-empty cells joined by ``;``."""
    columns = [cv.to_series(p, index) for p in parts]
    rows = zip(*(c.to_numpy(dtype=object) for c in columns), strict=True)
    joined = [";".join(str(v) for v in row if isinstance(v, str) and v) or None for row in rows]
    return pd.Series(joined, index=index, dtype=object)


_SPEC_KEYS = {
    "NUMBER": {"decimal"},
    "NUMERIC": {"decimal"},
    "POSITION": {"decimal"},
    "DATE": {"format", "dayfirst", "timezone"},
    "DATE_TIME": {"format", "dayfirst", "timezone"},
    "BOOLEAN": {"true", "false"},
    "ARRAY": {"separator"},
    "PHONES": {"region", "region_column", "strict"},
    "LINKS": {"scheme", "handle_prefix"},
    "CURRENCY": {"currency", "decimal"},
    "ADDRESS": {"decimal"},
}


_SELECT_TYPES = frozenset({"SELECT", "MULTI_SELECT", "RATING"})


@dataclass(frozen=True)
class _Target:
    source: str
    path: str
    field: FieldSchema | None
    sub: str | None  # composite sub-field; "" = whole full name; None for scalars

    @property
    def out(self) -> str:
        if self.field is None or self.path == self.field.join_column:
            return self.path
        return f"{self.field.name}.{self.sub}" if self.sub else self.field.name
