"""How long calls still have to wait for the rate budget, from the limiter's state now.

A progress display needs two numbers the observed speed cannot give: whether the next call
is waiting for the budget (and for how long), and when the last call left may go. Both come
from replaying the client's :class:`~twenty_migrate.RateLimiter` on a copy of its
buckets, so the answer is what the limiter will do (short of throttles it has yet to learn).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

from twenty_migrate.twenty.ratelimit import RateLimiter

__all__ = ["BudgetOutlook", "budget_outlook"]

#: Calls replayed one by one; past them the rest go at the slowest bucket's sustained pace.
REPLAYED_CALLS = 2_000


@dataclass(frozen=True)
class BudgetOutlook:
    """Attributes:
    wait_s: Seconds before the next call may leave (0: it may go now).
    eta_s: Seconds before the last of the calls may leave (network time not included).
    """

    wait_s: float
    eta_s: float


def budget_outlook(limiter: RateLimiter, calls: int) -> BudgetOutlook:
    """When the next of ``calls`` and the last of them may leave under ``limiter``.

    Reads the limiter's buckets under its lock and replays them on copies: nothing is
    reserved, so the run is not slowed by asking.
    """
    # The limiter's buckets are private to it: copied here under its lock, never changed.
    with limiter._lock:
        now = limiter._clock()
        start = max(now, limiter._not_before)
        buckets = (copy.copy(limiter._short), copy.copy(limiter._long))
    if calls <= 0:
        return BudgetOutlook(wait_s=0.0, eta_s=0.0)
    t = start
    first = None
    for _ in range(min(calls, REPLAYED_CALLS)):
        while True:  # as RateLimiter.reserve: waiting on one bucket may leave the other dry
            later = max(b.earliest(t) for b in buckets)
            if later <= t:
                break
            t = later
        for bucket in buckets:
            bucket.take(t)
        if first is None:
            first = t
    rest = calls - REPLAYED_CALLS
    if rest > 0:
        pace = max(b.interval + b.guard / b.group for b in buckets)
        t += math.ceil(rest) * pace
    assert first is not None
    return BudgetOutlook(wait_s=max(0.0, first - now), eta_s=max(0.0, t - now))
