"""GraphQL twins of the REST duplicates, merge and groupBy routes: ``{plural}Duplicates``,
``merge{Plural}`` and ``{plural}GroupBy``.

Names and arguments as Twenty's workspace resolver builder makes them (the front end's
find-duplicates query selects ``peopleDuplicates(ids: ..., data: ...) { edges totalCount
pageInfo }``; the merge mutation is ``mergePeople(ids, conflictPriorityIndex, dryRun)``
returning one record; ``{plural}GroupBy(groupBy: [{Singular}GroupByInput!]!, ...)`` answers
a list of ``{Singular}GroupByConnection`` with ``groupByDimensionValues``). The work is in
:mod:`record_ops`, shared with REST. [uncertain] The group-by twin takes ``filter``,
``orderByForRecords`` and ``limit`` only (no group ordering, no aggregate fields).
"""

from __future__ import annotations

from typing import Any

from graphql import (
    GraphQLArgument,
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLResolveInfo,
)

from twenty_migrate.sandbox.engine.filters import encode_cursor, order_spec
from twenty_migrate.sandbox.engine.record_ops import find_duplicates, group_records, merge_records
from twenty_migrate.sandbox.graphql import types as gt
from twenty_migrate.sandbox.graphql.resolvers import CoreContext
from twenty_migrate.sandbox.metadata.model import COMPOSITE_TYPES, ObjectMeta
from twenty_migrate.sandbox.profiles import TwentyProfile

JSON = dict[str, Any]

_GRANULARITIES = (
    "NONE",
    "DAY",
    "MONTH",
    "QUARTER",
    "YEAR",
    "DAY_OF_THE_WEEK",
    "MONTH_OF_THE_YEAR",
    "QUARTER_OF_THE_YEAR",
)
DATE_GRANULARITY = GraphQLEnumType(
    "ObjectRecordGroupByDateGranularity", {name: name for name in _GRANULARITIES}
)
GROUP_BY_DATE_INPUT = GraphQLInputObjectType(
    "GroupByDateGranularityInput", {"granularity": GraphQLInputField(DATE_GRANULARITY)}
)
_NOT_GROUPABLE = frozenset({"TS_VECTOR", "RICH_TEXT_V2", "RICH_TEXT", "FILES", "RAW_JSON"})


def record_op_type_names(obj: ObjectMeta) -> set[str]:
    """The type names :func:`add_record_op_fields` adds for ``obj`` (to avoid clashes)."""
    base = gt.pascal(obj.name_singular)
    return {f"{base}GroupByInput", f"{base}GroupByConnection"} | {
        f"{base}{gt.pascal(f.name)}GroupByInput" for f in obj.fields.values() if f.is_composite
    }


def add_record_op_fields(
    obj: ObjectMeta,
    *,
    output: GraphQLObjectType,
    connection: GraphQLObjectType,
    create: GraphQLInputObjectType,
    filter_type: GraphQLInputObjectType,
    order_by: GraphQLInputObjectType,
    query: dict[str, GraphQLField],
    mutation: dict[str, GraphQLField],
    profile: TwentyProfile,
) -> None:
    """Add ``{plural}Duplicates`` (and, where the profile has it, ``merge{Plural}``)."""
    query[f"{obj.name_plural}Duplicates"] = GraphQLField(
        GraphQLNonNull(GraphQLList(GraphQLNonNull(connection))),
        args={
            "ids": GraphQLArgument(GraphQLList(gt.UUIDScalar)),
            "data": GraphQLArgument(GraphQLList(GraphQLNonNull(create))),
        },
        resolve=_duplicates_resolver(obj),
    )
    if profile.rest_merge_and_group_by:
        mutation[f"merge{gt.pascal(obj.name_plural)}"] = GraphQLField(
            output,
            args={
                "ids": GraphQLArgument(GraphQLNonNull(GraphQLList(GraphQLNonNull(gt.UUIDScalar)))),
                "conflictPriorityIndex": GraphQLArgument(GraphQLNonNull(GraphQLInt)),
                "dryRun": GraphQLArgument(GraphQLBoolean),
            },
            resolve=_merge_resolver(obj),
        )
        query[f"{obj.name_plural}GroupBy"] = _group_by_field(obj, connection, filter_type, order_by)


def _group_by_field(
    obj: ObjectMeta,
    connection: GraphQLObjectType,
    filter_type: GraphQLInputObjectType,
    order_by: GraphQLInputObjectType,
) -> GraphQLField:
    base = gt.pascal(obj.name_singular)
    fields: dict[str, GraphQLInputField] = {}
    for f in obj.fields.values():
        if not f.is_active or f.type in _NOT_GROUPABLE or f.is_one_to_many:
            continue
        if f.type in ("DATE", "DATE_TIME"):
            fields[f.name] = GraphQLInputField(GROUP_BY_DATE_INPUT)
        elif f.is_composite:
            subs = {p.name: GraphQLInputField(GraphQLBoolean) for p in COMPOSITE_TYPES[f.type]}
            sub_input = GraphQLInputObjectType(f"{base}{gt.pascal(f.name)}GroupByInput", subs)
            fields[f.name] = GraphQLInputField(sub_input)
        elif f.relation is None:
            fields[f.name] = GraphQLInputField(GraphQLBoolean)
    group_input = GraphQLInputObjectType(f"{base}GroupByInput", fields)
    group_connection = GraphQLObjectType(
        f"{base}GroupByConnection",
        lambda: {
            **connection.fields,
            "groupByDimensionValues": GraphQLField(GraphQLList(gt.JSONScalar)),
        },
    )
    return GraphQLField(
        GraphQLNonNull(GraphQLList(GraphQLNonNull(group_connection))),
        args={
            "groupBy": GraphQLArgument(GraphQLNonNull(GraphQLList(GraphQLNonNull(group_input)))),
            "filter": GraphQLArgument(filter_type),
            "orderByForRecords": GraphQLArgument(GraphQLList(order_by)),
            "limit": GraphQLArgument(GraphQLInt),
        },
        resolve=_group_by_resolver(obj),
    )


def _context(info: GraphQLResolveInfo) -> CoreContext:
    context: CoreContext = info.context
    context.charge(info.field_name)
    return context


def _duplicates_resolver(obj: ObjectMeta) -> Any:
    def resolve(_root: Any, info: GraphQLResolveInfo, **args: Any) -> list[JSON]:
        engine = _context(info).engine
        found = find_duplicates(engine, obj, data=args.get("data"), ids=args.get("ids"))
        spec = order_spec(obj, None)
        answers = []
        for records in found:
            cursors = [encode_cursor(row, spec) for row in records]
            answers.append(
                {
                    "edges": [
                        {"node": row, "cursor": cursor}
                        for row, cursor in zip(records, cursors, strict=True)
                    ],
                    "pageInfo": {
                        "hasNextPage": False,
                        "hasPreviousPage": False,
                        "startCursor": cursors[0] if cursors else None,
                        "endCursor": cursors[-1] if cursors else None,
                    },
                    "totalCount": len(records),
                }
            )
        return answers

    return resolve


def _group_by_resolver(obj: ObjectMeta) -> Any:
    def resolve(_root: Any, info: GraphQLResolveInfo, **args: Any) -> list[JSON]:
        engine = _context(info).engine
        groups = group_records(
            engine,
            obj,
            group_by=[_plain(spec) for spec in args["groupBy"]],
            aggregates=[],
            filter=args.get("filter"),
            order_by_for_records=args.get("orderByForRecords"),
            include_records=True,
            limit=args.get("limit"),
        )
        spec = order_spec(obj, args.get("orderByForRecords"))
        answers = []
        for group in groups:
            records = group["records"]
            cursors = [encode_cursor(row, spec) for row in records]
            answers.append(
                {
                    "groupByDimensionValues": group["groupByDimensionValues"],
                    "edges": [
                        {"node": row, "cursor": c} for row, c in zip(records, cursors, strict=True)
                    ],
                    "pageInfo": {
                        "hasNextPage": False,
                        "hasPreviousPage": False,
                        "startCursor": cursors[0] if cursors else None,
                        "endCursor": cursors[-1] if cursors else None,
                    },
                    "totalCount": group["totalCount"],
                }
            )
        return answers

    return resolve


def _plain(spec: Any) -> JSON:
    """A GraphQL group-by input without its unset (None) entries."""
    return {
        key: (_plain(value) if isinstance(value, dict) else value)
        for key, value in dict(spec).items()
        if value is not None
    }


def _merge_resolver(obj: ObjectMeta) -> Any:
    def resolve(_root: Any, info: GraphQLResolveInfo, **args: Any) -> JSON:
        engine = _context(info).engine
        return merge_records(
            engine,
            obj,
            args["ids"],
            args["conflictPriorityIndex"],
            dry_run=bool(args.get("dryRun")),
        )

    return resolve
