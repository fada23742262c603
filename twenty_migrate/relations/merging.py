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

Run it on the mapped frames, before :func:`~twenty_migrate.relations.resolve.resolve_relations`.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from twenty_migrate.clean.duplicates import (
    DUPLICATE_COLUMNS,
    LEGAL_SUFFIXES,
    find_duplicate_records,
)
from twenty_migrate.mapping.mapped import MappedFrame
from twenty_migrate.relations.repointing import (
    _DOMAIN,
    _EMAIL,
    ROW,
    _Aliases,
    _blank,
    _natural_keys,
    _repoint,
)
from twenty_migrate.values.payloads import SOURCE_ID_COLUMN, SOURCE_REF_PREFIX

if TYPE_CHECKING:
    from twenty_migrate.twenty.schema import WorkspaceSchema

__all__ = [
    "ALIAS_COLUMNS",
    "MERGED_COLUMNS",
    "REPOINTED_COLUMNS",
    "SOURCE_REF_PREFIX",
    "MergedDuplicates",
    "find_duplicates",
    "merge_duplicates",
]

#: Columns of :attr:`MergedDuplicates.merged`.
MERGED_COLUMNS = ["object", "_row", "kept_row", "score", "confidence", "reason", "filled"]
#: Columns of :attr:`MergedDuplicates.aliases`.
ALIAS_COLUMNS = ["object", "source_id", "kept_source_id", "_row", "kept_row"]
#: Columns of :attr:`MergedDuplicates.repointed`.
REPOINTED_COLUMNS = ["object", "_row", "column", "before", "after", "note"]

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
    (:func:`~twenty_migrate.clean.duplicates.find_duplicate_records`); pairs whose rows both
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

    See the module doc of :mod:`twenty_migrate.relations.merging` for what is kept, filled,
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
