"""GraphQL building blocks shared by every workspace schema of the sandbox.

Scalars, the ``FilterIs`` and ``OrderByDirection`` enums, the per-type filter inputs,
``PageInfo``, and the composite types (``FullName``, ``Emails``, ``Links``...) with their
input, filter and order-by variants. Names follow Twenty's workspace schema builder
(``server/src/engine/api/graphql/workspace-schema-builder/graphql-types``).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

from graphql import (
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLEnumValue,
    GraphQLField,
    GraphQLFloat,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLString,
    ValueNode,
    value_from_ast_untyped,
)
from graphql.language import FloatValueNode, IntValueNode, StringValueNode

from twenty_migrate.sandbox.metadata.model import ACTOR_SOURCES, COMPOSITE_TYPES, CompositeProperty

# [version-dependent] Newest Twenty exposes the RAW_JSON sub-fields of composites with a
# known shape as real GraphQL types (additionalEmails: [String!], secondaryLinks:
# [SecondaryLink!], additionalPhones: [AdditionalPhone!], context: ActorContext). Older
# versions typed them all with the opaque ``RawJSONScalar``.
TYPED_COMPOSITE_JSON_SUBFIELDS = True

# Composite type -> GraphQL type name (Twenty: pascalCase of the field type).
COMPOSITE_TYPE_NAMES: dict[str, str] = {
    "FULL_NAME": "FullName",
    "EMAILS": "Emails",
    "PHONES": "Phones",
    "LINKS": "Links",
    "ADDRESS": "Address",
    "CURRENCY": "Currency",
    "ACTOR": "Actor",
    "RICH_TEXT_V2": "RichTextV2",
    # Release 1.20+ (PR #18628): the writable rich text is RICH_TEXT, so its type is RichText.
    "RICH_TEXT": "RichText",
}

_NAME_RE = re.compile(r"^[_A-Za-z][_0-9A-Za-z]*$")


def is_graphql_name(name: str) -> bool:
    """True when ``name`` can be a GraphQL field, type or enum value name."""
    return bool(_NAME_RE.match(name)) and not name.startswith("__")


def pascal(name: str) -> str:
    """Twenty's pascalCase of a camelCased metadata name: ``taskTarget`` -> ``TaskTarget``."""
    return name[:1].upper() + name[1:]


# ---------------------------------------------------------------- scalars


def _identity(value: Any) -> Any:
    return value


def _parse_uuid(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("UUID must be a string")
    try:
        uuid.UUID(value)
    except ValueError:
        raise ValueError("Invalid UUID") from None
    return value


def _parse_uuid_literal(node: ValueNode, _variables: Any = None) -> str:
    # Twenty checks the format of variables only; inline literals reach the server code.
    if not isinstance(node, StringValueNode):
        raise TypeError("UUID must be a string")
    return node.value


def _parse_string(type_name: str) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        if not isinstance(value, str):
            raise TypeError(f"{type_name} cannot represent a non string value")
        return value

    return parse


def _parse_string_literal(type_name: str) -> Callable[..., str]:
    def parse(node: ValueNode, _variables: Any = None) -> str:
        if not isinstance(node, StringValueNode):
            raise TypeError(f"{type_name} cannot represent a non string value")
        return node.value

    return parse


def _parse_number_or_string(type_name: str) -> Callable[[Any], Any]:
    def parse(value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise TypeError(f"{type_name} cannot represent value: {value!r}")
        return value

    return parse


def _parse_number_or_string_literal(node: ValueNode, _variables: Any = None) -> Any:
    if isinstance(node, IntValueNode):
        return int(node.value)
    if isinstance(node, FloatValueNode):
        return float(node.value)
    if isinstance(node, StringValueNode):
        return node.value
    raise TypeError("Expected a number or a numeric string")


def _parse_json_literal(node: ValueNode, variables: Any = None) -> Any:
    return value_from_ast_untyped(node, variables)


def _string_scalar(name: str, description: str) -> GraphQLScalarType:
    return GraphQLScalarType(
        name,
        description=description,
        serialize=_identity,
        parse_value=_parse_string(name),
        parse_literal=_parse_string_literal(name),
    )


def _json_scalar(name: str, description: str) -> GraphQLScalarType:
    return GraphQLScalarType(
        name,
        description=description,
        serialize=_identity,
        parse_value=_identity,
        parse_literal=_parse_json_literal,
    )


UUIDScalar = GraphQLScalarType(
    "UUID",
    description="A UUID scalar type",
    serialize=_identity,
    parse_value=_parse_uuid,
    parse_literal=_parse_uuid_literal,
)
# Values are only checked to be strings: the field validation of the engine gives
# Twenty's own message for a malformed date.
DateTimeScalar = _string_scalar("DateTime", "A date-time string at UTC")
DateScalar = _string_scalar("Date", "Date custom scalar type (YYYY-MM-DD)")
CursorScalar = _string_scalar("Cursor", "A custom scalar that represents a cursor")
ConnectionCursorScalar = _string_scalar("ConnectionCursor", "Cursor for paging through collections")
BigFloatScalar = GraphQLScalarType(
    "BigFloat",
    description="A custom scalar type for representing big floating point numbers",
    serialize=_identity,
    parse_value=_parse_number_or_string("BigFloat"),
    parse_literal=_parse_number_or_string_literal,
)
PositionScalar = GraphQLScalarType(
    "Position",
    description="A custom scalar type for representing record position",
    serialize=_identity,
    parse_value=_parse_number_or_string("Position"),
    parse_literal=_parse_number_or_string_literal,
)
JSONScalar = _json_scalar("JSON", "The `JSON` scalar type represents JSON values")
RawJSONScalar = _json_scalar("RawJSONScalar", "JSON values, stored as given")
TSVectorScalar = _json_scalar("TSVector", "A full-text search vector")

SCALARS: tuple[GraphQLScalarType, ...] = (
    UUIDScalar,
    DateTimeScalar,
    DateScalar,
    CursorScalar,
    ConnectionCursorScalar,
    BigFloatScalar,
    PositionScalar,
    JSONScalar,
    RawJSONScalar,
    TSVectorScalar,
)

# ---------------------------------------------------------------- enums


class OptionEnumType(GraphQLEnumType):
    """An enum whose internal values are the option values the engine stores.

    Output is lenient: a stored string that is not (or no longer) an option is returned as
    is instead of failing the whole field, since options can change after data was written.
    """

    def serialize(self, output_value: Any) -> Any:
        """Return the stored option value itself."""
        if isinstance(output_value, str):
            return output_value
        return super().serialize(output_value)


def option_enum(name: str, values: list[str]) -> OptionEnumType | None:
    """An enum type for option values, or None when they cannot be GraphQL enum values."""
    if not values or not all(
        is_graphql_name(v) and v not in ("true", "false", "null") for v in values
    ):
        return None
    return OptionEnumType(name, {v: GraphQLEnumValue(v) for v in values})


FilterIs = GraphQLEnumType(
    "FilterIs",
    {"NULL": GraphQLEnumValue("NULL"), "NOT_NULL": GraphQLEnumValue("NOT_NULL")},
)
OrderByDirection = GraphQLEnumType(
    "OrderByDirection",
    {
        name: GraphQLEnumValue(name, description=description)
        for name, description in (
            ("AscNullsFirst", "Ascending order, nulls first"),
            ("AscNullsLast", "Ascending order, nulls last"),
            ("DescNullsFirst", "Descending order, nulls first"),
            ("DescNullsLast", "Descending order, nulls last"),
        )
    },
)
ActorSourceEnum = option_enum("ActorSourceEnum", list(ACTOR_SOURCES))

# ---------------------------------------------------------------- filters


def _list(of: GraphQLInputType, *, non_null_items: bool = False) -> GraphQLList[Any]:
    return GraphQLList(GraphQLNonNull(of) if non_null_items else of)


def comparison_filter(
    name: str, scalar: GraphQLInputType, ops: tuple[str, ...]
) -> GraphQLInputObjectType:
    """A filter input ``{eq, neq, in, ..., is}`` over one scalar."""
    fields: dict[str, GraphQLInputField] = {}
    for op in ops:
        if op == "in":
            fields[op] = GraphQLInputField(_list(scalar, non_null_items=True))
        elif op in ("containsAny", "containsIlike"):
            fields[op] = GraphQLInputField(_list(scalar))
        elif op == "isEmptyArray":
            fields[op] = GraphQLInputField(GraphQLBoolean)
        else:
            fields[op] = GraphQLInputField(scalar)
    fields["is"] = GraphQLInputField(FilterIs)
    return GraphQLInputObjectType(name, fields)


_ORDERED = ("eq", "gt", "gte", "in", "lt", "lte", "neq")
StringFilter = comparison_filter(
    "StringFilter",
    GraphQLString,
    (*_ORDERED, "startsWith", "endsWith", "like", "ilike"),
)
FloatFilter = comparison_filter("FloatFilter", GraphQLFloat, _ORDERED)
BigFloatFilter = comparison_filter("BigFloatFilter", BigFloatScalar, _ORDERED)
BooleanFilter = comparison_filter("BooleanFilter", GraphQLBoolean, ("eq",))
DateTimeFilter = comparison_filter("DateTimeFilter", DateTimeScalar, _ORDERED)
DateFilter = comparison_filter("DateFilter", DateScalar, _ORDERED)
UUIDFilter = comparison_filter("UUIDFilter", UUIDScalar, ("eq", "in", "neq"))
RawJsonFilter = comparison_filter("RawJsonFilter", GraphQLString, ("like",))
ArrayFilter = comparison_filter("ArrayFilter", GraphQLString, ("containsIlike", "isEmptyArray"))
SelectFilter = comparison_filter("SelectFilter", GraphQLString, ("eq", "neq", "in"))
MultiSelectFilter = comparison_filter(
    "MultiSelectFilter", GraphQLString, ("containsAny", "isEmptyArray")
)


def enum_filter(enum: GraphQLEnumType) -> GraphQLInputObjectType:
    """Twenty's ``${Enum}Filter`` (createGqlEnumFilterType)."""
    return comparison_filter(
        f"{enum.name}Filter", enum, ("eq", "neq", "in", "containsAny", "isEmptyArray")
    )


# ---------------------------------------------------------------- connections

PageInfo = GraphQLObjectType(
    "PageInfo",
    {
        "startCursor": GraphQLField(ConnectionCursorScalar),
        "endCursor": GraphQLField(ConnectionCursorScalar),
        "hasNextPage": GraphQLField(GraphQLNonNull(GraphQLBoolean)),
        "hasPreviousPage": GraphQLField(GraphQLNonNull(GraphQLBoolean)),
    },
)

# ---------------------------------------------------------------- composites

SecondaryLink = GraphQLObjectType(
    "SecondaryLink", {"label": GraphQLField(GraphQLString), "url": GraphQLField(GraphQLString)}
)
SecondaryLinkInput = GraphQLInputObjectType(
    "SecondaryLinkInput",
    {"label": GraphQLInputField(GraphQLString), "url": GraphQLInputField(GraphQLString)},
)
_PHONE_PARTS = ("number", "callingCode", "countryCode")
AdditionalPhone = GraphQLObjectType(
    "AdditionalPhone", {p: GraphQLField(GraphQLString) for p in _PHONE_PARTS}
)
AdditionalPhoneInput = GraphQLInputObjectType(
    "AdditionalPhoneInput", {p: GraphQLInputField(GraphQLString) for p in _PHONE_PARTS}
)
ActorContext = GraphQLObjectType("ActorContext", {"provider": GraphQLField(GraphQLString)})
ActorContextInput = GraphQLInputObjectType(
    "ActorContextInput", {"provider": GraphQLInputField(GraphQLString)}
)

# (composite type, property) -> (output type, input type) for typed RAW_JSON sub-fields.
_TYPED_SUBFIELDS: dict[tuple[str, str], tuple[GraphQLOutputType, GraphQLInputType]] = {
    ("EMAILS", "additionalEmails"): (
        GraphQLList(GraphQLNonNull(GraphQLString)),
        GraphQLList(GraphQLNonNull(GraphQLString)),
    ),
    ("PHONES", "additionalPhones"): (
        GraphQLList(GraphQLNonNull(AdditionalPhone)),
        GraphQLList(GraphQLNonNull(AdditionalPhoneInput)),
    ),
    ("LINKS", "secondaryLinks"): (
        GraphQLList(GraphQLNonNull(SecondaryLink)),
        GraphQLList(GraphQLNonNull(SecondaryLinkInput)),
    ),
    ("ACTOR", "context"): (ActorContext, ActorContextInput),
}


def _property_types(
    composite: str, prop: CompositeProperty
) -> tuple[GraphQLOutputType, GraphQLInputType, Any, bool]:
    """(output, input, filter or None, orderable) of one composite sub-field."""
    if prop.type == "RAW_JSON":
        typed = _TYPED_SUBFIELDS.get((composite, prop.name))
        if TYPED_COMPOSITE_JSON_SUBFIELDS and typed is not None:
            return typed[0], typed[1], RawJsonFilter, False
        return RawJSONScalar, RawJSONScalar, RawJsonFilter, False
    if prop.type == "NUMERIC":
        return BigFloatScalar, BigFloatScalar, BigFloatFilter, True
    if prop.type == "UUID":
        return UUIDScalar, UUIDScalar, UUIDFilter, True
    if prop.type == "SELECT" and ActorSourceEnum is not None:
        return ActorSourceEnum, ActorSourceEnum, enum_filter(ActorSourceEnum), True
    return GraphQLString, GraphQLString, StringFilter, True


class CompositeTypes:
    """The output, create, update, filter and order-by types of one composite field type."""

    def __init__(self, field_type: str) -> None:
        name = COMPOSITE_TYPE_NAMES[field_type]
        out: dict[str, GraphQLField] = {}
        create: dict[str, GraphQLInputField] = {}
        filters: dict[str, GraphQLInputField] = {}
        order: dict[str, GraphQLInputField] = {}
        for prop in COMPOSITE_TYPES[field_type]:
            out_type, in_type, filter_type, orderable = _property_types(field_type, prop)
            out[prop.name] = GraphQLField(out_type)
            if not prop.hidden:
                create[prop.name] = GraphQLInputField(in_type)
            filters[prop.name] = GraphQLInputField(filter_type)
            if orderable:
                order[prop.name] = GraphQLInputField(OrderByDirection)
        self.output = GraphQLObjectType(name, out)
        self.create = GraphQLInputObjectType(f"{name}CreateInput", create)
        self.update = GraphQLInputObjectType(f"{name}UpdateInput", dict(create))
        self.filter = GraphQLInputObjectType(f"{name}Filter", filters)
        self.order_by = GraphQLInputObjectType(f"{name}OrderByInput", order)


def composite_types() -> dict[str, CompositeTypes]:
    """One :class:`CompositeTypes` per composite field type."""
    return {ftype: CompositeTypes(ftype) for ftype in COMPOSITE_TYPE_NAMES}


# Composite types never change, so every schema shares the same instances.
COMPOSITES: dict[str, CompositeTypes] = composite_types()
