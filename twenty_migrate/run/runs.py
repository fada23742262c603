"""Where run journals live and how they are stored.

* The runs directory: one folder per run (``<runs_dir>/<run_id>/journal.sqlite``), run ids
  (``2026-11-23T12-30-05_people``), :func:`~twenty_migrate.list_runs` to see them all.
* The journal's SQLite schema, its row types (:class:`RowOutcome`, :class:`PendingRow`,
  :class:`BatchState`) and the few SQL statements shared by its writers.

:class:`~twenty_migrate.RunJournal` is the API over one journal.

Tables::

    run       run_id, name, kind, fingerprint, plan (JSON), settings (JSON, never the API
              key), base_url, status, created_at, started_at, finished_at, duration_s,
              calls, throttled, retried, schema_version
    batches   batch_id, seq, step, object, upsert, key, parent, status
              (pending/sent/succeeded/failed/ambiguous/split), attempts, n_rows, updated_at
    rows      object, _row, seq, step, batch_id, sent_id (the id assigned here), twenty_id
              (the record's id in Twenty), payload (JSON), source (JSON), identity (the
              row's unique key value, else its _row), fingerprint (hash of the payload),
              existing (sent with the id of a record an earlier run created), status
              (pending/created/updated/unchanged/failed), error, error_code, attempts,
              first_sent_at, finished_at
    attempts  batch_id, attempt, started_at, finished_at, outcome (ok/throttled/
              server_error/dropped/bad_request/timeout/error/lookup, too_many: refused whole
              for exceeding the server's per-call cap, quota: refused whole by a quota),
              http_status, message, n_records, elapsed_ms

Other tools may add tables of their own (rollback does).
"""

from __future__ import annotations

import hashlib
import os
import re
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from twenty_migrate.twenty.errors import JournalError
from twenty_migrate.values.payloads import REF_KEY, RowId, canonical_json, is_ref

if TYPE_CHECKING:
    pass

__all__ = [
    "BATCH_STATUSES",
    "JOURNAL_FILE",
    "ROW_STATUSES",
    "BatchState",
    "PendingRow",
    "RowOutcome",
    "list_run_ids",
    "rollback_status",
    "row_fingerprint",
    "row_identity",
]

JOURNAL_FILE = "journal.sqlite"
SCHEMA_VERSION = 2
RowStatus: TypeAlias = Literal["pending", "created", "updated", "unchanged", "failed"]
BatchStatus: TypeAlias = Literal["pending", "sent", "succeeded", "failed", "ambiguous", "split"]
ROW_STATUSES: tuple[str, ...] = ("created", "updated", "unchanged", "failed", "pending")
BATCH_STATUSES: tuple[str, ...] = ("pending", "sent", "succeeded", "failed", "ambiguous", "split")
#: Batch statuses with nothing left to do.
DONE_BATCH = ("succeeded", "failed", "split")
#: Settings keys never written, whatever a caller passes (belt and braces: the importer
#: never passes the key in the first place).
_SECRET_KEY_RE = re.compile(r"key|token|secret|password|authorization|bearer", re.IGNORECASE)
_RUN_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$")

SCHEMA = """
CREATE TABLE IF NOT EXISTS run (
    run_id TEXT PRIMARY KEY,
    name TEXT,
    kind TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    plan TEXT NOT NULL,
    settings TEXT NOT NULL,
    base_url TEXT,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT,
    duration_s REAL NOT NULL DEFAULT 0,
    calls INTEGER NOT NULL DEFAULT 0,
    throttled INTEGER NOT NULL DEFAULT 0,
    retried INTEGER NOT NULL DEFAULT 0,
    schema_version INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS batches (
    batch_id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    step INTEGER NOT NULL,
    object TEXT NOT NULL,
    upsert INTEGER NOT NULL,
    key TEXT,
    parent TEXT,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    n_rows INTEGER NOT NULL,
    updated_at TEXT
);
CREATE TABLE IF NOT EXISTS rows (
    object TEXT NOT NULL,
    _row NOT NULL,
    seq INTEGER NOT NULL,
    step INTEGER NOT NULL,
    batch_id TEXT NOT NULL,
    sent_id TEXT NOT NULL,
    twenty_id TEXT,
    payload TEXT NOT NULL,
    source TEXT,
    identity TEXT,
    fingerprint TEXT,
    existing INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL,
    error TEXT,
    error_code TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    first_sent_at TEXT,
    finished_at TEXT,
    PRIMARY KEY (object, _row)
);
CREATE INDEX IF NOT EXISTS rows_by_batch ON rows (batch_id);
CREATE TABLE IF NOT EXISTS attempts (
    batch_id TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    outcome TEXT,
    http_status INTEGER,
    message TEXT,
    n_records INTEGER NOT NULL,
    elapsed_ms REAL,
    PRIMARY KEY (batch_id, attempt)
);
"""

ROW_COLUMNS = [
    "object",
    "_row",
    "twenty_id",
    "status",
    "error",
    "error_code",
    "attempts",
    "batch_id",
    "first_sent_at",
    "finished_at",
    "duration_ms",
    "sent_id",
    "step",
]


def now_iso() -> str:
    """UTC now as ``2026-11-23T12:30:05.123Z``."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class RowOutcome:
    """The outcome of one row, as the importer records it."""

    object: str
    row: RowId
    status: str
    twenty_id: str | None = None
    error: str | None = None
    error_code: str | None = None


@dataclass(frozen=True)
class PendingRow:
    """A row still to be written: its id in the plan, the id it is sent with, its payload."""

    row: RowId
    sent_id: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class BatchState:
    """A batch with work left, as read back from the journal."""

    batch_id: str
    object: str
    step: int
    status: BatchStatus
    upsert: bool
    key: str | None
    attempts: int
    rows: tuple[PendingRow, ...]

    @property
    def unanswered(self) -> bool:
        """Sent before without an answer: Twenty may already have applied it."""
        return self.status in ("sent", "ambiguous")


def slug(text: str) -> str:
    """A run-id-safe version of a plan label."""
    slug = re.sub(r"[^A-Za-z0-9_+-]+", "-", text).strip("-")
    return slug[:60] or "run"


def check_run_id(run_id: str) -> str:
    """``run_id`` if it is a safe directory name, else JournalError."""
    if not isinstance(run_id, str) or not _RUN_ID_RE.match(run_id) or ".." in run_id:
        raise JournalError(
            f"invalid run id {run_id!r}: use letters, digits and . _ + - only", run_id=str(run_id)
        )
    return run_id


def scrub(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Settings without any key that looks like a secret."""
    out: dict[str, Any] = {}
    for key, value in settings.items():
        if _SECRET_KEY_RE.search(str(key)):
            continue
        out[str(key)] = scrub(value) if isinstance(value, Mapping) else value
    return out


def connect(path: Path) -> sqlite3.Connection:
    """A connection to a journal file: WAL, ``synchronous=FULL``, autocommit."""
    conn = sqlite3.connect(str(path), timeout=30.0, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def has_run(conn: sqlite3.Connection) -> bool:
    """Whether the journal's plan was committed (a run row exists)."""
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'run'"
    ).fetchone()
    return bool(exists) and conn.execute("SELECT 1 FROM run").fetchone() is not None


def finish_attempt(
    conn: sqlite3.Connection,
    batch_id: str,
    attempt: int,
    finished: str,
    outcome: str,
    http_status: int | None,
    message: str | None,
    elapsed_ms: float | None,
) -> None:
    """Close an attempt with its outcome."""
    conn.execute(
        "UPDATE attempts SET finished_at = ?, outcome = ?, http_status = ?, message = ?,"
        " elapsed_ms = ? WHERE batch_id = ? AND attempt = ?",
        (finished, outcome, http_status, message, elapsed_ms, batch_id, attempt),
    )


def write_outcomes(conn: sqlite3.Connection, rows: Sequence[RowOutcome], finished: str) -> None:
    """Write row outcomes (a ``None`` twenty_id keeps the assigned one).

    A row sent with the id of a record an earlier run created (``existing``) updated it. A
    row whose record could not be told (``UNMATCHED``) keeps no id rather than a wrong one.
    """
    conn.executemany(
        "UPDATE rows SET status = CASE WHEN existing = 1 AND ?1 = 'created' THEN 'updated'"
        " ELSE ?1 END, twenty_id = CASE WHEN ?4 = 'UNMATCHED' THEN NULL"
        " ELSE COALESCE(?2, twenty_id) END, error = ?3,"
        " error_code = ?4, finished_at = ?5 WHERE object = ?6 AND _row = ?7",
        [(r.status, r.twenty_id, r.error, r.error_code, finished, r.object, r.row) for r in rows],
    )


#: Bytes the importer adds to each record (its ``"id": "<uuid>"``); plan.ID_OVERHEAD_BYTES.
_ID_OVERHEAD_BYTES = 48


def regroup_step(
    conn: sqlite3.Connection, step: int, size: int, max_bytes: int, finished: str
) -> int:
    """Re-cut the unsent batches of ``step`` into batches of at most ``size`` rows.

    Used when the server's per-call cap turns out smaller than the planned batches: the
    rows of every ``pending`` batch of the step (never sent, or refused whole so nothing
    was written) move, in plan order, into new batches ``{object}-s{size}-{n}`` within
    ``size`` rows and ``max_bytes``; the old batches become ``split``. Batches that may have
    landed (``sent``, ``ambiguous``) are left alone. Returns the number of new batches (0:
    every pending batch already fits).
    """
    olds = conn.execute(
        "SELECT batch_id, seq, object, upsert, key FROM batches"
        " WHERE step = ? AND status = 'pending' ORDER BY seq, batch_id",
        (step,),
    ).fetchall()
    if not olds:
        return 0
    marks = ", ".join("?" * len(olds))
    ids = [b["batch_id"] for b in olds]
    rows = conn.execute(
        "SELECT _row, batch_id, length(CAST(payload AS BLOB)) AS n FROM rows"
        f" WHERE status = 'pending' AND batch_id IN ({marks}) ORDER BY seq",
        ids,
    ).fetchall()
    per_batch: dict[str, int] = {}
    for r in rows:
        per_batch[r["batch_id"]] = per_batch.get(r["batch_id"], 0) + 1
    if not rows or max(per_batch.values()) <= size:
        return 0
    first = olds[0]
    seq_of = {b["batch_id"]: b["seq"] for b in olds}
    groups: list[list[sqlite3.Row]] = [[]]
    n_bytes = 0
    for r in rows:
        n = int(r["n"]) + _ID_OVERHEAD_BYTES
        if groups[-1] and (len(groups[-1]) >= size or n_bytes + n > max_bytes):
            groups.append([])
            n_bytes = 0
        groups[-1].append(r)
        n_bytes += n
    prefix = f"{first['object']}-s{size}"
    taken = conn.execute(
        "SELECT COUNT(*) FROM batches WHERE batch_id LIKE ?", (prefix + "-%",)
    ).fetchone()[0]
    for number, group in enumerate(groups, int(taken) + 1):
        batch_id = f"{prefix}-{number:05d}"
        parent = group[0]["batch_id"]
        conn.execute(
            "INSERT INTO batches (batch_id, seq, step, object, upsert, key, parent, status,"
            " n_rows, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)",
            (batch_id, seq_of[parent], step, first["object"], first["upsert"], first["key"])
            + (parent, len(group), finished),
        )
        conn.executemany(
            "UPDATE rows SET batch_id = ? WHERE object = ? AND _row = ?",
            [(batch_id, first["object"], r["_row"]) for r in group],
        )
    conn.execute(
        f"UPDATE batches SET status = 'split', updated_at = ? WHERE batch_id IN ({marks})",
        [finished, *ids],
    )
    return len(groups)


def add_stats(
    conn: sqlite3.Connection,
    duration_s: float = 0.0,
    calls: float = 0,
    throttled: float = 0,
    retried: float = 0,
) -> None:
    """Add to the run's totals."""
    conn.execute(
        "UPDATE run SET duration_s = duration_s + ?, calls = calls + ?,"
        " throttled = throttled + ?, retried = retried + ?",
        (float(duration_s), int(calls), int(throttled), int(retried)),
    )


def duration_ms(start: str | None, end: str | None) -> float | None:
    """Milliseconds between two ISO timestamps, or None."""
    if not start or not end:
        return None
    begin = datetime.fromisoformat(start.replace("Z", "+00:00"))
    stop = datetime.fromisoformat(end.replace("Z", "+00:00"))
    return (stop - begin).total_seconds() * 1000


def list_run_ids(runs_dir: str | os.PathLike[str]) -> list[str]:
    """Ids of the runs in ``runs_dir`` that have a journal file, sorted."""
    root = Path(runs_dir)
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / JOURNAL_FILE).is_file())


def rollback_status(conn: sqlite3.Connection) -> str | None:
    """``rolled back``, ``partly rolled back`` (some deletes failed) or ``rollback
    interrupted`` after the latest rollback of a run; None when it was never rolled back."""
    if not _has_table(conn, "rollback_runs"):
        return None
    latest = conn.execute(
        "SELECT finished_at, failed FROM rollback_runs ORDER BY rowid DESC LIMIT 1"
    ).fetchone()
    if latest is None:
        return None
    if latest["finished_at"] is None:
        return "rollback interrupted"
    return "partly rolled back" if latest["failed"] else "rolled back"


def row_identity(payload: Mapping[str, Any], key: str | None, row: RowId) -> str:
    """What names a source row across versions of its file: its unique key's value when the
    step has one (``key:ada@example.com``), else its ``_row`` id (``row:12``)."""
    if key:
        value: Any = payload
        for part in key.split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
        if value is not None and value != "":
            return f"key:{canonical_json(value)}"
    return f"row:{canonical_json(row)}"


def row_fingerprint(payload: Mapping[str, Any], targets: Mapping[tuple[str, RowId], str]) -> str:
    """A hash of what a row would write. A relation marker counts as its target's entry in
    ``targets`` (the record id the plan gives that row, which comes from its identity), so
    a parent that only moved within its file does not make its children look changed, and
    a link written as the parent's Twenty id (a re-run finds it in Twenty) counts the same
    as one written as its ``_row``."""

    def stable(value: Any) -> Any:
        if is_ref(value):
            obj, row = value[REF_KEY]
            return targets.get((obj, row), {REF_KEY: [obj, f"row:{canonical_json(row)}"]})
        if isinstance(value, Mapping):
            return {k: stable(v) for k, v in value.items()}
        if isinstance(value, list):
            return [stable(v) for v in value]
        return value

    text = canonical_json(stable(payload))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


#: Landed records looked up per object before a re-run trusts its journals (one call).
PRESENCE_SAMPLE = 60


#: Run statuses of a run that sent every row (some may have failed).
FINISHED_RUN = ("completed", "completed_with_failures")


#: Row columns added after the first journal format, with their SQL definitions.
_ADDED_ROW_COLUMNS = {
    "identity": "TEXT",
    "fingerprint": "TEXT",
    "existing": "INTEGER NOT NULL DEFAULT 0",
}


def upgrade(conn: sqlite3.Connection) -> None:
    """Bring a journal written by an earlier version up to the current row columns."""
    have = {r[1] for r in conn.execute("PRAGMA table_info(rows)")}
    missing = [(name, sql) for name, sql in _ADDED_ROW_COLUMNS.items() if name not in have]
    if not missing:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        for name, sql in missing:
            conn.execute(f"ALTER TABLE rows ADD COLUMN {name} {sql}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _has_table(conn: sqlite3.Connection, table: str) -> bool:
    query = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
    return conn.execute(query, (table,)).fetchone() is not None
