"""Which rows stay out of a migration's plan, and why: :func:`keep_valid`.

A row stays out when validation found an error in it that costs the row (a required or
unique field, a rule about the whole record; every error with ``strict``), when it points
at a row left out, or (tasks and notes) when one of its targets is left out; an error in
an optional field only empties that cell (:mod:`twenty_migrate.validation.cell_actions`).
:func:`keep_valid` applies these rules until they settle and says why for each row.
Re-exported by :mod:`twenty_migrate.pipeline.spec`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd

from twenty_migrate.plan.steps import EXISTING_PREFIX
from twenty_migrate.validation.cell_actions import ACTION_ROW, RELATION_RULES, empty_cells
from twenty_migrate.values.payloads import ROW_COLUMN

if TYPE_CHECKING:
    from twenty_migrate.relations.resolve import ResolvedRelations
    from twenty_migrate.validation.validate import ValidationReport

__all__ = ["EXCLUDED_COLUMNS", "OWNER_RULES", "RELATION_RULES", "blocking_failures", "keep_valid"]

#: Validation rule of an owner no workspace member matches (a warning): it keeps a row out
#: only with ``strict_owners``.
OWNER_RULES = frozenset({"unmatched_owner"})
#: Name ending of the objects linking a task or note to its records (``taskTargets``).
TARGETS_SUFFIX = "Targets"
#: Columns of :attr:`PreparedMigration.excluded`.
EXCLUDED_COLUMNS = ["object", "_row", "reason"]


def blocking_failures(
    failures: pd.DataFrame, relation_rules: frozenset[str] = frozenset(), *, strict: bool = False
) -> pd.DataFrame:
    """The failures that keep a row out of the plan.

    With ``strict``, every error but relation problems not named. Otherwise the errors
    whose ``action`` is ``row set aside`` (an optional cell is emptied instead), and
    relation problems that ``relation_rules`` names. Failures without an ``action``
    column: every error except relation problems not named (a record can be imported
    without an unresolved link). The warnings of :data:`OWNER_RULES` count when
    ``relation_rules`` names them (``strict_owners``).
    """
    errors = failures["severity"] == "error"
    named = failures["rule"].isin(relation_rules)
    owners = named & failures["rule"].isin(OWNER_RULES)
    if strict:
        return failures[(errors & (named | ~failures["rule"].isin(RELATION_RULES))) | owners]
    if "action" in failures.columns:
        return failures[(errors & ((failures["action"] == ACTION_ROW) | named)) | owners]
    relation = failures["rule"].isin(RELATION_RULES) & ~named
    return failures[(errors & ~relation) | owners]


def keep_valid(
    relations: ResolvedRelations,
    reports: Mapping[str, ValidationReport],
    *,
    strict: bool = False,
    strict_relations: bool = False,
    strict_owners: bool = False,
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """The rows to import, bad optional cells emptied, and the rows left out with the reason
    for each.

    An error in an optional field (``action`` ``cell emptied`` in the report) costs the
    cell: the row is imported with that cell empty, and the problem stays in the report.
    A row is left out when:

    * its validation report has an error for it that costs the row
      (:func:`blocking_failures`: a required or unique field, a rule about the whole
      record; every error with ``strict``); a missing or ambiguous relation counts only
      with ``strict_relations``, otherwise the row is imported with that link empty;
      an owner matching no workspace member (a warning) counts only with ``strict_owners``;
    * it points at a row left out (a relation column holding that row's ``_row``), so a
      contact never loses the company it names; this applies transitively, until no kept
      row points at a row left out (cells naming records already in Twenty,
      ``"twenty:<id>"``, never do);
    * it is a task or note target whose task or note, or whose target record, is left out
      (the rule above); and a task or note one of whose targets is left out is left out
      too, so that it is imported later with every link it names, not without one.

    Args:
        relations: The resolved frames and their relation columns
            (:func:`~twenty_migrate.resolve_relations`).
        reports: Per object, its validation report (:func:`~twenty_migrate.validate`).
        strict: Leave out every row Twenty would refuse: every error but a relation that
            could not be made (the reports' ``action`` is overruled; validate with
            ``strict=True`` to have them agree).
        strict_relations: Leave out rows with an unresolved or ambiguous relation too.
        strict_owners: Leave out rows whose owner matches no workspace member too
            (otherwise they are imported with the owner empty, and a warning).

    Returns:
        ``(frames, excluded)``: every object of ``relations.frames`` with only the rows to
        import, their bad optional cells emptied (index reset; an object may be left with no
        rows), and ``object, _row,
        reason`` of each row left out, object by object.

    Example:
        frames, excluded = keep_valid(rel, reports)
        plan = plan_migration(replace(rel, frames=frames), schema)
    """
    relation_rules = (RELATION_RULES if strict_relations else frozenset()) | (
        OWNER_RULES if strict_owners else frozenset()
    )
    # object -> _row -> reason, in the order rows are left out
    why: dict[str, dict[Any, str]] = {obj: {} for obj in relations.frames}

    def leave_out(obj: str, rows: Iterable[Any], reasons: Iterable[str]) -> None:
        mine = why.setdefault(obj, {})
        for row, reason in zip(rows, reasons, strict=True):
            mine.setdefault(row, reason)

    for obj, report in reports.items():
        bad = blocking_failures(report.failures, relation_rules, strict=strict)
        found = {}
        for row, group in bad.groupby(ROW_COLUMN, sort=False):
            first = group.iloc[0]
            found[row] = f"{first['column']}: {first['message']}"
            if len(group) > 1:
                found[row] += f" (and {len(group) - 1} more)"
        leave_out(obj, found, found.values())
    frames = dict(relations.frames)
    if not strict:
        for obj, report in reports.items():
            if obj in frames:
                frames[obj] = empty_cells(frames[obj], report.failures)
    changed = True
    while changed:  # until no kept row points at a row left out
        changed = False
        for obj, frame in frames.items():
            refs = relations.refs.get(obj) or {}
            for column, target in refs.items():
                lost = list(why.get(target, ()))
                if not lost or column not in frame.columns:
                    continue
                cells = frame[column]
                kept = ~frame[ROW_COLUMN].isin(list(why[obj]))
                orphan = kept & cells.isin(lost) & ~_names_existing(cells)
                if orphan.any():
                    leave_out(
                        obj,
                        frame.loc[orphan, ROW_COLUMN],
                        (
                            f"{column}: points to {target} row {cell!r}, which is left out"
                            for cell in cells[orphan]
                        ),
                    )
                    changed = True
            owner_column = _target_owner(obj, refs)
            if owner_column is None or owner_column not in frame.columns:
                continue
            owner = refs[owner_column]
            cells = frame[owner_column]
            waiting = (
                frame[ROW_COLUMN].isin(list(why[obj]))
                & cells.notna()
                & ~cells.isin(list(why.get(owner, ())))
                & ~_names_existing(cells)
            )
            if waiting.any():
                # A task or note waits for all its targets: imported later with every link.
                holders = frame[waiting].drop_duplicates(owner_column)
                leave_out(
                    owner,
                    holders[owner_column],
                    (
                        f"its {obj} row {row!r} is left out ({why[obj][row]}); it is imported "
                        "later with all its links"
                        for row in holders[ROW_COLUMN]
                    ),
                )
                changed = True
    kept_frames = {
        obj: frame[~frame[ROW_COLUMN].isin(list(why.get(obj, ())))].reset_index(drop=True)
        for obj, frame in frames.items()
    }
    excluded = pd.DataFrame(
        [
            {"object": obj, "_row": row, "reason": reason}
            for obj, rows in why.items()
            for row, reason in rows.items()
        ],
        columns=EXCLUDED_COLUMNS,
    )
    return kept_frames, excluded


def _names_existing(cells: pd.Series[Any]) -> pd.Series[bool]:
    """Cells naming a record already in Twenty (``"twenty:<id>"``) rather than a row."""
    return cells.map(lambda v: isinstance(v, str) and v.startswith(EXISTING_PREFIX)).astype(bool)


def _target_owner(obj: str, refs: Mapping[str, str]) -> str | None:
    """The join column of a task or note target (``taskTargets``) to its task or note."""
    if not obj.endswith(TARGETS_SUFFIX):
        return None
    column = obj[: -len(TARGETS_SUFFIX)] + "Id"
    return column if column in refs else None
