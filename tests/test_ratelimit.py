"""RateLimiter pacing, learning and thread-safety; parse_throttle; RetryPolicy."""

from __future__ import annotations

import math
import random
import threading
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from twenty_migrate.twenty.errors import (
    APIConnectionError,
    BadRequestError,
    RateLimitError,
    ServerError,
)
from twenty_migrate.twenty.ratelimit import (
    JITTER_DECAY,
    JITTER_MAX,
    JITTER_STEP,
    RateLimit,
    RateLimiter,
    RetryPolicy,
    Throttle,
    parse_retry_after,
    parse_throttle,
)


def twenty_js_rejections(times: list[float], windows: list[tuple[int, float]]) -> int:
    """Twenty's era-3 JS token buckets: integer refill, fraction dropped on each accepted call,
    short bucket charged before the long one is checked."""
    state: list[tuple[int, float] | None] = [None] * len(windows)
    rejected = 0
    for t in times:
        for i, (limit, window) in enumerate(windows):
            current = state[i]
            if current is None:
                available = limit
            else:
                tokens, last = current
                available = min(tokens + math.floor((t - last) * limit / window), limit)
            if available < 1:
                rejected += 1
                break
            state[i] = (available - 1, t)
    return rejected


def twenty_lua_rejections(times: list[float], windows: list[tuple[int, float]]) -> int:
    """The 2026 Lua version: fractional tokens kept, every bucket checked atomically."""
    state: list[tuple[float, float | None]] = [(float(limit), None) for limit, _ in windows]
    rejected = 0
    for t in times:
        new: list[tuple[float, float | None]] = []
        for (limit, window), (tokens, last) in zip(windows, state, strict=True):
            if last is not None:
                tokens = min(limit, tokens + (t - last) * limit / window)
            new.append((tokens, t))
        if any(tokens < 1 for tokens, _ in new):
            rejected += 1
            continue
        state = [(tokens - 1, t) for tokens, t in new]
    return rejected


def send_times(limiter: RateLimiter, clock, n: int) -> list[float]:
    """One caller that sends as soon as the limiter lets it."""
    return [limiter.acquire(clock.sleep) for _ in range(n)]


def simulate_callers(
    limiter: RateLimiter, clock, *, calls: int, callers: int, latency: float
) -> list[float]:
    """Send times of ``callers`` concurrent callers, each waiting ``latency`` for its answer
    before asking for the next slot (a discrete-event run on the fake clock)."""
    ready = [(clock.now, i) for i in range(callers)]
    times: list[float] = []
    while len(times) < calls:
        ready.sort()
        at, caller = ready.pop(0)
        if at > clock.now:
            clock.sleep(at - clock.now)
        wait = limiter.reserve()
        if wait > 0:
            ready.append((clock.now + wait, caller))
        else:
            times.append(clock.now)
            ready.append((clock.now + latency, caller))
    return times


def jittered(times: list[float], spread: float, seed: int = 7) -> list[float]:
    """Arrival times at the server: each send delayed by up to ``spread`` seconds."""
    rng = random.Random(seed)
    return sorted(t + rng.uniform(0, spread) for t in times)


def test_burst_then_groups_reach_99_percent_of_the_ceiling(fake_clock):
    clock = fake_clock
    rate = RateLimit()
    times = send_times(RateLimiter(rate, clock=clock), clock, 1000)
    windows = [(rate.short_limit, rate.short_window), (rate.long_limit, rate.long_window)]
    assert twenty_js_rejections(times, windows) == 0
    assert twenty_lua_rejections(times, windows) == 0
    # The first 100 go at once; then groups of 20 once 20 tokens and the guard are earned.
    assert times[99] == times[0]
    assert times[100] - times[99] == pytest.approx(20 * 0.6 + rate.jitter)
    assert times[100:120] == [times[100]] * 20
    achieved = 900 / (times[-1] - times[99])
    assert achieved >= 0.99 * rate.ceiling


def test_groups_survive_arrival_jitter_that_sinks_even_pacing(fake_clock):
    # Twenty drops the fractional refill on every accepted call, so calls paced at
    # window / limit lose a token to each early arrival; groups with a guard do not.
    rate = RateLimit()
    windows = [(100, 1.0), (100, 60.0)]
    grouped = send_times(RateLimiter(rate, clock=fake_clock), fake_clock, 600)
    assert twenty_js_rejections(jittered(grouped, rate.jitter * 0.99), windows) == 0
    even = [0.0] * 100 + [0.612 * k for k in range(1, 501)]
    assert twenty_js_rejections(jittered(even, rate.jitter * 0.99), windows) > 25


def test_concurrent_callers_with_latency_keep_the_budget_full(fake_clock):
    # 32 callers, 1 s per call, a scaled-down budget of 100 calls per 10 s.
    rate = RateLimit(long_limit=100, long_window=10.0)
    limiter = RateLimiter(rate, clock=fake_clock)
    times = simulate_callers(limiter, fake_clock, calls=2000, callers=32, latency=1.0)
    windows = [(100, 1.0), (100, 10.0)]
    assert twenty_js_rejections(jittered(times, rate.jitter * 0.99), windows) == 0
    steady = times[200:]
    assert (len(steady) - 1) / (steady[-1] - steady[0]) >= 0.97 * rate.ceiling


def test_short_window_binds_when_the_long_one_is_generous(fake_clock):
    clock = fake_clock
    rate = RateLimit(short_limit=10, short_window=1.0, long_limit=10_000, long_window=60.0)
    times = send_times(RateLimiter(rate, clock=clock), clock, 500)
    windows = [(10, 1.0), (10_000, 60.0)]
    assert twenty_js_rejections(times, windows) == 0
    # Groups of 10 (the whole short bucket) every 1 s plus the guard.
    assert 490 / (times[-1] - times[9]) >= 0.95 * rate.ceiling


def test_a_slot_is_taken_only_when_it_can_be_used_at_once(fake_clock):
    limiter = RateLimiter(RateLimit(), clock=fake_clock)
    assert [limiter.reserve() for _ in range(100)] == [0.0] * 100
    waits = [limiter.reserve() for _ in range(50)]
    assert waits == [pytest.approx(12.05)] * 50  # nothing taken: all told the same wait
    fake_clock.sleep(12.05)
    assert [limiter.reserve() for _ in range(20)] == [0.0] * 20
    assert limiter.reserve() == pytest.approx(12.05)


def test_a_late_send_moves_the_next_group(fake_clock):
    limiter = RateLimiter(RateLimit(), clock=fake_clock)
    send_times(limiter, fake_clock, 100)
    fake_clock.sleep(0.3)  # the last call of the burst left late
    limiter.sent()
    assert limiter.reserve() == pytest.approx(12.05)


def test_idle_time_refills_the_bucket(fake_clock):
    clock = fake_clock
    limiter = RateLimiter(RateLimit(), clock=clock)
    send_times(limiter, clock, 150)
    clock.sleep(120)
    assert [limiter.reserve() for _ in range(100)] == [0.0] * 100
    assert limiter.reserve() > 0


def test_slots_taken_from_threads_are_distinct_and_valid(fake_clock):
    clock = fake_clock
    limiter = RateLimiter(RateLimit(), clock=clock)
    times: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(125):
            t = limiter.acquire(clock.sleep)
            with lock:
                times.append(t)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    times.sort()
    assert len(times) == 1000
    assert twenty_js_rejections(times, [(100, 1.0), (100, 60.0)]) == 0


def test_on_throttled_with_retry_after_blocks_everyone_until_then(fake_clock):
    clock = fake_clock
    limiter = RateLimiter(RateLimit(), clock=clock)
    assert limiter.reserve() == 0
    limiter.on_throttled(retry_after=12)
    # One token at the Retry-After instant, then a group's worth; the guard has widened.
    expected = 12 + 19 * 0.6 + 0.05 + JITTER_STEP
    assert limiter.reserve() == pytest.approx(expected)
    clock.sleep(expected)
    assert limiter.reserve() == 0


def test_on_throttled_without_hint_waits_for_a_group(fake_clock):
    clock = fake_clock
    limiter = RateLimiter(RateLimit(), clock=clock)
    limiter.reserve()
    limiter.on_throttled()
    assert limiter.reserve() == pytest.approx(20 * 0.6 + 0.05 + JITTER_STEP)


def test_unexplained_throttles_widen_the_guard_and_successes_narrow_it(fake_clock):
    limiter = RateLimiter(RateLimit(), clock=fake_clock)
    assert limiter.guard == pytest.approx(0.05)
    for _ in range(3):  # jitter: refused although the budget is the configured one
        limiter.on_throttled(limit=100, window_ms=60000)
    assert limiter.guard == pytest.approx(0.05 + 3 * JITTER_STEP)
    for _ in range(100):
        limiter.on_accepted()
    assert limiter.guard == pytest.approx(0.05 + 3 * JITTER_STEP - 100 * JITTER_DECAY)
    for _ in range(10_000):
        limiter.on_accepted()
    assert limiter.guard == pytest.approx(0.05)
    for _ in range(100):
        limiter.on_throttled(window_ms=60000)
    assert limiter.guard == pytest.approx(0.05 + JITTER_MAX)
    # A throttle that teaches a smaller budget is explained: no widening.
    limiter = RateLimiter(RateLimit(), clock=fake_clock)
    limiter.on_throttled(limit=50, window_ms=60000)
    assert limiter.guard == pytest.approx(0.05)
    assert limiter.reserve() == pytest.approx(20 * 1.2 + 0.05)


def test_learns_a_smaller_long_budget_from_the_message(fake_clock):
    clock = fake_clock
    limiter = RateLimiter(RateLimit(), clock=clock)
    throttle = parse_throttle("Limit reached (50 tokens per 60000 ms)")
    assert throttle is not None
    limiter.on_throttled(throttle.retry_after, throttle.limit, throttle.window_ms)
    assert limiter.rate_limit.long_limit == 50
    assert limiter.rate_limit.short_limit == 100
    throttled_at = clock.now
    times = send_times(limiter, clock, 200)
    # The server's bucket was empty when it refused: model that with 50 calls just before.
    assert twenty_js_rejections([throttled_at] * 50 + times, [(50, 60.0)]) == 0
    assert times[20] - times[0] == pytest.approx(20 * 1.2 + 0.05)


def test_learns_the_short_window_by_its_length(fake_clock):
    limiter = RateLimiter(RateLimit(), clock=fake_clock)
    limiter.on_throttled(limit=20, window_ms=1000)
    assert (limiter.rate_limit.short_limit, limiter.rate_limit.long_limit) == (20, 100)


def test_learns_an_unexpected_window_as_the_server_states_it(fake_clock):
    limiter = RateLimiter(RateLimit(), clock=fake_clock)
    limiter.on_throttled(limit=40, window_ms=30_000)
    assert limiter.rate_limit.long_limit == 40
    assert limiter.rate_limit.long_window == 30.0


def test_header_limit_without_window_applies_to_the_long_window(fake_clock):
    limiter = RateLimiter(RateLimit(), clock=fake_clock)
    limiter.learn(50)
    assert limiter.rate_limit.long_limit == 50
    limiter.learn(500)  # never raises the budget above the configured one
    assert limiter.rate_limit.long_limit == 50


def test_rate_limit_validates():
    with pytest.raises(ValueError):
        RateLimit(long_limit=0)
    with pytest.raises(ValueError):
        RateLimit(short_window=0)
    with pytest.raises(ValueError):
        RateLimit(jitter=-1)
    with pytest.raises(ValueError):
        RateLimit(group=0)
    assert RateLimit().pacing(100, 60.0) == pytest.approx(0.6 + 0.05 / 20)
    assert RateLimit(long_limit=50).ceiling == pytest.approx(50 / 60)


# ------------------------------------------------------------------ parse_throttle


def test_parse_era3_rest_429_without_headers():
    body = {
        "statusCode": 429,
        "error": "HttpException",
        "messages": ["Limit reached (100 tokens per 60000 ms)"],
    }
    assert parse_throttle(body, status_code=429) == Throttle(
        "Limit reached (100 tokens per 60000 ms)", None, 100, 60000, None
    )


def test_parse_era3_graphql_limit_reached():
    body = {
        "data": {"createPeople": None},
        "errors": [
            {
                "message": "Limit reached (50 tokens per 60000 ms)",
                "extensions": {"code": "BAD_USER_INPUT", "subCode": "LIMIT_REACHED"},
            }
        ],
    }
    throttle = parse_throttle(body, status_code=200)
    assert throttle is not None
    assert (throttle.limit, throttle.window_ms, throttle.retry_after) == (50, 60000, None)


def test_parse_era4_rest_429_with_headers():
    body = {
        "statusCode": 429,
        "error": "RATE_LIMITED",
        "messages": ["Rate limit exceeded for apiKey: 3 requests per 60s."],
        "limitKind": "speed",
        "scope": {"spenderType": "apiKey", "spenderId": "key-1"},
        "limit": 3,
        "remaining": 0,
        "periodCount": 60,
        "periodUnit": "second",
        "retryAfterSeconds": 12,
    }
    headers = {"Retry-After": "12", "X-RateLimit-Limit": "3", "X-RateLimit-Remaining": "0"}
    throttle = parse_throttle(body, status_code=429, headers=headers)
    message = "Rate limit exceeded for apiKey: 3 requests per 60s."
    assert throttle == Throttle(message, 12.0, 3, 60000, 0, "newest")


def test_parse_era4_graphql_rate_limited():
    error = {
        "message": "Rate limit exceeded for apiKey: 100 requests per 60s.",
        "extensions": {
            "code": "RATE_LIMITED",
            "limitKind": "speed",
            "limit": 100,
            "remaining": 0,
            "periodCount": 60,
            "periodUnit": "second",
            "retryAfterMs": 2500,
        },
    }
    throttle = parse_throttle({"errors": [error]})
    assert throttle is not None
    assert (throttle.retry_after, throttle.limit, throttle.window_ms) == (2.5, 100, 60000)


def test_parse_bare_429_and_era1():
    assert parse_throttle({"statusCode": 429, "messages": ["x"]}, status_code=429) == Throttle("x")
    assert parse_throttle({"message": "Too many requests."}) == Throttle("Too many requests.")


def test_parse_ignores_other_errors():
    assert parse_throttle({"messages": ["Record not found"]}, status_code=404) is None
    bad = {"message": "Invalid UUID", "extensions": {"code": "BAD_USER_INPUT"}}
    assert parse_throttle({"errors": [bad]}) is None
    assert parse_throttle(None) is None


def test_parse_retry_after_forms():
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("1.5") == 1.5
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
    when = datetime.now(timezone.utc) + timedelta(seconds=30)
    assert 25 < parse_retry_after(format_datetime(when, usegmt=True)) <= 30  # type: ignore[operator]


# ------------------------------------------------------------------ RetryPolicy


def test_retry_policy_gives_up_on_non_retryable_and_after_max_attempts():
    policy = RetryPolicy(max_attempts=3, jitter=0)
    assert policy.delay(1, BadRequestError("bad")) is None
    assert policy.delay(1, ValueError("x")) is None
    error = ServerError("boom")
    assert [policy.delay(n, error) for n in (1, 2, 3)] == [0.5, 1.0, None]


def test_retry_policy_backoff_is_capped_and_jittered():
    policy = RetryPolicy(max_attempts=20, backoff=0.5, max_delay=10, jitter=0.25)
    error = APIConnectionError("dropped")
    assert policy.delay(2, error, rand=lambda: 0.0) == pytest.approx(0.75)
    assert policy.delay(2, error, rand=lambda: 0.999999) == pytest.approx(1.25, rel=1e-5)
    assert policy.delay(15, error, rand=lambda: 0.999999) == 10


def test_retry_policy_honours_retry_after_and_counts_throttles_apart():
    policy = RetryPolicy(max_attempts=2, max_throttled=3, max_delay=30)
    throttle = RateLimitError("Limit reached", retry_after=12)
    assert policy.delay(1, throttle) == 12
    assert policy.delay(3, throttle) == 12  # throttles don't use max_attempts
    assert policy.delay(4, throttle) is None
    assert policy.delay(1, RateLimitError("x", retry_after=300)) == 30
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)


def test_parse_reads_x_ratelimit_reset_when_retry_after_is_missing(monkeypatch):
    import twenty_migrate.twenty.ratelimit as rl

    monkeypatch.setattr(rl.time, "time", lambda: 1_800_000_000.0)
    headers = {"X-RateLimit-Limit": "50", "X-RateLimit-Reset": "1800000012"}
    throttle = parse_throttle({"messages": ["Too many"]}, status_code=429, headers=headers)
    assert throttle is not None
    assert (throttle.retry_after, throttle.limit, throttle.style) == (12.0, 50, "newest")


def test_parse_tells_the_throttle_styles_apart():
    era3 = parse_throttle(
        {"messages": ["Limit reached (100 tokens per 60000 ms)"]}, status_code=429
    )
    assert era3 is not None and era3.style == "common"
    era4 = parse_throttle(
        {"message": "Rate limit exceeded", "extensions": {"code": "RATE_LIMITED", "limit": 50}}
    )
    assert era4 is not None and era4.style == "newest"
    quota = {"message": "RECORD limit reached", "extensions": {"code": "QUOTA_EXHAUSTED"}}
    assert parse_throttle(quota) is None  # a quota is not a throttle: never waited out


def test_the_limiter_keeps_the_style_and_the_stated_budget():
    limiter = RateLimiter(RateLimit(), clock=lambda: 0.0)
    assert limiter.throttle_style is None and not limiter.budget_seen
    limiter.on_throttled(12.0, 50, 60_000, "newest")
    limiter.on_throttled(None, None, None, "common")  # a bare 429 later does not undo it
    assert limiter.throttle_style == "newest"
    assert limiter.budget_seen and limiter.calls_per_minute == 50


def test_remaining_on_a_success_limits_the_burst():
    fresh = RateLimiter(RateLimit(), clock=lambda: 0.0)
    assert fresh.reserve() == 0.0  # a full bucket: the burst goes at once
    limiter = RateLimiter(RateLimit(), clock=lambda: 0.0)
    limiter.learn(100, 60_000, remaining=3)  # another client spent the rest
    assert limiter.reserve() > 0  # no burst: wait for the server to earn a group
