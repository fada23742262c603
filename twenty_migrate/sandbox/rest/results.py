"""A REST answer before serialisation, and the naming helpers REST routes share."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

CREATED = 201
OK = 200


@dataclass
class RestResult:
    """A REST answer before serialisation.

    Attributes:
        status: HTTP status.
        body: JSON body.
        root_field: The key under ``data`` (``createPeople``), for the request log.
        n_records: Records written or returned.
        headers: Extra headers.
    """

    status: int
    body: Any
    root_field: str | None = None
    n_records: int = 0
    headers: dict[str, str] = field(default_factory=dict)


def capitalize(name: str) -> str:
    """Twenty's ``capitalize``: upper-case the first letter only (``taskTargets``)."""
    return name[:1].upper() + name[1:]
