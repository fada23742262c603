"""Progress display for long runs: a tqdm bar per object, log lines, or nothing.

The importer (and rollback) report through the small :class:`Progress` protocol, so a
notebook widget, a CLI or a test can plug in its own display::

    progress.start("people", total=5000)          # one bar per object, total = rows
    progress.update("people", created=60)          # counts are increments
    progress.update("people", throttled=1, eta_s=95)
    progress.close()

A display may also have ``per_call(object, records, calibrated)``: the importer calls it
with the records each write call carries, and whether that is the server's calibrated cap
(``False``: the optimistic 200, before the first write call told). The tqdm bar and the log
show it; a display without the method is not told.

A display may also have ``waiting(object, seconds)``: the importer tells it how long the
next call must wait for the rate budget (0 once calls go again). The tqdm bar and the log
show "waiting for rate budget (12s)" beside an ETA that counts the wait.

Counts named in :data:`STATUS_KEYS` advance the bar (a row reached an outcome); the others
(``retried``, ``throttled``, ``calls``) are only shown. ``eta_s`` is not a count: it is the
importer's estimate of the seconds left, from the rate budget rather than the observed
speed (a run goes fast during the burst, then at the sustained rate).

``"auto"`` imports ``tqdm.auto`` only when a bar is made (a widget in Jupyter, a text bar
in a terminal), so ``import twenty_migrate`` does not import tqdm.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeAlias, runtime_checkable

from twenty_migrate.values.durations import format_duration

if TYPE_CHECKING:
    from tqdm import tqdm as Tqdm

__all__ = [
    "LogProgress",
    "NullProgress",
    "Progress",
    "ProgressArg",
    "TqdmProgress",
    "make_progress",
]

logger = logging.getLogger("twenty_migrate.run.progress")

#: Counts that never advance a bar: they describe calls, not rows.
INFO_KEYS = frozenset({"retried", "throttled", "calls"})
#: Row outcomes shown first in a bar's postfix, in this order.
STATUS_KEYS = ("created", "updated", "unchanged", "failed", "deleted")
#: Key carrying the estimated seconds left; replaced, not added.
ETA_KEY = "eta_s"
#: Waits shorter than this are the normal pacing between calls, not worth a word.
SHOWN_WAIT_S = 1.0


@runtime_checkable
class Progress(Protocol):
    """What the importer calls to report progress (all methods must be thread-safe enough to
    be called from one thread at a time; the importer never calls them concurrently)."""

    def start(self, object: str, total: int) -> None:
        """A new object begins: ``total`` rows will reach an outcome."""

    def update(self, object: str, **counts: int) -> None:
        """Add ``counts`` (increments) for ``object``; ``eta_s`` replaces the estimate."""

    def close(self) -> None:
        """The run ended (normally or not); release displays."""


ProgressArg: TypeAlias = "Literal['auto', 'log'] | Progress | None"


class NullProgress:
    """Shows nothing."""

    def start(self, object: str, total: int) -> None:
        """Ignore."""

    def update(self, object: str, **counts: int) -> None:
        """Ignore."""

    def close(self) -> None:
        """Ignore."""


class _Tally:
    """Running counts of one object."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.counts: dict[str, int] = {}
        self.eta_s: int | None = None
        self.wait_s = 0.0

    def add(self, counts: dict[str, int]) -> int:
        """Add counts; return how many rows reached an outcome."""
        advanced = 0
        for key, value in counts.items():
            if key == ETA_KEY:
                self.eta_s = int(value)
                continue
            self.counts[key] = self.counts.get(key, 0) + int(value)
            if key not in INFO_KEYS:
                advanced += int(value)
        return advanced

    @property
    def done(self) -> int:
        return sum(v for k, v in self.counts.items() if k not in INFO_KEYS)

    def postfix(self) -> dict[str, Any]:
        keys = [k for k in STATUS_KEYS if k in self.counts]
        keys += sorted(k for k in self.counts if k not in STATUS_KEYS)
        shown: dict[str, Any] = {k: self.counts[k] for k in keys if self.counts[k]}
        if self.eta_s is not None:
            shown["eta"] = format_duration(self.eta_s, compact=True)
        return shown

    @property
    def waiting(self) -> str | None:
        """``"waiting for rate budget (12s)"`` while the next call waits a noticeable time."""
        if self.wait_s < SHOWN_WAIT_S:
            return None
        return f"waiting for rate budget ({format_duration(self.wait_s, compact=True)})"

    def text(self) -> str:
        """The postfix as one line: counts, the ETA, and the wait for the budget."""
        parts = [f"{k}={v}" for k, v in self.postfix().items()]
        waiting = self.waiting
        return ", ".join([*parts, waiting] if waiting else parts)


def describe_per_call(records: int, calibrated: bool) -> str:
    """``"200/call"``, or ``"200/call, not calibrated yet"`` before the server's cap is known."""
    return f"{records}/call" + ("" if calibrated else ", not calibrated yet")


class TqdmProgress:
    """One ``tqdm.auto`` bar per object; the postfix shows live counts and the budget ETA."""

    def __init__(self, *, factory: Callable[..., Tqdm[Any]] | None = None, **tqdm_kwargs: Any):
        if factory is None:
            from tqdm.auto import tqdm

            factory = tqdm
        self._factory = factory
        self._kwargs = tqdm_kwargs
        self._bars: dict[str, Tqdm[Any]] = {}
        self._tallies: dict[str, _Tally] = {}

    def start(self, object: str, total: int) -> None:
        """Open the bar of ``object`` (re-opening keeps one bar per object)."""
        if object in self._bars:
            self._bars[object].close()
        self._tallies[object] = _Tally(total)
        self._bars[object] = self._factory(
            total=total, desc=object, unit="row", dynamic_ncols=True, **self._kwargs
        )

    def update(self, object: str, **counts: int) -> None:
        """Advance the bar by the rows that reached an outcome; refresh the postfix."""
        if object not in self._bars:
            self.start(object, 0)
        tally = self._tallies[object]
        advanced = tally.add(counts)
        bar = self._bars[object]
        if tally.done > tally.total:
            bar.total = tally.done
        bar.set_postfix_str(tally.text(), refresh=False)
        bar.update(advanced)

    def waiting(self, object: str, seconds: float) -> None:
        """Show the wait for the rate budget in the postfix (the bar does not move then)."""
        tally = self._tallies.get(object)
        if tally is None or object not in self._bars:
            return
        shown = tally.waiting
        tally.wait_s = max(0.0, float(seconds))
        if tally.waiting != shown:
            self._bars[object].set_postfix_str(tally.text())

    def per_call(self, object: str, records: int, calibrated: bool) -> None:
        """Show the records per write call in the bar's description."""
        if object in self._bars:
            self._bars[object].set_description(
                f"{object} ({describe_per_call(records, calibrated)})", refresh=False
            )

    def close(self) -> None:
        """Close every bar."""
        for bar in self._bars.values():
            bar.close()
        self._bars.clear()


class LogProgress:
    """Progress as INFO log lines on ``twenty_migrate.run.progress``, at most every few seconds."""

    def __init__(
        self,
        *,
        every_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        log: logging.Logger | None = None,
    ) -> None:
        self._every = every_s
        self._clock = clock
        self._log = log or logger
        self._tallies: dict[str, _Tally] = {}
        self._last: dict[str, float] = {}

    def start(self, object: str, total: int) -> None:
        """Log the start of ``object``."""
        self._tallies[object] = _Tally(total)
        self._last[object] = self._clock()
        self._log.info("%s: %d rows to import", object, total)

    def update(self, object: str, **counts: int) -> None:
        """Log the running counts when enough time has passed or the object is done."""
        if object not in self._tallies:
            self.start(object, 0)
        tally = self._tallies[object]
        tally.add(counts)
        now = self._clock()
        if tally.done >= tally.total or now - self._last[object] >= self._every:
            self._last[object] = now
            self._emit(object, tally)

    def waiting(self, object: str, seconds: float) -> None:
        """Log once when calls start waiting for the rate budget, with the ETA."""
        tally = self._tallies.get(object)
        if tally is None:
            return
        was_waiting = tally.waiting is not None
        tally.wait_s = max(0.0, float(seconds))
        if tally.waiting is not None and not was_waiting:
            eta = (
                "" if tally.eta_s is None else f", eta={format_duration(tally.eta_s, compact=True)}"
            )
            self._log.info("%s: %s%s", object, tally.waiting, eta)

    def per_call(self, object: str, records: int, calibrated: bool) -> None:
        """Log the records per write call."""
        self._log.info("%s: %s", object, describe_per_call(records, calibrated))

    def close(self) -> None:
        """Nothing to release."""
        self._tallies.clear()

    def _emit(self, object: str, tally: _Tally) -> None:
        details = tally.text()
        self._log.info("%s: %d/%d rows (%s)", object, tally.done, tally.total, details)


def make_progress(
    arg: ProgressArg = "auto", *, total: int | None = None, desc: str | None = None
) -> Progress:
    """Turn a ``progress=`` argument into a :class:`Progress`.

    Args:
        arg: ``"auto"`` (tqdm.auto bars), ``"log"`` (log lines), ``None`` (nothing) or any
            object with ``start``/``update``/``close``.
        total: When given, the returned progress is already started for one task named
            ``desc`` with this many items (report with ``update(desc, done=n)``).
        desc: Name of that single task (default ``"rows"``).

    Returns:
        A progress display.

    Example:
        >>> bar = make_progress("log", total=120, desc="rollback")
        >>> bar.update("rollback", deleted=60)
        >>> bar.close()
    """
    progress: Progress
    if arg is None:
        progress = NullProgress()
    elif isinstance(arg, str):
        if arg == "auto":
            progress = TqdmProgress()
        elif arg == "log":
            progress = LogProgress()
        else:
            raise ValueError(f"progress must be 'auto', 'log', None or a Progress, not {arg!r}")
    elif isinstance(arg, Progress):
        progress = arg
    else:
        raise TypeError(f"progress must be 'auto', 'log', None or a Progress, not {arg!r}")
    if total is not None:
        progress.start(desc or "rows", total)
    return progress
