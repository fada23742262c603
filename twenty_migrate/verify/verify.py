"""Check a migration against the workspace: :func:`verify_run`, :func:`reconcile` and
:func:`relation_coverage`.

They read Twenty through the client and the run journals through :func:`~twenty_migrate.
rollbacks.open_run`; they write nothing. One pass serves both checks and reads as little
as the server allows: ids and join columns only, at the server's per-call cap, counting
instead of reading where that is cheaper (:mod:`twenty_migrate.twenty.reads`). Each result
says how many calls it spent.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from twenty_migrate.run.journal import RunJournal
from twenty_migrate.twenty.reads import ObjectFacts, PageReader, linked_owners, read_object
from twenty_migrate.verify.rollbacks import RunRef, open_run

if TYPE_CHECKING:
    from twenty_migrate.twenty.client import TwentyClient
    from twenty_migrate.twenty.schema import WorkspaceSchema

__all__ = [
    "COVERAGE_COLUMNS",
    "RECONCILE_COLUMNS",
    "Verification",
    "reconcile",
    "relation_coverage",
    "verify_run",
]

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


@dataclass
class Verification:
    """What :func:`verify_run` found, and what it cost.

    Attributes:
        reconciliation: :func:`reconcile`'s frame.
        coverage: :func:`relation_coverage`'s frame.
        calls: API calls verification spent (each one root field, so one rate-limit token).
        page_size: Records per call it read at (the server's cap once learned).
    """

    reconciliation: pd.DataFrame
    coverage: pd.DataFrame
    calls: int
    page_size: int

    @property
    def reconciled(self) -> bool:
        """Every object reconciled: nothing missing, pending or duplicated."""
        return bool(self.reconciliation["reconciled"].all())

    def summary(self) -> str:
        """A few lines: the verdict per object and the calls spent."""
        records = int(self.reconciliation["landed"].sum())
        lines = [
            f"Verification: {'reconciled' if self.reconciled else 'NOT reconciled'}; "
            f"{self.calls} calls for {records} records ({self.page_size} per call)"
        ]
        for check in self.reconciliation.to_dict("records"):
            lines.append(
                f"  {check['object']}: {check['in_twenty']} of {check['landed']} landed in "
                f"Twenty, {check['missing']} missing, {check['pending']} pending; "
                f"{check['in_workspace']} in the workspace"
            )
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"Verification(reconciled={self.reconciled}, objects={len(self.reconciliation)}, "
            f"calls={self.calls}, page_size={self.page_size})"
        )


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


def verify_run(
    client: TwentyClient,
    journal: RunRef | Sequence[RunRef],
    *,
    objects: str | Sequence[str] | None = None,
    runs_dir: str | os.PathLike[str] | None = None,
    schema: WorkspaceSchema | None = None,
) -> Verification:
    """Reconcile a run and measure its relation coverage in one pass.

    Each object of the run is read once, as cheaply as the server allows: its first page
    (ids and join columns, at the server's per-call cap) gives the workspace count and, on
    a small object, everything; past it, the cheapest of the remaining pages, the run's
    records by id, or counts filtered by the run's ids.

    Args:
        client: A connected client.
        journal: A run (journal, run id or directory) or several, such as an import and
            the run of its fixes.
        objects: Coverage of only these objects of the run (reconciliation covers all).
        runs_dir: Where runs live when ``journal`` names runs by id.
        schema: The workspace schema (fetched when None).

    Returns:
        A :class:`Verification`: ``reconciliation`` (as :func:`reconcile`), ``coverage``
        (as :func:`relation_coverage`) and ``calls`` spent.

    Example:
        >>> check = verify_run(client, result.run_id)
        >>> check.reconciled, check.calls
        (True, 16)
    """
    from twenty_migrate.twenty.schema import fetch_schema

    schema = schema or fetch_schema(client)
    rows = _rows_of(journal, runs_dir)
    return _verify(client, rows, _names(objects), schema)


def reconcile(
    client: TwentyClient,
    journal: RunRef | Sequence[RunRef],
    *,
    runs_dir: str | os.PathLike[str] | None = None,
) -> pd.DataFrame:
    """Compare what Twenty holds with what a run's journal says landed, object by object.

    Only the run's records are looked for, by id, so a workspace that held records before
    the migration reconciles too; ``in_workspace`` counts every record of the object, for
    a check that nothing else is there. Reads ids only, at the server's per-call cap (a
    small object costs one call); ``frame.attrs["calls"]`` says how many calls it spent.
    :func:`verify_run` also measures relation coverage in the same pass.

    Args:
        client: A connected client.
        journal: A :class:`~twenty_migrate.RunJournal`, a run id (with ``runs_dir``)
            or a run directory; or several, such as an import and the run of its fixes.
        runs_dir: Where runs live when ``journal`` names runs by id.

    Returns:
        One row per object of the run: ``landed`` (distinct records the journal says were
        created, updated or found unchanged), ``failed`` and ``pending`` (rows),
        ``in_twenty`` (landed records Twenty holds), ``missing`` (landed but not in Twenty,
        or soft-deleted since), ``duplicated`` (records Twenty returned more than once;
        counted when records are read, and ids being Twenty's primary keys only a faulty
        server shows any), ``in_workspace`` and ``reconciled`` (nothing missing, pending or
        duplicated).

    Example:
        >>> checks = reconcile(client, result.run_id)
        >>> checks["reconciled"].all()
        True
    """
    rows = _rows_of(journal, runs_dir)
    found = _verify(client, rows, [], None)
    frame = found.reconciliation
    frame.attrs["calls"] = found.calls
    return frame


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
    company should be one whose row named none. ``frame.attrs["calls"]`` says how many
    calls it spent.

    Args:
        client: A connected client.
        journal: A run (journal, run id or directory) or several: the records they landed
            (task and note targets count on their task or note).
        objects: Object names: with ``journal``, only these objects of the run; without,
            every record of these objects.
        runs_dir: Where runs live when ``journal`` names runs by id.
        schema: The workspace schema (fetched when None).

    Returns:
        ``object, column, linked, total``: one row per relation column of each object.

    Example:
        >>> relation_coverage(client, result.run_id).query("column == 'companyId'")
    """
    from twenty_migrate.twenty.schema import fetch_schema

    if journal is None and objects is None:
        raise ValueError("relation_coverage needs a run's journal or objects=, or both")
    schema = schema or fetch_schema(client)
    rows = None if journal is None else _rows_of(journal, runs_dir)
    found = _verify(client, rows, _names(objects), schema, reconciling=False)
    frame = found.coverage
    frame.attrs["calls"] = found.calls
    return frame


def _names(objects: str | Sequence[str] | None) -> list[str] | None:
    return None if objects is None else [objects] if isinstance(objects, str) else list(objects)


def _verify(
    client: TwentyClient,
    rows: pd.DataFrame | None,
    wanted: list[str] | None,
    schema: WorkspaceSchema | None,
    *,
    reconciling: bool = True,
) -> Verification:
    """The pass behind the three checks.

    ``rows`` None means whole objects (``wanted``), with no run; ``schema`` None means no
    coverage (reconciliation only).
    """
    reader = PageReader(client)
    if rows is not None:
        in_run = list(dict.fromkeys(str(o) for o in rows["object"]))
        ids: dict[str, list[str]] | None = {name: _landed_ids(rows, name) for name in in_run}
    else:
        in_run = list(wanted or ())
        ids = None
    covered: list[str] = []
    if schema is not None:
        covered = [
            name
            for name in in_run
            if (wanted is None or name in wanted)
            and not (rows is not None and _is_target(schema, name))
        ]
    # What to read of each object: coverage joins, and a target's owner column when its
    # owner's coverage is wanted (so the targets, once read, say which owners they link).
    joins: dict[str, list[str]] = {name: [] for name in in_run}
    record_joins: dict[str, list[str]] = {name: [] for name in in_run}
    holders: dict[str, tuple[str, str]] = {}
    for name in covered:
        assert schema is not None
        obj = schema.object(name)
        if ids is None or not _is_target(schema, name):
            joins[name] = list(obj.relations)
        holder = _target_holder(schema, obj.name_singular)
        if holder is not None:
            holders[name] = holder
            for other in in_run:
                if client.object_names(other)[1] == holder[0]:
                    record_joins[other].append(holder[1])
    plurals = {name: client.object_names(name)[1] for name in in_run}
    to_read = [name for name in in_run if reconciling or name in covered or record_joins[name]]
    facts: dict[str, ObjectFacts] = {}
    for name in to_read:
        run_ids = None if ids is None else ids[name]
        owner_lookups = 0
        if record_joins[name] and ids is not None:
            owners = [o for o, h in holders.items() if h[1] in record_joins[name]]
            owner_lookups = sum(-(-len(ids.get(o, [])) // reader.page_size) for o in owners)
        facts[name] = read_object(
            reader,
            name,
            run_ids=run_ids,
            joins=joins[name],
            record_joins=record_joins[name],
            incomplete_cost=owner_lookups,
        )
    if rows is not None and reconciling:
        reconciliation = _reconciliation(rows, facts)
    else:
        reconciliation = pd.DataFrame([], columns=RECONCILE_COLUMNS).astype({"reconciled": bool})
    coverage: list[dict[str, Any]] = []
    for name in covered:
        got = facts[name]
        for join in joins[name]:
            coverage.append(
                {"object": name, "column": join, "linked": got.linked[join], "total": got.total}
            )
        if name in holders:
            targets = next((facts[o] for o in facts if plurals[o] == holders[name][0]), None)
            run_ids = None if ids is None else ids[name]
            linked = _owners_linked(reader, targets, holders[name], got, run_ids)
            coverage.append(
                {"object": name, "column": holders[name][0], "linked": linked, "total": got.total}
            )
    return Verification(
        reconciliation=reconciliation,
        coverage=pd.DataFrame(coverage, columns=COVERAGE_COLUMNS),
        calls=reader.calls,
        page_size=reader.page_size,
    )


def _owners_linked(
    reader: PageReader,
    targets: ObjectFacts | None,
    holder: tuple[str, str],
    owner: ObjectFacts,
    run_ids: list[str] | None,
) -> int:
    """How many of the owner's records (tasks) some target (task target) links to.

    The targets' records answer when every one was read; otherwise they are looked up by
    the owners' ids.
    """
    plural, join = holder
    if owner.records is not None:
        mine = None if run_ids is None else set(run_ids)
        owner_ids = [str(r["id"]) for r in owner.records if mine is None or str(r["id"]) in mine]
    else:
        owner_ids = list(run_ids or ())
    if targets is not None and targets.records is not None:
        linked = {str(r[join]) for r in targets.records if r.get(join) is not None}
        return len(linked & set(owner_ids))
    return len(linked_owners(reader, plural, join, owner_ids))


def _reconciliation(rows: pd.DataFrame, facts: dict[str, ObjectFacts]) -> pd.DataFrame:
    records: list[dict[str, Any]] = []
    for object_name, found in facts.items():
        statuses = rows.loc[rows["object"] == object_name, "status"]
        landed = len(_landed_ids(rows, object_name))
        in_twenty = int(found.in_run or 0)
        record: dict[str, Any] = {
            "object": object_name,
            "landed": landed,
            "failed": int((statuses == "failed").sum()),
            "pending": int((statuses == "pending").sum()),
            "in_twenty": in_twenty,
            "missing": landed - in_twenty,
            "duplicated": found.duplicated,
            "in_workspace": found.in_workspace,
        }
        record["reconciled"] = not (record["missing"] or record["pending"] or record["duplicated"])
        records.append(record)
    return pd.DataFrame(records, columns=RECONCILE_COLUMNS).astype({"reconciled": bool})


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
