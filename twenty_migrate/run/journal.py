"""The durable record of one import run: one SQLite file per run.

``<runs_dir>/<run_id>/journal.sqlite`` (WAL, ``synchronous=FULL``) holds the plan, the id
each row will carry in Twenty (derived from the row, :mod:`~twenty_migrate.plan.record_ids`,
and written before anything is sent), every request attempt and each row's outcome. The
importer writes *before* a request goes out (batch ``sent``, an attempt row) and *after* its
answer (row outcomes, batch status and the attempt's result in one transaction), so a crash
at any instant, even ``kill -9``, leaves a journal that says exactly what may have reached
Twenty: a batch found ``sent`` without an answer is *ambiguous* and is reconciled on resume
by re-sending the same idempotent upsert.

Its tables are described with their schema in :mod:`~twenty_migrate.run.runs`.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from twenty_migrate.plan.plan import ImportPlan
from twenty_migrate.run.journal_reading import JournalReading
from twenty_migrate.run.runs import (
    JOURNAL_FILE,
    SCHEMA,
    SCHEMA_VERSION,
    BatchState,
    BatchStatus,
    PendingRow,
    RowOutcome,
    add_stats,
    check_run_id,
    connect,
    finish_attempt,
    has_run,
    list_run_ids,
    now_iso,
    regroup_step,
    row_fingerprint,
    scrub,
    slug,
    upgrade,
    write_outcomes,
)
from twenty_migrate.twenty.errors import JournalError, PlanMismatchError
from twenty_migrate.values.payloads import RowId, canonical_json

#: Why a changed row of a create-only step that landed before is not sent again.
_CREATE_ONLY = (
    "already imported by an earlier run of this migration; the step is create-only "
    "(upsert=False), so its changed values are not sent: use upsert=True to update the record"
)

__all__ = ["RunJournal"]


class RunJournal(JournalReading):
    """One run's SQLite journal. Thread-safe: every method is one transaction under a lock.

    Create one with :meth:`create` (the importer does) and reopen it with :meth:`open`.

    Example:
        >>> journal = RunJournal.open("runs", "2026-11-23T12-30-05_people")
        >>> journal.summary()["counts"]
        {'people': {'created': 940, 'updated': 52, 'unchanged': 0, 'failed': 8, 'pending': 0}}
        >>> journal.rows_frame().query("status == 'failed'")
    """

    def __init__(self, path: Path, run_id: str, conn: sqlite3.Connection) -> None:
        self.path = path
        self.run_id = run_id
        self._conn = conn
        self._lock = threading.RLock()
        self._closed = False

    def __repr__(self) -> str:
        return f"RunJournal(run_id={self.run_id!r}, path={str(self.path)!r})"

    # ------------------------------------------------------------------ opening

    @staticmethod
    def path_for(runs_dir: str | os.PathLike[str], run_id: str) -> Path:
        """Where the journal of ``run_id`` lives."""
        return Path(runs_dir) / check_run_id(run_id) / JOURNAL_FILE

    @classmethod
    def exists(cls, runs_dir: str | os.PathLike[str], run_id: str) -> bool:
        """Whether a complete journal for ``run_id`` is in ``runs_dir``."""
        path = cls.path_for(runs_dir, run_id)
        if not path.is_file():
            return False
        conn = connect(path)
        try:
            return has_run(conn)
        finally:
            conn.close()

    @classmethod
    def open(cls, runs_dir: str | os.PathLike[str], run_id: str) -> RunJournal:
        """Open the journal of an existing run.

        Raises:
            JournalError: No such run, or its journal was never completed (the process
                stopped while planning, before anything was sent).
        """
        path = cls.path_for(runs_dir, run_id)
        if not path.is_file():
            known = ", ".join(list_run_ids(runs_dir)[-5:]) or "none"
            raise JournalError(
                f"no run {run_id!r} in {Path(runs_dir)} (recent runs: {known})", run_id=run_id
            )
        conn = connect(path)
        if not has_run(conn):
            conn.close()
            raise JournalError(
                f"run {run_id!r} was never fully planned (the process stopped before sending "
                "anything); start it again with the same run_id",
                run_id=run_id,
            )
        upgrade(conn)
        return cls(path, run_id, conn)

    @classmethod
    def create(
        cls,
        runs_dir: str | os.PathLike[str],
        plan: ImportPlan,
        *,
        run_id: str | None = None,
        kind: str = "run",
        settings: Mapping[str, Any] | None = None,
        base_url: str | None = None,
        reuse_ids: Mapping[tuple[str, RowId], str] | None = None,
        previous: Mapping[tuple[str, str], tuple[str, str]] | None = None,
        send_unchanged: bool = False,
    ) -> RunJournal:
        """Write a new run's journal: the plan, its batches and one id per row.

        Everything is written in one transaction before anything can be sent.

        Args:
            runs_dir: Directory of runs (created if needed).
            plan: The plan to run.
            run_id: Name of the run (default: UTC timestamp and plan label, e.g.
                ``2026-11-23T12-30-05_people``, with ``-2``, ``-3`` ... when taken).
            kind: ``"run"`` or ``"test_batch"``.
            settings: JSON-safe settings to keep; keys that look secret are dropped.
            base_url: The workspace written to.
            reuse_ids: Ids to send for some ``(object, _row)`` (from an earlier test batch,
                so its records are updated rather than created twice).
            previous: What earlier runs of this migration left in Twenty, ``(object,
                identity)`` to ``(fingerprint, twenty_id)`` (:func:`~twenty_migrate.run.runs.
                landed_fingerprints`). Rows whose fingerprint matches are ``unchanged`` and
                never sent; other rows of upsert steps are sent with the id they landed
                with, so they update that record (and count ``updated``). A row of a
                create-only step that landed before is never sent again.
            send_unchanged: Send the rows whose fingerprint matches too (as updates).

        Raises:
            JournalError: ``run_id`` is already a complete run.
        """
        root = Path(runs_dir)
        root.mkdir(parents=True, exist_ok=True)
        directory = cls._claim(root, run_id, plan.label)
        path = directory / JOURNAL_FILE
        if path.exists():  # an earlier attempt stopped before its plan was committed
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        conn = connect(path)
        journal = cls(path, directory.name, conn)
        try:
            journal._initialise(
                plan,
                kind,
                settings or {},
                base_url,
                reuse_ids or {},
                previous or {},
                send_unchanged,
            )
        except BaseException:
            conn.close()
            raise
        return journal

    @staticmethod
    def _claim(root: Path, run_id: str | None, label: str) -> Path:
        if run_id is not None:
            directory = root / check_run_id(run_id)
            directory.mkdir(exist_ok=True)
            path = directory / JOURNAL_FILE
            if path.is_file():
                conn = connect(path)
                try:
                    if has_run(conn):
                        raise JournalError(
                            f"run {run_id!r} already exists in {root}; resume it or pick "
                            "another run_id",
                            run_id=run_id,
                        )
                finally:
                    conn.close()
            return directory
        base = f"{datetime.now(timezone.utc):%Y-%m-%dT%H-%M-%S}_{slug(label)}"
        for n in range(1, 1000):
            directory = root / (base if n == 1 else f"{base}-{n}")
            try:
                directory.mkdir()
            except FileExistsError:
                continue
            return directory
        raise JournalError(f"could not find a free run id for {base!r} in {root}")

    def _initialise(
        self,
        plan: ImportPlan,
        kind: str,
        settings: Mapping[str, Any],
        base_url: str | None,
        reuse_ids: Mapping[tuple[str, RowId], str],
        previous: Mapping[tuple[str, str], tuple[str, str]],
        send_unchanged: bool,
    ) -> None:
        sources = [step.sources() for step in plan.steps]
        batch_rows: list[tuple[Any, ...]] = []
        row_rows: list[tuple[Any, ...]] = []
        identities = plan.identities()  # one source of truth with the derived ids
        record_ids = plan.record_ids()
        for number, batch in enumerate(plan.batches()):
            settled = 0
            for row, payload in zip(batch.rows, batch.payloads, strict=True):
                identity = identities[(batch.object, row)]
                fingerprint = row_fingerprint(payload, record_ids)
                given = payload.get("id")  # an id column in the data targets that record
                explicit = isinstance(given, str) and bool(given)
                derived = record_ids[(batch.object, row)]  # the id column's value, if any
                sent_id = derived if explicit else reuse_ids.get((batch.object, row)) or derived
                status, twenty_id, existing, error = "pending", None, 0, None
                earlier = previous.get((batch.object, identity))
                if earlier is not None:
                    landed_id = earlier[1]
                    same = earlier[0] == fingerprint
                    if same and (not send_unchanged or not batch.upsert):
                        status, twenty_id = "unchanged", landed_id
                    elif not batch.upsert:
                        status, twenty_id, error = "failed", landed_id, _CREATE_ONLY
                    elif not explicit or given == landed_id:
                        sent_id, existing = landed_id, 1  # update the record it landed in
                settled += status != "pending"
                source = sources[batch.step].get(row)
                source_json = None if source is None else canonical_json(source)
                row_rows.append((batch.object, row, len(row_rows), batch.step, batch.batch_id))
                row_rows[-1] += (sent_id, twenty_id or sent_id, canonical_json(payload))
                row_rows[-1] += (source_json,)
                row_rows[-1] += (identity, fingerprint, existing, status, error)
                row_rows[-1] += (None if error is None else "ALREADY_IMPORTED",)
            done = settled == len(batch)
            batch_rows.append((batch.batch_id, number, batch.step, batch.object, batch.upsert))
            batch_rows[-1] += (batch.key, len(batch), "succeeded" if done else "pending")
        run = {
            "run_id": self.run_id,
            "name": plan.label,
            "kind": kind,
            "fingerprint": plan.fingerprint(),
            "plan": json.dumps(plan.to_json(), ensure_ascii=False),
            "settings": canonical_json(scrub(settings)),
            "base_url": base_url,
            "status": "planned",
            "created_at": now_iso(),
            "schema_version": SCHEMA_VERSION,
        }
        with self._transaction() as conn:
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(
                f"INSERT INTO run ({', '.join(run)}) VALUES ({', '.join(':' + k for k in run)})",
                run,
            )
            conn.executemany(
                "INSERT INTO batches (batch_id, seq, step, object, upsert, key, n_rows, status)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                batch_rows,
            )
            conn.executemany(
                "INSERT INTO rows (object, _row, seq, step, batch_id, sent_id, twenty_id, payload,"
                " source, identity, fingerprint, existing, status, error, error_code)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                row_rows,
            )

    # ------------------------------------------------------------------ plumbing

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._closed:
                raise JournalError(f"journal of run {self.run_id!r} is closed", run_id=self.run_id)
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            if self._closed:
                raise JournalError(f"journal of run {self.run_id!r} is closed", run_id=self.run_id)
            return list(self._conn.execute(sql, params).fetchall())

    def close(self) -> None:
        """Checkpoint the WAL into the main file and close. Safe to call twice."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            with contextlib.suppress(sqlite3.Error):
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._conn.close()

    def __enter__(self) -> RunJournal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ the run

    def info(self) -> dict[str, Any]:
        """The run row (without the plan), settings decoded."""
        row = self._query(
            "SELECT run_id, name, kind, fingerprint, settings, base_url, status, created_at,"
            " started_at, finished_at, duration_s, calls, throttled, retried, schema_version"
            " FROM run"
        )[0]
        data = dict(row)
        data["settings"] = json.loads(data["settings"])
        return data

    @property
    def fingerprint(self) -> str:
        """The plan fingerprint the run started with."""
        return str(self._query("SELECT fingerprint FROM run")[0][0])

    @property
    def kind(self) -> str:
        """``"run"`` or ``"test_batch"``."""
        return str(self._query("SELECT kind FROM run")[0][0])

    @property
    def settings(self) -> dict[str, Any]:
        """The settings the run was started with (never the API key)."""
        value: dict[str, Any] = json.loads(self._query("SELECT settings FROM run")[0][0])
        return value

    def plan(self) -> ImportPlan:
        """The plan, rebuilt from the journal."""
        return ImportPlan.from_json(json.loads(self._query("SELECT plan FROM run")[0][0]))

    def check_plan(self, plan: ImportPlan) -> None:
        """Raise :class:`PlanMismatchError` unless ``plan`` is the one the run started with."""
        if plan.fingerprint() != self.fingerprint:
            raise PlanMismatchError(
                f"run {self.run_id!r} was started with another plan (fingerprint "
                f"{self.fingerprint[:12]}, this one {plan.fingerprint()[:12]}). Resume it with "
                "its own plan (Importer.resume(run_id) reads it from the journal), or start a "
                "new run for the changed data.",
                run_id=self.run_id,
            )

    def set_status(self, status: str, *, started: bool = False, finished: bool = False) -> None:
        """Set the run status (``running``, ``interrupted``, ``incomplete``, ``completed`` ...)."""
        with self._transaction() as conn:
            conn.execute("UPDATE run SET status = ?", (status,))
            if started:
                conn.execute("UPDATE run SET started_at = COALESCE(started_at, ?)", (now_iso(),))
            if finished:
                conn.execute("UPDATE run SET finished_at = ?", (now_iso(),))

    def add_stats(
        self, *, duration_s: float = 0.0, calls: int = 0, throttled: int = 0, retried: int = 0
    ) -> None:
        """Add to the run's running totals (kept across resumed sessions)."""
        with self._transaction() as conn:
            add_stats(conn, duration_s, calls, throttled, retried)

    # ------------------------------------------------------------------ batches

    def pending_batches(self) -> list[BatchState]:
        """Batches with work left, in plan order; within a step, unanswered ones first."""
        batches = self._query(
            "SELECT batch_id, object, step, status, upsert, key, attempts FROM batches"
            " WHERE status NOT IN ('succeeded', 'failed', 'split')"
            " ORDER BY step, CASE WHEN status IN ('sent', 'ambiguous') THEN 0 ELSE 1 END,"
            " seq, batch_id"
        )
        pending: dict[str, list[PendingRow]] = {}
        for r in self._query(
            "SELECT batch_id, _row, sent_id, payload FROM rows WHERE status = 'pending'"
            " ORDER BY seq"
        ):
            row = PendingRow(r["_row"], r["sent_id"], json.loads(r["payload"]))
            pending.setdefault(r["batch_id"], []).append(row)
        return [
            BatchState(
                batch_id=b["batch_id"],
                object=b["object"],
                step=int(b["step"]),
                status=b["status"],
                upsert=bool(b["upsert"]),
                key=b["key"],
                attempts=int(b["attempts"]),
                rows=tuple(pending.get(b["batch_id"], ())),
            )
            for b in batches
        ]

    def mark_sent(
        self,
        batch_id: str,
        rows: Sequence[RowId],
        *,
        outcome: str | None = None,
        n_records: int | None = None,
    ) -> int:
        """Record that a request for ``rows`` of ``batch_id`` is about to go out.

        Args:
            batch_id: The batch.
            rows: The rows in the request (their ``attempts`` go up by one).
            outcome: Preset outcome (``"lookup"`` for a read that checks what landed).
            n_records: Records in the request when not ``len(rows)``.

        Returns:
            The attempt number (1 for the first request of this batch).
        """
        started = now_iso()
        with self._transaction() as conn:
            row = conn.execute(
                "SELECT object, attempts FROM batches WHERE batch_id = ?", (batch_id,)
            ).fetchone()
            if row is None:
                raise JournalError(f"unknown batch {batch_id!r}", run_id=self.run_id)
            attempt = int(row["attempts"]) + 1
            conn.execute(
                "UPDATE batches SET status = 'sent', attempts = ?, updated_at = ?"
                " WHERE batch_id = ?",
                (attempt, started, batch_id),
            )
            conn.execute(
                "INSERT INTO attempts (batch_id, attempt, started_at, n_records, outcome)"
                " VALUES (?, ?, ?, ?, ?)",
                (batch_id, attempt, started, len(rows) if n_records is None else n_records)
                + (outcome,),
            )
            conn.executemany(
                "UPDATE rows SET attempts = attempts + 1,"
                " first_sent_at = COALESCE(first_sent_at, ?) WHERE object = ? AND _row = ?",
                [(started, row["object"], r) for r in rows],
            )
        return attempt

    def settle_rows(self, rows: Sequence[RowOutcome]) -> None:
        """Give rows an outcome without a request (e.g. the record they point to failed)."""
        with self._transaction() as conn:
            write_outcomes(conn, rows, now_iso())

    def targets(self, keys: Iterable[tuple[str, RowId]]) -> dict[tuple[str, RowId], sqlite3.Row]:
        """``status``, ``twenty_id`` and ``error`` of the rows ``(object, _row)`` (known ones)."""
        found: dict[tuple[str, RowId], sqlite3.Row] = {}
        for obj, row in keys:
            hit = self._query(
                "SELECT status, twenty_id, error FROM rows WHERE object = ? AND _row = ?",
                (obj, row),
            )
            if hit:
                found[(obj, row)] = hit[0]
        return found

    def close_batch(self, batch_id: str) -> None:
        """Settle a batch none of whose rows is pending any more."""
        with self._transaction() as conn:
            failed = conn.execute(
                "SELECT COUNT(*) FROM rows WHERE batch_id = ? AND status = 'failed'", (batch_id,)
            ).fetchone()[0]
            total = conn.execute(
                "SELECT COUNT(*) FROM rows WHERE batch_id = ?", (batch_id,)
            ).fetchone()[0]
            status = "failed" if total and failed == total else "succeeded"
            conn.execute(
                "UPDATE batches SET status = ?, updated_at = ? WHERE batch_id = ?",
                (status, now_iso(), batch_id),
            )

    def record_answer(
        self,
        batch_id: str,
        attempt: int,
        *,
        outcome: str,
        batch_status: BatchStatus,
        rows: Sequence[RowOutcome] = (),
        http_status: int | None = None,
        message: str | None = None,
        elapsed_ms: float | None = None,
        stats: Mapping[str, float] | None = None,
    ) -> None:
        """Record an answer (or its absence) in one transaction: the attempt's result, the
        row outcomes and the batch status (plus optional run totals)."""
        finished = now_iso()
        with self._transaction() as conn:
            finish_attempt(
                conn, batch_id, attempt, finished, outcome, http_status, message, elapsed_ms
            )
            write_outcomes(conn, rows, finished)
            conn.execute(
                "UPDATE batches SET status = ?, updated_at = ? WHERE batch_id = ?",
                (batch_status, finished, batch_id),
            )
            if stats:
                add_stats(conn, **stats)

    def split(
        self,
        batch_id: str,
        attempt: int | None,
        children: Sequence[tuple[str, Sequence[RowId]]],
        *,
        outcome: str,
        failed: Sequence[RowOutcome] = (),
        http_status: int | None = None,
        message: str | None = None,
        elapsed_ms: float | None = None,
        stats: Mapping[str, float] | None = None,
    ) -> None:
        """Replace a refused batch by smaller ones, in one transaction.

        ``failed`` rows (the ones Twenty's message named) get their outcome now; the others
        move to the ``children`` batches, which start ``pending``.
        """
        finished = now_iso()
        with self._transaction() as conn:
            parent = conn.execute(
                "SELECT object FROM batches WHERE batch_id = ?", (batch_id,)
            ).fetchone()
            if parent is None:
                raise JournalError(f"unknown batch {batch_id!r}", run_id=self.run_id)
            if attempt is not None:
                finish_attempt(
                    conn, batch_id, attempt, finished, outcome, http_status, message, elapsed_ms
                )
            write_outcomes(conn, failed, finished)
            for child_id, child_rows in children:
                conn.execute(
                    "INSERT INTO batches (batch_id, seq, step, object, upsert, key, parent,"
                    " status, n_rows, updated_at) SELECT ?, seq, step, object, upsert, key,"
                    " batch_id, 'pending', ?, ? FROM batches WHERE batch_id = ?",
                    (child_id, len(child_rows), finished, batch_id),
                )
                conn.executemany(
                    "UPDATE rows SET batch_id = ? WHERE object = ? AND _row = ?",
                    [(child_id, parent["object"], r) for r in child_rows],
                )
            conn.execute(
                "UPDATE batches SET status = 'split', updated_at = ? WHERE batch_id = ?",
                (finished, batch_id),
            )
            if stats:
                add_stats(conn, **stats)

    def regroup(self, step: int, size: int, max_bytes: int) -> int:
        """Re-cut the step's unsent batches to ``size`` rows (:func:`runs.regroup_step`)."""
        with self._transaction() as conn:
            return regroup_step(conn, step, size, max_bytes, now_iso())
