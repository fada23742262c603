"""Read the workspace's metadata with a query built from what the server has.

Twenty's metadata schema changes between releases (``isCustom`` left ``Object`` and
``Field`` in June 2026, PR #21799; ``applicationId``, ``universalIdentifier`` and
``morphRelations`` came in 2026), and a query naming a field the server lacks fails whole.
So the query is built per server: one introspection call lists the fields of ``Object``,
``Field`` and ``Relation`` and the ``FieldMetadataType`` values; when introspection is
refused (production servers may disable it), the full query is sent and each
``Cannot query field "X" on type "Y"`` refusal drops X and retries (a bounded number of
times). What was found is recorded in the client's :class:`ServerTraits`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any

from twenty_migrate.twenty.errors import (
    APIConnectionError,
    AuthenticationError,
    RateLimitError,
    SchemaError,
    TwentyAPIError,
)

if TYPE_CHECKING:
    from twenty_migrate.twenty.client import TwentyClient

logger = logging.getLogger("twenty_migrate.twenty.schema")

#: Fields read from each metadata type, when the server has them.
WANTED_FIELDS: dict[str, tuple[str, ...]] = {
    "Object": (
        "id",
        "nameSingular",
        "namePlural",
        "labelSingular",
        "labelPlural",
        "description",
        "isCustom",
        "isActive",
        "isSystem",
        "applicationId",
        "universalIdentifier",
        "fieldsList",
    ),
    "Field": (
        "id",
        "type",
        "name",
        "label",
        "description",
        "isCustom",
        "isActive",
        "isSystem",
        "isNullable",
        "isUnique",
        "defaultValue",
        "options",
        "settings",
        "applicationId",
        "universalIdentifier",
        "relation",
        "morphRelations",
    ),
    "Relation": ("type", "sourceFieldMetadata", "targetObjectMetadata", "targetFieldMetadata"),
}
#: Without these the schema cannot be built: a server lacking them is not a Twenty we know.
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "Object": ("id", "nameSingular", "namePlural", "fieldsList"),
    "Field": ("name", "type"),
}
# Sub-selections of object-typed fields (their leaf fields exist in every release).
_SUBSELECTIONS: dict[str, str] = {
    "sourceFieldMetadata": "{ name }",
    "targetObjectMetadata": "{ id nameSingular namePlural }",
    "targetFieldMetadata": "{ id name }",
}
INTROSPECTION_QUERY = """
query MetadataShape {
  object: __type(name: "Object") { fields { name } }
  field: __type(name: "Field") { fields { name } }
  relation: __type(name: "Relation") { fields { name } }
  fieldTypes: __type(name: "FieldMetadataType") { enumValues { name } }
}
"""
_ALIASES = {"object": "Object", "field": "Field", "relation": "Relation"}
#: How many refused fields the fallback drops before giving up.
MAX_DROPPED_FIELDS = 12
# graphql-js (Twenty) quotes names with ", graphql-core with '.
_UNKNOWN_FIELD = re.compile(r"Cannot query field [\"'](\w+)[\"'] on type [\"'](\w+)[\"']")


def build_metadata_query(available: Mapping[str, Collection[str]]) -> str:
    """The ``objects`` query selecting the wanted fields that ``available`` lists.

    Args:
        available: Per metadata type, the fields the server has (a type missing from
            the mapping is taken to have every wanted field).

    Raises:
        SchemaError: The server lacks a field the schema cannot do without.
    """

    def pick(type_name: str) -> list[str]:
        have = available.get(type_name)
        wanted = WANTED_FIELDS[type_name]
        chosen = [name for name in wanted if have is None or name in have]
        missing = [name for name in REQUIRED_FIELDS.get(type_name, ()) if name not in chosen]
        if missing:
            raise SchemaError(
                f"The server's metadata type {type_name} has no {', '.join(missing)}; this "
                "does not look like a Twenty metadata API. Check TWENTY_API_URL."
            )
        return chosen

    relation_parts = " ".join(
        f"{name} {_SUBSELECTIONS[name]}" if name in _SUBSELECTIONS else name
        for name in pick("Relation")
    )
    field_parts = []
    for name in pick("Field"):
        if name in ("relation", "morphRelations"):
            if relation_parts:
                field_parts.append(f"{name} {{ {relation_parts} }}")
        else:
            field_parts.append(name)
    object_parts = [
        f"fieldsList {{ {' '.join(field_parts)} }}" if name == "fieldsList" else name
        for name in pick("Object")
    ]
    return (
        "query Objects { objects(paging: {first: 1000}) { edges { node { "
        + " ".join(object_parts)
        + " } } } }"
    )


def introspect(client: TwentyClient) -> tuple[dict[str, list[str]], list[str]] | None:
    """``(fields per metadata type, FieldMetadataType values)``, or None when refused."""
    try:
        data = client.metadata(INTROSPECTION_QUERY)
    except (AuthenticationError, APIConnectionError, RateLimitError):
        raise
    except TwentyAPIError as exc:
        logger.info("Metadata introspection refused (%s); discovering by trial", exc)
        return None
    found: dict[str, list[str]] = {}
    for alias, type_name in _ALIASES.items():
        described = data.get(alias)
        if not isinstance(described, dict) or not isinstance(described.get("fields"), list):
            if type_name == "Relation":
                found[type_name] = []
                continue
            return None
        found[type_name] = [str(item["name"]) for item in described["fields"]]
    enum = data.get("fieldTypes")
    values = [str(item["name"]) for item in (enum or {}).get("enumValues") or []]
    return found, values


def refused_fields(error: TwentyAPIError) -> list[tuple[str, str]]:
    """``(type, field)`` pairs of every ``Cannot query field`` message of a refusal."""
    pairs = []
    for message in error.messages:
        match = _UNKNOWN_FIELD.search(message)
        if match is None:
            return []  # another kind of refusal: not ours to work around
        pairs.append((match.group(2), match.group(1)))
    return pairs


def fetch_metadata_nodes(client: TwentyClient) -> tuple[list[dict[str, Any]], list[str] | None]:
    """Every metadata object node, with a query the server accepts.

    Uses and updates ``client.traits`` (``metadata_fields``, ``introspection``): known
    fields are used straight away; otherwise introspection runs once; a refusal of a
    field drops it and retries.

    Returns:
        The ``objects`` nodes, and the ``FieldMetadataType`` values when introspected.
    """
    traits = client.traits
    enum_values: list[str] | None = None
    available: dict[str, list[str]] = dict(traits.metadata_fields)
    if not all(available.get(name) for name in REQUIRED_FIELDS):
        shape = introspect(client)
        traits.introspection = shape is not None
        if shape is not None:
            available, enum_values = shape
        else:
            available = {name: list(wanted) for name, wanted in WANTED_FIELDS.items()}
    dropped = 0
    while True:
        query = build_metadata_query(available)
        try:
            data = client.metadata(query)
        except TwentyAPIError as exc:
            pairs = refused_fields(exc)
            if not pairs:
                raise
            if traits.metadata_fields:
                # The server changed since the traits were saved: discover again (once:
                # the fields are only saved again after a query succeeds).
                logger.info("Saved metadata shape refused (%s); discovering again", exc)
                traits.metadata_fields = {}
                return fetch_metadata_nodes(client)
            for type_name, name in pairs:
                present = available.setdefault(type_name, list(WANTED_FIELDS.get(type_name, ())))
                if name not in present or dropped >= MAX_DROPPED_FIELDS:
                    raise
                present.remove(name)
                dropped += 1
                logger.info("The server has no %s.%s; leaving it out", type_name, name)
            continue
        traits.metadata_fields = {
            name: sorted(set(fields) & set(WANTED_FIELDS[name]))
            for name, fields in available.items()
            if name in WANTED_FIELDS
        }
        edges = ((data.get("objects") or {}).get("edges")) or []
        return [edge["node"] for edge in edges], enum_values
