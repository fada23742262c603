"""Twenty's API-key rate limiting: two token buckets per workspace.

Twenty charges one token per REST call and one per GraphQL root field, and only for
requests authenticated by an API key (twenty-api.md §6). Two eras are emulated:

* ``"common"`` (era 3, the default): the JavaScript ``ThrottlerService`` with its quirks,
  copied on purpose. Refill is ``floor(elapsed_ms * limit / ttl_ms)`` and the fractional
  part is thrown away on every accepted request; a rejected request leaves the state
  alone; the short bucket is charged before the long one is checked, so a call refused by
  the long bucket has still spent a short token. REST answers 429 with a bare
  ``HttpException`` body and no headers; GraphQL answers ``BAD_USER_INPUT`` / subCode
  ``LIMIT_REACHED``.
* ``"newest"`` (era 4): the usage-limit module's atomic Lua script. Both buckets are
  checked before either is charged and fractional tokens are kept. REST answers 429 with
  ``Retry-After`` (whole seconds, at least 1) and ``X-RateLimit-*`` headers; GraphQL
  answers ``RATE_LIMITED`` with the exhausted scope in ``extensions``.

The clock is injectable (seconds, monotonic), so tests never sleep.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from twenty_migrate.sandbox.errors import SandboxError

THROTTLE_STYLES = ("common", "newest")
"""Accepted ``throttle_style`` values: era 3 (``common``) and era 4 (``newest``)."""

DEFAULT_SHORT_LIMIT = 100
DEFAULT_SHORT_TTL_MS = 1000
DEFAULT_LONG_LIMIT = 100
DEFAULT_LONG_TTL_MS = 60000

API_KEY_SPENDER_ID = "20202020-a91e-4e5c-8b3d-5a4d8b0c0001"
"""Era 4 ``scope.spenderId``: the id of the sandbox's API key record (never the key itself)."""

RATE_LIMITED_USER_MESSAGE = "Rate limit reached. Please try again later."

API_REQUEST_OPERATION = "API_REQUEST"
"""Era 4 ``scope.operationType`` of a record call (``UsageOperationType.API_REQUEST``)."""


def retry_after_seconds(retry_after_ms: float) -> int:
    """``getRetryAfterSeconds``: whole seconds, never 0 (usage-limit-to-rest-api-exception-handler
    unit test: 11983 ms -> 12, 4 ms -> 1)."""
    return max(1, math.ceil(retry_after_ms / 1000))


@dataclass(frozen=True)
class BucketConfig:
    """One token bucket: ``limit`` tokens, refilled evenly over ``ttl_ms`` milliseconds."""

    limit: int
    ttl_ms: int

    @property
    def rate(self) -> float:
        """Tokens earned per millisecond."""
        return self.limit / self.ttl_ms


def _js_number(value: float) -> str:
    """Format a number the way JavaScript's template strings do (``60`` not ``60.0``)."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def limit_reached_error(bucket: BucketConfig) -> SandboxError:
    """Era 3 ``ThrottlerException`` for an exhausted bucket."""
    return SandboxError(
        f"Limit reached ({bucket.limit} tokens per {bucket.ttl_ms} ms)",
        code="LIMIT_REACHED",
        status=429,
        rest_error="HttpException",
        graphql_code="BAD_USER_INPUT",
    )


class RateLimitedError(SandboxError):
    """Era 4 ``UsageLimitException`` (``RATE_LIMITED``) with the exhausted scope.

    REST and GraphQL show the scope differently (``retryAfterSeconds`` in the REST body,
    ``retryAfterMs`` in GraphQL ``extensions``), hence the two overrides. Shapes from
    ``usage-limit/utils/usage-limit-to-rest-api-exception-handler.util.ts`` (and its unit
    test) and ``build-rate-limit-response-headers.util.ts``: ``X-RateLimit-Reset`` is
    ``ceil(Date.now() / 1000) + retryAfterSeconds``.
    """

    def __init__(self, bucket: BucketConfig, retry_after_ms: int, *, wall_now: float) -> None:
        retry_after_s = retry_after_seconds(retry_after_ms)
        super().__init__(
            f"Rate limit exceeded for apiKey: {bucket.limit} requests per "
            f"{_js_number(bucket.ttl_ms / 1000)}s.",
            code="RATE_LIMITED",
            status=429,
            rest_error="RATE_LIMITED",
            graphql_code="RATE_LIMITED",
            user_friendly_message=RATE_LIMITED_USER_MESSAGE,
            headers={
                "Retry-After": str(retry_after_s),
                "X-RateLimit-Limit": str(bucket.limit),
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": str(math.ceil(wall_now) + retry_after_s),
            },
        )
        self.bucket = bucket
        self.retry_after_ms = retry_after_ms
        self.retry_after_seconds = retry_after_s

    def _scope(self) -> dict[str, object]:
        return {
            "limitKind": "speed",
            "exhaustedKind": "limit",
            "scope": {
                "spenderType": "apiKey",
                "spenderId": API_KEY_SPENDER_ID,
                "operationType": API_REQUEST_OPERATION,
            },
            "limit": self.bucket.limit,
            "remaining": 0,
            "periodCount": math.ceil(self.bucket.ttl_ms / 1000),
            "periodUnit": "second",
        }

    def rest_body(self) -> dict[str, object]:
        """The REST 429 body of Twenty's usage-limit exception filter."""
        return {
            "statusCode": 429,
            "error": self.rest_error,
            "messages": [self.message],
            **self._scope(),
            "retryAfterSeconds": self.retry_after_seconds,
        }

    def graphql_extensions(self) -> dict[str, object]:
        """GraphQL ``extensions``: code ``RATE_LIMITED`` plus the exhausted scope."""
        return {
            "code": self.graphql_code,
            "subCode": self.code,
            "userFriendlyMessage": self.user_friendly_message,
            **self._scope(),
            "retryAfterMs": self.retry_after_ms,
        }


class Throttle:
    """The two per-workspace token buckets, in era 3 or era 4 style.

    Args:
        short_limit: Tokens in the short bucket (``API_RATE_LIMITING_SHORT_LIMIT``).
        short_ttl_ms: Its refill window (``API_RATE_LIMITING_SHORT_TTL_IN_MS``).
        long_limit: Tokens in the long bucket (``API_RATE_LIMITING_LONG_LIMIT``).
        long_ttl_ms: Its refill window (``API_RATE_LIMITING_LONG_TTL_IN_MS``).
        style: ``"common"`` (era 3) or ``"newest"`` (era 4).
        enabled: When False, :meth:`consume` never charges the buckets (a storm still
            refuses calls).
        clock: Monotonic clock in seconds.
        wall_clock: Epoch seconds, for ``X-RateLimit-Reset``.

    Example:
        >>> clock = [0.0]
        >>> throttle = Throttle(short_limit=2, long_limit=2, clock=lambda: clock[0])
        >>> throttle.consume(); throttle.consume()
        >>> throttle.consume()
        Traceback (most recent call last):
        ...
        twenty_migrate.sandbox.errors.SandboxError: Limit reached (2 tokens per 1000 ms)
    """

    def __init__(
        self,
        *,
        short_limit: int = DEFAULT_SHORT_LIMIT,
        short_ttl_ms: int = DEFAULT_SHORT_TTL_MS,
        long_limit: int = DEFAULT_LONG_LIMIT,
        long_ttl_ms: int = DEFAULT_LONG_TTL_MS,
        style: str = "common",
        enabled: bool = True,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        if style not in THROTTLE_STYLES:
            raise ValueError(f"throttle_style must be one of {THROTTLE_STYLES}, not {style!r}")
        for name, value in (
            ("short_limit", short_limit),
            ("short_ttl_ms", short_ttl_ms),
            ("long_limit", long_limit),
            ("long_ttl_ms", long_ttl_ms),
        ):
            if value <= 0:
                raise ValueError(f"{name} must be positive, not {value!r}")
        self.short = BucketConfig(short_limit, short_ttl_ms)
        self.long = BucketConfig(long_limit, long_ttl_ms)
        self.style = style
        self.enabled = enabled
        self._clock = clock
        self._wall_clock = wall_clock
        self._lock = threading.Lock()
        # bucket name -> (tokens, last_refill_at_ms); a missing bucket is full.
        self._state: dict[str, tuple[float, float]] = {}
        self._storm_until: float | None = None

    # -- public ---------------------------------------------------------------------------

    def consume(self) -> None:
        """Charge one token, or raise the era's throttle error.

        Raises:
            SandboxError: The call is refused (status 429; GraphQL shape per era).
        """
        with self._lock:
            now = self._clock()
            if self._storm_until is not None:
                if now < self._storm_until:
                    raise self.refusal(retry_after=self._storm_until - now)
                self._storm_until = None
            if not self.enabled:
                return
            # Whole milliseconds, like Date.now() and Redis TIME.
            now_ms = float(round(now * 1000))
            if self.style == "common":
                self._consume_common(now_ms)
            else:
                self._consume_newest(now_ms)

    def storm(self, seconds: float) -> None:
        """Refuse every throttled-eligible call for ``seconds`` from now."""
        with self._lock:
            self._storm_until = self._clock() + max(0.0, seconds)

    def configure(
        self,
        *,
        short_limit: int | None = None,
        short_ttl_ms: int | None = None,
        long_limit: int | None = None,
        long_ttl_ms: int | None = None,
        style: str | None = None,
        enabled: bool | None = None,
    ) -> None:
        """Change the buckets (arguments left as None keep their value) and refill them.

        Raises:
            ValueError: A non-positive limit or window, or an unknown style.
        """
        short = BucketConfig(short_limit or self.short.limit, short_ttl_ms or self.short.ttl_ms)
        long = BucketConfig(long_limit or self.long.limit, long_ttl_ms or self.long.ttl_ms)
        style = style or self.style
        if style not in THROTTLE_STYLES:
            raise ValueError(f"throttle_style must be one of {THROTTLE_STYLES}, not {style!r}")
        for value in (short.limit, short.ttl_ms, long.limit, long.ttl_ms):
            if value <= 0:
                raise ValueError(f"limits and windows must be positive, not {value!r}")
        with self._lock:
            self.short, self.long, self.style = short, long, style
            if enabled is not None:
                self.enabled = enabled
            self._state.clear()

    def reset(self) -> None:
        """Refill both buckets and end any storm."""
        with self._lock:
            self._state.clear()
            self._storm_until = None

    def available(self) -> tuple[float, float]:
        """Tokens available now in the (short, long) buckets, without charging."""
        with self._lock:
            now_ms = float(round(self._clock() * 1000))
            floor = self.style == "common"
            return (
                self._available("short", now_ms, floor=floor),
                self._available("long", now_ms, floor=floor),
            )

    def success_headers(self) -> dict[str, str]:
        """``X-RateLimit-Limit`` / ``-Remaining`` of the long bucket, for profiles that send
        them on accepted calls (``rate_limit_headers_on_success``)."""
        _, long = self.available()
        return {
            "X-RateLimit-Limit": str(self.long.limit),
            "X-RateLimit-Remaining": str(max(0, math.floor(long))),
        }

    def refusal(self, *, retry_after: float | None = None) -> SandboxError:
        """The error a refused call gets, in this era's shape (used by storms and faults).

        Args:
            retry_after: Seconds until a retry may succeed. Era 3 has no such hint in its
                answer; when given, a ``Retry-After`` header is added anyway (an injected
                fault in front of Twenty, e.g. a proxy, may send one).
        """
        if self.style == "newest":
            ms = 1000 if retry_after is None else max(1, math.ceil(retry_after * 1000))
            return RateLimitedError(self.long, ms, wall_now=self._wall_clock())
        error = limit_reached_error(self.long)
        if retry_after is not None:
            error.headers["Retry-After"] = str(max(1, math.ceil(retry_after)))
        return error

    # -- internals ------------------------------------------------------------------------

    def _buckets(self) -> tuple[tuple[str, BucketConfig], ...]:
        return (("short", self.short), ("long", self.long))

    def _available(self, name: str, now_ms: float, *, floor: bool) -> float:
        bucket = self.short if name == "short" else self.long
        state = self._state.get(name)
        if state is None:
            return float(bucket.limit)
        tokens, last = state
        refill = max(0.0, now_ms - last) * bucket.rate
        if floor:
            refill = math.floor(refill)
        return min(tokens + refill, float(bucket.limit))

    def _consume_common(self, now_ms: float) -> None:
        # ThrottlerService.tokenBucketThrottleOrThrow, once per bucket, short first.
        # (The 2 x window key TTL needs no emulation: after it the refill alone fills
        # the bucket.)
        for name, bucket in self._buckets():
            available = self._available(name, now_ms, floor=True)
            if available < 1:
                raise limit_reached_error(bucket)
            self._state[name] = (available - 1, now_ms)

    def _consume_newest(self, now_ms: float) -> None:
        # TRY_CONSUME_TOKEN_BUCKETS_SCRIPT with cost 1 and no partial admission.
        buckets = self._buckets()
        available = [self._available(name, now_ms, floor=False) for name, _ in buckets]
        exhausted: BucketConfig | None = None
        retry_after_ms = 0
        for (_, bucket), tokens in zip(buckets, available, strict=True):
            if math.floor(tokens) < 1:
                exhausted = exhausted or bucket
                wait = math.ceil((1 - tokens) * bucket.ttl_ms / bucket.limit)
                retry_after_ms = max(retry_after_ms, wait)
        if exhausted is not None:
            raise RateLimitedError(exhausted, retry_after_ms, wall_now=self._wall_clock())
        for (name, _), tokens in zip(buckets, available, strict=True):
            self._state[name] = (tokens - 1, now_ms)
