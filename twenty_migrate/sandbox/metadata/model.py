"""Workspace metadata of the sandbox: objects, fields, relations and unique indexes.

The :class:`Registry` holds what Twenty keeps in its metadata tables. It starts with the
standard objects (:func:`standard_registry`) and grows through :meth:`Registry.create_object`
and :meth:`Registry.create_field`, exactly like a workspace does through ``/metadata``.
Every change bumps :attr:`Registry.version` and is told to the listeners (the engine
persists custom metadata through them).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from twenty_migrate.sandbox.metadata.field_types import (
    ACTOR_SOURCES,
    COMPOSITE_TYPES,
    FIELD_TYPES,
    NON_CREATABLE_TYPES,
    RATING_VALUES,
    RELATION_TYPES,
    RICH_TEXT_TYPES,
    CompositeProperty,
    creatable_field_types,
    field_types,
)
from twenty_migrate.sandbox.profiles import DEFAULT_PROFILE, TwentyProfile

if TYPE_CHECKING:
    from twenty_migrate.sandbox.metadata.registry import Registry

__all__ = [
    "ACTOR_SOURCES",
    "COMPOSITE_TYPES",
    "FIELD_TYPES",
    "NON_CREATABLE_TYPES",
    "RATING_VALUES",
    "RELATION_TYPES",
    "RICH_TEXT_TYPES",
    "SEEDED_WORKSPACE_MEMBERS",
    "CompositeProperty",
    "FieldMeta",
    "ObjectMeta",
    "RelationMeta",
    "copy_json",
    "creatable_field_types",
    "field_types",
    "member_records",
    "metadata_id",
    "system_fields",
]

FieldType = str
JSON = dict[str, Any]

# Namespace for the deterministic ids of metadata: the same names always give the same ids,
# so a custom object replayed from the database after a restart keeps its ids.
METADATA_NAMESPACE = uuid.UUID("6f1c3f38-4a4e-4e53-9a55-1b2f5d0c7e11")

# When the standard metadata was created (arbitrary but stable, so restarts keep it).
STANDARD_METADATA_TIME = "2025-01-01T00:00:00.000Z"
# The key under which a change's time travels in its recorded payload, so a change replayed
# from the database after a restart keeps its createdAt / updatedAt.
CHANGED_AT_KEY = "__changedAt"

# [version-dependent] `updatedBy` (ACTOR) exists on every object in newer versions.
HAS_UPDATED_BY = True
# [version-dependent] `city` on person exists in older versions (used by REST tests).
PERSON_HAS_CITY = True
# [version-dependent] REST hint for an unknown object: Twenty replaces "eg: companies" by
# "Did you mean '{plural}'?" when a singular name was given.
UNKNOWN_OBJECT_HINT_REPLACES_EXAMPLE = True


def metadata_id(*parts: str) -> str:
    """A deterministic metadata id for the given names."""
    return str(uuid.uuid5(METADATA_NAMESPACE, "/".join(parts)))


@dataclass
class RelationMeta:
    """One side of a relation between two objects."""

    type: str  # "MANY_TO_ONE" | "ONE_TO_MANY"
    target_object: str  # nameSingular of the other side
    target_field: str  # field name on the other side
    join_column: str | None  # "companyId" on MANY_TO_ONE, None on ONE_TO_MANY
    on_delete: str = "SET_NULL"


@dataclass
class FieldMeta:
    """A field of an object, as Twenty's field metadata describes it."""

    id: str
    name: str
    label: str
    type: FieldType
    is_nullable: bool = True
    is_unique: bool = False
    is_custom: bool = False
    is_system: bool = False
    is_active: bool = True
    is_read_only: bool = False
    default_value: Any = None
    options: list[JSON] | None = None
    settings: JSON | None = None
    description: str | None = None
    icon: str | None = None
    relation: RelationMeta | None = None
    object_id: str = ""
    created_at: str = STANDARD_METADATA_TIME
    updated_at: str = STANDARD_METADATA_TIME
    _registry: Registry | None = dc_field(default=None, repr=False, compare=False)

    @property
    def profile(self) -> TwentyProfile:
        """The release family of the registry holding this field (the newest when detached)."""
        return self._registry.profile if self._registry is not None else DEFAULT_PROFILE

    @property
    def is_legacy_rich_text(self) -> bool:
        """True for the v1 ``RICH_TEXT`` (a plain, unwritable column) of releases before 1.20."""
        return self.type == "RICH_TEXT" and self.profile.rich_text_type != "RICH_TEXT"

    @property
    def is_composite(self) -> bool:
        """True for FULL_NAME, EMAILS, PHONES, LINKS, ADDRESS, CURRENCY, ACTOR, rich text."""
        return self.type in COMPOSITE_TYPES and not self.is_legacy_rich_text

    @property
    def composite_properties(self) -> tuple[CompositeProperty, ...]:
        """The sub-fields of a composite field; empty for any other field."""
        return COMPOSITE_TYPES[self.type] if self.is_composite else ()

    @property
    def is_many_to_one(self) -> bool:
        """True for the side of a relation that holds the join column."""
        return self.relation is not None and self.relation.type == "MANY_TO_ONE"

    @property
    def is_one_to_many(self) -> bool:
        """True for the side of a relation that lists the records pointing here."""
        return self.relation is not None and self.relation.type == "ONE_TO_MANY"

    def option_values(self) -> list[str]:
        """The allowed values of a SELECT, MULTI_SELECT or RATING field."""
        return [str(option["value"]) for option in self.options or []]

    def to_api(self) -> JSON:
        """The field as Twenty's metadata API returns it (camelCase)."""
        data: JSON = {
            "id": self.id,
            "type": self.type,
            "name": self.name,
            "label": self.label,
            "description": self.description,
            "icon": self.icon,
            "isCustom": self.is_custom,
            "isActive": self.is_active,
            "isSystem": self.is_system,
            "isNullable": self.is_nullable,
            "isUnique": self.is_unique,
            "isUIReadOnly": self.is_read_only,
            "defaultValue": copy_json(self.default_value),
            "options": copy_json(self.options),
            "settings": copy_json(self.settings),
            "objectMetadataId": self.object_id,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
            "relation": None,
        }
        if self.relation is not None and self._registry is not None:
            data["relation"] = self._relation_api(self._registry, self.relation)
        return data

    def _relation_api(self, registry: Registry, relation: RelationMeta) -> JSON | None:
        source = registry.by_id(self.object_id)
        target = registry.by_singular(relation.target_object)
        if source is None or target is None:
            return None
        target_field = target.field(relation.target_field)
        return {
            "type": relation.type,
            "sourceObjectMetadata": _object_ref(source),
            "targetObjectMetadata": _object_ref(target),
            "sourceFieldMetadata": {"id": self.id, "name": self.name},
            "targetFieldMetadata": {
                "id": target_field.id if target_field else None,
                "name": relation.target_field,
            },
        }


def _object_ref(obj: ObjectMeta) -> JSON:
    return {"id": obj.id, "nameSingular": obj.name_singular, "namePlural": obj.name_plural}


def copy_json(value: Any) -> Any:
    """A deep copy of a JSON-like value (dicts and lists)."""
    if isinstance(value, dict):
        return {k: copy_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [copy_json(v) for v in value]
    return value


@dataclass
class ObjectMeta:
    """An object (standard or custom) and its fields."""

    id: str
    name_singular: str
    name_plural: str
    label_singular: str
    label_plural: str
    is_custom: bool = False
    is_system: bool = False
    is_active: bool = True
    description: str | None = None
    icon: str | None = None
    label_identifier_field: str = "name"
    fields: dict[str, FieldMeta] = dc_field(default_factory=dict)
    duplicate_criteria: list[list[str]] | None = None
    is_searchable: bool = True
    created_at: str = STANDARD_METADATA_TIME
    updated_at: str = STANDARD_METADATA_TIME

    def field(self, name: str) -> FieldMeta | None:
        """The field called ``name``, or None."""
        return self.fields.get(name)

    def join_columns(self) -> dict[str, FieldMeta]:
        """Join column name (``companyId``) -> the MANY_TO_ONE field that owns it."""
        return {
            f.relation.join_column: f
            for f in self.fields.values()
            if f.relation is not None and f.relation.join_column and f.is_active
        }

    def unique_groups(self) -> list[tuple[str, ...]]:
        """Storage keys of each unique index, e.g. ``[("emails.primaryEmail",)]``."""
        groups: list[tuple[str, ...]] = []
        for f in self.fields.values():
            if not f.is_unique or not f.is_active or f.name == "id":
                continue
            if f.is_composite:
                keys = tuple(f"{f.name}.{p.name}" for p in COMPOSITE_TYPES[f.type] if p.in_unique)
                if keys:
                    groups.append(keys)
            elif f.relation is not None:
                if f.relation.join_column:
                    groups.append((f.relation.join_column,))
            else:
                groups.append((f.name,))
        return groups

    def unique_group_field(self, group: tuple[str, ...]) -> FieldMeta | None:
        """The field behind a unique group (for error messages)."""
        head = group[0].split(".", 1)[0]
        found = self.fields.get(head)
        if found is None:
            found = self.join_columns().get(head)
        return found

    def index_metadatas(self) -> list[JSON]:
        """The unique indexes as Twenty's ``indexMetadatas`` nodes."""
        indexes: list[JSON] = []
        for group in self.unique_groups():
            owner = self.unique_group_field(group)
            if owner is None:
                continue
            column = group[0].replace(".", "_")
            indexes.append(
                {
                    "id": metadata_id(self.name_singular, "index", *group),
                    "name": f"IDX_UNIQUE_{self.name_singular}_{column}",
                    "isUnique": True,
                    "indexWhereClause": None,
                    "indexType": "BTREE",
                    "indexFieldMetadatas": [{"fieldMetadataId": owner.id, "order": 0}],
                }
            )
        return indexes

    def to_api(self) -> JSON:
        """The object as Twenty's metadata API returns it, with ``fields``."""
        identifier = self.fields.get(self.label_identifier_field)
        return {
            "id": self.id,
            "nameSingular": self.name_singular,
            "namePlural": self.name_plural,
            "labelSingular": self.label_singular,
            "labelPlural": self.label_plural,
            "description": self.description,
            "icon": self.icon,
            "isCustom": self.is_custom,
            "isRemote": False,
            "isActive": self.is_active,
            "isSystem": self.is_system,
            "isSearchable": self.is_searchable,
            "labelIdentifierFieldMetadataId": identifier.id if identifier else None,
            "imageIdentifierFieldMetadataId": None,
            "duplicateCriteria": copy_json(self.duplicate_criteria),
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
            "fields": [f.to_api() for f in self.fields.values()],
        }


Listener = Callable[[str, JSON], None]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


RESERVED_NAMES: frozenset[str] = frozenset(
    {"and", "or", "not", "filter", "orderBy", "edges", "node", "pageInfo", "totalCount", "type"}
)
OPTION_COLORS: tuple[str, ...] = (
    "red",
    "purple",
    "sky",
    "turquoise",
    "yellow",
    "green",
    "orange",
    "pink",
    "blue",
    "gray",
)


# name, label, type, nullable, system, default, icon (read-only: every one but id/position)
_SYSTEM_FIELDS: tuple[tuple[str, str, str, bool, bool, Any, str], ...] = (
    ("id", "Id", "UUID", False, True, "uuid", "Icon123"),
    ("createdAt", "Creation date", "DATE_TIME", False, False, "now", "IconCalendar"),
    ("updatedAt", "Last update", "DATE_TIME", False, False, "now", "IconCalendarClock"),
    ("deletedAt", "Deleted at", "DATE_TIME", True, False, None, "IconCalendarMinus"),
    ("createdBy", "Created by", "ACTOR", False, False, "actor", "IconCreativeCommonsSa"),
    ("updatedBy", "Updated by", "ACTOR", False, False, "actor", "IconUserCircle"),
    ("position", "Position", "POSITION", False, True, 0, "IconHierarchy2"),
    ("searchVector", "Search vector", "TS_VECTOR", True, True, None, "IconSearch"),
)


def system_fields(object_name: str) -> list[FieldMeta]:
    """The system fields every object has (id, timestamps, actors, position, searchVector)."""
    fields: list[FieldMeta] = []
    for name, label, ftype, nullable, system, default, icon in _SYSTEM_FIELDS:
        if name == "updatedBy" and not HAS_UPDATED_BY:
            continue
        if default == "actor":
            default = {"source": "'MANUAL'", "name": "'System'", "workspaceMemberId": None}
        fields.append(
            FieldMeta(
                id=metadata_id(object_name, name),
                name=name,
                label=label,
                type=ftype,
                is_nullable=nullable,
                is_system=system,
                is_read_only=name not in ("id", "position"),
                default_value=default,
                icon=icon,
            )
        )
    return fields


# Seeded workspace members (one per user of the sandbox workspace).
SEEDED_WORKSPACE_MEMBERS: tuple[JSON, ...] = (
    {
        "id": "20202020-0687-4c41-b707-ed1bfca972a7",
        "name": {"firstName": "Tim", "lastName": "Apple"},
        "userEmail": "tim@apple.dev",
        "userId": "20202020-9e3b-46d4-a556-88b9ddc2b034",
        "locale": "en",
        "colorScheme": "Light",
    },
    {
        "id": "20202020-77d5-4cb6-b60a-f4a835a85d61",
        "name": {"firstName": "Jony", "lastName": "Ive"},
        "userEmail": "jony.ive@apple.dev",
        "userId": "20202020-3957-4908-9c36-2929a23f8357",
        "locale": "en",
        "colorScheme": "Light",
    },
    {
        "id": "20202020-1553-45c6-a028-5a9064cce07f",
        "name": {"firstName": "Phil", "lastName": "Schiler"},
        "userEmail": "phil.schiler@apple.dev",
        "userId": "20202020-7169-42cf-bc47-1cfef15264b8",
        "locale": "en",
        "colorScheme": "Light",
    },
)
_MEMBER_NAMESPACE = uuid.UUID("5d0c4f6e-2b7a-4c1e-8f3d-9a6b1e2c7d40")


def member_records(members: Sequence[Mapping[str, Any]]) -> tuple[JSON, ...]:
    """Workspace member records to seed, in Twenty's shape, with stable ids.

    Each member needs a ``userEmail`` and a ``name`` (``{"firstName", "lastName"}``); its
    ``id`` and ``userId`` default to ids derived from the email, so a restarted sandbox
    seeds the same members.

    Raises:
        ValueError: A member without an email, or an email given twice.
    """
    out: list[JSON] = []
    seen: set[str] = set()
    for number, given in enumerate(members, start=1):
        if not isinstance(given, Mapping):
            raise ValueError(
                f"member {number} must be a dict such as {{'name': {{'firstName': 'Ada', "
                f"'lastName': 'Lovelace'}}, 'userEmail': 'ada@example.com'}}, not {given!r}"
            )
        email = str(given.get("userEmail") or "").strip()
        if "@" not in email:
            raise ValueError(f"member {number} needs a 'userEmail' (an email address): {given!r}")
        if email.lower() in seen:
            raise ValueError(f"member {number}: the email {email!r} is given twice")
        seen.add(email.lower())
        name = given.get("name") or {}
        if not isinstance(name, Mapping):
            raise ValueError(
                f"member {number}: 'name' must be {{'firstName': ..., 'lastName': ...}}"
            )
        record: JSON = {
            "locale": "en",
            "colorScheme": "Light",
            **given,
            "userEmail": email,
            "name": {
                "firstName": str(name.get("firstName") or ""),
                "lastName": str(name.get("lastName") or ""),
            },
        }
        record.setdefault("id", str(uuid.uuid5(_MEMBER_NAMESPACE, f"member:{email.lower()}")))
        record.setdefault("userId", str(uuid.uuid5(_MEMBER_NAMESPACE, f"user:{email.lower()}")))
        out.append(record)
    return tuple(out)
