"""When a request may go, and whether and when to retry it.

Twenty throttles API-key traffic per workspace with two token buckets, a short and a long
window (``API_RATE_LIMITING_SHORT_*`` / ``..._LONG_*``; defaults 100 per 1 s and 100 per
60 s). :class:`RateLimiter` mirrors both buckets on the client so that several threads
sharing one client keep many requests in flight without being refused. Twenty drops the
fractional refill on every accepted call, and arrivals are spread by the network and the
threads, so calls paced one per ``window / limit`` lose a token to every early arrival. After
the initial burst the limiter therefore releases calls in groups: it waits until the server
has earned a whole group of tokens plus a guard against that spread, then lets the group go at
once. When the server throttles anyway, :meth:`RateLimiter.on_throttled` backs everyone off,
widens the guard and learns a smaller real
budget from the answer (:func:`parse_throttle` reads every throttle shape Twenty has used).

Nothing here sleeps or does I/O: the clock is injected and :meth:`RateLimiter.reserve`
returns how long the caller should wait, so tests run on a fake clock.
"""

from __future__ import annotations

import email.utils
import math
import random
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "DEFAULT_RATE_LIMIT",
    "DEFAULT_RETRY",
    "RateLimit",
    "RateLimiter",
    "RetryPolicy",
    "Throttle",
    "parse_retry_after",
    "parse_throttle",
]

# Era 3 (common API): ThrottlerException "Limit reached (100 tokens per 60000 ms)",
# REST 429 without headers, GraphQL BAD_USER_INPUT with subCode LIMIT_REACHED.
LIMIT_REACHED_RE = re.compile(r"Limit reached \((\d+) tokens? per (\d+) ?ms\)", re.IGNORECASE)
# Era 4 (usage-limit module): "Rate limit exceeded for apiKey: 100 requests per 60s."
REQUESTS_PER_RE = re.compile(
    r"(\d+) requests? per (\d+(?:\.\d+)?) ?"
    r"(ms|milliseconds?|s|secs?|seconds?|m|mins?|minutes?|h|hours?)\b",
    re.IGNORECASE,
)
# Era 1 (2024, GraphQL Yoga plugin): plain "Too many requests."
TOO_MANY_REQUESTS_RE = re.compile(r"too many requests", re.IGNORECASE)
# Sub-codes Twenty put on throttle errors (the older throttler code name, then LIMIT_REACHED).
THROTTLE_SUB_CODES = frozenset({"LIMIT_REACHED", "TOO_MANY_REQUESTS"})
THROTTLE_CODES = frozenset({"RATE_LIMITED"})
#: Era 4 quota refusals (402 / 409) share the usage-limit module but are no throttles.
QUOTA_CODES = frozenset({"QUOTA_EXHAUSTED"})
#: Era 4 answer fields that era 3 never sent (twenty-api.md §6.3, §13).
NEWEST_FIELDS = ("retryAfterMs", "retryAfterSeconds", "limitKind", "periodUnit")
NEWEST_HEADERS = ("retry-after", "x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset")

# Adaptive guard: each throttle the budget does not explain (arrivals spread wider than the
# guard) adds JITTER_STEP seconds to that window's guard, up to JITTER_MAX; each accepted call
# takes JITTER_DECAY off again, so the client settles where about 1 call in 500 is throttled.
JITTER_STEP = 0.05
JITTER_DECAY = JITTER_STEP / 500
JITTER_MAX = 1.0

_UNIT_MS = {"ms": 1, "millisecond": 1, "s": 1000, "sec": 1000, "second": 1000}
_UNIT_MS.update({"m": 60_000, "min": 60_000, "minute": 60_000, "h": 3_600_000, "hour": 3_600_000})


@dataclass(frozen=True)
class RateLimit:
    """Twenty's two throttle windows, as the client should respect them.

    Args:
        short_limit: Calls allowed per short window (Twenty ``API_RATE_LIMITING_SHORT_LIMIT``).
        short_window: Length of the short window in seconds.
        long_limit: Calls allowed per long window (``API_RATE_LIMITING_LONG_LIMIT``).
        long_window: Length of the long window in seconds.
        jitter: Seconds by which the arrival of calls sent together may spread (network,
            threads, the server's own queue). Twenty drops the fractional refill on each
            accepted call, so a call arriving a hair early earns no token; a group of calls
            is released only once the server has earned its tokens plus this guard.
        group: Most calls released together once the initial burst is spent. Larger groups
            spend the guard over more calls (the steady state reaches
            ``group * interval / (group * interval + jitter)`` of the ceiling); keep it at or
            below the calls you keep in flight.

    Example:
        >>> RateLimit(long_limit=50).ceiling  # calls per second in the steady state
        0.8333333333333334
    """

    short_limit: int = 100
    short_window: float = 1.0
    long_limit: int = 100
    long_window: float = 60.0
    jitter: float = 0.05
    group: int = 20

    def __post_init__(self) -> None:
        for name in ("short_limit", "long_limit", "group"):
            if getattr(self, name) < 1:
                raise ValueError(f"RateLimit.{name} must be at least 1")
        for name in ("short_window", "long_window"):
            if not getattr(self, name) > 0:
                raise ValueError(f"RateLimit.{name} must be a positive number of seconds")
        if not 0 <= self.jitter < 60:
            raise ValueError("RateLimit.jitter must be a number of seconds in [0, 60)")

    @property
    def ceiling(self) -> float:
        """The steady-state calls per second the server allows (the slower window)."""
        return min(self.short_limit / self.short_window, self.long_limit / self.long_window)

    def pacing(self, limit: int, window: float) -> float:
        """Seconds per call the limiter averages once a ``limit``/``window`` bucket is dry."""
        group = min(self.group, limit)
        return window / limit + self.jitter / group


DEFAULT_RATE_LIMIT = RateLimit()


@dataclass(frozen=True)
class Throttle:
    """What a throttle answer told us. Every field may be missing.

    Attributes:
        message: The server's message.
        retry_after: Seconds to wait (``Retry-After``, ``retryAfterMs``, ``retryAfterSeconds``).
        limit: The budget of the exhausted window, in calls.
        window_ms: The length of that window, in milliseconds.
        remaining: Calls left (``X-RateLimit-Remaining``).
        style: ``"newest"`` when the answer had era 4's headers or fields, else ``"common"``.
    """

    message: str
    retry_after: float | None = None
    limit: int | None = None
    window_ms: int | None = None
    remaining: int | None = None
    style: str = "common"


def parse_throttle(
    body: Any,
    *,
    status_code: int | None = None,
    headers: Mapping[str, str] | None = None,
) -> Throttle | None:
    """Recognise a throttle answer from Twenty, or return None.

    Recognised shapes (twenty-api.md §6):

    * REST 429, with or without ``Retry-After`` / ``X-RateLimit-*`` headers, body
      ``{"messages": ["Limit reached (100 tokens per 60000 ms)"]}`` (era 3) or
      ``{"error": "RATE_LIMITED", "limit": 3, "periodCount": 60, "periodUnit": "second",
      "retryAfterSeconds": 12, ...}`` (era 4).
    * GraphQL (HTTP 200) error with ``extensions.code == "BAD_USER_INPUT"`` and
      ``subCode == "LIMIT_REACHED"`` / message ``Limit reached (N tokens per M ms)`` (era 3).
    * GraphQL error with ``extensions.code == "RATE_LIMITED"`` and ``retryAfterMs`` (era 4).
    * The 2024 plugin's plain ``Too many requests.``

    Args:
        body: A REST error body, a GraphQL response (``{"errors": [...]}``), one GraphQL
            error object, or a bare message string.
        status_code: HTTP status of the answer, if any.
        headers: HTTP headers of the answer, if any.

    Returns:
        A :class:`Throttle` with whatever limit, window and wait the answer gave, or None
        when the answer is not a throttle.
    """
    headers = headers or {}
    if isinstance(body, dict) and isinstance(body.get("errors"), list):
        for error in body["errors"]:
            found = parse_throttle(error, status_code=status_code, headers=headers)
            if found is not None:
                return found
        return None
    message = _first_message(body)
    ext: Mapping[str, Any] = {}
    if isinstance(body, dict):
        raw_ext = body.get("extensions")
        # REST era-4 bodies carry the extras at top level; GraphQL errors in extensions.
        ext = raw_ext if isinstance(raw_ext, dict) else body
    code, sub_code = ext.get("code"), ext.get("subCode")
    if code in QUOTA_CODES or ext.get("error") in QUOTA_CODES:
        return None
    limit, window_ms = _limit_from_message(message)
    is_throttle = (
        status_code == 429
        or code in THROTTLE_CODES
        or ext.get("error") in THROTTLE_CODES
        or sub_code in THROTTLE_SUB_CODES
        or limit is not None
        or bool(TOO_MANY_REQUESTS_RE.search(message))
    )
    if not is_throttle:
        return None
    lowered = {k.lower(): v for k, v in headers.items()}
    retry_after = parse_retry_after(lowered.get("retry-after"))
    if retry_after is None:
        retry_after = _seconds_until(lowered.get("x-ratelimit-reset"))
    if retry_after is None and _number(ext.get("retryAfterMs")) is not None:
        retry_after = _number(ext.get("retryAfterMs")) / 1000  # type: ignore[operator]
    if retry_after is None:
        retry_after = _number(ext.get("retryAfterSeconds"))
    if limit is None:
        limit = _int(ext.get("limit"))
    if limit is None:
        limit = _int(lowered.get("x-ratelimit-limit"))
    if window_ms is None:
        count, unit = _number(ext.get("periodCount")), ext.get("periodUnit")
        if count is not None and isinstance(unit, str):
            window_ms = _to_ms(count, unit)
    remaining = _int(ext.get("remaining"))
    if remaining is None:
        remaining = _int(lowered.get("x-ratelimit-remaining"))
    newest = (
        any(h in lowered for h in NEWEST_HEADERS)
        or any(f in ext for f in NEWEST_FIELDS)
        or code in THROTTLE_CODES
        or ext.get("error") in THROTTLE_CODES
        or bool(REQUESTS_PER_RE.search(message))
    )
    style = "newest" if newest else "common"
    return Throttle(message, retry_after, limit, window_ms, remaining, style)


def _seconds_until(reset: str | None) -> float | None:
    """Seconds until ``X-RateLimit-Reset``: epoch seconds (Twenty), or a delta when small."""
    value = _number(reset.strip()) if reset else None
    if value is None:
        return None
    return max(0.0, value - time.time()) if value > 1e9 else value


def _first_message(body: Any) -> str:
    if isinstance(body, str):
        return body
    if not isinstance(body, dict):
        return ""
    messages = body.get("messages")
    if isinstance(messages, list) and messages:
        return str(messages[0])
    message = body.get("message")
    if isinstance(message, list) and message:
        return str(message[0])
    return str(message) if message is not None else ""


def _limit_from_message(message: str) -> tuple[int | None, int | None]:
    match = LIMIT_REACHED_RE.search(message)
    if match:
        return int(match.group(1)), int(match.group(2))
    match = REQUESTS_PER_RE.search(message)
    if match:
        return int(match.group(1)), _to_ms(float(match.group(2)), match.group(3))
    return None, None


def _to_ms(count: float, unit: str) -> int | None:
    unit = unit.lower()
    factor = _UNIT_MS.get(unit) or _UNIT_MS.get(unit.rstrip("s"))
    return round(count * factor) if factor else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and number >= 0 else None


def _int(value: Any) -> int | None:
    number = _number(value)
    return int(number) if number is not None else None


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header value: delta-seconds or an HTTP date."""
    if not value:
        return None
    number = _number(value.strip())
    if number is not None:
        return number
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class _Bucket:
    """Twenty's JS token bucket as the client must assume it: integer tokens, the fraction
    dropped on every accepted call, and each arrival up to ``guard`` seconds off its send time.
    """

    def __init__(self, limit: int, window: float, jitter: float, group: int) -> None:
        self.limit = limit
        self.window = window
        self.jitter = jitter
        self.group_size = group
        self.boost = 0.0  # adaptive extra guard (see JITTER_STEP)
        self.tokens = limit  # an unseen key starts full, as on the server
        self.last: float | None = None  # latest send time of an accepted call
        self.group_start: float | None = None  # first send of the group now leaving

    @property
    def interval(self) -> float:
        return self.window / self.limit

    @property
    def guard(self) -> float:
        return self.jitter + self.boost

    @property
    def group(self) -> int:
        return max(1, min(self.group_size, self.limit))

    def available(self, t: float) -> int:
        if self.last is None:
            return self.tokens
        # Worst case: the previous call arrived `guard` late and this one on time.
        earned = math.floor((t - self.last - self.guard) / self.interval + 1e-9)
        return min(self.limit, self.tokens + max(0, earned))

    def earliest(self, t: float) -> float:
        """When a call may go: at once while the bucket holds a group's tokens or a group is
        leaving (within ``guard`` of its first call); otherwise once a whole group is earned,
        so that one guard serves the group and no call drops a fraction of a token."""
        if self.last is None:
            return t
        available = self.available(t)
        joining = self.group_start is not None and t - self.group_start <= self.guard
        if available >= self.group or (joining and available >= 1):
            return t
        return self.last + self.guard + (self.group - self.tokens) * self.interval

    def take(self, t: float) -> None:
        if self.group_start is None or t - self.group_start > self.guard:
            self.group_start = t
        self.tokens = self.available(t) - 1
        self.last = t

    def empty(self, since: float) -> None:
        self.tokens = 0
        self.last = since if self.last is None else max(self.last, since)


class RateLimiter:
    """Hands out send times that respect both of Twenty's windows. Thread-safe.

    Callers :meth:`reserve` a slot before each throttled call, then report the outcome:
    :meth:`on_throttled` when Twenty refused it (learns the budget, backs everyone off and
    widens the guard if the budget does not explain the refusal) or :meth:`on_accepted`
    otherwise (narrows that extra guard again, slowly).

    Args:
        rate_limit: The budget to respect.
        clock: Monotonic clock in seconds (injectable for tests).

    Example:
        >>> limiter = RateLimiter(RateLimit(), clock=lambda: 0.0)
        >>> [limiter.reserve() for _ in range(100)][-1]   # the burst goes at once
        0.0
        >>> round(limiter.reserve(), 2)                   # then groups of 20: 20 x 0.6 s + guard
        12.05
    """

    def __init__(
        self,
        rate_limit: RateLimit = DEFAULT_RATE_LIMIT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock
        self._lock = threading.RLock()
        self._jitter = rate_limit.jitter
        self._group = rate_limit.group
        self._short = _Bucket(
            rate_limit.short_limit, rate_limit.short_window, rate_limit.jitter, rate_limit.group
        )
        self._long = _Bucket(
            rate_limit.long_limit, rate_limit.long_window, rate_limit.jitter, rate_limit.group
        )
        self._not_before = -math.inf
        #: How the server throttles (``"common"`` / ``"newest"``), once a throttle was seen.
        self.throttle_style: str | None = None
        #: Whether the server stated a budget (in a throttle answer or ``X-RateLimit-Limit``).
        self.budget_seen = False

    @property
    def calls_per_minute(self) -> int:
        """The long window's budget, in calls per minute."""
        with self._lock:
            return max(1, math.floor(self._long.limit * 60 / self._long.window + 1e-9))

    @property
    def rate_limit(self) -> RateLimit:
        """The budget in force now, including anything learned from the server."""
        with self._lock:
            return RateLimit(
                self._short.limit,
                self._short.window,
                self._long.limit,
                self._long.window,
                self._jitter,
                self._group,
            )

    @property
    def guard(self) -> float:
        """Seconds of arrival spread the limiter currently allows for (learned from throttles)."""
        with self._lock:
            return max(self._short.guard, self._long.guard)

    def reserve(self) -> float:
        """Take a send slot now, or say how long to wait before asking again.

        Returns:
            0.0 when a slot was taken and the caller may send at once; otherwise the
            seconds to wait before calling again (nothing was taken: a slot is only handed
            out when it can be used at once, so a caller that wakes late never holds a slot
            the others were timed against). This method never sleeps.
        """
        with self._lock:
            now = self._clock()
            t = max(now, self._not_before)
            while True:  # waiting for one bucket may leave the other dry: settle on both
                later = max(self._short.earliest(t), self._long.earliest(t))
                if later <= t:
                    break
                t = later
            if t > now:
                return t - now
            self._short.take(now)
            self._long.take(now)
            return 0.0

    def acquire(self, sleep: Callable[[float], None] = time.sleep) -> float:
        """Wait (with ``sleep``) until a send slot is taken; return the clock at that moment."""
        while True:
            with self._lock:
                wait = self.reserve()
                if wait <= 0:
                    return self._clock()
            sleep(wait)

    def sent(self) -> None:
        """Note that a reserved call is leaving now.

        A call may leave later than its reserved time (a busy thread, encoding a large
        batch). Twenty restarts its refill from the moment a call arrives, so the next group
        is timed from the real send, not the reservation.
        """
        with self._lock:
            now = self._clock()
            for bucket in (self._short, self._long):
                if bucket.last is not None and now > bucket.last:
                    bucket.last = now

    def on_throttled(
        self,
        retry_after: float | None = None,
        limit: int | None = None,
        window_ms: int | None = None,
        style: str | None = None,
    ) -> None:
        """Back everyone off after the server refused a call, and learn its real budget.

        Args:
            retry_after: Seconds the server asked us to wait, if it said.
            limit: The exhausted window's budget, if the answer said (``Limit reached (50
                tokens per 60000 ms)``, ``X-RateLimit-Limit``, ``limit``).
            window_ms: That window's length in milliseconds, if known. Without it the
                learned limit applies to the long window.
            style: The answer's throttle style (:attr:`Throttle.style`), kept in
                :attr:`throttle_style` (era 4 wins once seen).
        """
        with self._lock:
            if style is not None and self.throttle_style != "newest":
                self.throttle_style = style
            now = self._clock()
            buckets, learned = self._learn(limit, window_ms)
            if not learned:
                for bucket in buckets:
                    bucket.boost = min(JITTER_MAX, bucket.boost + JITTER_STEP)
            if retry_after is not None:
                self._not_before = max(self._not_before, now + retry_after)
            for bucket in buckets:
                # The server's bucket is empty now; the next token is one interval away,
                # or exactly at the Retry-After instant when the server gave one.
                since = now if retry_after is None else now + retry_after - bucket.interval
                bucket.empty(since)

    def on_accepted(self) -> None:
        """Note that a charged call went through (slowly narrows the adaptive spacing)."""
        with self._lock:
            for bucket in (self._short, self._long):
                if bucket.boost:
                    bucket.boost = max(0.0, bucket.boost - JITTER_DECAY)

    def learn(
        self, limit: int | None, window_ms: int | None = None, remaining: int | None = None
    ) -> None:
        """Adopt a smaller budget the server reported outside a throttle (``X-RateLimit-Limit``),
        and, with ``remaining`` (``X-RateLimit-Remaining``), spend no more than it has left."""
        with self._lock:
            buckets, _ = self._learn(limit, window_ms)
            if remaining is not None and limit is not None:
                now = self._clock()
                for bucket in buckets:
                    bucket.tokens = min(bucket.available(now), max(0, remaining))
                    bucket.last = now

    def _learn(self, limit: int | None, window_ms: int | None) -> tuple[list[_Bucket], bool]:
        """Update budgets; return the buckets the answer was about (both when unknown) and
        whether their budget changed."""
        if limit is not None:
            self.budget_seen = True
        if window_ms is None:
            if limit is None:
                return [self._short, self._long], False
            bucket = self._long
        else:
            # The window closest to the reported one (in ratio) is the one that was exhausted.
            seconds = max(window_ms, 1) / 1000
            bucket = min((self._short, self._long), key=lambda b: abs(math.log(seconds / b.window)))
            if not math.isclose(seconds, bucket.window, rel_tol=0.01):
                bucket.window = seconds
                if limit is not None:
                    bucket.limit = limit
                    bucket.tokens = min(bucket.tokens, limit)
                return [bucket], True
        if limit is not None and 0 < limit < bucket.limit:
            bucket.limit = limit
            bucket.tokens = min(bucket.tokens, limit)
            return [bucket], True
        return [bucket], False


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry failures that are safe to retry.

    Args:
        max_attempts: Total attempts for one call that fails with a retryable error
            (server errors, timeouts, dropped connections).
        backoff: First delay in seconds, doubled after each failed attempt.
        max_delay: Upper bound of any single delay.
        jitter: Each backoff delay is multiplied by a random factor in
            ``[1 - jitter, 1 + jitter]`` so parallel workers don't retry in step.
        max_throttled: How many throttle answers one call may receive before giving up
            (throttled calls were not applied, so they are retried separately from failures).
    """

    max_attempts: int = 6
    backoff: float = 0.5
    max_delay: float = 60.0
    jitter: float = 0.25
    max_throttled: int = 50

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.max_throttled < 0:
            raise ValueError("RetryPolicy.max_attempts must be >= 1 and max_throttled >= 0")
        if self.backoff < 0 or self.max_delay < 0 or not 0 <= self.jitter <= 1:
            raise ValueError("RetryPolicy delays must be >= 0 and jitter in [0, 1]")

    def delay(
        self, attempt: int, error: BaseException, *, rand: Callable[[], float] = random.random
    ) -> float | None:
        """Seconds to wait before the next attempt, or None to give up.

        Args:
            attempt: How many attempts have failed so far (1 after the first failure). For a
                throttle error, how many throttle answers this call has had.
            error: The failure. Only errors whose class says ``retryable`` are retried; a
                ``retry_after`` on the error is honoured exactly (capped at ``max_delay``).
            rand: Source of uniform [0, 1) numbers for the jitter.
        """
        if not getattr(error, "retryable", False):
            return None
        cap = self.max_throttled + 1 if getattr(error, "is_throttle", False) else self.max_attempts
        if attempt >= cap:
            return None
        hinted: object = getattr(error, "retry_after", None)
        if isinstance(hinted, (int, float)):
            return min(self.max_delay, float(hinted))
        base = min(self.max_delay, self.backoff * 2.0 ** max(0, attempt - 1))
        return min(self.max_delay, base * (1 + self.jitter * (2 * rand() - 1)))


DEFAULT_RETRY = RetryPolicy()
