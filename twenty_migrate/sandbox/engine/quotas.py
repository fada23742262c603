"""Twenty's usage-limit refusals other than speed: used-up allowances and record stock.

Only when the profile has ``quotas`` (the 2.4x usage-limit module):

* **allowance** (402): a paid allowance is used up. A sandbox switch
  (:meth:`Quotas.exhaust_allowance`) refuses every core record call until it is turned
  back off. Twenty's words: ``build-quota-exhausted-exception.util.ts`` ("Credit allowance
  exhausted for this billing period"), status from ``usage-limit-to-rest-api-exception-
  handler.util.ts`` (``QUOTA_EXHAUSTED`` with ``exhaustedKind: "allowance"`` -> 402, no
  retry headers).
* **record stock** (409): ``WORKSPACE_RECORD_LIMIT`` caps the live records of the
  workspace. ``usage-limit-stock.service.ts`` throws ``STOCK_EXHAUSTED`` with
  ``RECORD limit reached for this workspace`` before anything is written when the cost of
  a write (its new records) is larger than what remains, so a batch that would cross the
  limit fails whole. ``getUsageLimitErrorCode`` names it ``QUOTA_EXHAUSTED``.

GraphQL answers carry ``extensions.code = "QUOTA_EXHAUSTED"`` with the same scope.

The destroy cap (``profile.destroy_max_records``) lives here too: one more rule on how
much one call may do.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from twenty_migrate.sandbox.errors import SandboxError
from twenty_migrate.sandbox.profiles import TwentyProfile
from twenty_migrate.sandbox.throttle import retry_after_seconds

if TYPE_CHECKING:
    from twenty_migrate.sandbox.engine.store import Engine
    from twenty_migrate.sandbox.metadata.model import ObjectMeta

QUOTA_EXHAUSTED = "QUOTA_EXHAUSTED"
ALLOWANCE_MESSAGE = "Credit allowance exhausted for this billing period"
ALLOWANCE_USER_MESSAGE = "Credit allowance exhausted for this billing period."
RECORD_STOCK_MESSAGE = "RECORD limit reached for this workspace"
STOCK_USER_MESSAGE = "This workspace has reached its storage limit."
STOCK_REST_STATUS = 409
"""[uncertain] REST status of ``STOCK_EXHAUSTED`` (twenty-api.md §13; the handler read maps
only ``QUOTA_EXHAUSTED`` and ``RATE_LIMITED``)."""

DESTROY_CAP_MESSAGE = "Cannot destroy more than {cap} records at once"
DESTROY_CAP_USER_MESSAGE = "You can only destroy up to {cap} records at once."
"""[uncertain] Wording of the destroy-many cap, patterned on the ORM's update guard
(``workspace-update-query-builder``: "Cannot update more than N records at once", user
message "You can only update up to N records at once.", ``TOO_MANY_RECORDS_TO_UPDATE``, a
user-input error); the destroy text itself was not found in Twenty's source or tests."""


class QuotaError(SandboxError):
    """A ``UsageLimitException`` with ``QUOTA_EXHAUSTED`` semantics and its exhausted scope."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        sub_code: str,
        user_message: str,
        scope: dict[str, Any],
    ) -> None:
        super().__init__(
            message,
            code=sub_code,
            status=status,
            rest_error=QUOTA_EXHAUSTED,
            graphql_code=QUOTA_EXHAUSTED,
            user_friendly_message=user_message,
        )
        self.scope = scope

    def rest_body(self) -> dict[str, object]:
        """The REST body of Twenty's usage-limit exception filter (no retry headers)."""
        retry_after_ms = self.scope.get("retryAfterMs", 0)
        body = {k: v for k, v in self.scope.items() if k != "retryAfterMs"}
        return {
            "statusCode": self.status,
            "error": self.rest_error,
            "messages": [self.message],
            **body,
            "retryAfterSeconds": retry_after_seconds(retry_after_ms),
        }

    def graphql_extensions(self) -> dict[str, object]:
        """GraphQL ``extensions``: code ``QUOTA_EXHAUSTED`` plus the exhausted scope."""
        return {
            "code": self.graphql_code,
            "subCode": self.code,
            "userFriendlyMessage": self.user_friendly_message,
            **self.scope,
        }


def allowance_error() -> QuotaError:
    """402: the workspace's credit allowance is used up."""
    return QuotaError(
        ALLOWANCE_MESSAGE,
        status=402,
        sub_code=QUOTA_EXHAUSTED,
        user_message=ALLOWANCE_USER_MESSAGE,
        scope={
            "limitKind": "quota",
            "exhaustedKind": "allowance",
            "scope": {"spenderType": "workspace", "spenderId": None, "operationType": "ALL"},
            "limit": 0,
            "remaining": 0,
            "periodCount": None,
            "periodUnit": None,
            "retryAfterMs": 0,
        },
    )


def record_stock_error(limit: int, remaining: int) -> QuotaError:
    """409: creating the records would cross ``WORKSPACE_RECORD_LIMIT``."""
    return QuotaError(
        RECORD_STOCK_MESSAGE,
        status=STOCK_REST_STATUS,
        sub_code="STOCK_EXHAUSTED",
        user_message=STOCK_USER_MESSAGE,
        scope={
            "limitKind": "stock",
            "exhaustedKind": "limit",
            "scope": {"spenderType": "workspace", "spenderId": None, "operationType": "ALL"},
            "limit": limit,
            "remaining": max(0, remaining),
            "periodCount": None,
            "periodUnit": None,
            "retryAfterMs": 0,
        },
    )


def check_destroy_cap(profile: TwentyProfile, n_records: int) -> None:
    """Refuse a destroy-many that would remove more than ``profile.destroy_max_records``.

    Raises:
        SandboxError: 400 ``TOO_MANY_RECORDS_TO_UPDATE``.
    """
    cap = profile.destroy_max_records
    if cap is not None and n_records > cap:
        raise SandboxError(
            DESTROY_CAP_MESSAGE.format(cap=cap),
            code="TOO_MANY_RECORDS_TO_UPDATE",
            status=400,
            user_friendly_message=DESTROY_CAP_USER_MESSAGE.format(cap=cap),
        )


class Quotas:
    """The workspace's allowance switch and record limit.

    Args:
        profile: The release emulated; without ``profile.quotas`` nothing is ever refused.
        record_limit: ``WORKSPACE_RECORD_LIMIT`` (None: no limit).

    Raises:
        ValueError: A negative record limit.
    """

    def __init__(self, profile: TwentyProfile, record_limit: int | None = None) -> None:
        self.profile = profile
        self._lock = threading.Lock()
        self.allowance_exhausted = False
        self.record_limit: int | None = None
        self.set_record_limit(record_limit)

    def __repr__(self) -> str:
        return (
            f"Quotas(enabled={self.enabled}, record_limit={self.record_limit}, "
            f"allowance_exhausted={self.allowance_exhausted})"
        )

    @property
    def enabled(self) -> bool:
        """The profile refuses on quotas at all."""
        return self.profile.quotas

    def set_record_limit(self, limit: int | None) -> None:
        """Set (or with None remove) ``WORKSPACE_RECORD_LIMIT``."""
        if limit is not None and (isinstance(limit, bool) or limit < 0):
            raise ValueError(f"record_limit must be a non-negative integer, not {limit!r}")
        with self._lock:
            self.record_limit = limit

    def exhaust_allowance(self, exhausted: bool = True) -> None:
        """Use up (or with False refill) the paid allowance."""
        with self._lock:
            self.allowance_exhausted = exhausted

    def check_allowance(self) -> None:
        """Raise the 402 when the allowance is used up (and the profile has quotas)."""
        if self.enabled and self.allowance_exhausted:
            raise allowance_error()

    def refusal(self, status: int, engine: Engine | None = None) -> SandboxError | None:
        """The quota shape of an injected 402 or 409, or None for other statuses.

        An injected 409 names the configured record limit; with none configured, the limit
        it says is reached is the workspace's live record count (given ``engine``): Twenty
        only refuses with a limit the workspace has reached (``usage-limit-stock.service.ts``),
        never with an invented 0 while records exist.
        """
        if not self.enabled:
            return None
        if status == 402:
            return allowance_error()
        if status == STOCK_REST_STATUS:
            used = live_record_count(engine) if engine is not None else 0
            limit = self.record_limit if self.record_limit is not None else used
            return record_stock_error(limit, limit - used)
        return None

    def check_new_records(self, engine: Engine, obj: ObjectMeta, changes: Any) -> None:
        """Refuse a write whose new records would cross the record limit (nothing written).

        Args:
            engine: The store, to count the live records.
            obj: The object written.
            changes: The planned changes (``{object: {id: row or None}}``).
        """
        limit = self.record_limit
        if not self.enabled or limit is None:
            return
        table = engine.table(obj)
        planned = changes.get(obj.name_singular, {})
        new = sum(1 for rid, row in planned.items() if row is not None and rid not in table.rows)
        if new == 0:
            return
        used = live_record_count(engine)
        if used + new > limit:
            raise record_stock_error(limit, limit - used)


def live_record_count(engine: Engine) -> int:
    """Records not soft-deleted, over every object of the workspace but system ones."""
    total = 0
    for obj in engine.registry.objects():
        if obj.is_system:
            continue
        rows = engine.table(obj).rows.values()
        total += sum(1 for row in rows if row.get("deletedAt") is None)
    return total
