"""Run an :class:`~twenty_migrate.ImportPlan` against Twenty: concurrent, paced,
journalled, resumable, and exactly-once per row.

How a run goes:

* The journal is written first: every row gets the id it will carry in Twenty before
  anything is sent, derived from the migration, the object and the row's identity
  (:mod:`~twenty_migrate.plan.record_ids`), so every run of a migration sends a row with the
  same id. Every record is sent with that ``id`` and ``upsert=True`` by
  default, so sending a batch twice (a retry, a replay after a crash) updates instead of
  duplicating.
* Steps run in plan order (a later step may point to records of earlier ones); inside a
  step, up to ``max_in_flight`` batches are in flight at once, all paced by the client's
  rate limiter. Throttled calls are retried inside the client and never count as failures.
* Each answer is matched to its rows by id, else by the object's unique key (Twenty does
  not keep input order): ``created`` when the record carries the row's own id, ``updated``
  when Twenty matched an existing record.
* A refused batch is split so the good rows land and each bad row gets Twenty's own
  message: rows the message names (``data[3]``, or the offending value of a field) are
  failed directly; otherwise the batch is halved until the bad rows stand alone.
* A batch whose answer was lost is *ambiguous*: it is re-sent as the same idempotent
  upsert (or, for ``upsert=False`` steps, the ids are looked up first and only the missing
  records are sent). :meth:`Importer.resume` finishes interrupted runs this way.
* Calls carry as many records as the server takes. Its cap (200 now, 60 in older
  releases) cannot be queried: unless ``client.traits.max_records`` knows it, the first
  write call tries 200, alone. A smaller server refuses it whole, naming its cap; the run
  goes on at that cap and the client remembers it. A plan's ``batch_size`` (and the
  ``batch_size`` setting) is never exceeded.
* A quota refusal (402 allowance used up, 409 record limit, ``QUOTA_EXHAUSTED``) is never
  retried: the run stops with its rows pending and says what to raise; a resume then
  finishes it.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from twenty_migrate.plan.plan import ImportPlan, RateBudget
from twenty_migrate.run.history import landed_fingerprints, reusable_ids, still_in_workspace
from twenty_migrate.run.journal import RunJournal
from twenty_migrate.run.outcomes import ImportResult
from twenty_migrate.run.progress import ProgressArg
from twenty_migrate.run.sending import Session, SupportsImport
from twenty_migrate.run.server_limits import apply_known_budget

__all__ = ["DEFAULT_MAX_IN_FLIGHT", "ImportResult", "Importer", "SupportsImport"]


#: Why a run stopped when :meth:`Importer.request_stop` was called.
STOP_REASON = "stopped on request; resume the run to finish it"
#: Calls kept in flight. The rate limiter, not this, sets the pace; enough calls must be
#: open to cover the latency of a whole released group (ratelimit.GROUP_GUARD), or slow
#: calls would leave budget unused.
DEFAULT_MAX_IN_FLIGHT = 32


class Importer:
    """Runs import plans through a client, journalling every step.

    Args:
        client: A :class:`~twenty_migrate.TwentyClient` (or anything with its
            ``create_many`` and ``find_by_ids``).
        runs_dir: Where run journals go (default: the ``runs_dir`` setting,
            ``TWENTY_MIGRATE_RUNS_DIR``).
        max_in_flight: Batches sent concurrently. The client's limiter paces them, so this
            only needs to cover the network latency.
        progress: ``"auto"`` (tqdm bars), ``"log"``, ``None`` or a :class:`Progress`.
        clock: Monotonic clock for durations and estimates.

    Example:
        >>> importer = Importer(client, runs_dir="runs")
        >>> importer.run(plan, test_batch=5)      # check these 5 records in Twenty first
        >>> result = importer.run(plan)
        >>> result.raise_for_failures()
    """

    def __init__(
        self,
        client: SupportsImport,
        *,
        runs_dir: str | Path | None = None,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
        progress: ProgressArg = "auto",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if int(max_in_flight) < 1:
            raise ValueError("max_in_flight must be at least 1")
        self.client = client
        self.runs_dir = Path(runs_dir) if runs_dir is not None else default_runs_dir(client)
        self.max_in_flight = int(max_in_flight)
        self.progress = progress
        self.clock = clock
        #: Id of the latest run started or resumed (useful after an interrupt).
        self.last_run_id: str | None = None
        self._session: Session | None = None
        self._stop = threading.Event()

    def request_stop(self) -> None:
        """Ask the running :meth:`run` or :meth:`resume` to stop cleanly; safe from any thread.

        Calls in flight finish and are journalled, nothing new is sent, and the result is
        ``incomplete``: :meth:`resume` with its run id finishes it (a notebook's Pause).
        """
        self._stop.set()
        session = self._session
        if session is not None:
            session.halt(STOP_REASON)

    def __repr__(self) -> str:
        return (
            f"Importer(client={self.client!r}, runs_dir={str(self.runs_dir)!r}, "
            f"max_in_flight={self.max_in_flight})"
        )

    def run(
        self,
        plan: ImportPlan,
        *,
        run_id: str | None = None,
        dry_run: bool = False,
        test_batch: int | None = None,
        only_changed: bool | None = None,
    ) -> ImportResult:
        """Import a plan; with the ``run_id`` of an existing run, finish that run instead.

        Args:
            plan: What to import.
            run_id: Name for a new run, or an existing run to resume (same plan required).
            dry_run: Send nothing; the result describes the calls and estimated duration.
            test_batch: Send only the first N rows of the first step, as a separate run, to
                check them in Twenty first. The full run later re-sends those rows with the
                same ids (upsert steps), so they are not created twice.
            only_changed: Rows that an earlier run (or test batch) of the same migration
                (:attr:`~twenty_migrate.ImportPlan.migration_name`) landed with the
                same values are recorded as ``unchanged`` and cost no call; changed rows
                update the record they landed in. On by default (None); ``False`` sends
                every row again, still as updates of the same records. A row is
                recognised by its identity (source id, unique key, identifying values).
                A test batch always sends its rows.

        Returns:
            The outcome. Row failures are in ``result.failures``, not raised.

        Raises:
            PlanMismatchError: ``run_id`` exists with a different plan.
            TwentyAPIError: A run-level error (bad key, no permission); the run stays
                resumable.
        """
        full = plan
        apply_known_budget(self.client)  # before the first read below, not only at sending
        if test_batch is not None:
            plan = full.head(int(test_batch))
        if dry_run:
            limit = self._user_limit(plan)
            if limit < plan.batch_size:
                plan = ImportPlan(plan.steps, limit, plan.api, plan.name, plan.max_batch_bytes)
            text = plan.dry_run(self._rate_limit(), max_records=self._max_records())
            counts = {s.object: {"pending": len(s)} for s in plan.steps}
            return ImportResult.dry(text, counts)
        settings = self._settings(plan)
        if test_batch is not None:
            settings.update(
                test_batch=int(test_batch), parent=full.label, parent_fingerprint=full.fingerprint()
            )
            journal = RunJournal.create(
                self.runs_dir,
                plan,
                run_id=run_id,
                kind="test_batch",
                settings=settings,
                base_url=self._base_url(),
                previous=self._landed(plan),
                send_unchanged=True,
            )
        elif run_id is not None and RunJournal.exists(self.runs_dir, run_id):
            journal = _open_checked(self.runs_dir, run_id, plan)
        else:
            upserting = {s.object for s in plan.steps if s.upsert}
            earlier = reusable_ids(self.runs_dir, f"{plan.label}-test")
            settings["only_changed"] = only_changed is not False
            journal = RunJournal.create(
                self.runs_dir,
                plan,
                run_id=run_id,
                settings=settings,
                base_url=self._base_url(),
                reuse_ids={k: v for k, v in earlier.items() if k[0] in upserting},
                previous=self._landed(plan),
                send_unchanged=only_changed is False,
            )
        return self._execute(journal, [s.object for s in plan.steps])

    def resume(self, run_id: str, *, plan: ImportPlan | None = None) -> ImportResult:
        """Finish an interrupted run: unanswered batches first, then pending ones.

        Args:
            run_id: The run to finish.
            plan: Optionally the plan you expect it to have; a different one is refused.

        Raises:
            JournalError: No such run.
            PlanMismatchError: ``plan`` is not the run's plan.
        """
        if plan is not None:
            journal = _open_checked(self.runs_dir, run_id, plan)
        else:
            journal = RunJournal.open(self.runs_dir, run_id)
        try:
            objects = [s.object for s in journal.plan().steps]
        except BaseException:
            journal.close()
            raise
        return self._execute(journal, objects)

    # ------------------------------------------------------------------ internals

    def _landed(self, plan: ImportPlan) -> dict[tuple[str, str], tuple[str, str]]:
        """What earlier runs of the plan's migration left in this workspace (checked)."""
        landed = landed_fingerprints(self.runs_dir, plan.migration_name)
        return still_in_workspace(self.client, landed) if landed else {}

    def _rate_limit(self) -> RateBudget | None:
        limiter = getattr(self.client, "limiter", None)
        rate_limit = getattr(limiter, "rate_limit", None)
        return rate_limit if hasattr(rate_limit, "long_limit") else None

    def _max_records(self) -> int | None:
        """The server's per-call cap, when an earlier call calibrated it."""
        cap = getattr(getattr(self.client, "traits", None), "max_records", None)
        return cap if isinstance(cap, int) and cap > 0 else None

    def _base_url(self) -> str | None:
        """The workspace URL for the journal, without any credentials or query string."""
        value = getattr(self.client, "base_url", None)
        if value is None:
            return None
        return re.sub(r"//[^/@]*@", "//", str(value)).split("?", 1)[0]

    def _user_limit(self, plan: ImportPlan) -> int:
        """Most records per call the user allows: the plan's batch_size, or the client's
        ``batch_size`` setting (``TWENTY_MIGRATE_BATCH_SIZE``) when lower."""
        configured = getattr(getattr(self.client, "settings", None), "batch_size", None)
        if isinstance(configured, int) and 0 < configured < plan.batch_size:
            return configured
        return plan.batch_size

    def _settings(self, plan: ImportPlan) -> dict[str, Any]:
        settings: dict[str, Any] = {
            "migration": plan.migration_name,  # earlier runs of it are found by this
            "api": plan.api,
            "batch_size": self._user_limit(plan),
            "max_batch_bytes": plan.max_batch_bytes,
            "max_in_flight": self.max_in_flight,
        }
        budget = self._rate_limit()
        if budget is not None:
            settings["rate_limit"] = {
                "short_limit": budget.short_limit,
                "short_window": budget.short_window,
                "long_limit": budget.long_limit,
                "long_window": budget.long_window,
            }
        return settings

    def _execute(self, journal: RunJournal, objects: Sequence[str]) -> ImportResult:
        self.last_run_id = journal.run_id
        session = Session(
            self.client,
            journal,
            max_in_flight=self.max_in_flight,
            clock=self.clock,
            progress=self.progress,
            rate_limit=self._rate_limit(),
        )
        self._session = session
        if self._stop.is_set():
            session.halt(STOP_REASON)
        try:
            return self._drive(session, journal, objects)
        finally:
            self._session = None
            self._stop.clear()

    def _drive(self, session: Session, journal: RunJournal, objects: Sequence[str]) -> ImportResult:
        try:
            session.check_objects(objects)
            journal.set_status("running", started=True)
            session.run()
        except BaseException as exc:
            session.close()
            with contextlib.suppress(Exception):
                stopped = "failed" if isinstance(exc, Exception) else "interrupted"
                journal.set_status(stopped, finished=True)
            if hasattr(exc, "add_note"):
                exc.add_note(
                    f"Run {journal.run_id} is journalled in {journal.path}; finish it with "
                    f"Importer(client).resume({journal.run_id!r}) or `twenty-migrate resume "
                    f"{journal.run_id}`."
                )
            journal.close()
            raise
        session.close()
        try:
            return session.result()
        finally:
            journal.close()


def _open_checked(runs_dir: Path, run_id: str, plan: ImportPlan) -> RunJournal:
    journal = RunJournal.open(runs_dir, run_id)
    try:
        journal.check_plan(plan)
    except BaseException:
        journal.close()
        raise
    return journal


def default_runs_dir(client: Any) -> Path:
    runs_dir = getattr(getattr(client, "settings", None), "runs_dir", None)
    if runs_dir is None:
        from twenty_migrate.twenty.config import Settings

        runs_dir = Settings.from_env().runs_dir
    return Path(runs_dir)
