"""Pure builders of the GraphQL documents the client sends to Twenty (no I/O).

Names follow Twenty's resolver naming (twenty-api.md §2.1): findMany is the camelCase
plural (``people``), writes are ``create|delete|destroy`` + PascalCase plural, and input
types are PascalCase singular + ``CreateInput`` / ``FilterInput`` / ``OrderByInput``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from twenty_migrate.twenty.discovery import RICH_TEXT, RICH_TEXT_V2, rich_text_type_of
from twenty_migrate.twenty.schema import COMPOSITE_SUBFIELDS as WRITABLE_SUBFIELDS

# [version-dependent] Newest Twenty types the JSON sub-fields of composites
# (``additionalPhones { number ... }``); older versions expose them as RawJSONScalar, which
# takes no sub-selection. The client starts with this and switches once if refused.
TYPED_COMPOSITE_JSON_SUBFIELDS = True
TYPED_JSON_SELECTIONS: dict[str, str] = {
    "additionalPhones": "additionalPhones { number countryCode callingCode }",
    "secondaryLinks": "secondaryLinks { url label }",
    "context": "context { provider }",
}
# Composite field type -> sub-fields selected when reading: the writable ones, plus what
# Twenty sets itself on actors. [version-dependent] addressStreet3 exists only in newer
# versions, so it is left out (selecting an unknown sub-field fails the whole query).
COMPOSITE_SUBFIELDS: dict[str, tuple[str, ...]] = {
    **WRITABLE_SUBFIELDS,
    "ACTOR": ("source", "workspaceMemberId", "name", "context"),
}
SKIPPED_TYPES = frozenset({"TS_VECTOR"})  # the search vector: internal, not data
RELATION_TYPES = frozenset({"RELATION", "MORPH_RELATION"})
# Twenty shows soft-deleted rows when the filter mentions deletedAt anywhere.
WITH_DELETED: dict[str, Any] = {
    "or": [{"deletedAt": {"is": "NULL"}}, {"deletedAt": {"is": "NOT_NULL"}}]
}
_MUTATION_RE = re.compile(r"^\s*(?:#[^\n]*\n\s*)*mutation\b")


def pascal_case(name: str) -> str:
    """Twenty's PascalCase of a camelCase metadata name: ``taskTargets`` -> ``TaskTargets``."""
    return name[:1].upper() + name[1:]


def is_mutation(document: str) -> bool:
    """True when the document's operation is a mutation."""
    return bool(_MUTATION_RE.match(document))


def with_deleted(filter: Mapping[str, Any] | None) -> dict[str, Any]:
    """``filter`` widened to soft-deleted rows as well."""
    return {"and": [dict(filter), WITH_DELETED]} if filter else dict(WITH_DELETED)


def selection_for(
    object_meta: Mapping[str, Any], *, typed_json: bool, rich_text_type: str | None = None
) -> str:
    """Every scalar, composite sub-field and MANY_TO_ONE join column of an object.

    Args:
        object_meta: The object's metadata JSON, with ``fields``.
        typed_json: Select typed sub-fields of composite JSON parts (newest Twenty).
        rich_text_type: The server's writable rich-text type (None: told by the object's
            own fields). Before release 1.20 a RICH_TEXT field is the legacy body, a
            scalar; after, RICH_TEXT is the markdown/blocknote composite.
    """
    metas = list(object_meta.get("fields") or [])
    if rich_text_type is None:
        rich_text_type = rich_text_type_of(str(meta.get("type")) for meta in metas)
    legacy = RICH_TEXT if rich_text_type == RICH_TEXT_V2 else None
    parts: list[str] = []
    for meta in metas:
        ftype, name = meta.get("type"), meta.get("name")
        if not name or not meta.get("isActive", True) or ftype in SKIPPED_TYPES:
            continue
        if ftype == legacy:
            parts.append(name)
            continue
        if ftype in RELATION_TYPES:
            settings = meta.get("settings") or {}
            relation = meta.get("relation") or {}
            if "MANY_TO_ONE" in (settings.get("relationType"), relation.get("type")):
                parts.append(settings.get("joinColumnName") or f"{name}Id")
        elif ftype in COMPOSITE_SUBFIELDS:
            subs = [
                TYPED_JSON_SELECTIONS.get(sub, sub) if typed_json else sub
                for sub in COMPOSITE_SUBFIELDS[ftype]
            ]
            parts.append(f"{name} {{ {' '.join(subs)} }}")
        else:
            parts.append(name)
    return " ".join(dict.fromkeys(parts))


def create_many_document(singular: str, plural: str, fields: str) -> tuple[str, str]:
    """``(root field, document)`` of ``create{Plural}(data: $data, upsert: $upsert)``."""
    root = f"create{pascal_case(plural)}"
    document = (
        f"mutation CreateMany($data: [{pascal_case(singular)}CreateInput!]!, $upsert: Boolean) "
        f"{{ {root}(data: $data, upsert: $upsert) {{ {fields} }} }}"
    )
    return root, document


def find_many_document(
    singular: str, plural: str, selection: str, variables: Mapping[str, Any]
) -> str:
    """A findMany connection query using the given variables (filter, orderBy, first, after)."""
    type_name = pascal_case(singular)
    types = {
        "filter": f"{type_name}FilterInput",
        "orderBy": f"[{type_name}OrderByInput]",
        "first": "Int",
        "after": "String",
    }
    params = ", ".join(f"${name}: {types[name]}" for name in variables)
    args = ", ".join(f"{name}: ${name}" for name in variables)
    return (
        f"query FindMany({params}) {{ {plural}({args}) {{ edges {{ node {{ {selection} }} }} "
        "pageInfo { hasNextPage endCursor } } }"
    )


def delete_many_document(singular: str, plural: str, *, destroy: bool) -> tuple[str, str]:
    """``(root field, document)`` of ``delete{Plural}`` (soft) or ``destroy{Plural}`` (hard)."""
    root = f"{'destroy' if destroy else 'delete'}{pascal_case(plural)}"
    document = (
        f"mutation DeleteMany($filter: {pascal_case(singular)}FilterInput!) "
        f"{{ {root}(filter: $filter) {{ id }} }}"
    )
    return root, document
