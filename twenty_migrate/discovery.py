"""What the client has learned about its Twenty server, kept per workspace.

Twenty's releases differ in their metadata schema, per-call cap, rate budget, throttle
answers, rich-text type and task/note target model. The client never assumes one: it
discovers each trait from the server's own answers and records it in a
:class:`ServerTraits`, saved beside the schema cache so later runs start right.

    traits = client.traits
    traits.max_records     # 200, once a write call has calibrated it; None before
    traits.throttle_style  # "newest" once a 429 with Retry-After / X-RateLimit-* was seen
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

__all__ = ["ServerTraits"]

ThrottleStyle = Literal["common", "newest"]
TargetModel = Literal["plain", "morph", "junction"]


@dataclass
class ServerTraits:
    """The traits of one workspace's server, each None until discovered.

    Attributes:
        metadata_fields: Per metadata GraphQL type (``Object``, ``Field``...), the fields
            the server's schema has; queries select only these.
        rich_text_type: The writable rich-text type's name (``RICH_TEXT_V2`` before
            release 1.20, ``RICH_TEXT`` after).
        target_model: How task and note targets are modelled: ``plain`` (``personId``),
            ``morph`` (``targetPersonId``) or ``junction``.
        throttle_style: ``common`` (429 with no headers, GraphQL ``LIMIT_REACHED``) or
            ``newest`` (``Retry-After``, ``X-RateLimit-*``, GraphQL ``RATE_LIMITED``).
        max_records: The per-call cap (``QUERY_MAX_RECORDS``), once a write call found it.
        rate_limit_per_minute: Calls per minute the server allows, once learned from its
            answers.
    """

    metadata_fields: dict[str, list[str]] = field(default_factory=dict)
    rich_text_type: str | None = None
    target_model: TargetModel | None = None
    throttle_style: ThrottleStyle | None = None
    max_records: int | None = None
    rate_limit_per_minute: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe form (the cache file's format)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ServerTraits:
        """Rebuild traits saved by :meth:`to_dict`; unknown keys are ignored."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def describe(self) -> str:
        """One line: what is known, and what is not yet."""
        parts = [
            f"cap={self.max_records or 'not calibrated'}",
            f"throttle={self.throttle_style or 'not seen'}",
            f"rate={f'{self.rate_limit_per_minute}/min' if self.rate_limit_per_minute else '?'}",
            f"targets={self.target_model or '?'}",
            f"rich_text={self.rich_text_type or '?'}",
        ]
        return " ".join(parts)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the traits to ``path`` atomically."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            "w", dir=target.parent, suffix=".tmp", delete=False, encoding="utf-8"
        ) as handle:
            json.dump(self.to_dict(), handle, indent=1)
        os.replace(handle.name, target)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ServerTraits:
        """Read traits saved by :meth:`save`; a missing or unreadable file gives empty traits."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return cls()
        return cls.from_dict(data) if isinstance(data, dict) else cls()
