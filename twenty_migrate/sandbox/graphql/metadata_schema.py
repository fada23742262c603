"""The ``/metadata`` GraphQL schema of the sandbox: objects, fields and indexes.

:func:`build_metadata_schema` serves the shape of the profile's release. The 1.x shape is
built here, as Twenty's front-end of those releases queries it
(``packages/twenty-front/src/modules/object-metadata/graphql/queries.ts``: ``isCustom``,
``totalCount`` on connections, ``Index.indexFieldMetadatas``); the 2.43 shape is read from
Twenty's SDK types (:mod:`graphql_metadata_sdl`). Both bind the resolvers of
:mod:`graphql_metadata_nodes`, which read and change the :class:`Registry` in
``info.context``.
"""

from __future__ import annotations

import re
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
    GraphQLSchema,
    GraphQLString,
)

from twenty_migrate.sandbox.graphql import types as gt
from twenty_migrate.sandbox.graphql.metadata_nodes import MetadataContext, bind_resolvers
from twenty_migrate.sandbox.graphql.metadata_sdl import build_sdk_metadata_schema
from twenty_migrate.sandbox.metadata.model import FIELD_TYPES
from twenty_migrate.sandbox.profiles import DEFAULT_PROFILE, TwentyProfile

__all__ = ["MetadataContext", "build_metadata_schema", "with_graphql_js_names"]

# A GraphQL name, variable or path (``Type.field``, ``$input``, ``input.field.type``) as
# graphql-core quotes it ('isCustom'); graphql-js, Twenty's engine, quotes with ":
# Cannot query field "isCustom" on type "Object".
_QUOTED_NAME = re.compile(r"'(\$?[_A-Za-z]\w*(?:\.[_A-Za-z]\w*|\[\d+\])*)'")


def with_graphql_js_names(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` with the names in its validation messages quoted as graphql-js quotes them.

    Clients of Twenty's ``/metadata`` learn its shape from these messages (``isCustom`` is
    gone in 2.x), so they are given in the server's own words.
    """
    for error in body.get("errors") or []:
        if (error.get("extensions") or {}).get("code") == "GRAPHQL_VALIDATION_FAILED":
            error["message"] = _QUOTED_NAME.sub(r'"\1"', str(error["message"]))
    return body


# ---------------------------------------------------------------- types (1.x shape)


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
        "fieldsList": GraphQLField(GraphQLNonNull(GraphQLList(GraphQLNonNull(FieldType)))),
        "fields": GraphQLField(
            GraphQLNonNull(ObjectFieldsConnection),
            args=_paging_args(FieldFilter),
        ),
        "indexMetadataList": GraphQLField(
            GraphQLNonNull(GraphQLList(GraphQLNonNull(IndexObjectType)))
        ),
        "indexMetadatas": GraphQLField(
            GraphQLNonNull(IndexConnection),
            args=_paging_args(IndexFilter),
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
        "relation": GraphQLField(RelationObjectType),
        "object": GraphQLField(ObjectType),
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


def _mutation(output: GraphQLObjectType, input_type: GraphQLInputObjectType) -> Any:
    return GraphQLField(
        GraphQLNonNull(output), args={"input": GraphQLArgument(GraphQLNonNull(input_type))}
    )


def build_metadata_schema(profile: TwentyProfile | None = None) -> GraphQLSchema:
    """The ``/metadata`` schema of the profile's release (the newest when None).

    Static: the resolvers read the registry of the request's :class:`MetadataContext`.
    """
    profile = profile if profile is not None else DEFAULT_PROFILE
    if profile.metadata_schema == "2.43":
        return build_sdk_metadata_schema()
    return bind_resolvers(_build_1x_schema())


def _build_1x_schema() -> GraphQLSchema:
    id_arg = {"id": GraphQLArgument(GraphQLNonNull(gt.UUIDScalar))}
    query = GraphQLObjectType(
        "Query",
        {
            "objects": GraphQLField(
                GraphQLNonNull(ObjectConnection), args=_paging_args(ObjectFilter)
            ),
            "object": GraphQLField(GraphQLNonNull(ObjectType), args=id_arg),
            "fields": GraphQLField(GraphQLNonNull(FieldConnection), args=_paging_args(FieldFilter)),
            "field": GraphQLField(GraphQLNonNull(FieldType), args=id_arg),
        },
    )
    mutation = GraphQLObjectType(
        "Mutation",
        {
            "createOneObject": _mutation(ObjectType, CreateOneObjectInput),
            "updateOneObject": _mutation(ObjectType, UpdateOneObjectInput),
            "deleteOneObject": _mutation(ObjectType, DeleteOneObjectInput),
            "createOneField": _mutation(FieldType, CreateOneFieldMetadataInput),
            "updateOneField": _mutation(FieldType, UpdateOneFieldMetadataInput),
            "deleteOneField": _mutation(FieldType, DeleteOneFieldInput),
        },
    )
    return GraphQLSchema(query=query, mutation=mutation)
