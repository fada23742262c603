"""Move CRM exports and spreadsheets into Twenty CRM from a notebook.

import twenty_migrate as tm
client = tm.connect()                           # your workspace, or the local sandbox
plan = tm.build_plan(people, "people", key="emails.primaryEmail")
result = tm.Importer(client).run(plan)          # resumable: tm.Importer(client).resume(run_id)
tm.write_log(result.run_id, "people_log.xlsx")  # every row: its Twenty id or Twenty's error
"""

from __future__ import annotations

from twenty_migrate.client import ClientStats, TwentyClient, connect
from twenty_migrate.config import Settings
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
    RateLimitError,
    SchemaError,
    ServerError,
    TwentyAPIError,
    TwentyMigrateError,
    ValidationFailed,
    is_duplicate_error,
)
from twenty_migrate.export import (
    RollbackResult,
    fetch_records,
    rollback,
    run_summary,
    write_fixme,
    write_frame,
    write_log,
    write_summary,
)
from twenty_migrate.importer import Importer
from twenty_migrate.journal import RunJournal, list_runs
from twenty_migrate.outcomes import ImportResult
from twenty_migrate.plan import Batch, ImportPlan, ObjectStep, build_plan
from twenty_migrate.progress import Progress, make_progress
from twenty_migrate.ratelimit import RateLimit, RateLimiter, RetryPolicy
from twenty_migrate.schema import FieldSchema, ObjectSchema, WorkspaceSchema, fetch_schema

__version__ = "0.1.0"

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "AuthenticationError",
    "BadRequestError",
    "Batch",
    "ClientStats",
    "ConfigError",
    "ConflictError",
    "FieldSchema",
    "ImportFailed",
    "ImportPlan",
    "ImportResult",
    "Importer",
    "InsecureTransportWarning",
    "JournalError",
    "MappingError",
    "NotFoundError",
    "ObjectSchema",
    "ObjectStep",
    "PermissionDeniedError",
    "PlanMismatchError",
    "Progress",
    "RateLimit",
    "RateLimitError",
    "RateLimiter",
    "RetryPolicy",
    "RollbackResult",
    "RunJournal",
    "SchemaError",
    "ServerError",
    "Settings",
    "TwentyAPIError",
    "TwentyClient",
    "TwentyMigrateError",
    "ValidationFailed",
    "WorkspaceSchema",
    "build_plan",
    "connect",
    "fetch_records",
    "fetch_schema",
    "is_duplicate_error",
    "list_runs",
    "make_progress",
    "rollback",
    "run_summary",
    "write_fixme",
    "write_frame",
    "write_log",
    "write_summary",
]
