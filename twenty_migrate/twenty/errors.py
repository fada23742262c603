"""Every exception twenty_migrate raises on purpose, and how Twenty's answers map onto them.

::

    TwentyMigrateError                    base of everything below
    ├── ConfigError(…, ValueError)        missing or malformed settings (no API key, bad URL)
    │   └── WorkspaceUnavailableError     connect(): key refused or URL unreachable; one line
    ├── TwentyAPIError                    talking to Twenty failed; .request .response .messages
    │   │                                 .code .sub_code .user_friendly_message
    │   ├── APIConnectionError            timeout, dropped connection; retryable; .maybe_applied
    │   └── APIStatusError                Twenty answered an error; .status_code .method .url .body
    │       ├── BadRequestError      400  validation, bad input (GraphQL BAD_USER_INPUT and others)
    │       ├── AuthenticationError  401  missing, invalid or expired API key (UNAUTHENTICATED)
    │       ├── PermissionDeniedError 403 the key's role may not do this (FORBIDDEN)
    │       ├── NotFoundError        404  unknown record (NOT_FOUND)
    │       ├── ConflictError        409  conflict (CONFLICT)
    │       ├── QuotaExceededError   402/409  an allowance or the workspace's record limit is
    │       │                             used up (QUOTA_EXHAUSTED); terminal, never retried;
    │       │                             .limit_kind .limit
    │       ├── RateLimitError       429  throttled (any era's shape); retryable;
    │       │                             .retry_after .limit .window_ms
    │       └── ServerError          5xx  Twenty failed (INTERNAL_SERVER_ERROR, TIMEOUT); retryable
    ├── SchemaError                       object or field missing from the workspace, wrong type
    │   └── MappingError                  a field map names unknown columns or fields
    ├── ValidationFailed                  raised by report.raise_for_failures(); .report
    ├── ImportFailed                      raised by result.raise_for_failures(); .result .run_id
    └── JournalError                      run directory unreadable or inconsistent
        └── PlanMismatchError             resume attempted with a different plan

Status codes map to classes through one table, :data:`STATUS_ERRORS`, used by
:func:`raise_for_status`; GraphQL ``extensions.code`` values map through
:data:`GRAPHQL_ERRORS`, used by :func:`error_from_graphql`. ``str(error)`` is Twenty's own
message (REST ``messages[0]``, GraphQL ``errors[0].message``). Exceptions pickle; the
HTTP request and response objects are left out of the pickle. No exception ever holds an
API key: requests attached to errors have their ``Authorization`` header redacted.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import httpx

from twenty_migrate.twenty.ratelimit import Throttle, parse_retry_after, parse_throttle

__all__ = [
    "GRAPHQL_ERRORS",
    "REDACTED",
    "STATUS_ERRORS",
    "APIConnectionError",
    "APIStatusError",
    "AuthenticationError",
    "BadRequestError",
    "ConfigError",
    "ConflictError",
    "ImportFailed",
    "InsecureTransportWarning",
    "JournalError",
    "MappingError",
    "NotFoundError",
    "PermissionDeniedError",
    "PlanMismatchError",
    "QuotaExceededError",
    "RateLimitError",
    "SchemaError",
    "ServerError",
    "TwentyAPIError",
    "TwentyMigrateError",
    "ValidationFailed",
    "WorkspaceUnavailableError",
    "error_from_graphql",
    "is_duplicate_error",
    "is_quota_refusal",
    "raise_for_status",
    "redact_request",
]

REDACTED = "[redacted]"
_SECRET_HEADERS = ("authorization", "cookie", "x-api-key")


class InsecureTransportWarning(UserWarning):
    """The API key is about to travel over plain http to a host that is not this machine."""


def _restore(cls: type[BaseException], args: tuple[Any, ...], state: dict[str, Any]) -> Any:
    error = cls.__new__(cls)
    BaseException.__init__(error, *args)
    error.__dict__.update(state)
    return error


class TwentyMigrateError(Exception):
    """Base class of every exception twenty_migrate raises on purpose."""

    retryable: ClassVar[bool] = False
    is_throttle: ClassVar[bool] = False

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only constructors defeat Exception's default pickling; httpx objects
        # (which may hold sockets or streams) are dropped.
        state = {
            key: None if isinstance(value, (httpx.Request, httpx.Response)) else value
            for key, value in self.__dict__.items()
        }
        return (_restore, (type(self), self.args, state))


class ConfigError(TwentyMigrateError, ValueError):
    """Settings are missing or malformed; the message says which and how to fix it."""


class TwentyAPIError(TwentyMigrateError):
    """Talking to Twenty failed.

    Attributes:
        message: Twenty's own message (also ``str(error)``).
        messages: Every message the answer carried.
        code: REST ``error`` name or GraphQL ``extensions.code`` (``"BAD_USER_INPUT"``).
        sub_code: GraphQL ``extensions.subCode``, Twenty's domain code (``"INVALID_ARGS_DATA"``).
        user_friendly_message: GraphQL ``extensions.userFriendlyMessage``, when present.
        request: The request (Authorization redacted), or None.
        response: The response, or None when no answer came back.
    """

    def __init__(
        self,
        message: str,
        *,
        request: httpx.Request | None = None,
        response: httpx.Response | None = None,
        messages: Sequence[str] | None = None,
        code: str | None = None,
        sub_code: str | None = None,
        user_friendly_message: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.messages = list(messages) if messages else [message]
        self.code = code
        self.sub_code = sub_code
        self.user_friendly_message = user_friendly_message
        self.request = redact_request(request) if request is not None else None
        self.response = response

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class APIConnectionError(TwentyAPIError):
    """No answer: connection refused or dropped, or a timeout.

    ``maybe_applied`` is True when the request had been sent, so Twenty may have applied it
    even though the answer was lost: look the records up before sending a write again.
    """

    retryable = True

    def __init__(self, message: str, *, maybe_applied: bool = False, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.maybe_applied = maybe_applied


class APIStatusError(TwentyAPIError):
    """Twenty answered with an error.

    Attributes:
        status_code: HTTP status of the answer. GraphQL errors usually come with 200; use
            the class or ``code`` to tell them apart.
        method: HTTP method of the request.
        url: URL of the request.
        body: The parsed JSON body (or the text when it was not JSON).
        retry_after: Seconds to wait when the answer said (``Retry-After``), else None.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        method: str | None = None,
        url: str | None = None,
        body: Any = None,
        retry_after: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.status_code = status_code
        self.method = method
        self.url = url
        self.body = body
        self.retry_after = retry_after

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.message!r}, status_code={self.status_code}, "
            f"method={self.method!r}, url={self.url!r})"
        )


class BadRequestError(APIStatusError):
    """400 / GraphQL BAD_USER_INPUT and the like: Twenty refused the input. Fix the data."""


class AuthenticationError(APIStatusError):
    """401 / UNAUTHENTICATED: the API key is missing, invalid, expired or revoked."""


class PermissionDeniedError(APIStatusError):
    """403 / FORBIDDEN: the API key's role is not allowed to do this."""


class NotFoundError(APIStatusError):
    """404 / NOT_FOUND: no such record (or object)."""


class ConflictError(APIStatusError):
    """409 / CONFLICT: the request conflicts with existing data."""


class QuotaExceededError(APIStatusError):
    """402 / 409 ``RECORD limit reached for this workspace`` / GraphQL QUOTA_EXHAUSTED.

    Twenty's usage-limit module refuses the call whole when a paid allowance (402) or the
    workspace's record limit (409, ``WORKSPACE_RECORD_LIMIT``) is used up (twenty-api.md
    §13). Nothing was written, and sending again will not help until the limit is raised:
    the error is terminal, never retried.

    Attributes:
        limit_kind: Twenty's ``limitKind`` (``"stock"`` for the record limit, ``"quota"``),
            when the answer said.
        exhausted_kind: Twenty's ``exhaustedKind``: ``"allowance"`` (a paid credit
            allowance, whose ``limit`` counts credits) or ``"limit"``, when the answer said.
        limit: The limit, when the answer said (records for the record limit).
    """

    def __init__(
        self,
        message: str,
        *,
        limit_kind: str | None = None,
        exhausted_kind: str | None = None,
        limit: int | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(message, **kw)
        self.limit_kind = limit_kind
        self.exhausted_kind = exhausted_kind
        self.limit = limit


class RateLimitError(APIStatusError):
    """Twenty throttled the call (REST 429, GraphQL LIMIT_REACHED or RATE_LIMITED).

    A throttled call was not applied, so it is always safe to send again.

    Attributes:
        retry_after: Seconds to wait, when the answer said.
        limit: The exhausted window's budget, when the answer said.
        window_ms: That window's length in milliseconds, when the answer said.
        style: ``"newest"`` (era 4 headers or fields) or ``"common"`` (era 3).
    """

    retryable = True
    is_throttle = True

    def __init__(
        self,
        message: str,
        *,
        limit: int | None = None,
        window_ms: int | None = None,
        style: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.limit = limit
        self.window_ms = window_ms
        self.style = style


class ServerError(APIStatusError):
    """5xx / INTERNAL_SERVER_ERROR: Twenty failed. Retried for calls that are safe to repeat."""

    retryable = True


class SchemaError(TwentyMigrateError):
    """An object or field is missing from the workspace, or has another type than expected."""


class MappingError(SchemaError):
    """A field map names unknown source columns or Twenty fields, or is ambiguous."""


class ValidationFailed(TwentyMigrateError):
    """Rows failed validation; raised only by ``report.raise_for_failures()``."""

    def __init__(self, message: str, *, report: Any = None) -> None:
        super().__init__(message)
        self.report = report

    @property
    def failures(self) -> Any:
        """The report's failure cases, if it has any."""
        return getattr(self.report, "failures", None)


class ImportFailed(TwentyMigrateError):
    """Rows failed to import; raised only by ``result.raise_for_failures()``."""

    def __init__(self, message: str, *, result: Any = None, run_id: str | None = None) -> None:
        super().__init__(message)
        self.result = result
        self.run_id = run_id

    @property
    def failures(self) -> Any:
        """The result's failures, if it has any."""
        return getattr(self.result, "failures", None)


class JournalError(TwentyMigrateError):
    """A run's directory or journal is unreadable or inconsistent."""

    def __init__(self, message: str, *, run_id: str | None = None) -> None:
        super().__init__(message)
        self.run_id = run_id


class PlanMismatchError(JournalError):
    """A run was resumed with a plan that differs from the one it started with."""


# ------------------------------------------------------------ errors for people (connect, CLI)


class WorkspaceUnavailableError(ConfigError):
    """``connect()`` could not use the workspace: the key was refused or the URL not reached.

    The message is one line: what went wrong and which setting to fix. In a notebook it
    renders as that line alone, without the library's frames.

    Attributes:
        base_url: The URL tried.
        reason: What went wrong (``the key was refused by https://...``).
        next_step: What to change (``set TWENTY_API_KEY (Settings → APIs & Webhooks)``).
    """

    def __init__(self, reason: str, next_step: str, *, base_url: str) -> None:
        super().__init__(f"{reason}: {next_step}.")
        self.base_url = base_url
        self.reason = reason
        self.next_step = next_step

    def _render_traceback_(self) -> list[str]:
        # IPython shows only these lines instead of the traceback (its documented hook).
        return [f"{type(self).__name__}: {self}"]


STATUS_ERRORS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    402: QuotaExceededError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    429: RateLimitError,
}
"""HTTP status -> class. Other 5xx: :class:`ServerError`; anything else: :class:`APIStatusError`."""

GRAPHQL_ERRORS: dict[str, type[APIStatusError]] = {
    "UNAUTHENTICATED": AuthenticationError,
    "FORBIDDEN": PermissionDeniedError,
    "NOT_FOUND": NotFoundError,
    "CONFLICT": ConflictError,
    "RATE_LIMITED": RateLimitError,
    "QUOTA_EXHAUSTED": QuotaExceededError,
    "INTERNAL_SERVER_ERROR": ServerError,
    "TIMEOUT": ServerError,
}
"""GraphQL ``extensions.code`` -> class; every other code is :class:`BadRequestError`."""

_DUPLICATE_RE = re.compile(r"duplicate|unique|already exists", re.IGNORECASE)
#: Twenty's record-limit message (``RECORD limit reached for this workspace``) and the
#: usage-limit module's quota wording.
_QUOTA_RE = re.compile(r"limit reached for this workspace|quota", re.IGNORECASE)
#: Statuses of a quota refusal: 402 (allowance used up) and 409 (record limit). Twenty
#: answers data conflicts on record writes with 400 / BAD_USER_INPUT (twenty-api.md §7.4),
#: so a 409 to a record write is the record limit even when its body does not say so.
QUOTA_STATUSES = frozenset({402, 409})


def redact_request(request: httpx.Request) -> httpx.Request:
    """Blank the secret headers of a request that has been sent, in place, and return it."""
    for name in _SECRET_HEADERS:
        if name in request.headers:
            request.headers[name] = REDACTED
    return request


def _status_class(status_code: int) -> type[APIStatusError]:
    if status_code in STATUS_ERRORS:
        return STATUS_ERRORS[status_code]
    return ServerError if status_code >= 500 else APIStatusError


def _parse_body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        return response.text


def _messages_of(body: Any, response: httpx.Response) -> list[str]:
    if isinstance(body, dict):
        for key in ("messages", "message"):
            value = body.get(key)
            if isinstance(value, list) and value:
                return [str(item) for item in value]
            if isinstance(value, str) and value:
                return [value]
    text = body.strip()[:300] if isinstance(body, str) else ""
    return [text or f"HTTP {response.status_code} {response.reason_phrase}".strip()]


def _request_of(response: httpx.Response) -> httpx.Request | None:
    try:
        return response.request
    except RuntimeError:  # a Response built by hand has no request
        return None


def _throttle_kwargs(throttle: Throttle | None) -> dict[str, Any]:
    if throttle is None:
        return {}
    return {
        "retry_after": throttle.retry_after,
        "limit": throttle.limit,
        "window_ms": throttle.window_ms,
        "style": throttle.style,
    }


def _quota_kwargs(body: Any) -> dict[str, Any]:
    """``limit_kind`` and ``limit`` of a quota answer (REST body or GraphQL extensions)."""
    if not isinstance(body, Mapping):
        return {}
    kind, exhausted, limit = body.get("limitKind"), body.get("exhaustedKind"), body.get("limit")
    return {
        "limit_kind": kind if isinstance(kind, str) else None,
        "exhausted_kind": exhausted if isinstance(exhausted, str) else None,
        "limit": limit if isinstance(limit, int) and not isinstance(limit, bool) else None,
    }


def _is_quota(status: int | None, code: Any, messages: Sequence[str]) -> bool:
    return status == 402 or code == "QUOTA_EXHAUSTED" or any(_QUOTA_RE.search(m) for m in messages)


def raise_for_status(response: httpx.Response) -> None:
    """Raise the tree's class for a REST (or plain HTTP) error answer; do nothing on 2xx/3xx.

    Args:
        response: A response from Twenty.

    Raises:
        APIStatusError: The subclass :data:`STATUS_ERRORS` names for the status, with
            Twenty's ``messages`` and ``error`` name; :class:`RateLimitError` for any
            throttle answer, with its retry-after, limit and window when given.
    """
    if response.status_code < 400:
        return
    body = _parse_body(response)
    messages = _messages_of(body, response)
    throttle = parse_throttle(body, status_code=response.status_code, headers=response.headers)
    code = body.get("error") if isinstance(body, dict) else None
    kwargs = _throttle_kwargs(throttle)
    if throttle:
        cls: type[APIStatusError] = RateLimitError
    elif _is_quota(response.status_code, code, messages):
        cls, kwargs = QuotaExceededError, _quota_kwargs(body)
    else:
        cls = _status_class(response.status_code)
    if not throttle and "retry-after" in response.headers:
        kwargs["retry_after"] = parse_retry_after(response.headers["retry-after"])
    request = _request_of(response)
    raise cls(
        messages[0],
        messages=messages,
        code=code if isinstance(code, str) else None,
        status_code=response.status_code,
        method=request.method if request is not None else None,
        url=str(request.url) if request is not None else None,
        body=body,
        request=request,
        response=response,
        **kwargs,
    )


def error_from_graphql(
    errors: Sequence[Mapping[str, Any]], response: httpx.Response | None = None
) -> APIStatusError:
    """Build (not raise) the tree's exception for a GraphQL ``errors`` list.

    The class comes from ``errors[0].extensions.code`` through :data:`GRAPHQL_ERRORS`, except
    that a throttle in any of the errors (era 3 BAD_USER_INPUT ``Limit reached (...)``, era 4
    RATE_LIMITED) gives :class:`RateLimitError`. A missing code falls back to the HTTP status.

    Args:
        errors: The ``errors`` array of a GraphQL answer (must not be empty).
        response: The HTTP response it came in, if any.
    """
    if not errors:
        raise ValueError("error_from_graphql needs at least one error")
    throttle = parse_throttle({"errors": list(errors)})
    first = errors[0]
    if throttle is not None:
        # The throttled field's error first, so str(error) is the throttle message.
        first = next(e for e in errors if parse_throttle(e) is not None)
    messages = [str(e.get("message", "")) for e in errors]
    messages.remove(str(first.get("message", "")))
    messages.insert(0, str(first.get("message", "")))
    ext = first.get("extensions")
    ext = ext if isinstance(ext, Mapping) else {}
    code, sub_code = ext.get("code"), ext.get("subCode")
    status = response.status_code if response is not None else 200
    extra: dict[str, Any] = _throttle_kwargs(throttle)
    if throttle is not None:
        cls: type[APIStatusError] = RateLimitError
    elif _is_quota(status, code, messages[:1]):
        cls, extra = QuotaExceededError, _quota_kwargs(ext)
    elif isinstance(code, str) and code in GRAPHQL_ERRORS:
        cls = GRAPHQL_ERRORS[code]
    elif code is None and status >= 400:
        cls = _status_class(status)
    else:
        cls = BadRequestError
    request = _request_of(response) if response is not None else None
    friendly = ext.get("userFriendlyMessage")
    return cls(
        messages[0] or "GraphQL error",
        messages=messages,
        code=code if isinstance(code, str) else None,
        sub_code=sub_code if isinstance(sub_code, str) else None,
        user_friendly_message=friendly if isinstance(friendly, str) else None,
        status_code=status,
        method=request.method if request is not None else None,
        url=str(request.url) if request is not None else None,
        body={"errors": [dict(e) for e in errors]},
        request=request,
        response=response,
        **extra,
    )


def is_duplicate_error(exc: BaseException) -> bool:
    """True when Twenty refused a write because a unique value is already taken.

    Matches :class:`ConflictError` and any API error whose message, user-friendly message
    or sub-code matches ``duplicate|unique|already exists`` (case-insensitive); Twenty's
    exact wording changes between versions (twenty-api.md §7.4).
    """
    if isinstance(exc, ConflictError):
        return True
    if not isinstance(exc, TwentyAPIError) or exc.is_throttle:
        return False
    texts = [*exc.messages, exc.sub_code or "", exc.user_friendly_message or ""]
    return any(_DUPLICATE_RE.search(text) for text in texts)


def is_quota_refusal(exc: BaseException) -> bool:
    """True when Twenty refused a record write because a quota is used up.

    That is a :class:`QuotaExceededError`, or any error answered with HTTP 402 or 409 (see
    :data:`QUOTA_STATUSES`; a proxy's or an older release's body may not say more).
    """
    if isinstance(exc, QuotaExceededError):
        return True
    return isinstance(exc, APIStatusError) and exc.status_code in QUOTA_STATUSES
