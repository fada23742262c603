"""TwentyClient: speak Twenty's GraphQL and REST APIs within the rate limit.

One :class:`TwentyClient` holds one ``httpx.Client`` and one :class:`RateLimiter` and is
safe to share between threads, so an importer keeps several calls in flight while the
limiter keeps the workspace under Twenty's budget. Errors are the tree in
:mod:`twenty_migrate.twenty.errors`; throttles are waited out and retried, never reported as
failures; server errors, timeouts and dropped connections are retried only for calls that
are safe to repeat.

Example:
    >>> import twenty_migrate as tm
    >>> client = tm.connect()                 # the local sandbox when no API key is set
    >>> client.create_many("people", [{"name": {"firstName": "Ada"}}])  # doctest: +SKIP
"""

from __future__ import annotations

import difflib
import ipaddress
import logging
import os
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from twenty_migrate.twenty import queries as gql
from twenty_migrate.twenty.config import Settings
from twenty_migrate.twenty.discovery import ServerTraits, throttle_style_of, traits_path_for
from twenty_migrate.twenty.errors import (
    APIStatusError,
    BadRequestError,
    InsecureTransportWarning,
    RateLimitError,
    SchemaError,
    TwentyAPIError,
)
from twenty_migrate.twenty.queries import pascal_case
from twenty_migrate.twenty.ratelimit import RateLimit, RateLimiter, RetryPolicy
from twenty_migrate.twenty.transport import ClientStats, Sender

if TYPE_CHECKING:
    from twenty_migrate.sandbox import Sandbox

__all__ = ["SAFE_CHUNK_SIZE", "ClientStats", "TwentyClient", "connect", "pascal_case"]

logger = logging.getLogger("twenty_migrate.twenty.client")

# Twenty's QUERY_MAX_RECORDS: 60 in older releases and in the docs, 200 on later main
# (twenty-api.md §2.3). Reads and deletes by id are chunked to the value every version takes.
SAFE_CHUNK_SIZE = 60
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
_SANDBOX_BANNER = (
    "twenty-migrate: using the local sandbox (an in-process emulator of Twenty with sample "
    "data; nothing leaves this machine). To use your workspace, set TWENTY_API_URL and "
    "TWENTY_API_KEY (environment or .env) and call connect() again."
)


class _Unset:
    def __repr__(self) -> str:
        return "<from settings>"


_FROM_SETTINGS = _Unset()


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _chunks(items: Sequence[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


class TwentyClient:
    """A thread-safe client for one Twenty workspace.

    Args:
        base_url: Workspace URL (``https://api.twenty.com``); default ``TWENTY_API_URL``.
        api_key: API key; default ``TWENTY_API_KEY``. Never shown in reprs, logs or errors.
        transport: An httpx transport, e.g. ``Sandbox().transport()`` for tests.
        timeout: HTTP timeout in seconds.
        rate_limit: The server's budget to respect; None disables client-side limiting.
            Default: Twenty's defaults, or ``TWENTY_MIGRATE_*_LIMIT`` settings.
        retry: When to retry server errors, timeouts and dropped connections.
        env_file: ``.env`` file to read settings from (None: none).
        clock: Monotonic clock for the limiter.
        sleep: How to wait (tests pass a fake that advances their clock).
        max_connections: Connection pool size (one per worker thread is enough).
        traits_path: The file keeping what is learned of this server (cap, throttle style,
            metadata shape). Default: one file per base URL under
            ``TWENTY_MIGRATE_CACHE_DIR`` (the user's cache folder when unset); None keeps
            the traits in memory only.

    Raises:
        ConfigError: No API key or base URL, or a malformed one.

    Example:
        >>> from twenty_migrate.sandbox import Sandbox
        >>> sandbox = Sandbox()
        >>> client = TwentyClient(base_url=sandbox.base_url, api_key=sandbox.api_key,
        ...                       transport=sandbox.transport())
        >>> client.object_names("person")
        ('person', 'people')
    """

    def __init__(
        self,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float | None = None,
        rate_limit: RateLimit | None | _Unset = _FROM_SETTINGS,
        retry: RetryPolicy | None = None,
        env_file: str | None = ".env",
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        max_connections: int = 32,
        traits_path: str | os.PathLike[str] | None | _Unset = _FROM_SETTINGS,
    ) -> None:
        settings = Settings.from_env(env_file, base_url=base_url, api_key=api_key, timeout=timeout)
        self.base_url, api_key = settings.require_connection()
        self.settings = settings
        if transport is None and httpx.URL(self.base_url).scheme == "http":
            host = httpx.URL(self.base_url).host
            if not _is_loopback(host):
                warnings.warn(
                    f"The API key will be sent over plain http to {host}; anyone on the network "
                    "path can read it. Use an https:// URL.",
                    InsecureTransportWarning,
                    stacklevel=2,
                )
        if isinstance(rate_limit, _Unset):
            rate_limit = settings.rate_limit()
        self._sender = Sender(
            base_url=self.base_url,
            api_key=api_key,
            transport=transport,
            timeout=settings.timeout,
            limiter=RateLimiter(rate_limit, clock=clock) if rate_limit is not None else None,
            retry=retry or RetryPolicy(),
            sleep=sleep,
            max_connections=max_connections,
        )
        self._sender.on_throttle = self._note_throttle
        self.sandbox: Sandbox | None = None
        """The sandbox this client talks to, when :func:`connect` started one."""
        if isinstance(traits_path, _Unset):
            traits_path = traits_path_for(self.base_url)
        self.traits_path: Path | None = Path(traits_path) if traits_path is not None else None
        """Where :meth:`remember_traits` keeps the traits (None: kept in memory only)."""
        self.traits = self._saved_traits()
        """What has been learned about this server (cap, throttle style, metadata shape)."""
        self._meta_lock = threading.Lock()
        self._objects: dict[str, dict[str, Any]] | None = None
        self._typed_json = gql.TYPED_COMPOSITE_JSON_SUBFIELDS

    @classmethod
    def from_env(cls, **overrides: Any) -> TwentyClient:
        """A client from the environment and ``.env``; keyword arguments win."""
        return cls(**overrides)

    @property
    def is_sandbox(self) -> bool:
        """Whether this client talks to a local sandbox rather than a real workspace."""
        return self.sandbox is not None

    @property
    def limiter(self) -> RateLimiter | None:
        """The client-side rate limiter shared by every thread (None when disabled)."""
        return self._sender.limiter

    @property
    def retry(self) -> RetryPolicy:
        """The retry policy for server errors, timeouts and dropped connections."""
        return self._sender.retry

    @property
    def stats(self) -> ClientStats:
        """Counters of calls, throttles, retries and failures."""
        return self._sender.stats

    def __repr__(self) -> str:
        return (
            f"TwentyClient(base_url={self.base_url!r}, api_key={self._sender.masked_key!r}, "
            f"server={self.traits.describe()!r})"
        )

    __str__ = __repr__

    def close(self) -> None:
        """Close the connection pool."""
        self._sender.close()

    def __enter__(self) -> TwentyClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def remember_traits(self) -> None:
        """Save :attr:`traits` (a calibrated cap, a throttle style) for later runs."""
        if self.traits_path is not None:
            try:
                self.traits.save(self.traits_path)
            except OSError as exc:  # a read-only cache folder must not stop a migration
                logger.warning("Could not save the server traits to %s: %s", self.traits_path, exc)

    def use_traits_path(self, path: str | os.PathLike[str] | None) -> None:
        """Keep the traits in ``path`` from now on, taking what that file already knows."""
        self.traits_path = Path(path) if path is not None else None
        self.traits = self._saved_traits()

    def _saved_traits(self) -> ServerTraits:
        return ServerTraits.load(self.traits_path) if self.traits_path else ServerTraits()

    def _note_throttle(self, error: RateLimitError) -> None:
        """Record the throttle style the first refusal shows (and any later change)."""
        headers = error.response.headers if error.response is not None else None
        style = throttle_style_of(error.status_code, error.code, headers)
        if self.traits.throttle_style != style:
            self.traits.throttle_style = style
            self.remember_traits()

    # ------------------------------------------------------------ low-level calls

    def graphql(
        self, query: str, variables: dict[str, Any] | None = None, *, idempotent: bool | None = None
    ) -> dict[str, Any]:
        """Run a core GraphQL document (``POST /graphql``) and return its ``data``.

        Args:
            query: The document; send one root field per document.
            variables: Its variables.
            idempotent: Whether re-sending is safe after a server error or a lost answer.
                Default: True for queries, False for mutations.

        Raises:
            TwentyAPIError: The tree's class for Twenty's first error.
        """
        if idempotent is None:
            idempotent = not gql.is_mutation(query)
        body = {"query": query, "variables": variables or {}}
        data: dict[str, Any] = self._sender.call(
            "POST", "/graphql", json=body, graphql=True, charge=True, idempotent=idempotent
        )
        return data

    def metadata(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """Run a metadata GraphQL document (``POST /metadata``) and return its ``data``.

        Metadata calls are not throttled by Twenty, so they don't use the rate budget.
        Queries are retried on server errors; mutations are not.
        """
        body = {"query": query, "variables": variables or {}}
        idempotent = not gql.is_mutation(query)
        data: dict[str, Any] = self._sender.call(
            "POST", "/metadata", json=body, graphql=True, charge=False, idempotent=idempotent
        )
        return data

    def rest(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        idempotent: bool | None = None,
    ) -> Any:
        """Call a REST endpoint and return its parsed JSON (None for an empty body).

        Args:
            method: HTTP method.
            path: Path under ``/rest`` (``"people"``, ``"/rest/batch/people"``,
                ``"metadata/objects"``).
            params: Query parameters.
            json: JSON body.
            idempotent: Whether re-sending is safe; default True for GET, HEAD, OPTIONS, PUT
                and DELETE.
        """
        method = method.upper()
        path = "/" + path.lstrip("/")
        if not path.startswith("/rest/"):
            path = "/rest" + path
        if idempotent is None:
            idempotent = method in _SAFE_METHODS
        charge = not path.startswith("/rest/metadata")
        return self._sender.call(
            method,
            path,
            params=params,
            json=json,
            graphql=False,
            charge=charge,
            idempotent=idempotent,
        )

    # ------------------------------------------------------------ metadata

    def _load_objects(self, *, refresh: bool = False) -> dict[str, dict[str, Any]]:
        with self._meta_lock:
            if self._objects is not None and not refresh:
                return self._objects
            objects: list[dict[str, Any]] = []
            params: dict[str, Any] = {}
            while True:
                page = self.rest("GET", "metadata/objects", params=params or None)
                data = page.get("data") if isinstance(page, dict) else None
                items = data.get("objects") if isinstance(data, dict) else data
                objects.extend(items or [])
                info = (page.get("pageInfo") if isinstance(page, dict) else None) or {}
                if not info.get("hasNextPage") or not info.get("endCursor") or not items:
                    break
                params = {"starting_after": info["endCursor"]}
            by_name: dict[str, dict[str, Any]] = {}
            for obj in objects:
                by_name[obj["nameSingular"]] = obj
                by_name[obj["namePlural"]] = obj
            self._objects = by_name
            return by_name

    def object_metadata(self, name: str) -> dict[str, Any]:
        """The metadata JSON of an object (with ``fields``), by singular or plural name.

        Fetched once from ``GET /rest/metadata/objects`` and cached; an unknown name reloads
        the cache once (the object may have just been created).

        Raises:
            SchemaError: No such object; the message suggests the nearest names.
        """
        objects = self._load_objects()
        if name not in objects:
            objects = self._load_objects(refresh=True)
        if name not in objects:
            close = difflib.get_close_matches(name, list(objects), n=3)
            hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            raise SchemaError(
                f"The workspace has no object named {name!r}.{hint} Object names are Twenty's "
                "nameSingular or namePlural (e.g. 'person' / 'people')."
            )
        return objects[name]

    def object_names(self, name: str) -> tuple[str, str]:
        """``(nameSingular, namePlural)`` of an object named either way."""
        obj = self.object_metadata(name)
        return obj["nameSingular"], obj["namePlural"]

    def invalidate_metadata(self) -> None:
        """Forget the cached metadata (after creating objects or fields)."""
        with self._meta_lock:
            self._objects = None

    def default_fields(self, object_name: str) -> str:
        """A GraphQL selection of every scalar, composite sub-field and join column.

        ONE_TO_MANY relations and the search vector are left out; MANY_TO_ONE relations
        appear as their join column (``companyId``).
        """
        return gql.selection_for(
            self.object_metadata(object_name),
            typed_json=self._typed_json,
            rich_text_type=self.traits.rich_text_type,
        )

    # ------------------------------------------------------------ records

    def create_many(
        self,
        object_name: str,
        records: list[dict[str, Any]],
        *,
        upsert: bool = True,
        api: str = "graphql",
        fields: str = "id",
    ) -> list[dict[str, Any]]:
        """Create (or upsert) records in one call and return what Twenty returned.

        GraphQL ``create{Plural}(data:, upsert:)`` by default; ``api="rest"`` uses
        ``POST /rest/batch/{plural}?upsert=true``. Twenty refuses more than its
        QUERY_MAX_RECORDS (60 on older versions) per call, so pass at most that many.
        The answer is not in input order: match records by id or unique key.

        The call is re-sent after a server error or a lost answer only when it is
        idempotent: ``upsert=True`` and every record has an ``id``. Otherwise a lost answer
        raises :class:`APIConnectionError` with ``maybe_applied=True``.

        Args:
            object_name: Singular or plural object name.
            records: Records in Twenty's input shape.
            upsert: Update records matching an id or unique field instead of failing.
            api: ``"graphql"`` or ``"rest"``.
            fields: GraphQL selection for the returned records (GraphQL only).
        """
        if not records:
            return []
        singular, plural = self.object_names(object_name)
        idempotent = upsert and all(r.get("id") for r in records)
        if api == "rest":
            params = {"upsert": "true"} if upsert else None
            body = self.rest(
                "POST", f"batch/{plural}", params=params, json=records, idempotent=idempotent
            )
            data = body.get("data") if isinstance(body, dict) else None
            if isinstance(data, dict):
                # {"data": {"createPeople": [...]}}; one version used {"data": {"people": [...]}}.
                result = data.get(f"create{pascal_case(plural)}", data.get(plural))
                if isinstance(result, list):
                    return result
            raise APIStatusError(f"Unexpected answer from POST /rest/batch/{plural}", body=body)
        if api != "graphql":
            raise ValueError(f"api must be 'graphql' or 'rest', not {api!r}")
        root, query = gql.create_many_document(singular, plural, fields)
        data = self.graphql(query, {"data": records, "upsert": upsert}, idempotent=idempotent)
        return list(data.get(root) or [])

    def iter_records(
        self,
        object_name: str,
        *,
        filter: dict[str, Any] | None = None,
        fields: str | None = None,
        page_size: int = SAFE_CHUNK_SIZE,
        order_by: list[dict[str, Any]] | None = None,
        with_deleted: bool = False,
    ) -> Iterator[dict[str, Any]]:
        """Yield every record matching ``filter``, page by page (``first``/``after``).

        Args:
            object_name: Singular or plural object name.
            filter: Twenty GraphQL filter (``{"emails": {"primaryEmail": {"eq": "a@b.c"}}}``).
            fields: GraphQL selection; None selects every scalar, composite sub-field and
                join column (:meth:`default_fields`).
            page_size: Records per call (keep at most 60 for older Twenty versions).
            order_by: Twenty ``orderBy`` list (Twenty appends ``id`` ascending).
            with_deleted: Include soft-deleted records.
        """
        singular, plural = self.object_names(object_name)
        if with_deleted:
            filter = gql.with_deleted(filter)
        after: str | None = None
        switched = False
        while True:
            selection = fields if fields is not None else self.default_fields(plural)
            try:
                page = self._find_page(
                    singular, plural, selection, filter, order_by, page_size, after
                )
            except BadRequestError as exc:
                # The server types composite JSON sub-fields the other way: switch once.
                if fields is not None or switched or "selection" not in str(exc):
                    raise
                self._typed_json = not self._typed_json
                switched = True
                continue
            yield from (edge["node"] for edge in page.get("edges") or [])
            info = page.get("pageInfo") or {}
            if not info.get("hasNextPage"):
                return
            cursor = info.get("endCursor")
            if not cursor or cursor == after:
                raise TwentyAPIError(
                    f"Twenty's pagination of {plural} did not advance (cursor {cursor!r})"
                )
            after = cursor

    def _find_page(
        self,
        singular: str,
        plural: str,
        selection: str,
        filter: dict[str, Any] | None,
        order_by: list[dict[str, Any]] | None,
        first: int,
        after: str | None,
    ) -> dict[str, Any]:
        declared = {"filter": filter, "orderBy": order_by, "first": first, "after": after}
        variables = {name: value for name, value in declared.items() if value is not None}
        query = gql.find_many_document(singular, plural, selection, variables)
        data = self.graphql(query, variables, idempotent=True)
        return data.get(plural) or {}

    def find_by_ids(
        self,
        object_name: str,
        ids: Sequence[str],
        *,
        fields: str | None = "id",
        with_deleted: bool = True,
    ) -> list[dict[str, Any]]:
        """The records with these ids (missing ones are simply absent), in chunks of 60."""
        found: list[dict[str, Any]] = []
        for chunk in _chunks(list(dict.fromkeys(ids)), SAFE_CHUNK_SIZE):
            found.extend(
                self.iter_records(
                    object_name,
                    filter={"id": {"in": chunk}},
                    fields=fields,
                    page_size=len(chunk),
                    with_deleted=with_deleted,
                )
            )
        return found

    def delete_many(
        self, object_name: str, ids: Sequence[str], *, destroy: bool = False
    ) -> list[str]:
        """Delete records by id in chunks of 60; return the ids Twenty reported deleted.

        Args:
            object_name: Singular or plural object name.
            ids: Record ids.
            destroy: Remove the rows for good (``destroy{Plural}``, soft-deleted rows
                included) instead of the default soft delete (``delete{Plural}``), which
                keeps them, and their unique values, until destroyed.
        """
        singular, plural = self.object_names(object_name)
        root, query = gql.delete_many_document(singular, plural, destroy=destroy)
        deleted: list[str] = []
        for chunk in _chunks(list(dict.fromkeys(ids)), SAFE_CHUNK_SIZE):
            filter: dict[str, Any] = {"id": {"in": chunk}}
            # Deleting by id twice deletes nothing more, so the call is safe to repeat.
            variables = {"filter": gql.with_deleted(filter) if destroy else filter}
            data = self.graphql(query, variables, idempotent=True)
            deleted.extend(record["id"] for record in data.get(root) or [])
        return deleted


def connect(*, sandbox_db: str | os.PathLike[str] | None = None, **overrides: Any) -> TwentyClient:
    """A client for your workspace, or for the local sandbox when no API key is configured.

    With ``TWENTY_API_KEY`` set (environment or ``.env``) or ``api_key=`` given, this is
    ``TwentyClient(**overrides)``, checked by :func:`~twenty_migrate.twenty.doctor.check_access`.
    Otherwise (or with ``TWENTY_MIGRATE_SANDBOX=1``) it returns a client bound to an in-process
    ``Sandbox.with_sample_data()`` and shows a one-line notice (stderr, or a blue info box
    in Jupyter); the sandbox is at ``client.sandbox``.

    Args:
        sandbox_db: Keep the sandbox's records in this SQLite file, so that a series of
            notebooks rehearsing one migration works on the same workspace.
        **overrides: :class:`TwentyClient` arguments.

    Raises:
        WorkspaceUnavailableError: The key was refused, or the URL could not be reached.

    Example:
        >>> client = connect(sandbox_db="work/sandbox.sqlite")          # doctest: +SKIP
    """
    env_file = overrides.get("env_file", ".env")
    settings = Settings.from_env(
        env_file, api_key=overrides.get("api_key"), base_url=overrides.get("base_url")
    )
    if settings.api_key and not settings.sandbox:
        from twenty_migrate.twenty.doctor import check_access

        client = TwentyClient(**overrides)
        check_access(client)
        return client
    from twenty_migrate.sandbox import Sandbox  # lazily: only notebooks without credentials need it

    budget = settings.rate_limit()  # the sandbox throttles as the client is told to expect
    sandbox = Sandbox.with_sample_data(
        db_path=sandbox_db,
        short_limit=budget.short_limit,
        short_ttl_ms=round(budget.short_window * 1000),
        long_limit=budget.long_limit,
        long_ttl_ms=round(budget.long_window * 1000),
    )
    kwargs = {k: v for k, v in overrides.items() if k not in ("base_url", "api_key", "transport")}
    client = TwentyClient(
        base_url=sandbox.base_url, api_key=sandbox.api_key, transport=sandbox.transport(), **kwargs
    )
    if "traits_path" not in kwargs:  # sandboxes of different releases share one URL
        client.use_traits_path(traits_path_for(sandbox.base_url, variant=sandbox.profile.name))
    client.sandbox = sandbox
    from twenty_migrate.twenty.notices import show_notice  # a blue box in Jupyter, not red stderr

    show_notice(_SANDBOX_BANNER)
    return client
