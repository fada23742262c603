"""A migration as a file: which exports feed which objects, through which mappings.

A :class:`MigrationSpec` is what a consultant builds in the notebooks and saves next to the
client's files, so the same migration can be validated, rehearsed and re-run headless or
on a schedule (``twenty-migrate validate migration.json``, ``twenty-migrate import
migration.json --only-changed``)::

    spec = tm.MigrationSpec.load("client/migration.json")
    prepared = spec.prepare(client)        # load and clean the files, then tm.prepare them
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
lands on the record derived from it (:mod:`~twenty_migrate.plan.record_ids`), run after run,
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

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from twenty_migrate.pipeline.prepare import PreparedMigration, with_source_ids
from twenty_migrate.twenty.errors import ConfigError
from twenty_migrate.values.payloads import ROW_COLUMN, SOURCE_ID_COLUMN, source_id_field

if TYPE_CHECKING:
    from twenty_migrate.mapping.field_map import FieldMap
    from twenty_migrate.pipeline.preflight import PreflightReport
    from twenty_migrate.twenty.client import TwentyClient
    from twenty_migrate.twenty.schema import WorkspaceSchema

__all__ = ["SPEC_FORMAT", "MigrationSpec", "SourceSpec"]

SPEC_FORMAT = "twenty_migrate.migration"
SPEC_VERSION = 1


@dataclass(frozen=True)
class SourceSpec:
    """One export file feeding one Twenty object.

    Args:
        object: Twenty object (plural name, e.g. ``"people"``).
        file: The export, relative to the spec file (CSV, XLSX, XLS or JSON).
        mapping: Its field map file (:meth:`~twenty_migrate.FieldMap.save`); without
            one, the suggested mapping is used (review it before a real run).
        sheet: Sheet of a workbook (default: the first).
        targets: For tasks and notes, the column naming the records each row is about.
        clean: Run :func:`~twenty_migrate.clean_frame` first.
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
            Twenty (see :func:`~twenty_migrate.resolve_relations`).
        strict_relations: Leave out rows with a missing or ambiguous relation, instead of
            importing them with that link empty (the problem is reported either way).
        strict: Leave out every row Twenty would refuse (a relation that cannot be made
            still only empties the link: see ``strict_relations``). By default a
            bad value in an optional field costs the cell, not the row: the row is imported
            with that cell empty (reported, and listed in the fix-me file).
        user_map: A CSV or Excel file, relative to the spec file, of source users -> the
            workspace members' emails, applied to owner columns before email and name
            matching (see :func:`~twenty_migrate.load_user_map`).
        strict_owners: Leave out rows whose owner matches no workspace member, instead of
            importing them with the owner empty (reported either way, as a warning).
        store_source_id: Also write each row's source id to a unique TEXT field of its
            object (True: ``sourceId``, or the field's name), so later files and other
            migrations can link to the records by it; :meth:`preflight` lists the fields
            to create.
        base_dir: Folder the paths are relative to (the spec file's folder when loaded).
    """

    name: str
    sources: tuple[SourceSpec, ...]
    keys: Mapping[str, str] = field(default_factory=dict)
    create_missing: bool = False
    strict_relations: bool = False
    strict: bool = False
    user_map: str | None = None
    strict_owners: bool = False
    store_source_id: bool | str = False
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
        if self.user_map is not None:
            data["user_map"] = self.user_map
        if self.strict_owners:
            data["strict_owners"] = True
        if self.store_source_id:
            data["store_source_id"] = self.store_source_id
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
            user_map=str(data["user_map"]) if data.get("user_map") else None,
            strict_owners=bool(data.get("strict_owners", False)),
            store_source_id=data.get("store_source_id") or False,
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
        runs_dir: str | os.PathLike[str] | None = None,
    ) -> PreparedMigration:
        """Load and clean every source, then :func:`~twenty_migrate.prepare` them together.

        Args:
            client: The workspace: its schema (unless given), and the records that
                relations and unique keys are checked against. None works offline
                against ``schema``, with relations resolved within the files only.
            schema: The workspace schema (e.g. a cached one); fetched when None.
            check_existing: Look every unique key up in Twenty to report the rows that
                will update an existing record (one read per 60 rows). A recurring run
                that sends only changed rows can skip it to save the rate budget.
            runs_dir: Where the journals of earlier runs are, for references by source id
                not found in the files (default: the client's runs folder).

        Raises:
            ConfigError: A source file or mapping is missing, or no schema can be had.
        """
        from twenty_migrate.pipeline.prepare import prepare

        frames: dict[str, list[pd.DataFrame]] = {}
        field_maps: dict[str, list[FieldMap | None]] = {}
        targets: dict[str, str] = {}
        multiple = {
            s.object for s in self.sources if sum(o.object == s.object for o in self.sources) > 1
        }
        source_ids: dict[str, str] = {}
        for source in self.sources:
            plural = source.object  # as the spec names it: prepare() resolves the name
            frame = self._read(source, prefix=source.object in multiple)
            if source.source_id:
                source_ids[plural] = SOURCE_ID_COLUMN
            if source.targets:
                if source.targets not in frame.columns:
                    raise ConfigError(
                        f"{source.file}: no column {source.targets!r} for the targets of "
                        f"{source.object} (columns: {', '.join(map(str, frame.columns))})"
                    )
                targets[plural] = source.targets
            frames.setdefault(plural, []).append(frame)
            field_maps.setdefault(plural, []).append(self._field_map(source))
        return prepare(
            frames,
            schema,
            field_maps=field_maps,
            client=client,
            clean=False,  # each source was cleaned as its ``clean`` says
            targets=targets,
            source_ids=source_ids,
            keys=self.keys,
            create_missing=self.create_missing,
            strict_relations=self.strict_relations,
            strict=self.strict,
            user_map=self.path(self.user_map) if self.user_map else None,
            strict_owners=self.strict_owners,
            store_source_id=self.store_source_id,
            runs_dir=runs_dir,
            check_existing=check_existing,
            name=self.name,
            spec=self,
        )

    def _read(self, source: SourceSpec, *, prefix: bool) -> pd.DataFrame:
        from twenty_migrate.clean.frame import clean_frame
        from twenty_migrate.loading.load import load

        file = self.path(source.file)
        frame = load(file, sheet=source.sheet)
        if source.clean:
            frame = clean_frame(frame)
        if prefix:  # several files feed one object: row ids name their file
            frame[ROW_COLUMN] = [f"{file.name}:{row}" for row in frame[ROW_COLUMN]]
        if source.source_id:
            where = f"{source.file}: "
            frame = with_source_ids(frame, source.source_id, source.object, where=where)
            if prefix:  # named by their file too, as the rows are
                ids = frame[SOURCE_ID_COLUMN]
                frame[SOURCE_ID_COLUMN] = ids.map(
                    lambda v: None if v is None else f"{file.name}:{v}"
                )
        return frame

    def preflight(self, schema: WorkspaceSchema) -> PreflightReport:
        """What the workspace lacks for this spec's stored source ids: a unique TEXT field
        per object with a source id (see ``store_source_id``); ``.apply(client)`` creates
        them."""
        from twenty_migrate.pipeline.preflight import FieldSpec, preflight

        fields: dict[str, dict[str, FieldSpec | str]] = {}
        if self.store_source_id:
            spec = FieldSpec("TEXT", label="Source ID", unique=True)
            name = source_id_field(self.store_source_id)
            for source in self.sources:
                field_map = self._field_map(source) if source.mapping else None
                if source.source_id or (field_map is not None and field_map.source_id):
                    plural = schema.object(source.object).name_plural
                    fields.setdefault(plural, {})[name] = spec
        return preflight(schema, fields=fields)

    def _field_map(self, source: SourceSpec) -> FieldMap | None:
        """The source's field map file, or None: the suggestion is used."""
        from twenty_migrate.mapping.field_map import FieldMap

        if not source.mapping:
            return None
        mapping_file = self.path(source.mapping)
        if not mapping_file.is_file():
            raise ConfigError(
                f"no mapping file {mapping_file} for {source.file}; save one from the "
                "notebook (FieldMap.save) or remove 'mapping' to use the suggestion"
            )
        return FieldMap.load(mapping_file)


def _flag(data: Mapping[str, Any], key: str) -> bool:
    value = data.get(key, False)
    if not isinstance(value, bool):
        raise ConfigError(f"{key!r} in the migration spec must be true or false, not {value!r}")
    return value
