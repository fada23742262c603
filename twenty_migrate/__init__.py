"""Move CRM exports and spreadsheets into Twenty CRM from a notebook.

import twenty_migrate as tm
client = tm.connect()                           # your workspace, or the local sandbox
prepared = tm.MigrationSpec.load("migration.json").prepare(client)  # validated, linked
plan = prepared.plan            # or tm.build_plan(people, "people", key="emails.primaryEmail")
result = tm.Importer(client).run(plan)          # resumable: tm.Importer(client).resume(run_id)
tm.write_log(result.run_id, "people_log.xlsx")  # every row: its Twenty id or Twenty's error
"""

from __future__ import annotations

from twenty_migrate.client import ClientStats, TwentyClient, connect
from twenty_migrate.config import Settings
from twenty_migrate.discovery import ServerTraits
from twenty_migrate.doctor import DoctorReport, doctor
from twenty_migrate.errors import (
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
from twenty_migrate.export import (
    RollbackResult,
    Verification,
    fetch_records,
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
from twenty_migrate.importer import Importer
from twenty_migrate.journal import RunJournal, list_runs
from twenty_migrate.outcomes import ImportResult
from twenty_migrate.plan import Batch, ImportPlan, ObjectStep, build_plan, existing_ref
from twenty_migrate.progress import Progress, make_progress
from twenty_migrate.ratelimit import RateLimit, RateLimiter, RetryPolicy
from twenty_migrate.schema import FieldSchema, ObjectSchema, WorkspaceSchema, fetch_schema

__version__ = "0.1.0"

#: Names served on first use, so ``import twenty_migrate`` stays light (phone numbers,
#: great-expectations and the like load only when their part of the pipeline is used).
_LAZY = {
    "CleaningLog": "twenty_migrate.clean",
    "FieldMap": "twenty_migrate.mapping",
    "MappedFrame": "twenty_migrate.mapping",
    "MigrationReport": "twenty_migrate.report",
    "MigrationSpec": "twenty_migrate.project",
    "PreflightReport": "twenty_migrate.migration",
    "PreparedMigration": "twenty_migrate.project",
    "RelationCycleError": "twenty_migrate.migration",
    "ResolvedRelations": "twenty_migrate.relations",
    "SourceSpec": "twenty_migrate.project",
    "ValidationReport": "twenty_migrate.validation",
    "build_suite": "twenty_migrate.validation",
    "keep_valid": "twenty_migrate.project",
    "drop_duplicate_rows": "twenty_migrate.clean",
    "list_sheets": "twenty_migrate.loading",
    "sample_data_dir": "twenty_migrate.demo",
    "sample_spec": "twenty_migrate.demo",
    "clean_frame": "twenty_migrate.clean",
    "load": "twenty_migrate.loading",
    "load_many": "twenty_migrate.loading",
    "migration_report": "twenty_migrate.report",
    "normalize_countries": "twenty_migrate.clean",
    "plan_migration": "twenty_migrate.migration",
    "preflight": "twenty_migrate.migration",
    "resolve_relations": "twenty_migrate.relations",
    "salesforce_id18": "twenty_migrate.source_refs",
    "salesforce_object_for_id": "twenty_migrate.source_refs",
    "suggest_mapping": "twenty_migrate.mapping",
    "validate": "twenty_migrate.validation",
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
    "SchemaError",
    "ServerError",
    "ServerTraits",
    "Settings",
    "SourceSpec",
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
    "fetch_records",
    "fetch_schema",
    "fixme_frame",
    "is_duplicate_error",
    "keep_valid",
    "list_runs",
    "list_sheets",
    "load",
    "load_many",
    "make_progress",
    "migration_report",
    "normalize_countries",
    "plan_migration",
    "preflight",
    "reconcile",
    "relation_coverage",
    "resolve_relations",
    "rollback",
    "run_summary",
    "salesforce_id18",
    "salesforce_object_for_id",
    "sample_data_dir",
    "sample_spec",
    "suggest_mapping",
    "validate",
    "verify_run",
    "write_fixme",
    "write_frame",
    "write_log",
    "write_summary",
]
