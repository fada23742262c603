"""A whole migration: the plan for several objects, and the workspace checked before it.

:func:`plan_migration` turns resolved frames (:func:`~twenty_migrate.resolve_relations`)
or ready steps into one :class:`~twenty_migrate.ImportPlan`, ordered from the
relation graph so every record is written after the records it points to: companies,
people, opportunities, tasks and notes, then their targets; custom objects wherever their
own relations put them. The workspace check before it, :func:`preflight`, lives in
:mod:`twenty_migrate.pipeline.preflight` and is re-exported here::

    report = tm.preflight(schema, [companies_map, people_map], fields={...})
    report                     # what the workspace lacks: objects, fields, select options
    schema = report.apply(client)   # creates them (only when asked), returns the new schema
    rel = tm.resolve_relations(frames, schema, client=client, targets={...})
    plan = tm.plan_migration(rel, schema)
    tm.Importer(client).run(plan)

**Cycles.** Objects that point to each other by ``_row`` (``A.bId`` -> B and ``B.aId``
-> A, or a company's parent company in the same run) have no order in which every
target is written first. The importer sends a record once, by create or upsert, and
cannot come back to fill a relation, so :func:`plan_migration` refuses such a plan with
a :class:`RelationCycleError` naming the cycle and its columns. Leave one of those
columns out of the import and set it afterwards, or point it at records already in
Twenty (``"twenty:<id>"`` cells make no edge).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from twenty_migrate.pipeline.preflight import FieldSpec, PreflightItem, PreflightReport, preflight
from twenty_migrate.plan.plan import DEFAULT_BATCH_SIZE, Api, ImportPlan
from twenty_migrate.plan.steps import ObjectStep
from twenty_migrate.relations.resolve import ResolvedRelations
from twenty_migrate.twenty.errors import TwentyMigrateError
from twenty_migrate.twenty.schema import WorkspaceSchema
from twenty_migrate.values.payloads import (
    REF_PREFIX,
    SOURCE_REF_PREFIX,
)

__all__ = [
    "STANDARD_ORDER",
    "FieldSpec",
    "PreflightItem",
    "PreflightReport",
    "RelationCycleError",
    "order_steps",
    "plan_migration",
    "preflight",
]

#: Write order of Twenty's standard objects when their relations leave a choice.
STANDARD_ORDER = ("companies", "people", "opportunities", "tasks", "notes")


class RelationCycleError(TwentyMigrateError, ValueError):
    """Objects of a plan point to each other by ``_row``, so no write order exists.

    Attributes:
        cycle: The objects, first repeated last (``["companies", "people", "companies"]``).
    """

    def __init__(self, message: str, cycle: Sequence[str]) -> None:
        super().__init__(message)
        self.cycle = list(cycle)


# --------------------------------------------------------------------------- the plan
def plan_migration(
    source: ResolvedRelations | Sequence[ObjectStep] | Mapping[str, pd.DataFrame],
    schema: WorkspaceSchema | None = None,
    *,
    refs: Mapping[str, Mapping[str, str]] | None = None,
    keys: Mapping[str, str | None] | None = None,
    sources: Mapping[str, pd.DataFrame] | None = None,
    upsert: bool = True,
    batch_size: int = DEFAULT_BATCH_SIZE,
    api: Api = "graphql",
    name: str | None = None,
    source_keys: Mapping[str, str] | None = None,
    migration: str | None = None,
) -> ImportPlan:
    """One plan for several objects, each written after the objects it points to.

    Args:
        source: A :class:`~twenty_migrate.ResolvedRelations`, ready
            :class:`~twenty_migrate.ObjectStep` s, or frames by object whose relation
            columns are given in ``refs``.
        schema: The workspace schema; picks each object's unique key and checks names
            (needed unless ``source`` is steps).
        refs: Relation columns per object (``{"people": {"companyId": "companies"}}``),
            for frames; a ResolvedRelations carries its own.
        keys: Unique field path per object to match Twenty's answers on (default: the
            object's unique field when the frame has it).
        sources: Original rows per object (with ``_row``) for the journal's fix-me file.
        upsert: Update existing records instead of failing on them.
        batch_size: Records per call.
        api: ``"graphql"`` or ``"rest"``.
        name: Label of the plan and name of the migration (default: the object names).
        source_keys: Per object, the column (of its frame or of its ``sources`` rows)
            holding the source system's record id, which keeps each row's Twenty id the
            same from run to run (:mod:`twenty_migrate.plan.record_ids`).
        migration: The migration the plan belongs to, when its name differs (a plan of
            corrected rows, ``name="fernhill-fixes"``, ``migration="fernhill"``): its rows
            then land on the records the main plan gives them.

    Raises:
        RelationCycleError: The objects point to each other (see the module doc).
        ValueError: A frame still has ``_ref.*`` columns, or there is nothing to import
            (every frame is empty, or no steps are given): a plan has at least one step.

    Example:
        plan = plan_migration(resolve_relations(frames, schema, client=client), schema)
        print(plan.describe())
    """
    if isinstance(source, ResolvedRelations):
        frames: Mapping[str, pd.DataFrame] | None = source.frames
        steps = _steps(
            source.frames,
            {**source.refs, **(refs or {})},
            schema,
            keys,
            sources,
            upsert,
            source_keys,
        )
    elif isinstance(source, Mapping):
        frames = source
        steps = _steps(source, refs or {}, schema, keys, sources, upsert, source_keys)
    else:
        frames, steps = None, list(source)
    if not steps:
        # An ImportPlan has at least one step: a plan that sends nothing is refused.
        if frames is None or not frames:
            what = "no steps given" if frames is None else "no frames given"
        else:
            what = f"every frame is empty ({', '.join(map(str, frames))})"
        raise ValueError(
            f"nothing to import: {what}. Every row was left out, or none was read: check "
            "the validation reports and fix the rows, and plan only when some frame has rows"
        )
    return ImportPlan(
        order_steps(steps), batch_size=batch_size, api=api, name=name, migration=migration
    )


def _steps(
    frames: Mapping[str, pd.DataFrame],
    refs: Mapping[str, Mapping[str, str]],
    schema: WorkspaceSchema | None,
    keys: Mapping[str, str | None] | None,
    sources: Mapping[str, pd.DataFrame] | None,
    upsert: bool,
    source_keys: Mapping[str, str] | None = None,
) -> list[ObjectStep]:
    if schema is None:
        raise ValueError("plan_migration needs the workspace schema to plan frames")
    steps = []
    for name, frame in frames.items():
        obj = schema.object(name)
        leftover = [c for c in frame.columns if str(c).startswith((REF_PREFIX, SOURCE_REF_PREFIX))]
        if leftover:
            raise ValueError(
                f"{obj.name_plural} still has natural-key columns {leftover}; resolve them "
                "first with resolve_relations(...) (or drop them)"
            )
        if not len(frame):
            continue
        if keys is not None and obj.name_plural in keys:
            key = keys[obj.name_plural]
        else:
            key = next(
                (
                    p[0]
                    for p in obj.unique_keys
                    if len(p) == 1 and p[0] in frame.columns and frame[p[0]].notna().any()
                ),
                None,
            )
        object_refs = dict(refs.get(obj.name_plural) or refs.get(name) or {})
        target_refs = {c: schema.object(t).name_plural for c, t in object_refs.items()}
        source = (sources or {}).get(obj.name_plural)
        source_key = (source_keys or {}).get(obj.name_plural) or (source_keys or {}).get(name)
        steps.append(
            ObjectStep(obj.name_plural, frame, key, upsert, source, target_refs, source_key)
        )
    return steps


def order_steps(steps: Sequence[ObjectStep]) -> list[ObjectStep]:
    """The steps in an order where each comes after the steps whose rows it points to.

    Among the steps ready at a time, Twenty's standard objects go in
    :data:`STANDARD_ORDER`, then the others in the order given.

    Raises:
        RelationCycleError: Some steps point to each other.
    """
    by_object: dict[str, list[ObjectStep]] = {}
    for step in steps:
        by_object.setdefault(step.object, []).append(step)
    names = list(by_object)
    needs = {
        n: {t: c for s in by_object[n] for c, t in s.row_refs.items() if t in by_object}
        for n in names
    }

    def rank(n: str) -> tuple[int, int]:
        standard = STANDARD_ORDER.index(n) if n in STANDARD_ORDER else len(STANDARD_ORDER)
        return standard, names.index(n)

    ordered: list[str] = []
    while len(ordered) < len(names):
        ready = [n for n in names if n not in ordered and set(needs[n]) <= set(ordered)]
        if not ready:
            raise _cycle_error([n for n in names if n not in ordered], needs)
        ordered.append(min(ready, key=rank))
    return [s for n in ordered for s in by_object[n]]


def _cycle_error(left: list[str], needs: Mapping[str, Mapping[str, str]]) -> RelationCycleError:
    """Walk the dependencies of the objects left until one repeats: that is a cycle."""
    path = [left[0]]
    while True:
        nxt = next(t for t in needs[path[-1]] if t in left)
        if nxt in path:
            cycle = [*path[path.index(nxt) :], nxt]
            break
        path.append(nxt)
    links = ", ".join(f"{a}.{needs[a][b]} -> {b}" for a, b in zip(cycle, cycle[1:], strict=False))
    return RelationCycleError(
        f"the relations {links} form a cycle ({' -> '.join(cycle)}): no order writes every "
        "record after the records it points to, and the importer sends each record once. "
        "Leave one of these columns out of the import and set it afterwards, or point it at "
        "records already in Twenty (existing_ref)",
        cycle,
    )
