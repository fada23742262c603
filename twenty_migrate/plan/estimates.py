"""How long a number of calls takes under Twenty's rate budget (plan estimates).

Each of Twenty's token buckets (limit L per window W) allows a burst of L calls, then L/W
calls per second; the slowest bucket decides. The client's limiter releases calls in groups
with a small guard (``RateLimit.pacing``), which the estimate includes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

import pandas as pd

from twenty_migrate.values import durations

if TYPE_CHECKING:
    from twenty_migrate.plan.plan import ImportPlan
    from twenty_migrate.twenty.discovery import ServerTraits

__all__ = [
    "MAX_RECORDS_PER_CALL",
    "DEFAULT_BUDGET",
    "SMALLEST_CAP",
    "RateBudget",
    "budget_seconds",
    "describe_plan",
    "estimate_steps",
    "format_duration",
    "phase_seconds",
    "verification_reads",
]

#: The largest per-call cap any Twenty release has: QUERY_MAX_RECORDS is 200 in current
#: code and 60 in older releases and the docs (twenty-api.md §2.3, §13;
#: packages/twenty-shared/src/constants/QueryMaxRecords.ts). The cap cannot be queried, so
#: the importer's first write call tries this many; a smaller server refuses it whole,
#: naming its cap, and the importer goes on at that cap.
MAX_RECORDS_PER_CALL = 200

#: Twenty's default API budget per workspace (twenty-api.md §6.2): 100 calls per second
#: and 100 per minute. Used only when no RateLimit is given to an estimate.
DEFAULT_BUDGET = ((100, 1.0), (100, 60.0))
#: The smallest per-call cap of any Twenty release (QUERY_MAX_RECORDS 60 in 1.x,
#: twenty-api.md §2.3): reads are counted at it until the server's cap is known, so an
#: estimate errs long rather than short.
SMALLEST_CAP = 60
#: Link columns a verification counts per object, assumed for its estimate.
_LINK_COLUMNS = 2


class RateBudget(Protocol):
    """The parts of ``twenty_migrate.twenty.ratelimit.RateLimit`` an estimate needs."""

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
    return "at least " + durations.format_duration(seconds, round_up=True)


def phase_seconds(calls: Sequence[int], rate_limit: RateBudget | None = None) -> list[float]:
    """Seconds each phase adds when phases of ``calls`` draw on one budget in turn: the
    first phases take the burst, the later ones wait at the sustained rate."""
    out: list[float] = []
    before = 0
    for n in calls:
        out.append(budget_seconds(before + n, rate_limit) - budget_seconds(before, rate_limit))
        before += n
    return out


def verification_reads(rows: Mapping[str, int], max_records: int | None = None) -> int:
    """About the reads :func:`~twenty_migrate.verify_run` spends on a run that
    landed ``rows`` (object -> records), as ``_verify_reads.read_object`` chooses them:
    each object's first page, then the cheapest of its other pages, the run's records by
    id, or counts of the run's ids (one per id chunk, plus one per link column: two are
    assumed). Pages are counted at :data:`SMALLEST_CAP` while the cap is unknown."""
    from twenty_migrate.twenty.reads import COUNT_CHUNK

    cap = max_records or SMALLEST_CAP
    calls = 0
    for n in rows.values():
        pages = math.ceil(n / cap)
        counts = math.ceil(n / COUNT_CHUNK) * (1 + _LINK_COLUMNS)
        calls += 1 if pages <= 1 else 1 + min(pages - 1, counts)
    return calls


def estimate_steps(
    plan: ImportPlan,
    rate_limit: RateBudget | None = None,
    *,
    max_records: int | None = None,
    reads_before: int = 0,
) -> pd.DataFrame:
    """:meth:`ImportPlan.estimate`: object, rows, calls, upsert and est_seconds per step."""
    size = plan.per_call(max_records)
    batches = plan.batches() if size == plan.batch_size else plan._split(size)
    per_step: dict[int, int] = {}
    for batch in batches:
        per_step[batch.step] = per_step.get(batch.step, 0) + 1
    calls = [per_step.get(index, 0) for index in range(len(plan.steps))]
    seconds = phase_seconds([reads_before, *calls], rate_limit)[1:]
    records = [
        {
            "object": step.object,
            "rows": len(step),
            "calls": n,
            "upsert": step.upsert,
            "est_seconds": round(s, 1),
        }
        for step, n, s in zip(plan.steps, calls, seconds, strict=True)
    ]
    return pd.DataFrame(records, columns=["object", "rows", "calls", "upsert", "est_seconds"])


def describe_plan(
    plan: ImportPlan,
    rate_limit: RateBudget | None = None,
    *,
    max_records: int | None = None,
    server: ServerTraits | None = None,
    validation_reads: int = 0,
    verify: bool = True,
) -> str:
    """:meth:`ImportPlan.describe`: the writes per object, the reads before and after them,
    and the least duration the rate budget allows for all of it."""
    if max_records is None and server is not None:
        max_records = server.max_records
    frame = estimate_steps(plan, rate_limit, max_records=max_records, reads_before=validation_reads)
    # Until the cap is known, the first write tries the largest and a smaller server makes
    # the importer go on at its cap: durations are counted at the smallest, to err long.
    slow = frame
    if max_records is None:
        slow = estimate_steps(
            plan, rate_limit, max_records=SMALLEST_CAP, reads_before=validation_reads
        )
    writes = int(frame["calls"].sum())
    slow_writes = int(slow["calls"].sum())
    steps = len(plan.steps)
    size = plan.per_call(max_records)
    if size < min(max_records or MAX_RECORDS_PER_CALL, MAX_RECORDS_PER_CALL):
        why = "batch_size"
    elif max_records is None:
        why = "the server's cap, not calibrated yet"
    else:
        why = "the server's cap"
    lines = [
        f"Import plan {plan.label!r} (fingerprint {plan.fingerprint()[:12]}): "
        f"{steps} step{'s' if steps != 1 else ''}, {plan.n_rows} rows, {writes} calls "
        f"via {plan.api}, up to {size} records per call ({why})"
    ]
    reads_after = 0
    if verify:
        reads_after = verification_reads(
            {step.object: len(step) for step in plan.steps}, max_records
        )
    before, during, after = phase_seconds([validation_reads, slow_writes, reads_after], rate_limit)
    if validation_reads:
        lines.append(
            f"  validation reads: {validation_reads} calls (schema, relation lookups, "
            f"existing-key checks), {format_duration(before)}"
        )
    for rec, slow_rec in zip(frame.to_dict("records"), slow.to_dict("records"), strict=True):
        mode = "upsert" if rec["upsert"] else "create only"
        calls = f"{rec['calls']} calls"
        if slow_rec["calls"] != rec["calls"]:
            calls += f" ({slow_rec['calls']} at a cap of {SMALLEST_CAP})"
        lines.append(
            f"  {rec['object']}: {rec['rows']} rows in {calls} ({mode}), "
            f"{format_duration(float(slow_rec['est_seconds']))}"
        )
    if verify:
        lines.append(
            f"  verification reads: about {reads_after} calls (reconciliation and relation "
            f"coverage), {format_duration(after)}"
        )
    if rate_limit is None:
        budget = list(DEFAULT_BUDGET)
    else:
        budget = [
            (rate_limit.short_limit, rate_limit.short_window),
            (rate_limit.long_limit, rate_limit.long_window),
        ]
    rule = " and ".join(f"{int(limit)} calls per {window:g} s" for limit, window in budget)
    total_calls = validation_reads + slow_writes + reads_after
    lines.append(
        f"  total: {total_calls} calls, {format_duration(before + during + after)} under a "
        f"budget of {rule} (burst first, then the sustained rate; network time not included)"
    )
    if server is not None:
        lines.append(f"  server: {server.describe()}")
    return "\n".join(lines)
