"""Sending a run's pending batches: the engine behind :class:`~twenty_migrate.Importer`.

A :class:`Session` reads the journal's pending work and sends it, step by step, with up to
``max_in_flight`` batches in flight (the client's limiter paces them). It records each
request before it goes out and each answer when it comes back, matches answers to rows,
splits refused batches to isolate the bad rows, reconciles batches whose answer was lost,
and stops early when Twenty cannot be reached, a quota is used up, or every row fails for
a reason outside the rows. Row outcomes and progress are reported as they happen.

While the server's per-call cap is not known, a batch larger than any the server took goes
alone (:class:`~twenty_migrate.run.server_limits.CallSize`); when Twenty names a smaller cap,
the step's unsent batches are re-cut to it (:meth:`RunJournal.regroup`).
"""

from __future__ import annotations

import logging
import threading
from collections import Counter, deque
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, Protocol

import httpx

from twenty_migrate.plan.plan import MAX_BATCH_BYTES, RateBudget
from twenty_migrate.run.journal import RunJournal
from twenty_migrate.run.outcomes import (
    match_records,
    named_rows,
    selection,
    suspect_row,
    unique_paths,
)
from twenty_migrate.run.progress import Progress, ProgressArg, make_progress
from twenty_migrate.run.runs import BatchState, PendingRow, RowOutcome
from twenty_migrate.run.server_limits import (
    CallSize,
    apply_known_budget,
    cap_in,
    quota_message,
    remember_throttling,
)
from twenty_migrate.run.session_report import SYSTEMIC_FAILURES, SessionReport
from twenty_migrate.twenty.errors import (
    APIConnectionError,
    APIStatusError,
    BadRequestError,
    ConflictError,
    RateLimitError,
    ServerError,
    TwentyAPIError,
    is_quota_refusal,
)
from twenty_migrate.values.payloads import iter_refs, replace_refs

__all__ = ["MAX_RECONCILE_ROUNDS", "SYSTEMIC_FAILURES", "Session", "SupportsImport"]

logger = logging.getLogger("twenty_migrate.run.importer")

#: Look-up-and-resend rounds for a create-only batch whose answer was lost.
MAX_RECONCILE_ROUNDS = 3
#: Error code written on rows left pending by a quota refusal.
QUOTA_CODE = "QUOTA_EXHAUSTED"
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


def _error_code(exc: TwentyAPIError | None) -> str | None:
    if exc is None:
        return None
    return exc.sub_code or exc.code or type(exc).__name__


def _row_message(exc: TwentyAPIError) -> str:
    """Twenty's message, plus its user-friendly version when that says more."""
    message = str(exc)
    friendly = exc.user_friendly_message
    if friendly and friendly.strip() and friendly not in message:
        return f"{message} ({friendly.strip()})"
    return message


def _status_of(exc: BaseException | None) -> int | None:
    status = getattr(exc, "status_code", None)
    return status if isinstance(status, int) else None


def _chunks(rows: Sequence[PendingRow], size: int) -> list[list[PendingRow]]:
    return [list(rows[i : i + size]) for i in range(0, len(rows), size)]


class Session(SessionReport):
    """One execution of a journal's pending work (a run, or a resume of it)."""

    def __init__(
        self,
        client: SupportsImport,
        journal: RunJournal,
        *,
        max_in_flight: int,
        clock: Callable[[], float],
        progress: ProgressArg,
        rate_limit: RateBudget | None,
    ) -> None:
        self.client = client
        self.journal = journal
        self.max_in_flight = max_in_flight
        self.clock = clock
        self.progress_arg = progress
        self.rate_limit = rate_limit
        settings = journal.settings
        self.api = str(settings.get("api", "graphql"))
        limit = settings.get("batch_size")
        self.calls = CallSize(client, int(limit) if limit else None)
        self.max_bytes = int(settings.get("max_batch_bytes") or MAX_BATCH_BYTES)
        apply_known_budget(client)
        self.lock = threading.Lock()
        self.stop = threading.Event()
        # Set when the server named a smaller cap: the step's unsent batches are re-cut.
        self.regroup_wanted = threading.Event()
        self.reason: str | None = None
        self.shown_per_call: tuple[int, bool] | None = None
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
            known = unique_paths(self.client, obj)
            self.keys[(obj, key)] = paths + [p for p in known if p not in paths]
        return self.keys[(obj, key)]

    # -------------------------------------------------------------- running

    def run(self) -> None:
        objects: dict[int, str] = {}
        for batch in self.journal.pending_batches():
            objects.setdefault(batch.step, batch.object)
        if not objects:
            return
        self.progress = make_progress(self.progress_arg)
        step_counts = self.journal.step_counts()
        with ThreadPoolExecutor(self.max_in_flight, thread_name_prefix="twenty-import") as pool:
            for step, obj in sorted(objects.items()):
                counts = step_counts.get(step, {})
                done = {k: v for k, v in counts.items() if k != "pending" and v}
                with self.lock:
                    self.object = obj
                    self.left = int(counts.get("pending", 0))
                    self.succeeded = sum(v for k, v in done.items() if k != "failed")
                    self.failures = Counter()
                self.progress.start(self.object, sum(counts.values()))
                self.shown_per_call = None
                if done:
                    self.progress.update(self.object, **done)
                self.show_progress()
                self.run_step(pool, step)
                if self.stop.is_set():
                    break
        remember_throttling(self.client)

    def step_batches(self, step: int) -> deque[BatchState]:
        """The step's pending batches, cut to the records per call allowed now."""
        self.journal.regroup(step, self.calls.size, self.max_bytes)
        return deque(b for b in self.journal.pending_batches() if b.step == step)

    def run_step(self, pool: ThreadPoolExecutor, step: int) -> None:
        queue = self.step_batches(step)
        # future -> whether it is a probe (a batch that may be over the unknown cap)
        in_flight: dict[Future[None], bool] = {}
        try:
            while True:
                if not in_flight and self.regroup_wanted.is_set():
                    self.regroup_wanted.clear()
                    if not self.stop.is_set():
                        queue = self.step_batches(step)
                if not in_flight and (not queue or self.stop.is_set()):
                    break
                while (
                    queue
                    and not self.stop.is_set()
                    and not self.regroup_wanted.is_set()
                    and len(in_flight) < self.max_in_flight
                    and not any(in_flight.values())
                ):
                    probe = self.calls.is_probe(len(queue[0].rows))
                    if probe and in_flight:
                        break  # a probe goes alone: a refusal then costs one call, not many
                    in_flight[pool.submit(self.work, queue.popleft())] = probe
                if not in_flight:
                    continue
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
            first = self.reason is None
            if first:
                self.reason = reason
        self.stop.set()
        if first:
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
        size = self.calls.size
        if len(rows) > size:
            self.split(batch, batch_id, None, _chunks(rows, size))
            return
        attempt = self.journal.mark_sent(batch_id, [r.row for r in rows])
        started = self.clock()
        paths = self.key_paths(batch.object, batch.key)
        records = [{**r.payload, "id": r.sent_id} for r in rows]
        try:
            returned = self.client.create_many(
                batch.object, records, upsert=batch.upsert, api=self.api, fields=selection(paths)
            )
        except (APIConnectionError, ServerError) as exc:
            self.unanswered(batch, batch_id, rows, attempt, exc, self.ms(started), round)
        except APIStatusError as exc:
            self.refused_call(batch, batch_id, rows, attempt, exc, self.ms(started))
        else:
            self.calls.accepted(len(rows))
            self.answered(batch, batch_id, rows, attempt, returned, paths, self.ms(started))

    def refused_call(
        self,
        batch: BatchState,
        batch_id: str,
        rows: list[PendingRow],
        attempt: int,
        exc: APIStatusError,
        elapsed_ms: float,
    ) -> None:
        """Twenty answered the call with an error: quota, throttle, bad rows, or worse."""
        if is_quota_refusal(exc):
            self.quota_refused(batch, batch_id, rows, attempt, exc, elapsed_ms)
        elif isinstance(exc, RateLimitError):
            # A throttled call was not applied, and the client already waited long enough.
            self.answer(batch_id, attempt, "throttled", "pending", exc, elapsed_ms)
            self.halt(f"Twenty kept throttling ({exc}); resume later")
        elif isinstance(exc, (BadRequestError, ConflictError)):
            self.refused(batch, batch_id, rows, attempt, exc, elapsed_ms)
        elif exc.status_code == 413 and len(rows) > 1:
            self.split(batch, batch_id, attempt, _chunks(rows, (len(rows) + 1) // 2), exc=exc)
        else:
            self.answer(batch_id, attempt, "error", "pending", exc, elapsed_ms)
            raise exc

    def quota_refused(
        self,
        batch: BatchState,
        batch_id: str,
        rows: list[PendingRow],
        attempt: int,
        exc: APIStatusError,
        elapsed_ms: float,
    ) -> None:
        """A quota is used up: nothing was written and retrying cannot help. The batch's
        rows stay pending, marked with the reason, and the run stops for a resume."""
        reason = quota_message(exc, self.journal.run_id)
        marked = [
            RowOutcome(batch.object, r.row, "pending", None, str(exc), QUOTA_CODE) for r in rows
        ]
        self.journal.record_answer(
            batch_id,
            attempt,
            outcome="quota",
            batch_status="pending",
            rows=marked,
            http_status=_status_of(exc),
            message=str(exc),
            elapsed_ms=elapsed_ms,
        )
        self.halt(reason)

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
        cap = cap_in(exc.messages)
        if cap is not None and len(rows) > cap:
            # Refused whole for its size: nothing was written. The batch goes back to
            # pending, and the step's unsent batches are re-cut to the cap.
            self.calls.refused(cap)
            self.answer(batch_id, attempt, "too_many", "pending", exc, elapsed_ms)
            self.regroup_wanted.set()
            return
        if len(rows) == 1:
            message = _row_message(exc)
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
