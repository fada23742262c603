"""Move CRM exports and spreadsheets into Twenty CRM from a notebook.

import twenty_migrate as tm
client = tm.connect()                           # your workspace, or the local sandbox
prepared = tm.MigrationSpec.load("migration.json").prepare(client)  # validated, linked
plan = prepared.plan            # or tm.build_plan(people, "people", key="emails.primaryEmail")
result = tm.Importer(client).run(plan)          # resumable: tm.Importer(client).resume(run_id)
tm.write_log(result.run_id, "people_log.xlsx")  # every row: its Twenty id or Twenty's error
"""

from __future__ import annotations

import typing

from twenty_migrate.plan.plan import Batch, ImportPlan, build_plan
from twenty_migrate.plan.steps import ObjectStep, existing_ref
from twenty_migrate.run.history import list_runs
from twenty_migrate.run.importer import Importer
from twenty_migrate.run.journal import RunJournal
from twenty_migrate.run.outcomes import ImportResult
from twenty_migrate.run.progress import Progress, make_progress
from twenty_migrate.twenty.client import ClientStats, TwentyClient, connect
from twenty_migrate.twenty.config import Settings
from twenty_migrate.twenty.discovery import ServerTraits
from twenty_migrate.twenty.doctor import DoctorReport, doctor
from twenty_migrate.twenty.errors import (
    APIConnectionError,
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConfigError,
    ConflictError,
    ImportFailed,
    InsecureTransportWarning,
    JournalError,
    MappingError,
    NotFoundError,
    PermissionDeniedError,
    PlanMismatchError,
    QuotaExceededError,
    RateLimitError,
    SchemaError,
    ServerError,
    TwentyAPIError,
    TwentyMigrateError,
    ValidationFailed,
    WorkspaceUnavailableError,
    is_duplicate_error,
)
from twenty_migrate.twenty.ratelimit import RateLimit, RateLimiter, RetryPolicy
from twenty_migrate.twenty.schema import FieldSchema, ObjectSchema, WorkspaceSchema, fetch_schema
from twenty_migrate.verify.export import (
    RollbackResult,
    Verification,
    fixme_frame,
    reconcile,
    relation_coverage,
    rollback,
    run_summary,
    verify_run,
    write_fixme,
    write_frame,
    write_log,
    write_summary,
)
from twenty_migrate.verify.records import fetch_records

__version__ = "0.1.0"

if typing.TYPE_CHECKING:  # what the lazily served names are, for type checkers and editors
    from twenty_migrate.clean.activities import ActivitySplit, split_activities
    from twenty_migrate.clean.duplicates import find_duplicate_records
    from twenty_migrate.clean.frame import (
        CleaningLog,
        clean_frame,
        drop_duplicate_rows,
        normalize_countries,
    )
    from twenty_migrate.loading.load import list_sheets, load, load_many
    from twenty_migrate.mapping.field_map import FieldMap
    from twenty_migrate.mapping.mapped import MappedFrame
    from twenty_migrate.mapping.suggest import suggest_mapping
    from twenty_migrate.mapping.suggestion import Suggestion
    from twenty_migrate.pipeline.exclusions import keep_valid
    from twenty_migrate.pipeline.migration import (
        PreflightReport,
        RelationCycleError,
        plan_migration,
        preflight,
    )
    from twenty_migrate.pipeline.prepare import PreparedMigration, prepare
    from twenty_migrate.pipeline.spec import MigrationSpec, SourceSpec
    from twenty_migrate.relations.merging import MergedDuplicates, find_duplicates, merge_duplicates
    from twenty_migrate.relations.owners import fetch_members, load_user_map, suggest_user_map
    from twenty_migrate.relations.resolve import ResolvedRelations, resolve_relations
    from twenty_migrate.sandbox import Sandbox
    from twenty_migrate.ui.demo import sample_data_dir, sample_spec
    from twenty_migrate.ui.report import MigrationReport, migration_report
    from twenty_migrate.validation.suites import build_suite, load_suite
    from twenty_migrate.validation.validate import ValidationReport, validate
    from twenty_migrate.values.salesforce import salesforce_id18, salesforce_object_for_id

#: Names served on first use, so ``import twenty_migrate`` stays light (phone numbers,
#: great-expectations and the like load only when their part of the pipeline is used).
_LAZY = {
    "ActivitySplit": "twenty_migrate.clean.activities",
    "CleaningLog": "twenty_migrate.clean.frame",
    "FieldMap": "twenty_migrate.mapping.field_map",
    "MappedFrame": "twenty_migrate.mapping.mapped",
    "MergedDuplicates": "twenty_migrate.relations.merging",
    "MigrationReport": "twenty_migrate.ui.report",
    "MigrationSpec": "twenty_migrate.pipeline.spec",
    "PreflightReport": "twenty_migrate.pipeline.migration",
    "PreparedMigration": "twenty_migrate.pipeline.prepare",
    "RelationCycleError": "twenty_migrate.pipeline.migration",
    "ResolvedRelations": "twenty_migrate.relations.resolve",
    "Sandbox": "twenty_migrate.sandbox",
    "SourceSpec": "twenty_migrate.pipeline.spec",
    "Suggestion": "twenty_migrate.mapping.suggestion",
    "ValidationReport": "twenty_migrate.validation.validate",
    "build_suite": "twenty_migrate.validation.suites",
    "clean_frame": "twenty_migrate.clean.frame",
    "drop_duplicate_rows": "twenty_migrate.clean.frame",
    "fetch_members": "twenty_migrate.relations.owners",
    "find_duplicate_records": "twenty_migrate.clean.duplicates",
    "find_duplicates": "twenty_migrate.relations.merging",
    "keep_valid": "twenty_migrate.pipeline.exclusions",
    "list_sheets": "twenty_migrate.loading.load",
    "load": "twenty_migrate.loading.load",
    "load_many": "twenty_migrate.loading.load",
    "load_suite": "twenty_migrate.validation.suites",
    "load_user_map": "twenty_migrate.relations.owners",
    "merge_duplicates": "twenty_migrate.relations.merging",
    "migration_report": "twenty_migrate.ui.report",
    "normalize_countries": "twenty_migrate.clean.frame",
    "plan_migration": "twenty_migrate.pipeline.migration",
    "preflight": "twenty_migrate.pipeline.migration",
    "prepare": "twenty_migrate.pipeline.prepare",
    "resolve_relations": "twenty_migrate.relations.resolve",
    "salesforce_id18": "twenty_migrate.values.salesforce",
    "salesforce_object_for_id": "twenty_migrate.values.salesforce",
    "sample_data_dir": "twenty_migrate.ui.demo",
    "sample_spec": "twenty_migrate.ui.demo",
    "split_activities": "twenty_migrate.clean.activities",
    "suggest_mapping": "twenty_migrate.mapping.suggest",
    "suggest_user_map": "twenty_migrate.relations.owners",
    "validate": "twenty_migrate.validation.validate",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'twenty_migrate' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "ActivitySplit",
    "AuthenticationError",
    "BadRequestError",
    "Batch",
    "CleaningLog",
    "ClientStats",
    "ConfigError",
    "ConflictError",
    "DoctorReport",
    "FieldMap",
    "FieldSchema",
    "ImportFailed",
    "ImportPlan",
    "ImportResult",
    "Importer",
    "InsecureTransportWarning",
    "JournalError",
    "MappedFrame",
    "MappingError",
    "MergedDuplicates",
    "MigrationReport",
    "MigrationSpec",
    "NotFoundError",
    "ObjectSchema",
    "ObjectStep",
    "PermissionDeniedError",
    "PlanMismatchError",
    "PreflightReport",
    "PreparedMigration",
    "Progress",
    "QuotaExceededError",
    "RateLimit",
    "RateLimitError",
    "RateLimiter",
    "RelationCycleError",
    "ResolvedRelations",
    "RetryPolicy",
    "RollbackResult",
    "RunJournal",
    "Sandbox",
    "SchemaError",
    "ServerError",
    "ServerTraits",
    "Settings",
    "SourceSpec",
    "Suggestion",
    "TwentyAPIError",
    "TwentyClient",
    "TwentyMigrateError",
    "ValidationFailed",
    "ValidationReport",
    "Verification",
    "WorkspaceSchema",
    "WorkspaceUnavailableError",
    "build_plan",
    "build_suite",
    "clean_frame",
    "connect",
    "doctor",
    "drop_duplicate_rows",
    "existing_ref",
    "fetch_members",
    "fetch_records",
    "fetch_schema",
    "find_duplicate_records",
    "find_duplicates",
    "fixme_frame",
    "is_duplicate_error",
    "keep_valid",
    "list_runs",
    "list_sheets",
    "load",
    "load_many",
    "load_suite",
    "load_user_map",
    "make_progress",
    "merge_duplicates",
    "migration_report",
    "normalize_countries",
    "plan_migration",
    "preflight",
    "prepare",
    "reconcile",
    "relation_coverage",
    "resolve_relations",
    "rollback",
    "run_summary",
    "salesforce_id18",
    "salesforce_object_for_id",
    "sample_data_dir",
    "sample_spec",
    "split_activities",
    "suggest_mapping",
    "suggest_user_map",
    "validate",
    "verify_run",
    "write_fixme",
    "write_frame",
    "write_log",
    "write_summary",
]
