"""SQLite write-through storage for the sandbox engine.

One table of records ``(object, id, json)`` and one append-only log of custom metadata
changes. Every engine write call is one transaction; WAL mode keeps committed data safe
when the process is killed.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    object TEXT NOT NULL,
    id TEXT NOT NULL,
    json TEXT NOT NULL,
    PRIMARY KEY (object, id)
);
CREATE TABLE IF NOT EXISTS metadata (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL
);
"""


class Persistence:
    """A SQLite file holding the sandbox's records and custom metadata."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        # The engine serialises every call with its lock, so one shared connection is safe.
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def metadata_changes(self) -> list[tuple[str, dict[str, Any]]]:
        """Every recorded metadata change, oldest first."""
        rows = self._db.execute("SELECT kind, payload FROM metadata ORDER BY seq").fetchall()
        return [(str(kind), json.loads(payload)) for kind, payload in rows]

    def records(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """(object name, record) for every stored record."""
        for name, raw in self._db.execute("SELECT object, json FROM records ORDER BY rowid"):
            yield str(name), json.loads(raw)

    def add_metadata_change(self, kind: str, payload: dict[str, Any]) -> None:
        """Append one metadata change (its own transaction)."""
        with self._transaction():
            self._db.execute(
                "INSERT INTO metadata (kind, payload) VALUES (?, ?)",
                (kind, json.dumps(payload, separators=(",", ":"))),
            )

    def write(self, changes: dict[str, dict[str, dict[str, Any] | None]]) -> None:
        """Apply one engine call's changes in one transaction.

        Args:
            changes: object name -> record id -> full record, or None when destroyed.
        """
        rows: list[tuple[str, str, str]] = []
        gone: list[tuple[str, str]] = []
        for object_name, records in changes.items():
            for record_id, record in records.items():
                if record is None:
                    gone.append((object_name, record_id))
                else:
                    rows.append((object_name, record_id, json.dumps(record, separators=(",", ":"))))
        if not rows and not gone:
            return
        with self._transaction():
            if rows:
                self._db.executemany(
                    "INSERT OR REPLACE INTO records (object, id, json) VALUES (?, ?, ?)", rows
                )
            if gone:
                self._db.executemany("DELETE FROM records WHERE object = ? AND id = ?", gone)

    def drop_object(self, object_name: str) -> None:
        """Remove every record of an object (after the object was deleted)."""
        with self._transaction():
            self._db.execute("DELETE FROM records WHERE object = ?", (object_name,))

    def close(self) -> None:
        """Close the database connection."""
        self._db.close()

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._db.execute("COMMIT" if exc_type is None else "ROLLBACK")
