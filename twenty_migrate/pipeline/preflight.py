"""Preflight: what a migration needs that the workspace lacks, and creating it.

:func:`preflight` checks that the workspace has every object, field and select option the
field maps (or frames) of a migration use; its :class:`PreflightReport` lists what is
missing and :meth:`PreflightReport.apply` creates it through the metadata API::

    report = tm.preflight(schema, [companies_map, people_map], fields={...})
    report                     # what the workspace lacks: objects, fields, select options
    schema = report.apply(client)   # creates them (only when asked), returns the new schema

Re-exported by :mod:`twenty_migrate.pipeline.migration`.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from twenty_migrate.mapping.field_map import FieldMap
from twenty_migrate.mapping.mapped import MappedFrame
from twenty_migrate.twenty.errors import SchemaError
from twenty_migrate.twenty.schema import COMPOSITE_SUBFIELDS, WorkspaceSchema, fetch_schema
from twenty_migrate.values.payloads import REF_PREFIX, SOURCE_REF_PREFIX, TARGET_KEY_PATHS

if TYPE_CHECKING:
    from twenty_migrate.twenty.client import TwentyClient

__all__ = ["FieldSpec", "PreflightItem", "PreflightReport", "preflight"]

_OPTION_VALUE = re.compile(r"^[A-Z0-9_]+$")
_SELECTS = ("SELECT", "MULTI_SELECT")
_COLORS = ("green", "turquoise", "sky", "blue", "purple", "pink", "red", "orange", "yellow")
_SPEC_WORDS = {"labels", "separator"}
#: Fields Twenty creates with every custom object (system fields and the ``name``).
_NEW_OBJECT_FIELDS = frozenset(
    {"id", "name", "createdAt", "updatedAt", "deletedAt", "createdBy", "updatedBy", "position"}
)


@dataclass(frozen=True)
class FieldSpec:
    """A field the migration needs, for :func:`preflight` to create when missing.

    Args:
        type: Twenty field type (``"TEXT"``, ``"SELECT"``, ``"RELATION"``...).
        label: Label shown in Twenty (default: from the name).
        options: SELECT / MULTI_SELECT option values, or value -> label.
        target: For a RELATION, the object it points to (many-to-one).
        unique: Create the field unique (a source system's id kept as an external id:
            its records can be found by it and upserts match on it).
    """

    type: str
    label: str | None = None
    options: Sequence[str] | Mapping[str, str] = ()
    target: str | None = None
    unique: bool = False


@dataclass(frozen=True)
class PreflightItem:
    """One thing the workspace lacks."""

    kind: str  # object | field | option
    object: str
    field: str
    detail: str  # the type of a field, the value of an option
    label: str
    message: str
    creatable: bool = True
    target: str | None = None
    unique: bool = False


@dataclass(eq=False)
class PreflightReport:
    """What the workspace lacks for a migration, and :meth:`apply` to create it."""

    items: list[PreflightItem]
    schema: WorkspaceSchema
    objects: dict[str, str] = field(default_factory=dict)  # plural -> singular to create

    @property
    def ok(self) -> bool:
        """Whether the workspace has everything (nothing to create)."""
        return not self.items

    def to_frame(self) -> pd.DataFrame:
        """One row per missing object, field or option."""
        columns = ["kind", "object", "field", "detail", "label", "creatable", "message"]
        return pd.DataFrame(
            [{c: getattr(i, c) for c in columns} for i in self.items], columns=columns
        )

    def __str__(self) -> str:
        if self.ok:
            return "Preflight: the workspace has every object, field and option the mapping uses."
        lines = [f"Preflight: {len(self.items)} missing in the workspace"]
        lines += [f"  {i.kind} {i.object}.{i.field or '*'}: {i.message}" for i in self.items]
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        head = html.escape(str(self).splitlines()[0])
        return f"<p><b>{head}</b></p>" + ("" if self.ok else self.to_frame().to_html(index=False))

    def apply(self, client: TwentyClient) -> WorkspaceSchema:
        """Create the missing objects, fields and options through the metadata API.

        Returns:
            The workspace schema read again afterwards.

        Raises:
            SchemaError: Some items cannot be created as described (nothing is created).
        """
        blocked = [i for i in self.items if not i.creatable]
        if blocked:
            raise SchemaError(
                "preflight cannot create: "
                + "; ".join(f"{i.object}.{i.field}: {i.message}" for i in blocked)
            )
        for item in (i for i in self.items if i.kind == "object"):
            singular = self.objects.get(item.object) or _singular(item.object)
            payload = {
                "nameSingular": singular,
                "namePlural": item.object,
                "labelSingular": _label(singular),
                "labelPlural": item.label,
            }
            client.metadata(_CREATE_OBJECT, {"input": {"object": payload}})
        client.invalidate_metadata()
        for item in (i for i in self.items if i.kind == "field"):
            owner = client.object_metadata(item.object)
            data: dict[str, Any] = {
                "objectMetadataId": owner["id"],
                "type": item.detail,
                "name": item.field,
                "label": item.label,
            }
            options = [i for i in self.items if i.kind == "option" and i.field == item.field]
            options = [o for o in options if o.object == item.object]
            if item.detail in _SELECTS:
                data["options"] = _option_payload([], options)
            if item.unique:  # CreateFieldInput takes FieldMetadataDTO's isUnique
                # (packages/twenty-server/src/engine/metadata-modules/field-metadata/dtos/)
                data["isUnique"] = True
            if item.target:
                target = client.object_metadata(item.target)
                data["relationCreationPayload"] = {
                    "targetObjectMetadataId": target["id"],
                    "targetFieldLabel": str(owner.get("labelPlural") or item.object),
                    "targetFieldIcon": "IconLink",
                    "type": "MANY_TO_ONE",
                }
            client.metadata(_CREATE_FIELD, {"input": {"field": data}})
        client.invalidate_metadata()
        created = {(i.object, i.field) for i in self.items if i.kind == "field"}
        pending: dict[tuple[str, str], list[PreflightItem]] = {}
        for item in self.items:
            if item.kind == "option" and (item.object, item.field) not in created:
                pending.setdefault((item.object, item.field), []).append(item)
        for (obj, name), options in pending.items():
            meta = next(f for f in client.object_metadata(obj)["fields"] if f["name"] == name)
            update = {"options": _option_payload(list(meta.get("options") or []), options)}
            client.metadata(_UPDATE_FIELD, {"input": {"id": meta["id"], "update": update}})
        client.invalidate_metadata()
        return fetch_schema(client)


_CREATE_OBJECT = """mutation CreateObject($input: CreateOneObjectInput!) {
  createOneObject(input: $input) { id nameSingular namePlural } }"""
_CREATE_FIELD = """mutation CreateField($input: CreateOneFieldMetadataInput!) {
  createOneField(input: $input) { id name type } }"""
_UPDATE_FIELD = """mutation UpdateField($input: UpdateOneFieldMetadataInput!) {
  updateOneField(input: $input) { id name options } }"""


def _option_payload(
    existing: list[dict[str, Any]], new: list[PreflightItem]
) -> list[dict[str, Any]]:
    kept: list[dict[str, Any]] = [
        {k: o[k] for k in ("id", "value", "label", "position", "color") if k in o} for o in existing
    ]
    for n, item in enumerate(new, len(kept)):
        color = _COLORS[n % len(_COLORS)]
        kept.append({"value": item.detail, "label": item.label, "position": n, "color": color})
    return kept


def _singular(plural: str) -> str:
    if plural.endswith("ies"):
        return plural[:-3] + "y"
    if plural.endswith(("ses", "xes", "ches", "shes")):
        return plural[:-2]
    if plural.endswith("s") and not plural.endswith("ss"):
        return plural[:-1]
    return plural + "Record"


def _label(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name).capitalize()


def _type_for(sub: str, schema: WorkspaceSchema) -> str | None:
    found = next((t for t, subs in COMPOSITE_SUBFIELDS.items() if sub in subs), None)
    if found == "RICH_TEXT_V2":  # the body: RICH_TEXT_V2 or RICH_TEXT, as the server names it
        return schema.rich_text_type or found
    return found


def _label_map(spec: Any) -> dict[str, Any] | None:
    """A transform's label -> option value map, or None when it is not one."""
    if not isinstance(spec, Mapping):
        return None
    if "labels" in spec and set(spec) <= _SPEC_WORDS:
        spec = spec["labels"]
    return dict(spec) if isinstance(spec, Mapping) else None


class _Checker:
    def __init__(self, schema: WorkspaceSchema, fields: Mapping[str, Mapping[str, Any]]) -> None:
        self.schema = schema
        self.declared = {
            self.plural(o): {
                n: s if isinstance(s, FieldSpec) else FieldSpec(str(s)) for n, s in d.items()
            }
            for o, d in fields.items()
        }
        self.items: dict[tuple[str, str, str, str], PreflightItem] = {}

    def plural(self, name: str) -> str:
        try:
            return self.schema.object(name).name_plural
        except SchemaError:
            return name

    def add(self, item: PreflightItem) -> None:
        self.items.setdefault((item.kind, item.object, item.field, item.detail), item)

    def has_object(self, obj: str) -> bool:
        if obj in self.schema.objects:
            return True
        self.add(PreflightItem("object", obj, "", "", _label(obj), f"no object {obj!r}; create it"))
        return False

    def need_field(self, obj: str, name: str, guess: str, options: Mapping[str, str]) -> None:
        """``obj.name`` must exist; a missing one is created as declared, else as guessed."""
        if self.has_object(obj) and name in self.schema.objects[obj].fields:
            self.need_options(obj, name, options)
            return
        if obj not in self.schema.objects and name in _NEW_OBJECT_FIELDS:
            return  # Twenty gives every new object these
        spec = self.declared.get(obj, {}).get(name)
        ftype = spec.type if spec is not None else guess
        label = spec.label if spec is not None and spec.label else _label(name)
        target = spec.target if spec is not None else None
        if ftype == "RELATION" and target is None:
            self.add(
                PreflightItem(
                    "field",
                    obj,
                    name,
                    ftype,
                    label,
                    f"relation {name!r} is missing; declare its target: fields={{{obj!r}: "
                    f"{{{name!r}: FieldSpec('RELATION', target='people')}}}}",
                    creatable=False,
                )
            )
            return
        if target is not None:
            target = self.plural(target)
            if target not in self.schema.objects and not any(
                i.kind == "object" and i.object == target for i in self.items.values()
            ):
                self.add(PreflightItem("object", target, "", "", _label(target), "no such object"))
        declared = dict(_options_of(spec.options)) if spec is not None else {}
        choices = {**options, **declared} if ftype in _SELECTS else {}
        blank = ftype in _SELECTS and not choices
        unique = spec is not None and spec.unique
        message = (
            f"no field {name!r}; create it as {ftype}" + (" (unique)" if unique else "")
            if not blank
            else f"no field {name!r}; a {ftype} needs options: declare them in fields= "
            f"(FieldSpec({ftype!r}, options=[...])) or map labels to values in the transforms"
        )
        self.add(
            PreflightItem(
                "field", obj, name, ftype, label, message, not blank, target=target, unique=unique
            )
        )
        for value, text in choices.items():
            self.option(obj, name, value, text)

    def need_options(self, obj: str, name: str, options: Mapping[str, str]) -> None:
        f = self.schema.objects[obj].fields[name]
        if f.type not in (*_SELECTS, "RATING"):
            return
        for value, text in options.items():
            if value not in f.option_values:
                self.option(obj, name, value, text)

    def option(self, obj: str, name: str, value: str, text: str) -> None:
        ok = bool(_OPTION_VALUE.match(value))
        hint = re.sub(r"[^A-Z0-9]+", "_", value.upper()).strip("_") or "VALUE"
        message = (
            f"option {value!r} is missing; add it"
            if ok
            else f"option value {value!r} is not UPPER_SNAKE_CASE as Twenty requires; "
            f"map the label to {hint!r} instead"
        )
        self.add(PreflightItem("option", obj, name, value, text, message, creatable=ok))

    def check_map(self, fmap: FieldMap) -> None:
        obj = self.plural(fmap.object_name)
        self.has_object(obj)
        stored = fmap.source_id_field
        if stored is not None:  # the source ids' field: unique, so records are found by it
            spec = FieldSpec("TEXT", label="Source ID", unique=True)
            self.declared.setdefault(obj, {}).setdefault(stored, spec)
            self.need_field(obj, stored, "TEXT", {})
        for path in fmap.mapping.values():
            name, _, sub = path.partition(".")
            if path in TARGET_KEY_PATHS:
                continue  # task and note targets: the resolver checks their objects
            if path.startswith((REF_PREFIX, SOURCE_REF_PREFIX)) or (
                obj in self.schema.objects and path in self.schema.objects[obj].relations
            ):
                join = path.removeprefix(REF_PREFIX).removeprefix(SOURCE_REF_PREFIX)
                if obj not in self.schema.objects or join not in self.schema.objects[obj].relations:
                    self.need_field(obj, join[:-2] if join.endswith("Id") else join, "RELATION", {})
                continue
            labels = _label_map(fmap.transforms.get(path) or fmap.transforms.get(name)) or {}
            values: dict[str, str] = {}
            for label, value in labels.items():  # the first label names the option
                if value is not None:
                    values.setdefault(str(value), str(label))
            guess = _type_for(sub, self.schema) if sub else ("SELECT" if values else "TEXT")
            self.need_field(obj, name, guess or "TEXT", values)
        for suggestion in fmap.suggestions:  # fields and options the suggestion proposed
            if suggestion.path is None or suggestion.path.startswith(REF_PREFIX):
                continue
            name = suggestion.path.partition(".")[0]
            if suggestion.status == "create":
                self.need_field(obj, name, suggestion.field_type or "TEXT", {})
            if suggestion.options:
                values = {}
                for label, value in suggestion.options.items():
                    values.setdefault(str(value), str(label))
                self.need_field(obj, name, "SELECT", values)

    def check_frame(self, obj: str, frame: pd.DataFrame) -> None:
        obj = self.plural(obj)
        for column in map(str, frame.columns):
            if column.startswith("_"):  # _row, _ref.*, _source_id: never fields
                continue
            name, _, sub = column.partition(".")
            known = obj in self.schema.objects and self.schema.objects[obj].fields.get(name)
            if known and known.type in _SELECTS:
                found: set[str] = set()
                for value in frame[column].dropna():
                    found.update(value if isinstance(value, list | tuple) else [value])
                self.need_field(
                    obj, name, known.type, {str(v): str(v) for v in sorted(map(str, found))}
                )
            elif not (obj in self.schema.objects and column in self.schema.objects[obj].relations):
                guess = _type_for(sub, self.schema) if sub else None
                self.need_field(obj, name, guess or "TEXT", {})


def _options_of(options: Sequence[str] | Mapping[str, str]) -> list[tuple[str, str]]:
    if isinstance(options, Mapping):
        return [(str(k), str(v)) for k, v in options.items()]
    return [(str(v), str(v).replace("_", " ").title()) for v in options]


def preflight(
    schema: WorkspaceSchema,
    mappings: FieldMap
    | MappedFrame
    | Iterable[FieldMap | MappedFrame]
    | Mapping[str, pd.DataFrame]
    | None = None,
    *,
    fields: Mapping[str, Mapping[str, FieldSpec | str]] | None = None,
    options: Mapping[str, Sequence[str] | Mapping[str, str]] | None = None,
    objects: Mapping[str, str] | None = None,
) -> PreflightReport:
    """Check that the workspace has every object, field and option a migration uses.

    Args:
        schema: The workspace schema.
        mappings: Field maps (their paths, and option values their label maps produce),
            mapped frames, or frames by object (their columns, and the values of their
            select columns).
        fields: Fields the migration needs, by object: ``{"companies": {"industry":
            FieldSpec("SELECT", options=["SOFTWARE", "RETAIL"])}}`` (or just a type);
            also how to create a missing field a mapping names (default TEXT, or the
            composite type its sub-field names, or SELECT for a label map).
        options: Option values a select field needs, by ``"object.field"``: a list, or
            value -> label.
        objects: Singular names for missing objects (default: from the plural).

    Returns:
        A :class:`PreflightReport`; ``.apply(client)`` creates what is missing.

    Example:
        report = preflight(schema, [opps_map], options={"opportunities.stage": ["LOST"]})
        schema = report.apply(client) if not report.ok else schema
    """
    checker = _Checker(schema, fields or {})
    if isinstance(mappings, FieldMap | MappedFrame):
        mappings = [mappings]
    if isinstance(mappings, Mapping):
        for obj, frame in mappings.items():
            checker.check_frame(obj, frame)
    else:
        for item in mappings or ():
            checker.check_map(item.field_map if isinstance(item, MappedFrame) else item)
    for obj, declared in checker.declared.items():
        for name, spec in declared.items():
            checker.need_field(obj, name, spec.type, dict(_options_of(spec.options)))
    for path, values in (options or {}).items():
        obj, _, name = path.partition(".")
        checker.need_field(checker.plural(obj), name, "SELECT", dict(_options_of(values)))
    ordered = sorted(
        checker.items.values(), key=lambda i: ["object", "field", "option"].index(i.kind)
    )
    return PreflightReport(
        ordered, schema, {checker.plural(k): v for k, v in (objects or {}).items()}
    )
