"""Undo an import run: delete exactly the records it created.

:func:`rollback` reads the run's journal (``<runs_dir>/<run_id>/journal.sqlite``), deletes
the records whose rows are ``created`` (soft delete by default, ``destroy=True`` for good),
plus, for a run interrupted mid-call, the records of unanswered batches that exist under the
id this run generated for them; dependants go first. It writes each record's outcome to two
tables it adds to the same SQLite file::

    rollbacks      object, twenty_id, _row, state (deleted/destroyed/gone/failed), error,
                   rollback_id, at                    -- one line per record, latest state
    rollback_runs  rollback_id, destroy, started_at, finished_at, deleted, skipped, missing,
                   failed                             -- one line per rollback call

A second rollback therefore only retries what failed; a hard rollback after a soft one
destroys the soft-deleted records. Records the run updated are left alone: the journal
does not keep their previous values. Both :func:`rollback` and :class:`RollbackResult` are
re-exported by :mod:`twenty_migrate.verify.export`.
"""

from __future__ import annotations

import os
import sqlite3
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

import pandas as pd

from twenty_migrate.run.history import reusable_ids
from twenty_migrate.run.journal import RunJournal
from twenty_migrate.run.runs import JOURNAL_FILE
from twenty_migrate.twenty.errors import JournalError, TwentyAPIError

if TYPE_CHECKING:
    from twenty_migrate.run.progress import ProgressArg
    from twenty_migrate.twenty.client import TwentyClient

__all__ = [
    "ROLLBACK_CHUNK",
    "RollbackResult",
    "RunRef",
    "open_run",
    "rollback",
    "rollback_history",
    "rollback_states",
]

RunRef: TypeAlias = "RunJournal | str | os.PathLike[str]"

#: Ids per delete call (Twenty's QUERY_MAX_RECORDS, 60 on every version; twenty-api.md §2.3).
ROLLBACK_CHUNK = 60
#: Batch statuses whose request may have reached Twenty without an answer being recorded.
UNANSWERED_BATCH = ("sent", "ambiguous")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS rollbacks (
    object TEXT NOT NULL,
    twenty_id TEXT NOT NULL,
    _row,
    state TEXT NOT NULL,
    error TEXT,
    rollback_id TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (object, twenty_id)
);
CREATE TABLE IF NOT EXISTS rollback_runs (
    rollback_id TEXT PRIMARY KEY,
    destroy INTEGER NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    deleted INTEGER,
    skipped INTEGER,
    missing INTEGER,
    failed INTEGER
);
"""
#: States after which a soft / a hard rollback has nothing left to do for a record.
_DONE = {
    False: frozenset({"deleted", "destroyed", "gone"}),
    True: frozenset({"destroyed", "gone"}),
}
#: Progress count reported for each state.
_PROGRESS_KEY = {
    "deleted": "deleted",
    "destroyed": "deleted",
    "gone": "missing",
    "failed": "failed",
}

_Target = tuple[str, Any, str]  # object, _row, twenty_id


@contextmanager
def open_run(run: RunRef, runs_dir: str | os.PathLike[str] | None = None) -> Iterator[RunJournal]:
    """Yield the journal of ``run``; close it afterwards only if it was opened here.

    Args:
        run: A :class:`RunJournal`, a run id, or a run directory (``runs/<run_id>``).
        runs_dir: Where runs live when ``run`` is an id (default: the ``runs_dir`` setting,
            ``TWENTY_MIGRATE_RUNS_DIR``).

    Raises:
        JournalError: No such run.
    """
    if isinstance(run, RunJournal):
        yield run
        return
    ref = Path(run)
    if ref.name == JOURNAL_FILE:
        ref = ref.parent
    if runs_dir is None and (ref / JOURNAL_FILE).is_file():
        runs_dir, run_id = ref.parent, ref.name
    else:
        run_id = os.fspath(run)
        if runs_dir is None:
            from twenty_migrate.twenty.config import Settings

            runs_dir = Settings.from_env().runs_dir
    journal = RunJournal.open(runs_dir, run_id)
    try:
        yield journal
    finally:
        journal.close()


@contextmanager
def _connection(journal: RunJournal) -> Iterator[sqlite3.Connection]:
    """A connection of our own to the journal file (the journal's own is private)."""
    conn = sqlite3.connect(str(journal.path), timeout=30.0, isolation_level=None)
    conn.row_factory = sqlite3.Row
    try:
        yield conn
    finally:
        conn.close()


def _select(conn: sqlite3.Connection, table: str, sql: str) -> list[sqlite3.Row]:
    """Rows of ``sql`` over a rollback table, none when no rollback ever ran."""
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
    ).fetchone()
    return list(conn.execute(sql).fetchall()) if exists else []


def rollback_states(journal: RunJournal) -> dict[tuple[str, str], str]:
    """``(object, twenty_id) -> state`` of every record a rollback of this run touched."""
    with _connection(journal) as conn:
        rows = _select(conn, "rollbacks", "SELECT object, twenty_id, state FROM rollbacks")
    return {(r["object"], r["twenty_id"]): r["state"] for r in rows}


def rollback_history(journal: RunJournal) -> list[dict[str, Any]]:
    """One dict per rollback of this run, oldest first."""
    with _connection(journal) as conn:
        rows = _select(conn, "rollback_runs", "SELECT * FROM rollback_runs ORDER BY rowid")
    return [dict(r) for r in rows]


@dataclass(frozen=True)
class RollbackResult:
    """What :func:`rollback` did.

    Attributes:
        run_id: The run rolled back.
        destroy: ``True`` for a hard delete.
        deleted: Records deleted (or destroyed) by this call.
        skipped: Records an earlier rollback had already handled.
        missing: Records no longer in the workspace (removed by someone else).
        by_object: Records deleted per object, in the order they were deleted.
        failures: ``object, _row, twenty_id, error`` of records that could not be deleted;
            calling :func:`rollback` again retries them.
    """

    run_id: str
    destroy: bool
    deleted: int
    skipped: int
    missing: int
    by_object: dict[str, int] = field(default_factory=dict)
    failures: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["object", "_row", "twenty_id", "error"])
    )

    @property
    def has_failures(self) -> bool:
        """Whether some records could not be deleted."""
        return not self.failures.empty

    def summary(self) -> str:
        """One line: deleted per object, skipped, missing and failed."""
        verb = "destroyed" if self.destroy else "soft-deleted"
        parts = ", ".join(f"{n} {o}" for o, n in self.by_object.items()) or "nothing"
        text = f"Rollback of run {self.run_id}: {self.deleted} {verb} ({parts})"
        text += f", {self.skipped} already rolled back, {self.missing} missing"
        if self.has_failures:
            text += f", {len(self.failures)} failed (roll back again to retry them)"
        return text

    def asdict(self) -> dict[str, Any]:
        """A JSON-safe dict (failures as a list of dicts)."""
        return {
            "run_id": self.run_id,
            "destroy": self.destroy,
            "deleted": self.deleted,
            "skipped": self.skipped,
            "missing": self.missing,
            "by_object": dict(self.by_object),
            "failures": self.failures.astype(object).to_dict("records"),
        }

    def __str__(self) -> str:
        return self.summary()


def rollback(
    client: TwentyClient,
    run: RunRef,
    *,
    destroy: bool = False,
    include_test_batch: bool = False,
    progress: ProgressArg = None,
    runs_dir: str | os.PathLike[str] | None = None,
) -> RollbackResult:
    """Delete exactly the records a run created, dependants first.

    Rows the journal marks ``created`` are deleted by their Twenty id. Rows of a batch that
    was sent without a recorded answer (an interrupted run) are looked up by the id they
    were sent with, and deleted if that record exists: only this run can have created it.
    Records the run updated or found unchanged are left alone, and so are the records of
    the run's kept test batch that it re-sent (they belong to the test run; roll that back,
    or pass ``include_test_batch``). Objects go in reverse plan
    order (task targets before tasks, people before companies). Each record's outcome is
    stored in the journal, so calling this again retries only what failed.

    Args:
        client: A client for the workspace the run wrote to.
        run: A :class:`RunJournal`, a run id (with ``runs_dir``) or a run directory.
        destroy: Remove the records for good instead of a soft delete (``deletedAt``).
        include_test_batch: Also delete the records of the kept test batch this full run
            re-sent (``importer.run(plan, test_batch=N)`` before it).
        progress: ``"auto"``, ``"log"``, a Progress or ``None``.
        runs_dir: Where runs live when ``run`` is an id.

    Returns:
        Counts, and the records that could not be deleted.

    Example:
        >>> result = rollback(client, "2026-05-01T10-22-07_people")
        >>> print(result)
        Rollback of run 2026-05-01T10-22-07_people: 940 soft-deleted (940 people), ...
    """
    from twenty_migrate.run.progress import make_progress

    with open_run(run, runs_dir) as journal, _connection(journal) as conn:
        run_id = journal.run_id
        conn.executescript(_SCHEMA)
        states = {
            (r["object"], r["twenty_id"]): r["state"]
            for r in conn.execute("SELECT object, twenty_id, state FROM rollbacks")
        }
        test_batch = _reused_ids(journal)
        if include_test_batch:  # rows the full run found landed by its test batch go too
            created = _created(conn) + [t for t in _landed_before(conn) if t[2] in test_batch]
            targets = created + _unanswered(client, conn, set())
        else:
            created = [t for t in _created(conn) if t[2] not in test_batch]
            targets = created + _unanswered(client, conn, test_batch)
        rank = _rank(conn)
        targets.sort(key=lambda t: -rank.get(t[0], 0))  # stable: plan order within an object
        todo = [t for t in targets if states.get((t[0], t[2])) not in _DONE[destroy]]
        skipped = len(targets) - len(todo)
        rollback_id = f"rb-{datetime.now(timezone.utc):%Y%m%dT%H%M%S%fZ}"
        conn.execute(
            "INSERT INTO rollback_runs (rollback_id, destroy, started_at) VALUES (?, ?, ?)",
            (rollback_id, int(destroy), _now()),
        )
        deleted: Counter[str] = Counter()
        missing = 0
        failures: list[dict[str, Any]] = []
        bar = make_progress(progress, total=len(todo), desc="rollback")
        finished: str | None = None  # stays None when interrupted: the run lists as such
        try:
            for start in range(0, len(todo), ROLLBACK_CHUNK):
                chunk = todo[start : start + ROLLBACK_CHUNK]
                outcomes = _delete_chunk(client, chunk, destroy=destroy)
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany(
                    "INSERT OR REPLACE INTO rollbacks (object, twenty_id, _row, state, error,"
                    " rollback_id, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [
                        (obj, tid, row, state, error, rollback_id, _now())
                        for (obj, row, tid), (state, error) in zip(chunk, outcomes, strict=True)
                    ],
                )
                conn.execute("COMMIT")
                for (obj, row, tid), (state, error) in zip(chunk, outcomes, strict=True):
                    if state == "failed":
                        failures.append(
                            {"object": obj, "_row": row, "twenty_id": tid, "error": error}
                        )
                    elif state == "gone":
                        missing += 1
                    else:
                        deleted[obj] += 1
                counts = Counter(_PROGRESS_KEY.get(state, state) for state, _ in outcomes)
                bar.update("rollback", **counts)
            finished = _now()
        finally:
            bar.close()
            conn.execute(
                "UPDATE rollback_runs SET finished_at = ?, deleted = ?, skipped = ?, missing = ?,"
                " failed = ? WHERE rollback_id = ?",
                (finished, sum(deleted.values()), skipped, missing, len(failures), rollback_id),
            )
    return RollbackResult(
        run_id=run_id,
        destroy=destroy,
        deleted=sum(deleted.values()),
        skipped=skipped,
        missing=missing,
        by_object={obj: n for obj, n in deleted.items() if n},
        failures=pd.DataFrame(failures, columns=["object", "_row", "twenty_id", "error"]),
    )


def _rank(conn: sqlite3.Connection) -> dict[str, int]:
    """Plan position of each object (its step; later steps depend on earlier ones)."""
    rows = conn.execute("SELECT object, MIN(step) AS step FROM rows GROUP BY object")
    return {r["object"]: int(r["step"]) for r in rows}


def _created(conn: sqlite3.Connection) -> list[_Target]:
    rows = conn.execute(
        "SELECT object, _row, twenty_id FROM rows WHERE status = 'created'"
        " AND twenty_id IS NOT NULL ORDER BY seq"
    )
    return [(r["object"], r["_row"], r["twenty_id"]) for r in rows]


def _landed_before(conn: sqlite3.Connection) -> list[_Target]:
    """Rows this run found already landed (by an earlier run or its test batch)."""
    rows = conn.execute(
        "SELECT object, _row, twenty_id FROM rows WHERE status IN ('unchanged', 'updated')"
        " AND twenty_id IS NOT NULL ORDER BY seq"
    )
    return [(r["object"], r["_row"], r["twenty_id"]) for r in rows]


def _reused_ids(journal: RunJournal) -> set[str]:
    """Ids this run re-sent from its test batch (those records belong to the test run)."""
    try:
        info = journal.info()
        if info.get("kind") != "run":
            return set()
        return set(reusable_ids(journal.path.parent.parent, f"{info.get('name')}-test").values())
    except (JournalError, sqlite3.Error, OSError):
        return set()


def _unanswered(client: TwentyClient, conn: sqlite3.Connection, reused: set[str]) -> list[_Target]:
    """Pending rows of batches sent without an answer whose record exists in Twenty.

    Such a record carries the id this run gave the row, so this run created it (unless
    the id was re-sent from the run's test batch, or an earlier run landed the row there).
    """
    rows = conn.execute(
        "SELECT r.object, r._row, r.sent_id FROM rows AS r JOIN batches AS b"
        " ON r.batch_id = b.batch_id WHERE r.status = 'pending' AND r.existing = 0"
        " AND b.status IN (?, ?)"
        " ORDER BY r.seq",
        UNANSWERED_BATCH,
    ).fetchall()
    by_object: dict[str, dict[str, Any]] = {}
    for r in rows:
        if r["sent_id"] not in reused:
            by_object.setdefault(r["object"], {})[r["sent_id"]] = r["_row"]
    found: list[_Target] = []
    for obj, ids in by_object.items():
        existing = {rec["id"] for rec in client.find_by_ids(obj, list(ids), fields="id")}
        found += [(obj, row, tid) for tid, row in ids.items() if tid in existing]
    return found


def _delete_chunk(
    client: TwentyClient, chunk: list[_Target], *, destroy: bool
) -> list[tuple[str, str | None]]:
    """Delete one chunk, object by object; ``(state, error)`` per target, in order."""
    ids_by_object: dict[str, list[str]] = {}
    for obj, _row, tid in chunk:
        ids_by_object.setdefault(obj, []).append(tid)
    outcome: dict[tuple[str, str], tuple[str, str | None]] = {}
    for obj, ids in ids_by_object.items():
        try:
            removed = set(client.delete_many(obj, ids, destroy=destroy))
        except TwentyAPIError as exc:
            outcome.update({(obj, tid): ("failed", str(exc)) for tid in ids})
            continue
        state = "destroyed" if destroy else "deleted"
        outcome.update({(obj, tid): (state, None) for tid in ids if tid in removed})
        leftover = [tid for tid in ids if tid not in removed]
        if leftover:
            outcome.update(_check_leftovers(client, obj, leftover, destroy=destroy))
    return [outcome[(obj, tid)] for obj, _row, tid in chunk]


def _check_leftovers(
    client: TwentyClient, obj: str, ids: list[str], *, destroy: bool
) -> dict[tuple[str, str], tuple[str, str | None]]:
    """Ids a delete did not report: already soft-deleted, gone, or still there."""
    try:
        found = {r["id"]: r for r in client.find_by_ids(obj, ids, fields="id deletedAt")}
    except TwentyAPIError as exc:
        return {(obj, tid): ("failed", str(exc)) for tid in ids}
    out: dict[tuple[str, str], tuple[str, str | None]] = {}
    for tid in ids:
        record = found.get(tid)
        if record is None:
            out[(obj, tid)] = ("gone", None)
        elif not destroy and record.get("deletedAt"):
            out[(obj, tid)] = ("deleted", None)
        else:
            out[(obj, tid)] = ("failed", "Twenty did not report the record deleted")
    return out


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
