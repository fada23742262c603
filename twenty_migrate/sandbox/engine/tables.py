"""In-memory table of one object: rows by id, unique-group and join-column indexes."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from twenty_migrate.sandbox.engine.fields import default_value, empty_composite
from twenty_migrate.sandbox.metadata.model import FieldMeta, ObjectMeta
from twenty_migrate.sandbox.metadata.registry import Registry

Row = dict[str, Any]
Changes = dict[str, dict[str, Row | None]]  # object -> id -> new row (None: destroyed)
Getter = Callable[[Row], Any]
_CACHE_SIZE = 16
# Path types whose equality filters may use a unique index (exact string equality).
_INDEXABLE_TYPES = frozenset({"TEXT", "UUID"})


def clone(value: Any) -> Any:
    """A deep copy of a JSON-like value (fast path for records)."""
    if type(value) is dict:
        return {k: clone(v) if type(v) in (dict, list) else v for k, v in value.items()}
    if type(value) is list:
        return [clone(v) if type(v) in (dict, list) else v for v in value]
    return value


def clone_row(row: Row) -> Row:
    """A deep copy of a record."""
    return {k: clone(v) if type(v) in (dict, list) else v for k, v in row.items()}


def path_getter(path: str) -> Getter:
    """A getter for a storage path (``"emails.primaryEmail"`` or ``"companyId"``)."""
    if "." in path:
        head, sub = path.split(".", 1)
        return lambda row: (row.get(head) or {}).get(sub)
    return lambda row: row.get(path)


def storage_keys(obj: ObjectMeta) -> list[tuple[str, FieldMeta]]:
    """(key in the stored dict, field) for every stored field; join columns for relations."""
    keys: list[tuple[str, FieldMeta]] = []
    for f in obj.fields.values():
        if not f.is_active or f.type == "TS_VECTOR":
            continue
        if f.relation is not None:
            if f.relation.join_column:
                keys.append((f.relation.join_column, f))
            continue
        keys.append((f.name, f))
    return keys


class Table:
    """Rows of one object with a hash index per unique group and per join column."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.rows: dict[str, Row] = {}
        self.keys: list[tuple[str, FieldMeta]] = []
        self.groups: list[tuple[tuple[str, ...], list[Getter]]] = []
        self.group_types: dict[tuple[str, ...], str] = {}
        self.unique: dict[tuple[str, ...], dict[tuple[Any, ...], str]] = {}
        self.joins: dict[str, str] = {}  # join column -> target object (nameSingular)
        self.refs: dict[str, dict[str, set[str]]] = {}  # join column -> target id -> row ids
        self.incoming: list[tuple[str, str, str]] = []  # (object, join column, onDelete)
        self.version = 0
        self.max_position: float = 0
        self.schema_changed = False
        self._signature: tuple[Any, ...] | None = None
        self._dirty = False
        self._cache: OrderedDict[str, tuple[list[str], dict[str, int]]] = OrderedDict()

    # ------------------------------------------------------------------ schema
    def sync(self, obj: ObjectMeta, registry: Registry, now: Callable[[], str]) -> None:
        """Adopt the object's current fields; migrate rows and rebuild indexes if needed."""
        keys = storage_keys(obj)
        groups = obj.unique_groups()
        joins = {
            f.relation.join_column: f.relation.target_object
            for f in obj.fields.values()
            if f.is_active and f.relation is not None and f.relation.join_column
        }
        self.incoming = [
            (other.name_singular, f.relation.join_column, f.relation.on_delete)
            for other in registry.objects()
            for f in other.fields.values()
            if f.is_active
            and f.relation is not None
            and f.relation.join_column
            and f.relation.target_object == obj.name_singular
        ]
        signature = (tuple(k for k, _ in keys), tuple(groups), tuple(joins.items()))
        self.schema_changed = signature != self._signature
        if not self.schema_changed and not self._dirty:
            return
        self.keys = keys
        self.joins = joins
        self.groups = [(g, [path_getter(p) for p in g]) for g in groups]
        self.group_types = {g: _path_type(obj, g[0]) for g in groups}
        wanted = {k for k, _ in keys}
        stamp = now() if self.rows else ""
        for row in self.rows.values():
            for key, f in keys:
                if key not in row:
                    row[key] = (
                        empty_composite(f.type) if f.is_composite else default_value(f, stamp)
                    )
            for key in [k for k in row if k not in wanted]:
                del row[key]
        self._signature = signature
        self._dirty = False
        self.rebuild()

    def rebuild(self) -> None:
        """Recompute every index from the rows."""
        self.unique = {g: {} for g, _ in self.groups}
        self.refs = {j: {} for j in self.joins}
        self.max_position = 0
        for row in self.rows.values():
            self._index(row)
        self.touch()

    def load(self, row: Row) -> None:
        """Add a row read from the database (indexes are rebuilt at the next sync)."""
        self.rows[row["id"]] = row
        self._dirty = True

    # ---------------------------------------------------------------- indexes
    def group_value(self, getters: list[Getter], row: Row) -> tuple[Any, ...] | None:
        """The unique-group value of a row; None when a part is null (no constraint)."""
        value = tuple(g(row) for g in getters)
        return None if None in value else value

    def _index(self, row: Row) -> None:
        record_id = row["id"]
        for group, getters in self.groups:
            value = self.group_value(getters, row)
            if value is not None:
                self.unique[group][value] = record_id
        for join in self.joins:
            target = row.get(join)
            if target is not None:
                self.refs[join].setdefault(target, set()).add(record_id)
        position = row.get("position")
        if isinstance(position, (int, float)) and position > self.max_position:
            self.max_position = position

    def _unindex(self, row: Row) -> None:
        record_id = row["id"]
        for group, getters in self.groups:
            value = self.group_value(getters, row)
            if value is not None and self.unique[group].get(value) == record_id:
                del self.unique[group][value]
        for join in self.joins:
            target = row.get(join)
            if target is not None:
                holders = self.refs[join].get(target)
                if holders is not None:
                    holders.discard(record_id)
                    if not holders:
                        del self.refs[join][target]

    def put(self, record_id: str, row: Row | None) -> None:
        """Store (or remove, when ``row`` is None) one row and update the indexes."""
        old = self.rows.get(record_id)
        if old is not None:
            self._unindex(old)
        if row is None:
            self.rows.pop(record_id, None)
        else:
            self.rows[record_id] = row
            self._index(row)
        self.touch()

    def touch(self) -> None:
        """Mark the table changed (drops cached query results)."""
        self.version += 1
        self._cache.clear()

    # ---------------------------------------------------------------- queries
    def cache_get(self, key: str) -> tuple[list[str], dict[str, int]] | None:
        """Sorted ids of a previous query on the unchanged table."""
        found = self._cache.get(key)
        if found is not None:
            self._cache.move_to_end(key)
        return found

    def cache_put(self, key: str, ids: list[str]) -> tuple[list[str], dict[str, int]]:
        """Remember the sorted ids of a query."""
        entry = (ids, {record_id: i for i, record_id in enumerate(ids)})
        self._cache[key] = entry
        while len(self._cache) > _CACHE_SIZE:
            self._cache.popitem(last=False)
        return entry

    def candidates(self, obj: ObjectMeta, flt: Any) -> list[Row] | None:
        """Rows an index narrows ``flt`` to (a superset of the matches), or None."""
        ids = self._candidate_ids(obj, flt)
        if ids is None:
            return None
        return [self.rows[i] for i in dict.fromkeys(ids) if i in self.rows]

    def _candidate_ids(self, obj: ObjectMeta, flt: Any) -> list[str] | None:
        if not isinstance(flt, dict):
            return None
        best: list[str] | None = None
        for key, value in flt.items():
            found: list[str] | None = None
            if key == "and" and isinstance(value, list):
                for item in value:
                    sub = self._candidate_ids(obj, item)
                    if sub is not None and (found is None or len(sub) < len(found)):
                        found = sub
            elif isinstance(value, dict):
                found = self._lookup(obj, key, value)
            if found is not None and (best is None or len(found) < len(best)):
                best = found
        return best

    def _lookup(self, obj: ObjectMeta, key: str, ops: dict[str, Any]) -> list[str] | None:
        values = _eq_values(ops)
        if key == "id":
            return [v for v in values if isinstance(v, str)] if values is not None else None
        if key in self.joins and values is not None:
            refs = self.refs.get(key, {})
            return [i for v in values if isinstance(v, str) for i in refs.get(v, ())]
        f = obj.fields.get(key)
        if f is not None and f.is_composite and len(ops) == 1:
            sub, sub_ops = next(iter(ops.items()))
            if isinstance(sub_ops, dict):
                return self._unique_lookup((f"{key}.{sub}",), _eq_values(sub_ops))
            return None
        return self._unique_lookup((key,), values)

    def _unique_lookup(self, group: tuple[str, ...], values: list[Any] | None) -> list[str] | None:
        index = self.unique.get(group)
        if index is None or values is None or self.group_types.get(group) not in _INDEXABLE_TYPES:
            return None
        return [index[(v,)] for v in values if isinstance(v, str) and (v,) in index]


def _eq_values(ops: dict[str, Any]) -> list[Any] | None:
    if "eq" in ops:
        return [ops["eq"]]
    if "in" in ops and isinstance(ops["in"], list):
        return list(ops["in"])
    return None


def _path_type(obj: ObjectMeta, path: str) -> str:
    head, _, sub = path.partition(".")
    f = obj.fields.get(head)
    if f is None:
        return "UUID"  # a join column
    if not sub:
        return f.type
    for prop in f.composite_properties:
        if prop.name == sub:
            return prop.type
    return f.type
