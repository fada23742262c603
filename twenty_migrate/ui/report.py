"""A migration report to hand to the client: one self-contained HTML file per migration.

    report = tm.migration_report(result, prepared=prepared, client=client)  # reads Twenty back
    report.save("report.html")                       # opens offline: inline styles, no script

It tells what was migrated, per object: rows read, left out before sending (with the
validation's reasons), created, updated, unchanged and failed (with Twenty's message), the
reconciliation of the journal against Twenty and the relation coverage, and the runs (ids,
dates, calls). Every value is HTML-escaped; the API key is never read, so never written.
"""

from __future__ import annotations

import html
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from twenty_migrate.run.journal import RunJournal
from twenty_migrate.run.outcomes import ImportResult
from twenty_migrate.verify.rollbacks import RunRef

if TYPE_CHECKING:
    from twenty_migrate.pipeline.prepare import PreparedMigration
    from twenty_migrate.twenty.client import TwentyClient
    from twenty_migrate.verify.verify import Verification

__all__ = ["MAX_LISTED_ROWS", "MigrationReport", "migration_report"]

#: Rows listed one by one per table (failed rows, rows left out); the rest are counted.
MAX_LISTED_ROWS = 500
_OUTCOMES = ("created", "updated", "unchanged", "failed", "pending")
_RUN_COLUMNS = (
    ("run_id", "Run id"),
    ("kind", "Kind"),
    ("status", "Status"),
    ("started_at", "Started (UTC)"),
    ("finished_at", "Finished (UTC)"),
    ("duration_s", "Duration (s)"),
    ("rows", "Rows"),
    ("calls", "API calls"),
    ("throttled", "Throttled"),
    ("retried", "Retried"),
)


@dataclass(frozen=True)
class MigrationReport:
    """What a migration did, ready to save as one HTML file for the client.

    Attributes:
        title: The heading (the migration's name by default).
        generated_at: When the report was made (UTC).
        runs: One :func:`~twenty_migrate.run_summary` per run, in the order given.
        failed_rows: ``run_id, object, _row, error`` of every row Twenty refused.
        prepared_counts: Per object: rows read, planned, left out, problems (None without
            the prepared migration).
        excluded: ``object, _row, reason`` of every row left out before sending (None
            without the prepared migration).
        problems: Validation problems by ``object, column, rule, severity`` with a count.
        verification: What reading Twenty back found (None when not verified).
    """

    title: str
    generated_at: datetime
    runs: tuple[dict[str, Any], ...]
    failed_rows: pd.DataFrame
    prepared_counts: pd.DataFrame | None = None
    excluded: pd.DataFrame | None = None
    problems: pd.DataFrame | None = None
    verification: Verification | None = field(default=None)

    @property
    def run_ids(self) -> list[str]:
        return [str(run["run_id"]) for run in self.runs]

    def by_object(self) -> pd.DataFrame:
        """Per object: rows read and left out (when known), then each outcome, summed over
        the runs (a row failed in an import and fixed in a later run counts in both)."""
        records: dict[str, dict[str, Any]] = {}
        if self.prepared_counts is not None:
            for c in self.prepared_counts.to_dict("records"):
                records[str(c["object"])] = {"read": c["rows"], "left_out": c["left_out"]}
        for run in self.runs:
            for obj, statuses in run.get("counts", {}).items():
                record = records.setdefault(str(obj), {})
                for status in _OUTCOMES:
                    record[status] = record.get(status, 0) + int(statuses.get(status, 0) or 0)
        columns = ["object", "read", "left_out", *_OUTCOMES]
        rows = [{"object": obj, **values} for obj, values in records.items()]
        frame = pd.DataFrame(rows, columns=columns)
        outcome_columns = [c for c in columns if c not in ("object", "read", "left_out")]
        frame[outcome_columns] = frame[outcome_columns].fillna(0).astype(int)
        if self.prepared_counts is None:
            frame = frame.drop(columns=["read", "left_out"])
        return frame

    def totals(self) -> dict[str, int]:
        """Outcomes over every object and run, plus ``left_out`` when known."""
        frame = self.by_object()
        out = {status: int(frame[status].sum()) for status in _OUTCOMES}
        if self.excluded is not None:
            out["left_out"] = len(self.excluded)
        return out

    @property
    def html(self) -> str:
        """The whole report as one HTML document (inline styles, no script, no link)."""
        return _render(self)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the report as a self-contained HTML file; returns the path."""
        target = Path(path)
        if target.suffix.lower() not in (".html", ".htm"):
            raise ValueError(f"A migration report is an HTML file: {str(target)!r} is not .html")
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_text(self.html, encoding="utf-8")
        tmp.replace(target)
        return target

    def _repr_html_(self) -> str:
        return _body(self)

    def __str__(self) -> str:
        totals = self.totals()
        verdict = _verdict(self.verification)
        counts = ", ".join(f"{n} {s.replace('_', ' ')}" for s, n in totals.items() if n)
        counts = counts or "nothing sent"
        return f"Migration report {self.title!r}: {counts}; {verdict} ({', '.join(self.run_ids)})"

    def __repr__(self) -> str:
        return (
            f"MigrationReport(title={self.title!r}, runs={self.run_ids!r}, "
            f"verified={self.verification is not None})"
        )


def migration_report(
    runs: RunRef | ImportResult | Sequence[RunRef | ImportResult],
    *,
    runs_dir: str | os.PathLike[str] | None = None,
    prepared: PreparedMigration | None = None,
    verification: Verification | None = None,
    client: TwentyClient | None = None,
    title: str | None = None,
) -> MigrationReport:
    """Gather what a migration did into a :class:`MigrationReport`.

    Args:
        runs: A run (an :class:`~twenty_migrate.ImportResult`, journal, run id or
            run directory) or several, such as the import and the run of its fixes.
        runs_dir: Where runs live when they are named by id.
        prepared: The prepared migration, for rows read, rows left out and the validation
            summary (without it the report covers only what was sent).
        verification: A :func:`~twenty_migrate.verify_run` result already made.
        client: When given (and ``verification`` is not), Twenty is read back once to
            reconcile the runs and measure relation coverage.
        title: The heading; default the migration's name, else the first run's name.

    Example:
        >>> tm.migration_report(result, prepared=prepared, client=client).save("report.html")
    """
    from twenty_migrate.verify.export import log_frame, run_summary

    refs = _as_refs(runs)
    if not refs:
        raise ValueError("migration_report needs at least one run")
    summaries: list[dict[str, Any]] = []
    failed: list[pd.DataFrame] = []
    for ref in refs:
        summary = run_summary(ref, runs_dir=runs_dir)
        summaries.append(summary)
        rows = log_frame(ref, runs_dir=runs_dir)
        rows = rows.loc[rows["status"] == "failed", ["object", "_row", "error"]]
        failed.append(rows.assign(run_id=summary["run_id"]))
    if verification is None and client is not None:
        from twenty_migrate.verify.verify import verify_run

        schema = prepared.schema if prepared is not None else None
        verification = verify_run(client, list(refs), runs_dir=runs_dir, schema=schema)
    name = title or (prepared.name if prepared is not None else None)
    return MigrationReport(
        title=str(name or summaries[0].get("name") or summaries[0]["run_id"]),
        generated_at=datetime.now(timezone.utc).replace(microsecond=0),
        runs=tuple(summaries),
        failed_rows=pd.concat(failed, ignore_index=True)[["run_id", "object", "_row", "error"]],
        prepared_counts=prepared.counts() if prepared is not None else None,
        excluded=prepared.excluded.copy() if prepared is not None else None,
        problems=_problem_counts(prepared.failures) if prepared is not None else None,
        verification=verification,
    )


def _as_refs(runs: RunRef | ImportResult | Sequence[RunRef | ImportResult]) -> list[RunRef]:
    if isinstance(runs, (str, os.PathLike, RunJournal, ImportResult)):
        runs = [runs]
    return [_ref(run) for run in runs]


def _ref(run: RunRef | ImportResult) -> RunRef:
    """A run as :func:`~twenty_migrate.verify.rollbacks.open_run` takes it."""
    if isinstance(run, ImportResult):
        return run.journal_path or run.run_id
    return run


def _problem_counts(failures: pd.DataFrame) -> pd.DataFrame:
    columns = ["object", "column", "rule", "severity"]
    if failures.empty:
        return pd.DataFrame(columns=[*columns, "rows"])
    keyed = failures.reindex(columns=columns).fillna("")
    counts = keyed.groupby(columns, sort=False).size().reset_index(name="rows")
    return counts.sort_values("rows", ascending=False, kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------- rendering

_STYLE = {
    "body": "font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;color:#1f2328;"
    "max-width:1100px;margin:24px auto;padding:0 16px;line-height:1.45",
    "h1": "font-size:26px;margin:0 0 4px",
    "h2": "font-size:19px;margin:28px 0 8px;border-bottom:1px solid #d0d7de;padding-bottom:4px",
    "muted": "color:#656d76;font-size:13px",
    "table": "border-collapse:collapse;font-size:13px;margin:6px 0 10px;width:100%",
    "th": "text-align:left;background:#f6f8fa;border:1px solid #d0d7de;padding:4px 8px",
    "td": "border:1px solid #d0d7de;padding:4px 8px;vertical-align:top;overflow-wrap:break-word",
    "tile": "display:inline-block;min-width:110px;margin:0 8px 8px 0;padding:8px 12px;"
    "border:1px solid #d0d7de;border-radius:6px;background:#f6f8fa",
    "num": "font-size:22px;font-weight:600",
    "ok": "color:#1a7f37;font-weight:600",
    "bad": "color:#cf222e;font-weight:600",
}


def _e(value: Any) -> str:
    """Any value as escaped HTML text (None and NaN as an empty cell)."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, float):
        return html.escape(f"{value:.1f}" if not value.is_integer() else f"{value:.0f}")
    return html.escape(str(value), quote=True)


def _table(frame: pd.DataFrame, headers: Sequence[str] | None = None, limit: int = 0) -> str:
    shown = frame.head(limit) if limit else frame
    head = "".join(
        f'<th style="{_STYLE["th"]}">{_e(h)}</th>' for h in (headers or list(frame.columns))
    )
    body = "".join(
        "<tr>" + "".join(f'<td style="{_STYLE["td"]}">{_e(v)}</td>' for v in row) + "</tr>"
        for row in shown.itertuples(index=False, name=None)
    )
    more = ""
    if limit and len(frame) > limit:
        more = f'<p style="{_STYLE["muted"]}">… and {len(frame) - limit} more rows.</p>'
    return f'<table style="{_STYLE["table"]}"><tr>{head}</tr>{body}</table>{more}'


def _tiles(items: Iterable[tuple[str, Any]]) -> str:
    return (
        "<div>"
        + "".join(
            f'<div style="{_STYLE["tile"]}"><div style="{_STYLE["num"]}">{_e(n)}</div>'
            f'<div style="{_STYLE["muted"]}">{_e(label)}</div></div>'
            for label, n in items
        )
        + "</div>"
    )


def _verdict(verification: Verification | None) -> str:
    if verification is None:
        return "not verified against Twenty"
    return "reconciled with Twenty" if verification.reconciled else "NOT reconciled with Twenty"


def _section(title: str, *parts: str) -> str:
    return f'<h2 style="{_STYLE["h2"]}">{_e(title)}</h2>' + "".join(parts)


def _p(text: str, style: str = "muted") -> str:
    return f'<p style="{_STYLE[style]}">{_e(text)}</p>'


def _body(report: MigrationReport) -> str:
    totals = report.totals()
    verdict = _verdict(report.verification)
    verdict_style = (
        "ok" if report.verification is not None and report.verification.reconciled else "bad"
    )
    if report.verification is None:
        verdict_style = "muted"
    tiles = [
        (label, totals[key])
        for key, label in (
            ("created", "created"),
            ("updated", "updated"),
            ("unchanged", "unchanged"),
            ("failed", "failed"),
            ("left_out", "left out before sending"),
        )
        if key in totals
    ]
    if totals["pending"]:
        tiles.append(("pending (run not finished)", totals["pending"]))
    parts = [
        f'<h1 style="{_STYLE["h1"]}">Migration report: {_e(report.title)}</h1>',
        _p(
            f"Generated {report.generated_at:%Y-%m-%d %H:%M} UTC from run"
            f"{'s' if len(report.runs) > 1 else ''} {', '.join(report.run_ids)}."
        ),
        _tiles(tiles),
        _p(verdict[0].upper() + verdict[1:] + ".", verdict_style),
        _section(
            "What was migrated, by object",
            _table(report.by_object()),
            _p(
                "read: rows in the source files; left_out: rows kept out of the import by "
                "validation (listed below); created/updated/unchanged/failed: what Twenty did "
                "with each row sent."
            ),
        ),
    ]
    parts.append(_validation_section(report))
    parts.append(_failed_section(report))
    if report.verification is not None:
        parts.append(_verification_section(report.verification))
    parts.append(_runs_section(report))
    return f'<div style="{_STYLE["body"]}">' + "".join(parts) + "</div>"


def _validation_section(report: MigrationReport) -> str:
    if report.excluded is None:
        return _section(
            "Validation", _p("The prepared migration was not given: rows left out are not listed.")
        )
    parts: list[str] = []
    if report.problems is not None and not report.problems.empty:
        parts.append(
            _p("Problems found before sending, by rule (rows with an error are left out):")
        )
        parts.append(_table(report.problems))
    excluded = report.excluded
    if excluded.empty:
        parts.append(_p("No row was left out."))
    else:
        shown = min(len(excluded), MAX_LISTED_ROWS)
        parts.append(_p(f"{len(excluded)} rows left out; the first {shown}, with the reason:"))
        parts.append(_table(excluded[["object", "_row", "reason"]], limit=MAX_LISTED_ROWS))
    return _section("Validation and rows left out", *parts)


def _failed_section(report: MigrationReport) -> str:
    failed = report.failed_rows
    if failed.empty:
        return _section("Rows Twenty refused", _p("None: every row sent was accepted."))
    messages = failed.assign(error=failed["error"].fillna("(no message)"))
    by_message = messages.groupby(["object", "error"], sort=False).size().reset_index(name="rows")
    by_message = by_message.sort_values("rows", ascending=False, kind="stable")
    return _section(
        "Rows Twenty refused",
        _p(f"{len(failed)} rows, by Twenty's message:"),
        _table(by_message),
        _table(failed, limit=MAX_LISTED_ROWS),
    )


def _verification_section(verification: Verification) -> str:
    coverage = verification.coverage.copy()
    if not coverage.empty:
        total = coverage["total"].where(coverage["total"] > 0)
        coverage["share"] = (100 * coverage["linked"] / total).map(
            lambda v: "" if pd.isna(v) else f"{v:.0f} %"
        )
    return _section(
        "Reconciliation with Twenty",
        _table(verification.reconciliation),
        _p(
            "landed: rows the journal says reached Twenty; in_twenty: of those, found there; "
            "in_workspace: every record of the object in the workspace."
        ),
        _section("Relation coverage", _table(coverage)) if not coverage.empty else "",
        _p(f"Read back with {verification.calls} API calls ({verification.page_size} per call)."),
    )


def _runs_section(report: MigrationReport) -> str:
    frame = pd.DataFrame(
        [[run.get(key) for key, _ in _RUN_COLUMNS] for run in report.runs],
        columns=[label for _, label in _RUN_COLUMNS],
    )
    parts = [_table(frame)]
    rollbacks = [(run["run_id"], rb) for run in report.runs for rb in run.get("rollbacks", [])]
    for run_id, rb in rollbacks:
        parts.append(
            _p(
                f"Run {run_id} was rolled back ({rb.get('rollback_id')}): {rb.get('deleted')} "
                f"deleted, {rb.get('failed')} failed."
            )
        )
    return _section("Runs", *parts)


def _render(report: MigrationReport) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>Migration report: {_e(report.title)}</title></head>"
        f'<body style="margin:0">{_body(report)}</body></html>\n'
    )
