"""Check a migration against the workspace: :func:`reconcile` and :func:`relation_coverage`.

Both read Twenty through the client and the run journals through :func:`~twenty_migrate.
rollbacks.open_run`; they write nothing.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from .journal import RunJournal
from .rollbacks import RunRef, open_run

if TYPE_CHECKING:
    from .client import TwentyClient
    from .schema import WorkspaceSchema

__all__ = ["COVERAGE_COLUMNS", "RECONCILE_COLUMNS", "reconcile", "relation_coverage"]

#: Columns of :func:`reconcile`.
RECONCILE_COLUMNS = [
    "object",
    "landed",
    "failed",
    "pending",
    "in_twenty",
    "missing",
    "duplicated",
    "in_workspace",
    "reconciled",
]
#: Columns of :func:`relation_coverage`.
COVERAGE_COLUMNS = ["object", "column", "linked", "total"]
#: Row statuses whose record is in Twenty (``unchanged``: landed by an earlier run).
LANDED_STATUSES = ("created", "updated", "unchanged")
#: Ids per lookup call (Twenty's QUERY_MAX_RECORDS, 60 on every version).
_LOOKUP_CHUNK = 60


# --------------------------------------------------------------------------- verifying


def _rows_of(
    runs: RunRef | Sequence[RunRef], runs_dir: str | os.PathLike[str] | None
) -> pd.DataFrame:
    """The journal rows of one run or several (an import and its fixes), in order."""
    refs = [runs] if isinstance(runs, RunJournal | str | os.PathLike) else list(runs)
    parts = []
    for ref in refs:
        with open_run(ref, runs_dir) as journal:
            parts.append(journal.rows_frame())
    if not parts:
        raise ValueError("no run given: pass a run journal, a run id or several of them")
    return pd.concat(parts, ignore_index=True)


def _landed_ids(rows: pd.DataFrame, object_name: str) -> list[str]:
    mine = rows[(rows["object"] == object_name) & rows["status"].isin(LANDED_STATUSES)]
    return [str(i) for i in dict.fromkeys(mine["twenty_id"].dropna())]


def _count_records(client: TwentyClient, object_name: str) -> int:
    """Every record of the object in the workspace (soft-deleted ones aside), in one call."""
    _, plural = client.object_names(object_name)
    data = client.graphql(f"query CountRecords {{ {plural}(first: 1) {{ totalCount }} }}")
    return int((data.get(plural) or {}).get("totalCount") or 0)


def reconcile(
    client: TwentyClient,
    journal: RunRef | Sequence[RunRef],
    *,
    runs_dir: str | os.PathLike[str] | None = None,
) -> pd.DataFrame:
    """Compare what Twenty holds with what a run's journal says landed, object by object.

    Only the records of the run are looked up, by their ids (60 per call), so a workspace
    that held records before the migration reconciles too; ``in_workspace`` counts every
    record of the object (one call), for a check that nothing else is there.

    Args:
        client: A connected client.
        journal: A :class:`~twenty_migrate.journal.RunJournal`, a run id (with ``runs_dir``)
            or a run directory; or several, such as an import and the run of its fixes.
        runs_dir: Where runs live when ``journal`` names runs by id.

    Returns:
        One row per object of the run: ``landed`` (distinct records the journal says were
        created, updated or found unchanged), ``failed`` and ``pending`` (rows),
        ``in_twenty`` (landed records Twenty holds), ``missing`` (landed but not in Twenty,
        or soft-deleted since), ``duplicated`` (records Twenty returned more than once),
        ``in_workspace`` and ``reconciled`` (nothing missing, pending or duplicated).

    Example:
        >>> checks = reconcile(client, result.run_id)
        >>> checks["reconciled"].all()
        True
    """
    rows = _rows_of(journal, runs_dir)
    records: list[dict[str, Any]] = []
    for object_name in dict.fromkeys(str(o) for o in rows["object"]):
        statuses = rows.loc[rows["object"] == object_name, "status"]
        landed = _landed_ids(rows, object_name)
        found = [
            str(record["id"])
            for record in client.find_by_ids(object_name, landed, with_deleted=False)
        ]
        held = set(found) & set(landed)
        record: dict[str, Any] = {
            "object": object_name,
            "landed": len(landed),
            "failed": int((statuses == "failed").sum()),
            "pending": int((statuses == "pending").sum()),
            "in_twenty": len(held),
            "missing": len(landed) - len(held),
            "duplicated": len(found) - len(set(found)),
            "in_workspace": _count_records(client, object_name),
        }
        record["reconciled"] = not (record["missing"] or record["pending"] or record["duplicated"])
        records.append(record)
    frame = pd.DataFrame(records, columns=RECONCILE_COLUMNS)
    return frame.astype({"reconciled": bool})


def relation_coverage(
    client: TwentyClient,
    journal: RunRef | Sequence[RunRef] | None = None,
    *,
    objects: str | Sequence[str] | None = None,
    runs_dir: str | os.PathLike[str] | None = None,
    schema: WorkspaceSchema | None = None,
) -> pd.DataFrame:
    """How many records carry each of their links in Twenty.

    For every relation column of an object (``people.companyId``), the records where it is
    set; for tasks and notes, also the records with at least one target (column
    ``taskTargets`` / ``noteTargets``). Compare with the source: a contact without a
    company should be one whose row named none.

    Args:
        client: A connected client.
        journal: A run (journal, run id or directory) or several: the records they landed,
            read back by id (task and note targets count on their task or note).
        objects: Object names: with ``journal``, only these objects of the run; without,
            every record of these objects.
        runs_dir: Where runs live when ``journal`` names runs by id.
        schema: The workspace schema (fetched when None).

    Returns:
        ``object, column, linked, total``: one row per relation column of each object.

    Example:
        >>> relation_coverage(client, result.run_id).query("column == 'companyId'")
    """
    from .schema import fetch_schema

    if journal is None and objects is None:
        raise ValueError("relation_coverage needs a run's journal or objects=, or both")
    schema = schema or fetch_schema(client)
    wanted = None if objects is None else [objects] if isinstance(objects, str) else list(objects)
    ids: dict[str, list[str]] | None = None
    if journal is not None:
        rows = _rows_of(journal, runs_dir)
        names = [n for n in dict.fromkeys(map(str, rows["object"])) if not _is_target(schema, n)]
        names = [n for n in names if wanted is None or n in wanted]
        ids = {name: _landed_ids(rows, name) for name in names}
    else:
        names = [str(o) for o in wanted or ()]
    coverage: list[dict[str, Any]] = []
    for name in names:
        obj = schema.object(name)
        joins = list(obj.relations)
        selection = " ".join(["id", *joins])
        if ids is None:
            records = list(client.iter_records(obj.name_plural, fields=selection))
        else:
            records = client.find_by_ids(
                obj.name_plural, ids[name], fields=selection, with_deleted=False
            )
        for join in joins:
            linked = sum(r.get(join) is not None for r in records)
            coverage.append(
                {"object": name, "column": join, "linked": linked, "total": len(records)}
            )
        holder = _target_holder(schema, obj.name_singular)
        if holder is not None:
            linked = len(_linked_by(client, *holder, [str(r["id"]) for r in records]))
            coverage.append(
                {"object": name, "column": holder[0], "linked": linked, "total": len(records)}
            )
    return pd.DataFrame(coverage, columns=COVERAGE_COLUMNS)


def _target_holder(schema: WorkspaceSchema, singular: str) -> tuple[str, str] | None:
    """``("taskTargets", "taskId")`` for ``"task"``: what links it to its records."""
    for candidate in schema.objects.values():
        if candidate.name_singular == f"{singular}Target":
            own = [j for j, t in candidate.relations.items() if t == singular]
            if own:
                return candidate.name_plural, own[0]
    return None


def _is_target(schema: WorkspaceSchema, name: str) -> bool:
    """Whether ``name`` links tasks or notes to records (``taskTargets``)."""
    obj = schema.object(name)
    owner = obj.name_singular.removesuffix("Target")
    return owner != obj.name_singular and _target_holder(schema, owner) is not None


def _linked_by(client: TwentyClient, holder: str, join: str, ids: Sequence[str]) -> set[str]:
    """The ids among ``ids`` that some ``holder`` record points to through ``join``."""
    linked: set[str] = set()
    for start in range(0, len(ids), _LOOKUP_CHUNK):
        chunk = list(ids[start : start + _LOOKUP_CHUNK])
        for record in client.iter_records(
            holder, filter={join: {"in": chunk}}, fields=f"id {join}"
        ):
            linked.add(str(record[join]))
    return linked & set(ids)
