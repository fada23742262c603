"""Check a workspace before migrating: is the key good, what may it do, which Twenty is it.

:func:`doctor` reads (never writes a record): the metadata, then one record id of each
object, and reports the server URL, whether the key works, whether the metadata is
readable, which objects the key can read, the release signals found (metadata shape,
task/note target model, rich-text type, throttle style, rate budget, per-call cap) and
anything the toolkit cached (traits, a schema cache file) that the server now contradicts.

    >>> report = tm.doctor(client)           # doctest: +SKIP
    >>> report.healthy, report.exit_code     # doctest: +SKIP
    (True, 0)

``twenty-migrate doctor`` prints the same report and exits 0 when healthy, 1 otherwise,
with a one-sentence reason and the next step. The API key never appears in the report.
"""

from __future__ import annotations

import html
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from twenty_migrate.twenty.discovery import ServerTraits
from twenty_migrate.twenty.errors import (
    APIConnectionError,
    AuthenticationError,
    PermissionDeniedError,
    SchemaError,
    TwentyAPIError,
    WorkspaceUnavailableError,
)

if TYPE_CHECKING:
    from twenty_migrate.twenty.client import TwentyClient
    from twenty_migrate.twenty.schema import WorkspaceSchema

__all__ = ["DoctorReport", "access_problem", "check_access", "doctor"]

KEY_HELP = "set TWENTY_API_KEY (Settings → APIs & Webhooks)"
URL_HELP = (
    "check TWENTY_API_URL (your workspace's API URL, e.g. https://api.twenty.com) and the network"
)


@dataclass
class DoctorReport:
    """What :func:`doctor` found.

    Attributes:
        base_url: The server checked.
        key_works: The key was accepted (None: the server was not reached).
        metadata_readable: The key may read the data model.
        readable_objects: Objects (plural names) the key read a record id of.
        unreadable_objects: Objects the key may not read, with Twenty's reason.
        traits: What is now known of the server (release signals, cap, throttle).
        disagreements: What the toolkit's cached traits or schema file say that the
            server contradicts.
        reason: Why the workspace is not ready, in one sentence (None when healthy).
        next_step: What to do about it.
    """

    base_url: str
    key_works: bool | None = None
    metadata_readable: bool | None = None
    readable_objects: list[str] = field(default_factory=list)
    unreadable_objects: dict[str, str] = field(default_factory=dict)
    traits: ServerTraits = field(default_factory=ServerTraits)
    disagreements: list[str] = field(default_factory=list)
    reason: str | None = None
    next_step: str | None = None

    @property
    def healthy(self) -> bool:
        """Ready to migrate: the key works and reads the metadata and some objects."""
        return self.reason is None

    @property
    def exit_code(self) -> int:
        """0 when healthy, 1 otherwise (for ``twenty-migrate doctor``)."""
        return 0 if self.healthy else 1

    def rows(self) -> list[tuple[str, str]]:
        """The report as ``(label, value)`` rows."""
        traits = self.traits

        def known(value: object, unknown: str = "not known yet") -> str:
            return unknown if value is None else str(value)

        rows = [
            ("server", self.base_url),
            ("API key", {True: "accepted", False: "refused", None: "not checked"}[self.key_works]),
            (
                "metadata",
                {True: "readable", False: "not readable", None: "not checked"}[
                    self.metadata_readable
                ],
            ),
            ("objects readable", ", ".join(self.readable_objects) or "none"),
        ]
        if self.unreadable_objects:
            rows.append(
                (
                    "objects not readable",
                    "; ".join(f"{name} ({why})" for name, why in self.unreadable_objects.items()),
                )
            )
        if self.metadata_readable:
            shape = traits.metadata_shape or "?"
            detail = "with isCustom" if shape == "1.x" else "without isCustom"
            introspection = "allowed" if traits.introspection else "refused or not used"
            rows += [
                (
                    "metadata shape",
                    f"{shape} ({detail}; custom told by {known(traits.custom_rule, '?')}; "
                    f"introspection {introspection})",
                ),
                ("task/note targets", known(traits.target_model, "not found")),
                ("rich-text type", known(traits.rich_text_type, "no rich-text field")),
            ]
        rows += [
            ("throttle style", known(traits.throttle_style, "not seen yet (no throttle so far)")),
            (
                "rate budget",
                f"{traits.rate_limit_per_minute}/min"
                if traits.rate_limit_per_minute
                else "not known yet",
            ),
            (
                "per-call cap",
                known(traits.max_records, "not calibrated yet (the importer finds it)"),
            ),
        ]
        if self.disagreements:
            rows.append(("cache disagrees", "; ".join(self.disagreements)))
        return rows

    def __str__(self) -> str:
        width = max(len(label) for label, _ in self.rows())
        lines = [f"{label:<{width}}  {value}" for label, value in self.rows()]
        if self.healthy:
            lines.append("healthy: ready to migrate")
        else:
            lines.append(f"not ready: {self.reason}; {self.next_step}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        cells = "".join(
            f"<tr><th style='text-align:left'>{html.escape(label)}</th>"
            f"<td style='text-align:left'>{html.escape(value)}</td></tr>"
            for label, value in self.rows()
        )
        if self.healthy:
            verdict = "<p><b>healthy</b>: ready to migrate</p>"
        else:
            verdict = (
                f"<p><b>not ready</b>: {html.escape(self.reason or '')}; "
                f"{html.escape(self.next_step or '')}</p>"
            )
        return f"<table>{cells}</table>{verdict}"

    def _fail(self, reason: str, next_step: str) -> DoctorReport:
        if self.reason is None:
            self.reason, self.next_step = reason, next_step
        return self


def access_problem(url: str, exc: AuthenticationError | APIConnectionError) -> tuple[str, str]:
    """``(reason, next_step)`` for a refused key or an unreachable URL (doctor, connect)."""
    if isinstance(exc, AuthenticationError):
        return f"the key was refused by {url}", KEY_HELP
    cause = str(exc.__cause__ or "") or type(exc.__cause__ or exc).__name__
    return f"{url} could not be reached ({cause})", URL_HELP


def check_access(client: TwentyClient) -> None:
    """Raise :class:`WorkspaceUnavailableError` if the key is refused or the URL unreachable.

    One metadata read (not throttled), sent once; other trouble is left to later calls.
    """
    try:
        client._sender._attempt("GET", "/rest/metadata/objects", {"limit": 1}, None, False)
    except (AuthenticationError, APIConnectionError) as exc:
        client.close()
        problem = access_problem(client.base_url, exc)
        raise WorkspaceUnavailableError(*problem, base_url=client.base_url) from None
    except TwentyAPIError:
        pass


def doctor(
    client: TwentyClient, *, schema_cache: str | os.PathLike[str] | None = None
) -> DoctorReport:
    """Check the workspace ``client`` points at, creating nothing.

    Args:
        client: A client (its saved traits are compared with what the server says now).
        schema_cache: A schema cache file (``tm.fetch_schema(client, cache=...)``) to
            compare with the server's metadata.

    Returns:
        The report; ``report.healthy`` / ``report.exit_code`` tell whether to go on.
    """
    from twenty_migrate.twenty.schema import WorkspaceSchema, fetch_schema

    url = client.base_url
    report = DoctorReport(base_url=url)
    saved = ServerTraits.from_dict(client.traits.to_dict())
    client.traits.metadata_fields = {}  # discover the metadata shape afresh
    schema: WorkspaceSchema | None = None
    try:
        schema = fetch_schema(client)
    except (AuthenticationError, APIConnectionError) as exc:
        report.key_works = False if isinstance(exc, AuthenticationError) else None
        return report._fail(*access_problem(url, exc))
    except PermissionDeniedError as exc:
        report.key_works, report.metadata_readable = True, False
        report._fail(
            f"the key may not read the data model ({exc})",
            "give the key a role that can read the data model (Settings → Roles)",
        )
    except (TwentyAPIError, SchemaError) as exc:
        return report._fail(
            f"{url} did not answer as Twenty's metadata API does ({exc})",
            "check TWENTY_API_URL: it is the workspace's API URL, e.g. https://api.twenty.com",
        )
    else:
        report.key_works = report.metadata_readable = True
    finally:
        if not client.traits.metadata_fields:  # nothing new learned: keep what was known
            client.traits.metadata_fields = saved.metadata_fields
    _check_objects(client, schema, report)
    report.traits = ServerTraits.from_dict(client.traits.to_dict())  # as found now
    if schema is not None:
        report.disagreements = [
            f"saved traits say {line}" for line in saved.differences(client.traits)
        ]
        shape_before, shape_now = saved.metadata_shape, client.traits.metadata_shape
        if shape_before and shape_now and shape_before != shape_now:
            report.disagreements.append(f"saved metadata shape {shape_before} -> {shape_now}")
        if schema_cache is not None:
            try:
                cached = WorkspaceSchema.load(schema_cache)
            except SchemaError as exc:
                report.disagreements.append(str(exc))
            else:
                report.disagreements += _schema_differences(cached, schema)
    return report


def _check_objects(
    client: TwentyClient, schema: WorkspaceSchema | None, report: DoctorReport
) -> None:
    """Read one record id of each importable object (standard ones when metadata is hidden)."""
    if schema is not None:
        names = [o.name_plural for o in schema.objects.values() if o.is_active and not o.is_system]
    else:
        names = ["people", "companies", "opportunities", "tasks", "notes"]
    for plural in names:
        try:
            client.graphql(f"query Probe {{ {plural}(first: 1) {{ edges {{ node {{ id }} }} }} }}")
        except (PermissionDeniedError, SchemaError) as exc:
            report.unreadable_objects[plural] = str(exc)
        except AuthenticationError:
            report.key_works = False
            report._fail(f"the key was refused by {report.base_url}", KEY_HELP)
            return
        except TwentyAPIError as exc:
            report.unreadable_objects[plural] = str(exc)
        else:
            report.key_works = True
            report.readable_objects.append(plural)
    if not report.readable_objects:
        report._fail(
            "the key may not read any object",
            "give the key a role that can read records (Settings → Roles)",
        )


def _schema_differences(cached: WorkspaceSchema, server: WorkspaceSchema) -> list[str]:
    """What a schema cache file says that the server's metadata contradicts."""
    found: list[str] = []
    for plural, cached_object in cached.objects.items():
        live = server.objects.get(plural)
        if live is None:
            found.append(f"schema cache has object {plural}, the server does not")
            continue
        for name, cached_field in cached_object.fields.items():
            live_field = live.fields.get(name)
            if live_field is None:
                found.append(f"schema cache has {plural}.{name}, the server does not")
            elif live_field.type != cached_field.type:
                found.append(
                    f"{plural}.{name} is {live_field.type} on the server, "
                    f"{cached_field.type} in the schema cache"
                )
    for plural in server.objects.keys() - cached.objects.keys():
        found.append(f"the server has object {plural}, the schema cache does not")
    if cached.server is not None and server.server is not None:
        found += [f"schema cache says {d}" for d in cached.server.differences(server.server)]
    return found
