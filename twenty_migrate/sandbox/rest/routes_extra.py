"""REST routes beyond CRUD: ``POST /rest/{plural}/duplicates``, ``PATCH /rest/{plural}/merge``
and ``GET /rest/{plural}/groupBy``.

Shapes from Twenty's integration tests (``rest-api-core-find-duplicates``, ``-merge`` and
``-group-by.integration-spec.ts``); the work is in :mod:`record_ops`. Each route answers
only its own method: any other method on the same path is a record id, as in Twenty's
catch-all controller. Merge and groupBy exist on profiles with
``rest_merge_and_group_by``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from twenty_migrate.sandbox.engine.record_ops import (
    GROUP_BY_ERROR,
    find_duplicates,
    group_records,
    merge_records,
)
from twenty_migrate.sandbox.errors import bad_request
from twenty_migrate.sandbox.rest.params import (
    parse_depth,
    parse_filter,
    parse_limit,
    parse_order_by,
)
from twenty_migrate.sandbox.rest.results import OK, RestResult, capitalize

if TYPE_CHECKING:
    from twenty_migrate.sandbox.rest.api import RestAPI

JSON = dict[str, Any]
Charge = Callable[[], None]
Route = Callable[[str, Mapping[str, str], Any, Charge], RestResult]


def extra_route(api: RestAPI, method: str, segment: str) -> Route | None:
    """The handler of ``/rest/{plural}/{segment}`` for ``method``, or None (a record id)."""
    routes = ExtraRoutes(api)
    if (method, segment) == ("POST", "duplicates"):
        return routes.duplicates
    if not api.engine.profile.rest_merge_and_group_by:
        return None
    if (method, segment) == ("PATCH", "merge"):
        return routes.merge
    if (method, segment) == ("GET", "groupBy"):
        return routes.group_by
    return None


class ExtraRoutes:
    """The three routes over one :class:`RestAPI`."""

    def __init__(self, api: RestAPI) -> None:
        self.api = api
        self.engine = api.engine

    def duplicates(
        self, plural: str, query: Mapping[str, str], body: Any, charge: Charge
    ) -> RestResult:
        """``{data: [{totalCount, pageInfo, {singular}Duplicates: [...]}, ...]}``."""
        obj = self.api.registry.resolve_plural(plural)
        depth = parse_depth(query.get("depth"))
        if not isinstance(body, dict):
            raise bad_request("Body must be a JSON object", code="BAD_REQUEST")
        charge()
        found = find_duplicates(self.engine, obj, data=body.get("data"), ids=body.get("ids"))
        key = f"{obj.name_singular}Duplicates"
        answers = []
        for records in found:
            records = self.api._with_depth(obj, records, depth)
            answers.append(
                {
                    "totalCount": len(records),
                    "pageInfo": {
                        "hasNextPage": False,
                        "startCursor": None,
                        "endCursor": None,
                    },
                    key: records,
                }
            )
        n = sum(len(records) for records in found)
        return RestResult(
            OK, {"data": answers}, root_field=f"{obj.name_plural}Duplicates", n_records=n
        )

    def merge(self, plural: str, query: Mapping[str, str], body: Any, charge: Charge) -> RestResult:
        """``{data: {merge{Singular}: record}}``."""
        obj = self.api.registry.resolve_plural(plural)
        depth = parse_depth(query.get("depth"))
        if not isinstance(body, dict):
            raise bad_request("Body must be a JSON object", code="BAD_REQUEST")
        dry_run = body.get("dryRun", False)
        if not isinstance(dry_run, bool):
            raise bad_request("dryRun must be a boolean", code="BAD_REQUEST")
        charge()
        merged = merge_records(
            self.engine,
            obj,
            body.get("ids"),
            body.get("conflictPriorityIndex", 0),
            dry_run=dry_run,
            data=body.get("data"),
        )
        if not dry_run:
            merged = self.api._with_depth(obj, [merged], depth)[0]
        key = f"merge{capitalize(obj.name_singular)}"
        return RestResult(OK, {"data": {key: merged}}, root_field=key, n_records=1)

    def group_by(
        self, plural: str, query: Mapping[str, str], body: Any, charge: Charge
    ) -> RestResult:
        """A bare JSON array of groups."""
        obj = self.api.registry.resolve_plural(plural)
        group_by = _json_param(
            query.get("group_by"), GROUP_BY_ERROR, "INVALID_GROUP_BY_QUERY_PARAM"
        )
        aggregate_raw = query.get("aggregate")
        aggregates = (
            []
            if aggregate_raw is None
            else _json_param(
                aggregate_raw,
                "Invalid aggregate query parameter - should be a valid array of strings - "
                'ex: ["countNotEmptyId", "sumAmount"]',
                "INVALID_AGGREGATE_FIELDS_QUERY_PARAM",
            )
        )
        if not isinstance(aggregates, list) or not all(isinstance(a, str) for a in aggregates):
            raise bad_request(
                "Invalid aggregate query parameter - should be a valid array of strings",
                code="INVALID_AGGREGATE_FIELDS_QUERY_PARAM",
            )
        filter_ = parse_filter(query.get("filter"), obj)
        order_records = parse_order_by(query.get("order_by_for_records"), obj)
        limit = (
            None
            if query.get("limit") is None
            else parse_limit(query.get("limit"), default=0, maximum=self.engine.max_records)
        )
        include = query.get("include_records_sample") == "true"
        charge()
        groups = group_records(
            self.engine,
            obj,
            group_by=group_by,
            aggregates=aggregates,
            filter=filter_ or None,
            order_by_for_records=order_records or None,
            include_records=include,
            limit=limit,
        )
        # Twenty answers a bare array, not a {data: ...} envelope.
        return RestResult(OK, groups, root_field=f"{obj.name_plural}GroupBy", n_records=len(groups))


def _json_param(raw: str | None, message: str, code: str) -> Any:
    if raw is None:
        raise bad_request(message, code=code)
    try:
        return json.loads(raw)
    except ValueError:
        raise bad_request(message, code=code) from None
