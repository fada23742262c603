"""The workspace schema: Twenty's objects, fields, types, options, unique keys and relations.

Read once from the metadata API (:func:`fetch_schema`) and cached to a JSON file so work can
go on offline. Custom objects and fields are first-class: they come from the same metadata.

Example:
    schema = tm.fetch_schema(client, cache="schema.json")
    people = schema.object("people")
    people.unique_keys          # [("emails.primaryEmail",)]
    people.field("emails").type  # "EMAILS"
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from twenty_migrate.errors import SchemaError

if TYPE_CHECKING:
    from twenty_migrate.client import TwentyClient

#: Writable sub-fields of each composite type (twenty-api.md §4.2).
COMPOSITE_SUBFIELDS: dict[str, tuple[str, ...]] = {
    "FULL_NAME": ("firstName", "lastName"),
    "EMAILS": ("primaryEmail", "additionalEmails"),
    "PHONES": (
        "primaryPhoneNumber",
        "primaryPhoneCountryCode",
        "primaryPhoneCallingCode",
        "additionalPhones",
    ),
    "LINKS": ("primaryLinkUrl", "primaryLinkLabel", "secondaryLinks"),
    "ADDRESS": (
        "addressStreet1",
        "addressStreet2",
        "addressCity",
        "addressPostcode",
        "addressState",
        "addressCountry",
        "addressLat",
        "addressLng",
    ),
    "CURRENCY": ("amountMicros", "currencyCode"),
    "ACTOR": ("source",),
    "RICH_TEXT_V2": ("markdown", "blocknote"),
}

#: Sub-fields that make up a composite field's part of a unique index (twenty-api.md §3).
UNIQUE_SUBFIELDS: dict[str, tuple[str, ...]] = {
    "EMAILS": ("primaryEmail",),
    "LINKS": ("primaryLinkUrl",),
    "PHONES": ("primaryPhoneNumber", "primaryPhoneCountryCode", "primaryPhoneCallingCode"),
}

#: Field types an import never writes (computed, system-managed or read-only).
UNWRITABLE_TYPES = frozenset({"TS_VECTOR", "RICH_TEXT", "FILES"})
#: System fields the server sets itself.
SERVER_SET_FIELDS = frozenset({"createdAt", "updatedAt", "deletedAt", "updatedBy", "searchVector"})

METADATA_QUERY = """
query Objects {
  objects(paging: {first: 1000}) {
    edges { node {
      id nameSingular namePlural labelSingular labelPlural description isCustom isActive isSystem
      fieldsList {
        id type name label description isCustom isActive isSystem isNullable isUnique
        defaultValue options settings
        relation {
          type
          targetObjectMetadata { id nameSingular namePlural }
          targetFieldMetadata { id name }
        }
      }
    } }
  }
}
"""


@dataclass(frozen=True)
class FieldSchema:
    """One field of a Twenty object, as the metadata API describes it."""

    name: str
    label: str
    type: str
    is_nullable: bool = True
    is_unique: bool = False
    is_custom: bool = False
    is_system: bool = False
    is_active: bool = True
    default_value: Any = None
    options: tuple[dict[str, Any], ...] = ()
    settings: dict[str, Any] = field(default_factory=dict)
    relation_type: str | None = None
    relation_target: str | None = None

    @property
    def option_values(self) -> list[str]:
        """The values Twenty accepts for a SELECT, MULTI_SELECT or RATING field."""
        return [str(option["value"]) for option in self.options]

    @property
    def join_column(self) -> str | None:
        """The writable id column of a many-to-one relation (``companyId``), else None."""
        if self.type in ("RELATION", "MORPH_RELATION") and self.relation_type == "MANY_TO_ONE":
            return str(self.settings.get("joinColumnName") or f"{self.name}Id")
        return None

    @property
    def is_required(self) -> bool:
        """Twenty refuses a null for this field on create (non-nullable with no default)."""
        return not self.is_nullable and self.default_value is None

    @property
    def is_writable(self) -> bool:
        """Whether an import may send a value for this field."""
        if not self.is_active or self.type in UNWRITABLE_TYPES or self.name in SERVER_SET_FIELDS:
            return False
        if self.type in ("RELATION", "MORPH_RELATION"):
            return self.join_column is not None
        return True

    def paths(self) -> list[str]:
        """Field paths an import can write: ``name.firstName``, ``companyId``, ``jobTitle``."""
        if not self.is_writable:
            return []
        if self.join_column:
            return [self.join_column]
        subfields = COMPOSITE_SUBFIELDS.get(self.type)
        if subfields:
            return [f"{self.name}.{sub}" for sub in subfields]
        return [self.name]


@dataclass(frozen=True)
class ObjectSchema:
    """One Twenty object (standard or custom) with its fields."""

    name_singular: str
    name_plural: str
    label_singular: str
    label_plural: str
    id: str = ""
    is_custom: bool = False
    is_system: bool = False
    is_active: bool = True
    fields: dict[str, FieldSchema] = field(default_factory=dict)

    def field(self, name: str) -> FieldSchema:
        """The field called ``name`` (a field name or a join column like ``companyId``)."""
        if name in self.fields:
            return self.fields[name]
        for candidate in self.fields.values():
            if candidate.join_column == name:
                return candidate
        known = ", ".join(sorted(self.fields))
        raise SchemaError(
            f"Object {self.name_singular} has no field {name!r}. Known fields: {known}. "
            "Create it in Twenty (Settings > Data model) or fix the mapping."
        )

    @property
    def unique_keys(self) -> list[tuple[str, ...]]:
        """Field-path groups Twenty treats as unique (upsert matching keys), besides ``id``."""
        keys: list[tuple[str, ...]] = []
        for candidate in self.fields.values():
            if not candidate.is_unique or candidate.name == "id":
                continue
            subfields = UNIQUE_SUBFIELDS.get(candidate.type)
            if subfields:
                keys.append(tuple(f"{candidate.name}.{sub}" for sub in subfields))
            elif candidate.join_column:
                keys.append((candidate.join_column,))
            else:
                keys.append((candidate.name,))
        return keys

    @property
    def relations(self) -> dict[str, str]:
        """Many-to-one join columns and the object each points to (``companyId`` → ``company``)."""
        return {
            str(candidate.join_column): str(candidate.relation_target)
            for candidate in self.fields.values()
            if candidate.join_column and candidate.relation_target
        }

    def writable_paths(self) -> list[str]:
        """Every field path an import may write to this object."""
        return [path for candidate in self.fields.values() for path in candidate.paths()]

    def describe(self) -> str:
        """A human-readable table of the object's writable fields."""
        lines = [f"{self.name_plural} ({self.label_plural}){' [custom]' if self.is_custom else ''}"]
        for candidate in self.fields.values():
            if not candidate.is_writable or candidate.is_system and candidate.name != "id":
                continue
            flags = [
                flag
                for flag, on in (
                    ("unique", candidate.is_unique),
                    ("required", candidate.is_required),
                    ("custom", candidate.is_custom),
                )
                if on
            ]
            extra = f" options={candidate.option_values}" if candidate.options else ""
            target = f" -> {candidate.relation_target}" if candidate.relation_target else ""
            flag_text = f" ({', '.join(flags)})" if flags else ""
            lines.append(f"  {candidate.name}: {candidate.type}{target}{flag_text}{extra}")
        return "\n".join(lines)


@dataclass(frozen=True)
class WorkspaceSchema:
    """Every object of a workspace, by plural name."""

    objects: dict[str, ObjectSchema]

    def object(self, name: str) -> ObjectSchema:
        """The object named ``name`` (plural or singular, as Twenty spells it)."""
        if name in self.objects:
            return self.objects[name]
        for candidate in self.objects.values():
            if candidate.name_singular == name:
                return candidate
        known = ", ".join(sorted(self.objects))
        raise SchemaError(
            f"The workspace has no object {name!r}. Known objects: {known}. "
            "Create it in Twenty or with the preflight, then fetch the schema again."
        )

    def describe(self) -> str:
        """All non-system objects and their writable fields."""
        return "\n\n".join(
            candidate.describe() for candidate in self.objects.values() if not candidate.is_system
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe form of the schema, the format of the cache file."""
        return {"objects": {name: asdict(obj) for name, obj in self.objects.items()}}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WorkspaceSchema:
        """Rebuild a schema saved by :meth:`to_dict`."""
        objects: dict[str, ObjectSchema] = {}
        for name, raw in data["objects"].items():
            fields = {
                field_name: FieldSchema(**{**spec, "options": tuple(spec.get("options") or ())})
                for field_name, spec in raw["fields"].items()
            }
            objects[name] = ObjectSchema(**{**raw, "fields": fields})
        return cls(objects)

    @classmethod
    def from_metadata(cls, nodes: list[dict[str, Any]]) -> WorkspaceSchema:
        """Build the schema from metadata object nodes (GraphQL ``objects`` edges' nodes)."""
        objects: dict[str, ObjectSchema] = {}
        for node in nodes:
            fields: dict[str, FieldSchema] = {}
            for raw in node.get("fieldsList") or node.get("fields") or []:
                relation = raw.get("relation") or {}
                target = relation.get("targetObjectMetadata") or {}
                fields[raw["name"]] = FieldSchema(
                    name=raw["name"],
                    label=raw.get("label") or raw["name"],
                    type=raw["type"],
                    is_nullable=bool(raw.get("isNullable", True)),
                    is_unique=bool(raw.get("isUnique", False)),
                    is_custom=bool(raw.get("isCustom", False)),
                    is_system=bool(raw.get("isSystem", False)),
                    is_active=bool(raw.get("isActive", True)),
                    default_value=raw.get("defaultValue"),
                    options=tuple(raw.get("options") or ()),
                    settings=dict(raw.get("settings") or {}),
                    relation_type=relation.get("type")
                    or (raw.get("settings") or {}).get("relationType"),
                    relation_target=target.get("nameSingular"),
                )
            objects[node["namePlural"]] = ObjectSchema(
                name_singular=node["nameSingular"],
                name_plural=node["namePlural"],
                label_singular=node.get("labelSingular") or node["nameSingular"],
                label_plural=node.get("labelPlural") or node["namePlural"],
                id=node.get("id", ""),
                is_custom=bool(node.get("isCustom", False)),
                is_system=bool(node.get("isSystem", False)),
                is_active=bool(node.get("isActive", True)),
                fields=fields,
            )
        return cls(objects)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the schema cache (atomically) so work can continue offline."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            "w", dir=target.parent, suffix=".tmp", delete=False, encoding="utf-8"
        ) as handle:
            json.dump(self.to_dict(), handle, indent=1, default=str)
        os.replace(handle.name, target)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> WorkspaceSchema:
        """Read a schema cache written by :meth:`save`."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise SchemaError(
                f"Cannot read the schema cache {path}: {exc}. Fetch it again with "
                "tm.fetch_schema(client, cache=...)."
            ) from exc
        return cls.from_dict(data)


def fetch_schema(
    client: TwentyClient, *, cache: str | os.PathLike[str] | None = None, refresh: bool = True
) -> WorkspaceSchema:
    """Read the workspace schema from Twenty's metadata API.

    Args:
        client: a connected client.
        cache: a JSON file; written after a fetch, and read instead of the network when
            ``refresh`` is False and the file exists.
        refresh: fetch even when a cache file exists.

    Returns:
        The workspace schema.

    Example:
        schema = tm.fetch_schema(client, cache="schema.json")
        print(schema.object("people").describe())
    """
    if cache is not None and not refresh and Path(cache).exists():
        return WorkspaceSchema.load(cache)
    data = client.metadata(METADATA_QUERY)
    nodes = [edge["node"] for edge in data["objects"]["edges"]]
    schema = WorkspaceSchema.from_metadata(nodes)
    if cache is not None:
        schema.save(cache)
    return schema
