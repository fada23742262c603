"""What the client has learned about its Twenty server, kept per workspace.

Twenty's releases differ in their metadata schema, per-call cap, rate budget, throttle
answers, rich-text type and task/note target model. The client never assumes one: it
discovers each trait from the server's own answers and records it in a
:class:`ServerTraits`, saved beside the schema cache so later runs start right.

    traits = client.traits
    traits.max_records     # 200, once a write call has calibrated it; None before
    traits.throttle_style  # "newest" once a 429 with Retry-After / X-RateLimit-* was seen

Traits live in one JSON file per workspace under :func:`cache_dir`
(``TWENTY_MIGRATE_CACHE_DIR``, default the user's cache folder), named after the base
URL's host and a hash of the URL, never after the API key.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from collections.abc import Collection, Iterable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from twenty_migrate.twenty.files import write_text_atomically

__all__ = [
    "ServerTraits",
    "cache_dir",
    "rich_text_type_of",
    "throttle_style_of",
    "traits_path_for",
]

ThrottleStyle = Literal["common", "newest"]
TargetModel = Literal["plain", "morph", "junction"]
CustomRule = Literal["isCustom", "applicationId", "universalIdentifier", "standard names"]

CACHE_DIR_VARIABLE = "TWENTY_MIGRATE_CACHE_DIR"
#: The writable rich-text type before release 1.20 (PR #18628 renamed it RICH_TEXT and
#: removed the v1 RICH_TEXT, which was an unwritable legacy body).
RICH_TEXT_V2 = "RICH_TEXT_V2"
RICH_TEXT = "RICH_TEXT"


@dataclass
class ServerTraits:
    """The traits of one workspace's server, each None until discovered.

    Attributes:
        metadata_fields: Per metadata GraphQL type (``Object``, ``Field``...), the fields
            the server's schema has; queries select only these.
        introspection: Whether the metadata endpoint answered an introspection query
            (production servers may refuse it; discovery then drops refused fields).
        custom_rule: How custom objects and fields are told from standard ones:
            ``isCustom`` (releases before June 2026), else ``applicationId`` (the standard
            application owns the standard objects), ``universalIdentifier`` or
            ``standard names`` (see :mod:`twenty_migrate.twenty.schema`).
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
    introspection: bool | None = None
    custom_rule: CustomRule | None = None
    rich_text_type: str | None = None
    target_model: TargetModel | None = None
    throttle_style: ThrottleStyle | None = None
    max_records: int | None = None
    rate_limit_per_minute: int | None = None

    @property
    def legacy_rich_text_type(self) -> str | None:
        """The unwritable legacy body type (``RICH_TEXT`` on releases before 1.20), if any."""
        return RICH_TEXT if self.rich_text_type == RICH_TEXT_V2 else None

    @property
    def metadata_shape(self) -> str | None:
        """The metadata schema's family: ``1.x`` (with ``isCustom``), ``2.x`` (without)."""
        object_fields = self.metadata_fields.get("Object")
        if not object_fields:
            return None
        return "1.x" if "isCustom" in object_fields else "2.x"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe form (the cache file's format)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ServerTraits:
        """Rebuild traits saved by :meth:`to_dict`; unknown keys are ignored."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def update(self, other: ServerTraits) -> None:
        """Take every trait ``other`` knows (its None values leave these as they are)."""
        for item in fields(self):
            value = getattr(other, item.name)
            if value is not None and value != {}:
                setattr(self, item.name, value)

    def fill(self, other: ServerTraits) -> None:
        """Take the traits ``other`` knows and these do not (an older source, like a cache)."""
        for item in fields(self):
            mine = getattr(self, item.name)
            if mine is None or mine == {}:
                setattr(self, item.name, getattr(other, item.name))

    def differences(self, other: ServerTraits) -> list[str]:
        """Traits known on both sides that disagree, as ``name: mine -> other's`` lines."""
        found = []
        for item in fields(self):
            if item.name == "metadata_fields":
                continue
            mine, theirs = getattr(self, item.name), getattr(other, item.name)
            if mine is not None and theirs is not None and mine != theirs:
                found.append(f"{item.name}: {mine} -> {theirs}")
        return found

    def describe(self) -> str:
        """One line: what is known, and what is not yet."""
        parts = [
            f"cap={self.max_records or 'not calibrated'}",
            f"throttle={self.throttle_style or 'not seen'}",
            f"rate={f'{self.rate_limit_per_minute}/min' if self.rate_limit_per_minute else '?'}",
            f"targets={self.target_model or '?'}",
            f"rich_text={self.rich_text_type or '?'}",
            f"metadata={self.metadata_shape or '?'}",
        ]
        return " ".join(parts)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the traits to ``path`` atomically."""
        write_text_atomically(path, json.dumps(self.to_dict(), indent=1))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ServerTraits:
        """Read traits saved by :meth:`save`; a missing or unreadable file gives empty traits."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return cls()
        return cls.from_dict(data) if isinstance(data, dict) else cls()


def cache_dir() -> Path:
    """Where per-workspace traits live: ``TWENTY_MIGRATE_CACHE_DIR``, else the user cache."""
    configured = os.environ.get(CACHE_DIR_VARIABLE)
    if configured:
        return Path(configured).expanduser()
    home = Path.home()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or home / "AppData" / "Local")
        return base / "twenty-migrate" / "Cache"
    if sys.platform == "darwin":
        return home / "Library" / "Caches" / "twenty-migrate"
    return Path(os.environ.get("XDG_CACHE_HOME") or home / ".cache") / "twenty-migrate"


def traits_path_for(base_url: str, *, variant: str | None = None) -> Path:
    """The traits file of the workspace at ``base_url`` (``variant`` tells apart servers
    that share one URL, such as in-process sandboxes of different releases)."""
    key = base_url.rstrip("/") + (f"#{variant}" if variant else "")
    host = re.sub(r"[^A-Za-z0-9.-]+", "_", re.sub(r"^[a-z]+://", "", base_url).split("/")[0])
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]
    return cache_dir() / "servers" / f"{host or 'server'}-{digest}.json"


def throttle_style_of(status_code: int | None, code: str | None, headers: Any) -> ThrottleStyle:
    """The throttle style a refusal shows.

    ``newest`` is the usage-limit module (server/src/engine/core-modules/usage-limit/):
    ``Retry-After`` and ``X-RateLimit-*`` headers, GraphQL ``RATE_LIMITED``. ``common`` is
    the older throttler service: a bare 429, GraphQL ``LIMIT_REACHED`` / ``BAD_USER_INPUT``.
    """
    if code == "RATE_LIMITED":
        return "newest"
    names = {str(name).lower() for name in (headers or {})}
    if "retry-after" in names or any(name.startswith("x-ratelimit-") for name in names):
        return "newest"
    return "common"


def rich_text_type_of(
    field_types: Iterable[str], enum_values: Collection[str] | None = None
) -> str | None:
    """The writable rich-text type, from the workspace's field types and the type enum.

    A ``RICH_TEXT_V2`` field, or that value in the ``FieldMetadataType`` enum, means a
    release before 1.20, where ``RICH_TEXT`` is the legacy unwritable body. Otherwise
    ``RICH_TEXT`` is the writable markdown/blocknote composite (PR #18628).
    """
    seen = set(field_types)
    if RICH_TEXT_V2 in seen:
        return RICH_TEXT_V2
    if enum_values:
        return RICH_TEXT_V2 if RICH_TEXT_V2 in enum_values else RICH_TEXT
    return RICH_TEXT if RICH_TEXT in seen else None
