"""One relation column to resolve (a job), and where task and note targets are held."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from twenty_migrate.plan.steps import EXISTING_PREFIX, existing_ref
from twenty_migrate.relations.matching import (
    ROW,
    _Outcome,
    _Resolver,
    _Target,
)
from twenty_migrate.relations.matching import (
    _company_key as _company_key,  # still importable from here
)
from twenty_migrate.relations.owners import (
    OWNER_UNMATCHED,
)
from twenty_migrate.twenty.errors import SchemaError
from twenty_migrate.twenty.schema import WorkspaceSchema
from twenty_migrate.values.payloads import REF_PREFIX, SOURCE_REF_PREFIX

if TYPE_CHECKING:
    pass

#: Column of a task or note frame naming the records it is about (see the module doc).
TARGETS_COLUMN = REF_PREFIX + "targets"
#: Columns of :attr:`ResolvedRelations.problems`.
PROBLEM_COLUMNS = ["_row", "object", "column", "key", "status", "message", "candidates"]
_FOUND = ("run", "twenty", "stub")


def _is_key_column(column: str) -> bool:
    """A column of keys for the resolver (natural keys or source ids), never sent."""
    return column.startswith((REF_PREFIX, SOURCE_REF_PREFIX))


class _Job:
    """One relation column (or a targets column) of one object."""

    natural_keys = True  # keys are names, emails or domains (stubs may be made for them)

    def __init__(
        self,
        obj: str,
        column: str,
        rows: np.ndarray[Any, Any],
        keys: pd.Series[Any],
        targets: list[_Target],
        seq: np.ndarray[Any, Any] | None = None,
    ) -> None:
        self.object = obj
        self.column = column
        self.rows = rows
        self.targets = targets
        self.seq = seq  # position of a target key in its cell
        # Keys are compared without case (every matcher ignores it): each distinct text
        # is cleaned once, and every row points at its case-folded key.
        raw_codes, raw = pd.factorize(keys)
        text = pd.Series(raw, dtype=object).astype(str)
        text = text.str.replace(r"\s+", " ", regex=True).str.strip()
        folded = text.str.casefold()
        codes, self.uniques = pd.factorize(folded.where(folded != "", None))
        self.codes = np.append(codes, -1)[raw_codes]
        spelled = np.append(text.to_numpy(dtype=object), np.array([None], dtype=object))
        self.text = spelled[raw_codes]
        self.outcomes: list[_Outcome] = []
        self.makes_targets = column == TARGETS_COLUMN

    def resolve(self, resolver: _Resolver) -> list[_Outcome]:
        """One outcome per unique key."""
        return resolver.resolve(self.unique_keys(), self.targets)

    def unique_keys(self) -> list[str]:
        return [str(u) for u in np.asarray(self.uniques, dtype=object).tolist()]

    def spellings(self) -> list[str]:
        """Per unique key, how its first row wrote it."""
        present = self.codes >= 0
        first = pd.Series(self.text[present]).groupby(self.codes[present], sort=True).first()
        return [str(v) for v in first.reindex(range(len(self.uniques))).tolist()]

    def column_of(self, field: str) -> np.ndarray[Any, Any]:
        values = np.array([getattr(o, field) for o in self.outcomes] + [None], dtype=object)
        picked: np.ndarray[Any, Any] = values[self.codes]
        return picked

    def fill(self, frame: pd.DataFrame, refs: dict[str, str]) -> None:
        statuses = self.column_of("status")
        values = self.column_of("value")
        found = np.isin(statuses, _FOUND)
        filled = values.copy()
        filled[~found] = None
        if self.column in frame.columns:  # ids mapped directly win over natural keys
            given = frame[self.column].to_numpy(dtype=object)
            has = pd.notna(given)
            given_refs = [_given(v) if h else None for v, h in zip(given, has, strict=True)]
            filled[has] = np.array(given_refs, dtype=object)[has]
        frame[self.column] = pd.Series(filled, index=frame.index, dtype=object)
        refs[self.column] = self.targets[0].obj.name_plural

    def target_rows(self, schema: WorkspaceSchema) -> tuple[str, pd.DataFrame, dict[str, str]]:
        holder, own_join, joins = _target_holder(schema, self.object)
        statuses = self.column_of("status")
        found = np.isin(statuses, _FOUND)
        table = pd.DataFrame(
            {
                "src": self.rows[found],
                "seq": self.seq[found] if self.seq is not None else 0,
                "target": self.column_of("target")[found],
                "value": self.column_of("value")[found],
            }
        ).drop_duplicates(subset=["src", "target", "value"])
        ids = [f"{s}:{n}" for s, n in zip(table["src"], table["seq"], strict=True)]
        frame = pd.DataFrame({ROW: ids})
        frame[own_join] = pd.Series(table["src"].to_numpy(dtype=object), dtype=object)
        refs = {own_join: self.object}
        for join, target in joins.items():
            picked = (table["target"] == target).to_numpy()
            if picked.any():
                column = table["value"].to_numpy(dtype=object).copy()
                column[~picked] = None
                frame[join] = pd.Series(column, dtype=object)
                refs[join] = target
        return holder, frame, refs

    def problems(self) -> pd.DataFrame:
        statuses = self.column_of("status")
        bad = np.isin(statuses, ("missing", "ambiguous", OWNER_UNMATCHED))
        return pd.DataFrame(
            {
                "_row": self.rows[bad],
                "object": self.object,
                "column": self.column,
                "key": self.text[bad],
                "status": statuses[bad],
                "message": self.column_of("message")[bad],
                "candidates": self.column_of("candidates")[bad],
            },
            columns=PROBLEM_COLUMNS,
        )

    def count(self) -> dict[str, Any]:
        n = pd.Series(self.column_of("status")).value_counts().to_dict()
        n["missing"] = n.get("missing", 0) + n.get(OWNER_UNMATCHED, 0)
        names = ("in_run", "in_twenty", "stubbed", "missing", "ambiguous", "ignored")
        statuses = ("run", "twenty", "stub", "missing", "ambiguous", "ignored")
        return {
            "object": self.object,
            "column": self.column,
            "target": "/".join(t.obj.name_plural for t in self.targets),
            "keys": int((self.codes >= 0).sum()),
            **{name: int(n.get(status, 0)) for name, status in zip(names, statuses, strict=True)},
        }


def _given(value: Any) -> str:
    """A join-column cell mapped directly: a Twenty id, perhaps already marked as one."""
    text = str(value)
    return text if text.startswith(EXISTING_PREFIX) else existing_ref(text)


def _target_holder(schema: WorkspaceSchema, plural: str) -> tuple[str, str, dict[str, str]]:
    """``taskTargets``, its join column to the task, and its other joins -> target plural."""
    obj = schema.object(plural)
    try:
        holder = schema.object(f"{obj.name_singular}Target")
    except SchemaError:
        raise ValueError(
            f"{plural} rows have {TARGETS_COLUMN} but the workspace has no "
            f"{obj.name_singular}Target object to link them with"
        ) from None
    own = [j for j, t in holder.relations.items() if t == obj.name_singular]
    others = {
        j: schema.object(t).name_plural
        for j, t in holder.relations.items()
        if t != obj.name_singular and t in {o.name_singular for o in schema.objects.values()}
    }
    return holder.name_plural, own[0], others
