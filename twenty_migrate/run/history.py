"""Earlier runs of a migration, read from their journals: what landed, and which ids to reuse."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import Any

import pandas as pd

from twenty_migrate.run.journal import RunJournal
from twenty_migrate.run.runs import (
    PRESENCE_SAMPLE,
    ROW_STATUSES,
    _has_table,
    list_run_ids,
    rollback_status,
)
from twenty_migrate.twenty.errors import JournalError
from twenty_migrate.values.payloads import RowId


def list_runs(runs_dir: str | os.PathLike[str]) -> pd.DataFrame:
    """Every run in ``runs_dir``, oldest first.

    Columns: ``run_id, name, kind, status, created_at, finished_at, rows, created,
    updated, unchanged, failed, pending``. A run rolled back since has the status
    ``rolled back`` (see :func:`rollback_status`).

    Example:
        >>> list_runs("runs").tail()
    """
    columns = ["run_id", "name", "kind", "status", "created_at", "finished_at", "rows"]
    columns += list(ROW_STATUSES)
    records = []
    for journal in _journals(runs_dir):
        summary = journal.summary()
        record = {c: summary.get(c) for c in columns[:7]}
        record["status"] = rollback_status(journal._conn) or record["status"]
        record.update(summary["totals"])
        records.append(record)
    frame = pd.DataFrame.from_records(records, columns=columns)
    return frame.sort_values(["created_at", "run_id"], kind="stable").reset_index(drop=True)


def reusable_ids(
    runs_dir: str | os.PathLike[str], name: str, *, kind: str = "test_batch"
) -> dict[tuple[str, RowId], str]:
    """Ids that earlier runs named ``name`` (of ``kind``) created, by ``(object, _row)``.

    A full run re-sends a test batch's rows with the ids they were created with, so the
    test records are updated rather than created twice (also for objects without a unique
    field). Newer runs win.
    """
    found: dict[tuple[str, RowId], str] = {}
    for journal in _journals(runs_dir):
        info = journal.info()
        if info["kind"] != kind or info["name"] != name:
            continue
        rows = journal._query(
            "SELECT object, _row, sent_id FROM rows"
            " WHERE status = 'created' AND twenty_id = sent_id"
        )
        for r in rows:
            found[(r["object"], r["_row"])] = r["sent_id"]
    return found


def landed_fingerprints(
    runs_dir: str | os.PathLike[str], name: str
) -> dict[tuple[str, str], tuple[str, str]]:
    """What earlier runs of the migration ``name`` left in Twenty: ``(object, identity)``
    to ``(fingerprint, twenty_id)`` for every row that landed, newest run winning.

    Full runs and test batches count (a run's migration is in its settings; journals
    written before that count when they are full runs labelled ``name``). Records a
    rollback deleted (in any journal of ``runs_dir``) are left out, so they are sent again.
    Rows of journals written before fingerprints were kept have none: skipped.
    """
    found: dict[tuple[str, str], tuple[str, str]] = {}
    rolled_back: set[tuple[str, str]] = set()
    for journal in _journals(runs_dir):
        conn = journal._conn
        if _has_table(conn, "rollbacks"):
            rolled_back.update(
                (r["object"], r["twenty_id"])
                for r in conn.execute(
                    "SELECT object, twenty_id FROM rollbacks WHERE state != 'failed'"
                )
            )
        info = journal.info()
        legacy = info["name"] if info["kind"] == "run" else None
        if info["settings"].get("migration", legacy) != name:
            continue
        landed = conn.execute(
            "SELECT object, identity, fingerprint, twenty_id FROM rows"
            " WHERE status IN ('created', 'updated', 'unchanged')"
            " AND twenty_id IS NOT NULL AND fingerprint IS NOT NULL ORDER BY seq"
        ).fetchall()
        for r in landed:
            found[(r["object"], r["identity"])] = (r["fingerprint"], r["twenty_id"])
    return {k: v for k, v in found.items() if (k[0], v[1]) not in rolled_back}


def plan_runs(
    runs_dir: str | os.PathLike[str], fingerprint: str, *, kind: str = "run"
) -> list[dict[str, Any]]:
    """The runs of ``kind`` started with the plan of ``fingerprint``, oldest first.

    Each is ``{run_id, status, totals, rolled_back}``: what a widget needs to tell whether
    the plan is running, done (``status`` in :data:`FINISHED_RUN`) or resumable, and
    whether a rollback undid it.
    """
    found = []
    for journal in _journals(runs_dir):
        if journal.fingerprint != fingerprint or journal.kind != kind:
            continue
        summary = journal.summary()
        conn = journal._conn
        rolled_back = _has_table(conn, "rollback_runs") and bool(
            conn.execute("SELECT COUNT(*) FROM rollback_runs").fetchone()[0]
        )
        found.append(
            {
                "run_id": journal.run_id,
                "status": summary["status"],
                "totals": summary["totals"],
                "rolled_back": rolled_back,
            }
        )
    return found


def _journals(runs_dir: str | os.PathLike[str]) -> Iterator[RunJournal]:
    """Every readable journal of ``runs_dir``, oldest first, each closed after its turn."""
    for run_id in list_run_ids(runs_dir):
        try:
            journal = RunJournal.open(runs_dir, run_id)
        except JournalError:
            continue
        try:
            yield journal
        finally:
            journal.close()


def still_in_workspace(
    client: Any,
    landed: Mapping[tuple[str, str], tuple[str, str]],
    *,
    sample: int = PRESENCE_SAMPLE,
) -> dict[tuple[str, str], tuple[str, str]]:
    """``landed`` (:func:`landed_fingerprints`) without the objects whose records are not
    all in the workspace the client writes to.

    The journals say what earlier runs left in *a* workspace; a fresh sandbox, another
    workspace behind the same URL, or records deleted by hand would make a re-run skip
    rows that are not there. So up to ``sample`` records of each object, spread over the
    rows, are looked up (one call per object; soft-deleted ones count as gone): when one
    is missing, that object's rows are all sent again, as upserts on the same ids.
    """
    by_object: dict[str, list[str]] = {}
    for (obj, _identity), (_fingerprint, twenty_id) in landed.items():
        by_object.setdefault(obj, []).append(twenty_id)
    trusted: set[str] = set()
    for obj, ids in by_object.items():
        picked = list(dict.fromkeys(ids[:: max(1, len(ids) // sample)]))[:sample]
        try:
            found = client.find_by_ids(obj, picked, fields="id", with_deleted=False)
        except Exception:  # cannot tell: send every row again, which is safe
            continue
        if {str(r.get("id")) for r in found} >= set(picked):
            trusted.add(obj)
    return {k: v for k, v in landed.items() if k[0] in trusted}
