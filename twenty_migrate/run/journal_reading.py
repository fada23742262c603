"""The read side of a run journal: frames of rows, batches and attempts, counts, summary.
:class:`~twenty_migrate.RunJournal` builds on it."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from twenty_migrate.run.runs import ROW_COLUMNS, ROW_STATUSES, duration_ms

__all__ = ["JournalReading"]


class JournalReading:
    """Read-only views of one run's journal."""

    path: Path

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        raise NotImplementedError

    def info(self) -> dict[str, Any]:
        raise NotImplementedError

    def rows_frame(self, *, payload: bool = False, source: bool = False) -> pd.DataFrame:
        """One line per planned row: its outcome, Twenty id, error and timings.

        Columns: ``object, _row, twenty_id, status, error, error_code, attempts, batch_id,
        first_sent_at, finished_at, duration_ms, sent_id, step`` (+ ``payload`` / ``source``
        as dicts when asked). ``twenty_id`` is the record the row landed in: the id
        assigned here when ``created``, the existing record's id when ``updated``.
        """
        extra = (", payload" if payload else "") + (", source" if source else "")
        rows = self._query(
            "SELECT object, _row, twenty_id, status, error, error_code, attempts, batch_id,"
            " first_sent_at, finished_at, sent_id, step" + extra + " FROM rows ORDER BY seq"
        )
        records = []
        for r in rows:
            record = dict(r)
            record["duration_ms"] = duration_ms(record["first_sent_at"], record["finished_at"])
            for name in ("payload", "source"):
                if name in record:
                    record[name] = None if record[name] is None else json.loads(record[name])
            records.append(record)
        columns = ROW_COLUMNS + [c for c in ("payload", "source") if c in extra]
        frame = pd.DataFrame.from_records(records, columns=columns)
        frame["_row"] = frame["_row"].astype(object)
        frame["attempts"] = frame["attempts"].astype("int64")
        frame["step"] = frame["step"].astype("int64")
        return frame

    def failures_frame(self) -> pd.DataFrame:
        """The failed rows (``rows_frame`` columns plus ``source``)."""
        frame = self.rows_frame(source=True)
        return frame[frame["status"] == "failed"].reset_index(drop=True)

    def batches_frame(self) -> pd.DataFrame:
        """One line per batch (split parents included)."""
        rows = self._query(
            "SELECT batch_id, object, step, status, attempts, n_rows, parent, upsert, key,"
            " updated_at FROM batches ORDER BY seq, batch_id"
        )
        columns = ["batch_id", "object", "step", "status", "attempts", "n_rows", "parent"]
        columns += ["upsert", "key", "updated_at"]
        return pd.DataFrame.from_records([dict(r) for r in rows], columns=columns)

    def attempts_frame(self) -> pd.DataFrame:
        """One line per request attempt (an unfinished one has no ``finished_at``)."""
        rows = self._query(
            "SELECT batch_id, attempt, started_at, finished_at, outcome, http_status, message,"
            " n_records, elapsed_ms FROM attempts ORDER BY started_at, batch_id, attempt"
        )
        columns = ["batch_id", "attempt", "started_at", "finished_at", "outcome", "http_status"]
        columns += ["message", "n_records", "elapsed_ms"]
        return pd.DataFrame.from_records([dict(r) for r in rows], columns=columns)

    def counts(self) -> dict[str, dict[str, int]]:
        """Rows per object and status (every status present, in plan order of objects)."""
        rows = self._query(
            "SELECT object, status, COUNT(*) AS n, MIN(seq) AS first FROM rows"
            " GROUP BY object, status ORDER BY first"
        )
        out: dict[str, dict[str, int]] = {}
        for r in sorted(rows, key=lambda r: r["first"]):
            counts = out.setdefault(r["object"], dict.fromkeys(ROW_STATUSES, 0))
            counts[r["status"]] = int(r["n"])
        return out

    def step_counts(self) -> dict[int, dict[str, int]]:
        """Rows per plan step and status."""
        out: dict[int, dict[str, int]] = {}
        for r in self._query("SELECT step, status, COUNT(*) AS n FROM rows GROUP BY step, status"):
            out.setdefault(int(r["step"]), dict.fromkeys(ROW_STATUSES, 0))[r["status"]] = int(
                r["n"]
            )
        return out

    def summary(self) -> dict[str, Any]:
        """The run's state, counts per object/status and totals, as a JSON-safe dict.

        Keys: ``run_id, name, kind, status, fingerprint, base_url, created_at,
        started_at, finished_at, duration_s, calls, throttled, retried, rows, counts
        (object -> status -> n), totals (status -> n), batches (status -> n), path``.
        """
        info = self.info()
        counts = self.counts()
        totals = dict.fromkeys(ROW_STATUSES, 0)
        for per_object in counts.values():
            for status, n in per_object.items():
                totals[status] += n
        batches = {
            r["status"]: int(r["n"])
            for r in self._query("SELECT status, COUNT(*) AS n FROM batches GROUP BY status")
        }
        info.pop("settings", None)
        info.update(
            rows=sum(totals.values()),
            counts=counts,
            totals=totals,
            batches=batches,
            path=str(self.path),
        )
        return info

    def twenty_ids(self, status: str = "created") -> pd.DataFrame:
        """``object, _row, twenty_id`` of the rows with ``status`` (for rollback)."""
        frame = self.rows_frame()
        picked = frame[(frame["status"] == status) & frame["twenty_id"].notna()]
        return picked[["object", "_row", "twenty_id"]].reset_index(drop=True)
