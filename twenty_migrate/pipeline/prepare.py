"""The one way through the pipeline: :func:`prepare`.

Clean → map → relations → validate → keep valid → plan, for every object of a migration at
once. :meth:`MigrationSpec.prepare <twenty_migrate.MigrationSpec.prepare>`, the command
line, the demo and the notebooks all come here; the step-by-step notebooks call the same
stages one by one (:func:`~twenty_migrate.clean_frame`, :meth:`FieldMap.apply
<twenty_migrate.FieldMap.apply>`, :func:`~twenty_migrate.resolve_relations`,
:func:`~twenty_migrate.validate`, :func:`~twenty_migrate.keep_valid`,
:func:`~twenty_migrate.plan_migration`)::

    people = tm.load("contacts.csv")
    prepared = tm.prepare({"people": people}, schema, client=client, name="acme")
    prepared.failures      # every problem, row by row, before any call
    prepared.excluded      # the rows left out of the plan, and why
    tm.Importer(client).run(prepared.plan)
"""

from __future__ import annotations

import html
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from twenty_migrate.pipeline.exclusions import EXCLUDED_COLUMNS, keep_valid
from twenty_migrate.plan.plan import ImportPlan
from twenty_migrate.twenty.errors import ConfigError
from twenty_migrate.validation.cell_actions import (
    ACTION_CELL,
    ACTION_ROW,
    RELATION_RULES,
    cells_emptied_text,
)
from twenty_migrate.values.payloads import (
    CELLS_EMPTIED_COLUMN,
    ROW_COLUMN,
    SOURCE_ID_COLUMN,
    source_id_field,
)

if TYPE_CHECKING:
    from twenty_migrate.mapping.field_map import FieldMap
    from twenty_migrate.mapping.mapped import MappedFrame
    from twenty_migrate.pipeline.spec import MigrationSpec
    from twenty_migrate.relations.owners import UserMapSource
    from twenty_migrate.relations.resolve import ResolvedRelations
    from twenty_migrate.twenty.client import TwentyClient
    from twenty_migrate.twenty.schema import WorkspaceSchema
    from twenty_migrate.validation.validate import ValidationReport

__all__ = ["SOURCE_ID_COLUMN", "PreparedMigration", "prepare"]


FramesArg = Mapping[str, "pd.DataFrame | Sequence[pd.DataFrame]"]
FieldMapsArg = Mapping[str, "FieldMap | None | Sequence[FieldMap | None]"]


def prepare(
    frames: FramesArg,
    schema: WorkspaceSchema | None = None,
    *,
    field_maps: FieldMapsArg | None = None,
    client: TwentyClient | None = None,
    clean: bool = True,
    targets: Mapping[str, str] | None = None,
    source_ids: Mapping[str, str] | None = None,
    store_source_id: bool | str = False,
    runs_dir: str | os.PathLike[str] | None = None,
    keys: Mapping[str, str] | None = None,
    create_missing: bool = False,
    strict_relations: bool = False,
    strict: bool = False,
    user_map: UserMapSource | None = None,
    strict_owners: bool = False,
    check_existing: bool = True,
    name: str | None = None,
    spec: MigrationSpec | None = None,
) -> PreparedMigration:
    """Clean, map, link, validate and plan every object's rows; nothing is sent.

    Args:
        frames: Per Twenty object (plural name), its loaded rows (:func:`~twenty_migrate.load`:
            a ``_row`` column), or several frames whose ``_row`` ids differ.
        schema: The workspace schema (:func:`~twenty_migrate.fetch_schema`, e.g. a cached
            one); None reads it from ``client``.
        field_maps: Per object, its field map (one per frame when several); a missing one,
            or None, is the suggestion (:func:`~twenty_migrate.suggest_mapping`): review it.
        client: The workspace, for relations and unique keys found in Twenty; None works
            offline, with relations resolved within the frames only.
        clean: Run :func:`~twenty_migrate.clean_frame` on each frame first.
        targets: For tasks and notes, the column naming the records each row is about.
        source_ids: Per object, the column holding the source system's record id (default:
            the field map's ``source_id``): each row lands on the record derived from it,
            run after run, and rows of other objects name it by that id (``_sourceref.*``).
        store_source_id: Also write each row's source id to a unique TEXT field of its
            object (True: ``sourceId``, or the field's name), so later files and other
            migrations can link to the records by it; the field must exist (preflight).
        runs_dir: Where the journals of earlier runs are: a reference by source id not
            found in the frames is looked for among the rows earlier runs of this migration
            landed (default: the client's runs folder).
        keys: Unique field path per object that recognises a record (default: the object's
            unique field present in the data); rows repeating a key are left out.
        create_missing: Add stub companies for names found neither in the frames nor in
            Twenty (:func:`~twenty_migrate.resolve_relations`).
        strict_relations: Leave out rows with a missing or ambiguous relation.
        strict: Leave out every row Twenty would refuse. By default a bad value in an
            optional field costs the cell, not the row: the row is imported with that cell
            empty, reported (``action`` ``cell emptied``) and listed in the fix-me file.
        user_map: Source users -> workspace members' emails (a file, frame or dict:
            :func:`~twenty_migrate.load_user_map`), applied to owner columns first.
        strict_owners: Leave out rows whose owner matches no workspace member.
        check_existing: Look unique keys up in Twenty (one read per 60 rows) to report the
            rows that will update a record; False saves the rate budget.
        name: The migration's name: it labels runs and names the records' derived ids.
        spec: The :class:`~twenty_migrate.MigrationSpec` these frames came from, if any.

    Raises:
        ConfigError: A frame lacks ``_row`` or a column named here, or there is neither a
            schema nor a client to read it from.
    """
    from twenty_migrate.clean.frame import clean_frame
    from twenty_migrate.mapping.suggest import suggest_mapping
    from twenty_migrate.pipeline.migration import plan_migration
    from twenty_migrate.relations.resolve import resolve_relations
    from twenty_migrate.twenty.schema import fetch_schema

    calls_before = client.stats.calls if client is not None else 0
    if schema is None:
        if client is None:
            raise ConfigError("prepare() needs a client or a schema")
        schema = fetch_schema(client)
    cleaned: dict[str, list[pd.DataFrame]] = {}
    mapped: dict[str, list[MappedFrame]] = {}
    target_keys: dict[str, list[pd.Series[Any]]] = {}
    source_keys: dict[str, str] = {}
    for requested, given in frames.items():
        object_schema = schema.object(requested)
        plural = object_schema.name_plural
        parts = [given] if isinstance(given, pd.DataFrame) else list(given)
        maps = _field_maps_for(requested, len(parts), field_maps)
        target_column = (targets or {}).get(requested)
        given_ids = (source_ids or {}).get(requested)
        for frame, field_map in zip(parts, maps, strict=True):
            if ROW_COLUMN not in frame.columns:
                raise ConfigError(
                    f"the {requested} rows have no {ROW_COLUMN!r} column: load them with "
                    "tm.load (or add stable row ids with tm.clean_frame)"
                )
            frame = clean_frame(frame) if clean else frame
            own = frame.drop(columns=[SOURCE_ID_COLUMN], errors="ignore")
            if field_map is None:
                field_map = suggest_mapping(own, object_schema)
            if target_column is not None and target_column in field_map.sources:
                field_map = field_map.without(target_column)
            id_column = given_ids or field_map.source_id
            if id_column is not None:
                frame = with_source_ids(frame, id_column, requested)
                source_keys[plural] = SOURCE_ID_COLUMN
                if id_column != SOURCE_ID_COLUMN:
                    store = field_map.store_source_id or store_source_id
                    field_map = replace(field_map, source_id=id_column, store_source_id=store)
                    _check_store(field_map, schema)
            cleaned.setdefault(plural, []).append(frame)
            mapped.setdefault(plural, []).append(field_map.apply(own, object_schema))
            if target_column is not None and target_column in frame.columns:
                target_keys.setdefault(plural, []).append(
                    frame.set_index(ROW_COLUMN)[target_column]
                )
        if target_column is not None and plural not in target_keys:
            raise ConfigError(
                f"no column {target_column!r} for the targets of {requested} "
                f"(columns: {', '.join(map(str, parts[0].columns))})"
            )
    merged = {obj: _merge_mapped(parts) for obj, parts in mapped.items()}
    duplicates: list[dict[str, Any]] = []
    for obj, result in merged.items():
        key = _key(obj, result.data, schema, keys or {})
        if key is not None:
            kept = _drop_duplicates(result.data, key, obj, duplicates)
            merged[obj] = replace(result, data=kept)
    data = {obj: m.data.reset_index(drop=True) for obj, m in merged.items()}
    aligned = {
        obj: pd.concat(parts).reindex(data[obj][ROW_COLUMN].to_numpy()).set_axis(data[obj].index)
        for obj, parts in target_keys.items()
    }
    relations = resolve_relations(
        data,
        schema,
        client=client,
        targets=aligned,
        create_missing=create_missing,
        user_map=user_map,
        migration=name,
        runs_dir=runs_dir if runs_dir is not None else _default_runs_dir(client),
        source_id_field=source_id_field(store_source_id),
    )
    reports = _validate(
        merged,
        data,
        relations,
        schema,
        client if check_existing else None,
        strict=strict,
        strict_relations=strict_relations,
    )
    valid, excluded = keep_valid(
        relations,
        reports,
        strict=strict,
        strict_relations=strict_relations,
        strict_owners=strict_owners,
    )
    excluded = pd.concat(
        [pd.DataFrame(duplicates, columns=EXCLUDED_COLUMNS), excluded], ignore_index=True
    )
    sources = {obj: pd.concat(parts, ignore_index=True) for obj, parts in cleaned.items()}
    plan = None
    if any(len(frame) for frame in valid.values()):
        plan = plan_migration(
            replace(relations, frames=valid),
            schema,
            keys=dict(keys or {}) or None,
            sources=_with_cells_emptied(sources, reports),
            name=name,
            source_keys=source_keys,
        )
        if client is not None:  # the reads spent here count in the plan's estimate
            plan = replace(plan, validation_reads=client.stats.calls - calls_before)
    return PreparedMigration(
        name=name or (plan.label if plan is not None else "migration"),
        schema=schema,
        cleaned=sources,
        mapped=merged,
        relations=relations,
        reports=reports,
        plan=plan,
        excluded=excluded,
        spec=spec,
    )


def _check_store(field_map: FieldMap, schema: WorkspaceSchema) -> None:
    """Source ids are stored only in a field the workspace has: say how to make it."""
    stored = field_map.source_id_field
    if stored is None or stored in schema.object(field_map.object_name).fields:
        return
    raise ConfigError(
        f"{field_map.object_name} has no field {stored!r} to store the source ids in; "
        "create it (unique TEXT) first: `twenty-migrate import <spec> --create-missing`, "
        "or spec.preflight(schema).apply(client) in a notebook, then prepare again"
    )


def _default_runs_dir(client: TwentyClient | None) -> Path | None:
    """Where the client's runs go (the importer's default), or None offline."""
    if client is None:
        return None
    from twenty_migrate.run.importer import default_runs_dir

    return default_runs_dir(client)


def _field_maps_for(
    obj: str, n_frames: int, field_maps: FieldMapsArg | None
) -> list[FieldMap | None]:
    given = (field_maps or {}).get(obj)
    if given is None or not isinstance(given, Sequence):
        return [given] * n_frames
    if len(given) != n_frames:
        raise ConfigError(f"{obj}: {len(given)} field maps for {n_frames} frames; give one each")
    return list(given)


def with_source_ids(frame: pd.DataFrame, column: str, obj: str, *, where: str = "") -> pd.DataFrame:
    """``frame`` with :data:`SOURCE_ID_COLUMN`: the ids of ``column``, trimmed, blanks None
    (``where``, e.g. the file, starts the error message of a missing column)."""
    if column == SOURCE_ID_COLUMN:
        return frame
    if column not in frame.columns:
        raise ConfigError(
            f"{where}no column {column!r} for the source ids of {obj} "
            f"(columns: {', '.join(map(str, frame.columns))})"
        )
    ids = frame[column].map(lambda v: v.strip() if isinstance(v, str) else v)
    return frame.assign(**{SOURCE_ID_COLUMN: ids.where(ids.notna() & ids.ne(""), None)})


def _key(
    obj: str, data: pd.DataFrame, schema: WorkspaceSchema, keys: Mapping[str, str]
) -> str | None:
    """The field path that identifies a record of ``obj`` in these rows, if any."""
    if obj in keys:
        return keys[obj]
    for group in schema.object(obj).unique_keys:
        if len(group) == 1 and group[0] in data.columns and group[0] != "id":
            return group[0]
    return None


def _validate(
    merged: Mapping[str, MappedFrame],
    data: Mapping[str, pd.DataFrame],
    relations: ResolvedRelations,
    schema: WorkspaceSchema,
    client: TwentyClient | None,
    *,
    strict: bool,
    strict_relations: bool,
) -> dict[str, ValidationReport]:
    from twenty_migrate.validation.validate import validate

    problems = relations.problems
    reports: dict[str, ValidationReport] = {}
    for obj, result in merged.items():
        own = problems[problems["object"] == obj] if not problems.empty else problems
        report = validate(
            replace(result, data=data[obj]),
            schema.object(obj),
            existing=client,
            relations=own,
            strict=strict,
        )
        if strict_relations:  # an unmade link sets its row aside: say so
            failures = report.failures.copy()
            links = failures["rule"].isin(RELATION_RULES) & (failures["severity"] == "error")
            failures.loc[links, "action"] = ACTION_ROW
            report = replace(report, failures=failures)
        reports[obj] = report
    return reports


def _with_cells_emptied(
    sources: Mapping[str, pd.DataFrame], reports: Mapping[str, ValidationReport]
) -> dict[str, pd.DataFrame]:
    """The source rows kept in the run's journal, naming the cells emptied on import
    (``_cells_emptied``), so that the fix-me file lists those rows too."""
    out = dict(sources)
    for obj, report in reports.items():
        if obj not in out or "action" not in report.failures.columns:
            continue
        texts = cells_emptied_text(report.failures)
        if texts:
            frame = out[obj].copy()
            frame[CELLS_EMPTIED_COLUMN] = frame[ROW_COLUMN].map(texts)
            out[obj] = frame
    return out


def _drop_duplicates(
    data: pd.DataFrame, key: str, obj: str, excluded: list[dict[str, Any]]
) -> pd.DataFrame:
    """One row per key (the first); each dropped row is reported with the row it repeats."""
    from twenty_migrate.clean.frame import CleaningLog, drop_duplicate_rows

    log = CleaningLog()
    kept = drop_duplicate_rows(data, key, log=log)
    for change in log.to_frame().to_dict("records"):
        reason = f"{key}: same as another row ({change['note']}), which is imported instead"
        excluded.append({"object": obj, "_row": change["_row"], "reason": reason})
    return kept


def _merge_mapped(parts: Sequence[MappedFrame]) -> MappedFrame:
    if len(parts) == 1:
        return parts[0]
    data = pd.concat([p.data for p in parts], ignore_index=True)
    problems = pd.concat([p.problems for p in parts], ignore_index=True)
    notes = tuple(n for p in parts for n in p.notes)
    return replace(parts[0], data=data, problems=problems, notes=notes)


@dataclass(frozen=True, eq=False)
class PreparedMigration:
    """Everything :func:`prepare` found, and the plan of the valid rows.

    Attributes:
        name: The migration's name.
        schema: The workspace schema used.
        cleaned: Per object, the source rows after cleaning (``_row`` first).
        mapped: Per object, the mapped values and the values the mapping could not convert.
        relations: Relations by natural key, resolved or reported.
        reports: Per object, its validation report.
        plan: The import plan of every row that passed, in relation order (None when
            every row was left out: fix the rows in ``excluded`` first).
        excluded: ``object, _row, reason`` of every row left out of the plan.
        spec: The spec prepared, when it came from one.
    """

    name: str
    schema: WorkspaceSchema
    cleaned: dict[str, pd.DataFrame]
    mapped: dict[str, MappedFrame]
    relations: ResolvedRelations
    reports: dict[str, ValidationReport]
    plan: ImportPlan | None
    excluded: pd.DataFrame
    spec: MigrationSpec | None = None

    @property
    def ok(self) -> bool:
        """Whether every row read is in the plan (nothing invalid, nothing left out)."""
        return self.excluded.empty

    @property
    def cells_emptied(self) -> pd.DataFrame:
        """The bad optional cells emptied in rows that are imported: ``object, _row,
        column, value, message`` and the rest of :attr:`failures`."""
        from twenty_migrate.validation.validate import FAILURE_COLUMNS

        failures = self.failures
        if failures.empty or "action" not in failures.columns:
            return pd.DataFrame(columns=["object", *FAILURE_COLUMNS])
        cells = failures[failures["action"] == ACTION_CELL]
        aside = set(zip(self.excluded["object"], self.excluded["_row"], strict=True))
        kept = [(o, r) not in aside for o, r in zip(cells["object"], cells["_row"], strict=True)]
        return cells[pd.Series(kept, index=cells.index, dtype=bool)].reset_index(drop=True)

    @property
    def failures(self) -> pd.DataFrame:
        """Every problem of every object, row by row (``object`` first)."""
        frames = [r.failures.assign(object=obj) for obj, r in self.reports.items()]
        merged = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        if merged.empty:
            return merged
        return merged[["object", *[c for c in merged.columns if c != "object"]]]

    def counts(self) -> pd.DataFrame:
        """Per object: rows read (or made, for task and note targets), rows in the plan,
        rows left out (``rows = planned + left_out``), problems found."""
        steps = self.plan.steps if self.plan is not None else []
        planned = {step.object: len(step) for step in steps}
        left_out = self.excluded["object"].value_counts().to_dict()
        records = []
        for obj in dict.fromkeys([*self.reports, *self.relations.frames]):
            read = self.cleaned.get(obj)
            made = self.relations.frames.get(obj)  # task and note targets are made, not read
            report = self.reports.get(obj)
            records.append(
                {
                    "object": obj,
                    "rows": len(read)
                    if read is not None
                    else len(made if made is not None else []),
                    "planned": planned.get(obj, 0),
                    "left_out": int(left_out.get(obj, 0)),
                    "problems": len(report.failures) if report is not None else 0,
                }
            )
        return pd.DataFrame(records, columns=["object", "rows", "planned", "left_out", "problems"])

    def summary(self) -> str:
        """A few lines: counts per object, relations, and where to look next."""
        lines = [
            f"Migration {self.name!r}: "
            f"{self.plan.n_rows if self.plan is not None else 0} rows planned, "
            f"{len(self.excluded)} left out, {len(self.cells_emptied)} bad optional cells "
            "emptied"
        ]
        for c in self.counts().to_dict("records"):
            lines.append(
                f"  {c['object']}: {c['rows']} rows, {c['planned']} planned, "
                f"{c['left_out']} left out, {c['problems']} problems"
            )
        lines.append(self.relations.summary())
        return "\n".join(lines)

    __str__ = summary

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(self.summary())}</pre>" + self.counts().to_html(index=False)

    def write_reports(self, directory: str | os.PathLike[str]) -> Path:
        """Write ``failures.csv``, ``excluded.csv`` and one HTML report per object."""
        from twenty_migrate.verify.export import write_frame

        target = Path(directory)
        target.mkdir(parents=True, exist_ok=True)
        write_frame(self.failures, target / "failures.csv")
        write_frame(self.excluded, target / "excluded.csv")
        for obj, report in self.reports.items():
            report.to_html(target / f"validation_{obj}.html")
        return target
