"""Errors the sandbox returns, in Twenty's own words and shapes.

Engine code raises :class:`SandboxError`; the REST and GraphQL front-ends turn it into
Twenty's envelopes (REST ``{statusCode, error, messages}``, GraphQL
``errors[].extensions {code, subCode, userFriendlyMessage}``).
"""

from __future__ import annotations

from twenty_migrate.sandbox.engine.jsvalues import inspect_js

__all__ = ["SandboxError", "bad_request", "inspect_js", "not_found"]

REST_ERROR_NAMES: dict[int, str] = {
    400: "BadRequestException",
    401: "UnauthorizedException",
    403: "ForbiddenException",
    404: "NotFoundException",
    405: "MethodNotAllowedException",
    409: "ConflictException",
    413: "PayloadTooLargeException",
    422: "UnprocessableEntityException",
    429: "HttpException",
    500: "InternalServerErrorException",
    502: "BadGatewayException",
    503: "ServiceUnavailableException",
    504: "GatewayTimeoutException",
}

GRAPHQL_CODES_BY_STATUS: dict[int, str] = {
    400: "BAD_USER_INPUT",
    401: "UNAUTHENTICATED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    500: "INTERNAL_SERVER_ERROR",
}


class SandboxError(Exception):
    """An error Twenty would return. Front-ends turn it into REST or GraphQL envelopes."""

    def __init__(
        self,
        message: str,
        *,
        code: str = "BAD_REQUEST",
        status: int = 400,
        rest_error: str | None = None,
        graphql_code: str | None = None,
        user_friendly_message: str | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, object] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.rest_error = rest_error or REST_ERROR_NAMES.get(status, "HttpException")
        self.graphql_code = graphql_code or GRAPHQL_CODES_BY_STATUS.get(
            status, "INTERNAL_SERVER_ERROR" if status >= 500 else "BAD_USER_INPUT"
        )
        self.user_friendly_message = user_friendly_message or message
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})

    def rest_body(self) -> dict[str, object]:
        """The REST error body, as Twenty's HttpExceptionHandlerService writes it."""
        return {
            "statusCode": self.status,
            "error": self.rest_error,
            "messages": [self.message],
            **self.extra,
        }

    def graphql_extensions(self) -> dict[str, object]:
        """The ``extensions`` of a GraphQL error built from a Twenty CustomException."""
        return {
            "code": self.graphql_code,
            "subCode": self.code,
            "userFriendlyMessage": self.user_friendly_message,
            **self.extra,
        }


def bad_request(message: str, code: str = "INVALID_ARGS_DATA", **kwargs: object) -> SandboxError:
    """A 400 / BAD_USER_INPUT error (validation, bad arguments)."""
    return SandboxError(message, code=code, status=400, **kwargs)  # type: ignore[arg-type]


def not_found(message: str = "Record not found") -> SandboxError:
    """A 404 / NOT_FOUND error for a missing record."""
    return SandboxError(message, code="RECORD_NOT_FOUND", status=404, graphql_code="NOT_FOUND")
