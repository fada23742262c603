"""Run an :class:`~twenty_migrate.plan.ImportPlan` against Twenty: concurrent, paced,
journalled, resumable, and exactly-once per row.

How a run goes:

* The journal is written first: every row gets the id it will carry in Twenty (a uuid4)
  before anything is sent. Every record is sent with that ``id`` and ``upsert=True`` by
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
"""

from __future__ import annotations

import contextlib
import logging
import math
import re
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any, Protocol

import httpx

from .errors import (
    APIConnectionError,
    APIStatusError,
    BadRequestError,
    ConflictError,
    RateLimitError,
    ServerError,
    TwentyAPIError,
)
from .journal import BatchState, PendingRow, RowOutcome, RunJournal, reusable_ids
from .outcomes import ImportResult, match_records, named_rows, selection, suspect_row
from .plan import ImportPlan, RateBudget, budget_seconds, iter_refs, replace_refs
from .progress import Progress, ProgressArg, make_progress

__all__ = ["DEFAULT_MAX_IN_FLIGHT", "ImportResult", "Importer", "SupportsImport"]

logger = logging.getLogger("twenty_migrate.importer")

DEFAULT_MAX_IN_FLIGHT = 8
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
#: A step stops when this many of its rows failed and none succeeded: when every row fails,
#: the cause is outside the rows (a missing field or option), and going on wastes the budget.
SYSTEMIC_FAILURES = 20
#: Look-up-and-resend rounds for a create-only batch whose answer was lost.
MAX_RECONCILE_ROUNDS = 3
#: Twenty names its per-call cap (QUERY_MAX_RECORDS) in this message (twenty-api.md §2.3).
_CAP_RE = re.compile(r"Maximum number of records to \w+ is (\d+)", re.IGNORECASE)
_SETTLED = ("created", "updated", "unchanged", "failed")
_LANDED = ("created", "updated", "unchanged")


class SupportsImport(Protocol):
    """The client methods the importer needs (``TwentyClient`` has them)."""

    def create_many(
        self,
        object_name: str,
        records: list[dict[str, Any]],
        *,
        upsert: bool = True,
        api: str = "graphql",
        fields: str = "id",
    ) -> list[dict[str, Any]]: ...

    def find_by_ids(
        self,
        object_name: str,
        ids: Sequence[str],
        *,
        fields: str | None = "id",
        with_deleted: bool = True,
    ) -> list[dict[str, Any]]: ...


class Importer:
    """Runs import plans through a client, journalling every step.

    Args:
        client: A :class:`~twenty_migrate.client.TwentyClient` (or anything with its
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
        self.runs_dir = Path(runs_dir) if runs_dir is not None else _default_runs_dir(client)
        self.max_in_flight = int(max_in_flight)
        self.progress = progress
        self.clock = clock
        #: Id of the latest run started or resumed (useful after an interrupt).
        self.last_run_id: str | None = None

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
    ) -> ImportResult:
        """Import a plan; with the ``run_id`` of an existing run, finish that run instead.

        Args:
            plan: What to import.
            run_id: Name for a new run, or an existing run to resume (same plan required).
            dry_run: Send nothing; the result describes the calls and estimated duration.
            test_batch: Send only the first N rows of the first step, as a separate run, to
                check them in Twenty first. The full run later re-sends those rows with the
                same ids (upsert steps), so they are not created twice.

        Returns:
            The outcome. Row failures are in ``result.failures``, not raised.

        Raises:
            PlanMismatchError: ``run_id`` exists with a different plan.
            TwentyAPIError: A run-level error (bad key, no permission); the run stays
                resumable.
        """
        full = plan
        if test_batch is not None:
            plan = full.head(int(test_batch))
        if dry_run:
            text = plan.dry_run(self._rate_limit())
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
            )
        elif run_id is not None and RunJournal.exists(self.runs_dir, run_id):
            journal = _open_checked(self.runs_dir, run_id, plan)
        else:
            upserting = {s.object for s in plan.steps if s.upsert}
            earlier = reusable_ids(self.runs_dir, f"{plan.label}-test")
            journal = RunJournal.create(
                self.runs_dir,
                plan,
                run_id=run_id,
                settings=settings,
                base_url=self._base_url(),
                reuse_ids={k: v for k, v in earlier.items() if k[0] in upserting},
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

    def _rate_limit(self) -> RateBudget | None:
        limiter = getattr(self.client, "limiter", None)
        rate_limit = getattr(limiter, "rate_limit", None)
        return rate_limit if hasattr(rate_limit, "long_limit") else None

    def _base_url(self) -> str | None:
        value = getattr(self.client, "base_url", None)
        return None if value is None else str(value)

    def _settings(self, plan: ImportPlan) -> dict[str, Any]:
        settings: dict[str, Any] = {
            "api": plan.api,
            "batch_size": plan.batch_size,
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
        session = _Session(self, journal)
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


def _default_runs_dir(client: Any) -> Path:
    runs_dir = getattr(getattr(client, "settings", None), "runs_dir", None)
    if runs_dir is None:
        from .config import Settings

        runs_dir = Settings.from_env().runs_dir
    return Path(runs_dir)


def _error_code(exc: TwentyAPIError | None) -> str | None:
    if exc is None:
        return None
    return exc.sub_code or exc.code or type(exc).__name__


def _status_of(exc: BaseException | None) -> int | None:
    status = getattr(exc, "status_code", None)
    return status if isinstance(status, int) else None


def _chunks(rows: Sequence[PendingRow], size: int) -> list[list[PendingRow]]:
    return [list(rows[i : i + size]) for i in range(0, len(rows), size)]


class _Session:
    """One execution of a journal's pending work (a run, or a resume of it)."""

    def __init__(self, importer: Importer, journal: RunJournal) -> None:
        self.client = importer.client
        self.journal = journal
        self.max_in_flight = importer.max_in_flight
        self.clock = importer.clock
        self.progress_arg = importer.progress
        self.rate_limit = importer._rate_limit()
        settings = journal.settings
        self.api = str(settings.get("api", "graphql"))
        self.batch_size = int(settings.get("batch_size", 60))
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.reason: str | None = None
        self.cap: int | None = None
        self.keys: dict[tuple[str, str | None], list[str]] = {}
        self.started = self.clock()
        self.stats_start = self.stats()
        self.stats_saved = dict(self.stats_start)
        self.stats_shown = dict(self.stats_start)
        self.saved_at = self.started
        self.unshown: dict[str, Counter[str]] = {}
        self.progress: Progress | None = None
        # Current step: object, rows left, successes and failures (systemic-failure guard).
        self.object = ""
        self.left = 0
        self.succeeded = 0
        self.failures: Counter[str] = Counter()

    # -------------------------------------------------------------- setup

    def stats(self) -> dict[str, int]:
        snapshot = getattr(getattr(self.client, "stats", None), "snapshot", None)
        data = snapshot() if callable(snapshot) else {}
        return {k: int(data.get(k, 0)) for k in ("calls", "throttled", "retried")}

    def check_objects(self, objects: Sequence[str]) -> None:
        """Resolve the object names before anything is sent, so a typo fails cheaply."""
        names = getattr(self.client, "object_names", None)
        if callable(names):
            for obj in dict.fromkeys(objects):
                names(obj)

    def key_paths(self, obj: str, key: str | None) -> list[str]:
        """Paths to match answers on: the step's key, then the object's unique fields."""
        if (obj, key) not in self.keys:
            paths = [key] if key else []
            self.keys[(obj, key)] = paths + [p for p in self.unique_paths(obj) if p not in paths]
        return self.keys[(obj, key)]

    def unique_paths(self, obj: str) -> list[str]:
        reader = getattr(self.client, "object_metadata", None)
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

    # -------------------------------------------------------------- running

    def run(self) -> None:
        steps: dict[int, list[BatchState]] = {}
        for batch in self.journal.pending_batches():
            steps.setdefault(batch.step, []).append(batch)
        if not steps:
            return
        self.progress = make_progress(self.progress_arg)
        step_counts = self.journal.step_counts()
        with ThreadPoolExecutor(self.max_in_flight, thread_name_prefix="twenty-import") as pool:
            for step, batches in sorted(steps.items()):
                counts = step_counts.get(step, {})
                done = {k: v for k, v in counts.items() if k != "pending" and v}
                with self.lock:
                    self.object = batches[0].object
                    self.left = int(counts.get("pending", 0))
                    self.succeeded = sum(v for k, v in done.items() if k != "failed")
                    self.failures = Counter()
                self.progress.start(self.object, sum(counts.values()))
                if done:
                    self.progress.update(self.object, **done)
                self.run_step(pool, batches)
                if self.stop.is_set():
                    break

    def run_step(self, pool: ThreadPoolExecutor, batches: Sequence[BatchState]) -> None:
        queue = deque(batches)
        in_flight: dict[Future[None], BatchState] = {}
        try:
            while in_flight or (queue and not self.stop.is_set()):
                while queue and not self.stop.is_set() and len(in_flight) < self.max_in_flight:
                    batch = queue.popleft()
                    in_flight[pool.submit(self.work, batch)] = batch
                done, _ = wait(list(in_flight), timeout=0.5, return_when=FIRST_COMPLETED)
                for future in done:
                    del in_flight[future]
                    future.result()
                self.show_progress()
        except BaseException:
            # Let the requests already on the wire finish and record their answers.
            self.stop.set()
            wait(list(in_flight))
            raise
        finally:
            self.show_progress()

    def halt(self, reason: str) -> None:
        with self.lock:
            if self.reason is None:
                self.reason = reason
        self.stop.set()
        logger.warning("Stopping run %s: %s", self.journal.run_id, reason)

    def work(self, batch: BatchState) -> None:
        """Send one planned batch, and whatever it splits into."""
        rows = self.resolve(batch, list(batch.rows))
        if rows and batch.unanswered and not batch.upsert:
            rows = self.reconcile(batch, batch.batch_id, rows)
        if not rows:
            self.journal.close_batch(batch.batch_id)
            return
        self.send(batch, batch.batch_id, rows)

    def resolve(self, batch: BatchState, rows: list[PendingRow]) -> list[PendingRow]:
        """Put the Twenty ids of earlier steps' rows into relation fields; a row whose target
        did not land fails here, with a message naming the target."""
        wanted = {(obj, row) for r in rows for _, obj, row in iter_refs(r.payload)}
        if not wanted:
            return rows
        targets = self.journal.targets(wanted)
        ready, failed = [], []
        for r in rows:
            ids, problems = {}, []
            for path, obj, row in iter_refs(r.payload):
                hit = targets.get((obj, row))
                if hit is not None and hit["status"] in _LANDED and hit["twenty_id"]:
                    ids[path] = str(hit["twenty_id"])
                elif hit is None:
                    problems.append(f"{path}: {obj} row {row!r} is not in the plan")
                elif hit["status"] == "failed":
                    problems.append(f"{path}: {obj} row {row!r} failed ({hit['error']})")
                else:
                    problems.append(f"{path}: {obj} row {row!r} has no Twenty id yet")
            if problems:
                failed.append(
                    RowOutcome(
                        batch.object, r.row, "failed", None, "; ".join(problems), "REF_FAILED"
                    )
                )
            else:
                ready.append(PendingRow(r.row, r.sent_id, replace_refs(r.payload, ids)))
        if failed:
            self.journal.settle_rows(failed)
            self.settle(batch.object, Counter(failed=len(failed)), [f.error or "" for f in failed])
        return ready

    def reconcile(
        self, batch: BatchState, batch_id: str, rows: list[PendingRow]
    ) -> list[PendingRow]:
        """A create-only batch may have landed: record the rows found, return the others."""
        attempt = self.journal.mark_sent(batch_id, [], outcome="lookup", n_records=len(rows))
        started = self.clock()
        records = self.client.find_by_ids(batch.object, [r.sent_id for r in rows])
        found = {str(r.get("id")) for r in records}
        rest = [r for r in rows if r.sent_id not in found]
        landed = [
            RowOutcome(batch.object, r.row, "created", r.sent_id)
            for r in rows
            if r.sent_id in found
        ]
        self.journal.record_answer(
            batch_id,
            attempt,
            outcome="lookup",
            batch_status="sent" if rest else "succeeded",
            rows=landed,
            message=f"{len(landed)} of {len(rows)} records already in Twenty",
            elapsed_ms=(self.clock() - started) * 1000,
        )
        self.settle(batch.object, Counter(created=len(landed)), [])
        return rest

    def send(
        self, batch: BatchState, batch_id: str, rows: list[PendingRow], round: int = 0
    ) -> None:
        if self.stop.is_set():
            return  # left pending (or sent) in the journal; a resume picks it up
        cap = self.cap
        if cap is not None and len(rows) > cap:
            self.split(batch, batch_id, None, _chunks(rows, cap))
            return
        attempt = self.journal.mark_sent(batch_id, [r.row for r in rows])
        started = self.clock()
        paths = self.key_paths(batch.object, batch.key)
        records = [{**r.payload, "id": r.sent_id} for r in rows]
        try:
            returned = self.client.create_many(
                batch.object, records, upsert=batch.upsert, api=self.api, fields=selection(paths)
            )
        except (BadRequestError, ConflictError) as exc:
            self.refused(batch, batch_id, rows, attempt, exc, self.ms(started))
        except RateLimitError as exc:
            # A throttled call was not applied, and the client already waited long enough.
            self.answer(batch_id, attempt, "throttled", "pending", exc, self.ms(started))
            self.halt(f"Twenty kept throttling ({exc}); resume later")
        except (APIConnectionError, ServerError) as exc:
            self.unanswered(batch, batch_id, rows, attempt, exc, self.ms(started), round)
        except APIStatusError as exc:
            if exc.status_code == 413 and len(rows) > 1:
                self.split(batch, batch_id, attempt, _chunks(rows, (len(rows) + 1) // 2), exc=exc)
                return
            self.answer(batch_id, attempt, "error", "pending", exc, self.ms(started))
            raise
        else:
            self.answered(batch, batch_id, rows, attempt, returned, paths, self.ms(started))

    def ms(self, started: float) -> float:
        return (self.clock() - started) * 1000

    def answer(
        self,
        batch_id: str,
        attempt: int,
        outcome: str,
        status: Any,
        exc: BaseException,
        elapsed_ms: float,
    ) -> None:
        """Record an answer that settles no row."""
        self.journal.record_answer(
            batch_id,
            attempt,
            outcome=outcome,
            batch_status=status,
            http_status=_status_of(exc),
            message=str(exc),
            elapsed_ms=elapsed_ms,
        )

    def answered(
        self,
        batch: BatchState,
        batch_id: str,
        rows: list[PendingRow],
        attempt: int,
        returned: list[dict[str, Any]],
        paths: Sequence[str],
        elapsed_ms: float,
    ) -> None:
        matched, left = match_records(rows, returned, paths)
        if left:
            # Neither id nor key in the answer: see whether the rows' own ids exist.
            ids = [r.sent_id for r in left]
            found = {str(r.get("id")) for r in self.client.find_by_ids(batch.object, ids)}
            matched.update({r.row: ("created", r.sent_id) for r in left if r.sent_id in found})
        outcomes = []
        for row in rows:
            if row.row in matched:
                status, twenty_id = matched[row.row]
                outcomes.append(RowOutcome(batch.object, row.row, status, twenty_id))
            else:
                outcomes.append(
                    RowOutcome(
                        batch.object,
                        row.row,
                        "updated",
                        None,
                        "Twenty matched an existing record on a unique field the answer does "
                        "not show; give the step a key to record which record it was",
                        "UNMATCHED",
                    )
                )
        self.journal.record_answer(
            batch_id,
            attempt,
            outcome="ok",
            batch_status="succeeded",
            rows=outcomes,
            elapsed_ms=elapsed_ms,
        )
        self.settle(batch.object, Counter(o.status for o in outcomes), [])

    def refused(
        self,
        batch: BatchState,
        batch_id: str,
        rows: list[PendingRow],
        attempt: int,
        exc: TwentyAPIError,
        elapsed_ms: float,
    ) -> None:
        """Twenty refused the batch: isolate the rows at fault, send the others."""
        caps = [int(m.group(1)) for m in map(_CAP_RE.search, exc.messages) if m]
        if caps and len(rows) > caps[0]:
            with self.lock:
                self.cap = min(caps[0], self.cap or caps[0])
            self.split(batch, batch_id, attempt, _chunks(rows, caps[0]), exc=exc, ms=elapsed_ms)
            return
        if len(rows) == 1:
            message = str(exc)
            failed = RowOutcome(
                batch.object, rows[0].row, "failed", None, message, _error_code(exc)
            )
            self.journal.record_answer(
                batch_id,
                attempt,
                outcome="bad_request",
                batch_status="failed",
                rows=[failed],
                http_status=_status_of(exc),
                message=message,
                elapsed_ms=elapsed_ms,
            )
            self.settle(batch.object, Counter(failed=1), [message])
            return
        named = named_rows(exc, rows)
        if named:
            rest = [r for i, r in enumerate(rows) if i not in named]
            failed_rows = [(rows[i], msg) for i, msg in sorted(named.items())]
            self.split(batch, batch_id, attempt, [rest], failed_rows, exc=exc, ms=elapsed_ms)
            return
        suspect = suspect_row(exc, rows)
        if suspect is not None:
            parts = [[rows[suspect]], [r for i, r in enumerate(rows) if i != suspect]]
        else:
            parts = _chunks(rows, (len(rows) + 1) // 2)
        self.split(batch, batch_id, attempt, parts, exc=exc, ms=elapsed_ms)

    def split(
        self,
        batch: BatchState,
        batch_id: str,
        attempt: int | None,
        parts: Sequence[list[PendingRow]],
        failed_rows: Sequence[tuple[PendingRow, str]] = (),
        *,
        exc: TwentyAPIError | None = None,
        ms: float | None = None,
    ) -> None:
        """Replace a batch by smaller ones (``.1``, ``.2`` ...) and send them in turn."""
        code = _error_code(exc)
        failed = [RowOutcome(batch.object, r.row, "failed", None, m, code) for r, m in failed_rows]
        children = [(f"{batch_id}.{n}", part) for n, part in enumerate(parts, 1) if part]
        self.journal.split(
            batch_id,
            attempt,
            [(child, [r.row for r in part]) for child, part in children],
            outcome="bad_request" if exc is not None else "split",
            failed=failed,
            http_status=_status_of(exc),
            message=None if exc is None else str(exc),
            elapsed_ms=ms,
        )
        if failed:
            self.settle(batch.object, Counter(failed=len(failed)), [m for _, m in failed_rows])
        for child, part in children:
            self.send(batch, child, part)

    def unanswered(
        self,
        batch: BatchState,
        batch_id: str,
        rows: list[PendingRow],
        attempt: int,
        exc: APIConnectionError | ServerError,
        elapsed_ms: float,
        round: int,
    ) -> None:
        """No usable answer: maybe applied. Reconcile now, or leave it for a resume."""
        maybe = isinstance(exc, ServerError) or bool(exc.maybe_applied)
        if isinstance(exc, ServerError):
            outcome = "server_error"
        elif isinstance(exc.__cause__, httpx.TimeoutException):
            outcome = "timeout"
        else:
            outcome = "dropped"
        self.answer(
            batch_id, attempt, outcome, "ambiguous" if maybe else "pending", exc, elapsed_ms
        )
        if not batch.upsert and round < MAX_RECONCILE_ROUNDS:
            # A plain create is not safe to repeat: see what landed, send only the rest.
            rest = self.reconcile(batch, batch_id, rows) if maybe else rows
            if rest:
                self.send(batch, batch_id, rest, round + 1)
            else:
                self.journal.close_batch(batch_id)
            return
        if batch.upsert and round < 1:
            # The client already retried this idempotent upsert; one more round after it.
            self.send(batch, batch_id, rows, round + 1)
            return
        self.halt(
            f"Twenty did not answer ({exc}); batch {batch_id} may have been applied and will "
            "be re-sent with the same ids on resume"
        )

    # -------------------------------------------------------------- reporting

    def settle(self, obj: str, counts: Counter[str], failures: Sequence[str]) -> None:
        """Count settled rows for progress and for the systemic-failure guard."""
        with self.lock:
            self.unshown.setdefault(obj, Counter()).update(+counts)
            if obj != self.object:
                return
            self.left -= sum(counts[k] for k in _SETTLED)
            self.succeeded += sum(counts[k] for k in _SETTLED if k != "failed")
            self.failures.update(failures)
            total_failed = sum(self.failures.values())
            systemic = self.succeeded == 0 and total_failed >= SYSTEMIC_FAILURES
            common = self.failures.most_common(1)
        if systemic and common:
            self.halt(
                f"all {total_failed} {obj} rows sent so far failed, most often with "
                f"{common[0][0]!r}; the cause is probably not the rows (a field or option "
                "missing in the workspace?). Fix it, then resume the run; the failed rows "
                "go to the fix-me file"
            )

    def show_progress(self) -> None:
        if self.progress is None:
            return
        stats = self.stats()
        with self.lock:
            unshown, self.unshown = self.unshown, {}
            calls = {k: stats[k] - self.stats_shown[k] for k in ("throttled", "retried")}
            self.stats_shown = stats
            obj, left = self.object, self.left
        if obj:
            unshown.setdefault(obj, Counter()).update(+Counter(calls))
        for name, counts in unshown.items():
            values = dict(counts)
            if name == obj:
                values["eta_s"] = int(self.eta(left, stats))
            self.progress.update(name, **values)

    def eta(self, left: int, stats: Mapping[str, int]) -> float:
        """Seconds left in the step by the rate budget (the observed speed misleads: a run
        goes fast during the burst, then at the sustained rate)."""
        calls_left = math.ceil(max(0, left) / max(1, self.batch_size))
        calls_done = stats["calls"] - self.stats_start["calls"]
        needed = budget_seconds(calls_done + calls_left, self.rate_limit)
        return max(0.0, needed - (self.clock() - self.started))

    def close(self) -> None:
        """Close the progress display and add this session's totals to the journal."""
        if self.progress is not None:
            with contextlib.suppress(Exception):
                self.show_progress()
            self.progress.close()
            self.progress = None
        stats, now = self.stats(), self.clock()
        delta = {k: stats[k] - self.stats_saved[k] for k in stats}
        with contextlib.suppress(Exception):
            self.journal.add_stats(duration_s=now - self.saved_at, **delta)
        self.stats_saved, self.saved_at = stats, now

    def result(self) -> ImportResult:
        counts = self.journal.counts()
        pending = sum(c["pending"] for c in counts.values())
        failed = sum(c["failed"] for c in counts.values())
        if pending:
            status = "incomplete"
        else:
            status = "completed_with_failures" if failed else "completed"
        message = None
        if pending:
            message = self.reason or "the run stopped before every row was sent"
        self.journal.set_status(status, finished=True)
        return ImportResult.from_journal(self.journal, status=status, message=message)
