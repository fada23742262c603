"""Map source columns to Twenty field paths and convert the values: :class:`FieldMap`.

A field map says which source column feeds which Twenty field path, and how to convert it::

    fmap = tm.suggest_mapping(df, schema.object("people"))      # a starting point
    fmap.review()     # each column's target (or why none), reason, confidence: least sure first
    fmap = fmap.with_column("Mobile", "phones.additionalPhones").without("Lead Source")
    fmap.save("people.mapping.json")                              # review it, keep it
    mapped = fmap.apply(df, schema.object("people"), default_region="GB")
    mapped.data       # _row + "name.firstName", "emails.primaryEmail", "_ref.companyId", ...
    mapped.problems   # _row, column, field, rule, value, message, severity

A suggested map also keeps, per column, a :class:`Suggestion` (the reason and confidence
behind it) and ``source_id``, the column holding the source system's own record ids. Both
are saved with the map; files written before they existed still load.

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
A column naming related records by the *source system's* ids (a Salesforce
``AccountId``) is mapped to ``_sourceref.<joinColumn>``, or ``_sourceref.targets`` for a
task's or note's records, and each row's own id column is the map's ``source_id``
(:mod:`~twenty_migrate.relations.source_refs`).

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
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from twenty_migrate.mapping.columns import _convert_group, _source_text, _Target
from twenty_migrate.mapping.mapped import MappedFrame
from twenty_migrate.mapping.suggestion import Suggestion
from twenty_migrate.twenty.errors import MappingError
from twenty_migrate.twenty.files import write_text_atomically
from twenty_migrate.twenty.schema import (
    COMPOSITE_SUBFIELDS,
    ObjectSchema,
)
from twenty_migrate.values import convert as cv
from twenty_migrate.values.payloads import (
    REF_PREFIX,
    SOURCE_ID_COLUMN,
    SOURCE_REF_PREFIX,
    TARGET_KEY_PATHS,
    source_id_field,
)

if TYPE_CHECKING:
    pass

__all__ = ["REF_PREFIX", "SOURCE_ID_COLUMN", "SOURCE_REF_PREFIX", "FieldMap"]

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


@dataclass(frozen=True)
class FieldMap:
    """Which source column feeds which Twenty field path, plus per-field transforms.

    Args:
        object_name: the Twenty object (``"people"``), as Twenty spells it.
        mapping: source column -> field path (``{"Email": "emails.primaryEmail"}``).
        transforms: field path (or field name) -> conversion settings, e.g.
            ``{"stage": {"Closed Won": "CUSTOMER"}, "closeDate": {"dayfirst": True}}``.
        notes: remarks from :func:`suggest_mapping` (why columns were or were not mapped).
        source_id: the column holding the source system's record id (``"Id"``, ``"Record
            ID"``): kept by :meth:`apply` in a ``_source_id`` column, so that rows of other
            objects can name this row by it (``_sourceref.*``) and the row lands on the same
            record run after run (:mod:`~twenty_migrate.plan.record_ids`).
        store_source_id: also write the source id to a TEXT field of the object: True for
            ``sourceId``, or the field's name (preflight creates it, unique). A Salesforce
            id is stored in its 18-character form.
        suggestions: per source column, what :func:`suggest_mapping` decided and why
            (see :meth:`review`); edits by hand replace a column's entry.

    Example:
        fmap = FieldMap("people", {"Email": "emails.primaryEmail", "Name": "name"})
        mapped = fmap.apply(df, schema.object("people"))
    """

    object_name: str
    mapping: Mapping[str, str]
    transforms: Mapping[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    source_id: str | None = None
    suggestions: tuple[Suggestion, ...] = ()
    store_source_id: bool | str = False

    def __post_init__(self) -> None:
        if self.store_source_id and not self.source_id:
            raise MappingError("store_source_id needs source_id: the column holding the ids")
        if isinstance(self.store_source_id, str) and not self.store_source_id.isidentifier():
            raise MappingError(
                f"store_source_id {self.store_source_id!r} is not a field name; use True "
                "(the field sourceId) or a camelCase name such as 'salesforceId'"
            )
        object.__setattr__(self, "mapping", dict(self.mapping))
        object.__setattr__(self, "transforms", dict(self.transforms))
        object.__setattr__(self, "notes", tuple(self.notes))
        object.__setattr__(self, "suggestions", tuple(self.suggestions))
        if self.source_id is not None and self.source_id in self.mapping:
            raise MappingError(
                f"{self.source_id!r} is the source id column, so it cannot also be mapped to "
                f"{self.mapping[self.source_id]!r}; drop one of them"
            )
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
        chosen = Suggestion(source, path, "set by hand", 1.0)
        return replace(
            self,
            mapping={**self.mapping, source: path},
            transforms=transforms,
            source_id=None if self.source_id == source else self.source_id,
            suggestions=self._suggestions_with(chosen),
        )

    def without(self, *sources: str) -> FieldMap:
        """A copy without these source columns."""
        unknown = [s for s in sources if s not in self.mapping]
        if unknown:
            raise MappingError(f"{unknown} are not mapped; mapped columns: {self.sources}")
        mapping = {s: p for s, p in self.mapping.items() if s not in sources}
        suggestions = tuple(s for s in self.suggestions if s.column not in sources) + tuple(
            Suggestion(s, None, "left out by hand", 1.0, "unmapped") for s in sources
        )
        return replace(self, mapping=mapping, suggestions=suggestions)

    def with_transform(self, path: str, spec: Any) -> FieldMap:
        """A copy with the transform of ``path`` (or field name) set to ``spec``."""
        return replace(self, transforms={**self.transforms, path: spec})

    def with_source_id(self, column: str | None) -> FieldMap:
        """A copy whose source id column is ``column`` (None: no source ids)."""
        mapping = {s: p for s, p in self.mapping.items() if s != column}
        suggestions = self.suggestions
        if column is not None:
            chosen = Suggestion(column, None, "source id set by hand", 1.0, "source_id")
            suggestions = self._suggestions_with(chosen)
        return replace(self, mapping=mapping, source_id=column, suggestions=suggestions)

    def _suggestions_with(self, chosen: Suggestion) -> tuple[Suggestion, ...]:
        return tuple(s for s in self.suggestions if s.column != chosen.column) + (chosen,)

    def review(self) -> pd.DataFrame:
        """The suggestion's decision per column, least sure first: what to check by hand.

        Columns: ``column``, ``status`` (mapped, source_id, create, unmapped), ``path``,
        ``confidence`` (0 to 1) and ``reason``.

        Example:
            fmap = tm.suggest_mapping(df, schema.object("people"))
            fmap.review().head(10)      # the ten decisions most worth a look
        """
        columns = ["column", "status", "path", "confidence", "reason"]
        rows = [{c: getattr(s, c) for c in columns} for s in self.suggestions]
        frame = pd.DataFrame(rows, columns=columns, dtype=object)
        if frame.empty:
            return frame
        frame["confidence"] = frame["confidence"].astype(float)
        return frame.sort_values("confidence", kind="stable").reset_index(drop=True)

    @property
    def source_id_field(self) -> str | None:
        """The field the source id is stored in (:attr:`store_source_id`), if any."""
        if not self.store_source_id:
            return None
        return source_id_field(self.store_source_id)

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
            **({"source_id": self.source_id} if self.source_id else {}),
            "suggestions": [s.to_dict() for s in self.suggestions],
            **({"store_source_id": self.store_source_id} if self.store_source_id else {}),
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
            None if data.get("source_id") is None else str(data["source_id"]),
            tuple(Suggestion.from_dict(s) for s in data.get("suggestions") or ()),
            data.get("store_source_id") or False,
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
        if self.source_id:
            lines.append(f"  source ids: {self.source_id!r}")
        if self.transforms:
            lines.append(f"  transforms: {json.dumps(self.transforms, ensure_ascii=False)}")
        if self.source_id:
            stored = f", stored in {self.source_id_field}" if self.source_id_field else ""
            lines.append(f"  source id: {self.source_id}{stored}")
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
            if target.sub in LIST_SUBFIELDS or target.path in TARGET_KEY_PATHS:
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
            from twenty_migrate.clean.frame import add_row_ids

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
        if self.source_id is not None:
            columns.update(self._source_ids(df, object_schema))
        data = pd.DataFrame({ROW_COLUMN: df[ROW_COLUMN], **columns}, index=df.index)
        data.index = original_index
        return MappedFrame(
            data, ctx.problems.frame(), object_schema.name_plural, self, tuple(ctx.notes)
        )

    def _source_ids(self, df: pd.DataFrame, obj: ObjectSchema) -> dict[str, pd.Series[Any]]:
        """The ``_source_id`` column (and the stored field's, if asked) of ``df``."""
        if self.source_id not in df.columns:
            raise MappingError(
                f"source_id {self.source_id!r} is not a column of the DataFrame; it has "
                f"{[str(c) for c in df.columns]}. Name the column holding the source "
                "system's record ids, or set source_id=None"
            )
        texts = cv.per_unique(df[self.source_id], _source_text)[0]
        ids = pd.Series([t or None for t in texts], index=df.index, dtype=object)
        out = {SOURCE_ID_COLUMN: ids}
        stored = self.source_id_field
        if stored is not None:
            if stored in self.mapping.values():
                raise MappingError(
                    f"{stored!r} is both mapped and the store of source ids; keep one"
                )
            if stored in obj.fields and obj.fields[stored].type != "TEXT":
                raise MappingError(
                    f"{obj.name_plural}.{stored} is a {obj.fields[stored].type} field; source "
                    "ids are stored in a TEXT field: name another one in store_source_id"
                )
            # Salesforce ids in their 18-character form: one value, however a file wrote it,
            # so the unique field matches a record whichever length a later export has.
            from twenty_migrate.values.salesforce import salesforce_id18

            out[stored] = ids.map(lambda v: v if v is None else salesforce_id18(v) or v)
        return out

    def _spec_for(self, path: str, field_name: str) -> Any:
        spec = self.transforms.get(path)
        return spec if spec is not None else self.transforms.get(field_name, {})


def _spec_text(spec: Any) -> str:
    return "" if not spec else json.dumps(spec, ensure_ascii=False)


def _resolve(source: str, path: str, obj: ObjectSchema) -> _Target:
    if path in TARGET_KEY_PATHS:  # checked by the resolver, which knows the target objects
        return _Target(source, path, None, None)
    if path.startswith((REF_PREFIX, SOURCE_REF_PREFIX)):
        join = path.split(".", 1)[1]
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
