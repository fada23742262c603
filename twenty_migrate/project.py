"""A migration as a file: which exports feed which objects, through which mappings.

A :class:`MigrationSpec` is what a consultant builds in the notebooks and saves next to the
client's files, so the same migration can be validated, rehearsed and re-run headless or
on a schedule (``twenty-migrate validate migration.json``, ``twenty-migrate import
migration.json --only-changed``)::

    spec = tm.MigrationSpec.load("client/migration.json")
    prepared = spec.prepare(client)        # load, clean, map, relations, validation
    prepared.failures                      # every problem, row by row, before any call
    tm.Importer(client).run(prepared.plan) # the valid rows, in relation order

The spec file (JSON, paths relative to it)::

    {"format": "twenty_migrate.migration", "version": 1, "name": "fernhill",
     "sources": [
        {"object": "companies", "file": "companies.csv", "mapping": "companies.mapping.json",
         "source_id": "Account ID"},
        {"object": "people", "file": "people.xlsx", "sheet": "Leads", "mapping": "..."},
        {"object": "tasks", "file": "tasks.csv", "mapping": "...", "targets": "Related To"}],
     "keys": {"people": "emails.primaryEmail"}, "create_missing": false}

A source's ``source_id`` names the column holding the source system's record id: each row
lands on the record derived from it (:mod:`~twenty_migrate.record_ids`), run after run,
whatever else of the row is edited. Without one, a row is known by its unique key value,
else by its identifying values (name, email, domain, phone, city).

A bad value in an optional field costs the cell, not the row: the row is imported with
that cell empty, and the problem is in :attr:`PreparedMigration.failures` (``action``
``cell emptied``) and in the run's fix-me file. Rows with an error in a required or unique
field or about the whole record, and rows pointing at them, stay out of the plan and are
listed in :attr:`PreparedMigration.excluded` (the rule is :func:`keep_valid`'s); fix them
in the source and run again. ``"strict": true`` sets aside every row Twenty would refuse.
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from twenty_migrate.cell_actions import (
    ACTION_CELL,
    ACTION_ROW,
    CELLS_EMPTIED_COLUMN,
    cells_emptied_text,
)
from twenty_migrate.errors import ConfigError
from twenty_migrate.exclusions import (
    EXCLUDED_COLUMNS,
    RELATION_RULES,
    blocking_failures,
    keep_valid,
)
from twenty_migrate.payloads import ROW_COLUMN
from twenty_migrate.plan import ImportPlan

if TYPE_CHECKING:
    from twenty_migrate.client import TwentyClient
    from twenty_migrate.mapping import MappedFrame
    from twenty_migrate.relations import ResolvedRelations
    from twenty_migrate.schema import WorkspaceSchema
    from twenty_migrate.validation import ValidationReport

__all__ = [
    "RELATION_RULES",
    "SPEC_FORMAT",
    "MigrationSpec",
    "PreparedMigration",
    "SourceSpec",
    "blocking_failures",
    "keep_valid",
]

SPEC_FORMAT = "twenty_migrate.migration"
SPEC_VERSION = 1
#: Column of the cleaned rows holding each row's ``source_id`` value (prefixed by its file
#: name when several files feed one object, as ``_row`` is).
SOURCE_ID_COLUMN = "_source_id"


@dataclass(frozen=True)
class SourceSpec:
    """One export file feeding one Twenty object.

    Args:
        object: Twenty object (plural name, e.g. ``"people"``).
        file: The export, relative to the spec file (CSV, XLSX, XLS or JSON).
        mapping: Its field map file (:meth:`~twenty_migrate.mapping.FieldMap.save`); without
            one, the suggested mapping is used (review it before a real run).
        sheet: Sheet of a workbook (default: the first).
        targets: For tasks and notes, the column naming the records each row is about.
        clean: Run :func:`~twenty_migrate.clean.clean_frame` first.
        source_id: The column holding the source system's record id (``"Account ID"``):
            it keeps each row's Twenty record the same from run to run.
    """

    object: str
    file: str
    mapping: str | None = None
    sheet: str | None = None
    targets: str | None = None
    clean: bool = True
    source_id: str | None = None


@dataclass(frozen=True)
class MigrationSpec:
    """The sources of a migration and how they are prepared (see the module doc).

    Args:
        name: The migration's name; runs are labelled with it, it names the records'
            derived ids, and re-runs compare rows with earlier runs of the same name:
            keep it when the files are updated, change it only for another migration.
        sources: The export files.
        keys: Unique field path per object to match Twenty's answers and recognise rows
            across runs (default: the object's unique field present in the data).
        create_missing: Add stub companies for names found neither in the files nor in
            Twenty (see :func:`~twenty_migrate.relations.resolve_relations`).
        strict_relations: Leave out rows with a missing or ambiguous relation, instead of
            importing them with that link empty (the problem is reported either way).
        strict: Leave out every row Twenty would refuse (a relation that cannot be made
            still only empties the link: see ``strict_relations``). By default a
            bad value in an optional field costs the cell, not the row: the row is imported
            with that cell empty (reported, and listed in the fix-me file).
        base_dir: Folder the paths are relative to (the spec file's folder when loaded).
    """

    name: str
    sources: tuple[SourceSpec, ...]
    keys: Mapping[str, str] = field(default_factory=dict)
    create_missing: bool = False
    strict_relations: bool = False
    strict: bool = False
    base_dir: Path = field(default=Path("."), compare=False)

    def __post_init__(self) -> None:
        if not self.name:
            raise ConfigError("a migration needs a name (runs are labelled with it)")
        if not self.sources:
            raise ConfigError("a migration needs at least one source file")

    # ------------------------------------------------------------------ the file

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (paths as given, relative to the spec file)."""
        sources = []
        for source in self.sources:
            item = {k: v for k, v in vars(source).items() if v is not None}
            if item.get("clean") is True:
                del item["clean"]
            sources.append(item)
        data: dict[str, Any] = {"format": SPEC_FORMAT, "version": SPEC_VERSION}
        data.update(name=self.name, sources=sources, keys=dict(self.keys))
        data["create_missing"] = self.create_missing
        data["strict_relations"] = self.strict_relations
        data["strict"] = self.strict
        return data

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], base_dir: str | os.PathLike[str] = "."
    ) -> MigrationSpec:
        """Read the JSON form; paths are taken relative to ``base_dir``."""
        if data.get("format") != SPEC_FORMAT:
            raise ConfigError(
                f"not a migration spec (format {data.get('format')!r}, expected {SPEC_FORMAT!r})"
            )
        if int(data.get("version", 0)) > SPEC_VERSION:
            raise ConfigError(
                f"migration spec version {data.get('version')} is newer than this "
                "twenty-migrate understands; upgrade twenty-migrate"
            )
        known = set(SourceSpec.__dataclass_fields__)
        sources = []
        for number, item in enumerate(data.get("sources") or [], start=1):
            unknown = set(item) - known
            if unknown or "object" not in item or "file" not in item:
                raise ConfigError(
                    f"source {number} of the migration spec needs 'object' and 'file'"
                    + (f" and has unknown keys {sorted(unknown)}" if unknown else "")
                    + f"; allowed keys: {sorted(known)}"
                )
            sources.append(SourceSpec(**item))
        return cls(
            name=str(data.get("name") or ""),
            sources=tuple(sources),
            keys=dict(data.get("keys") or {}),
            create_missing=bool(data.get("create_missing", False)),
            strict_relations=bool(data.get("strict_relations", False)),
            strict=_flag(data, "strict"),
            base_dir=Path(base_dir),
        )

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the spec as JSON (paths stay relative to its folder)."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"
        target.write_text(text, encoding="utf-8")
        return target

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> MigrationSpec:
        """Read a spec file written by :meth:`save` (or by hand)."""
        source = Path(path)
        try:
            data = json.loads(source.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"no migration spec at {source}") from None
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{source} is not valid JSON: {exc}") from None
        return cls.from_dict(data, source.parent)

    @staticmethod
    def is_spec_file(path: str | os.PathLike[str]) -> bool:
        """Whether ``path`` holds a migration spec (rather than a saved plan)."""
        try:
            with open(path, encoding="utf-8") as handle:
                head = handle.read(4096)
        except OSError:
            return False
        return f'"{SPEC_FORMAT}"' in head

    def path(self, relative: str) -> Path:
        """A spec path resolved against :attr:`base_dir`."""
        candidate = Path(relative)
        return candidate if candidate.is_absolute() else self.base_dir / candidate

    # ------------------------------------------------------------------ preparing

    def prepare(
        self,
        client: TwentyClient | None = None,
        *,
        schema: WorkspaceSchema | None = None,
        check_existing: bool = True,
    ) -> PreparedMigration:
        """Load, clean and map every source, resolve relations, validate, and plan.

        Args:
            client: The workspace: its schema (unless given), and the records that
                relations and unique keys are checked against. None works offline
                against ``schema``, with relations resolved within the files only.
            schema: The workspace schema (e.g. a cached one); fetched when None.
            check_existing: Look every unique key up in Twenty to report the rows that
                will update an existing record (one read per 60 rows). A recurring run
                that sends only changed rows can skip it to save the rate budget.

        Raises:
            ConfigError: A source file or mapping is missing, or no schema can be had.
        """
        from twenty_migrate.migration import plan_migration
        from twenty_migrate.relations import resolve_relations
        from twenty_migrate.schema import fetch_schema

        calls_before = client.stats.calls if client is not None else 0
        if schema is None:
            if client is None:
                raise ConfigError("prepare() needs a client or a schema")
            schema = fetch_schema(client)
        cleaned: dict[str, list[pd.DataFrame]] = {}
        mapped: dict[str, list[MappedFrame]] = {}
        targets: dict[str, list[pd.Series[Any]]] = {}
        multiple = {
            s.object for s in self.sources if sum(o.object == s.object for o in self.sources) > 1
        }
        source_keys: dict[str, str] = {}
        for source in self.sources:
            plural = schema.object(source.object).name_plural
            frame = self._read(source, prefix=source.object in multiple)
            cleaned.setdefault(plural, []).append(frame)
            if source.source_id:
                source_keys[plural] = SOURCE_ID_COLUMN
            result = self._map(
                source, frame.drop(columns=[SOURCE_ID_COLUMN], errors="ignore"), schema
            )
            mapped.setdefault(plural, []).append(result)
            if source.targets:
                if source.targets not in frame.columns:
                    raise ConfigError(
                        f"{source.file}: no column {source.targets!r} for the targets of "
                        f"{source.object} (columns: {', '.join(map(str, frame.columns))})"
                    )
                keys = frame.set_index(ROW_COLUMN)[source.targets]
                targets.setdefault(plural, []).append(keys)
        merged = {obj: _merge_mapped(parts) for obj, parts in mapped.items()}
        duplicates: list[dict[str, Any]] = []
        for obj, result in merged.items():
            key = self._key(obj, result.data, schema)
            if key is not None:
                kept = _drop_duplicates(result.data, key, obj, duplicates)
                merged[obj] = replace(result, data=kept)
        data = {obj: m.data.reset_index(drop=True) for obj, m in merged.items()}
        aligned = {
            obj: pd.concat(parts)
            .reindex(data[obj][ROW_COLUMN].to_numpy())
            .set_axis(data[obj].index)
            for obj, parts in targets.items()
        }
        relations = resolve_relations(
            data,
            schema,
            client=client,
            targets=aligned,
            create_missing=self.create_missing,
        )
        reports = self._validate(
            merged, data, relations, schema, client if check_existing else None
        )
        frames, excluded = keep_valid(
            relations, reports, strict=self.strict, strict_relations=self.strict_relations
        )
        excluded = pd.concat(
            [pd.DataFrame(duplicates, columns=EXCLUDED_COLUMNS), excluded], ignore_index=True
        )
        sources = {obj: pd.concat(parts, ignore_index=True) for obj, parts in cleaned.items()}
        plan = None
        if any(len(frame) for frame in frames.values()):
            plan = plan_migration(
                replace(relations, frames=frames),
                schema,
                keys=dict(self.keys) or None,
                sources=_with_cells_emptied(sources, reports),
                name=self.name,
                source_keys=source_keys,
            )
            if client is not None:  # the reads spent here count in the plan's estimate
                plan = replace(plan, validation_reads=client.stats.calls - calls_before)
        return PreparedMigration(
            spec=self,
            schema=schema,
            cleaned=sources,
            mapped=merged,
            relations=relations,
            reports=reports,
            plan=plan,
            excluded=excluded,
        )

    def _key(self, obj: str, data: pd.DataFrame, schema: WorkspaceSchema) -> str | None:
        """The field path that identifies a record of ``obj`` in these rows, if any."""
        if obj in self.keys:
            return self.keys[obj]
        for group in schema.object(obj).unique_keys:
            if len(group) == 1 and group[0] in data.columns and group[0] != "id":
                return group[0]
        return None

    def _read(self, source: SourceSpec, *, prefix: bool) -> pd.DataFrame:
        from twenty_migrate.clean import clean_frame
        from twenty_migrate.loading import load

        file = self.path(source.file)
        frame = load(file, sheet=source.sheet)
        if source.clean:
            frame = clean_frame(frame)
        if prefix:  # several files feed one object: row ids name their file
            frame[ROW_COLUMN] = [f"{file.name}:{row}" for row in frame[ROW_COLUMN]]
        if source.source_id:
            if source.source_id not in frame.columns:
                raise ConfigError(
                    f"{source.file}: no column {source.source_id!r} for the source ids of "
                    f"{source.object} (columns: {', '.join(map(str, frame.columns))})"
                )
            ids = frame[source.source_id].map(lambda v: v.strip() if isinstance(v, str) else v)
            ids = ids.where(ids.notna() & ids.ne(""), None)
            if prefix:
                ids = ids.map(lambda v: None if v is None else f"{file.name}:{v}")
            frame[SOURCE_ID_COLUMN] = ids
        return frame

    def _map(self, source: SourceSpec, frame: pd.DataFrame, schema: WorkspaceSchema) -> MappedFrame:
        from twenty_migrate.mapping import FieldMap, suggest_mapping

        obj = schema.object(source.object)
        if source.mapping:
            mapping_file = self.path(source.mapping)
            if not mapping_file.is_file():
                raise ConfigError(
                    f"no mapping file {mapping_file} for {source.file}; save one from the "
                    "notebook (FieldMap.save) or remove 'mapping' to use the suggestion"
                )
            field_map = FieldMap.load(mapping_file)
        else:
            field_map = suggest_mapping(frame, obj)
        if source.targets in field_map.sources:
            field_map = field_map.without(source.targets)
        return field_map.apply(frame, obj)

    def _validate(
        self,
        merged: Mapping[str, MappedFrame],
        data: Mapping[str, pd.DataFrame],
        relations: ResolvedRelations,
        schema: WorkspaceSchema,
        client: TwentyClient | None,
    ) -> dict[str, ValidationReport]:
        from twenty_migrate.validation import validate

        problems = relations.problems
        reports: dict[str, ValidationReport] = {}
        for obj, mapped in merged.items():
            own = problems[problems["object"] == obj] if not problems.empty else problems
            report = validate(
                replace(mapped, data=data[obj]),
                schema.object(obj),
                existing=client,
                relations=own,
                strict=self.strict,
            )
            if self.strict_relations:  # an unmade link sets its row aside: say so
                failures = report.failures.copy()
                links = failures["rule"].isin(RELATION_RULES) & (failures["severity"] == "error")
                failures.loc[links, "action"] = ACTION_ROW
                report = replace(report, failures=failures)
            reports[obj] = report
        return reports


def _flag(data: Mapping[str, Any], key: str) -> bool:
    value = data.get(key, False)
    if not isinstance(value, bool):
        raise ConfigError(f"{key!r} in the migration spec must be true or false, not {value!r}")
    return value


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
    from twenty_migrate.clean import CleaningLog, drop_duplicate_rows

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
    """Everything :meth:`MigrationSpec.prepare` found, and the plan of the valid rows.

    Attributes:
        spec: The spec prepared.
        schema: The workspace schema used.
        cleaned: Per object, the source rows after cleaning (``_row`` first).
        mapped: Per object, the mapped values and the values the mapping could not convert.
        relations: Relations by natural key, resolved or reported.
        reports: Per object, its validation report.
        plan: The import plan of every row that passed, in relation order (None when
            every row was left out: fix the rows in ``excluded`` first).
        excluded: ``object, _row, reason`` of every row left out of the plan.
    """

    spec: MigrationSpec
    schema: WorkspaceSchema
    cleaned: dict[str, pd.DataFrame]
    mapped: dict[str, MappedFrame]
    relations: ResolvedRelations
    reports: dict[str, ValidationReport]
    plan: ImportPlan | None
    excluded: pd.DataFrame

    @property
    def ok(self) -> bool:
        """Whether every row read is in the plan (nothing invalid, nothing left out)."""
        return self.excluded.empty

    @property
    def cells_emptied(self) -> pd.DataFrame:
        """The bad optional cells emptied in rows that are imported: ``object, _row,
        column, value, message`` and the rest of :attr:`failures`."""
        from twenty_migrate.validation import FAILURE_COLUMNS

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
            f"Migration {self.spec.name!r}: "
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
        from twenty_migrate.export import write_frame

        target = Path(directory)
        target.mkdir(parents=True, exist_ok=True)
        write_frame(self.failures, target / "failures.csv")
        write_frame(self.excluded, target / "excluded.csv")
        for obj, report in self.reports.items():
            report.to_html(target / f"validation_{obj}.html")
        return target
