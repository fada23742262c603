"""What to import, in which order and in which batches: :class:`ImportPlan`.

A plan is a plain value. It holds one :class:`ObjectStep` per object, in the order they
must be written (companies before the people who point to them), and cuts each step into
deterministic :class:`Batch` es sized by record count and by serialised bytes, so the same
plan always yields the same batch ids (``"people-b00001"``) and a resumed run finds its
place again. A plan can be shown (:meth:`ImportPlan.describe`), inspected as a DataFrame
(:meth:`ImportPlan.to_frame`), fingerprinted (:meth:`ImportPlan.fingerprint`, used to refuse
resuming a run with different data) and saved to JSON so the CLI can run it headless.

The records of a step are a DataFrame whose columns are Twenty field paths::

    _row | name.firstName | emails.primaryEmail | companyId | amount.amountMicros

``_row`` is the stable source-row id (str or int, unique). Dotted paths become nested
objects (``{"name": {"firstName": ...}}``) and empty cells (NaN, None, pd.NA) are left out
of the payload: a field not provided is left untouched by an upsert.

A relation column listed in a step's ``refs`` holds, per row, either the ``_row`` of a
record of an earlier step (sent as the id that row gets in Twenty) or a record already in
Twenty, written ``"twenty:<id>"`` (:func:`existing_ref`) and sent as that id. The prefix
keeps the two apart even when ``_row`` ids are UUIDs themselves, and survives
:meth:`ImportPlan.save` / :meth:`ImportPlan.load` as plain text.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

import pandas as pd

from twenty_migrate.plan.estimates import (
    MAX_RECORDS_PER_CALL,
    RateBudget,
    budget_seconds,
    describe_plan,
    estimate_steps,
)
from twenty_migrate.plan.record_ids import plan_identities, plan_record_ids
from twenty_migrate.plan.steps import EXISTING_PREFIX, ObjectStep
from twenty_migrate.twenty.files import write_text_atomically
from twenty_migrate.values.payloads import (
    RowId,
    canonical_json,
)

if TYPE_CHECKING:
    from twenty_migrate.mapping.mapped import MappedFrame
    from twenty_migrate.twenty.discovery import ServerTraits

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "MAX_BATCH_BYTES",
    "Api",
    "Batch",
    "ImportPlan",
    "ObjectStep",
    "RateBudget",
    "RowId",
    "MAX_RECORDS_PER_CALL",
    "budget_seconds",
    "build_plan",
]

Api: TypeAlias = Literal["graphql", "rest"]

#: Records per create call unless the plan says fewer: as many as the server may take.
DEFAULT_BATCH_SIZE = MAX_RECORDS_PER_CALL
#: Most serialised payload bytes per call. Twenty's request body limit was not determined
#: (twenty-api.md §6.4, [uncertain]); 1 MB stays well inside common defaults, and the
#: importer splits a batch that gets 413 Payload Too Large anyway.
MAX_BATCH_BYTES = 1_000_000
#: Bytes the importer adds to each record (its ``"id": "<uuid>"``) when sizing batches.
ID_OVERHEAD_BYTES = 48
#: Version of the saved plan format (:meth:`ImportPlan.save`).
PLAN_FORMAT = "twenty_migrate.plan"
PLAN_FORMAT_VERSION = 1


@dataclass(frozen=True)
class Batch:
    """One create call: consecutive records of one step.

    Attributes:
        batch_id: ``"{object}-b00001"``; stable for the same plan.
        object: Twenty object name.
        step: Index of the step in the plan.
        rows: ``_row`` ids, in order.
        payloads: The records as sent (without the ids the journal assigns).
        upsert: Whether the call upserts.
        key: Unique field path used to match results (or ``None``).
        n_bytes: Serialised size used for sizing.
    """

    batch_id: str
    object: str
    step: int
    rows: tuple[RowId, ...]
    payloads: tuple[dict[str, Any], ...] = field(repr=False)
    upsert: bool = True
    key: str | None = None
    n_bytes: int = 0

    def __len__(self) -> int:
        return len(self.rows)


@dataclass(frozen=True, eq=False)
class ImportPlan:
    """Ordered steps cut into batches: everything an import will send.

    Args:
        steps: Steps in write order (a later step may point to records of earlier ones).
        batch_size: Most records per call, never exceeded. The default, 200, is the largest
            cap of any Twenty release; the importer sends fewer when the server's cap is
            smaller (it learns the cap on its first write call).
        api: ``"graphql"`` (``create{Plural}``) or ``"rest"`` (``POST /rest/batch/...``).
        name: Label used in run ids (default: the object names).
        max_batch_bytes: Most serialised bytes per call.
        migration: The migration this plan belongs to (default: ``name``, else the object
            names): it names the records' derived ids and the runs a re-run compares with,
            so plans of one migration (a test batch and its full run) share it.
        validation_reads: Calls spent preparing the plan, counted in its estimates (not
            saved with it, not compared).

    Example:
        >>> plan = ImportPlan([ObjectStep("companies", companies), ObjectStep("people", people)])
        >>> print(plan.describe())
    """

    steps: Sequence[ObjectStep]
    batch_size: int = DEFAULT_BATCH_SIZE
    api: Api = "graphql"
    name: str | None = None
    max_batch_bytes: int = MAX_BATCH_BYTES
    migration: str | None = None
    #: Calls spent preparing the plan (schema, relation lookups, existing-key checks):
    #: they draw on the same rate budget as the writes (set by ``MigrationSpec.prepare``).
    validation_reads: int = field(default=0, compare=False)

    def __post_init__(self) -> None:
        steps = tuple(self.steps)
        if not steps:
            raise ValueError("a plan needs at least one step")
        for step in steps:
            if not isinstance(step, ObjectStep):
                raise TypeError(f"steps must be ObjectStep, not {type(step).__name__}")
        if int(self.batch_size) < 1:
            raise ValueError(f"batch_size must be at least 1, not {self.batch_size}")
        if self.api not in ("graphql", "rest"):
            raise ValueError(f"api must be 'graphql' or 'rest', not {self.api!r}")
        if int(self.max_batch_bytes) < 1:
            raise ValueError("max_batch_bytes must be positive")
        seen: set[tuple[str, RowId]] = set()
        for step in steps:
            for column, target in step.row_refs.items():
                if target not in {s.object for s in steps[: steps.index(step)]}:
                    raise ValueError(
                        f"{step.object}.{column} refers to rows of {target!r}, which is not an "
                        "earlier step of the plan (cells naming records already in Twenty "
                        f"are written {EXISTING_PREFIX}<id>)"
                    )
            for row in step.rows:
                if (step.object, row) in seen:
                    raise ValueError(f"{step.object} _row={row!r} appears in two steps")
                seen.add((step.object, row))
        object.__setattr__(self, "steps", steps)
        object.__setattr__(self, "batch_size", int(self.batch_size))
        object.__setattr__(self, "max_batch_bytes", int(self.max_batch_bytes))

    def __repr__(self) -> str:
        parts = ", ".join(f"{s.object}: {len(s)}" for s in self.steps)
        return (
            f"ImportPlan({parts}; batch_size={self.batch_size}, api={self.api!r}, "
            f"name={self.name!r})"
        )

    @property
    def label(self) -> str:
        """The name, or the object names joined by ``+``."""
        return self.name or "+".join(dict.fromkeys(s.object for s in self.steps))

    @property
    def migration_name(self) -> str:
        """What makes two runs the same migration (:mod:`twenty_migrate.plan.record_ids`)."""
        return self.migration or self.label

    def identities(self) -> dict[tuple[str, RowId], str]:
        """Each row's identity across runs, by ``(object, _row)`` (source id, unique key
        value, else identifying values; see :mod:`twenty_migrate.plan.record_ids`)."""
        return plan_identities(self)

    def record_ids(self) -> dict[tuple[str, RowId], str]:
        """The Twenty id each row is sent with, by ``(object, _row)``: an ``id`` column's
        value, else the id derived from :attr:`migration_name`, the object and the row's
        identity. The same inputs give the same ids in every process."""
        return plan_record_ids(self)

    @property
    def n_rows(self) -> int:
        """Records in the whole plan."""
        return sum(len(s) for s in self.steps)

    def batches(self) -> list[Batch]:
        """The plan's batches, step by step, each within the count and byte limits."""
        cached: list[Batch] | None = self.__dict__.get("_batches")
        if cached is None:
            cached = self._split(self.batch_size)
            self.__dict__["_batches"] = cached
        return list(cached)

    def per_call(self, max_records: int | None = None) -> int:
        """Records per call against a server whose cap is ``max_records`` (None: not known
        yet, so the largest any release takes): the plan's ``batch_size`` or the cap."""
        return min(self.batch_size, max_records or MAX_RECORDS_PER_CALL)

    def _split(self, batch_size: int) -> list[Batch]:
        batches: list[Batch] = []
        numbers: dict[str, int] = {}
        for index, step in enumerate(self.steps):
            current_rows: list[RowId] = []
            current: list[dict[str, Any]] = []
            size = 0

            def flush(step: ObjectStep = step, index: int = index) -> None:
                nonlocal current_rows, current, size
                if not current:
                    return
                numbers[step.object] = numbers.get(step.object, 0) + 1
                batches.append(
                    Batch(
                        batch_id=f"{step.object}-b{numbers[step.object]:05d}",
                        object=step.object,
                        step=index,
                        rows=tuple(current_rows),
                        payloads=tuple(current),
                        upsert=step.upsert,
                        key=step.key,
                        n_bytes=size,
                    )
                )
                current_rows, current, size = [], [], 0

            for row, payload in zip(step.rows, step._payloads, strict=True):
                n = len(canonical_json(payload).encode()) + ID_OVERHEAD_BYTES
                if current and (len(current) >= batch_size or size + n > self.max_batch_bytes):
                    flush()
                current_rows.append(row)
                current.append(payload)
                size += n
            flush()
        return batches

    def fingerprint(self) -> str:
        """SHA-256 of what would be sent and how (payloads, rows, settings)."""
        cached: str | None = self.__dict__.get("_fingerprint")
        if cached is None:
            content = {
                "format": PLAN_FORMAT_VERSION,
                "api": self.api,
                "batch_size": self.batch_size,
                "max_batch_bytes": self.max_batch_bytes,
                "steps": [
                    {
                        "object": s.object,
                        "key": s.key,
                        "upsert": s.upsert,
                        "rows": list(s.rows),
                        "payloads": list(s._payloads),
                    }
                    for s in self.steps
                ],
            }
            cached = hashlib.sha256(canonical_json(content).encode()).hexdigest()
            self.__dict__["_fingerprint"] = cached
        return cached

    def estimate(
        self,
        rate_limit: RateBudget | None = None,
        *,
        max_records: int | None = None,
        reads_before: int = 0,
    ) -> pd.DataFrame:
        """Per step: object, rows, calls and the least seconds under the rate budget.

        Steps share one budget: the first burst goes to the first steps (after the
        ``reads_before`` calls spent first, such as validation's), so a later step's
        estimate is the extra time it adds. ``max_records`` is the server's per-call cap when
        known (``client.traits.max_records``); calls are counted at :meth:`per_call`.
        """
        return estimate_steps(self, rate_limit, max_records=max_records, reads_before=reads_before)

    def describe(
        self,
        rate_limit: RateBudget | None = None,
        *,
        max_records: int | None = None,
        server: ServerTraits | None = None,
        validation_reads: int | None = None,
        verify: bool = True,
    ) -> str:
        """Plain text: rows, calls and estimated duration per object, then the reads and the
        total.

        The duration is what the rate budget allows (burst first, then the sustained rate),
        counting the reads validation spent (:attr:`validation_reads`), the writes, and the
        reads a verification (:func:`~twenty_migrate.verify_run`) will spend.

        Args:
            rate_limit: The rate budget (default: Twenty's defaults; ``client.limiter.
                rate_limit`` is what the client paces itself to).
            max_records: The server's per-call cap when known (``client.traits.
                max_records``). Unknown, writes are counted at the largest cap, 200, reads
                at the smallest, 60, and the text says the cap is not calibrated yet.
            server: What is known of the server (``client.traits``): adds a line naming it,
                and gives the cap when ``max_records`` is not given.
            validation_reads: Calls validation spent (default: :attr:`validation_reads`).
            verify: Count the reads of a verification after the import.

        Example:
            >>> print(plan.describe())
            Import plan 'people' (fingerprint 3f2a9c1b0d4e): 1 step, 5000 rows, 25 calls
            via graphql, up to 200 records per call (the server's cap, not calibrated yet)
              people: 5000 rows in 25 calls (upsert), under 1 s of rate budget
            ...
        """
        if validation_reads is None:
            validation_reads = self.validation_reads
        return describe_plan(
            self,
            rate_limit,
            max_records=max_records,
            server=server,
            validation_reads=validation_reads,
            verify=verify,
        )

    def dry_run(
        self, rate_limit: RateBudget | None = None, *, max_records: int | None = None
    ) -> str:
        """:meth:`describe`, stated as what a run would do; nothing is sent."""
        return "Dry run, nothing sent.\n" + self.describe(rate_limit, max_records=max_records)

    def __str__(self) -> str:
        return self.describe()

    def _repr_html_(self) -> str:
        head = self.describe().splitlines()[0]
        table = self.estimate().to_html(index=False)
        return f"<p><b>{_html_escape(head)}</b></p>{table}"

    def to_frame(self) -> pd.DataFrame:
        """One line per batch: step, object, batch_id, records, bytes, first and last _row."""
        columns = ["step", "object", "batch_id", "records", "bytes", "first_row", "last_row"]
        columns += ["upsert", "key"]
        data = [
            [
                b.step,
                b.object,
                b.batch_id,
                len(b),
                b.n_bytes,
                b.rows[0],
                b.rows[-1],
                b.upsert,
                b.key,
            ]
            for b in self.batches()
        ]
        return pd.DataFrame(data, columns=columns)

    def head(self, n: int) -> ImportPlan:
        """A plan with only the first ``n`` rows of the first step (a test batch)."""
        if n < 1:
            raise ValueError("a test batch needs at least one row")
        step = self.steps[0].head(n)
        return ImportPlan(
            [step],
            min(self.batch_size, n),
            self.api,
            f"{self.label}-test",
            migration=self.migration_name,
        )

    def to_json(self) -> dict[str, Any]:
        """The plan as a JSON-safe dict (payload values included)."""
        return {
            "format": PLAN_FORMAT,
            "version": PLAN_FORMAT_VERSION,
            "name": self.name,
            "migration": self.migration,
            "api": self.api,
            "batch_size": self.batch_size,
            "max_batch_bytes": self.max_batch_bytes,
            "fingerprint": self.fingerprint(),
            "steps": [s._to_json() for s in self.steps],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ImportPlan:
        """Rebuild a plan from :meth:`to_json` output."""
        if data.get("format") != PLAN_FORMAT:
            raise ValueError("not a twenty_migrate plan (missing 'format')")
        if int(data.get("version", 0)) > PLAN_FORMAT_VERSION:
            raise ValueError(f"plan format version {data['version']} is newer than supported")
        return cls(
            [ObjectStep._from_json(s) for s in data["steps"]],
            batch_size=int(data.get("batch_size", DEFAULT_BATCH_SIZE)),
            api=data.get("api", "graphql"),
            name=data.get("name"),
            max_batch_bytes=int(data.get("max_batch_bytes", MAX_BATCH_BYTES)),
            migration=data.get("migration"),
        )

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the plan as JSON (atomically), for ``twenty-migrate import PLAN``."""
        text = json.dumps(self.to_json(), ensure_ascii=False, allow_nan=False)
        return write_text_atomically(path, text)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ImportPlan:
        """Read a plan written by :meth:`save`."""
        with open(path, encoding="utf-8") as handle:
            return cls.from_json(json.load(handle))


def _html_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def build_plan(
    df: pd.DataFrame | MappedFrame,
    object: str,
    *,
    key: str | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    upsert: bool = True,
    api: Api = "graphql",
    name: str | None = None,
    source: pd.DataFrame | None = None,
    source_key: str | None = None,
) -> ImportPlan:
    """A one-object plan from a mapped frame (``_row`` plus field-path columns).

    ``df`` is a :class:`~twenty_migrate.MappedFrame` or its ``data``; natural-key columns
    (``_ref.*``) are refused, as :func:`~twenty_migrate.plan_migration` refuses them: resolve
    them first (:func:`~twenty_migrate.resolve_relations`, or :func:`~twenty_migrate.prepare`
    for the whole path).

    ``source_key`` names the column (of ``df`` or ``source``) holding the source system's
    record id, which keeps each row's Twenty id stable (:class:`ObjectStep`).

    Example:
        >>> plan = build_plan(mapped, "people", key="emails.primaryEmail")
        >>> plan.to_frame().head()
    """
    records = df if isinstance(df, pd.DataFrame) else df.data
    step = ObjectStep(object, records, key=key, upsert=upsert, source=source, source_key=source_key)
    return ImportPlan([step], batch_size=batch_size, api=api, name=name)
