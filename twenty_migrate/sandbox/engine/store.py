"""The sandbox engine: records, unique indexes, upsert, filters, ordering, cursors.

:class:`Engine` keeps every object's records in memory (per-id dicts plus a hash index
per unique group and per join column), writes through to SQLite when given a ``db_path``,
and serialises every public call with one lock (shared with the :class:`Registry`).
Records are plain JSON dicts as Twenty returns them at depth 0; callers get deep copies.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from twenty_migrate.sandbox.engine.fields import format_datetime, is_uuid, process_data
from twenty_migrate.sandbox.engine.filters import (
    compare_keys,
    compile_filter,
    cursor_key,
    decode_cursor,
    encode_cursor,
    mentions_deleted_at,
    order_spec,
    sort_key_values,
    sort_rows,
)
from twenty_migrate.sandbox.engine.paging import Page, _check_filter_ids, _check_page_args
from twenty_migrate.sandbox.engine.persistence import Persistence
from twenty_migrate.sandbox.engine.quotas import Quotas, check_destroy_cap
from twenty_migrate.sandbox.engine.tables import Changes, Row, Table, clone_row
from twenty_migrate.sandbox.engine.writes import WritePlanner
from twenty_migrate.sandbox.errors import SandboxError, bad_request, inspect_js, not_found
from twenty_migrate.sandbox.metadata.model import (
    SEEDED_WORKSPACE_MEMBERS,
    ObjectMeta,
    member_records,
)
from twenty_migrate.sandbox.metadata.registry import Registry
from twenty_migrate.sandbox.metadata.standard_objects import standard_registry

# QUERY_MAX_RECORDS_FROM_RELATION: records returned by a nested one-to-many relation.
RELATION_MAX_RECORDS = 60
# GraphQL find-many serves `first`/`last` as asked, neither capped at QUERY_MAX_RECORDS
# nor refused: `limit = args.first ?? args.last ?? QUERY_MAX_RECORDS` is the SQL limit
# (common-find-many-query-runner.service.ts, and the older graphql-query-find-many-
# resolver.service.ts alike). REST `limit` is capped by its own parser (rest_params.py).
# [inferred] Twenty paginates backwards only when `before` is given (`last` alone reads
# from the start, like `first`).
BACKWARD_ONLY_WITH_BEFORE = True
# Find-many results kept per object (sorted ids), reused while the object is unchanged.
_QUERY_CACHE_SIZE = 16

ObjectRef = ObjectMeta | str


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class Engine:
    """Twenty's record store for one workspace, in memory with optional SQLite persistence.

    Args:
        registry: workspace metadata; the standard objects by default. Its ``profile`` (the
            Twenty release emulated) sets ``QUERY_MAX_RECORDS`` and the other write rules.
        db_path: SQLite file for write-through persistence (loaded at start).
        clock: returns the current time (UTC) for timestamps.
        members: The workspace members to seed an empty workspace with (records in
            Twenty's shape: ``name {firstName lastName}``, ``userEmail``, optional ``id`` and
            ``userId``); None seeds :data:`~.metadata.SEEDED_WORKSPACE_MEMBERS`.

    Example:
        >>> engine = Engine()
        >>> person = engine.create_one("people", {"emails": {"primaryEmail": "a@b.com"}})
        >>> engine.find_many("people", filter={"id": {"eq": person["id"]}}).total_count
        1
    """

    def __init__(
        self,
        registry: Registry | None = None,
        *,
        db_path: str | os.PathLike[str] | None = None,
        clock: Callable[[], datetime] | None = None,
        members: Sequence[Mapping[str, Any]] | None = None,
    ) -> None:
        self.registry = registry if registry is not None else standard_registry()
        self._members = SEEDED_WORKSPACE_MEMBERS if members is None else member_records(members)
        self.profile = self.registry.profile
        self.max_records = self.profile.query_max_records
        self.quotas = Quotas(self.profile)  # WORKSPACE_RECORD_LIMIT and the allowance switch
        self._clock = clock or _utc_now
        self._lock = self.registry.lock
        self._tables: dict[str, Table] = {}
        self._synced_version = -1
        self._db = Persistence(db_path) if db_path is not None else None
        with self._lock:
            if self._db is not None:
                for kind, payload in self._db.metadata_changes():
                    # A registry handed in by the caller may hold these changes already.
                    with contextlib.suppress(SandboxError):
                        self.registry.replay(kind, payload)
            self._sync()
            if self._db is not None:
                for name, record in self._db.records():
                    table = self._tables.get(name)
                    if table is not None:
                        table.load(record)
                self._sync(force=True)
            self._seed()
            self.registry.listeners.append(self._on_metadata_change)

    # ------------------------------------------------------------------ internals
    def _now(self) -> str:
        return format_datetime(self._clock())

    def _sync(self, *, force: bool = False) -> None:
        """Bring tables in line with the registry (new fields, unique groups, objects)."""
        if not force and self._synced_version == self.registry.version:
            return
        names = set()
        for obj in self.registry.objects():
            names.add(obj.name_singular)
            table = self._tables.get(obj.name_singular)
            if table is None:
                table = self._tables[obj.name_singular] = Table(obj.name_singular)
            table.sync(obj, self.registry, self._now)
        for name in set(self._tables) - names:
            del self._tables[name]
            if self._db is not None:
                self._db.drop_object(name)
        self._synced_version = self.registry.version

    def _on_metadata_change(self, kind: str, payload: dict[str, Any]) -> None:
        if self._db is not None:
            self._db.add_metadata_change(kind, payload)
        self._sync()
        if self._db is not None and kind in ("create_field", "update_field", "delete_field"):
            # Persist the new column values (defaults) of existing rows.
            self._persist(
                {
                    name: dict.fromkeys(t.rows)
                    for name, t in self._tables.items()
                    if t.rows and t.schema_changed
                }
            )

    def _persist(self, ids: dict[str, dict[str, None]]) -> None:
        if self._db is None:
            return
        changes: Changes = {}
        for name, record_ids in ids.items():
            rows = self._tables[name].rows
            changes[name] = {rid: rows.get(rid) for rid in record_ids}
        self._db.write(changes)

    def _seed(self) -> None:
        table = self._tables.get("workspaceMember")
        obj = self.registry.by_singular("workspaceMember")
        if table is None or obj is None or table.rows or not self._members:
            return
        planner = WritePlanner(self, obj, self._now())
        actor: dict[str, Any] = {
            "source": "MANUAL",
            "workspaceMemberId": None,
            "name": "System",
            "context": {},
        }
        changes = planner.plan_create(
            [dict(member) for member in self._members], upsert=False, actor=actor
        )
        self.commit(changes.changes)

    def table(self, obj: ObjectMeta) -> Table:
        """The table of an object (synchronised with the registry)."""
        self._sync()
        table = self._tables.get(obj.name_singular)
        if table is None:
            raise bad_request(f"object '{obj.name_plural}' not found. eg: companies")
        return table

    def resolve(self, obj: ObjectRef) -> ObjectMeta:
        """The object for an ObjectMeta or a singular/plural name."""
        if isinstance(obj, ObjectMeta):
            found = self.registry.by_singular(obj.name_singular)
            return found if found is not None else obj
        return self.registry.resolve(obj)

    def commit(self, changes: Changes) -> None:
        """Apply planned changes to the tables and the database (one transaction)."""
        if self._db is not None:
            self._db.write(changes)
        for name, records in changes.items():
            table = self._tables[name]
            for record_id, row in records.items():
                table.put(record_id, row)

    # ---------------------------------------------------------------------- writes
    def create_many(
        self, plural_or_obj: ObjectRef, data: list[dict[str, Any]], *, upsert: bool = False
    ) -> list[dict[str, Any]]:
        """Create (or upsert) records; all-or-nothing; updated records first when upserting.

        Raises:
            SandboxError: validation, too many records, duplicates, upsert conflicts,
                relation targets that do not exist.
        """
        with self._lock:
            obj = self.resolve(plural_or_obj)
            if not isinstance(data, list):
                raise bad_request("Data must be an array", code="INVALID_ARGS_DATA")
            planner = WritePlanner(self, obj, self._now())
            plan = planner.plan_create(data, upsert=upsert)
            self.quotas.check_new_records(self, obj, plan.changes)
            self.commit(plan.changes)
            return [clone_row(row) for row in plan.result]

    def create_one(
        self, obj: ObjectRef, data: dict[str, Any], *, upsert: bool = False
    ) -> dict[str, Any]:
        """Create (or upsert) one record."""
        with self._lock:
            return self.create_many(obj, [data], upsert=upsert)[0]

    def update_one(self, obj: ObjectRef, record_id: str, data: dict[str, Any]) -> dict[str, Any]:
        """Update one visible record; ``not_found`` when missing or soft-deleted."""
        with self._lock:
            meta = self.resolve(obj)
            row = self._visible(meta, record_id)
            planner = WritePlanner(self, meta, self._now())
            processed = process_data(meta, data, update=True)
            plan = planner.plan_update([row], processed)
            self.commit(plan.changes)
            return clone_row(plan.result[0])

    def update_many(
        self, obj: ObjectRef, data: dict[str, Any], filter: dict[str, Any] | None
    ) -> list[dict[str, Any]]:
        """Update every record matching ``filter`` with the same data."""
        with self._lock:
            meta = self.resolve(obj)
            processed = process_data(meta, data, update=True)
            rows = self._matching(meta, filter)
            plan = WritePlanner(self, meta, self._now()).plan_update(rows, processed)
            self.commit(plan.changes)
            return [clone_row(row) for row in plan.result]

    def delete_one(self, obj: ObjectRef, record_id: str) -> dict[str, Any]:
        """Soft-delete one record (sets deletedAt; CASCADE relations follow)."""
        with self._lock:
            meta = self.resolve(obj)
            row = self._visible(meta, record_id)
            return self._soft_delete(meta, [row])[0]

    def delete_many(self, obj: ObjectRef, filter: dict[str, Any] | None) -> list[dict[str, Any]]:
        """Soft-delete every visible record matching ``filter``."""
        with self._lock:
            meta = self.resolve(obj)
            rows = [r for r in self._matching(meta, filter) if r.get("deletedAt") is None]
            return self._soft_delete(meta, rows)

    def destroy_one(self, obj: ObjectRef, record_id: str) -> dict[str, Any]:
        """Hard-delete one record, soft-deleted or not."""
        with self._lock:
            meta = self.resolve(obj)
            self._check_id(record_id)
            row = self.table(meta).rows.get(record_id)
            if row is None:
                raise not_found()
            return self._destroy(meta, [row])[0]

    def destroy_many(self, obj: ObjectRef, filter: dict[str, Any] | None) -> list[dict[str, Any]]:
        """Hard-delete every record matching ``filter`` (soft-deleted ones included)."""
        with self._lock:
            meta = self.resolve(obj)
            rows = self._matching(meta, filter, with_deleted=True)
            check_destroy_cap(self.profile, len(rows))
            return self._destroy(meta, rows)

    def restore_one(self, obj: ObjectRef, record_id: str) -> dict[str, Any]:
        """Restore one soft-deleted record."""
        with self._lock:
            meta = self.resolve(obj)
            self._check_id(record_id)
            row = self.table(meta).rows.get(record_id)
            if row is None:
                raise not_found()
            return self._restore(meta, [row])[0]

    def restore_many(self, obj: ObjectRef, filter: dict[str, Any] | None) -> list[dict[str, Any]]:
        """Restore every soft-deleted record matching ``filter``."""
        with self._lock:
            meta = self.resolve(obj)
            rows = self._matching(meta, filter, with_deleted=True)
            return self._restore(meta, [r for r in rows if r.get("deletedAt") is not None])

    def _check_id(self, record_id: Any) -> None:
        if not is_uuid(record_id):
            raise bad_request(
                f'Invalid UUID value {inspect_js(record_id)} for field "id"', code="INVALID_UUID"
            )

    def _visible(self, meta: ObjectMeta, record_id: str) -> Row:
        self._check_id(record_id)
        row = self.table(meta).rows.get(record_id)
        if row is None or row.get("deletedAt") is not None:
            raise not_found()
        return row

    def _matching(
        self, meta: ObjectMeta, flt: dict[str, Any] | None, *, with_deleted: bool = False
    ) -> list[Row]:
        if flt is None:
            raise bad_request("Filter is required", code="INVALID_QUERY_INPUT")
        _check_filter_ids(flt)
        return self._filtered(meta, flt, with_deleted=with_deleted)

    def _soft_delete(self, meta: ObjectMeta, rows: list[Row]) -> list[dict[str, Any]]:
        now = self._now()
        changes: Changes = {}
        result: list[Row] = []
        pending: list[tuple[ObjectMeta, list[Row]]] = [(meta, rows)]
        while pending:
            current, batch = pending.pop()
            bucket = changes.setdefault(current.name_singular, {})
            table = self.table(current)
            for row in batch:
                if row["id"] in bucket:
                    continue
                new = clone_row(row)
                new["deletedAt"] = now
                bucket[row["id"]] = new
                if current is meta:
                    result.append(new)
                for other, join, on_delete in table.incoming:
                    if on_delete != "CASCADE":
                        continue
                    other_meta = self.registry.by_singular(other)
                    if other_meta is None:
                        continue
                    other_table = self.table(other_meta)
                    ids = other_table.refs.get(join, {}).get(row["id"], set())
                    live = [
                        other_table.rows[i]
                        for i in ids
                        if other_table.rows[i].get("deletedAt") is None
                    ]
                    pending.append((other_meta, live))
        self.commit(changes)
        return [clone_row(row) for row in result]

    def _destroy(self, meta: ObjectMeta, rows: list[Row]) -> list[dict[str, Any]]:
        changes: Changes = {}
        pending: list[tuple[ObjectMeta, list[Row]]] = [(meta, rows)]
        result = [clone_row(row) for row in rows]
        while pending:
            current, batch = pending.pop()
            table = self.table(current)
            bucket = changes.setdefault(current.name_singular, {})
            for row in batch:
                if row["id"] in bucket and bucket[row["id"]] is None:
                    continue
                bucket[row["id"]] = None
                for other, join, on_delete in table.incoming:
                    other_meta = self.registry.by_singular(other)
                    if other_meta is None:
                        continue
                    other_table = self.table(other_meta)
                    ids = list(other_table.refs.get(join, {}).get(row["id"], set()))
                    if on_delete == "CASCADE":
                        pending.append((other_meta, [other_table.rows[i] for i in ids]))
                        continue
                    other_bucket = changes.setdefault(other, {})
                    for i in ids:
                        if other_bucket.get(i, 0) is None:
                            continue
                        current_row = other_bucket.get(i) or other_table.rows[i]
                        updated = clone_row(current_row)
                        updated[join] = None
                        other_bucket[i] = updated
        self.commit(changes)
        return result

    def _restore(self, meta: ObjectMeta, rows: list[Row]) -> list[dict[str, Any]]:
        changes: Changes = {meta.name_singular: {}}
        for row in rows:
            new = clone_row(row)
            new["deletedAt"] = None
            changes[meta.name_singular][row["id"]] = new
        self.commit(changes)
        return [clone_row(row) for row in changes[meta.name_singular].values() if row is not None]

    # ----------------------------------------------------------------------- reads
    def _filtered(
        self, meta: ObjectMeta, flt: dict[str, Any] | None, *, with_deleted: bool = False
    ) -> list[Row]:
        table = self.table(meta)
        show_deleted = with_deleted or mentions_deleted_at(flt)
        predicate = compile_filter(meta, flt)
        candidates = table.candidates(meta, flt)
        source = table.rows.values() if candidates is None else candidates
        return [
            row
            for row in source
            if (show_deleted or row.get("deletedAt") is None) and predicate(row)
        ]

    def find_many(
        self,
        obj: ObjectRef,
        *,
        filter: dict[str, Any] | None = None,
        order_by: list[dict[str, Any]] | None = None,
        first: int | None = None,
        last: int | None = None,
        after: str | None = None,
        before: str | None = None,
    ) -> Page:
        """One page of records, as Twenty's find-many runner returns it.

        Raises:
            SandboxError: ARGS_CONFLICT for incompatible arguments, negative sizes,
                invalid cursors, unknown fields or operators.
        """
        with self._lock:
            meta = self.resolve(obj)
            _check_page_args(first, last, after, before)
            limit = first if first is not None else last if last is not None else self.max_records
            spec = order_spec(meta, order_by)
            table = self.table(meta)
            cache_key = json.dumps([filter, spec], sort_keys=True, default=str)
            cached = table.cache_get(cache_key)
            if cached is None:
                rows = sort_rows(self._filtered(meta, filter), spec)
                cached = table.cache_put(cache_key, [row["id"] for row in rows])
            ids, positions = cached
            start, end = 0, len(ids)
            if after is not None:
                start = self._cursor_index(table, ids, positions, spec, after, after=True)
            if before is not None:
                end = self._cursor_index(table, ids, positions, spec, before, after=False)
            window = ids[start:end] if start < end else []
            backward = before is not None or (last is not None and not BACKWARD_ONLY_WITH_BEFORE)
            if backward:
                page_ids = window[len(window) - limit :] if limit else []
                has_next, has_previous = False, len(window) > limit
            else:
                page_ids = window[:limit]
                has_next, has_previous = len(window) > limit, False
            records = [clone_row(table.rows[i]) for i in page_ids]
            cursors = [encode_cursor(row, spec) for row in records]
            return Page(
                records=records,
                cursors=cursors,
                has_next_page=has_next,
                has_previous_page=has_previous,
                start_cursor=cursors[0] if cursors else None,
                end_cursor=cursors[-1] if cursors else None,
                total_count=len(ids),
            )

    def _cursor_index(
        self,
        table: Table,
        ids: list[str],
        positions: dict[str, int],
        spec: Any,
        cursor: str,
        *,
        after: bool,
    ) -> int:
        payload = decode_cursor(cursor)
        index = positions.get(payload["id"])
        if index is not None:
            return index + 1 if after else index
        # The cursor's record left the result: place it by its order values.
        key = cursor_key(payload, spec)
        for i, record_id in enumerate(ids):
            cmp = compare_keys(sort_key_values(table.rows[record_id], spec), key, spec)
            if cmp > 0 or (cmp == 0 and not after):
                return i
        return len(ids)

    def find_one(self, obj: ObjectRef, filter: dict[str, Any]) -> dict[str, Any]:
        """The first record matching ``filter``; ``not_found`` otherwise."""
        with self._lock:
            page = self.find_many(obj, filter=filter, first=1)
            if not page.records:
                raise not_found()
            return page.records[0]

    def get(self, obj: ObjectRef, record_id: str, *, with_deleted: bool = False) -> dict[str, Any]:
        """The record with this id; ``not_found`` when missing (or soft-deleted)."""
        with self._lock:
            meta = self.resolve(obj)
            row = self.table(meta).rows.get(record_id) if isinstance(record_id, str) else None
            if row is None or (row.get("deletedAt") is not None and not with_deleted):
                raise not_found()
            return clone_row(row)

    def related(
        self, obj: ObjectRef, record: dict[str, Any], field_name: str
    ) -> dict[str, Any] | None | list[dict[str, Any]]:
        """The target of a MANY_TO_ONE field, or the records of a ONE_TO_MANY field."""
        with self._lock:
            meta = self.resolve(obj)
            f = meta.field(field_name)
            if f is None or f.relation is None:
                raise bad_request(
                    f'Object {meta.name_singular} doesn\'t have any "{field_name}" relation.',
                    code="INVALID_QUERY_INPUT",
                )
            target = self.registry.by_singular(f.relation.target_object)
            if target is None:
                return None if f.is_many_to_one else []
            target_table = self.table(target)
            if f.is_many_to_one:
                join = f.relation.join_column or f"{field_name}Id"
                row = target_table.rows.get(record.get(join) or "")
                return clone_row(row) if row is not None and row.get("deletedAt") is None else None
            other = target.field(f.relation.target_field)
            if other is None or other.relation is None or other.relation.join_column is None:
                return []
            ids = target_table.refs.get(other.relation.join_column, {}).get(record.get("id", ""))
            rows = [target_table.rows[i] for i in ids or ()]
            rows = [r for r in rows if r.get("deletedAt") is None]
            rows.sort(key=lambda r: (r.get("position") or 0, r["id"]))
            return [clone_row(r) for r in rows[:RELATION_MAX_RECORDS]]

    def count(self, obj: ObjectRef, *, with_deleted: bool = False) -> int:
        """Number of records (soft-deleted ones only when asked)."""
        with self._lock:
            rows = self.table(self.resolve(obj)).rows.values()
            return sum(1 for r in rows if with_deleted or r.get("deletedAt") is None)

    def all_records(self, obj: ObjectRef, *, with_deleted: bool = False) -> list[dict[str, Any]]:
        """Every record of an object (for tests and benchmarks)."""
        with self._lock:
            rows = self.table(self.resolve(obj)).rows.values()
            return [clone_row(r) for r in rows if with_deleted or r.get("deletedAt") is None]

    def close(self) -> None:
        """Close the database (if any); the engine must not be used afterwards."""
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
            if self._on_metadata_change in self.registry.listeners:
                self.registry.listeners.remove(self._on_metadata_change)
