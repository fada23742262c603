"""Request -> response: routing, authentication, throttling, faults and the request log.

:class:`App` is the whole emulator as one function of plain values (method, path, query,
body, ``Authorization`` header), so the in-process httpx transport and the loopback HTTP
server share every behaviour. The order of work per request is:

1. route (unknown path or a method no route serves -> 404 ``Cannot PROPFIND /x``, as
   Express answers; ``HEAD`` is answered as ``GET``, the server leaving the body out);
2. body: size (> :data:`MAX_BODY_BYTES` -> 413) and JSON (malformed -> 400);
3. authentication (twenty-api.md §1.6);
4. for core record calls only: injected latency, then an injected fault, then the token
   bucket (charged by the front-end once the request parsed), then the work; a dropped
   answer is lost only after the work is done;
5. every request is logged in :attr:`App.requests`.

No exception ever reaches the client as a traceback: anything unexpected becomes Twenty's
500 envelope and is logged.
"""

from __future__ import annotations

import hmac
import json
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from twenty_migrate.sandbox.errors import SandboxError
from twenty_migrate.sandbox.faults import Fault, FaultInjector, injected_error
from twenty_migrate.sandbox.rest.api import RestAPI, method_not_allowed, route_not_found
from twenty_migrate.sandbox.rest.results import RestResult
from twenty_migrate.sandbox.throttle import Throttle

if TYPE_CHECKING:
    from twenty_migrate.sandbox.engine.store import Engine
    from twenty_migrate.sandbox.graphql.api import GraphQLAPI

logger = logging.getLogger("twenty_migrate.sandbox")

JSON = dict[str, Any]

MAX_BODY_BYTES = 10 * 1024 * 1024
"""[uncertain] Request bodies above this get 413 (Twenty's limit is not documented)."""

REQUEST_LOG_MAXLEN = 100_000
"""How many requests :attr:`App.requests` keeps (oldest dropped first)."""

GRAPHQL_ERROR_HTTP_STATUS = 200
"""[inferred] HTTP status of GraphQL answers carrying auth errors (Yoga's default)."""

GRAPHQL_BAD_REQUEST_HTTP_STATUS = 400
"""HTTP status of a GraphQL request whose body is not valid JSON or not an object."""

GRAPHQL_INJECTED_ERROR_USES_FAULT_STATUS = True
"""An injected 5xx on ``/graphql`` answers with that HTTP status (e.g. 500), as a proxy
in front of Twenty would, with a GraphQL ``INTERNAL_SERVER_ERROR`` body."""

CONTENT_TYPE = "application/json; charset=utf-8"

REST_METHODS = frozenset({"GET", "POST", "PATCH", "PUT", "DELETE"})

_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str).encode


@dataclass(frozen=True)
class RequestRecord:
    """One request as the sandbox saw it.

    Attributes:
        method: HTTP method.
        path: Path without the query string.
        status: Status answered (the one that would have been answered if dropped).
        time: Sandbox clock (seconds) when the request arrived.
        n_records: Records written or returned.
        root_fields: GraphQL root fields (or the REST ``data`` key).
        throttled: Refused (fully or for some root field) by the rate limit.
        dropped: The answer was lost on purpose (the work was done).
        faulted: A fault was injected (error or drop).
    """

    method: str
    path: str
    status: int
    time: float
    n_records: int = 0
    root_fields: tuple[str, ...] = ()
    throttled: bool = False
    dropped: bool = False
    faulted: bool = False


@dataclass
class Response:
    """An answer before it is written (or dropped).

    Attributes:
        status: HTTP status.
        body: Encoded body.
        headers: Headers besides Content-Type and Content-Length.
        drop: Close the connection without answering.
    """

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False

    def json(self) -> Any:
        """The decoded body (for tests)."""
        return json.loads(self.body)


@dataclass
class _Trace:
    """What the request log needs, filled in while the request runs."""

    n_records: int = 0
    root_fields: list[str] = field(default_factory=list)
    throttled: bool = False
    faulted: bool = False


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    """A JSON response."""
    return Response(status, _encode(body).encode("utf-8"), dict(headers or {}))


def rest_error_response(error: SandboxError) -> Response:
    """Twenty's REST envelope ``{statusCode, error, messages}`` for an error."""
    return json_response(error.status, error.rest_body(), error.headers)


def graphql_error_body(error: SandboxError) -> JSON:
    """A GraphQL answer made of one error."""
    return {
        "errors": [{"message": error.message, "extensions": error.graphql_extensions()}],
        "data": None,
    }


def internal_error() -> SandboxError:
    """The masked 500 every unexpected exception becomes."""
    return SandboxError("Internal server error", code="INTERNAL_SERVER_ERROR", status=500)


def _auth_error(message: str, *, forbidden: bool) -> SandboxError:
    if forbidden:
        return SandboxError(
            message,
            code="FORBIDDEN_EXCEPTION",
            status=403,
            rest_error="FORBIDDEN_EXCEPTION",
            graphql_code="FORBIDDEN",
        )
    return SandboxError(
        message,
        code="UNAUTHENTICATED",
        status=401,
        rest_error="UNAUTHENTICATED",
        graphql_code="UNAUTHENTICATED",
    )


def count_records(value: Any) -> int:
    """Records in one ``data`` value: a list, a connection (``edges``), a record or null."""
    if value is None:
        return 0
    if isinstance(value, list):
        return len(value)
    if isinstance(value, dict):
        edges = value.get("edges")
        if isinstance(edges, list):
            return len(edges)
        return 1
    return 0


class App:
    """The emulator as a function: :meth:`handle` turns a request into a :class:`Response`.

    Args:
        engine: The record store.
        graphql: The GraphQL front-end (``/graphql`` and ``/metadata``).
        api_key: The only accepted bearer token.
        throttle: The token buckets.
        faults: The fault injector.
        clock: Monotonic clock (seconds) for the request log.
    """

    def __init__(
        self,
        *,
        engine: Engine,
        graphql: GraphQLAPI,
        api_key: str,
        throttle: Throttle,
        faults: FaultInjector,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.graphql = graphql
        self.rest = RestAPI(engine)
        self.throttle = throttle
        self.faults = faults
        self._api_key = api_key.encode("utf-8")
        self._clock = clock
        self.requests: deque[RequestRecord] = deque(maxlen=REQUEST_LOG_MAXLEN)

    def __repr__(self) -> str:
        return f"App(engine={self.engine!r})"

    # -- entry point ----------------------------------------------------------------------

    def handle(
        self,
        method: str,
        path: str,
        query: str = "",
        body: bytes = b"",
        authorization: str | None = None,
    ) -> Response:
        """Answer one request.

        Args:
            method: HTTP method (any case).
            path: Decoded path, without the query string.
            query: Raw (percent-encoded) query string, without ``?``.
            body: Raw body.
            authorization: The ``Authorization`` header, if any.

        Returns:
            The response; ``drop=True`` means the answer must be lost.
        """
        method = method.upper()
        started = self._clock()
        trace = _Trace()
        # Express routes HEAD to the GET handlers: same status and headers, no body.
        routed = "GET" if method == "HEAD" else method
        try:
            response = self._dispatch(routed, path, query, body, authorization, trace)
        except SandboxError as error:  # raised outside a front-end's own handling
            response = rest_error_response(error)
        except Exception:
            logger.exception("Unexpected error on %s %s", method, path)
            response = rest_error_response(internal_error())
        self.requests.append(
            RequestRecord(
                method=method,
                path=path,
                status=response.status,
                time=started,
                n_records=trace.n_records,
                root_fields=tuple(trace.root_fields),
                throttled=trace.throttled,
                dropped=response.drop,
                faulted=trace.faulted,
            )
        )
        return response

    # -- dispatch -------------------------------------------------------------------------

    def _dispatch(
        self,
        method: str,
        path: str,
        query: str,
        body: bytes,
        authorization: str | None,
        trace: _Trace,
    ) -> Response:
        if len(path) > 1 and path.endswith("/"):
            path = path.rstrip("/") or "/"
        parts = [p for p in path.split("/") if p]
        if path in ("/graphql", "/metadata"):
            if method != "POST":
                return rest_error_response(method_not_allowed(method, path))
            return self._graphql(path == "/graphql", body, authorization, trace)
        if path == "/healthz" and method == "GET":
            return json_response(200, {"status": "ok"})
        if len(parts) < 2 or parts[0] != "rest":
            return rest_error_response(route_not_found(method, path))
        if method not in REST_METHODS:
            return rest_error_response(route_not_found(method, path))
        parsed = self._rest_body(body)
        if isinstance(parsed, Response):
            return parsed
        params = dict(parse_qsl(query, keep_blank_values=True)) if query else {}
        auth_error = self._authenticate(authorization)
        if auth_error is not None:
            return rest_error_response(auth_error)
        if parts[1] == "metadata":
            return self._run_rest(
                lambda: self.rest.metadata(method, parts[2:], params, parsed), trace
            )
        return self._rest_core(method, parts[1:], params, parsed, trace)

    # -- auth -----------------------------------------------------------------------------

    def _authenticate(self, authorization: str | None) -> SandboxError | None:
        """None when the bearer token is the API key, else Twenty's auth error."""
        token = ""
        if authorization:
            scheme, _, rest = authorization.strip().partition(" ")
            if scheme.lower() == "bearer":
                token = rest.strip()
        if not token:
            return _auth_error("Missing authentication token", forbidden=True)
        if hmac.compare_digest(token.encode("utf-8"), self._api_key):
            return None
        if token.count(".") == 2:  # shaped like a JWT: the signature check fails
            return _auth_error("Token invalid.", forbidden=False)
        return _auth_error("No payload", forbidden=False)

    # -- REST -----------------------------------------------------------------------------

    @staticmethod
    def _rest_body(body: bytes) -> Any:
        """The decoded JSON body, None when empty, or an error :class:`Response`."""
        if len(body) > MAX_BODY_BYTES:
            return rest_error_response(
                SandboxError("request entity too large", code="PAYLOAD_TOO_LARGE", status=413)
            )
        if not body.strip():
            return None
        try:
            return json.loads(body)
        except (ValueError, RecursionError) as exc:
            return rest_error_response(
                SandboxError(f"Invalid JSON in request body: {_json_error(exc)}", status=400)
            )

    def _run_rest(self, run: Callable[[], RestResult], trace: _Trace) -> Response:
        try:
            result = run()
        except SandboxError as error:
            if error.status == 429:
                trace.throttled = True
            return rest_error_response(error)
        if result.root_field:
            trace.root_fields.append(result.root_field)
        trace.n_records = result.n_records
        return json_response(result.status, result.body, result.headers)

    def _rest_core(
        self, method: str, parts: list[str], params: dict[str, str], body: Any, trace: _Trace
    ) -> Response:
        self.faults.wait()
        fault = self.faults.next_fault()
        if fault is not None:
            trace.faulted = True
        charge = self._rest_charge(fault)
        response = self._run_rest(
            lambda: self.rest.core(method, parts, params, body, charge), trace
        )
        if fault is not None and fault.drop:
            response.drop = True
        if response.status < 400 and self.engine.profile.rate_limit_headers_on_success:
            response.headers.update(self.throttle.success_headers())
        return response

    def _rest_charge(self, fault: Fault | None) -> Callable[[], None]:
        """The token charge of a REST core call; an injected error refuses it there."""

        def charge() -> None:
            if fault is not None and fault.status is not None:
                raise self._injected_refusal(fault)
            self.throttle.consume()
            self.engine.quotas.check_allowance()

        return charge

    def _injected_refusal(self, fault: Fault) -> SandboxError:
        """An injected status in Twenty's own shape: 429 as the throttle answers, 402 and
        409 as the usage-limit module does (profiles with quotas), others generic."""
        assert fault.status is not None
        if fault.status == 429:
            return self.throttle.refusal(retry_after=fault.retry_after)
        quota = self.engine.quotas.refusal(fault.status, self.engine)
        if quota is not None:
            return quota
        return injected_error(fault.status, fault.retry_after)

    def _usage_refusal(self, fault: Fault | None) -> bool:
        """The injected fault is answered per GraphQL root field (429, quota 402/409)."""
        if fault is None or fault.status is None:
            return False
        return fault.status == 429 or self.engine.quotas.refusal(fault.status) is not None

    # -- GraphQL --------------------------------------------------------------------------

    def _graphql(
        self, core: bool, body: bytes, authorization: str | None, trace: _Trace
    ) -> Response:
        if len(body) > MAX_BODY_BYTES:
            return rest_error_response(
                SandboxError("request entity too large", code="PAYLOAD_TOO_LARGE", status=413)
            )
        try:
            payload = json.loads(body) if body.strip() else None
        except (ValueError, RecursionError):
            return self._graphql_bad_request("POST body sent invalid JSON.")
        if not isinstance(payload, dict):
            kind = "null" if payload is None else type(payload).__name__
            return self._graphql_bad_request(
                f"POST body is expected to be object but received {kind}"
            )
        auth_error = self._authenticate(authorization)
        if auth_error is not None:
            return json_response(GRAPHQL_ERROR_HTTP_STATUS, graphql_error_body(auth_error))
        if not core:
            result = self.graphql.execute_metadata(payload)
            data = result.get("data")
            if isinstance(data, dict):
                trace.root_fields.extend(data)
                trace.n_records = sum(count_records(v) for v in data.values())
            return json_response(200, result)
        return self._graphql_core(payload, trace)

    def _graphql_core(self, payload: JSON, trace: _Trace) -> Response:
        self.faults.wait()
        fault = self.faults.next_fault()
        if fault is not None:
            trace.faulted = True
        refuse = self._usage_refusal(fault)
        if fault is not None and fault.status is not None and not refuse:
            error = injected_error(fault.status, fault.retry_after)
            status = fault.status if GRAPHQL_INJECTED_ERROR_USES_FAULT_STATUS else 200
            return json_response(status, graphql_error_body(error), error.headers)
        headers: dict[str, str] = {}

        def charge(root_field: str) -> None:
            trace.root_fields.append(root_field)
            try:
                if refuse and fault is not None:
                    raise self._injected_refusal(fault)
                self.throttle.consume()
                self.engine.quotas.check_allowance()
            except SandboxError as error:
                trace.throttled = error.status == 429
                # Only an injected refusal announces a wait in a header: Twenty's own
                # GraphQL throttle answers put it (era 4) in the extensions only.
                if refuse and "Retry-After" in error.headers:
                    headers["Retry-After"] = error.headers["Retry-After"]
                raise

        result = self.graphql.execute_core(payload, charge=charge)
        data = result.get("data")
        if isinstance(data, dict):
            trace.n_records = sum(count_records(v) for v in data.values())
        response = json_response(200, result, headers)
        if fault is not None and fault.drop:
            response.drop = True
        return response

    @staticmethod
    def _graphql_bad_request(message: str) -> Response:
        body = {"errors": [{"message": message, "extensions": {"code": "BAD_REQUEST"}}]}
        return json_response(GRAPHQL_BAD_REQUEST_HTTP_STATUS, body)


def _json_error(exc: Exception) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at position {exc.pos}"
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return "not valid UTF-8 JSON"
