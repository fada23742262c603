"""Re-pointing references after a merge: keys and source ids of dropped rows to the kept row."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from twenty_migrate.relations.matching import (
    _company_key,
    _email_key,
    _looks_like_domain,
    _text_key,
)
from twenty_migrate.values.parsing import domain_key
from twenty_migrate.values.payloads import REF_PREFIX, SOURCE_REF_PREFIX

if TYPE_CHECKING:
    from twenty_migrate.twenty.schema import WorkspaceSchema


ROW = "_row"


#: Twenty's standard join columns, for when no schema is given.
_STANDARD_JOINS = {
    "companyId": "companies",
    "personId": "people",
    "pointOfContactId": "people",
    "opportunityId": "opportunities",
}


_TARGET_OBJECTS = ("people", "companies", "opportunities")


_TARGET_SPLIT = re.compile(r"\s*[;|]\s*")


_NAME = "name"


_DOMAIN = "domainName.primaryLinkUrl"


_EMAIL = "emails.primaryEmail"


@dataclass
class _Aliases:
    """One object's dropped rows as references name them: comparable key -> replacement."""

    names: dict[str, str | None] = field(default_factory=dict)
    domains: dict[str, str | None] = field(default_factory=dict)
    emails: dict[str, str | None] = field(default_factory=dict)
    source_ids: dict[str, str | None] = field(default_factory=dict)
    notes: dict[tuple[str, str], str] = field(default_factory=dict)


def _blank(value: Any) -> bool:
    if value is None or value is pd.NA:
        return True
    if isinstance(value, float) and np.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def _natural_keys(
    obj: str,
    work: pd.DataFrame,
    survivors: pd.DataFrame,
    merged: list[dict[str, Any]],
    aliases: list[dict[str, Any]],
    position_of: Mapping[str, int],
    out: _Aliases,
) -> None:
    """What references to each dropped row say, and what to say instead.

    Keys are compared as the relation resolver compares them (:mod:`._matching`). A key
    also naming a surviving row outside the group is not re-pointed: it was ambiguous.
    """
    name_key = _company_key if obj == "companies" else _text_key

    def text(position: int, column: str) -> str | None:
        if column not in work.columns:
            return None
        value = work[column].iat[position]
        return None if _blank(value) else str(value).strip()

    def survivors_by(column: str, key: Callable[[str], str | None]) -> dict[str, set[Any]]:
        seen: dict[str, set[Any]] = {}
        if column in survivors.columns:
            for row, value in zip(survivors[ROW], survivors[column], strict=True):
                norm = None if _blank(value) else key(str(value))
                if norm:
                    seen.setdefault(norm, set()).add(row)
        return seen

    def domain(value: str) -> str | None:
        return domain_key(value)

    kinds: list[tuple[dict[str, str | None], str, Callable[[str], str | None]]] = [
        (out.names, _NAME, name_key),
        (out.domains, _DOMAIN, domain),
        (out.emails, _EMAIL, _email_key),
    ]
    names_standing = survivors_by(_NAME, name_key)
    for table, column, key in kinds:
        standing = survivors_by(column, key)
        for item in merged:
            position, kept = position_of[str(item["_row"])], position_of[str(item["kept_row"])]
            value = text(position, column)
            norm = key(value) if value else None
            kept_value = text(kept, column)
            if not norm or (kept_value is not None and key(kept_value) == norm):
                continue  # names the kept row as well: it resolves there once this one is gone
            others = standing.get(norm, set()) - {item["kept_row"]}
            if others:
                out.notes[(column, norm)] = (
                    f"also names _row {', '.join(map(str, sorted(others, key=str)))}; "
                    "left as written"
                )
                table[norm] = None
                continue
            if norm in table and table[norm] != _replacement(text, kept):
                out.notes[(column, norm)] = "names rows merged into different rows; left as written"
                table[norm] = None
                continue
            replacement = _replacement(text, kept)
            table[norm] = replacement
            kept_name = text(kept, _NAME)
            shared = names_standing.get(name_key(kept_name) or "", set()) if kept_name else set()
            if replacement is None:
                out.notes[(column, norm)] = "the kept row has no value to name it by"
            elif replacement == kept_name and len(shared) > 1:
                out.notes[(column, norm)] = (
                    "re-pointed, but the kept row's name also names _row "
                    f"{', '.join(map(str, sorted(shared, key=str)))}: the resolver will find "
                    "it ambiguous"
                )
    for alias in aliases:
        if alias["source_id"] is not None:
            out.source_ids[alias["source_id"]] = alias["kept_source_id"]
            if alias["kept_source_id"] is None:
                out.notes[("source_id", alias["source_id"])] = "the kept row has no source id"


def _replacement(text: Callable[[int, str], str | None], kept: int) -> str | None:
    """How a re-pointed reference names the kept row: its domain or email (unique in
    Twenty) when it has one, else its name."""
    for column in (_DOMAIN, _EMAIL, _NAME):
        value = text(kept, column)
        if value is not None:
            return value
    return None


def _join_targets(join: str, obj: str, schema: WorkspaceSchema | None) -> list[str]:
    if join == "targets":
        return list(_TARGET_OBJECTS)
    if schema is not None:
        relations = schema.object(obj).relations
        if join in relations:
            return [schema.object(relations[join]).name_plural]
        return []
    target = _STANDARD_JOINS.get(join)
    return [target] if target else []


def _repoint(
    obj: str,
    frame: pd.DataFrame,
    keys: Mapping[str, _Aliases],
    schema: WorkspaceSchema | None,
    report: list[dict[str, Any]],
) -> pd.DataFrame:
    out = frame
    for column in [str(c) for c in frame.columns]:
        by_source = column.startswith(SOURCE_REF_PREFIX)
        if not (by_source or column.startswith(REF_PREFIX)):
            continue
        join = column.split(".", 1)[1]
        targets = [t for t in _join_targets(join, obj, schema) if t in keys]
        if not targets:
            continue
        several = join == "targets"
        cache: dict[Any, tuple[Any, str]] = {}
        values = frame[column].to_numpy(dtype=object)
        changed = False
        new_values = values.copy()
        for index, value in enumerate(values):
            if _blank(value):
                continue
            if value not in cache:
                cache[value] = _rewrite(str(value), targets, keys, by_source, several)
            after, note = cache[value]
            if after is None and not note:
                continue
            report.append(
                {
                    "object": obj,
                    "_row": frame[ROW].iat[index] if ROW in frame.columns else index,
                    "column": column,
                    "before": value,
                    "after": after,
                    "note": note,
                }
            )
            if after is not None:
                new_values[index] = after
                changed = True
        if changed:
            out = out.assign(**{column: new_values})
    return out


def _rewrite(
    cell: str, targets: Sequence[str], keys: Mapping[str, _Aliases], by_source: bool, several: bool
) -> tuple[str | None, str]:
    """A reference cell re-pointed (None: unchanged) and a note when a key was left."""
    parts = _TARGET_SPLIT.split(cell.strip()) if several else [cell.strip()]
    changed, notes = False, []
    out: list[str] = []
    for part in parts:
        new, note = _rewrite_key(part, targets, keys, by_source)
        if note:
            notes.append(f"{part!r} {note}")
        if new is not None and new != part:
            out.append(new)
            changed = True
        else:
            out.append(part)
    separator = _TARGET_SPLIT.search(cell)
    joiner = separator.group() if separator else "; "
    return (joiner.join(out) if changed else None), "; ".join(notes)


def _rewrite_key(
    key: str, targets: Sequence[str], keys: Mapping[str, _Aliases], by_source: bool
) -> tuple[str | None, str]:
    found: list[tuple[str | None, str]] = []
    for target in targets:
        aliases = keys[target]
        if by_source:
            table, norm, kind = aliases.source_ids, key, "source_id"
        elif "@" in key:
            table, norm, kind = aliases.emails, _email_key(key) or "", _EMAIL
        elif _looks_like_domain(key):
            table, norm, kind = aliases.domains, domain_key(key) or "", _DOMAIN
        else:
            name_key = _company_key if target == "companies" else _text_key
            table, norm, kind = aliases.names, name_key(key) or "", _NAME
        if norm in table:
            found.append((table[norm], aliases.notes.get((kind, norm), "")))
    if not found:
        return None, ""
    if len(found) > 1:
        return None, "names merged rows of several objects; left as written"
    return found[0]
