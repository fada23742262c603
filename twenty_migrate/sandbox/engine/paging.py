"""Page arguments and answers of find-many, checked as Twenty checks them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from twenty_migrate.sandbox.engine.fields import is_uuid
from twenty_migrate.sandbox.errors import SandboxError, bad_request


@dataclass
class Page:
    """One page of a find-many."""

    records: list[dict[str, Any]]
    cursors: list[str]
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None
    total_count: int


def _args_conflict(message: str, code: str = "ARGS_CONFLICT") -> SandboxError:
    return bad_request(message, code=code)


def _check_page_args(
    first: int | None, last: int | None, after: str | None, before: str | None
) -> None:
    if first is not None and last is not None:
        raise _args_conflict("Cannot provide both first and last")
    if before is not None and after is not None:
        raise _args_conflict("Cannot provide both before and after")
    if before is not None and first is not None:
        raise _args_conflict("Cannot provide both before and first")
    if after is not None and last is not None:
        raise _args_conflict("Cannot provide both after and last")
    if first is not None and first < 0:
        raise _args_conflict("First argument must be non-negative", "INVALID_ARGS_FIRST")
    if last is not None and last < 0:
        raise _args_conflict("Last argument must be non-negative", "INVALID_ARGS_LAST")


def _check_filter_ids(flt: Any) -> None:
    """Every ``id`` given in an ``id`` filter of a bulk write must be a UUID."""
    if isinstance(flt, list):
        for item in flt:
            _check_filter_ids(item)
        return
    if not isinstance(flt, dict):
        return
    for key, value in flt.items():
        if key == "id" and isinstance(value, dict):
            given = value.get("in")
            values: list[Any] = list(given) if isinstance(given, list) else []
            if "eq" in value:
                values.append(value["eq"])
            for item in values:
                if not is_uuid(item):
                    raise bad_request(
                        f'Value "{item}" is not a valid UUID', code="INVALID_QUERY_INPUT"
                    )
        elif key in ("and", "or", "not"):
            _check_filter_ids(value)
