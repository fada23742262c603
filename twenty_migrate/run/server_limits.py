"""What the server allows a run: records per call, calls per minute, and its quotas.

Twenty's per-call cap (``QUERY_MAX_RECORDS``: 200 now, 60 in older releases) cannot be
queried, so :class:`CallSize` calibrates it: the first write call of a run carries as many
records as any release takes (:data:`~twenty_migrate.plan.plan.MAX_RECORDS_PER_CALL`), alone.
A smaller server refuses it whole (``Maximum number of records to upsert is N.``, nothing
written, one call spent); the run goes on at N. Either answer is kept in
``client.traits.max_records`` (saved by ``client.remember_traits()``), so later runs send
at the right size from their first call. A user's ``batch_size`` is never exceeded.

The rate budget is learned by the client's limiter from the answers (``Retry-After``,
``X-RateLimit-*``, the throttle body); :func:`remember_throttling` keeps what it learned in
the traits and :func:`apply_known_budget` starts a later run from it.

Quota refusals (402 allowance used up, 409 record limit, GraphQL ``QUOTA_EXHAUSTED``) are
never retried: :func:`quota_message` says what ran out and what to do.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
from typing import Any

from twenty_migrate.plan.plan import MAX_RECORDS_PER_CALL
from twenty_migrate.twenty.errors import APIStatusError, QuotaExceededError

__all__ = ["CallSize", "apply_known_budget", "cap_in", "quota_message", "remember_throttling"]

logger = logging.getLogger("twenty_migrate.run.importer")

#: Twenty names its per-call cap in this message (twenty-api.md §2.3; common-create-many-
#: query-runner.service.ts): ``Maximum number of records to upsert is 60.``
CAP_RE = re.compile(r"Maximum number of records to \w+ is (\d+)", re.IGNORECASE)
#: A minute, in milliseconds: the window ``traits.rate_limit_per_minute`` is stated in.
MINUTE_MS = 60_000


def cap_in(messages: list[str]) -> int | None:
    """The per-call cap a refusal names, or None."""
    for message in messages:
        match = CAP_RE.search(message)
        if match:
            return int(match.group(1))
    return None


def _remember(client: Any) -> None:
    remember = getattr(client, "remember_traits", None)
    if callable(remember):
        try:
            remember()
        except OSError as exc:  # a read-only cache directory must not stop a run
            logger.warning("Could not save what was learned about the server: %s", exc)


class CallSize:
    """How many records one write call may carry, and what is known of the server's cap.

    Args:
        client: The importer's client; its ``traits.max_records`` is read and updated.
        user_limit: The most records per call the user allows (the plan's ``batch_size``,
            the ``batch_size`` setting), or None.
    """

    def __init__(self, client: Any, user_limit: int | None) -> None:
        self.client = client
        self.traits = getattr(client, "traits", None)
        known = getattr(self.traits, "max_records", None)
        self.cap: int | None = known if isinstance(known, int) and known > 0 else None
        self.user_limit = user_limit
        # The largest batch the server took in this run: batches up to it need no probe.
        self.proven = self.cap or 0
        self._lock = threading.Lock()

    @property
    def size(self) -> int:
        """Records per call now: the user's limit, the known cap or the largest cap."""
        return min(self.user_limit or MAX_RECORDS_PER_CALL, self.cap or MAX_RECORDS_PER_CALL)

    @property
    def calibrated(self) -> bool:
        """Whether the server's cap is known (from this run or an earlier one)."""
        return self.cap is not None

    def is_probe(self, n_records: int) -> bool:
        """Whether a call of ``n_records`` may be over the cap, so it must go alone."""
        with self._lock:
            return self.cap is None and n_records > self.proven

    def refused(self, cap: int) -> None:
        """The server refused a batch for carrying more than ``cap`` records."""
        with self._lock:
            self.cap = min(cap, self.cap or cap)
            self.proven = min(self.proven, self.cap)
            learned = self.cap
        logger.info("Twenty takes at most %d records per call; batches are cut to that", learned)
        self._record(learned)

    def accepted(self, n_records: int) -> None:
        """The server took a batch of ``n_records``: batches up to that size are safe, and
        a batch of the largest size any release takes proves the cap."""
        with self._lock:
            self.proven = max(self.proven, n_records)
            proved = self.cap is None and n_records >= MAX_RECORDS_PER_CALL
            if proved:
                self.cap = MAX_RECORDS_PER_CALL
        if proved:
            self._record(MAX_RECORDS_PER_CALL)

    def _record(self, cap: int) -> None:
        if self.traits is None or getattr(self.traits, "max_records", None) == cap:
            return
        with contextlib.suppress(AttributeError):
            self.traits.max_records = cap
            _remember(self.client)


def apply_known_budget(client: Any) -> None:
    """Start the limiter from a budget an earlier run learned (``traits.rate_limit_per_minute``)."""
    limiter = getattr(client, "limiter", None)
    rate = getattr(getattr(client, "traits", None), "rate_limit_per_minute", None)
    if limiter is not None and isinstance(rate, int) and rate > 0:
        limiter.learn(rate, MINUTE_MS)


def remember_throttling(client: Any) -> None:
    """Keep the throttle style and budget the limiter learned in ``client.traits``."""
    limiter, traits = getattr(client, "limiter", None), getattr(client, "traits", None)
    if limiter is None or traits is None:
        return
    changed = False
    style = getattr(limiter, "throttle_style", None)
    if style is not None and traits.throttle_style != style:
        traits.throttle_style, changed = style, True
    if getattr(limiter, "budget_seen", False):
        rate = int(limiter.calls_per_minute)
        if traits.rate_limit_per_minute != rate:
            traits.rate_limit_per_minute, changed = rate, True
    if changed:
        _remember(client)


def quota_message(exc: APIStatusError, run_id: str) -> str:
    """Why the run stopped on a quota refusal, and what to do.

    The refusal is named as it came: ``HTTP 402``/``HTTP 409`` over REST, the GraphQL code
    (``QUOTA_EXHAUSTED``) over GraphQL, whose answer is an HTTP 200. Which quota ran out
    comes from the status or, over GraphQL, from ``exhaustedKind``/``limitKind``
    (``usage-limit-to-graphql-api-exception-handler.util.ts`` puts the exhausted scope in
    ``extensions``). Only the record limit's ``limit`` is shown: an allowance's counts credits.
    """
    status = exc.status_code
    quota = exc if isinstance(exc, QuotaExceededError) else None
    if status is not None and status >= 400:
        answered = f"HTTP {status}"
    else:
        answered = f"GraphQL code {exc.code}" if exc.code else "a GraphQL error"
    text = str(exc).lower()
    if status == 402 or (quota is not None and quota.exhausted_kind == "allowance"):
        what = (
            f"the workspace's paid allowance is used up ({answered}); upgrade the plan or "
            "wait for the allowance to renew"
        )
    elif status == 409 or (quota is not None and quota.limit_kind == "stock") or "record" in text:
        limit = quota.limit if quota is not None else None
        shown = f" ({limit} records)" if isinstance(limit, int) else ""
        what = (
            f"the workspace's record limit{shown} is reached ({answered}); raise it (your "
            "plan, or WORKSPACE_RECORD_LIMIT on a self-hosted server) or delete records"
        )
    else:
        what = f"a usage quota of the workspace is used up ({answered})"
    return (
        f"Twenty refused the write: {what}. Twenty said: {exc}. Nothing of the refused "
        "batch was written and no row is lost: the rows not sent are pending in the journal. "
        f"Once the limit is raised, finish the run with Importer(client).resume({run_id!r}) "
        f"or `twenty-migrate resume {run_id}`"
    )
