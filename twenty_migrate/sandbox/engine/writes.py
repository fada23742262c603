"""Planning of create, upsert and update calls: every check runs before anything is written.

:class:`WritePlanner` validates a whole call (data-arg processor, relation connects, the
record cap, relation targets, unique constraints) and returns the new rows; the engine
then commits them at once, so a failing call writes nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from twenty_migrate.sandbox.engine.fields import (
    Connect,
    ProcessedData,
    default_value,
    empty_composite,
    is_uuid,
    not_nullable_error,
    process_data,
    transform_composite,
    transform_scalar,
)
from twenty_migrate.sandbox.engine.tables import Changes, Row, Table, clone_row
from twenty_migrate.sandbox.errors import SandboxError, bad_request, inspect_js
from twenty_migrate.sandbox.metadata.model import ObjectMeta

if TYPE_CHECKING:
    from twenty_migrate.sandbox.engine.store import Engine

# createdBy of records written with an API key.
DEFAULT_API_ACTOR: dict[str, Any] = {
    "source": "API",
    "workspaceMemberId": None,
    "name": "API key",
    "context": {},
}
# [inferred] position of records created without one: "last" (max + 1, so input order is
# kept) or "first" (min - 1, newest first like the UI).
POSITION_BACKFILL = "last"
# Message for a join column that points to no record (Postgres would raise an FK error).
RELATION_TARGET_MISSING = (
    'Invalid value {value} for field "{field}": no {target} record with this id exists.'
)
DUPLICATE_MESSAGE = "A duplicate entry was detected"
UPSERT_CONFLICT_MESSAGE = (
    "Multiple records found with the same unique field values for {fields}. "
    "Cannot determine which record to update."
)


@dataclass
class Plan:
    """Rows to write and the rows to return (updated first, then inserted)."""

    changes: Changes
    result: list[Row]


def duplicate_error(label: str | None) -> SandboxError:
    """Twenty's DUPLICATE_ENTRY_DETECTED error."""
    friendly = (
        f"This {label} value is already in use. Please check your data and try again."
        if label
        else "This record already exists. Please check your data and try again."
    )
    return SandboxError(
        DUPLICATE_MESSAGE,
        code="DUPLICATE_ENTRY_DETECTED",
        status=400,
        user_friendly_message=friendly,
    )


class WritePlanner:
    """Plans one write call on one object."""

    def __init__(self, engine: Engine, obj: ObjectMeta, now: str) -> None:
        self.engine = engine
        self.obj = obj
        self.now = now
        self.table: Table = engine.table(obj)
        self._next_position: float = self.table.max_position
        if POSITION_BACKFILL == "first":
            rows = self.table.rows.values()
            self._next_position = min((r.get("position") or 0 for r in rows), default=0)

    # ----------------------------------------------------------------- creates
    def plan_create(
        self, data: list[Any], *, upsert: bool, actor: dict[str, Any] | None = None
    ) -> Plan:
        """Plan a createMany (plain insert or upsert)."""
        for item in data:
            record_id = item.get("id") if isinstance(item, dict) else None
            if record_id is not None and not is_uuid(record_id):
                raise bad_request(
                    f'Value "{record_id}" is not a valid UUID', code="INVALID_ARGS_DATA"
                )
        processed = [process_data(self.obj, item) for item in data]
        self._resolve_connects(processed)
        if len(processed) > self.engine.max_records:
            raise bad_request(
                f"Maximum number of records to upsert is {self.engine.max_records}.",
                code="TOO_MANY_RECORDS_TO_UPDATE",
            )
        changed: dict[str, Row] = {}
        updated: list[str] = []
        inserted: list[Row] = []
        for item in processed:
            match = self._match(item) if upsert else None
            if match is not None:
                base = changed.get(match) or self.table.rows[match]
                changed[match] = self._merge(base, item, restore=True)
                if match not in updated:
                    updated.append(match)
                continue
            row = self._new_row(item, actor)
            if row["id"] in self.table.rows or row["id"] in changed:
                raise duplicate_error(None)
            self._check_required(row)
            changed[row["id"]] = row
            inserted.append(row)
        try:
            self._check_relations(changed)
            self._check_unique(changed)
        except SandboxError:
            if upsert and updated and not self.engine.profile.upsert_atomic:
                self._apply_updates_only({i: changed[i] for i in updated})
            raise
        result = [changed[i] for i in updated] + inserted
        return Plan({self.obj.name_singular: dict(changed)}, result)

    def _apply_updates_only(self, updates: dict[str, Row]) -> None:
        """Twenty's non-transactional upsert: the updates land before the insert fails."""
        try:
            self._check_relations(updates)
            self._check_unique(updates)
        except SandboxError:
            return
        self.engine.commit({self.obj.name_singular: dict(updates)})

    def _match(self, item: ProcessedData) -> str | None:
        """The existing record an upsert input matches (id, then each unique group)."""
        values = item.values
        matches: dict[str, list[str]] = {}
        record_id = values.get("id")
        if isinstance(record_id, str) and record_id in self.table.rows:
            matches.setdefault(record_id, []).append("id")
        for group, _getters in self.table.groups:
            value = _input_group_value(values, group)
            if value is None:
                continue
            found = self.table.unique[group].get(value)
            if found is not None:
                matches.setdefault(found, []).append(_group_name(self.obj, group))
        if len(matches) > 1:
            names = [name for names in matches.values() for name in names]
            raise bad_request(
                UPSERT_CONFLICT_MESSAGE.format(fields=", ".join(dict.fromkeys(names))),
                code="UPSERT_MULTIPLE_MATCHING_RECORDS_CONFLICT",
            )
        return next(iter(matches), None)

    def _new_row(self, item: ProcessedData, actor: dict[str, Any] | None) -> Row:
        values = item.values
        row: Row = {}
        for key, f in self.table.keys:
            if f.is_composite:
                composite = empty_composite(f.type)
                composite.update(values.get(key) or {})
                row[key] = composite
            elif key in values:
                row[key] = values[key]
            else:
                row[key] = default_value(f, self.now)
        row["id"] = values.get("id") or str(uuid.uuid4())
        for stamp in ("createdAt", "updatedAt"):
            if stamp in row and values.get(stamp) is None:
                row[stamp] = self.now
        if "position" in row and "position" not in values:
            row["position"] = self._backfill_position()
        base = actor if actor is not None else DEFAULT_API_ACTOR
        for key in ("createdBy", "updatedBy"):
            if key in row:
                merged = {**base, "context": dict(base.get("context") or {})}
                merged.update(values.get(key) or {})
                row[key] = merged
        return row

    def _backfill_position(self) -> float:
        self._next_position += -1 if POSITION_BACKFILL == "first" else 1
        return self._next_position

    def _check_required(self, row: Row) -> None:
        for key, f in self.table.keys:
            if not f.is_nullable and not f.is_composite and row.get(key) is None:
                raise not_nullable_error(key)

    # ----------------------------------------------------------------- updates
    def plan_update(self, rows: list[Row], item: ProcessedData) -> Plan:
        """Plan an update of ``rows`` with the same processed input."""
        self._resolve_connects([item])
        changed: dict[str, Row] = {}
        for row in rows:
            changed[row["id"]] = self._merge(row, item, restore=False)
        self._check_relations(changed)
        self._check_unique(changed)
        return Plan({self.obj.name_singular: dict(changed)}, list(changed.values()))

    def _merge(self, base: Row, item: ProcessedData, *, restore: bool) -> Row:
        new = clone_row(base)
        created_by = self.obj.fields.get("createdBy")
        keep_creator = created_by is not None and not created_by.is_custom
        for key, value in item.values.items():
            if key == "id" or (key == "createdBy" and keep_creator):
                continue
            current = new.get(key)
            f = self.obj.fields.get(key)
            if f is not None and f.is_composite and isinstance(value, dict):
                merged = dict(current) if isinstance(current, dict) else empty_composite(f.type)
                merged.update(value)
                new[key] = merged
            else:
                new[key] = value
        if item.values.get("updatedAt") is None and "updatedAt" in new:
            new["updatedAt"] = self.now
        if "updatedBy" in new:
            actor = clone_row(DEFAULT_API_ACTOR)
            actor.update(item.values.get("updatedBy") or {})
            new["updatedBy"] = actor
        if restore:
            new["deletedAt"] = None
        return new

    # ------------------------------------------------------------------ checks
    def _check_relations(self, changed: dict[str, Row]) -> None:
        registry = self.engine.registry
        for join, target_name in self.table.joins.items():
            target = registry.by_singular(target_name)
            if target is None:
                continue
            target_rows = self.engine.table(target).rows
            same_object = target_name == self.obj.name_singular
            for row in changed.values():
                value = row.get(join)
                if value is None or value in target_rows or (same_object and value in changed):
                    continue
                raise bad_request(
                    RELATION_TARGET_MISSING.format(
                        value=inspect_js(value), field=join, target=target_name
                    ),
                    code="INVALID_ARGS_DATA",
                )

    def _check_unique(self, changed: dict[str, Row]) -> None:
        for group, getters in self.table.groups:
            index = self.table.unique[group]
            claimed: dict[tuple[Any, ...], str] = {}
            for record_id, row in changed.items():
                value = self.table.group_value(getters, row)
                if value is None:
                    continue
                if claimed.get(value, record_id) != record_id:
                    raise duplicate_error(self._group_label(group))
                claimed[value] = record_id
            for value, record_id in claimed.items():
                owner = index.get(value)
                if owner is not None and owner != record_id and owner not in changed:
                    raise duplicate_error(self._group_label(group))

    def _group_label(self, group: tuple[str, ...]) -> str | None:
        f = self.obj.unique_group_field(group)
        return f.label if f is not None else None

    # ---------------------------------------------------------------- connects
    def _resolve_connects(self, items: list[ProcessedData]) -> None:
        shapes: dict[str, set[frozenset[str]]] = {}
        for item in items:
            for connect in item.connects:
                relation = connect.field.relation
                assert relation is not None
                join = relation.join_column or f"{connect.field.name}Id"
                if connect.where is None:
                    item.values[join] = None
                    continue
                shapes.setdefault(connect.field.name, set()).add(frozenset(connect.where))
                if len(shapes[connect.field.name]) > 1:
                    raise bad_request(
                        "Expected the same constraint fields to be used consistently across "
                        f"all operations for {connect.field.name}.",
                        code="INVALID_ARGS_DATA",
                    )
                item.values[join] = self._connect_target(connect)

    def _connect_target(self, connect: Connect) -> str:
        relation = connect.field.relation
        assert relation is not None and connect.where is not None
        name = connect.field.name
        target = self.engine.registry.by_singular(relation.target_object)
        if target is None:
            raise bad_request(f"Expected 1 record to connect to {name}, but found 0.")
        allowed = {"id"} | {f.name for f in target.fields.values() if f.is_unique and f.is_active}
        for key in connect.where:
            if key not in allowed:
                type_name = target.name_singular[:1].upper() + target.name_singular[1:]
                raise bad_request(
                    f'Field "{key}" is not defined by type "{type_name}WhereUniqueInput".',
                    code="INVALID_ARGS_DATA",
                )
        if len(connect.where) > 1:
            raise bad_request(
                f"Too many fields provided for connect field '{name}'. "
                "Only fields from one unique constraint are allowed.",
                code="INVALID_ARGS_DATA",
            )
        key, value = next(iter(connect.where.items()))
        table = self.engine.table(target)
        found: str | None = None
        if key == "id":
            found = value if isinstance(value, str) and value in table.rows else None
        else:
            f = target.fields[key]
            if f.is_composite:
                given = {key: transform_composite(f, key, value)}
            else:
                given = {key: transform_scalar(f, key, value)} if value is not None else {}
            for group, _getters in table.groups:
                group_value = _input_group_value(given, group)
                if group_value is not None:
                    found = table.unique[group].get(group_value)
        row = table.rows.get(found) if found else None
        if row is None or row.get("deletedAt") is not None:
            raise bad_request(
                f"Expected 1 record to connect to {name}, but found 0.", code="INVALID_ARGS_DATA"
            )
        return str(row["id"])


def _input_group_value(values: dict[str, Any], group: tuple[str, ...]) -> tuple[Any, ...] | None:
    """The group's value from input values, when every part is given and not null."""
    parts = []
    for path in group:
        head, _, sub = path.partition(".")
        if head not in values:
            return None
        value = values[head]
        if sub:
            if not isinstance(value, dict) or sub not in value:
                return None
            value = value[sub]
        if value is None:
            return None
        parts.append(value)
    return tuple(parts)


def _group_name(obj: ObjectMeta, group: tuple[str, ...]) -> str:
    f = obj.unique_group_field(group)
    return f.name if f is not None else group[0]
