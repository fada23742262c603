"""How long a number of calls takes under Twenty's rate budget (plan estimates).

Each of Twenty's token buckets (limit L per window W) allows a burst of L calls, then L/W
calls per second; the slowest bucket decides. The client's limiter releases calls in groups
with a small guard (``RateLimit.pacing``), which the estimate includes.
"""

from __future__ import annotations

import math
from typing import Protocol

__all__ = ["DEFAULT_BUDGET", "RateBudget", "budget_seconds", "format_duration"]

#: Twenty's default API budget per workspace (twenty-api.md §6.2): 100 calls per second
#: and 100 per minute. Used only when no RateLimit is given to an estimate.
DEFAULT_BUDGET = ((100, 1.0), (100, 60.0))


class RateBudget(Protocol):
    """The parts of ``twenty_migrate.ratelimit.RateLimit`` an estimate needs."""

    @property
    def short_limit(self) -> int: ...
    @property
    def short_window(self) -> float: ...
    @property
    def long_limit(self) -> int: ...
    @property
    def long_window(self) -> float: ...


def budget_seconds(calls: int, rate_limit: RateBudget | None = None) -> float:
    """Least time ``calls`` requests need under Twenty's token buckets.

    Each bucket (limit L per window W) allows a burst of L calls, then L/W calls per
    second; the slowest bucket decides. Network time is not included.
    """
    if calls <= 0:
        return 0.0
    seconds = 0.0
    for limit, window in _buckets(rate_limit):
        if limit <= 0 or calls <= limit:
            continue
        seconds = max(seconds, (calls - limit) * window / limit)
    return seconds


def _buckets(rate_limit: RateBudget | None) -> list[tuple[float, float]]:
    """``(burst, window)`` per bucket, the window stretched by the limiter's guard."""
    if rate_limit is None:
        return [(float(limit), window) for limit, window in DEFAULT_BUDGET]
    buckets = [
        (rate_limit.short_limit, float(rate_limit.short_window)),
        (rate_limit.long_limit, float(rate_limit.long_window)),
    ]
    pacing = getattr(rate_limit, "pacing", None)
    if not callable(pacing):
        return [(float(limit), window) for limit, window in buckets]
    return [(float(limit), float(pacing(limit, window)) * limit) for limit, window in buckets]


def format_duration(seconds: float) -> str:
    """``"at least 2 min 05 s"``; the budget allows no faster."""
    if seconds < 1:
        return "under 1 s of rate budget"
    return "at least " + _format_span(seconds)


def _format_span(seconds: float) -> str:
    seconds = int(math.ceil(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"
