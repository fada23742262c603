"""The core ``/graphql`` schema of the sandbox, generated from the workspace metadata.

Like Twenty's workspace schema builder, every active object gets an output type, a
connection, create/update/filter/order-by inputs and the root fields of
``get-resolver-name.util.ts``: ``people``, ``person``, ``createPerson``, ``createPeople``,
``updatePerson``, ``updatePeople``, ``deletePerson``, ``deletePeople``, ``destroyPerson``,
``destroyPeople``, ``restorePerson``, ``restorePeople``.

:func:`build_core_schema` is pure: the resolvers reach the engine through
``info.context`` (:class:`~twenty_migrate.sandbox.graphql.resolvers.CoreContext`), so one
schema serves every request until the registry version changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphql import (
    GraphQLArgument,
    GraphQLBoolean,
    GraphQLField,
    GraphQLFloat,
    GraphQLID,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLInt,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLString,
)

from twenty_migrate.sandbox.graphql import types as gt
from twenty_migrate.sandbox.graphql.record_ops import (  # REST twins
    add_record_op_fields,
    record_op_type_names,
)
from twenty_migrate.sandbox.graphql.resolvers import (
    many_to_one_resolver,
    one_to_many_resolver,
    root_resolver,
)
from twenty_migrate.sandbox.metadata.model import RICH_TEXT_TYPES, FieldMeta, ObjectMeta
from twenty_migrate.sandbox.metadata.registry import Registry

# [version-dependent] Type of the ``id`` argument of updateOne/deleteOne/destroyOne/
# restoreOne: ``ID!`` in older Twenty, a ``UUID!`` scalar in newer code.
ID_ARGUMENT_TYPE: GraphQLInputType = gt.UUIDScalar

# Twenty resolver method -> (root type, how the field name is made from the object names).
ROOT_FIELDS: dict[str, tuple[str, str]] = {
    "findMany": ("Query", "{plural}"),
    "findOne": ("Query", "{singular}"),
    "createOne": ("Mutation", "create{Singular}"),
    "createMany": ("Mutation", "create{Plural}"),
    "updateOne": ("Mutation", "update{Singular}"),
    "updateMany": ("Mutation", "update{Plural}"),
    "deleteOne": ("Mutation", "delete{Singular}"),
    "deleteMany": ("Mutation", "delete{Plural}"),
    "destroyOne": ("Mutation", "destroy{Singular}"),
    "destroyMany": ("Mutation", "destroy{Plural}"),
    "restoreOne": ("Mutation", "restore{Singular}"),
    "restoreMany": ("Mutation", "restore{Plural}"),
}

# Plain field type -> GraphQL scalar (SELECT-like and composite types are handled apart).
_SCALARS: dict[str, Any] = {
    "TEXT": GraphQLString,
    "RICH_TEXT": GraphQLString,
    "NUMERIC": gt.BigFloatScalar,
    "BOOLEAN": GraphQLBoolean,
    "UUID": gt.UUIDScalar,
    "DATE": gt.DateScalar,
    "DATE_TIME": gt.DateTimeScalar,
    "RAW_JSON": gt.JSONScalar,
    "FILES": gt.JSONScalar,
    "POSITION": gt.PositionScalar,
    "ARRAY": GraphQLList(GraphQLString),
}
_FILTERS: dict[str, GraphQLInputObjectType] = {
    "TEXT": gt.StringFilter,
    "RICH_TEXT": gt.StringFilter,
    "NUMBER": gt.FloatFilter,
    "NUMERIC": gt.BigFloatFilter,
    "BOOLEAN": gt.BooleanFilter,
    "UUID": gt.UUIDFilter,
    "DATE": gt.DateFilter,
    "DATE_TIME": gt.DateTimeFilter,
    "RAW_JSON": gt.RawJsonFilter,
    "POSITION": gt.FloatFilter,
    "ARRAY": gt.ArrayFilter,
    "SELECT": gt.SelectFilter,
    "RATING": gt.SelectFilter,
    "MULTI_SELECT": gt.MultiSelectFilter,
}
_ENUM_TYPES = ("SELECT", "MULTI_SELECT", "RATING")
_NOT_ORDERABLE = frozenset({"TS_VECTOR", "FILES"})
_NOT_WRITABLE = frozenset({"TS_VECTOR"})


def root_field_name(kind: str, obj: ObjectMeta) -> str:
    """The root field of Twenty resolver ``kind`` for ``obj``: ``createPeople``, ``person``..."""
    return ROOT_FIELDS[kind][1].format(
        plural=obj.name_plural,
        singular=obj.name_singular,
        Plural=gt.pascal(obj.name_plural),
        Singular=gt.pascal(obj.name_singular),
    )


def _shared_type_names() -> frozenset[str]:
    names = {"Query", "Mutation", "Subscription", "String", "Int", "Float", "Boolean", "ID"}
    shared: list[GraphQLNamedType] = [
        *gt.SCALARS,
        gt.FilterIs,
        gt.OrderByDirection,
        gt.PageInfo,
        gt.StringFilter,
        gt.FloatFilter,
        gt.BigFloatFilter,
        gt.BooleanFilter,
        gt.DateTimeFilter,
        gt.DateFilter,
        gt.UUIDFilter,
        gt.RawJsonFilter,
        gt.ArrayFilter,
        gt.SelectFilter,
        gt.MultiSelectFilter,
        gt.SecondaryLink,
        gt.SecondaryLinkInput,
        gt.AdditionalPhone,
        gt.AdditionalPhoneInput,
        gt.ActorContext,
        gt.ActorContextInput,
    ]
    if gt.ActorSourceEnum is not None:
        shared += [gt.ActorSourceEnum, gt.enum_filter(gt.ActorSourceEnum)]
    for composite in gt.COMPOSITES.values():
        shared += [
            composite.output,
            composite.create,
            composite.update,
            composite.filter,
            composite.order_by,
        ]
    names.update(t.name for t in shared)
    return frozenset(names)


_SHARED_TYPE_NAMES = _shared_type_names()


@dataclass
class _ObjectTypes:
    """The generated types of one object."""

    obj: ObjectMeta
    output: GraphQLObjectType
    edge: GraphQLObjectType
    connection: GraphQLObjectType
    create: GraphQLInputObjectType
    update: GraphQLInputObjectType
    filter: GraphQLInputObjectType
    order_by: GraphQLInputObjectType


class _EnumTypes:
    """The enum (or None when options are not GraphQL names) and its filter, for a field."""

    def __init__(self, obj: ObjectMeta, field: FieldMeta) -> None:
        name = f"{gt.pascal(obj.name_singular)}{gt.pascal(field.name)}Enum"
        self.enum = gt.option_enum(name, field.option_values())
        self.filter = gt.enum_filter(self.enum) if self.enum is not None else None


class CoreSchemaBuilder:
    """Builds the core GraphQL schema of one registry state.

    Args:
        registry: the workspace metadata; read once, at :meth:`build` time.
    """

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._reserved = _SHARED_TYPE_NAMES
        self._types: dict[str, _ObjectTypes] = {}
        self._enums: dict[tuple[str, str], _EnumTypes] = {}

    # ------------------------------------------------------------ objects
    def build(self) -> GraphQLSchema:
        """The schema: one set of types and root fields per active object."""
        used = set(self._reserved)
        for obj in self.registry.objects():
            if not obj.is_active:
                continue
            names = self._type_names(obj) | record_op_type_names(obj)  # + the twins' types
            if names & used or not gt.is_graphql_name(obj.name_singular):
                continue  # a name clash would make the whole schema invalid
            used |= names
            self._types[obj.name_singular] = self._object_types(obj)
        query: dict[str, GraphQLField] = {}
        mutation: dict[str, GraphQLField] = {}
        for types in self._types.values():
            for kind, (root, _) in ROOT_FIELDS.items():
                target = query if root == "Query" else mutation
                target[root_field_name(kind, types.obj)] = self._root_field(kind, types)
            # -- duplicates / merge twins (graphql_record_ops.py, owned by the REST part) --
            add_record_op_fields(
                types.obj,
                output=types.output,
                connection=types.connection,
                create=types.create,
                filter_type=types.filter,
                order_by=types.order_by,
                query=query,
                mutation=mutation,
                profile=self.registry.profile,
            )
            # -- end of the duplicates / merge twins --
        if not query:
            query["_empty"] = GraphQLField(GraphQLString)
        return GraphQLSchema(
            query=GraphQLObjectType("Query", query),
            mutation=GraphQLObjectType("Mutation", mutation) if mutation else None,
        )

    def _type_names(self, obj: ObjectMeta) -> set[str]:
        base = gt.pascal(obj.name_singular)
        names = {
            base,
            f"{base}Edge",
            f"{base}Connection",
            f"{base}CreateInput",
            f"{base}UpdateInput",
            f"{base}FilterInput",
            f"{base}OrderByInput",
        }
        for field in obj.fields.values():
            if field.type in _ENUM_TYPES:
                names |= {f"{base}{gt.pascal(field.name)}Enum"}
                names |= {f"{base}{gt.pascal(field.name)}EnumFilter"}
        return names

    def _object_types(self, obj: ObjectMeta) -> _ObjectTypes:
        base = gt.pascal(obj.name_singular)
        output = GraphQLObjectType(base, lambda: self._output_fields(obj))
        edge = GraphQLObjectType(
            f"{base}Edge",
            {
                "node": GraphQLField(GraphQLNonNull(output)),
                "cursor": GraphQLField(GraphQLNonNull(gt.CursorScalar)),
            },
        )
        connection = GraphQLObjectType(
            f"{base}Connection",
            {
                "edges": GraphQLField(GraphQLNonNull(GraphQLList(GraphQLNonNull(edge)))),
                "pageInfo": GraphQLField(GraphQLNonNull(gt.PageInfo)),
                "totalCount": GraphQLField(GraphQLNonNull(GraphQLInt)),
            },
        )
        filter_type = GraphQLInputObjectType(
            f"{base}FilterInput", lambda: self._filter_fields(obj, filter_type)
        )
        return _ObjectTypes(
            obj=obj,
            output=output,
            edge=edge,
            connection=connection,
            create=GraphQLInputObjectType(
                f"{base}CreateInput", lambda: self._input_fields(obj, create=True)
            ),
            update=GraphQLInputObjectType(
                f"{base}UpdateInput", lambda: self._input_fields(obj, create=False)
            ),
            filter=filter_type,
            order_by=GraphQLInputObjectType(
                f"{base}OrderByInput", lambda: self._order_by_fields(obj)
            ),
        )

    def _root_field(self, kind: str, types: _ObjectTypes) -> GraphQLField:
        resolve = root_resolver(kind, types.obj)
        one = GraphQLNonNull(types.create)
        id_arg = {"id": GraphQLArgument(GraphQLNonNull(ID_ARGUMENT_TYPE))}
        required_filter = {"filter": GraphQLArgument(GraphQLNonNull(types.filter))}
        records = GraphQLList(types.output)
        if kind == "findMany":
            return GraphQLField(types.connection, args=self._find_many_args(types), resolve=resolve)
        if kind == "findOne":
            return GraphQLField(types.output, args=required_filter, resolve=resolve)
        if kind in ("createOne", "createMany"):
            data = one if kind == "createOne" else GraphQLNonNull(GraphQLList(one))
            args = {"data": GraphQLArgument(data), "upsert": GraphQLArgument(GraphQLBoolean)}
            out = types.output if kind == "createOne" else records
            return GraphQLField(out, args=args, resolve=resolve)
        if kind == "updateOne":
            args = {**id_arg, "data": GraphQLArgument(GraphQLNonNull(types.update))}
            return GraphQLField(types.output, args=args, resolve=resolve)
        if kind == "updateMany":
            args = {"data": GraphQLArgument(GraphQLNonNull(types.update)), **required_filter}
            return GraphQLField(records, args=args, resolve=resolve)
        if kind.endswith("One"):
            return GraphQLField(types.output, args=id_arg, resolve=resolve)
        return GraphQLField(records, args=required_filter, resolve=resolve)

    @staticmethod
    def _find_many_args(types: _ObjectTypes) -> dict[str, GraphQLArgument]:
        return {
            "filter": GraphQLArgument(types.filter),
            "orderBy": GraphQLArgument(GraphQLList(types.order_by)),
            "first": GraphQLArgument(GraphQLInt),
            "last": GraphQLArgument(GraphQLInt),
            "before": GraphQLArgument(GraphQLString),
            "after": GraphQLArgument(GraphQLString),
            "limit": GraphQLArgument(GraphQLInt),
        }

    # ------------------------------------------------------------ fields
    def _fields(self, obj: ObjectMeta) -> list[FieldMeta]:
        return [f for f in obj.fields.values() if f.is_active and gt.is_graphql_name(f.name)]

    def _enum(self, obj: ObjectMeta, field: FieldMeta) -> _EnumTypes:
        key = (obj.name_singular, field.name)
        if key not in self._enums:
            self._enums[key] = _EnumTypes(obj, field)
        return self._enums[key]

    def _relation(self, field: FieldMeta) -> tuple[_ObjectTypes, str | None] | None:
        """(target types, join column of the target side for ONE_TO_MANY) or None."""
        relation = field.relation
        if relation is None:
            return None
        target = self._types.get(relation.target_object)
        if target is None:
            return None
        if relation.type == "MANY_TO_ONE":
            return target, None
        other = target.obj.field(relation.target_field)
        if other is None or other.relation is None or not other.relation.join_column:
            return None
        return target, other.relation.join_column

    def _join_column(self, field: FieldMeta) -> str | None:
        relation = field.relation
        if relation is None or relation.type != "MANY_TO_ONE" or not relation.join_column:
            return None
        return relation.join_column if gt.is_graphql_name(relation.join_column) else None

    def _scalar(self, obj: ObjectMeta, field: FieldMeta) -> Any:
        """The GraphQL type of a non-relation, non-composite field, or None."""
        if field.type in _ENUM_TYPES:
            enum = self._enum(obj, field).enum
            item: Any = enum if enum is not None else GraphQLString
            return GraphQLList(item) if field.type == "MULTI_SELECT" else item
        if field.type == "NUMBER":
            data_type = (field.settings or {}).get("dataType")
            return GraphQLInt if data_type == "int" else GraphQLFloat
        return _SCALARS.get(field.type)

    def _output_fields(self, obj: ObjectMeta) -> dict[str, GraphQLField]:
        fields: dict[str, GraphQLField] = {}
        for field in self._fields(obj):
            if field.relation is not None:
                self._add_relation_output(obj, field, fields)
            elif field.name == "id":
                fields["id"] = GraphQLField(GraphQLNonNull(gt.UUIDScalar))
            elif field.is_composite:
                fields[field.name] = GraphQLField(gt.COMPOSITES[field.type].output)
            elif field.type == "TS_VECTOR":
                fields[field.name] = GraphQLField(gt.TSVectorScalar)
            else:
                scalar = self._scalar(obj, field)
                if scalar is not None:
                    fields[field.name] = GraphQLField(scalar)
        return fields

    def _add_relation_output(
        self, obj: ObjectMeta, field: FieldMeta, fields: dict[str, GraphQLField]
    ) -> None:
        found = self._relation(field)
        if found is None:
            return
        target, target_join = found
        join = self._join_column(field)
        if join is not None:
            fields[field.name] = GraphQLField(
                target.output, resolve=many_to_one_resolver(obj, field, join)
            )
            fields[join] = GraphQLField(gt.UUIDScalar)
        elif target_join is not None:
            fields[field.name] = GraphQLField(
                target.connection,
                args=self._find_many_args(target),
                resolve=one_to_many_resolver(obj, field, target.obj, target_join),
            )

    def _input_fields(self, obj: ObjectMeta, *, create: bool) -> dict[str, GraphQLInputField]:
        fields: dict[str, GraphQLInputField] = {}
        for field in self._fields(obj):
            if field.type in _NOT_WRITABLE:
                continue
            if field.relation is not None:
                join = self._join_column(field)
                if join is not None and self._relation(field) is not None:
                    fields[join] = GraphQLInputField(GraphQLID)
                continue
            if field.name == "id":
                in_type: Any = GraphQLID
            elif field.is_composite:
                composite = gt.COMPOSITES[field.type]
                in_type = composite.create if create else composite.update
            else:
                in_type = self._scalar(obj, field)
                if in_type is None:
                    continue
            required = (
                create
                and not field.is_nullable
                and field.default_value is None
                and field.name != "id"
            )
            fields[field.name] = GraphQLInputField(GraphQLNonNull(in_type) if required else in_type)
        return fields

    def _filter_fields(
        self, obj: ObjectMeta, self_type: GraphQLInputObjectType
    ) -> dict[str, GraphQLInputField]:
        fields: dict[str, GraphQLInputField] = {
            "and": GraphQLInputField(GraphQLList(self_type)),
            "or": GraphQLInputField(GraphQLList(self_type)),
            "not": GraphQLInputField(self_type),
        }
        for field in self._fields(obj):
            if field.relation is not None:
                join = self._join_column(field)
                if join is not None and self._relation(field) is not None:
                    fields[join] = GraphQLInputField(gt.UUIDFilter)
                continue
            filter_type: Any
            if field.name == "id":
                filter_type = gt.UUIDFilter
            elif field.is_composite:
                filter_type = gt.COMPOSITES[field.type].filter
            elif field.type in _ENUM_TYPES:
                filter_type = self._enum(obj, field).filter or _FILTERS[field.type]
            else:
                filter_type = _FILTERS.get(field.type)
            if filter_type is not None:
                fields[field.name] = GraphQLInputField(filter_type)
        return fields

    def _order_by_fields(self, obj: ObjectMeta) -> dict[str, GraphQLInputField]:
        fields: dict[str, GraphQLInputField] = {}
        for field in self._fields(obj):
            if field.relation is not None:
                join = self._join_column(field)
                if join is not None and self._relation(field) is not None:
                    fields[join] = GraphQLInputField(gt.OrderByDirection)
            elif field.is_composite:
                if field.type not in RICH_TEXT_TYPES:  # rich text is never an order key
                    fields[field.name] = GraphQLInputField(gt.COMPOSITES[field.type].order_by)
            elif field.type not in _NOT_ORDERABLE:
                fields[field.name] = GraphQLInputField(gt.OrderByDirection)
        return fields


def build_core_schema(registry: Registry) -> GraphQLSchema:
    """The core GraphQL schema for the current state of ``registry``."""
    return CoreSchemaBuilder(registry).build()
