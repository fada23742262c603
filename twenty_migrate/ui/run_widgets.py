"""The widgets that send records: a test batch, then the whole import.

Both are exported by :mod:`twenty_migrate.widgets`, with the other notebook widgets.

* :class:`TestBatchReview`: the first rows' payloads, sent, read back and compared; then
  rolled back or kept.
* :class:`ImportRunner`: the whole import on a background thread with live counts, Pause
  and Resume.

Neither starts a run of a plan that is already running or done (found in the run journals,
so also after a notebook was run again) unless its "again" box is ticked; each says why.
"""

from __future__ import annotations

import html
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from twenty_migrate.run.progress import INFO_KEYS
from twenty_migrate.ui.widget_base import (
    _WARNING_STYLE,
    _WRAP_CSS,
    _ipywidgets,
    _message,
    _say,
    _shown,
    _Widget,
)
from twenty_migrate.values.payloads import flatten

if TYPE_CHECKING:
    from twenty_migrate.plan.plan import ImportPlan
    from twenty_migrate.run.importer import Importer
    from twenty_migrate.run.outcomes import ImportResult
    from twenty_migrate.twenty.client import TwentyClient
    from twenty_migrate.verify.rollbacks import RollbackResult


# --------------------------------------------------------------------------- test batch


def _same(sent: Any, stored: Any) -> bool:
    numbers = (int, float)
    if isinstance(sent, numbers) and isinstance(stored, numbers):
        return float(sent) == float(stored)
    return bool(sent == stored)


class TestBatchReview(_Widget):
    """Send the first ``n`` rows, read them back from Twenty, compare, then undo or keep.

    Args:
        client: A connected client.
        plan: The full plan; the test batch is its first step's first ``n`` rows. Kept
            test records are not created again by the full run. When these rows were
            already sent (an earlier test batch of the same rows, not rolled back), Send
            shows that test batch instead of sending again, unless ``send_again`` is ticked.
        n: Rows in the test batch.
        importer: The importer to use (default ``Importer(client, progress=None)``).

    Attributes:
        state: ``"ready"``, ``"previewed"``, ``"sent"``, ``"rolled_back"``, ``"kept"`` or
            ``"error"``.
        payloads: What the test batch sends (after Preview or Send).
        result: The test batch's ImportResult (after Send).
        diff: ``_row, field, sent, stored, same`` per sent field (after Send).
        rollback_result: What Roll back did.
    """

    __test__ = False  # a class named Test* is not a pytest test class

    def __init__(
        self,
        client: TwentyClient,
        plan: ImportPlan,
        n: int = 10,
        importer: Importer | None = None,
    ) -> None:
        from twenty_migrate.run.importer import Importer

        w = _ipywidgets()
        self.client = client
        self.plan = plan
        self.n = int(n)
        self.importer = importer if importer is not None else Importer(client, progress=None)
        self.test_plan = plan.head(self.n)
        self.state = "ready"
        self.error: str | None = None
        self.payloads: list[dict[str, Any]] = []
        self.result: ImportResult | None = None
        self.diff: pd.DataFrame | None = None
        self.rollback_result: RollbackResult | None = None
        self.preview_button = w.Button(description="Preview")
        self.send_button = w.Button(description=f"Send {len(self.test_plan.steps[0])} rows")
        self.rollback_button = w.Button(description="Roll back", disabled=True)
        self.keep_button = w.Button(description="Keep", disabled=True)
        self.send_again = w.Checkbox(description="Send again", value=False)
        self.preview_button.on_click(lambda _: self.preview())
        self.send_button.on_click(lambda _: self.send())
        self.rollback_button.on_click(lambda _: self.roll_back())
        self.keep_button.on_click(lambda _: self.keep())
        self.status = w.Output()
        self.view = w.HTML()
        buttons = [self.preview_button, self.send_button, self.rollback_button, self.keep_button]
        buttons.append(self.send_again)
        self.widget = w.VBox([w.HBox(buttons), self.status, self.view, w.HTML(_WRAP_CSS)])
        self.status.add_class("twenty-wrap")
        # Stable names for the page's elements (browser tests, custom CSS).
        self.widget.add_class("twenty-test-batch")
        self.status.add_class("twenty-test-batch-status")
        self.view.add_class("twenty-test-batch-view")

    def __repr__(self) -> str:
        return f"TestBatchReview({self.test_plan.steps[0].object!r}, n={self.n}, {self.state})"

    def preview(self) -> list[dict[str, Any]]:
        """What Preview does: show the exact records the test batch sends, as a table (one
        row per record, one column per field path such as ``name.firstName``)."""
        step = self.test_plan.steps[0]
        self.payloads = step.to_payloads()
        self.view.value = _records_html(step.rows, self.payloads)
        _say(self.status, f"{len(self.payloads)} {step.object} records will be sent.")
        if self.state == "ready":
            self.state = "previewed"
        return self.payloads

    def send(self) -> ImportResult | None:
        """What Send does: run the test batch, read the records back, show the diff.

        When these rows were sent already (an earlier test batch not rolled back), it shows
        that one rather than sending again, unless ``send_again`` is ticked.
        """
        step = self.test_plan.steps[0]
        self.payloads = step.to_payloads()
        earlier, note = (None, "") if self.send_again.value else self._earlier()
        if earlier is None and note:
            _say(self.status, note)
            return None
        if earlier is None:
            _say(self.status, f"Sending {len(step)} {step.object} records...")
        try:
            if earlier is not None:
                result = earlier
            else:
                result = self.importer.run(self.plan, test_batch=self.n)
                self.send_again.value = False
            rows = result.rows
            landed = rows[rows["twenty_id"].notna() & rows["status"].ne("failed")]
            ids = [str(i) for i in landed["twenty_id"]]
            stored = self.client.find_by_ids(step.object, ids, fields=None) if ids else []
        except Exception as exc:  # shown in the widget, kept on .error
            self.state, self.error = "error", _message(exc)
            _say(self.status, f"Test batch failed. {self.error}")
            return None
        by_id = {str(r.get("id")): flatten(r) for r in stored}
        twenty_ids = dict(zip(landed["_row"], landed["twenty_id"], strict=True))
        lines = []
        for row, payload in zip(step.rows, self.payloads, strict=True):
            record = by_id.get(str(twenty_ids.get(row)))
            if record is None:
                continue
            for field, sent in flatten(payload).items():
                value = record.get(field)
                lines.append((row, field, sent, value, _same(sent, value)))
        self.diff = pd.DataFrame(lines, columns=["_row", "field", "sent", "stored", "same"])
        self.result, self.state = result, "sent"
        self.send_button.disabled = True
        self.rollback_button.disabled = self.keep_button.disabled = False
        _say(self.status, (note + "\n" if note else "") + result.summary())
        self.view.value = self._diff_html(result)
        return result

    def _earlier(self) -> tuple[ImportResult | None, str]:
        """An earlier test batch of these rows (not rolled back): its result when it
        finished, or only a message when it is still marked running."""
        from twenty_migrate.run.history import plan_runs
        from twenty_migrate.run.journal import RunJournal
        from twenty_migrate.run.outcomes import ImportResult
        from twenty_migrate.run.runs import FINISHED_RUN

        runs_dir = self.importer.runs_dir
        try:
            runs = plan_runs(runs_dir, self.test_plan.fingerprint(), kind="test_batch")
        except Exception:  # unreadable journals block nothing: a re-send is an upsert
            return None, ""
        runs = [r for r in runs if not r["rolled_back"]]
        if not runs:
            return None, ""
        last = runs[-1]
        if last["status"] == "running":
            return None, (
                f"Test batch {last['run_id']} of these rows is already running (or its "
                "process stopped). Tick 'Send again' to send them anyway."
            )
        if last["status"] not in FINISHED_RUN:
            return None, ""
        journal = RunJournal.open(runs_dir, last["run_id"])
        try:
            result = ImportResult.from_journal(journal, status=last["status"])
        finally:
            journal.close()
        return result, (
            f"These rows were already sent by test batch {last['run_id']}: showing it. "
            "Tick 'Send again' to send them again (they update the same records)."
        )

    def _diff_html(self, result: ImportResult) -> str:
        assert self.diff is not None
        body = []
        for row, field, sent, stored, same in self.diff.itertuples(index=False):
            style = "" if same else f' style="{_WARNING_STYLE}"'
            cells = [row, field, _shown(sent), _shown(stored), "yes" if same else "no"]
            body.append(
                f"<tr{style}>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>"
            )
        head = "".join(f"<th>{c}</th>" for c in ("_row", "field", "sent", "stored", "same?"))
        changed = int((~self.diff["same"]).sum()) if len(self.diff) else 0
        text = f"<p>{len(self.diff)} fields read back; {changed} stored differently.</p>"
        text += f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
        if len(result.failures):
            text += "<p>Refused by Twenty:</p>" + result.failures[["_row", "error"]].to_html(
                index=False
            )
        return text

    def roll_back(self) -> RollbackResult | None:
        """What Roll back does: delete the records this test batch created."""
        from twenty_migrate.verify.rollbacks import rollback

        if self.result is None:
            _say(self.status, "Nothing to roll back: send the test batch first.")
            return None
        try:
            done = rollback(self.client, self.result.run_id, runs_dir=self.importer.runs_dir)
        except Exception as exc:  # shown in the widget, kept on .error
            self.error = _message(exc)
            _say(self.status, f"Roll back failed. {self.error}")
            return None
        self.rollback_result, self.state = done, "rolled_back"
        self.rollback_button.disabled = self.keep_button.disabled = True
        _say(self.status, done.summary())
        return done

    def keep(self) -> None:
        """What Keep does: leave the records; the full run updates them in place."""
        if self.result is None:
            _say(self.status, "Nothing to keep: send the test batch first.")
            return
        self.state = "kept"
        self.rollback_button.disabled = self.keep_button.disabled = True
        _say(
            self.status,
            f"Kept {self.result.created + self.result.updated} records (run "
            f"{self.result.run_id}); the full run updates them instead of creating them again.",
        )


def _records_html(rows: Sequence[Any], payloads: list[dict[str, Any]]) -> str:
    """The records as a table: ``_row`` then one column per flattened field path."""
    flat = [flatten(p) for p in payloads]
    columns = list(dict.fromkeys(path for record in flat for path in record))
    head = "".join(f"<th>{html.escape(c)}</th>" for c in ["_row", *columns])
    body = []
    for row, record in zip(rows, flat, strict=True):
        cells = [str(row), *(_shown(record.get(c)) for c in columns)]
        body.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


# --------------------------------------------------------------------------- import
class _Paused(BaseException):
    """Raised inside the run, through the progress hook, to stop it like an interrupt."""


class _LiveCounts:
    """A Progress that keeps running counts per object and can stop the run on request."""

    def __init__(self, on_change: Callable[[], None], forward: Any = None) -> None:
        self.lock = threading.Lock()
        self.counts: dict[str, dict[str, int]] = {}
        self.totals: dict[str, int] = {}
        self.eta: dict[str, int] = {}
        self.on_change = on_change
        self.forward = forward
        self.stop_requested = threading.Event()

    def start(self, object: str, total: int) -> None:
        with self.lock:
            self.totals[object] = int(total)
            self.counts[object] = {}  # a resumed run reports its earlier counts again
        if self.forward is not None:
            self.forward.start(object, total)
        self.on_change()

    def update(self, object: str, **counts: int) -> None:
        with self.lock:
            tally = self.counts.setdefault(object, {})
            for key, value in counts.items():
                if key == "eta_s":  # the importer's estimate from the rate budget
                    self.eta[object] = int(value)
                else:
                    tally[key] = tally.get(key, 0) + int(value)
        if self.forward is not None:
            self.forward.update(object, **counts)
        self.on_change()
        if self.stop_requested.is_set():
            self.stop_requested.clear()  # raise once: the importer calls update again
            raise _Paused

    def close(self) -> None:
        if self.forward is not None:
            self.forward.close()
        self.on_change()

    def text(self) -> str:
        with self.lock:
            parts = []
            for obj, counts in self.counts.items():
                keys = ("created", "updated", "failed", "throttled")
                shown = ", ".join(f"{counts.get(k, 0)} {k}" for k in keys)
                done = sum(v for k, v in counts.items() if k not in INFO_KEYS)
                total = self.totals.get(obj, 0)
                eta = self.eta.get(obj)
                left = f", about {_duration(eta)} left" if eta and done < total else ""
                parts.append(f"{obj}: {done}/{total} rows ({shown}{left})")
        return "; ".join(parts) or "not started"


def _duration(seconds: int) -> str:
    minutes, secs = divmod(max(0, seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {secs:02d} s"


class ImportRunner(_Widget):
    """Run a plan on a background thread with live counts, Pause and Resume.

    Pause lets the calls in flight finish and be journalled, sends nothing more, and
    leaves the run resumable; Resume finishes it with ``Importer.resume(run_id)``. Every
    row lands exactly once either way: rows are sent with the ids the journal gave them.

    Start refuses, and says why, while a run of this plan is running, after one finished
    (here or elsewhere: the run journals tell), or when one stopped (Resume finishes it),
    unless ``run_again`` is ticked; a new run then skips the rows unchanged since.

    Args:
        client: A connected client.
        plan: What to import.
        importer: The importer to use (default ``Importer(client, progress=None)``); its
            own progress display, if any, is kept alongside the live counts.

    Attributes:
        state: ``"ready"``, ``"running"``, ``"pausing"``, ``"paused"``, ``"done"``
            (every row settled), ``"stopped"`` (the run stopped by itself with rows
            pending; Resume continues) or ``"failed"``.
        run_id: The run, once started.
        result: The final ImportResult, once the run ended.
        error: The message of an error that ended the run.
    """

    def __init__(self, client: TwentyClient, plan: ImportPlan, importer: Importer | None = None):
        from twenty_migrate.run.importer import Importer

        w = _ipywidgets()
        self.client = client
        self.plan = plan
        self.importer = importer if importer is not None else Importer(client, progress=None)
        self.state = "ready"
        self.run_id: str | None = None
        self.result: ImportResult | None = None
        self.error: str | None = None
        self.thread: threading.Thread | None = None
        self.progress = _LiveCounts(self._show_counts)
        self.start_button = w.Button(description="Start", button_style="primary")
        self.pause_button = w.Button(description="Pause", disabled=True)
        self.resume_button = w.Button(description="Resume", disabled=True)
        self.run_again = w.Checkbox(description="Run again", value=False)
        self.run_again.observe(lambda _: self._refresh(), names="value")
        self.start_button.on_click(lambda _: self.start())
        self.pause_button.on_click(lambda _: self.pause())
        self.resume_button.on_click(lambda _: self.resume())
        self.counts = w.Label(value=f"{plan.n_rows} rows to import")
        self.output = w.Output()
        buttons = w.HBox([self.start_button, self.pause_button, self.resume_button, self.run_again])
        self.widget = w.VBox([buttons, self.counts, self.output, w.HTML(_WRAP_CSS)])
        # Long count lines and messages wrap rather than run off the cell (_WRAP_CSS).
        self.counts.add_class("twenty-wrap")
        self.output.add_class("twenty-wrap")
        blocked = self._refresh()
        if blocked:
            _say(self.output, blocked)

    def __repr__(self) -> str:
        return f"ImportRunner({self.plan.label!r}, {self.state}, run_id={self.run_id!r})"

    def _show_counts(self) -> None:
        self.counts.value = self.progress.text()

    def start(self) -> None:
        """What Start does: run the plan on a background thread (see the class doc for
        when it refuses)."""
        if self.thread is not None and self.thread.is_alive():
            _say(self.output, f"Run {self.run_id or '(starting)'} is already running.")
            return
        blocked = self._blocked()
        if blocked and not self.run_again.value:
            _say(self.output, blocked)
            return
        self.run_again.value = False  # each new run needs its own tick
        self._launch(lambda: self.importer.run(self.plan))

    def _blocked(self) -> str:
        """Why Start needs "Run again" ("" when it does not), from the run journals."""
        from twenty_migrate.run.history import plan_runs
        from twenty_migrate.run.runs import FINISHED_RUN

        try:
            runs = plan_runs(self.importer.runs_dir, self.plan.fingerprint())
        except Exception:  # unreadable journals block nothing: a re-run is an upsert
            return ""
        if not runs:
            return ""
        last = runs[-1]
        run_id, status, totals = last["run_id"], last["status"], last["totals"]
        if status in FINISHED_RUN:
            done = ", ".join(f"{totals.get(k, 0)} {k}" for k in ("created", "updated", "failed"))
            return (
                f"This plan was already imported by run {run_id} ({done}). Tick 'Run again' "
                "to start another run: rows unchanged since are skipped, changed rows "
                "update their records."
            )
        if self.run_id is None:
            self.run_id = run_id  # so Resume finishes it
        if status == "running":
            return (
                f"Run {run_id} of this plan is already running (or its process stopped: "
                "then Resume finishes it). Tick 'Run again' to start another run anyway."
            )
        return (
            f"Run {run_id} of this plan stopped ({status}, {totals.get('pending', 0)} rows "
            "pending): press Resume to finish it, or tick 'Run again' to start a new run."
        )

    def _refresh(self) -> str:
        """Enable Start and Resume as the journals allow; return why Start is blocked."""
        if self.thread is not None and self.thread.is_alive():
            return ""
        blocked = self._blocked()
        self.start_button.disabled = bool(blocked) and not self.run_again.value
        if self.run_id is not None and self.state != "done":
            self.resume_button.disabled = False
        return blocked

    def resume(self) -> None:
        """What Resume does: finish the paused (or stopped) run on a background thread."""
        run_id = self.run_id
        if run_id is None:
            _say(self.output, "Nothing to resume: press Start.")
            return
        self._launch(lambda: self.importer.resume(run_id))

    def pause(self) -> None:
        """What Pause does: ask the run to stop after the calls in flight."""
        if self.state != "running":
            return
        self.state = "pausing"
        self.pause_button.disabled = True
        _say(self.output, "Pausing after the calls in flight...")
        request_stop = getattr(self.importer, "request_stop", None)
        if callable(request_stop):
            request_stop()
        else:
            self.progress.stop_requested.set()

    def wait(self, timeout: float | None = None) -> str:
        """Wait for the background thread to end (or ``timeout`` seconds); return the state."""
        if self.thread is not None:
            self.thread.join(timeout)
        return self.state

    def _launch(self, job: Callable[[], ImportResult]) -> None:
        if self.thread is not None and self.thread.is_alive():
            return
        self.state, self.error, self.result = "running", None, None
        self.progress.stop_requested.clear()
        self.start_button.disabled = self.resume_button.disabled = True
        self.pause_button.disabled = False
        _say(self.output, "Running...")
        self.thread = threading.Thread(
            target=self._work, args=(job,), name="twenty-import-runner", daemon=True
        )
        self.thread.start()

    def _work(self, job: Callable[[], ImportResult]) -> None:
        from twenty_migrate.run.progress import make_progress

        original = self.importer.progress
        self.progress.forward = None if original is None else make_progress(original)
        self.importer.progress = self.progress
        try:
            state, result = self._outcome(job)
        finally:
            self.importer.progress = original
        self._finish(state, result)

    def _outcome(self, job: Callable[[], ImportResult]) -> tuple[str, ImportResult | None]:
        try:
            result = job()
        except _Paused:
            run_id = self.importer.last_run_id
            if run_id is None or self._totals().get("pending", 1) != 0:
                return "paused", None
            # The pause came as the last call ended: let the importer close the run.
            return self._outcome(lambda: self.importer.resume(run_id))
        except Exception as exc:  # the run stays resumable; the widget shows why it ended
            self.error = _message(exc)
            return "failed", None
        if not result.pending:
            return "done", result
        return ("paused" if self.state == "pausing" else "stopped"), result

    def _finish(self, state: str, result: ImportResult | None) -> None:
        self.run_id = self.importer.last_run_id or self.run_id
        self.result = result
        if result is not None:
            text = result.summary()
        elif state == "paused":
            text = f"Paused run {self.run_id}. {self._pending_text()}Press Resume to finish it."
        else:
            text = f"The run stopped: {self.error}. Press Resume to try again."
        self._show_counts()
        self.pause_button.disabled = True
        self.resume_button.disabled = state == "done" or self.run_id is None
        self.start_button.disabled = not self.run_again.value
        _say(self.output, text)
        self.state = state  # last: a waiting caller sees the widgets updated

    def _totals(self) -> dict[str, int]:
        """Rows per status of the current run, from its journal ({} if unreadable)."""
        from twenty_migrate.verify.export import run_summary

        run_id = self.importer.last_run_id or self.run_id
        if run_id is None:
            return {}
        try:
            return dict(run_summary(run_id, runs_dir=self.importer.runs_dir)["totals"])
        except Exception:  # the counts are a nicety; the paused run itself is safe
            return {}

    def _pending_text(self) -> str:
        totals = self._totals()
        if not totals:
            return ""
        done = ", ".join(f"{totals.get(k, 0)} {k}" for k in ("created", "updated", "failed"))
        return f"{done}, {totals.get('pending', 0)} pending. "
