"""A suggestion for one column: where it goes (or why nowhere), the reason and a confidence."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from twenty_migrate.twenty.errors import MappingError

if TYPE_CHECKING:
    pass


#: What a :class:`Suggestion` decided for its column.
SUGGESTION_STATUSES = ("mapped", "source_id", "create", "unmapped")


@dataclass(frozen=True)
class Suggestion:
    """Why a source column was (or was not) mapped, and how sure the suggestion is.

    Args:
        column: The source column.
        path: The Twenty path it maps to; for ``create``, the field preflight should
            create; for ``unmapped``, the path it would take if it could (or None).
        reason: Why, in words (``"Salesforce API name Account.BillingCity"``).
        confidence: 0 to 1; :meth:`FieldMap.review` lists the least sure first.
        status: ``mapped``, ``source_id`` (the record's own id in the source system),
            ``create`` (a custom field to create in preflight, then suggest again) or
            ``unmapped``.
        field_type: For ``create``: the Twenty type to create (``"TEXT"``, ``"NUMBER"``).
        options: Select options the target field should have: label -> option value
            (a vendor's pipeline stages); preflight adds the missing ones.
    """

    column: str
    path: str | None
    reason: str
    confidence: float
    status: str = "mapped"
    field_type: str | None = None
    options: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.status not in SUGGESTION_STATUSES:
            raise MappingError(
                f"suggestion status {self.status!r} is not one of {list(SUGGESTION_STATUSES)}"
            )
        object.__setattr__(self, "options", dict(self.options))
        object.__setattr__(self, "confidence", round(float(self.confidence), 2))

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "column": self.column,
            "path": self.path,
            "status": self.status,
            "confidence": self.confidence,
            "reason": self.reason,
        }
        if self.field_type:
            data["field_type"] = self.field_type
        if self.options:
            data["options"] = dict(self.options)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Suggestion:
        return cls(
            str(data["column"]),
            None if data.get("path") is None else str(data["path"]),
            str(data.get("reason") or ""),
            float(data.get("confidence", 0.0)),
            str(data.get("status") or "mapped"),
            data.get("field_type"),
            dict(data.get("options") or {}),
        )
