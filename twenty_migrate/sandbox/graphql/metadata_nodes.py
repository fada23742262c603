"""What the ``/metadata`` GraphQL API answers, whatever the schema's shape.

The sandbox serves two shapes of Twenty's metadata schema (the 1.x one built in
:mod:`graphql_metadata`, the 2.43 one read from Twenty's SDK in :mod:`graphql_metadata_sdl`).
Both read the same nodes, built here from the :class:`Registry`, and bind the same resolvers
(:data:`METADATA_RESOLVERS`): cursor connections with nestjs-query's paging and filters,
``relation``, ``fieldsList``, ``indexMetadatas`` and the create/update/delete mutations.
"""

from __future__ import annotations

import base64
import fnmatch
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from graphql import GraphQLResolveInfo, GraphQLSchema

from twenty_migrate.sandbox.errors import SandboxError
from twenty_migrate.sandbox.metadata.model import FieldMeta, ObjectMeta, metadata_id
from twenty_migrate.sandbox.metadata.registry import Registry

# nestjs-query's default page size when ``paging`` is omitted (``defaultResultSize: 10`` in
# Twenty's object-metadata.dto.ts QueryOptions).
METADATA_DEFAULT_PAGE_SIZE = 10

JSON = dict[str, Any]


@dataclass
class MetadataContext:
    """The registry, and nodes already built during this request (by metadata id)."""

    registry: Registry
    objects: dict[str, JSON] = field(default_factory=dict)
    fields: dict[str, JSON] = field(default_factory=dict)

    def object_node(self, obj: ObjectMeta) -> JSON:
        """The object as the API shows it (without ``fields``), built once per request."""
        node = self.objects.get(obj.id)
        if node is None:
            node = obj.to_api()
            node.pop("fields", None)
            node.update(object_extras(obj))
            node["_meta"] = obj
            self.objects[obj.id] = node
        return node

    def field_node(self, meta: FieldMeta) -> JSON:
        """The field as the API shows it, built once per request."""
        node = self.fields.get(meta.id)
        if node is None:
            node = meta.to_api()
            node.update(field_extras(meta, self.registry))
            node["_meta"] = meta
            self.fields[meta.id] = node
        return node


# [uncertain] Ids of the two applications metadata belongs to in 2.x: Twenty's standard
# application and the workspace's own (custom) one. Twenty makes both per workspace; these
# are stable stand-ins.
STANDARD_APPLICATION_ID = metadata_id("application", "twenty-standard")
CUSTOM_APPLICATION_ID = metadata_id("application", "workspace-custom")


def object_extras(obj: ObjectMeta) -> JSON:
    """The values of an object that only the 2.43 schema shows (Object in the SDK types)."""
    return {
        "universalIdentifier": metadata_id("universal", obj.name_singular),
        "applicationId": CUSTOM_APPLICATION_ID if obj.is_custom else STANDARD_APPLICATION_ID,
        "shortcut": None,
        "color": None,
        "isUIEditable": True,
        "isUICreatable": not obj.is_system,
        "isUIReadOnly": False,
        "openRecordIn": "SIDE_PANEL",
        "readability": "OPEN",
        "readabilityParentFieldUniversalIdentifiers": None,
        "writability": "OPEN",
        "isLabelSyncedWithName": False,
    }


def field_extras(meta: FieldMeta, registry: Registry) -> JSON:
    """The values of a field that only the 2.43 schema shows (Field in the SDK types)."""
    obj = registry.by_id(meta.object_id)
    object_name = obj.name_singular if obj is not None else meta.object_id
    morph = meta.type == "MORPH_RELATION"
    return {
        "universalIdentifier": metadata_id("universal", object_name, meta.name),
        "applicationId": CUSTOM_APPLICATION_ID if meta.is_custom else STANDARD_APPLICATION_ID,
        "isUIEditable": not meta.is_read_only,
        "writability": "OPEN",
        # [inferred] the label identifier is what record search reads.
        "isSearchable": obj is not None and obj.label_identifier_field == meta.name,
        "isAuditLogged": True,
        "isLabelSyncedWithName": False,
        "morphId": metadata_id("morph", object_name, meta.name) if morph else None,
    }


def _not_found(kind: str, ident: str) -> SandboxError:
    return SandboxError(
        f"Unable to find {kind} with id: {ident}",
        code="NOT_FOUND",
        status=404,
        graphql_code="NOT_FOUND",
    )


# ---------------------------------------------------------------- paging and filters


def _cursor(ident: str) -> str:
    return base64.b64encode(f"id:{ident}".encode()).decode()


def _position(nodes: list[JSON], cursor: str | None) -> int | None:
    if cursor is None:
        return None
    for index, node in enumerate(nodes):
        if _cursor(str(node["id"])) == cursor:
            return index
    raise SandboxError("Invalid cursor", code="INVALID_CURSOR")


def paginate(nodes: list[JSON], paging: JSON | None, filter_: JSON | None) -> JSON:
    """A cursor connection over ``nodes`` after ``filter_``, like nestjs-query's."""
    paging = paging or {}
    selected = [n for n in nodes if matches(n, filter_ or {})]
    start, end = 0, len(selected)
    after = _position(selected, paging.get("after"))
    before = _position(selected, paging.get("before"))
    if after is not None:
        start = after + 1
    if before is not None:
        end = before
    window = selected[start:end]
    first, last = paging.get("first"), paging.get("last")
    if first is None and last is None:
        first = METADATA_DEFAULT_PAGE_SIZE
    has_next = has_previous = False
    if first is not None:
        has_next = len(window) > first or end < len(selected)
        window = window[: max(first, 0)]
        has_previous = start > 0
    elif last is not None:
        has_previous = len(window) > last or start > 0
        window = window[max(len(window) - last, 0) :]
        has_next = end < len(selected)
    edges = [{"node": n, "cursor": _cursor(str(n["id"]))} for n in window]
    return {
        "edges": edges,
        "pageInfo": {
            "hasNextPage": has_next,
            "hasPreviousPage": has_previous,
            "startCursor": edges[0]["cursor"] if edges else None,
            "endCursor": edges[-1]["cursor"] if edges else None,
        },
        "totalCount": len(selected),
    }


def _compare(value: Any, op: str, expected: Any) -> bool:
    if op == "is":
        return value is expected if isinstance(expected, bool) else value is None
    if op == "isNot":
        return value is not expected if isinstance(expected, bool) else value is not None
    if op == "eq":
        return bool(value == expected)
    if op == "neq":
        return bool(value != expected)
    if op == "in":
        return value in (expected or [])
    if op == "notIn":
        return value not in (expected or [])
    if op in ("like", "iLike", "notLike", "notILike"):
        pattern = str(expected).replace("%", "*").replace("_", "?")
        text = "" if value is None else str(value)
        if op in ("iLike", "notILike"):
            pattern, text = pattern.lower(), text.lower()
        found = fnmatch.fnmatchcase(text, pattern)
        return found if op in ("like", "iLike") else not found
    if value is None or expected is None:
        return False
    ordering = {"gt": value > expected, "gte": value >= expected}
    ordering.update({"lt": value < expected, "lte": value <= expected})
    return bool(ordering.get(op, False))


def matches(node: JSON, filter_: JSON) -> bool:
    """True when ``node`` passes a nestjs-query style filter (``and``/``or`` + comparisons)."""
    for key, condition in filter_.items():
        if condition is None:
            continue
        if key == "and":
            if not all(matches(node, sub) for sub in condition):
                return False
        elif key == "or":
            if condition and not any(matches(node, sub) for sub in condition):
                return False
        else:
            for op, expected in condition.items():
                if not _compare(node.get(key), op, expected):
                    return False
    return True


def _context(info: GraphQLResolveInfo) -> MetadataContext:
    context: MetadataContext = info.context
    return context


def _object_fields_connection(node: JSON, info: GraphQLResolveInfo, **args: Any) -> JSON:
    obj: ObjectMeta = node["_meta"]
    context = _context(info)
    nodes = [context.field_node(f) for f in obj.fields.values()]
    return paginate(nodes, args.get("paging"), args.get("filter"))


def _fields_list(node: JSON, info: GraphQLResolveInfo) -> list[JSON]:
    obj: ObjectMeta = node["_meta"]
    context = _context(info)
    return [context.field_node(f) for f in obj.fields.values()]


def _index_nodes(obj: ObjectMeta) -> list[JSON]:
    nodes = []
    for index in obj.index_metadatas():
        parts = [
            {
                "id": metadata_id(str(index["id"]), str(part["fieldMetadataId"])),
                "subFieldName": None,
                "createdAt": obj.created_at,
                "updatedAt": obj.updated_at,
                **part,
            }
            for part in index.get("indexFieldMetadatas") or []
        ]
        nodes.append(
            {
                **index,
                "isCustom": False,
                "createdAt": obj.created_at,
                "updatedAt": obj.updated_at,
                "objectMetadataId": obj.id,
                "indexFieldMetadataList": parts,
            }
        )
    return nodes


def _index_connection(node: JSON, _info: GraphQLResolveInfo, **args: Any) -> JSON:
    return paginate(_index_nodes(node["_meta"]), args.get("paging"), args.get("filter"))


def _index_list(node: JSON, _info: GraphQLResolveInfo) -> list[JSON]:
    return _index_nodes(node["_meta"])


def _index_fields_connection(index: JSON, _info: GraphQLResolveInfo, **args: Any) -> JSON:
    return paginate(index["indexFieldMetadataList"], args.get("paging"), args.get("filter"))


def _relation(node: JSON, info: GraphQLResolveInfo) -> JSON | None:
    meta: FieldMeta = node["_meta"]
    relation = meta.relation
    context = _context(info)
    if relation is None:
        return None
    source = context.registry.by_id(meta.object_id)
    target = context.registry.by_singular(relation.target_object)
    if source is None or target is None:
        return None
    other = target.field(relation.target_field)
    return {
        "type": relation.type,
        "sourceObjectMetadata": context.object_node(source),
        "targetObjectMetadata": context.object_node(target),
        "sourceFieldMetadata": node,
        "targetFieldMetadata": context.field_node(other) if other else None,
    }


def _field_object(node: JSON, info: GraphQLResolveInfo) -> JSON | None:
    meta: FieldMeta = node["_meta"]
    context = _context(info)
    obj = context.registry.by_id(meta.object_id)
    return context.object_node(obj) if obj else None


def _morph_relations(node: JSON, info: GraphQLResolveInfo) -> list[JSON] | None:
    meta: FieldMeta = node["_meta"]
    if meta.type != "MORPH_RELATION":
        return None
    relation = _relation(node, info)
    return [relation] if relation is not None else []


def _no_search_fields(_node: JSON, _info: GraphQLResolveInfo) -> list[JSON]:
    return []


def _objects(_root: Any, info: GraphQLResolveInfo, **args: Any) -> JSON:
    context = _context(info)
    nodes = [context.object_node(obj) for obj in context.registry.objects()]
    return paginate(nodes, args.get("paging"), args.get("filter"))


def _object(_root: Any, info: GraphQLResolveInfo, id: str) -> JSON:
    context = _context(info)
    obj = context.registry.by_id(id)
    if obj is None:
        raise _not_found("Object", id)
    return context.object_node(obj)


def _fields(_root: Any, info: GraphQLResolveInfo, **args: Any) -> JSON:
    context = _context(info)
    nodes = [context.field_node(f) for f in context.registry.fields()]
    return paginate(nodes, args.get("paging"), args.get("filter"))


def _field(_root: Any, info: GraphQLResolveInfo, id: str) -> JSON:
    context = _context(info)
    meta = context.registry.field_by_id(id)
    if meta is None:
        raise _not_found("Field", id)
    return context.field_node(meta)


def _fresh(info: GraphQLResolveInfo) -> MetadataContext:
    """The context with its node caches dropped (a mutation changed the registry)."""
    context = _context(info)
    context.objects.clear()
    context.fields.clear()
    return context


def _create_object(_root: Any, info: GraphQLResolveInfo, input: JSON) -> JSON:
    context = _context(info)
    obj = context.registry.create_object(dict(input["object"]))
    return _fresh(info).object_node(obj)


def _create_field(_root: Any, info: GraphQLResolveInfo, input: JSON) -> JSON:
    context = _context(info)
    meta = context.registry.create_field(dict(input["field"]))
    return _fresh(info).field_node(meta)


def _update_object(_root: Any, info: GraphQLResolveInfo, input: JSON) -> JSON:
    context = _context(info)
    obj = context.registry.update_object(input["id"], dict(input["update"]))
    return _fresh(info).object_node(obj)


def _update_field(_root: Any, info: GraphQLResolveInfo, input: JSON) -> JSON:
    context = _context(info)
    meta = context.registry.update_field(input["id"], dict(input["update"]))
    return _fresh(info).field_node(meta)


def _delete_object(_root: Any, info: GraphQLResolveInfo, input: JSON) -> JSON:
    context = _context(info)
    obj = context.registry.delete_object(input["id"])
    return _fresh(info).object_node(obj)


def _delete_field(_root: Any, info: GraphQLResolveInfo, input: JSON) -> JSON:
    context = _context(info)
    meta = context.registry.delete_field(input["id"])
    return _fresh(info).field_node(meta)


Resolver = Callable[..., Any]

METADATA_RESOLVERS: dict[tuple[str, str], Resolver] = {
    ("Query", "objects"): _objects,
    ("Query", "object"): _object,
    ("Query", "fields"): _fields,
    ("Query", "field"): _field,
    ("Mutation", "createOneObject"): _create_object,
    ("Mutation", "updateOneObject"): _update_object,
    ("Mutation", "deleteOneObject"): _delete_object,
    ("Mutation", "createOneField"): _create_field,
    ("Mutation", "updateOneField"): _update_field,
    ("Mutation", "deleteOneField"): _delete_field,
    ("Object", "fields"): _object_fields_connection,
    ("Object", "fieldsList"): _fields_list,
    ("Object", "indexMetadatas"): _index_connection,
    ("Object", "indexMetadataList"): _index_list,
    ("Object", "searchFieldMetadataList"): _no_search_fields,
    ("Index", "indexFieldMetadatas"): _index_fields_connection,
    ("Field", "relation"): _relation,
    ("Field", "morphRelations"): _morph_relations,
    ("Field", "object"): _field_object,
}
"""(type, field) -> resolver, for both shapes of the schema (absent fields are skipped)."""


def bind_resolvers(schema: GraphQLSchema) -> GraphQLSchema:
    """Attach :data:`METADATA_RESOLVERS` to the fields the schema has; returns the schema."""
    for (type_name, field_name), resolve in METADATA_RESOLVERS.items():
        owner: Any = schema.type_map.get(type_name)
        found = owner.fields.get(field_name) if owner is not None else None
        if found is not None:
            found.resolve = resolve
    return schema
