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
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from twenty_migrate.twenty.discovery import (
    RICH_TEXT,
    RICH_TEXT_V2,
    CustomRule,
    ServerTraits,
    TargetModel,
    rich_text_type_of,
)
from twenty_migrate.twenty.errors import SchemaError
from twenty_migrate.twenty.files import write_text_atomically

if TYPE_CHECKING:
    from twenty_migrate.twenty.client import TwentyClient

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
    # The writable rich-text body: RICH_TEXT_V2 before release 1.20, RICH_TEXT after
    # (PR #18628). Before 1.20 a RICH_TEXT field is the legacy body, which Twenty refuses
    # to write: such fields are marked is_read_only when the schema is read.
    RICH_TEXT_V2: ("markdown", "blocknote"),
    RICH_TEXT: ("markdown", "blocknote"),
}
#: The rich-text body types, under either release's name.
RICH_TEXT_TYPES = frozenset({RICH_TEXT, RICH_TEXT_V2})

#: Sub-fields that make up a composite field's part of a unique index (twenty-api.md §3).
UNIQUE_SUBFIELDS: dict[str, tuple[str, ...]] = {
    "EMAILS": ("primaryEmail",),
    "LINKS": ("primaryLinkUrl",),
    "PHONES": ("primaryPhoneNumber", "primaryPhoneCountryCode", "primaryPhoneCallingCode"),
}

#: Field types an import never writes (computed, system-managed or read-only).
UNWRITABLE_TYPES = frozenset({"TS_VECTOR", "FILES"})
#: System fields the server sets itself.
SERVER_SET_FIELDS = frozenset({"createdAt", "updatedAt", "deletedAt", "updatedBy", "searchVector"})

#: Standard objects every Twenty workspace has, owned by Twenty's standard application.
STANDARD_OBJECT_NAMES = frozenset(
    {
        "person",
        "company",
        "opportunity",
        "task",
        "note",
        "taskTarget",
        "noteTarget",
        "workspaceMember",
        "attachment",
        "timelineActivity",
        "favorite",
        "message",
        "messageThread",
        "calendarEvent",
        "connectedAccount",
        "workflow",
        "dashboard",
    }
)
#: Universal identifiers of Twenty's standard metadata share this prefix
#: (twenty-shared STANDARD_OBJECTS; the standard application is 20202020-64aa-...).
STANDARD_IDENTIFIER_PREFIX = "20202020-"


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
    is_read_only: bool = False
    """Twenty refuses writes to it (the legacy RICH_TEXT body before release 1.20)."""

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
        if (
            not self.is_active
            or self.is_read_only
            or self.type in UNWRITABLE_TYPES
            or self.name in SERVER_SET_FIELDS
        ):
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
    """Every object of a workspace, by plural name, and what was learned of its server.

    Attributes:
        objects: The objects by plural name.
        server: The server's traits found while reading the schema (metadata shape,
            rich-text type, target model...); None for a schema built by hand.
    """

    objects: dict[str, ObjectSchema]
    server: ServerTraits | None = None

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

    @property
    def rich_text_type(self) -> str | None:
        """The writable rich-text type (``RICH_TEXT_V2`` before release 1.20, ``RICH_TEXT``)."""
        if self.server is not None and self.server.rich_text_type:
            return self.server.rich_text_type
        return rich_text_type_of(f.type for o in self.objects.values() for f in o.fields.values())

    @property
    def target_model(self) -> TargetModel | None:
        """How task and note targets point at records: ``plain`` or ``morph`` (None: unknown).

        ``morph`` when ``taskTargets``/``noteTargets`` carry MORPH_RELATION fields
        (``targetPerson``, join column ``targetPersonId``); ``plain`` when they carry a
        ``person`` relation (join column ``personId``). The junction-object configuration
        announced in Twenty #21263 has no published shape yet, so it is not recognised.
        """
        for holder_name in ("taskTargets", "noteTargets"):
            holder = self.objects.get(holder_name)
            if holder is None:
                continue
            if any(f.type == "MORPH_RELATION" for f in holder.fields.values()):
                return "morph"
            if any(f.join_column and f.relation_target == "person" for f in holder.fields.values()):
                return "plain"
        return None

    def describe(self) -> str:
        """All non-system objects and their writable fields."""
        return "\n\n".join(
            candidate.describe() for candidate in self.objects.values() if not candidate.is_system
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe form of the schema, the format of the cache file."""
        data: dict[str, Any] = {
            "objects": {name: asdict(obj) for name, obj in self.objects.items()}
        }
        if self.server is not None:
            data["server"] = self.server.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WorkspaceSchema:
        """Rebuild a schema saved by :meth:`to_dict` (cache files without ``server`` too)."""
        server = data.get("server")
        # Files written before the server section were read from 1.x servers, whose
        # RICH_TEXT fields are the unwritable legacy body.
        legacy_file = server is None
        objects: dict[str, ObjectSchema] = {}
        for name, raw in data["objects"].items():
            fields: dict[str, FieldSchema] = {}
            for field_name, spec in raw["fields"].items():
                values = {**spec, "options": tuple(spec.get("options") or ())}
                if legacy_file and spec.get("type") == RICH_TEXT:
                    values["is_read_only"] = True
                fields[field_name] = FieldSchema(**values)
            objects[name] = ObjectSchema(**{**raw, "fields": fields})
        traits = ServerTraits.from_dict(server) if isinstance(server, dict) else None
        return cls(objects, traits)

    @classmethod
    def from_metadata(
        cls,
        nodes: list[dict[str, Any]],
        *,
        field_types: list[str] | None = None,
        traits: ServerTraits | None = None,
    ) -> WorkspaceSchema:
        """Build the schema from metadata object nodes (GraphQL ``objects`` edges' nodes).

        Args:
            nodes: The nodes, with ``fieldsList`` (or ``fields``).
            field_types: The server's ``FieldMetadataType`` values, when introspected.
            traits: What is known of the server already (``metadata_fields``...); the
                schema's ``server`` is a copy completed with what the nodes show.
        """
        rule, is_custom = _custom_rule(nodes)
        all_types = [
            str(raw.get("type"))
            for node in nodes
            for raw in node.get("fieldsList") or node.get("fields") or []
        ]
        rich_text = rich_text_type_of(all_types, field_types)
        legacy = RICH_TEXT if rich_text == RICH_TEXT_V2 else None
        objects: dict[str, ObjectSchema] = {}
        for node in nodes:
            object_custom = is_custom(node, None)
            fields: dict[str, FieldSchema] = {}
            for raw in node.get("fieldsList") or node.get("fields") or []:
                relation = _relation_of(raw)
                target = relation.get("targetObjectMetadata") or {}
                fields[raw["name"]] = FieldSchema(
                    name=raw["name"],
                    label=raw.get("label") or raw["name"],
                    type=raw["type"],
                    is_nullable=bool(raw.get("isNullable", True)),
                    is_unique=bool(raw.get("isUnique", False)),
                    is_custom=is_custom(raw, node),
                    is_system=bool(raw.get("isSystem", False)),
                    is_active=bool(raw.get("isActive", True)),
                    default_value=raw.get("defaultValue"),
                    options=tuple(raw.get("options") or ()),
                    settings=dict(raw.get("settings") or {}),
                    relation_type=relation.get("type")
                    or (raw.get("settings") or {}).get("relationType"),
                    relation_target=target.get("nameSingular"),
                    is_read_only=raw["type"] == legacy,
                )
            objects[node["namePlural"]] = ObjectSchema(
                name_singular=node["nameSingular"],
                name_plural=node["namePlural"],
                label_singular=node.get("labelSingular") or node["nameSingular"],
                label_plural=node.get("labelPlural") or node["namePlural"],
                id=node.get("id", ""),
                is_custom=object_custom,
                is_system=bool(node.get("isSystem", False)),
                is_active=bool(node.get("isActive", True)),
                fields=fields,
            )
        server = ServerTraits.from_dict(traits.to_dict()) if traits is not None else ServerTraits()
        schema = cls(objects, server)
        server.custom_rule = rule
        server.rich_text_type = rich_text
        server.target_model = schema.target_model or server.target_model
        return schema

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the schema cache (atomically) so work can continue offline."""
        write_text_atomically(path, json.dumps(self.to_dict(), indent=1, default=str))

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


def _relation_of(raw: dict[str, Any]) -> dict[str, Any]:
    """A field's relation; for a morph field without one, its own entry of ``morphRelations``."""
    relation = raw.get("relation")
    if isinstance(relation, dict):
        return relation
    morphs = [m for m in raw.get("morphRelations") or [] if isinstance(m, dict)]
    name = str(raw.get("name") or "")
    for morph in morphs:
        if (morph.get("sourceFieldMetadata") or {}).get("name") == name:
            return morph
    for morph in morphs:  # targetPerson -> person (Twenty names morph fields so)
        target = str((morph.get("targetObjectMetadata") or {}).get("nameSingular") or "")
        if target and name.lower().endswith(target.lower()):
            return morph
    return morphs[0] if len(morphs) == 1 else {}


def _custom_rule(
    nodes: list[dict[str, Any]],
) -> tuple[CustomRule, Callable[[dict[str, Any], dict[str, Any] | None], bool]]:
    """How to tell custom objects and fields from standard ones on this server.

    1. ``isCustom``, where the server still has it (removed by PR #21799, June 2026).
    2. Else ``applicationId``: custom means not owned by Twenty's standard application,
       the rule of Twenty's own migration that dropped the column
       (DropIsCustomFromObjectAndFieldMetadataFastInstanceCommand, upgrade 2.12:
       ``isCustom = applicationId <> standardApplication.id``). The standard
       application's id is the one that owns the standard objects (person, company...).
    3. Else ``universalIdentifier``: standard metadata has Twenty's fixed
       ``20202020-`` identifiers, custom metadata random ones. [uncertain]
    4. Else the standard object names; fields of standard objects count as standard.

    The second argument of the returned test is the field's object node (None for an
    object), whose value a field without its own signal takes.
    """

    def has(key: str) -> bool:
        return any(
            key in item for node in nodes for item in [node, *(node.get("fieldsList") or [])]
        )

    if has("isCustom"):
        return "isCustom", lambda item, parent: bool(item.get("isCustom", False))
    standard_app = next(
        (
            node.get("applicationId")
            for node in nodes
            if node.get("nameSingular") in STANDARD_OBJECT_NAMES and node.get("applicationId")
        ),
        None,
    )
    if standard_app is not None:

        def by_application(item: dict[str, Any], parent: dict[str, Any] | None) -> bool:
            owner = item.get("applicationId") or (parent or {}).get("applicationId")
            return owner is not None and owner != standard_app

        return "applicationId", by_application
    if has("universalIdentifier"):

        def by_identifier(item: dict[str, Any], parent: dict[str, Any] | None) -> bool:
            identifier = item.get("universalIdentifier") or (parent or {}).get(
                "universalIdentifier"
            )
            return identifier is not None and not str(identifier).startswith(
                STANDARD_IDENTIFIER_PREFIX
            )

        return "universalIdentifier", by_identifier

    def by_name(item: dict[str, Any], parent: dict[str, Any] | None) -> bool:
        if parent is not None:
            return by_name(parent, None) if "namePlural" in parent else False
        return item.get("nameSingular") not in STANDARD_OBJECT_NAMES

    return "standard names", by_name


def fetch_schema(
    client: TwentyClient, *, cache: str | os.PathLike[str] | None = None, refresh: bool = True
) -> WorkspaceSchema:
    """Read the workspace schema from Twenty's metadata API.

    The metadata query is built from what the server has (discovered once per workspace,
    see :mod:`twenty_migrate.twenty.metadata`); what was learned goes to ``client.traits``,
    the cache file's ``server`` section and the client's traits file.

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
    from twenty_migrate.twenty.metadata import fetch_metadata_nodes

    if cache is not None and not refresh and Path(cache).exists():
        schema = WorkspaceSchema.load(cache)
        if schema.server is not None:
            client.traits.fill(schema.server)  # what the client learned since stays
        return schema
    nodes, field_types = fetch_metadata_nodes(client)
    schema = WorkspaceSchema.from_metadata(nodes, field_types=field_types, traits=client.traits)
    assert schema.server is not None
    client.traits.update(schema.server)
    schema = WorkspaceSchema(schema.objects, ServerTraits.from_dict(client.traits.to_dict()))
    client.remember_traits()
    if cache is not None:
        schema.save(cache)
    return schema
