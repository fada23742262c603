"""Find and merge rows that are one record though no unique key says so.

Twenty upserts companies by domain and people by email, so two rows with the same domain
land on one record. Two rows *without* one ("Fernhill Bakery", Leeds, and "Fernhill
Bakery Ltd", Leeds, neither with a website) would land as two records; a reference to
either name is then ambiguous and stays empty. Flag them before the import, decide, and
merge::

    dups = tm.find_duplicates({"companies": companies, "people": people})
    dups                                      # object, _row_a, _row_b, ..., confidence, reason
    merged = tm.merge_duplicates(frames, dups[dups["confidence"] == "high"], schema=schema)
    merged.merged                             # object, _row, kept_row, score, confidence, reason
    rel = tm.resolve_relations(merged.frames, schema, client=client)

**What merging does**, per group of rows paired in ``duplicates`` (pairs chain: A~B and
B~C make one group of three, so filter the pairs first):

* One row is kept (``keep``: the first, the last, or the most complete); the others are
  dropped. With ``fill_blanks`` the kept row takes, field by field, the values it lacks
  from the dropped rows (a whole composite at once: all of ``phones.*`` or none), so a
  domain or a phone number known only to the dropped row is not lost.
* **References by natural key** to a dropped row are re-pointed at the kept one: a
  ``_ref.*`` cell (or one key of a ``_ref.targets`` cell) naming a dropped company by its
  name, domain or email, as the relation resolver compares them, is rewritten to the
  kept row's name, domain or email. A key that also names a row outside the group is
  left as written (the resolver reports it as ambiguous, as before), and so is an email
  when the kept row has none.
* **References by source id**: a ``_sourceref.*`` cell holding a dropped row's source id
  is rewritten to the kept row's source id. :attr:`MergedDuplicates.aliases` lists every
  dropped source id with the kept row and its source id, so a reference found later (in
  another file, or in the relations step) resolves to the kept row: read it as *source id
  -> kept source id*.
* Everything is reported: :attr:`~MergedDuplicates.merged` (which row went into which,
  why, how sure), :attr:`~MergedDuplicates.repointed` (every rewritten reference cell)
  and :attr:`~MergedDuplicates.aliases`.

Run it on the mapped frames, before :func:`~twenty_migrate.relations.resolve_relations`.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from twenty_migrate._matching import _company_key, _email_key, _looks_like_domain, _text_key
from twenty_migrate.duplicates import DUPLICATE_COLUMNS, LEGAL_SUFFIXES, find_duplicate_records
from twenty_migrate.mapping import REF_PREFIX, MappedFrame
from twenty_migrate.values import domain_key

if TYPE_CHECKING:
    from twenty_migrate.schema import WorkspaceSchema

__all__ = [
    "ALIAS_COLUMNS",
    "MERGED_COLUMNS",
    "REPOINTED_COLUMNS",
    "SOURCEREF_PREFIX",
    "MergedDuplicates",
    "find_duplicates",
    "merge_duplicates",
]

ROW = "_row"
#: Prefix of the columns naming related records by their source system's id.
SOURCEREF_PREFIX = "_sourceref."
#: Column of a frame holding each row's source-system id (as :mod:`.project` names it).
SOURCE_ID_COLUMN = "_source_id"
#: Columns of :attr:`MergedDuplicates.merged`.
MERGED_COLUMNS = ["object", "_row", "kept_row", "score", "confidence", "reason", "filled"]
#: Columns of :attr:`MergedDuplicates.aliases`.
ALIAS_COLUMNS = ["object", "source_id", "kept_source_id", "_row", "kept_row"]
#: Columns of :attr:`MergedDuplicates.repointed`.
REPOINTED_COLUMNS = ["object", "_row", "column", "before", "after", "note"]
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

Keep = Literal["first", "last", "most_complete"]
Frames = Mapping[str, "pd.DataFrame | MappedFrame"]


@dataclass(frozen=True)
class _Columns:
    name: tuple[str, ...]
    confirm: tuple[str, ...]
    key: str | None
    stopwords: frozenset[str]


#: What :func:`find_duplicates` compares per object in mapped frames (the columns present).
_DEFAULT_COLUMNS = {
    "companies": _Columns(
        ("name",),
        ("address.addressCity", "city", "phones.primaryPhoneNumber", "phone"),
        _DOMAIN,
        LEGAL_SUFFIXES,
    ),
    "people": _Columns(
        ("name.firstName", "name.lastName"),
        ("city", "address.addressCity", "phones.primaryPhoneNumber", "phone"),
        _EMAIL,
        frozenset(),
    ),
}


@dataclass(frozen=True, eq=False)
class MergedDuplicates:
    """The frames after merging, and what was merged and re-pointed.

    Attributes:
        frames: Per object, its frame without the dropped rows (a :class:`MappedFrame`
            stays one), references re-pointed.
        merged: ``object, _row, kept_row, score, confidence, reason, filled``: one row
            per dropped row (``filled``: the kept row's fields taken from it).
        aliases: ``object, source_id, kept_source_id, _row, kept_row``: every dropped
            row, with its source id where it has one: that id now stands for the kept row.
        repointed: ``object, _row, column, before, after, note``: every reference cell
            rewritten (``after`` empty when it was left as written, ``note`` says why).
    """

    frames: dict[str, pd.DataFrame | MappedFrame]
    merged: pd.DataFrame
    aliases: pd.DataFrame
    repointed: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=REPOINTED_COLUMNS))

    def alias_map(self, obj: str) -> dict[str, str]:
        """Dropped source id -> the kept row's source id (where both have one) for ``obj``."""
        rows = self.aliases[
            (self.aliases["object"] == obj)
            & self.aliases["source_id"].notna()
            & self.aliases["kept_source_id"].notna()
        ]
        return dict(zip(rows["source_id"], rows["kept_source_id"], strict=True))

    def summary(self) -> str:
        """A line per object: rows merged, references re-pointed."""
        lines = [f"{len(self.merged)} duplicate rows merged"]
        for obj, rows in self.merged.groupby("object", sort=False):
            kept = rows["kept_row"].nunique()
            lines.append(f"  {obj}: {len(rows)} rows merged into {kept}")
        moved = self.repointed["after"].notna()
        lines.append(
            f"  {int(moved.sum())} references re-pointed, {int((~moved).sum())} left as written"
        )
        return "\n".join(lines)

    __str__ = summary
    __repr__ = summary

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(self.summary())}</pre>" + self.merged.to_html(index=False)


def _data(frame: pd.DataFrame | MappedFrame) -> pd.DataFrame:
    return frame.data if isinstance(frame, MappedFrame) else frame


def find_duplicates(
    frames: Frames,
    *,
    columns: Mapping[str, Mapping[str, Any]] | None = None,
    threshold: float = 0.9,
    window: int = 6,
) -> pd.DataFrame:
    """Flag companies and people that appear twice without a unique key to tell them apart.

    Per object, names are compared exactly and fuzzily and a city or phone must agree
    (:func:`~twenty_migrate.duplicates.find_duplicate_records`); pairs whose rows both
    have a domain (companies) or an email (people) are left to Twenty's upsert.

    Args:
        frames: Mapped frames by object (``companies``, ``people``; others are compared
            only when ``columns`` names them).
        columns: Per object, what to compare, overriding the defaults: ``{"companies":
            {"name": "name", "confirm": ["address.addressCity"], "key":
            "domainName.primaryLinkUrl"}}`` (``stopwords`` too). Default: a company's
            ``name`` and its city or phone; a person's first and last name and their city
            or phone; columns missing from a frame are not compared.
        threshold: The lowest name similarity reported (1.0: exact names only).
        window: Sort-order neighbours compared per name.

    Returns:
        ``object`` and the columns of :func:`find_duplicate_records`, one row per pair.
    """
    reports: list[pd.DataFrame] = []
    for obj, frame in frames.items():
        data = _data(frame)
        spec = _columns_for(obj, data, (columns or {}).get(obj))
        if spec is None:
            continue
        found = find_duplicate_records(
            data,
            list(spec.name),
            confirm=list(spec.confirm),
            key=spec.key,
            threshold=threshold,
            window=window,
            stopwords=spec.stopwords,
        )
        reports.append(found.assign(object=obj))
    if not reports:
        return pd.DataFrame(columns=["object", *DUPLICATE_COLUMNS])
    out = pd.concat(reports, ignore_index=True)
    return out[["object", *DUPLICATE_COLUMNS]]


def _columns_for(obj: str, data: pd.DataFrame, given: Mapping[str, Any] | None) -> _Columns | None:
    default = _DEFAULT_COLUMNS.get(obj)
    if given is None and default is None:
        return None
    if given is not None:
        unknown = set(given) - {"name", "confirm", "key", "stopwords"}
        if unknown:
            raise ValueError(
                f"columns[{obj!r}] has unknown settings {sorted(unknown)}; "
                "allowed: name, confirm, key, stopwords"
            )
    base = default or _Columns((), (), None, LEGAL_SUFFIXES)
    settings = dict(given or {})
    name = settings.get("name", base.name)
    spec = _Columns(
        (name,) if isinstance(name, str) else tuple(name),
        tuple(settings.get("confirm", base.confirm)),
        settings.get("key", base.key),
        frozenset(settings.get("stopwords", base.stopwords)),
    )
    if given is not None:
        named = [*spec.name, *spec.confirm, *([spec.key] if spec.key else [])]
        missing = [c for c in named if c not in data.columns]
        if missing:
            raise ValueError(
                f"{obj}: no columns {missing} to compare; it has {[str(c) for c in data]}"
            )
        return spec
    names = tuple(c for c in spec.name if c in data.columns)
    if not names and "name" in data.columns:
        names = ("name",)
    if not names:
        return None
    return _Columns(
        names,
        tuple(c for c in spec.confirm if c in data.columns),
        spec.key if spec.key in data.columns else None,
        spec.stopwords,
    )


# --------------------------------------------------------------------------- merging
def merge_duplicates(
    frames: Frames,
    duplicates: pd.DataFrame,
    *,
    keep: Keep | Callable[[pd.DataFrame], Any] = "first",
    schema: WorkspaceSchema | None = None,
    source_ids: Mapping[str, str | pd.Series[Any]] | None = None,
    fill_blanks: bool = True,
) -> MergedDuplicates:
    """Merge the rows paired in ``duplicates``: keep one per group, re-point references.

    See the module doc of :mod:`twenty_migrate.merging` for what is kept, filled,
    re-pointed and reported.

    Args:
        frames: Mapped frames by object (every frame whose references may point at a
            merged row, not only the merged objects).
        duplicates: Pairs to merge: ``object, _row_a, _row_b`` (and ``score``,
            ``confidence``, ``reason`` when known), e.g. :func:`find_duplicates`'
            answer, filtered.
        keep: Which row of a group is kept: ``"first"`` or ``"last"`` in frame order,
            ``"most_complete"`` (most filled fields, then the first), or a function
            given the group's rows that returns the ``_row`` to keep.
        schema: The workspace schema, to know which object each ``_ref.<joinColumn>``
            points at; without it, Twenty's standard join columns (``companyId``,
            ``personId``, ``pointOfContactId``, ``opportunityId``) are re-pointed.
        source_ids: Per object, the column (or a Series aligned with the frame) holding
            each row's source-system id; default the ``_source_id`` column where there
            is one.
        fill_blanks: Give the kept row the values it lacks from the dropped rows.

    Raises:
        ValueError: A pair names an object or ``_row`` the frames do not have, or a frame's
            ``_row`` values repeat.
    """
    missing = {"object", "_row_a", "_row_b"} - set(duplicates.columns)
    if missing:
        raise ValueError(
            f"duplicates need the columns object, _row_a, _row_b (missing {sorted(missing)}); "
            "pass find_duplicates(...)' answer"
        )
    data = {obj: _data(frame).copy() for obj, frame in frames.items()}
    merged_rows: list[dict[str, Any]] = []
    alias_rows: list[dict[str, Any]] = []
    keys: dict[str, _Aliases] = {}
    for obj, pairs in duplicates.groupby("object", sort=False):
        obj = str(obj)
        if obj not in data:
            raise ValueError(
                f"duplicates name the object {obj!r}, which has no frame; frames: {list(data)}"
            )
        frame = data[obj]
        ids = _source_ids(obj, frame, (source_ids or {}).get(obj))
        data[obj], merged, aliases, names = _merge_object(obj, frame, pairs, keep, fill_blanks, ids)
        merged_rows.extend(merged)
        alias_rows.extend(aliases)
        keys[obj] = names
    repointed: list[dict[str, Any]] = []
    if keys:
        for obj in data:
            data[obj] = _repoint(obj, data[obj], keys, schema, repointed)
    out: dict[str, pd.DataFrame | MappedFrame] = {}
    for obj, given in frames.items():
        if isinstance(given, MappedFrame):  # the dropped rows' conversion problems go too
            left = given.problems[given.problems[ROW].isin(data[obj][ROW])]
            out[obj] = replace(given, data=data[obj], problems=left)
        else:
            out[obj] = data[obj]
    return MergedDuplicates(
        frames=out,
        merged=pd.DataFrame(merged_rows, columns=MERGED_COLUMNS),
        aliases=pd.DataFrame(alias_rows, columns=ALIAS_COLUMNS),
        repointed=pd.DataFrame(repointed, columns=REPOINTED_COLUMNS),
    )


def _source_ids(
    obj: str, frame: pd.DataFrame, given: str | pd.Series[Any] | None
) -> pd.Series[Any] | None:
    if isinstance(given, pd.Series):
        return given.reindex(frame.index)
    column = given if given is not None else SOURCE_ID_COLUMN
    if column in frame.columns:
        return frame[column]
    if given is not None:
        raise ValueError(
            f"{obj}: no column {given!r} for the source ids; it has {[str(c) for c in frame]}"
        )
    return None


@dataclass
class _Aliases:
    """One object's dropped rows as references name them: comparable key -> replacement."""

    names: dict[str, str | None] = field(default_factory=dict)
    domains: dict[str, str | None] = field(default_factory=dict)
    emails: dict[str, str | None] = field(default_factory=dict)
    source_ids: dict[str, str | None] = field(default_factory=dict)
    notes: dict[tuple[str, str], str] = field(default_factory=dict)


class _Groups:
    """Union-find over frame positions."""

    def __init__(self, size: int) -> None:
        self.parent = list(range(size))

    def find(self, item: int) -> int:
        while self.parent[item] != item:
            self.parent[item] = self.parent[self.parent[item]]
            item = self.parent[item]
        return item

    def join(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _blank(value: Any) -> bool:
    if value is None or value is pd.NA:
        return True
    if isinstance(value, float) and np.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def _merge_object(
    obj: str,
    frame: pd.DataFrame,
    pairs: pd.DataFrame,
    keep: Keep | Callable[[pd.DataFrame], Any],
    fill_blanks: bool,
    ids: pd.Series[Any] | None,
) -> tuple[pd.DataFrame, list[dict[str, Any]], list[dict[str, Any]], _Aliases]:
    if ROW not in frame.columns:
        raise ValueError(f"{obj}: the frame has no _row column to pair duplicates by")
    rows = frame[ROW].to_numpy(dtype=object)
    position_of = {str(r): i for i, r in enumerate(rows)}
    if len(position_of) < len(rows):
        raise ValueError(f"{obj}: _row values repeat; give each row its own _row first")
    unknown = [r for r in [*pairs["_row_a"], *pairs["_row_b"]] if str(r) not in position_of]
    if unknown:
        raise ValueError(f"{obj}: duplicates name rows the frame does not have: {unknown[:10]}")
    groups = _Groups(len(rows))
    evidence: dict[int, list[tuple[float, int, dict[str, Any]]]] = {}
    for record in pairs.to_dict("records"):
        pair = {str(k): v for k, v in record.items()}
        a, b = position_of[str(pair["_row_a"])], position_of[str(pair["_row_b"])]
        if a == b:
            continue
        groups.join(a, b)
        score = 1.0 if _blank(pair.get("score")) else float(pair["score"])
        evidence.setdefault(a, []).append((score, b, pair))
        evidence.setdefault(b, []).append((score, a, pair))
    members: dict[int, list[int]] = {}
    for position in evidence:
        members.setdefault(groups.find(position), []).append(position)

    fields = [c for c in frame.columns if not str(c).startswith("_")]
    composites: dict[str, list[str]] = {}
    for column in fields:
        composites.setdefault(str(column).split(".")[0], []).append(str(column))
    work = frame.reset_index(drop=True)
    dropped: list[int] = []
    merged: list[dict[str, Any]] = []
    aliases: list[dict[str, Any]] = []
    names = _Aliases()
    fills: dict[int, dict[str, Any]] = {}
    for group in members.values():
        group.sort()
        kept = _kept(work, group, keep, position_of)
        others = [p for p in group if p != kept]
        filled_from: dict[int, list[str]] = {p: [] for p in others}
        if fill_blanks:
            for part, columns in composites.items():
                if not all(_blank(work.at[kept, c]) for c in columns):
                    continue
                donor = next(
                    (p for p in others if not all(_blank(work.at[p, c]) for c in columns)), None
                )
                if donor is not None:
                    fills.setdefault(kept, {}).update({c: work.at[donor, c] for c in columns})
                    filled_from[donor].append(part)
        for position in others:
            score, partner, pair = max(evidence[position], key=lambda e: (e[0], e[1] == kept))
            reason = str(pair.get("reason") or "paired in duplicates")
            if partner != kept:
                reason += f" (with _row {rows[partner]}, merged into the same row)"
            merged.append(
                {
                    "object": obj,
                    "_row": rows[position],
                    "kept_row": rows[kept],
                    "score": score,
                    "confidence": pair.get("confidence"),
                    "reason": reason,
                    "filled": ", ".join(filled_from[position]),
                }
            )
            source_id = None if ids is None else _id_text(ids.iloc[position])
            kept_id = None if ids is None else _id_text(ids.iloc[kept])
            aliases.append(
                {
                    "object": obj,
                    "source_id": source_id,
                    "kept_source_id": kept_id,
                    "_row": rows[position],
                    "kept_row": rows[kept],
                }
            )
            dropped.append(position)
    for kept, values in fills.items():
        for column, value in values.items():
            work.at[kept, column] = value
    work.index = frame.index
    keep_mask = np.ones(len(rows), dtype=bool)
    keep_mask[dropped] = False
    result = work[keep_mask]
    _natural_keys(obj, work, result, merged, aliases, position_of, names)
    return result, merged, aliases, names


def _id_text(value: Any) -> str | None:
    return None if _blank(value) else str(value).strip()


def _kept(
    work: pd.DataFrame,
    group: list[int],
    keep: Keep | Callable[[pd.DataFrame], Any],
    position_of: Mapping[str, int],
) -> int:
    if callable(keep):
        chosen = keep(work.iloc[group])
        if str(chosen) not in position_of or position_of[str(chosen)] not in group:
            raise ValueError(f"keep returned {chosen!r}, not a _row of the group it was given")
        return position_of[str(chosen)]
    if keep == "first":
        return group[0]
    if keep == "last":
        return group[-1]
    if keep == "most_complete":
        fields = [c for c in work.columns if not str(c).startswith("_")]
        filled = [sum(not _blank(work.at[p, c]) for c in fields) for p in group]
        return group[int(np.argmax(filled))]
    raise ValueError(f"keep must be 'first', 'last', 'most_complete' or a function, not {keep!r}")


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
        by_source = column.startswith(SOURCEREF_PREFIX)
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
