"""The ``/metadata`` GraphQL schema of the sandbox: objects, fields and indexes.

A static schema in the shape Twenty's front-end queries
(``packages/twenty-front/src/modules/object-metadata/graphql/queries.ts``): cursor
connections with ``paging`` and ``filter`` arguments, ``fieldsList``, ``indexMetadatas``,
``relation``, and the ``createOneObject`` / ``createOneField`` (plus update and delete)
mutations. Resolvers read and change the :class:`Registry` in ``info.context``.
"""

from __future__ import annotations

import base64
import fnmatch
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    GraphQLArgument,
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLEnumValue,
    GraphQLField,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLSchema,
    GraphQLString,
)

from . import graphql_types as gt
from .errors import SandboxError
from .metadata import FIELD_TYPES, FieldMeta, ObjectMeta, Registry, metadata_id

# [inferred] nestjs-query's default page size when ``paging`` is omitted.
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
            node["_meta"] = obj
            self.objects[obj.id] = node
        return node

    def field_node(self, meta: FieldMeta) -> JSON:
        """The field as the API shows it, built once per request."""
        node = self.fields.get(meta.id)
        if node is None:
            node = meta.to_api()
            node["_meta"] = meta
            self.fields[meta.id] = node
        return node


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


# ---------------------------------------------------------------- types


def _enum(name: str, values: list[str]) -> GraphQLEnumType:
    return GraphQLEnumType(name, {value: GraphQLEnumValue(value) for value in values})


FieldMetadataType = _enum("FieldMetadataType", sorted(FIELD_TYPES))
RelationType = _enum("RelationType", ["ONE_TO_MANY", "MANY_TO_ONE"])
IndexType = _enum("IndexType", ["BTREE", "GIN"])
CursorPaging = GraphQLInputObjectType(
    "CursorPaging",
    {
        "before": GraphQLInputField(gt.ConnectionCursorScalar),
        "after": GraphQLInputField(gt.ConnectionCursorScalar),
        "first": GraphQLInputField(GraphQLInt),
        "last": GraphQLInputField(GraphQLInt),
    },
)
BooleanFieldComparison = GraphQLInputObjectType(
    "BooleanFieldComparison",
    {"is": GraphQLInputField(GraphQLBoolean), "isNot": GraphQLInputField(GraphQLBoolean)},
)
_UUID_OPS = ("eq", "neq", "gt", "gte", "lt", "lte", "like", "notLike", "iLike", "notILike")
UUIDFilterComparison = GraphQLInputObjectType(
    "UUIDFilterComparison",
    {
        **{op: GraphQLInputField(gt.UUIDScalar) for op in _UUID_OPS},
        "in": GraphQLInputField(GraphQLList(GraphQLNonNull(gt.UUIDScalar))),
        "notIn": GraphQLInputField(GraphQLList(GraphQLNonNull(gt.UUIDScalar))),
        "is": GraphQLInputField(GraphQLBoolean),
        "isNot": GraphQLInputField(GraphQLBoolean),
    },
)


def _filter_input(name: str, uuid_keys: tuple[str, ...], bool_keys: tuple[str, ...]) -> Any:
    filter_type: GraphQLInputObjectType = GraphQLInputObjectType(
        name,
        lambda: {
            "and": GraphQLInputField(GraphQLList(GraphQLNonNull(filter_type))),
            "or": GraphQLInputField(GraphQLList(GraphQLNonNull(filter_type))),
            **{k: GraphQLInputField(UUIDFilterComparison) for k in uuid_keys},
            **{k: GraphQLInputField(BooleanFieldComparison) for k in bool_keys},
        },
    )
    return filter_type


_FLAGS = ("isCustom", "isActive", "isSystem")
ObjectFilter = _filter_input("ObjectFilter", ("id",), (*_FLAGS, "isRemote", "isSearchable"))
FieldFilter = _filter_input("FieldFilter", ("id", "objectMetadataId"), _FLAGS)
IndexFilter = _filter_input("IndexFilter", ("id",), ("isCustom", "isUnique"))
IndexFieldFilter = _filter_input("IndexFieldFilter", ("id", "fieldMetadataId"), ())


def _paging_args(filter_type: GraphQLInputObjectType) -> dict[str, GraphQLArgument]:
    return {
        "paging": GraphQLArgument(CursorPaging),
        "filter": GraphQLArgument(filter_type),
    }


def _connection(name: str, node: GraphQLObjectType, edge_name: str) -> GraphQLObjectType:
    edge = GraphQLObjectType(
        edge_name,
        {
            "node": GraphQLField(GraphQLNonNull(node)),
            "cursor": GraphQLField(GraphQLNonNull(gt.ConnectionCursorScalar)),
        },
    )
    return GraphQLObjectType(
        name,
        {
            "pageInfo": GraphQLField(GraphQLNonNull(gt.PageInfo)),
            "edges": GraphQLField(GraphQLNonNull(GraphQLList(GraphQLNonNull(edge)))),
            "totalCount": GraphQLField(GraphQLNonNull(GraphQLInt)),
        },
    )


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
                **part,
            }
            for part in index.get("indexFieldMetadatas") or []
        ]
        nodes.append(
            {
                **index,
                "isCustom": False,
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


IndexFieldType = GraphQLObjectType(
    "IndexField",
    {
        "id": GraphQLField(GraphQLNonNull(gt.UUIDScalar)),
        "fieldMetadataId": GraphQLField(GraphQLNonNull(gt.UUIDScalar)),
        "order": GraphQLField(GraphQLInt),
    },
)
IndexFieldConnection = _connection(
    "IndexIndexFieldMetadatasConnection", IndexFieldType, "IndexFieldEdge"
)
IndexObjectType = GraphQLObjectType(
    "Index",
    {
        "id": GraphQLField(GraphQLNonNull(gt.UUIDScalar)),
        "name": GraphQLField(GraphQLNonNull(GraphQLString)),
        "isCustom": GraphQLField(GraphQLBoolean),
        "isUnique": GraphQLField(GraphQLNonNull(GraphQLBoolean)),
        "indexWhereClause": GraphQLField(GraphQLString),
        "indexType": GraphQLField(GraphQLNonNull(IndexType)),
        "objectMetadataId": GraphQLField(gt.UUIDScalar),
        "indexFieldMetadataList": GraphQLField(GraphQLNonNull(GraphQLList(IndexFieldType))),
        "indexFieldMetadatas": GraphQLField(
            GraphQLNonNull(IndexFieldConnection),
            args=_paging_args(IndexFieldFilter),
            resolve=_index_fields_connection,
        ),
    },
)
IndexConnection = _connection("ObjectIndexMetadatasConnection", IndexObjectType, "IndexEdge")


def _object_type_fields() -> dict[str, GraphQLField]:
    text = ("nameSingular", "namePlural", "labelSingular", "labelPlural")
    return {
        "id": GraphQLField(GraphQLNonNull(gt.UUIDScalar)),
        **{name: GraphQLField(GraphQLNonNull(GraphQLString)) for name in text},
        "description": GraphQLField(GraphQLString),
        "icon": GraphQLField(GraphQLString),
        **{
            flag: GraphQLField(GraphQLNonNull(GraphQLBoolean))
            for flag in ("isCustom", "isRemote", "isActive", "isSystem", "isSearchable")
        },
        "labelIdentifierFieldMetadataId": GraphQLField(gt.UUIDScalar),
        "imageIdentifierFieldMetadataId": GraphQLField(gt.UUIDScalar),
        "duplicateCriteria": GraphQLField(GraphQLList(GraphQLNonNull(GraphQLList(GraphQLString)))),
        "fieldsList": GraphQLField(
            GraphQLNonNull(GraphQLList(GraphQLNonNull(FieldType))), resolve=_fields_list
        ),
        "fields": GraphQLField(
            GraphQLNonNull(ObjectFieldsConnection),
            args=_paging_args(FieldFilter),
            resolve=_object_fields_connection,
        ),
        "indexMetadataList": GraphQLField(
            GraphQLNonNull(GraphQLList(GraphQLNonNull(IndexObjectType))), resolve=_index_list
        ),
        "indexMetadatas": GraphQLField(
            GraphQLNonNull(IndexConnection),
            args=_paging_args(IndexFilter),
            resolve=_index_connection,
        ),
    }


def _field_type_fields() -> dict[str, GraphQLField]:
    flags = ("isCustom", "isActive", "isSystem", "isNullable", "isUnique", "isUIReadOnly")
    return {
        "id": GraphQLField(GraphQLNonNull(gt.UUIDScalar)),
        "type": GraphQLField(GraphQLNonNull(FieldMetadataType)),
        "name": GraphQLField(GraphQLNonNull(GraphQLString)),
        "label": GraphQLField(GraphQLNonNull(GraphQLString)),
        "description": GraphQLField(GraphQLString),
        "icon": GraphQLField(GraphQLString),
        **{flag: GraphQLField(GraphQLBoolean) for flag in flags},
        "defaultValue": GraphQLField(gt.JSONScalar),
        "options": GraphQLField(gt.JSONScalar),
        "settings": GraphQLField(gt.JSONScalar),
        "objectMetadataId": GraphQLField(gt.UUIDScalar),
        "relation": GraphQLField(RelationObjectType, resolve=_relation),
        "object": GraphQLField(ObjectType, resolve=_field_object),
    }


ObjectType: GraphQLObjectType = GraphQLObjectType("Object", _object_type_fields)
FieldType: GraphQLObjectType = GraphQLObjectType("Field", _field_type_fields)
RelationObjectType = GraphQLObjectType(
    "Relation",
    lambda: {
        "type": GraphQLField(GraphQLNonNull(RelationType)),
        "sourceObjectMetadata": GraphQLField(GraphQLNonNull(ObjectType)),
        "targetObjectMetadata": GraphQLField(GraphQLNonNull(ObjectType)),
        "sourceFieldMetadata": GraphQLField(GraphQLNonNull(FieldType)),
        "targetFieldMetadata": GraphQLField(FieldType),
    },
)
ObjectFieldsConnection = _connection("ObjectFieldsConnection", FieldType, "FieldEdge")
FieldConnection = _connection("FieldConnection", FieldType, "FieldConnectionEdge")
ObjectConnection = _connection("ObjectConnection", ObjectType, "ObjectEdge")

# ---------------------------------------------------------------- inputs


def _input(name: str, fields: dict[str, Any]) -> GraphQLInputObjectType:
    return GraphQLInputObjectType(name, {k: GraphQLInputField(v) for k, v in fields.items()})


_REQUIRED_STRING = GraphQLNonNull(GraphQLString)
CreateObjectInput = _input(
    "CreateObjectInput",
    {
        "nameSingular": _REQUIRED_STRING,
        "namePlural": _REQUIRED_STRING,
        "labelSingular": _REQUIRED_STRING,
        "labelPlural": _REQUIRED_STRING,
        "description": GraphQLString,
        "icon": GraphQLString,
        "shortcut": GraphQLString,
        "color": GraphQLString,
        "isLabelSyncedWithName": GraphQLBoolean,
        "isRemote": GraphQLBoolean,
        "labelIdentifierFieldMetadataId": gt.UUIDScalar,
        "imageIdentifierFieldMetadataId": gt.UUIDScalar,
        "primaryKeyColumnType": GraphQLString,
        "primaryKeyFieldMetadataSettings": gt.JSONScalar,
        "dataSourceId": GraphQLString,
    },
)
_FIELD_INPUT_COMMON: dict[str, Any] = {
    "label": GraphQLString,
    "description": GraphQLString,
    "icon": GraphQLString,
    "isActive": GraphQLBoolean,
    "isNullable": GraphQLBoolean,
    "isUnique": GraphQLBoolean,
    "isUIReadOnly": GraphQLBoolean,
    "isLabelSyncedWithName": GraphQLBoolean,
    "defaultValue": gt.JSONScalar,
    "options": gt.JSONScalar,
    "settings": gt.JSONScalar,
}
CreateFieldInput = _input(
    "CreateFieldInput",
    {
        **_FIELD_INPUT_COMMON,
        "type": GraphQLNonNull(FieldMetadataType),
        "name": _REQUIRED_STRING,
        "label": _REQUIRED_STRING,
        "objectMetadataId": GraphQLNonNull(gt.UUIDScalar),
        "isCustom": GraphQLBoolean,
        "isSystem": GraphQLBoolean,
        "isRemoteCreation": GraphQLBoolean,
        "relationCreationPayload": gt.JSONScalar,
        "morphRelationsCreationPayload": GraphQLList(GraphQLNonNull(gt.JSONScalar)),
    },
)
UpdateObjectPayload = _input(
    "UpdateObjectPayload",
    {
        "labelSingular": GraphQLString,
        "labelPlural": GraphQLString,
        "nameSingular": GraphQLString,
        "namePlural": GraphQLString,
        "description": GraphQLString,
        "icon": GraphQLString,
        "isActive": GraphQLBoolean,
        "isLabelSyncedWithName": GraphQLBoolean,
        "labelIdentifierFieldMetadataId": gt.UUIDScalar,
        "imageIdentifierFieldMetadataId": gt.UUIDScalar,
    },
)
UpdateFieldInput = _input("UpdateFieldInput", {**_FIELD_INPUT_COMMON, "name": GraphQLString})
_ID = GraphQLNonNull(gt.UUIDScalar)
CreateOneObjectInput = _input("CreateOneObjectInput", {"object": GraphQLNonNull(CreateObjectInput)})
CreateOneFieldMetadataInput = _input(
    "CreateOneFieldMetadataInput", {"field": GraphQLNonNull(CreateFieldInput)}
)
UpdateOneObjectInput = _input(
    "UpdateOneObjectInput", {"id": _ID, "update": GraphQLNonNull(UpdateObjectPayload)}
)
UpdateOneFieldMetadataInput = _input(
    "UpdateOneFieldMetadataInput", {"id": _ID, "update": GraphQLNonNull(UpdateFieldInput)}
)
DeleteOneObjectInput = _input("DeleteOneObjectInput", {"id": _ID})
DeleteOneFieldInput = _input("DeleteOneFieldInput", {"id": _ID})

# ---------------------------------------------------------------- root resolvers


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


def _mutation(output: GraphQLObjectType, input_type: GraphQLInputObjectType, resolve: Any) -> Any:
    return GraphQLField(
        GraphQLNonNull(output),
        args={"input": GraphQLArgument(GraphQLNonNull(input_type))},
        resolve=resolve,
    )


def build_metadata_schema() -> GraphQLSchema:
    """The ``/metadata`` schema (static: resolvers read the registry of the context)."""
    id_arg = {"id": GraphQLArgument(GraphQLNonNull(gt.UUIDScalar))}
    query = GraphQLObjectType(
        "Query",
        {
            "objects": GraphQLField(
                GraphQLNonNull(ObjectConnection), args=_paging_args(ObjectFilter), resolve=_objects
            ),
            "object": GraphQLField(GraphQLNonNull(ObjectType), args=id_arg, resolve=_object),
            "fields": GraphQLField(
                GraphQLNonNull(FieldConnection), args=_paging_args(FieldFilter), resolve=_fields
            ),
            "field": GraphQLField(GraphQLNonNull(FieldType), args=id_arg, resolve=_field),
        },
    )
    mutation = GraphQLObjectType(
        "Mutation",
        {
            "createOneObject": _mutation(ObjectType, CreateOneObjectInput, _create_object),
            "updateOneObject": _mutation(ObjectType, UpdateOneObjectInput, _update_object),
            "deleteOneObject": _mutation(ObjectType, DeleteOneObjectInput, _delete_object),
            "createOneField": _mutation(FieldType, CreateOneFieldMetadataInput, _create_field),
            "updateOneField": _mutation(FieldType, UpdateOneFieldMetadataInput, _update_field),
            "deleteOneField": _mutation(FieldType, DeleteOneFieldInput, _delete_field),
        },
    )
    return GraphQLSchema(query=query, mutation=mutation)
