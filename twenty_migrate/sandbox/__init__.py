"""A local emulator of Twenty's API, for tests, notebooks and rehearsals.

The :class:`Sandbox` speaks Twenty's REST (``/rest``, ``/rest/metadata``) and GraphQL
(``/graphql``, ``/metadata``) APIs with Twenty's status codes, error envelopes, record
cap and API-key rate limits, and can inject faults (latency, 5xx, lost answers). Use it
in process, as an httpx transport, or over real HTTP::

    sandbox = Sandbox.with_sample_data()
    client = httpx.Client(base_url=sandbox.base_url, transport=sandbox.transport(),
                          headers={"Authorization": f"Bearer {sandbox.api_key}"})
    client.get("/rest/people").json()["totalCount"]

    with Sandbox().serve() as server:      # http://127.0.0.1:<port>
        ...

From a shell: ``twenty-migrate sandbox --port 3000 --api-key KEY``.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import httpx

from twenty_migrate.sandbox.app import CONTENT_TYPE, App, RequestRecord
from twenty_migrate.sandbox.errors import SandboxError
from twenty_migrate.sandbox.faults import FaultInjector
from twenty_migrate.sandbox.metadata.registry import Registry
from twenty_migrate.sandbox.metadata.standard_objects import standard_registry
from twenty_migrate.sandbox.profiles import PROFILES, TwentyProfile, sandbox_profile
from twenty_migrate.sandbox.server import DEFAULT_HOST, RunningServer
from twenty_migrate.sandbox.throttle import Throttle

if TYPE_CHECKING:
    from twenty_migrate.sandbox.engine.store import Engine

__all__ = [
    "PROFILES",
    "RequestRecord",
    "RunningServer",
    "Sandbox",
    "SandboxError",
    "TwentyProfile",
    "sandbox_profile",
]

DEFAULT_API_KEY = "sandbox-key"
IN_PROCESS_BASE_URL = "http://sandbox.twenty.local"

_SAMPLE_NAMESPACE = uuid.UUID("0b7d2f4e-5c1a-4f7e-9a8b-3c2d1e0f9a8b")


class Sandbox:
    """A Twenty workspace in memory (or in SQLite), served as a function, transport or server.

    Args:
        api_key: The bearer token clients must send.
        twenty_version: The Twenty release to behave as (``"1"``, ``"1.18"``, ``"2.43"``):
            the profile covering it sets the per-call cap, throttle style, metadata schema,
            target model and the other version-dependent rules. The newest by default.
        profile: A profile to use instead (for example ``sandbox_profile("1").replace(
            query_max_records=5)``); give either this or ``twenty_version``.
        short_limit: Short token bucket size (per ``short_ttl_ms``).
        short_ttl_ms: Short bucket window.
        long_limit: Long token bucket size (per ``long_ttl_ms``).
        long_ttl_ms: Long bucket window.
        throttle: Apply the rate limit to API-key core calls.
        latency_ms: Fixed latency added to every core call.
        jitter_ms: Extra random latency, uniform in ``[0, jitter_ms]``.
        error_rate: Fraction of core calls refused with a 500.
        drop_rate: Fraction of core calls whose answer is lost after the write.
        db_path: SQLite file to keep records (and custom metadata) across restarts.
        record_limit: ``WORKSPACE_RECORD_LIMIT``, the live records the workspace may hold
            (409 past it, on profiles with quotas); None for no limit.
        members: The workspace's members (its users), each a dict in Twenty's shape:
            ``{"name": {"firstName": "Ada", "lastName": "Lovelace"}, "userEmail":
            "ada@example.com"}`` (``id`` and ``userId`` optional). None gives the three
            default members (Tim Apple, Jony Ive, Phil Schiler);
            ``[]`` none. Served read-only at ``/rest/workspaceMembers`` and GraphQL
            ``workspaceMembers``; record owners (``accountOwnerId``, ``assigneeId``...)
            point at them.
        seed: Seed of the random faults.
        clock: Monotonic clock in seconds (rate limits, request log).
        wall_clock: Epoch seconds, for the era-4 ``X-RateLimit-Reset`` header.
        sleep: How latency waits (tests pass a fake).

    Example:
        >>> sandbox = Sandbox(throttle=False)
        >>> with sandbox.client() as http:
        ...     http.post("/rest/people", json={"name": {"firstName": "Ada"}}).status_code
        201
    """

    base_url: str = IN_PROCESS_BASE_URL

    def __init__(
        self,
        *,
        api_key: str = DEFAULT_API_KEY,
        twenty_version: str | None = None,
        profile: TwentyProfile | None = None,
        short_limit: int = 100,
        short_ttl_ms: int = 1000,
        long_limit: int = 100,
        long_ttl_ms: int = 60000,
        throttle: bool = True,
        latency_ms: float = 0.0,
        jitter_ms: float = 0.0,
        error_rate: float = 0.0,
        drop_rate: float = 0.0,
        db_path: str | os.PathLike[str] | None = None,
        record_limit: int | None = None,
        members: Sequence[Mapping[str, Any]] | None = None,
        seed: int = 0,
        clock: Callable[[], float] | None = None,
        wall_clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        if not api_key:
            raise ValueError("api_key must not be empty")
        if profile is not None and twenty_version is not None:
            raise ValueError("Give twenty_version or profile, not both.")
        self.profile = profile if profile is not None else sandbox_profile(twenty_version)
        # Imported here so that the engine's and the GraphQL front-end's modules can be
        # imported (and tested) on their own, without building a whole sandbox.
        from twenty_migrate.sandbox.engine.store import Engine
        from twenty_migrate.sandbox.graphql.api import GraphQLAPI

        self.api_key = api_key
        clock = clock or time.monotonic
        self.registry: Registry = standard_registry(self.profile)
        self.engine = Engine(self.registry, db_path=db_path, members=members)
        self.quotas = self.engine.quotas
        self.quotas.set_record_limit(record_limit)
        self.graphql = GraphQLAPI(self.engine)
        self.throttler = Throttle(
            short_limit=short_limit,
            short_ttl_ms=short_ttl_ms,
            long_limit=long_limit,
            long_ttl_ms=long_ttl_ms,
            style=self.profile.throttle_style,
            enabled=throttle,
            clock=clock,
            wall_clock=wall_clock or time.time,
        )
        self.faults = FaultInjector(
            error_rate=error_rate,
            drop_rate=drop_rate,
            latency_ms=latency_ms,
            jitter_ms=jitter_ms,
            seed=seed,
            sleep=sleep or time.sleep,
        )
        self.app = App(
            engine=self.engine,
            graphql=self.graphql,
            api_key=api_key,
            throttle=self.throttler,
            faults=self.faults,
            clock=clock,
        )
        self.requests = self.app.requests
        self._servers: list[RunningServer] = []

    def __repr__(self) -> str:
        # The key is never shown, not even in part.
        return (
            f"Sandbox(base_url={self.base_url!r}, api_key='***', "
            f"twenty={self.profile.name!r}, max_records={self.engine.max_records})"
        )

    # -- serving --------------------------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        """Answer one httpx request: the whole emulator as a function.

        Raises:
            httpx.RemoteProtocolError: The answer was dropped (fault injection); the
                call's writes were kept.
        """
        response = self.app.handle(
            request.method,
            request.url.path,
            request.url.query.decode("ascii", "replace"),
            request.read(),
            request.headers.get("authorization"),
        )
        if response.drop:
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            )
        headers = {"Content-Type": CONTENT_TYPE, **response.headers}
        if request.method.upper() == "HEAD":  # as Express: GET's headers, no body
            headers["Content-Length"] = str(len(response.body))
            return httpx.Response(response.status, headers=headers)
        return httpx.Response(response.status, headers=headers, content=response.body)

    def transport(self) -> httpx.MockTransport:
        """An httpx transport that answers in process (no network)."""
        return httpx.MockTransport(self.handle)

    def client(self, **kwargs: Any) -> httpx.Client:
        """An httpx client on :meth:`transport`, authenticated with the sandbox key."""
        headers = {"Authorization": f"Bearer {self.api_key}", **kwargs.pop("headers", {})}
        return httpx.Client(
            base_url=self.base_url, transport=self.transport(), headers=headers, **kwargs
        )

    def serve(self, host: str = DEFAULT_HOST, port: int = 0) -> RunningServer:
        """Serve over HTTP on a background thread (port 0: any free port).

        Returns:
            The running server: ``.url``, ``.stop()``, usable as a context manager.
        """
        server = RunningServer(self.app, host, port)
        self._servers.append(server)
        return server

    def close(self) -> None:
        """Stop servers started by :meth:`serve` and close the engine's database."""
        for server in self._servers:
            server.stop()
        self._servers.clear()
        close = getattr(self.engine, "close", None)
        if callable(close):
            close()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- fault injection ------------------------------------------------------------------

    def fail_next(
        self,
        n: int = 1,
        *,
        status: int = 500,
        drop_response: bool = False,
        retry_after: float | None = None,
    ) -> None:
        """Make the next ``n`` core calls fail, deterministically.

        Args:
            n: How many calls.
            status: Refuse them with this status (nothing is written). 429 takes the
                rate-limit shape of the throttle style; on profiles with quotas, 402 and
                409 take the usage-limit module's ``QUOTA_EXHAUSTED`` shapes (allowance
                used up, ``RECORD limit reached for this workspace``).
            drop_response: Instead, run them (writes kept) and lose the answer.
            retry_after: Seconds to announce in a ``Retry-After`` header.
        """
        self.faults.fail_next(
            n, status=status, drop_response=drop_response, retry_after=retry_after
        )

    def exhaust_allowance(self, exhausted: bool = True) -> None:
        """Use up the paid allowance: core calls answer 402 ``QUOTA_EXHAUSTED`` (REST) or
        ``extensions.code = "QUOTA_EXHAUSTED"`` (GraphQL) until called with False.

        Only profiles with ``quotas`` refuse; on the others this changes nothing.
        """
        self.quotas.exhaust_allowance(exhausted)

    def set_record_limit(self, limit: int | None) -> None:
        """Set ``WORKSPACE_RECORD_LIMIT`` (None removes it): a write whose new records would
        take the live records past it fails whole with 409 (profiles with quotas only)."""
        self.quotas.set_record_limit(limit)

    def set_faults(
        self,
        *,
        error_rate: float = 0.0,
        drop_rate: float = 0.0,
        latency_ms: float | None = None,
        jitter_ms: float | None = None,
    ) -> None:
        """Set the random faults (rates default to 0; latency left as is unless given)."""
        self.faults.configure(
            error_rate=error_rate, drop_rate=drop_rate, latency_ms=latency_ms, jitter_ms=jitter_ms
        )

    def throttle_storm(self, seconds: float) -> None:
        """Refuse every rate-limited call (REST core, GraphQL core fields) for ``seconds``."""
        self.throttler.storm(seconds)

    def rate_limit(
        self,
        *,
        short_limit: int | None = None,
        short_ttl_ms: int | None = None,
        long_limit: int | None = None,
        long_ttl_ms: int | None = None,
        style: str | None = None,
        enabled: bool = True,
    ) -> None:
        """Change the token buckets (values left as None are kept) and refill them."""
        self.throttler.configure(
            short_limit=short_limit,
            short_ttl_ms=short_ttl_ms,
            long_limit=long_limit,
            long_ttl_ms=long_ttl_ms,
            style=style,
            enabled=enabled,
        )

    # -- data -----------------------------------------------------------------------------

    @classmethod
    def with_sample_data(cls, **kwargs: Any) -> Sandbox:
        """A sandbox seeded with 5 companies, 10 people and 3 opportunities.

        Ids are fixed, so notebooks and tests can refer to them. A ``record_limit`` applies
        from after the seeding (the sample records count towards it).
        """
        record_limit = kwargs.pop("record_limit", None)
        sandbox = cls(**kwargs)
        seed_sample_data(sandbox.engine)
        sandbox.set_record_limit(record_limit)
        return sandbox


def sample_id(kind: str, n: int) -> str:
    """The fixed id of sample record ``n`` of ``kind`` (``"company"``, ``"person"``...)."""
    return str(uuid.uuid5(_SAMPLE_NAMESPACE, f"{kind}-{n}"))


_COMPANIES = (
    ("Acme", "https://acme.com", 120, "San Francisco"),
    ("Globex", "https://globex.com", 450, "Springfield"),
    ("Initech", "https://initech.com", 80, "Austin"),
    ("Umbrella", "https://umbrella-corp.com", 2500, "Raccoon City"),
    ("Hooli", "https://hooli.com", 9000, "Palo Alto"),
)
_PEOPLE = (
    ("Ada", "Lovelace", "Chief Engineer", 0, "4155550101"),
    ("Grace", "Hopper", "Head of Platform", 0, "4155550102"),
    ("Hank", "Scorpio", "CEO", 1, "4155550103"),
    ("Peter", "Gibbons", "Software Engineer", 2, "5125550104"),
    ("Samir", "Nagheenanajar", "Software Engineer", 2, "5125550105"),
    ("Alice", "Abernathy", "Security Lead", 3, "3125550106"),
    ("Albert", "Wesker", "Research Director", 3, "3125550107"),
    ("Gavin", "Belson", "CEO", 4, "6505550108"),
    ("Richard", "Hendricks", "Founder", 4, "6505550109"),
    ("Monica", "Hall", "Partner", None, "6505550110"),
)
_OPPORTUNITIES = (
    ("Acme platform deal", 0, 0, 25_000, "PROPOSAL"),
    ("Globex renewal", 1, 2, 120_000, "CUSTOMER"),
    ("Hooli pilot", 4, 7, 8_000, "MEETING"),
)


SAMPLE_CREATED_BY = {"source": "MANUAL"}
"""Sample records look as if typed in by a workspace member, not imported."""


def seed_sample_data(engine: Engine) -> None:
    """Create the sample companies, people and opportunities in ``engine``.

    Does nothing when they are already there (a sandbox restarted on the same database).
    """
    try:
        engine.get("companies", sample_id("company", 0), with_deleted=True)
    except SandboxError:
        pass
    else:
        return
    companies = [
        {
            "id": sample_id("company", i),
            "name": name,
            "domainName": {"primaryLinkUrl": domain},
            "employees": employees,
            "address": {"addressCity": city},
            "createdBy": dict(SAMPLE_CREATED_BY),
        }
        for i, (name, domain, employees, city) in enumerate(_COMPANIES)
    ]
    engine.create_many("companies", companies)
    people = []
    for i, (first, last, title, company, phone) in enumerate(_PEOPLE):
        person: dict[str, Any] = {
            "id": sample_id("person", i),
            "name": {"firstName": first, "lastName": last},
            "emails": {"primaryEmail": f"{first}.{last}@example.com".lower()},
            "phones": {
                "primaryPhoneNumber": phone,
                "primaryPhoneCountryCode": "US",
                "primaryPhoneCallingCode": "+1",
            },
            "jobTitle": title,
            "createdBy": dict(SAMPLE_CREATED_BY),
        }
        if company is not None:
            person["companyId"] = sample_id("company", company)
        people.append(person)
    engine.create_many("people", people)
    engine.create_many(
        "opportunities",
        [
            {
                "id": sample_id("opportunity", i),
                "name": name,
                "companyId": sample_id("company", company),
                "pointOfContactId": sample_id("person", contact),
                "amount": {"amountMicros": amount * 1_000_000, "currencyCode": "USD"},
                "stage": stage,
                "createdBy": dict(SAMPLE_CREATED_BY),
            }
            for i, (name, company, contact, amount, stage) in enumerate(_OPPORTUNITIES)
        ],
    )
