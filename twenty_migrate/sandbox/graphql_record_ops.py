"""GraphQL twins of the REST duplicates and merge routes: ``{plural}Duplicates`` and
``merge{Plural}``.

Names and arguments as Twenty's workspace resolver builder makes them (the front end's
find-duplicates query selects ``peopleDuplicates(ids: ..., data: ...) { edges totalCount
pageInfo }``; the merge mutation is ``mergePeople(ids, conflictPriorityIndex, dryRun)``
returning one record). The work is in :mod:`record_ops`, shared with REST. ``groupBy`` has
no twin here yet.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    GraphQLArgument,
    GraphQLBoolean,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLResolveInfo,
)

from twenty_migrate.sandbox import graphql_types as gt
from twenty_migrate.sandbox.filters import encode_cursor, order_spec
from twenty_migrate.sandbox.graphql_resolvers import CoreContext
from twenty_migrate.sandbox.metadata import ObjectMeta
from twenty_migrate.sandbox.profiles import TwentyProfile
from twenty_migrate.sandbox.record_ops import find_duplicates, merge_records

JSON = dict[str, Any]


def add_record_op_fields(
    obj: ObjectMeta,
    *,
    output: GraphQLObjectType,
    connection: GraphQLObjectType,
    create: GraphQLInputObjectType,
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
