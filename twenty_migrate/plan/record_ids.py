"""Which Twenty record a source row lands in: its identity, and the id derived from it.

A row's id in Twenty is *derived*, never drawn at random, so the same source row lands on
the same record in a test batch, a full run, a re-run of a notebook, the CLI or a spec,
and re-running an import updates instead of duplicating, with or without a unique field.

**Identity.** What names a row across runs and versions of its file, best first:

1. ``source:<id>``: the source system's record id (the step's ``source_key`` column, e.g.
   a CRM export's ``Account ID``). Survives every edit of the row: use it when there is one.
2. ``key:<value>``: the value of the step's unique key (an email, a domain). An edit of
   that value makes a new identity, so a new record (Twenty would match the old one by
   the unique field only if the value stayed).
3. ``fields:<hash>``: a hash of the row's identifying values, read case- and
   space-insensitively: its label (``name``, ``title``) and the other fields that rarely
   change (email, domain, phone, city); for a row with none of them (a task or note
   target), the identities of the rows it points to. Editing one of these values makes a
   new record; editing any other field (an amount, a stage, a job title) updates the same
   one. A hash of *all* values would make every edit a new record; the ``_row`` (line
   number) would make every inserted line shift the records below it.
4. ``row:<_row>``: only for a row with nothing else to tell it by.

Rows of one step that share an identity (two "Follow up" tasks) are told apart by their
order among themselves (``#2``, ``#3``): stable while those rows keep their relative order.

**The id.** ``derive_id(migration, object, identity)``: the SHA-1 name-based UUID (uuid5)
of those three, with its version nibble set to 4. Twenty checks ids against
``^[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`` today
(``packages/twenty-shared/src/utils/validation/isValidUuid.ts``) but older releases took
**v4 only** (twenty-api.md §2.4), so the derived id has the v4 shape (and uuid5's RFC 4122
variant bits): every release accepts it. It is not random, only v4-shaped.

**The migration.** Two runs are the same migration when their plans have the same
:attr:`~twenty_migrate.ImportPlan.migration_name`: the spec's ``name``, else the plan's
``migration`` or ``name``, else its object names (``companies+people``). A test batch keeps
its plan's migration name, so the full run finds its records. Two different migrations into
one workspace should have different names, or rows with the same identity (the same email)
land on the same record.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from twenty_migrate.values.payloads import REF_KEY, RowId, canonical_json, flatten, is_ref

if TYPE_CHECKING:
    from twenty_migrate.plan.plan import ImportPlan

__all__ = [
    "ID_NAMESPACE",
    "IDENTIFYING_PATHS",
    "derive_id",
    "plan_identities",
    "plan_record_ids",
    "step_identities",
    "with_target_ids",
]

#: Namespace of every derived id. Never change it: every record id of every migration
#: already imported depends on it.
ID_NAMESPACE = uuid.UUID("6f1c3f5e-2b7a-5d9e-8c41-7a0e9b2d4f13")
#: Field paths whose values identify a row that has neither a source id nor a unique key
#: value: a label and the fields that rarely change.
IDENTIFYING_PATHS = (
    "name",
    "name.firstName",
    "name.lastName",
    "title",
    "emails.primaryEmail",
    "domainName.primaryLinkUrl",
    "phones.primaryPhoneNumber",
    "phones.primaryPhoneCallingCode",
    "city",
    "address.addressCity",
)


def derive_id(migration: str, object_name: str, identity: str) -> str:
    """The Twenty id of the row ``identity`` of ``object_name`` in ``migration``.

    Example:
        >>> derive_id("fernhill", "people", 'source:"0035g0000zgWJcP5pd"')[14]
        '4'
    """
    name = canonical_json([migration, object_name, identity])
    digest = uuid.uuid5(ID_NAMESPACE, name).bytes
    return str(uuid.UUID(bytes=digest, version=4))


def _normalised(value: Any) -> Any:
    if isinstance(value, str):
        return " ".join(value.casefold().split())
    return value


def _base_identity(
    payload: Mapping[str, Any],
    key: str | None,
    source_id: Any,
    row: RowId,
    targets: Mapping[tuple[str, RowId], str],
) -> str:
    if source_id is not None and source_id != "":
        return f"source:{canonical_json(str(source_id).strip())}"
    if key:
        value: Any = payload
        for part in key.split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
        if value is not None and value != "" and not is_ref(value):
            return f"key:{canonical_json(value)}"
    flat = flatten({k: v for k, v in payload.items() if not is_ref(v)})
    picked = {p: _normalised(flat[p]) for p in IDENTIFYING_PATHS if flat.get(p) not in (None, "")}
    if not picked:  # a row known by its links (a task target): all it holds
        picked = {k: v for k, v in with_target_ids(payload, targets).items() if k != "id"}
    if not picked:
        return f"row:{canonical_json(row)}"
    digest = hashlib.sha256(canonical_json(picked).encode("utf-8")).hexdigest()[:32]
    return f"fields:{digest}"


def with_target_ids(value: Any, targets: Mapping[tuple[str, RowId], str]) -> Any:
    """``value`` with each relation marker replaced by its target's record id (a marker
    whose target is unknown is kept), so that a link written as the target's ``_row``
    and one written as its Twenty id (``"twenty:<id>"``) read the same."""
    if is_ref(value):
        obj, row = value[REF_KEY]
        return targets.get((obj, row), value)
    if isinstance(value, Mapping):
        return {k: with_target_ids(v, targets) for k, v in value.items()}
    if isinstance(value, list):
        return [with_target_ids(v, targets) for v in value]
    return value


def step_identities(
    object_name: str,
    rows: Sequence[RowId],
    payloads: Sequence[Mapping[str, Any]],
    *,
    key: str | None = None,
    source_ids: Sequence[Any] | None = None,
    targets: Mapping[tuple[str, RowId], str] | None = None,
) -> dict[tuple[str, RowId], str]:
    """The identity of each row of one step (see the module doc), by ``(object, _row)``.

    Args:
        object_name: The step's object.
        rows: Its ``_row`` ids, in order.
        payloads: Their payloads (relation cells as ``{"$ref": [object, _row]}``).
        key: The step's unique key path.
        source_ids: The source system's id per row (None or "" where a row has none).
        targets: Record ids of the rows of earlier steps (for rows known by their links:
            a link to a row and a link to that row's record in Twenty count the same).
    """
    ids: Iterable[Any] = source_ids if source_ids is not None else [None] * len(rows)
    seen: dict[str, int] = {}
    out: dict[tuple[str, RowId], str] = {}
    for row, payload, source_id in zip(rows, payloads, ids, strict=True):
        identity = _base_identity(payload, key, source_id, row, targets or {})
        seen[identity] = seen.get(identity, 0) + 1
        if seen[identity] > 1:
            identity = f"{identity}#{seen[identity]}"
        out[(object_name, row)] = identity
    return out


def plan_identities(plan: ImportPlan) -> dict[tuple[str, RowId], str]:
    """Every row's identity in ``plan`` (see the module doc), by ``(object, _row)``."""
    return dict(_plan_ids(plan)[0])


def plan_record_ids(plan: ImportPlan) -> dict[tuple[str, RowId], str]:
    """The id every row of ``plan`` is sent with: its ``id`` column's value when it has
    one (that record is targeted), else :func:`derive_id` of its identity."""
    return dict(_plan_ids(plan)[1])


def _plan_ids(
    plan: ImportPlan,
) -> tuple[dict[tuple[str, RowId], str], dict[tuple[str, RowId], str]]:
    """Identities and record ids, step by step: a row known by its links needs the ids of
    the rows it points to. Kept on the plan, a plain value."""
    cached = plan.__dict__.get("_row_ids")
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    identities: dict[tuple[str, RowId], str] = {}
    record_ids: dict[tuple[str, RowId], str] = {}
    migration = plan.migration_name
    for step in plan.steps:
        found = step_identities(
            step.object,
            step.rows,
            step._payloads,
            key=step.key,
            source_ids=step.source_ids(),
            targets=record_ids,
        )
        for (obj, row), payload in zip(found, step._payloads, strict=True):
            given = payload.get("id")
            if isinstance(given, str) and given:
                record_ids[(obj, row)] = given
            else:
                record_ids[(obj, row)] = derive_id(migration, obj, found[(obj, row)])
        identities.update(found)
    plan.__dict__["_row_ids"] = (identities, record_ids)
    return identities, record_ids
