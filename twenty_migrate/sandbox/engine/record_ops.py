"""Record operations beyond create/read/update/delete: find duplicates, merge, group by.

Engine-level work shared by REST (``POST /rest/{plural}/duplicates``,
``PATCH /rest/{plural}/merge``, ``GET /rest/{plural}/groupBy``) and GraphQL. Sources in
twentyhq/twenty:

* duplicates: the common find-duplicates query runner with ``buildDuplicateConditions``
  (an object's ``duplicateCriteria`` such as ``[["name"], ["domainNamePrimaryLinkUrl"]]``;
  a criterion counts only when every one of its values is present, and strings shorter
  than ``minLengthOfStringForDuplicateCheck`` are left out); messages from
  ``rest-api-core-find-duplicates.integration-spec.ts``;
* merge: ``common-merge-many-query-runner.service.ts`` and
  ``rest-api-core-merge.integration-spec.ts``: the record at ``conflictPriorityIndex`` is
  kept, its empty fields are filled from the others (then ``data`` overrides), records
  pointing at the others are moved to it; absorbed people are soft-deleted after their
  emails are released (the unique index covers soft-deleted rows), other objects' records
  are destroyed; ``dryRun`` returns the merged preview under a fresh id and writes nothing;
* group by: ``rest-api-core-group-by.integration-spec.ts``: a JSON array of groups, each
  with ``groupByDimensionValues``, ``totalCount``, the requested aggregates and (with
  ``include_records_sample``) ``records``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from twenty_migrate.sandbox.errors import SandboxError, bad_request, not_found
from twenty_migrate.sandbox.metadata.model import COMPOSITE_TYPES, FieldMeta, ObjectMeta

if TYPE_CHECKING:
    from twenty_migrate.sandbox.engine.store import Engine

JSON = dict[str, Any]

MIN_LENGTH_OF_STRING_FOR_DUPLICATE_CHECK = 3
"""``settings.minLengthOfStringForDuplicateCheck`` [uncertain value]."""

MUTATION_MAX_MERGE_RECORDS = 9
"""``MUTATION_MAX_MERGE_RECORDS`` from twenty-shared/constants [uncertain value]."""

GROUP_BY_DEFAULT_LIMIT = 50
"""[uncertain] Groups answered when no ``limit`` is given."""

GROUP_BY_ERROR = (
    "Invalid group_by query parameter - should be a valid array of objects - ex: "
    '[{"firstField": true}, {"secondField": {"subField": true}}, '
    '{"dateField": {"granularity": \'DAY\'}}]'
)
"""``parse-group-by-rest-request.util.ts``."""

_NOT_MERGED = frozenset(
    {"id", "createdAt", "updatedAt", "deletedAt", "position", "createdBy", "searchVector"}
)
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
_AGGREGATE_OPS = ("min", "max", "sum", "avg")


# -- duplicates -----------------------------------------------------------------------------


def _flat_path(obj: ObjectMeta, flat: str) -> list[str] | None:
    """``nameFirstName`` -> ``["name", "firstName"]``; ``name`` -> ``["name"]``."""
    field = obj.field(flat)
    if field is not None:
        return [flat]
    for f in obj.fields.values():
        if f.is_composite and flat.startswith(f.name):
            rest = flat[len(f.name) :]
            for prop in COMPOSITE_TYPES[f.type]:
                if rest == prop.name[:1].upper() + prop.name[1:]:
                    return [f.name, prop.name]
    return None


def _value_at(record: JSON, path: list[str]) -> Any:
    value: Any = record
    for part in path:
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _nest(path: list[str], leaf: Any) -> JSON:
    result: Any = leaf
    for part in reversed(path):
        result = {part: result}
    return dict(result)


def duplicate_filter(obj: ObjectMeta, record: JSON, exclude_id: str | None) -> JSON | None:
    """The filter finding the duplicates of ``record``, or None when no criterion applies."""
    conditions: list[JSON] = []
    for criterion in obj.duplicate_criteria or []:
        parts: list[JSON] = []
        for flat in criterion:
            path = _flat_path(obj, flat)
            value = None if path is None else _value_at(record, path)
            if value is None or value == "":
                break
            if isinstance(value, str) and len(value) < MIN_LENGTH_OF_STRING_FOR_DUPLICATE_CHECK:
                break
            assert path is not None
            parts.append(_nest(path, {"eq": value}))
        else:
            if parts:
                conditions.append({"and": parts})
    if not conditions:
        return None
    flt: JSON = {"or": conditions}
    if exclude_id is not None:
        flt = {"and": [flt, {"id": {"neq": exclude_id}}]}
    return flt


def find_duplicates(
    engine: Engine, obj: ObjectMeta, *, data: Any = None, ids: Any = None
) -> list[list[JSON]]:
    """For each record given (by ``data`` or by ``ids``), the records duplicating it.

    Raises:
        SandboxError: 400 with Twenty's words for bad arguments; 404 for an unknown id.
    """
    if data is not None and ids is not None:
        raise bad_request('You cannot provide both "data" and "ids" arguments', code="BAD_REQUEST")
    if ids is None and not data:
        raise bad_request(
            'The "data" condition can not be empty when "ids" input not provided',
            code="BAD_REQUEST",
        )
    sources: list[tuple[JSON, str | None]]
    if ids is not None:
        if not isinstance(ids, list):
            raise bad_request('"ids" must be an array of record ids', code="BAD_REQUEST")
        sources = [(engine.get(obj, str(record_id)), str(record_id)) for record_id in ids]
    else:
        if not isinstance(data, list) or not all(isinstance(d, dict) for d in data):
            raise bad_request('"data" must be an array of objects', code="BAD_REQUEST")
        sources = [(item, None) for item in data]
    results: list[list[JSON]] = []
    for record, own_id in sources:
        flt = duplicate_filter(obj, record, own_id)
        if flt is None:
            results.append([])
            continue
        page = engine.find_many(obj, filter=flt, first=engine.max_records)
        results.append(page.records)
    return results


# -- merge ----------------------------------------------------------------------------------


def _is_empty(value: Any) -> bool:
    if value is None or value == "" or value == [] or value == {}:
        return True
    if isinstance(value, dict):
        return all(_is_empty(v) for k, v in value.items() if k not in ("source", "context"))
    return False


def _mergeable(obj: ObjectMeta) -> list[FieldMeta]:
    return [
        f
        for f in obj.fields.values()
        if f.is_active
        and not f.is_system
        and not f.is_read_only
        and f.name not in _NOT_MERGED
        and f.relation is None
        and f.type not in ("ACTOR", "TS_VECTOR")
    ]


def merge_records(
    engine: Engine,
    obj: ObjectMeta,
    ids: Any,
    priority_index: Any,
    *,
    dry_run: bool,
    data: Any = None,
) -> JSON:
    """Merge the records ``ids`` into the one at ``priority_index``.

    Raises:
        SandboxError: 400 for bad arguments, 404 for an unknown record.
    """
    if not isinstance(ids, list) or len(ids) < 2:
        raise bad_request("At least 2 record IDs are required for merge", code="BAD_REQUEST")
    if len(ids) > MUTATION_MAX_MERGE_RECORDS:
        raise bad_request(
            f"Maximum {MUTATION_MAX_MERGE_RECORDS} records can be merged at once",
            code="BAD_REQUEST",
        )
    if len(set(map(str, ids))) != len(ids):
        raise bad_request("Record IDs must be unique for merge", code="BAD_REQUEST")
    if (
        isinstance(priority_index, bool)
        or not isinstance(priority_index, int)
        or not 0 <= priority_index < len(ids)
    ):
        raise bad_request(
            f"Invalid conflict priority index: {priority_index!r}. Must be between 0 and "
            f"{len(ids) - 1}",
            code="BAD_REQUEST",
        )
    if data is not None and not isinstance(data, dict):
        raise bad_request('"data" must be an object', code="BAD_REQUEST")
    try:
        records = [engine.get(obj, str(record_id)) for record_id in ids]
    except SandboxError as error:
        if error.status != 404:
            raise
        raise not_found("One or more records not found") from None
    keep = records[priority_index]
    others = [r for i, r in enumerate(records) if i != priority_index]
    changes: JSON = {}
    names = [f.name for f in _mergeable(obj)] + list(obj.join_columns())
    for name in names:
        if not _is_empty(keep.get(name)):
            continue
        for other in others:
            if not _is_empty(other.get(name)):
                changes[name] = other[name]
                break
    changes.update(data or {})
    if dry_run:
        return {**keep, **changes, "id": str(uuid.uuid4())}
    other_ids = [str(r["id"]) for r in others]
    for f in obj.fields.values():
        relation = f.relation
        if relation is None or not f.is_one_to_many or not f.is_active:
            continue
        target = engine.registry.by_singular(relation.target_object)
        target_field = None if target is None else target.field(relation.target_field)
        join = (
            None
            if target_field is None or target_field.relation is None
            else (target_field.relation.join_column)
        )
        if target is None or join is None:
            continue
        pointing = engine.find_many(target, filter={join: {"in": other_ids}}).total_count
        if pointing:
            engine.update_many(target, {join: keep["id"]}, {join: {"in": other_ids}})
    absorbed = {"id": {"in": other_ids}}
    if obj.name_singular == "person":
        released: JSON = {"emails": {"primaryEmail": None, "additionalEmails": []}}
        engine.update_many(obj, released, absorbed)
        engine.delete_many(obj, absorbed)
    else:
        engine.destroy_many(obj, absorbed)
    if changes:
        return engine.update_one(obj, str(keep["id"]), changes)
    return engine.get(obj, str(keep["id"]))


# -- group by -------------------------------------------------------------------------------


def _dimension(record: JSON, spec: JSON) -> Any:
    """One group-by dimension value of ``record`` (``{"stage": true}``,
    ``{"name": {"firstName": true}}``, ``{"closeDate": {"granularity": "DAY"}}``)."""
    ((name, how),) = spec.items()
    value = record.get(name)
    if isinstance(how, dict) and "granularity" in how:
        return _date_bucket(value, str(how["granularity"]))
    if isinstance(how, dict):
        ((sub, _),) = how.items()
        return value.get(sub) if isinstance(value, dict) else None
    return value


def _date_bucket(value: Any, granularity: str) -> Any:
    if not isinstance(value, str) or not value:
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    buckets = {
        "NONE": value,
        "DAY": when.strftime("%Y-%m-%d"),
        "MONTH": when.strftime("%Y-%m-01"),
        "QUARTER": f"{when.year}-{(when.month - 1) // 3 * 3 + 1:02d}-01",
        "YEAR": f"{when.year}-01-01",
        "DAY_OF_THE_WEEK": _WEEKDAYS[when.weekday()],
        "MONTH_OF_THE_YEAR": _MONTHS[when.month - 1],
        "QUARTER_OF_THE_YEAR": f"Q{(when.month - 1) // 3 + 1}",
    }
    if granularity not in buckets:
        raise bad_request(
            f"Invalid granularity '{granularity}'. Allowed: {', '.join(buckets)}",
            code="INVALID_GROUP_BY_QUERY_PARAM",
        )
    return buckets[granularity]


def _check_group_by(obj: ObjectMeta, group_by: Any) -> list[JSON]:
    if not isinstance(group_by, list) or not group_by:
        raise bad_request(GROUP_BY_ERROR, code="INVALID_GROUP_BY_QUERY_PARAM")
    for spec in group_by:
        if not isinstance(spec, dict) or len(spec) != 1:
            raise bad_request(GROUP_BY_ERROR, code="INVALID_GROUP_BY_QUERY_PARAM")
        ((name, how),) = spec.items()
        field = obj.field(name)
        if field is None or (isinstance(how, dict) and not how):
            raise bad_request(
                f"Cannot group by '{name}': no such field on '{obj.name_singular}'",
                code="INVALID_GROUP_BY_QUERY_PARAM",
            )
    return group_by


def _aggregate_paths(obj: ObjectMeta, names: list[str]) -> dict[str, tuple[str, list[str]]]:
    """``maxAmountAmountMicros`` -> ``("max", ["amount", "amountMicros"])``."""
    result: dict[str, tuple[str, list[str]]] = {}
    for name in names:
        for op in _AGGREGATE_OPS:
            if name.startswith(op) and len(name) > len(op):
                flat = name[len(op)][:1].lower() + name[len(op) + 1 :]
                path = _flat_path(obj, flat)
                if path is not None:
                    result[name] = (op, path)
                    break
        else:
            if name != "totalCount":
                raise bad_request(
                    f"Unknown aggregate '{name}' on '{obj.name_singular}'",
                    code="INVALID_AGGREGATE_FIELDS_QUERY_PARAM",
                )
    return result


def _aggregate(op: str, values: list[Any]) -> Any:
    numbers = [float(v) for v in values if isinstance(v, (int, float, str)) and _numeric(v)]
    if not numbers:
        return None
    if op == "min":
        result = min(numbers)
    elif op == "max":
        result = max(numbers)
    elif op == "sum":
        result = sum(numbers)
    else:
        result = sum(numbers) / len(numbers)
    # Twenty answers big integers (amountMicros) as strings, as Postgres numerics come back.
    return str(int(result)) if float(result).is_integer() else result


def _numeric(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return not isinstance(value, bool)


def group_records(
    engine: Engine,
    obj: ObjectMeta,
    *,
    group_by: Any,
    aggregates: list[str],
    filter: JSON | None,
    order_by_for_records: list[JSON] | None,
    include_records: bool,
    limit: int | None,
) -> list[JSON]:
    """Group the records matching ``filter``; one dict per group, in first-seen order."""
    specs = _check_group_by(obj, group_by)
    paths = _aggregate_paths(obj, aggregates)
    records: list[JSON] = []
    after: str | None = None
    while True:  # every matching record, a page at a time
        page = engine.find_many(
            obj, filter=filter, order_by=order_by_for_records, first=engine.max_records, after=after
        )
        records.extend(page.records)
        if not page.has_next_page or page.end_cursor is None:
            break
        after = page.end_cursor
    groups: dict[tuple[str, ...], list[JSON]] = {}
    dimensions: dict[tuple[str, ...], list[Any]] = {}
    for record in records:
        values = [_dimension(record, spec) for spec in specs]
        key = tuple(repr(v) for v in values)
        groups.setdefault(key, []).append(record)
        dimensions.setdefault(key, values)
    cap = GROUP_BY_DEFAULT_LIMIT if limit is None else limit
    result: list[JSON] = []
    for key, members in list(groups.items())[:cap]:
        group: JSON = {"groupByDimensionValues": dimensions[key], "totalCount": len(members)}
        for name, (op, path) in paths.items():
            group[name] = _aggregate(op, [_value_at(m, path) for m in members])
        if include_records:
            group["records"] = members[:cap]
        result.append(group)
    return result
