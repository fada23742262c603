"""A mapped frame: the converted values, and the values the mapping could not convert."""

from __future__ import annotations

import html
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from twenty_migrate.mapping.field_map import FieldMap


@dataclass(frozen=True, eq=False)
class MappedFrame:
    """The result of :meth:`FieldMap.apply`: converted data and the values that failed.

    Unpacks as ``data, problems = fmap.apply(df, people)``.
    """

    data: pd.DataFrame
    problems: pd.DataFrame
    object_name: str
    field_map: FieldMap
    notes: tuple[str, ...] = ()

    def __iter__(self) -> Iterator[pd.DataFrame]:
        return iter((self.data, self.problems))

    def __len__(self) -> int:
        return len(self.data)

    @property
    def errors(self) -> pd.DataFrame:
        """Problems whose value was left out (severity ``error``)."""
        return self.problems[self.problems["severity"] == "error"]

    @property
    def has_problems(self) -> bool:
        """Whether any value could not be converted."""
        return bool(len(self.errors))

    def summary(self) -> pd.DataFrame:
        """Problems per field and rule, with one example value each."""
        if self.problems.empty:
            return pd.DataFrame(columns=["field", "rule", "severity", "rows", "example"])
        grouped = self.problems.groupby(["field", "rule", "severity"], sort=False)
        return grouped.agg(rows=("_row", "size"), example=("value", "first")).reset_index()

    def __str__(self) -> str:
        counts = {str(k): int(v) for k, v in self.problems["severity"].value_counts().items()}
        text = (
            f"{self.object_name}: {len(self.data)} rows, {len(self.data.columns) - 1} columns; "
            f"{int(counts.get('error', 0))} values not converted, "
            f"{int(counts.get('warning', 0))} warnings"
        )
        return "\n".join([text, *(f"  note: {n}" for n in self.notes)])

    __repr__ = __str__

    def _repr_html_(self) -> str:
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.notes)
        return (
            f"<p>{html.escape(str(self).splitlines()[0])}</p>"
            + (f"<ul>{notes}</ul>" if notes else "")
            + self.summary().to_html(index=False)
        )
