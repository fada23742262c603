"""What an import did, and how Twenty's answers become row outcomes.

* :class:`ImportResult`: the value :meth:`Importer.run` returns (counts, failures,
  timings), with ``summary()``, ``asdict()``, an HTML view and ``raise_for_failures()``.
* :func:`match_records`: pairs the records Twenty returned with the rows sent, by id or
  unique key, never by position (Twenty returns updated records first, then inserted ones).
* :func:`named_rows` / :func:`suspect_row`: read a refusal to find the rows it is about,
  so a batch with a few bad rows costs a few extra calls, not a full bisection.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from twenty_migrate.run.journal import RunJournal
from twenty_migrate.run.runs import PendingRow
from twenty_migrate.twenty.errors import ImportFailed, TwentyAPIError

__all__ = [
    "KNOWN_UNIQUE_PATHS",
    "ImportResult",
    "match_records",
    "named_rows",
    "selection",
    "suspect_row",
    "unique_paths",
]

#: Unique fields Twenty matches an upsert on (twenty-api.md §3), used to match answers to
#: rows when the client cannot read the workspace metadata.
KNOWN_UNIQUE_PATHS: dict[str, tuple[str, ...]] = {
    "person": ("emails.primaryEmail",),
    "people": ("emails.primaryEmail",),
    "company": ("domainName.primaryLinkUrl",),
    "companies": ("domainName.primaryLinkUrl",),
}
#: Unique sub-field per composite type (twenty-api.md §3); PHONES needs three, so it is
#: not used for matching.
UNIQUE_SUBFIELD = {"EMAILS": "primaryEmail", "LINKS": "primaryLinkUrl"}


def unique_paths(client: Any, obj: str) -> list[str]:
    """The object's unique field paths, from the workspace metadata when the client can read
    it, else from :data:`KNOWN_UNIQUE_PATHS`."""
    reader = getattr(client, "object_metadata", None)
    meta = None
    if callable(reader):
        with contextlib.suppress(Exception):  # a nicety: the static table still works
            meta = reader(obj)
    if not isinstance(meta, Mapping):
        return list(KNOWN_UNIQUE_PATHS.get(obj, ()))
    paths = []
    for f in meta.get("fields") or []:
        kind, name = f.get("type"), f.get("name")
        if not f.get("isUnique") or not f.get("isActive", True) or name in (None, "id"):
            continue
        if kind in ("PHONES", "RELATION", "MORPH_RELATION"):
            continue
        paths.append(f"{name}.{UNIQUE_SUBFIELD[kind]}" if kind in UNIQUE_SUBFIELD else name)
    return paths


#: GraphQL input coercion errors point at the record: ``... at "data[3].emails"``.
_INDEX_RE = re.compile(r"\bdata\[(\d+)\]")
#: Twenty's message for a key the object does not have (twenty-api.md §4.1).
_UNKNOWN_FIELD_RE = re.compile(r"doesn't have any \"([^\"]+)\" field")
#: Columns of ``ImportResult.failures``.
FAILURE_COLUMNS = ("object", "_row", "error", "error_code", "batch_id", "attempts")
_QUOTED_RE = re.compile(r"'([^']{1,200})'|\"([^\"]{1,200})\"")


# --------------------------------------------------------------------------- result


@dataclass(frozen=True, eq=False)
class ImportResult:
    """What a run did. Row-level failures are collected here, not raised.

    Attributes:
        run_id: The run (its journal is ``<runs_dir>/<run_id>/journal.sqlite``).
        counts: Rows per object and status (created, updated, unchanged, failed, pending).
        failures: The failed rows: object, _row, error (Twenty's message), error_code,
            batch_id, attempts.
        rows: Every row's outcome (:meth:`RunJournal.rows_frame`).
        duration: Seconds spent sending, over all sessions of the run.
        calls: HTTP calls, throttled answers and retries over all sessions.
        status: ``completed``, ``completed_with_failures``, ``incomplete`` (rows still
            pending: see ``message``) or ``dry_run``.
        message: Why a run is incomplete, and what to do.
        kind: ``run`` or ``test_batch``.
        journal_path: The journal file.
        description: The plan's description (dry runs).
    """

    run_id: str
    counts: Mapping[str, Mapping[str, int]]
    failures: pd.DataFrame = field(repr=False)
    rows: pd.DataFrame = field(repr=False)
    duration: float = 0.0
    calls: int = 0
    throttled: int = 0
    retried: int = 0
    status: str = "completed"
    message: str | None = None
    kind: str = "run"
    journal_path: str | None = None
    description: str | None = None

    @classmethod
    def from_journal(
        cls, journal: RunJournal, *, status: str, message: str | None = None
    ) -> ImportResult:
        """The result of a run as its journal records it (totals over all its sessions)."""
        info = journal.info()
        rows = journal.rows_frame()
        failed = rows.loc[rows["status"] == "failed", list(FAILURE_COLUMNS)]
        return cls(
            run_id=journal.run_id,
            counts=journal.counts(),
            failures=failed.reset_index(drop=True),
            rows=rows,
            duration=float(info["duration_s"]),
            calls=int(info["calls"]),
            throttled=int(info["throttled"]),
            retried=int(info["retried"]),
            status=status,
            message=message,
            kind=str(info["kind"]),
            journal_path=str(journal.path),
        )

    @classmethod
    def dry(cls, description: str, counts: Mapping[str, Mapping[str, int]]) -> ImportResult:
        """The result of a dry run: nothing sent, every row pending."""
        empty = pd.DataFrame(columns=list(FAILURE_COLUMNS))
        return cls(
            "(dry run)", counts, empty, pd.DataFrame(), status="dry_run", description=description
        )

    def _total(self, status: str) -> int:
        return sum(int(c.get(status, 0)) for c in self.counts.values())

    @property
    def created(self) -> int:
        """Rows that created a record."""
        return self._total("created")

    @property
    def updated(self) -> int:
        """Rows that updated an existing record."""
        return self._total("updated")

    @property
    def unchanged(self) -> int:
        """Rows that needed no write."""
        return self._total("unchanged")

    @property
    def failed(self) -> int:
        """Rows Twenty refused."""
        return self._total("failed")

    @property
    def pending(self) -> int:
        """Rows not written yet (the run is incomplete; resume it)."""
        return self._total("pending")

    @property
    def has_failures(self) -> bool:
        """Whether some rows did not land: refused, or still pending."""
        return self.failed > 0 or self.pending > 0

    def summary(self) -> str:
        """A few lines: counts per object, calls, duration, and what to do next."""
        if self.status == "dry_run":
            return self.description or "Dry run: nothing sent."
        what = "Test batch" if self.kind == "test_batch" else "Run"
        lines = [
            f"{what} {self.run_id}: {self.status.replace('_', ' ')} in {self.duration:.1f} s "
            f"({self.calls} calls, {self.throttled} throttled, {self.retried} retried)"
        ]
        for obj, counts in self.counts.items():
            parts = [f"{counts.get(s, 0)} {s}" for s in ("created", "updated", "failed")]
            parts += [f"{counts[s]} {s}" for s in ("unchanged", "pending") if counts.get(s)]
            lines.append(f"  {obj}: " + ", ".join(parts))
        lines += [f"  {note}" for note in self._notes()]
        return "\n".join(lines)

    def _notes(self) -> list[str]:
        notes = []
        if self.message:
            notes.append(self.message[:1].upper() + self.message[1:])
        if self.pending:
            notes.append(f"{self.pending} rows pending. {self._resume_hint()}".rstrip())
        if self.failed:
            notes.append(f"See result.failures; {self._fix_hint()}")
        return notes

    def _resume_hint(self) -> str:
        if f"resume({self.run_id!r})" in (self.message or ""):
            return ""  # the message already says how (a quota stop)
        return (
            f"Finish them with Importer(client).resume({self.run_id!r}) or "
            f"`twenty-migrate resume {self.run_id}`."
        )

    def __str__(self) -> str:
        return self.summary()

    def _fix_hint(self) -> str:
        return (
            f"`twenty-migrate logs {self.run_id}` writes a fix-me file with the failed rows "
            "and Twenty's messages, to correct and import again."
        )

    def asdict(self) -> dict[str, Any]:
        """JSON-safe summary (no DataFrames): counts, totals, timings, failures count."""
        return {
            "run_id": self.run_id,
            "kind": self.kind,
            "status": self.status,
            "message": self.message,
            "counts": {o: dict(c) for o, c in self.counts.items()},
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "failed": self.failed,
            "pending": self.pending,
            "duration": round(self.duration, 3),
            "calls": self.calls,
            "throttled": self.throttled,
            "retried": self.retried,
            "journal_path": self.journal_path,
        }

    def _repr_html_(self) -> str:
        if self.status == "dry_run":
            return f"<pre>{_escape(self.summary())}</pre>"
        html = f"<p><b>{_escape(self.summary().splitlines()[0])}</b></p>"
        if self.counts:
            table = pd.DataFrame.from_dict(
                {o: dict(c) for o, c in self.counts.items()}, orient="index"
            )
            html += table.to_html()
        html += "".join(f"<p>{_escape(note)}</p>" for note in self._notes())
        if self.failed:
            html += "<p>First failures:</p>" + self.failures.head(10).to_html(index=False)
        return html

    def raise_for_failures(self) -> None:
        """Raise :class:`ImportFailed` if some rows failed or are still pending."""
        if self.status == "dry_run" or not self.has_failures:
            return
        if self.pending:
            text = (
                f"{self.pending} rows of run {self.run_id} were not imported yet"
                f"{': ' + self.message if self.message else ''}. {self._resume_hint()}".rstrip()
            )
            text = text[0].upper() + text[1:]
        else:
            first = str(self.failures["error"].iloc[0]) if len(self.failures) else ""
            text = (
                f"{self.failed} of {sum(sum(c.values()) for c in self.counts.values())} rows "
                f"failed in run {self.run_id} (first: {first}). See result.failures or "
                f"{self.journal_path}; {self._fix_hint()}"
            )
        raise ImportFailed(text, result=self, run_id=self.run_id)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# --------------------------------------------------------------------------- matching


def _get_path(record: Mapping[str, Any], path: str) -> Any:
    value: Any = record
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _normalise(path: str, value: Any) -> Any:
    """Compare unique values the way Twenty stores them (emails lower-cased, links'
    host lower-cased without a trailing ``/``); the scheme is ignored on both sides."""
    if value is None:
        return None
    if not isinstance(value, str):
        return value
    text = value.strip().casefold()
    if path.endswith("primaryLinkUrl"):
        text = re.sub(r"^[a-z][a-z0-9+.-]*://", "", text).rstrip("/")
    return text or None


def match_records(
    rows: Sequence[PendingRow], records: Iterable[Mapping[str, Any]], key_paths: Sequence[str]
) -> tuple[dict[Any, tuple[str, str | None]], list[PendingRow]]:
    """Pair returned records with the rows sent, never by position.

    Returns:
        ``{_row: (status, twenty_id)}`` for matched rows (``created`` when the record has
        the row's own id, ``updated`` otherwise), and the rows left unmatched.
    """
    by_id = {r.sent_id: r for r in rows}
    matched: dict[Any, tuple[str, str | None]] = {}
    others: list[Mapping[str, Any]] = []
    records_seen = list(records)
    for record in records_seen:
        row = by_id.get(str(record.get("id")))
        if row is not None and row.row not in matched:
            matched[row.row] = ("created", row.sent_id)
        else:
            others.append(record)
    left = [r for r in rows if r.row not in matched]
    for path in key_paths:
        if not left or not others:
            break
        index: dict[Any, list[PendingRow]] = {}
        for row in left:
            value = _normalise(path, _get_path(row.payload, path))
            if value is not None:
                index.setdefault(value, []).append(row)
        rest = []
        for record in others:
            candidates = index.get(_normalise(path, _get_path(record, path)), [])
            if len(candidates) == 1 and candidates[0].row not in matched:
                rid = record.get("id")
                matched[candidates[0].row] = ("updated", None if rid is None else str(rid))
            else:
                rest.append(record)
        others = rest
        left = [r for r in left if r.row not in matched]
    if len(left) == 1 and len(others) == 1:
        # One row and one record remain: they belong together (by elimination).
        rid = others[0].get("id")
        status = "created" if str(rid) == left[0].sent_id else "updated"
        matched[left[0].row] = (status, None if rid is None else str(rid))
        left = []
    if left:
        # Rows sharing a unique key with another row of the call were merged into that
        # row's record by Twenty's upsert: they updated it.
        for path in key_paths:
            ids: dict[Any, str] = {}
            for record in records_seen:
                value = _normalise(path, _get_path(record, path))
                if value is not None and record.get("id") is not None:
                    ids.setdefault(value, str(record["id"]))
            for row in left:
                value = _normalise(path, _get_path(row.payload, path))
                if value in ids and row.row not in matched:
                    matched[row.row] = ("updated", ids[value])
            left = [r for r in left if r.row not in matched]
    return matched, left


def selection(paths: Sequence[str]) -> str:
    """GraphQL selection ``id emails { primaryEmail }`` for ``id`` plus ``paths``."""
    tree: dict[str, Any] = {}
    for path in paths:
        node = tree
        for part in path.split("."):
            node = node.setdefault(part, {})

    def render(node: Mapping[str, Any]) -> str:
        return " ".join(f"{k} {{ {render(v)} }}" if v else k for k, v in node.items())

    return "id" + (" " + render(tree) if tree else "")


# --------------------------------------------------------------------------- refusals


def _leaves(payload: Mapping[str, Any], prefix: str = "") -> Iterable[tuple[str, Any]]:
    for key, value in payload.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            yield from _leaves(value, path + ".")
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, Mapping):
                    yield from _leaves(item, path + ".")
                else:
                    yield path, item
        else:
            yield path, value


def named_rows(exc: TwentyAPIError, rows: Sequence[PendingRow]) -> dict[int, str]:
    """Rows a refusal names for sure: ``{position: message}``.

    GraphQL coercion errors give the position (``data[3]``). Twenty's own validation
    quotes the offending value and then the field (``Invalid string value 'x' for email
    field "emails.primaryEmail"``): every row holding that value in that field fails the
    same way. An unknown field (``doesn't have any "foo" field``) fails every row setting it.
    """
    named: dict[int, str] = {}
    for message in exc.messages or [str(exc)]:
        positions = [int(m.group(1)) for m in _INDEX_RE.finditer(message)]
        if positions:
            for position in positions:
                if position < len(rows):
                    named.setdefault(position, message)
            continue
        unknown = _UNKNOWN_FIELD_RE.search(message)
        if unknown:
            for position, row in enumerate(rows):
                if unknown.group(1) in row.payload:
                    named.setdefault(position, message)
            continue
        tokens = [a or b for a, b in _QUOTED_RE.findall(message)]
        if len(tokens) < 2:
            continue
        values, field_path = set(tokens[:-1]), tokens[-1]
        for position, row in enumerate(rows):
            for path, value in _leaves(row.payload):
                same_field = path == field_path or path.endswith("." + field_path)
                if same_field and value is not None and str(value) in values:
                    named.setdefault(position, message)
                    break
    return named


def suspect_row(exc: TwentyAPIError, rows: Sequence[PendingRow]) -> int | None:
    """The only row holding a value the message quotes, if exactly one does."""
    texts = exc.messages or [str(exc)]
    tokens = {a or b for message in texts for a, b in _QUOTED_RE.findall(message)}
    if not tokens:
        return None
    hits = [
        position
        for position, row in enumerate(rows)
        if any(value is not None and str(value) in tokens for _, value in _leaves(row.payload))
    ]
    return hits[0] if len(hits) == 1 else None
