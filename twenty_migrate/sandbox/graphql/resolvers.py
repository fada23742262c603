"""Resolvers of the core ``/graphql`` schema: thin calls into the :class:`Engine`.

Root resolvers charge the throttle first (one token per root field, like Twenty's query
runners), then call the engine. Record fields resolve from the plain dicts the engine
returns (graphql-core's default resolver), so only relation fields cost a call per record.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from graphql import GraphQLResolveInfo

from twenty_migrate.sandbox.engine.filters import encode_cursor, order_spec
from twenty_migrate.sandbox.metadata.model import FieldMeta, ObjectMeta

if TYPE_CHECKING:
    from twenty_migrate.sandbox.engine.paging import Page
    from twenty_migrate.sandbox.engine.store import Engine

# Twenty's QUERY_MAX_RECORDS_FROM_RELATION: nested one-to-many connections return at most
# this many records.
QUERY_MAX_RECORDS_FROM_RELATION = 60

Resolver = Callable[..., Any]
JSON = dict[str, Any]


@dataclass
class CoreContext:
    """What root and relation resolvers need: the engine and the throttle callback."""

    engine: Engine
    charge: Callable[[str], None]


def connection(page: Page) -> JSON:
    """An engine :class:`Page` as a GraphQL connection (edges, pageInfo, totalCount)."""
    return {
        "edges": [
            {"node": record, "cursor": cursor}
            for record, cursor in zip(page.records, page.cursors, strict=False)
        ],
        "pageInfo": {
            "hasNextPage": page.has_next_page,
            "hasPreviousPage": page.has_previous_page,
            "startCursor": page.start_cursor,
            "endCursor": page.end_cursor,
        },
        "totalCount": page.total_count,
    }


def _page_args(args: JSON, cap: int | None = None) -> JSON:
    """Engine find_many keywords from the GraphQL arguments (``limit`` is an alias of first)."""
    first = args.get("first")
    last = args.get("last")
    limit = args.get("limit")
    if first is None and last is None and limit is not None:
        first = limit
    if cap is not None:
        if last is not None:
            last = min(last, cap)
        else:
            first = cap if first is None else min(first, cap)
    return {
        "filter": args.get("filter"),
        "order_by": args.get("orderBy"),
        "first": first,
        "last": last,
        "after": args.get("after"),
        "before": args.get("before"),
    }


def _context(info: GraphQLResolveInfo) -> CoreContext:
    context: CoreContext = info.context
    context.charge(info.field_name)
    return context


def root_resolver(kind: str, obj: ObjectMeta) -> Resolver:
    """The resolver of one root field (``kind`` is a Twenty resolver method name)."""

    def find_many(_root: Any, info: GraphQLResolveInfo, **args: Any) -> JSON:
        return connection(_context(info).engine.find_many(obj, **_page_args(args)))

    def find_one(_root: Any, info: GraphQLResolveInfo, **args: Any) -> JSON:
        return _context(info).engine.find_one(obj, args["filter"])

    def create_one(_root: Any, info: GraphQLResolveInfo, **args: Any) -> JSON:
        engine = _context(info).engine
        return engine.create_one(obj, args["data"], upsert=bool(args.get("upsert")))

    def create_many(_root: Any, info: GraphQLResolveInfo, **args: Any) -> list[JSON]:
        engine = _context(info).engine
        return engine.create_many(obj, args["data"], upsert=bool(args.get("upsert")))

    def update_one(_root: Any, info: GraphQLResolveInfo, **args: Any) -> JSON:
        return _context(info).engine.update_one(obj, args["id"], args["data"])

    def update_many(_root: Any, info: GraphQLResolveInfo, **args: Any) -> list[JSON]:
        return _context(info).engine.update_many(obj, args["data"], args["filter"])

    def delete_one(_root: Any, info: GraphQLResolveInfo, **args: Any) -> JSON:
        return _context(info).engine.delete_one(obj, args["id"])

    def delete_many(_root: Any, info: GraphQLResolveInfo, **args: Any) -> list[JSON]:
        return _context(info).engine.delete_many(obj, args["filter"])

    def destroy_one(_root: Any, info: GraphQLResolveInfo, **args: Any) -> JSON:
        return _context(info).engine.destroy_one(obj, args["id"])

    def destroy_many(_root: Any, info: GraphQLResolveInfo, **args: Any) -> list[JSON]:
        return _context(info).engine.destroy_many(obj, args["filter"])

    def restore_one(_root: Any, info: GraphQLResolveInfo, **args: Any) -> JSON:
        return _context(info).engine.restore_one(obj, args["id"])

    def restore_many(_root: Any, info: GraphQLResolveInfo, **args: Any) -> list[JSON]:
        return _context(info).engine.restore_many(obj, args["filter"])

    resolvers: dict[str, Resolver] = {
        "findMany": find_many,
        "findOne": find_one,
        "createOne": create_one,
        "createMany": create_many,
        "updateOne": update_one,
        "updateMany": update_many,
        "deleteOne": delete_one,
        "deleteMany": delete_many,
        "destroyOne": destroy_one,
        "destroyMany": destroy_many,
        "restoreOne": restore_one,
        "restoreMany": restore_many,
    }
    return resolvers[kind]


def many_to_one_resolver(obj: ObjectMeta, field: FieldMeta, join_column: str) -> Resolver:
    """``person.company``: the record the join column points to, or None."""
    name = field.name

    def resolve(record: JSON, info: GraphQLResolveInfo) -> Any:
        if record.get(join_column) is None:
            return None  # no engine call for the common empty case
        context: CoreContext = info.context
        return context.engine.related(obj, record, name)

    return resolve


def one_to_many_resolver(
    obj: ObjectMeta, field: FieldMeta, target: ObjectMeta, target_join_column: str
) -> Resolver:
    """``company.people``: a connection over the records whose join column points here.

    At most :data:`QUERY_MAX_RECORDS_FROM_RELATION` records, like Twenty; the usual
    findMany arguments (filter, orderBy, first, after...) apply inside the relation.
    Without them, the engine's join-column index answers (no scan of the target table).
    """
    name = field.name
    cap = QUERY_MAX_RECORDS_FROM_RELATION

    def resolve(record: JSON, info: GraphQLResolveInfo, **args: Any) -> JSON:
        context: CoreContext = info.context
        keywords = _page_args(args, cap=cap)
        plain = all(keywords[k] is None for k in ("filter", "order_by", "after", "before", "last"))
        size = keywords["first"]
        if plain and size is not None and size >= 0:
            rows = context.engine.related(obj, record, name)
            if isinstance(rows, list) and len(rows) < cap:
                return _indexed_connection(target, rows, size)
        own: JSON = {target_join_column: {"eq": record["id"]}}
        user_filter = keywords["filter"]
        keywords["filter"] = {"and": [own, user_filter]} if user_filter else own
        return connection(context.engine.find_many(target, **keywords))

    return resolve


def _indexed_connection(target: ObjectMeta, rows: list[JSON], size: int) -> JSON:
    """The connection find_many would give for ``rows`` (all of them) in default order."""
    spec = order_spec(target, None)
    rows = sorted(rows, key=lambda row: str(row["id"]))
    page = rows[:size]
    cursors = [encode_cursor(row, spec) for row in page]
    return {
        "edges": [{"node": row, "cursor": c} for row, c in zip(page, cursors, strict=True)],
        "pageInfo": {
            "hasNextPage": len(rows) > size,
            "hasPreviousPage": False,
            "startCursor": cursors[0] if cursors else None,
            "endCursor": cursors[-1] if cursors else None,
        },
        "totalCount": len(rows),
    }
