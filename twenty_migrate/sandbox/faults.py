"""Fault injection: latency, server errors and lost answers, deterministic by seed.

Faults model trouble between the client and Twenty (a proxy, a flaky network, an
overloaded pod), so they hit only authenticated core record calls (REST core and
``/graphql``), never metadata. Two kinds of failure:

* an **error** (``status``): the call is refused before it runs; nothing is written;
* a **drop** (``drop``): the call runs and its writes are kept, then the answer is lost
  (the connection closes with no response), which a client must treat as "maybe applied".

Scripted faults (:meth:`FaultInjector.fail_next`) come first; then ``error_rate`` and
``drop_rate`` are drawn from one ``random.Random(seed)``, so a run is repeatable.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from random import Random

from twenty_migrate.sandbox.errors import SandboxError

INJECTED_ERROR_STATUS = 500
"""Status of the errors drawn from ``error_rate``."""

INJECTED_ERROR_MESSAGES: dict[int, str] = {
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service unavailable",
    504: "Gateway timeout",
}


@dataclass(frozen=True)
class Fault:
    """What to do to one call.

    Attributes:
        status: Refuse the call with this HTTP status (None: let it run).
        drop: Run the call, then lose the answer.
        retry_after: Seconds for a ``Retry-After`` header on the refusal, if any.
    """

    status: int | None = None
    drop: bool = False
    retry_after: float | None = None


def injected_error(status: int, retry_after: float | None = None) -> SandboxError:
    """The error an injected ``status`` answers with (REST envelope / GraphQL extensions).

    429 is not built here: it takes the throttle's shape (see ``Throttle.refusal``).
    """
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    message = INJECTED_ERROR_MESSAGES.get(status, phrase)
    error = SandboxError(
        message,
        code="INTERNAL_SERVER_ERROR" if status >= 500 else "BAD_REQUEST",
        status=status,
    )
    if retry_after is not None:
        error.headers["Retry-After"] = str(max(0, math.ceil(retry_after)))
    return error


class FaultInjector:
    """Decides, call by call, whether to delay, refuse or drop.

    Args:
        error_rate: Fraction of calls refused with a 500.
        drop_rate: Fraction of calls whose answer is lost after the call ran.
        latency_ms: Fixed delay added to every call.
        jitter_ms: Extra random delay, uniform in ``[0, jitter_ms]``.
        seed: Seed of the random draws.
        sleep: How to wait (injected so tests never sleep for real).

    Example:
        >>> faults = FaultInjector(seed=1)
        >>> faults.fail_next(2, status=503)
        >>> [f.status for f in (faults.next_fault(), faults.next_fault())]
        [503, 503]
        >>> faults.next_fault() is None
        True
    """

    def __init__(
        self,
        *,
        error_rate: float = 0.0,
        drop_rate: float = 0.0,
        latency_ms: float = 0.0,
        jitter_ms: float = 0.0,
        seed: int = 0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.error_rate = 0.0
        self.drop_rate = 0.0
        self.latency_ms = 0.0
        self.jitter_ms = 0.0
        self.configure(
            error_rate=error_rate, drop_rate=drop_rate, latency_ms=latency_ms, jitter_ms=jitter_ms
        )
        self._random = Random(seed)
        self._sleep = sleep
        self._lock = threading.Lock()
        self._scripted: deque[Fault] = deque()

    def configure(
        self,
        *,
        error_rate: float | None = None,
        drop_rate: float | None = None,
        latency_ms: float | None = None,
        jitter_ms: float | None = None,
    ) -> None:
        """Change the random faults; arguments left as None keep their value.

        Raises:
            ValueError: A rate outside [0, 1] or a negative delay.
        """
        for name, rate in (("error_rate", error_rate), ("drop_rate", drop_rate)):
            if rate is not None and not 0.0 <= rate <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, not {rate!r}")
        for name, delay in (("latency_ms", latency_ms), ("jitter_ms", jitter_ms)):
            if delay is not None and delay < 0:
                raise ValueError(f"{name} must not be negative, not {delay!r}")
        if error_rate is not None:
            self.error_rate = float(error_rate)
        if drop_rate is not None:
            self.drop_rate = float(drop_rate)
        if latency_ms is not None:
            self.latency_ms = float(latency_ms)
        if jitter_ms is not None:
            self.jitter_ms = float(jitter_ms)

    def fail_next(
        self,
        n: int = 1,
        *,
        status: int = INJECTED_ERROR_STATUS,
        drop_response: bool = False,
        retry_after: float | None = None,
    ) -> None:
        """Script the next ``n`` core calls to fail.

        Args:
            n: How many calls.
            status: Status to refuse them with (429 takes the throttle's shape).
            drop_response: Run each call, keep its writes, then lose the answer
                (``status`` is then ignored).
            retry_after: Seconds to announce in a ``Retry-After`` header.

        Raises:
            ValueError: ``n`` is negative or ``status`` is not an error status.
        """
        if n < 0:
            raise ValueError(f"n must not be negative, not {n!r}")
        if not drop_response and not 400 <= status <= 599:
            raise ValueError(f"status must be an HTTP error status (4xx/5xx), not {status!r}")
        fault = Fault(drop=True) if drop_response else Fault(status=status, retry_after=retry_after)
        with self._lock:
            self._scripted.extend([fault] * n)

    def clear(self) -> None:
        """Forget scripted faults and switch the random ones off."""
        with self._lock:
            self._scripted.clear()
        self.configure(error_rate=0.0, drop_rate=0.0, latency_ms=0.0, jitter_ms=0.0)

    @property
    def pending(self) -> int:
        """Scripted faults not used yet."""
        with self._lock:
            return len(self._scripted)

    def next_fault(self) -> Fault | None:
        """The fault for the next call, or None for a normal call."""
        with self._lock:
            if self._scripted:
                return self._scripted.popleft()
            # Draw only for the rates in use, so adding one kind of fault does not
            # reshuffle the other's sequence.
            if self.error_rate > 0 and self._random.random() < self.error_rate:
                return Fault(status=INJECTED_ERROR_STATUS)
            if self.drop_rate > 0 and self._random.random() < self.drop_rate:
                return Fault(drop=True)
            return None

    def delay(self) -> float:
        """Seconds of latency for the next call (fixed part plus jitter)."""
        if self.latency_ms <= 0 and self.jitter_ms <= 0:
            return 0.0
        with self._lock:
            jitter = self._random.uniform(0.0, self.jitter_ms) if self.jitter_ms > 0 else 0.0
        return (self.latency_ms + jitter) / 1000.0

    def wait(self) -> float:
        """Sleep for :meth:`delay` with the injected sleep; returns the seconds slept."""
        seconds = self.delay()
        if seconds > 0:
            self._sleep(seconds)
        return seconds
