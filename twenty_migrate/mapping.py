"""Map source columns to Twenty field paths and convert the values: :class:`FieldMap`.

A field map says which source column feeds which Twenty field path, and how to convert it::

    fmap = tm.suggest_mapping(df, schema.object("people"))      # a starting point
    fmap = fmap.with_column("Mobile", "phones.additionalPhones").without("Lead Source")
    fmap.save("people.mapping.json")                              # review it, keep it
    mapped = fmap.apply(df, schema.object("people"), default_region="GB")
    mapped.data       # _row + "name.firstName", "emails.primaryEmail", "_ref.companyId", ...
    mapped.problems   # _row, column, field, rule, value, message, severity

Paths are Twenty's: a field name (``jobTitle``), a composite sub-field
(``emails.primaryEmail``, ``amount.amountMicros``) or a join column holding ids
(``companyId``). A composite field name alone means its main part: ``name`` (a full name,
split into first and last name), ``emails``, ``phones``, ``domainName``, ``amount``,
``bodyV2``. ``emails.additionalEmails``, ``phones.additionalPhones`` and
``*.secondaryLinks`` may be fed by several columns.

**Relations are not resolved here.** A column naming a related record by a natural key
(a company name or domain, a contact's email, an owner's name or email) is mapped to
``_ref.<joinColumn>``, e.g. ``"Company" -> "_ref.companyId"`` or
``"Contact Email" -> "_ref.pointOfContactId"``. The cleaned key is kept in a ``_ref.*``
column (emails canonical, other text trimmed) for a later resolver to turn into ids
and write to the join column; ``_ref.*`` columns are never sent to Twenty as such.

Conversions per field type (``transforms`` keys in brackets): SELECT/RATING/MULTI_SELECT
labels to option values, forgiving case, spaces and punctuation (a label -> value dict,
or ``{"labels": {...}, "separator": ";"}``); BOOLEAN (``true``/``false`` word lists);
NUMBER/NUMERIC (``decimal``); DATE/DATE_TIME (``format``, ``dayfirst``, ``timezone``);
CURRENCY (``currency``, ``decimal``); PHONES (``region``, ``region_column``, ``strict``);
LINKS (``scheme``, ``handle_prefix``); ARRAY (``separator``). A transform is looked up by
the mapped path, then by the field name. Cells that cannot be converted become empty and
are listed in ``problems`` with their raw value; nothing is dropped silently.
"""

from __future__ import annotations

import difflib
import html
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from twenty_migrate import composites as cp
from twenty_migrate import convert as cv
from twenty_migrate._files import write_text_atomically
from twenty_migrate.errors import MappingError
from twenty_migrate.schema import COMPOSITE_SUBFIELDS, RICH_TEXT_TYPES, FieldSchema, ObjectSchema
from twenty_migrate.values import canonical_email, is_valid_email

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["REF_PREFIX", "FieldMap", "MappedFrame", "suggest_mapping"]

#: Prefix of the columns that hold natural keys of related records (see the module doc).
REF_PREFIX = "_ref."
ROW_COLUMN = "_row"
MAPPING_FORMAT = "twenty_migrate.mapping"
MAPPING_FORMAT_VERSION = 1
#: Sub-fields that several source columns may feed (their values are concatenated).
LIST_SUBFIELDS = frozenset({"additionalEmails", "additionalPhones", "secondaryLinks"})
#: What a composite field name alone stands for ("" = the whole full name, split).
DEFAULT_SUBFIELD = {
    "FULL_NAME": "",
    "EMAILS": "primaryEmail",
    "PHONES": "primaryPhoneNumber",
    "LINKS": "primaryLinkUrl",
    "CURRENCY": "amountMicros",
    "RICH_TEXT_V2": "markdown",
    "RICH_TEXT": "markdown",  # the writable body's name since release 1.20
    "ACTOR": "source",
}
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


@dataclass(frozen=True)
class FieldMap:
    """Which source column feeds which Twenty field path, plus per-field transforms.

    Args:
        object_name: the Twenty object (``"people"``), as Twenty spells it.
        mapping: source column -> field path (``{"Email": "emails.primaryEmail"}``).
        transforms: field path (or field name) -> conversion settings, e.g.
            ``{"stage": {"Closed Won": "CUSTOMER"}, "closeDate": {"dayfirst": True}}``.
        notes: remarks from :func:`suggest_mapping` (why columns were or were not mapped).

    Example:
        fmap = FieldMap("people", {"Email": "emails.primaryEmail", "Name": "name"})
        mapped = fmap.apply(df, schema.object("people"))
    """

    object_name: str
    mapping: Mapping[str, str]
    transforms: Mapping[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "mapping", dict(self.mapping))
        object.__setattr__(self, "transforms", dict(self.transforms))
        object.__setattr__(self, "notes", tuple(self.notes))
        for source, path in self.mapping.items():
            if not isinstance(source, str) or not isinstance(path, str) or not path:
                raise MappingError(f"mapping entries must be text: {source!r} -> {path!r}")
            if source.startswith("_"):
                raise MappingError(
                    f"source column {source!r} starts with '_', which is reserved for "
                    "twenty_migrate's own columns (like _row); rename it first"
                )

    # ------------------------------------------------------------------ editing
    @property
    def sources(self) -> list[str]:
        """The mapped source columns, in order."""
        return list(self.mapping)

    def with_column(self, source: str, path: str, transform: Any = None) -> FieldMap:
        """A copy mapping ``source`` to ``path`` (replacing its previous target)."""
        transforms = dict(self.transforms)
        if transform is not None:
            transforms[path] = transform
        return FieldMap(self.object_name, {**self.mapping, source: path}, transforms, self.notes)

    def without(self, *sources: str) -> FieldMap:
        """A copy without these source columns."""
        unknown = [s for s in sources if s not in self.mapping]
        if unknown:
            raise MappingError(f"{unknown} are not mapped; mapped columns: {self.sources}")
        mapping = {s: p for s, p in self.mapping.items() if s not in sources}
        return FieldMap(self.object_name, mapping, self.transforms, self.notes)

    def with_transform(self, path: str, spec: Any) -> FieldMap:
        """A copy with the transform of ``path`` (or field name) set to ``spec``."""
        return FieldMap(self.object_name, self.mapping, {**self.transforms, path: spec}, self.notes)

    # ------------------------------------------------------------------ files
    def to_dict(self) -> dict[str, Any]:
        """The JSON form written by :meth:`save`."""
        return {
            "format": MAPPING_FORMAT,
            "version": MAPPING_FORMAT_VERSION,
            "object": self.object_name,
            "mapping": dict(self.mapping),
            "transforms": dict(self.transforms),
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FieldMap:
        """Rebuild a field map from :meth:`to_dict` output."""
        if data.get("format") != MAPPING_FORMAT:
            raise MappingError(f"not a twenty_migrate mapping (format {data.get('format')!r})")
        if int(data.get("version", 0)) > MAPPING_FORMAT_VERSION:
            raise MappingError(
                f"mapping file version {data.get('version')} is newer than this "
                f"twenty_migrate understands ({MAPPING_FORMAT_VERSION}); upgrade it"
            )
        return cls(
            str(data["object"]),
            dict(data.get("mapping") or {}),
            dict(data.get("transforms") or {}),
            tuple(data.get("notes") or ()),
        )

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the map as JSON (atomically) and return the path."""
        text = json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"
        return write_text_atomically(path, text)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> FieldMap:
        """Read a map written by :meth:`save`."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise MappingError(f"cannot read the mapping file {path}: {exc}") from exc
        return cls.from_dict(data)

    # ------------------------------------------------------------------ display
    def to_frame(self) -> pd.DataFrame:
        """One row per mapped column: source, path, transform."""
        return pd.DataFrame(
            {
                "source": list(self.mapping),
                "path": list(self.mapping.values()),
                "transform": [
                    _spec_text(self.transforms.get(p) or self.transforms.get(p.split(".")[0]))
                    for p in self.mapping.values()
                ],
            }
        )

    def __repr__(self) -> str:
        width = max((len(s) for s in self.mapping), default=0)
        lines = [f"FieldMap({self.object_name!r}, {len(self.mapping)} columns)"]
        for source, path in self.mapping.items():
            lines.append(f"  {source:<{width}} -> {path}")
        if self.transforms:
            lines.append(f"  transforms: {json.dumps(self.transforms, ensure_ascii=False)}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return f"<p>FieldMap {self.object_name!r}</p>" + self.to_frame().to_html(index=False)

    # ------------------------------------------------------------------ applying
    def resolve(self, object_schema: ObjectSchema) -> list[_Target]:
        """Check every path against the object and return the resolved targets.

        Raises:
            MappingError: unknown or read-only paths, or two columns for one single value.
        """
        targets = [_resolve(source, path, object_schema) for source, path in self.mapping.items()]
        taken: dict[str, str] = {}
        for target in targets:
            key = target.out if target.sub != "" else f"{target.out}.*"
            if target.sub in LIST_SUBFIELDS:
                continue
            if key in taken:
                raise MappingError(
                    f"columns {taken[key]!r} and {target.source!r} both map to {target.path!r}; "
                    "keep one (only additionalEmails, additionalPhones and secondaryLinks "
                    "take several columns)"
                )
            taken[key] = target.source
        return targets

    def apply(
        self,
        df: pd.DataFrame,
        object_schema: ObjectSchema,
        *,
        default_region: str = "US",
        date_format: str | None = None,
        currency: str = "USD",
    ) -> MappedFrame:
        """Convert ``df`` into Twenty field-path columns.

        Args:
            df: the (cleaned) source frame; ``_row`` is kept, or added (1, 2, ...) if missing.
            object_schema: the target object, from ``schema.object(...)``.
            default_region: country for phone numbers written without a country code, and
                for month-first vs day-first when a date column gives no clue.
            date_format: ``strptime`` format for every date column without its own.
            currency: currency for amounts that name none.

        Returns:
            A :class:`MappedFrame`: ``data`` (``_row`` + field paths + ``_ref.*``) and
            ``problems`` (one row per value that could not be converted).

        Raises:
            MappingError: the map does not fit the object or the DataFrame.
        """
        if self.object_name not in (object_schema.name_plural, object_schema.name_singular):
            raise MappingError(
                f"this map is for {self.object_name!r}, not {object_schema.name_plural!r}; "
                "pass the matching schema.object(...)"
            )
        missing = [s for s in self.mapping if s not in df.columns]
        if missing:
            raise MappingError(
                f"columns {missing} are mapped but not in the DataFrame; it has "
                f"{[str(c) for c in df.columns]}. Fix the map with .without(...) or "
                ".with_column(...)"
            )
        notes: list[str] = []
        if ROW_COLUMN not in df.columns:
            from twenty_migrate.clean import add_row_ids

            df = add_row_ids(df)
            notes.append("the DataFrame had no _row column; rows were numbered from 1")
        targets = self.resolve(object_schema)
        original_index = df.index
        df = df.reset_index(drop=True)  # converters align by position; any index is kept below
        rows = df[ROW_COLUMN].to_numpy(dtype=object)
        ctx = cv.Context(
            df, cv.Problems(rows), default_region.upper(), date_format, currency.upper(), notes
        )
        ctx.address_countries = tuple(
            t.source
            for t in targets
            if t.field is not None and t.field.type == "ADDRESS" and t.sub == "addressCountry"
        )
        groups: dict[str, list[_Target]] = {}
        for target in targets:
            key = target.field.name if target.field is not None else target.path
            groups.setdefault(key, []).append(target)
        columns: dict[str, pd.Series[Any]] = {}
        for group in groups.values():
            columns.update(_convert_group(ctx, group, self._spec_for))
        data = pd.DataFrame({ROW_COLUMN: df[ROW_COLUMN], **columns}, index=df.index)
        data.index = original_index
        return MappedFrame(
            data, ctx.problems.frame(), object_schema.name_plural, self, tuple(ctx.notes)
        )

    def _spec_for(self, path: str, field_name: str) -> Any:
        spec = self.transforms.get(path)
        return spec if spec is not None else self.transforms.get(field_name, {})


def _spec_text(spec: Any) -> str:
    return "" if not spec else json.dumps(spec, ensure_ascii=False)


def _resolve(source: str, path: str, obj: ObjectSchema) -> _Target:
    if path.startswith(REF_PREFIX):
        join = path[len(REF_PREFIX) :]
        if join not in obj.relations:
            raise MappingError(
                f"{source!r} -> {path!r}: {obj.name_plural} has no relation with join column "
                f"{join!r}; its relations are {sorted(obj.relations) or 'none'}"
            )
        return _Target(source, path, None, None)
    if path in obj.relations:
        return _Target(source, path, obj.field(path), None)
    name, _, sub = path.partition(".")
    candidate = obj.fields.get(name)
    if candidate is None or not candidate.is_writable:
        close = difflib.get_close_matches(path, obj.writable_paths(), n=3)
        hint = f" Did you mean {close}?" if close else ""
        raise MappingError(
            f"{source!r} -> {path!r}: {obj.name_plural} has no writable field {name!r}.{hint} "
            f"Writable paths: {', '.join(obj.writable_paths())}"
        )
    if candidate.join_column:
        raise MappingError(
            f"{source!r} -> {path!r}: {name} is a relation; map record ids to "
            f"{candidate.join_column!r}, or natural keys (names, emails, domains) to "
            f"'{REF_PREFIX}{candidate.join_column}' for the resolver"
        )
    subfields = COMPOSITE_SUBFIELDS.get(candidate.type)
    if subfields is None:
        if sub:
            raise MappingError(f"{source!r} -> {path!r}: {name} ({candidate.type}) has no parts")
        return _Target(source, path, candidate, None)
    if not sub:
        if candidate.type not in DEFAULT_SUBFIELD:
            raise MappingError(
                f"{source!r} -> {path!r}: map to one part of {name}: "
                f"{', '.join(f'{name}.{s}' for s in subfields)}"
            )
        return _Target(source, path, candidate, DEFAULT_SUBFIELD[candidate.type])
    if sub not in subfields:
        raise MappingError(
            f"{source!r} -> {path!r}: {name} ({candidate.type}) has the parts {list(subfields)}"
        )
    if candidate.type == "PHONES" and sub == "primaryPhoneCallingCode":
        raise MappingError(
            f"{source!r} -> {path!r}: the calling code is derived from the number; map the "
            "number and, if you have one, a country column (primaryPhoneCountryCode)"
        )
    return _Target(source, path, candidate, sub)


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
    if first.field is None:  # _ref.<joinColumn>
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


def _reference(ctx: cv.Context, source: str) -> pd.Series[Any]:
    """A natural key of a related record: trimmed text, emails in canonical form."""

    def key(value: Any) -> str:
        text = cv.text_value(value).strip()
        if "@" in text:
            email = canonical_email(text)
            return email if is_valid_email(email) else text
        return " ".join(text.split())

    return cv.to_series(cv.per_unique(ctx.df[source], key)[0], ctx.df.index)


@dataclass(frozen=True, eq=False)
class MappedFrame:
    """The result of :meth:`FieldMap.apply`: converted data and the values that failed.

    Unpacks as ``data, problems = fmap.apply(df, people)``.
    """

    data: pd.DataFrame
    problems: pd.DataFrame
    object_name: str
    field_map: FieldMap
    notes: tuple[str, ...] = ()

    def __iter__(self) -> Iterator[pd.DataFrame]:
        return iter((self.data, self.problems))

    def __len__(self) -> int:
        return len(self.data)

    @property
    def errors(self) -> pd.DataFrame:
        """Problems whose value was left out (severity ``error``)."""
        return self.problems[self.problems["severity"] == "error"]

    @property
    def has_problems(self) -> bool:
        """Whether any value could not be converted."""
        return bool(len(self.errors))

    def summary(self) -> pd.DataFrame:
        """Problems per field and rule, with one example value each."""
        if self.problems.empty:
            return pd.DataFrame(columns=["field", "rule", "severity", "rows", "example"])
        grouped = self.problems.groupby(["field", "rule", "severity"], sort=False)
        return grouped.agg(rows=("_row", "size"), example=("value", "first")).reset_index()

    def __str__(self) -> str:
        counts = {str(k): int(v) for k, v in self.problems["severity"].value_counts().items()}
        text = (
            f"{self.object_name}: {len(self.data)} rows, {len(self.data.columns) - 1} columns; "
            f"{int(counts.get('error', 0))} values not converted, "
            f"{int(counts.get('warning', 0))} warnings"
        )
        return "\n".join([text, *(f"  note: {n}" for n in self.notes)])

    __repr__ = __str__

    def _repr_html_(self) -> str:
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.notes)
        return (
            f"<p>{html.escape(str(self).splitlines()[0])}</p>"
            + (f"<ul>{notes}</ul>" if notes else "")
            + self.summary().to_html(index=False)
        )


def suggest_mapping(df: pd.DataFrame, object_schema: ObjectSchema) -> FieldMap:
    """A first field map from the headers and a sample of values (see :mod:`.suggest`).

    Example:
        fmap = suggest_mapping(pd.read_csv("sample_data/people.csv", dtype=str), people)
        print(fmap)          # review, then edit with .with_column / .without
    """
    from twenty_migrate.suggest import suggest

    return suggest(df, object_schema)
