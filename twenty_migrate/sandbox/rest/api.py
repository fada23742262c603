"""Twenty's REST API: core records (``/rest/{plural}``) and metadata (``/rest/metadata``).

Routes, status codes and response keys follow twenty-api.md §1.3, §1.4, §2.2, §8.2 and
§8.4 (legacy metadata shape). Query parameters are parsed by :mod:`rest_params`; the work
is done by the engine, which raises :class:`SandboxError` for anything Twenty refuses.

Core calls take a ``charge`` callback: it is called once, after the request has been
parsed and before anything runs, which is where Twenty's query runner takes its token.
So a malformed filter or an unknown object costs nothing, as in Twenty.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from uuid import UUID

from twenty_migrate.sandbox.errors import SandboxError, bad_request, not_found
from twenty_migrate.sandbox.metadata.model import ObjectMeta
from twenty_migrate.sandbox.rest.params import (
    QUERY_DEFAULT_LIMIT_RECORDS,
    parse_depth,
    parse_fields,
    parse_filter,
    parse_limit,
    parse_order_by,
)
from twenty_migrate.sandbox.rest.results import CREATED, OK, RestResult, capitalize
from twenty_migrate.sandbox.rest.routes_extra import extra_route

if TYPE_CHECKING:
    from twenty_migrate.sandbox.engine.store import Engine

JSON = dict[str, Any]

DELETE_RESPONSE_PREFIX = "delete"
"""[version-dependent] Response key prefix of REST DELETE, soft or hard. Twenty's REST
integration test expects ``deletePerson`` and its destroy-many handler also answers
``delete{Plural}``; set to ``"destroy"`` to answer ``destroyPerson`` for hard deletes."""

UPDATE_MANY_REQUIRES_FILTER = True
"""PATCH ``/rest/{plural}`` without a filter is refused (``Filter is required``) rather
than updating every record."""

METADATA_DEFAULT_LIMIT = 60
METADATA_MAX_LIMIT = 1000
"""REST metadata ``limit``: default and cap (the older OpenAPI spec says 1000 for metadata)."""


def route_not_found(method: str, path: str) -> SandboxError:
    """Express/NestJS's 404 for a path no controller serves."""
    return SandboxError(f"Cannot {method} {path}", code="NOT_FOUND", status=404)


def method_not_allowed(method: str, path: str) -> SandboxError:
    """405 for a known path with a method it does not take."""
    return SandboxError(
        f"Method {method} is not allowed on {path}", code="METHOD_NOT_ALLOWED", status=405
    )


def _result(status: int, key: str, value: Any, **extra: Any) -> RestResult:
    n = len(value) if isinstance(value, list) else (0 if value is None else 1)
    return RestResult(status, {"data": {key: value}, **extra}, root_field=key, n_records=n)


def _is_uuid(value: str) -> bool:
    try:
        UUID(value)
    except ValueError:
        return False
    return True


class RestAPI:
    """The REST front-end over one engine.

    Args:
        engine: The record store (and, through ``engine.registry``, the metadata).
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.registry = engine.registry

    # -- core -----------------------------------------------------------------------------

    def core(
        self,
        method: str,
        parts: list[str],
        query: Mapping[str, str],
        body: Any,
        charge: Callable[[], None],
    ) -> RestResult:
        """Serve ``/rest/...`` (``parts`` are the segments after ``rest``).

        Raises:
            SandboxError: Anything Twenty would refuse, in its words.
        """

        path = "/rest/" + "/".join(parts)
        if method == "PUT":  # an undocumented legacy alias of PATCH
            method = "PATCH"
        if parts[0] == "batch":
            if len(parts) != 2:
                raise route_not_found(method, path)
            if method != "POST":
                raise method_not_allowed(method, path)
            return self._create_many(parts[1], query, body, charge)
        plural = parts[0]
        if len(parts) == 1:
            handlers: dict[str, Callable[[], RestResult]] = {
                "GET": lambda: self._find_many(plural, query, charge),
                "POST": lambda: self._create_one(plural, query, body, charge),
                "PATCH": lambda: self._update_many(plural, query, body, charge),
                "DELETE": lambda: self._delete_many(plural, query, charge),
            }
        elif len(parts) == 2 and (extra := extra_route(self, method, parts[1])) is not None:
            return extra(plural, query, body, charge)
        elif len(parts) == 2 and parts[1] == "restore" and method == "PATCH":
            handlers = {"PATCH": lambda: self._restore_many(plural, query, charge)}
        elif len(parts) == 2:
            record_id = parts[1]
            handlers = {
                "GET": lambda: self._find_one(plural, record_id, query, charge),
                "PATCH": lambda: self._update_one(plural, record_id, query, body, charge),
                "DELETE": lambda: self._delete_one(plural, record_id, query, charge),
            }
        elif len(parts) == 3 and parts[2] == "restore":
            record_id = parts[1]
            handlers = {"PATCH": lambda: self._restore_one(plural, record_id, query, charge)}
        else:
            raise route_not_found(method, path)
        handler = handlers.get(method)
        if handler is None:
            raise method_not_allowed(method, path)
        return handler()

    def _object(self, plural: str) -> ObjectMeta:
        return self.registry.resolve_plural(plural)

    def _find_many(
        self, plural: str, query: Mapping[str, str], charge: Callable[[], None]
    ) -> RestResult:
        obj = self._object(plural)
        limit = parse_limit(
            query.get("limit"),
            default=QUERY_DEFAULT_LIMIT_RECORDS,
            maximum=self.engine.max_records,
        )
        # An empty cursor is no cursor: the query runner tests it for truthiness.
        after = query.get("starting_after") or None
        before = query.get("ending_before") or None
        filter_ = parse_filter(query.get("filter"), obj)
        order_by = parse_order_by(query.get("order_by"), obj)
        depth = parse_depth(query.get("depth"))
        charge()
        backward = before is not None and after is None
        page = self.engine.find_many(
            obj,
            filter=filter_ or None,
            order_by=order_by or None,
            first=None if backward else limit,
            last=limit if backward else None,
            after=after,
            before=before,
        )
        page_info: JSON = {"hasNextPage": (not backward) and page.has_next_page}
        if backward and page.has_previous_page:
            page_info["hasPreviousPage"] = True
        page_info["startCursor"] = page.start_cursor
        page_info["endCursor"] = page.end_cursor
        records = self._with_depth(obj, page.records, depth)
        return _result(
            OK, obj.name_plural, records, pageInfo=page_info, totalCount=page.total_count
        )

    def _find_one(
        self, plural: str, record_id: str, query: Mapping[str, str], charge: Callable[[], None]
    ) -> RestResult:
        obj = self._object(plural)
        depth = parse_depth(query.get("depth"))
        fields = self.fields_param(obj, query)
        if not _is_uuid(record_id):
            # rest-api-core-find-one.integration-spec.ts: "'malformed-uuid' is not a valid UUID"
            raise bad_request(f"'{record_id}' is not a valid UUID", code="INVALID_UUID")
        charge()
        record = self.engine.get(obj, record_id)
        records = project(self._with_depth(obj, [record], depth), fields)
        return _result(OK, obj.name_singular, records[0])

    def _create_one(
        self, plural: str, query: Mapping[str, str], body: Any, charge: Callable[[], None]
    ) -> RestResult:
        obj = self._object(plural)
        depth = parse_depth(query.get("depth"))
        fields = self.fields_param(obj, query)
        data = _object_body(body)
        charge()
        record = self.engine.create_one(obj, data, upsert=query.get("upsert") == "true")
        key = f"create{capitalize(obj.name_singular)}"
        return _result(CREATED, key, project(self._with_depth(obj, [record], depth), fields)[0])

    def _create_many(
        self, plural: str, query: Mapping[str, str], body: Any, charge: Callable[[], None]
    ) -> RestResult:
        obj = self._object(plural)
        depth = parse_depth(query.get("depth"))
        fields = self.fields_param(obj, query)
        if not isinstance(body, list):
            raise bad_request("Body must be an array", code="BAD_REQUEST")
        if not body:
            raise bad_request("Input must not be empty", code="BAD_REQUEST")
        for item in body:
            if not isinstance(item, dict):
                raise bad_request(
                    f"Invalid record {_short(item)}: each item of the body must be an object",
                    code="INVALID_ARGS_DATA",
                )
        charge()
        records = self.engine.create_many(obj, body, upsert=query.get("upsert") == "true")
        key = f"create{capitalize(obj.name_plural)}"
        return _result(CREATED, key, project(self._with_depth(obj, records, depth), fields))

    def _update_one(
        self,
        plural: str,
        record_id: str,
        query: Mapping[str, str],
        body: Any,
        charge: Callable[[], None],
    ) -> RestResult:
        obj = self._object(plural)
        depth = parse_depth(query.get("depth"))
        data = _object_body(body)
        charge()
        record = self.engine.update_one(obj, record_id, data)
        key = f"update{capitalize(obj.name_singular)}"
        return _result(OK, key, self._with_depth(obj, [record], depth)[0])

    def _update_many(
        self, plural: str, query: Mapping[str, str], body: Any, charge: Callable[[], None]
    ) -> RestResult:
        obj = self._object(plural)
        depth = parse_depth(query.get("depth"))
        filter_ = parse_filter(query.get("filter"), obj)
        data = _object_body(body)
        if UPDATE_MANY_REQUIRES_FILTER and not filter_:
            raise bad_request("Filter is required", code="INVALID_QUERY_INPUT")
        charge()
        records = self.engine.update_many(obj, data, filter_)
        key = f"update{capitalize(obj.name_plural)}"
        return _result(OK, key, self._with_depth(obj, records, depth))

    def _delete_one(
        self, plural: str, record_id: str, query: Mapping[str, str], charge: Callable[[], None]
    ) -> RestResult:
        obj = self._object(plural)
        soft = query.get("soft_delete") == "true"
        charge()
        if soft:
            record = self.engine.delete_one(obj, record_id)
            prefix = "delete"
        else:
            record = self.engine.destroy_one(obj, record_id)
            prefix = DELETE_RESPONSE_PREFIX
        key = f"{prefix}{capitalize(obj.name_singular)}"
        return _result(OK, key, {"id": record.get("id", record_id)})

    def _delete_many(
        self, plural: str, query: Mapping[str, str], charge: Callable[[], None]
    ) -> RestResult:
        obj = self._object(plural)
        soft = query.get("soft_delete") == "true"
        filter_ = parse_filter(query.get("filter"), obj)
        if not filter_:
            kind = "delete" if soft else "destroy"
            raise bad_request(
                f"Filters are mandatory for bulk {kind} operations. Please provide at least "
                "one filter to prevent accidental deletion of all records.",
                code="BAD_REQUEST",
            )
        charge()
        if soft:
            records = self.engine.delete_many(obj, filter_)
            prefix = "delete"
        else:
            records = self.engine.destroy_many(obj, filter_)
            prefix = DELETE_RESPONSE_PREFIX
        key = f"{prefix}{capitalize(obj.name_plural)}"
        return _result(OK, key, [{"id": r.get("id")} for r in records])

    def _restore_one(
        self, plural: str, record_id: str, query: Mapping[str, str], charge: Callable[[], None]
    ) -> RestResult:
        obj = self._object(plural)
        depth = parse_depth(query.get("depth"))
        fields = self.fields_param(obj, query)
        charge()
        record = self.engine.restore_one(obj, record_id)
        key = f"restore{capitalize(obj.name_singular)}"
        return _result(OK, key, project(self._with_depth(obj, [record], depth), fields)[0])

    def _restore_many(
        self, plural: str, query: Mapping[str, str], charge: Callable[[], None]
    ) -> RestResult:
        obj = self._object(plural)
        depth = parse_depth(query.get("depth"))
        fields = self.fields_param(obj, query)
        filter_ = parse_filter(query.get("filter"), obj)
        if not filter_:
            raise bad_request("Filter is required", code="INVALID_QUERY_INPUT")
        charge()
        records = self.engine.restore_many(obj, filter_)
        key = f"restore{capitalize(obj.name_plural)}"
        return _result(OK, key, project(self._with_depth(obj, records, depth), fields))

    def fields_param(self, obj: ObjectMeta, query: Mapping[str, str]) -> list[str] | None:
        """The ``fields=`` projection, on profiles that read it (others ignore it)."""
        if not self.engine.profile.rest_fields_param:
            return None
        return parse_fields(query.get("fields"), obj)

    def _with_depth(self, obj: ObjectMeta, records: list[JSON], depth: int) -> list[JSON]:
        """At depth 1, nest each relation: the target record, or the list pointing here."""
        if depth < 1 or not records:
            return records
        relations = [f for f in obj.fields.values() if f.relation is not None and f.is_active]
        for record in records:
            for f in relations:
                record[f.name] = self.engine.related(obj, record, f.name)
        return records

    # -- metadata -------------------------------------------------------------------------

    def metadata(
        self, method: str, parts: list[str], query: Mapping[str, str], body: Any
    ) -> RestResult:
        """Serve ``/rest/metadata/objects[/{id}]`` and ``/rest/metadata/fields[/{id}]``.

        ``parts`` are the segments after ``metadata``.

        Raises:
            SandboxError: Anything Twenty would refuse, in its words.
        """
        path = "/rest/metadata/" + "/".join(parts)
        if method == "PUT":
            method = "PATCH"
        if not parts or parts[0] not in ("objects", "fields") or len(parts) > 2:
            raise route_not_found(method, path)
        kind = parts[0]
        singular = "object" if kind == "objects" else "field"
        if len(parts) == 1:
            if method == "GET":
                return self._metadata_list(kind, query)
            if method == "POST":
                data = _object_body(body)
                created = (
                    self.registry.create_object(data).to_api()
                    if kind == "objects"
                    else self.registry.create_field(data).to_api()
                )
                return _result(CREATED, f"createOne{capitalize(singular)}", created)
            raise method_not_allowed(method, path)
        item_id = parts[1]
        if method == "GET":
            return _result(OK, singular, self._metadata_item(kind, item_id))
        if method == "PATCH":
            data = _object_body(body)
            self._metadata_item(kind, item_id)
            updated = (
                self.registry.update_object(item_id, data).to_api()
                if kind == "objects"
                else self.registry.update_field(item_id, data).to_api()
            )
            return _result(OK, f"updateOne{capitalize(singular)}", updated)
        if method == "DELETE":
            self._metadata_item(kind, item_id)
            deleted = (
                self.registry.delete_object(item_id).to_api()
                if kind == "objects"
                else self.registry.delete_field(item_id).to_api()
            )
            return _result(OK, f"deleteOne{capitalize(singular)}", deleted)
        raise method_not_allowed(method, path)

    def _metadata_items(self, kind: str) -> list[JSON]:
        if kind == "objects":
            return [obj.to_api() for obj in self.registry.objects()]
        return [f.to_api() for f in self.registry.fields()]

    def _metadata_item(self, kind: str, item_id: str) -> JSON:
        if not _is_uuid(item_id):
            raise bad_request(f"Invalid id: {item_id}", code="BAD_REQUEST")
        if kind == "objects":
            obj = self.registry.by_id(item_id)
            if obj is None:
                raise not_found("Object metadata not found")
            return obj.to_api()
        found = self.registry.field_by_id(item_id)
        if found is None:
            raise not_found("Field metadata not found")
        return found.to_api()

    def _metadata_list(self, kind: str, query: Mapping[str, str]) -> RestResult:
        after = query.get("starting_after")
        before = query.get("ending_before")
        if after is not None and before is not None:
            raise bad_request("'starting_after' and 'ending_before' cannot be used together.")
        for cursor in (after, before):
            if cursor is not None and not _is_uuid(cursor):
                raise bad_request(f"Invalid cursor: {cursor}", code="INVALID_CURSOR")
        limit = parse_limit(
            query.get("limit"), default=METADATA_DEFAULT_LIMIT, maximum=METADATA_MAX_LIMIT
        )
        items = self._metadata_items(kind)
        ids = {item["id"] for item in items}
        for cursor in (after, before):
            if cursor is not None and cursor not in ids:
                raise not_found(f"Cursor {cursor} not found")
        # Keyset pagination on id, newest id first, as paginateMetadataQueryBuilder does.
        items.sort(key=lambda item: str(item["id"]), reverse=True)
        if before is not None:
            newer = [item for item in items if str(item["id"]) > before]
            page = newer[-limit:] if limit else []
            has_more = len(newer) > len(page)
            page_info: JSON = {"hasNextPage": True, "hasPreviousPage": has_more}
        else:
            older = [item for item in items if after is None or str(item["id"]) < after]
            page = older[:limit]
            page_info = {
                "hasNextPage": len(older) > len(page),
                "hasPreviousPage": after is not None,
            }
        page_info["startCursor"] = page[0]["id"] if page else None
        page_info["endCursor"] = page[-1]["id"] if page else None
        return _result(OK, kind, page, pageInfo=page_info, totalCount=len(items))


def project(records: list[JSON], fields: list[str] | None) -> list[JSON]:
    """Keep only ``fields`` of each record (all of them when None)."""
    if fields is None:
        return records
    return [{name: record[name] for name in fields if name in record} for record in records]


def _object_body(body: Any) -> JSON:
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise bad_request("Body must be a JSON object", code="BAD_REQUEST")
    return body


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
