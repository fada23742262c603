"""The reporting half of an import session: progress, the systemic-failure guard, totals
and the result. :class:`~twenty_migrate.run.sending.Session` builds on it."""

from __future__ import annotations

import contextlib
import math
import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from twenty_migrate.plan.plan import RateBudget, budget_seconds
from twenty_migrate.run.budget_outlook import BudgetOutlook, budget_outlook
from twenty_migrate.run.journal import RunJournal
from twenty_migrate.run.outcomes import ImportResult
from twenty_migrate.run.progress import Progress
from twenty_migrate.run.server_limits import CallSize
from twenty_migrate.twenty.ratelimit import RateLimiter

__all__ = ["SYSTEMIC_FAILURES", "SessionReport"]

#: A step stops when this many of its rows failed and none succeeded: when every row fails,
#: the cause is outside the rows (a missing field or option), and going on wastes the budget.
SYSTEMIC_FAILURES = 20
_SETTLED = ("created", "updated", "unchanged", "failed")


class SessionReport:
    """Counts settled rows, shows progress and builds the result of a session."""

    client: Any
    journal: RunJournal
    clock: Callable[[], float]
    lock: threading.Lock
    calls: CallSize
    rate_limit: RateBudget | None
    reason: str | None
    started: float
    stats_start: dict[str, int]
    stats_saved: dict[str, int]
    stats_shown: dict[str, int]
    saved_at: float
    unshown: dict[str, Counter[str]]
    progress: Progress | None
    object: str
    left: int
    succeeded: int
    failures: Counter[str]
    shown_per_call: tuple[int, bool] | None

    def halt(self, reason: str) -> None:
        raise NotImplementedError

    def stats(self) -> dict[str, int]:
        snapshot = getattr(getattr(self.client, "stats", None), "snapshot", None)
        data = snapshot() if callable(snapshot) else {}
        return {k: int(data.get(k, 0)) for k in ("calls", "throttled", "retried")}

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
            message = common[0][0].rstrip()
            message += "" if message.endswith((".", "!", "?")) else "."
            self.halt(
                f"all {total_failed} {obj} rows sent so far failed, most often with: "
                f"{message} The cause is probably not the rows (a field or option "
                "missing in the workspace?): fix it, then resume the run; the failed rows "
                "go to the fix-me file"
            )

    def show_progress(self) -> None:
        if self.progress is None:
            return
        per_call = (self.calls.size, self.calls.calibrated)
        tell = getattr(self.progress, "per_call", None)
        if per_call != self.shown_per_call and callable(tell) and self.object:
            self.shown_per_call = per_call
            tell(self.object, *per_call)
        stats = self.stats()
        with self.lock:
            unshown, self.unshown = self.unshown, {}
            calls = {k: stats[k] - self.stats_shown[k] for k in ("throttled", "retried")}
            self.stats_shown = stats
            obj, left = self.object, self.left
        if obj:
            unshown.setdefault(obj, Counter()).update(+Counter(calls))
        outlook = self.outlook(left, stats) if obj else None
        for name, counts in unshown.items():
            values = dict(counts)
            if name == obj and outlook is not None:
                values["eta_s"] = math.ceil(outlook.eta_s)
            self.progress.update(name, **values)
        tell_wait = getattr(self.progress, "waiting", None)
        if outlook is not None and callable(tell_wait):
            tell_wait(obj, outlook.wait_s)

    def outlook(self, left: int, stats: Mapping[str, int]) -> BudgetOutlook:
        """The wait for the next call and the seconds left in the step, from the client's
        limiter when it has one (so the ETA counts the budget already spent, by validation
        or an earlier step), else from the rate budget since the session began."""
        calls_left = math.ceil(max(0, left) / max(1, self.calls.size))
        limiter = getattr(self.client, "limiter", None)
        if isinstance(limiter, RateLimiter):
            return budget_outlook(limiter, calls_left)
        return BudgetOutlook(wait_s=0.0, eta_s=self.eta(left, stats))

    def eta(self, left: int, stats: Mapping[str, int]) -> float:
        """Seconds left in the step by the rate budget (the observed speed misleads: a run
        goes fast during the burst, then at the sustained rate)."""
        calls_left = math.ceil(max(0, left) / max(1, self.calls.size))
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
