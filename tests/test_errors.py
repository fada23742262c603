"""The error tree, status and GraphQL-code mapping, pickling, duplicate detection."""

from __future__ import annotations

import pickle

import httpx
import pytest

from twenty_migrate.twenty import errors as e

SECRET = "sk-live-0123456789abcdefSECRET"


def response(status: int, body: object = None, *, headers=None, text: str | None = None):
    request = httpx.Request(
        "POST", "https://api.example.com/rest/people", headers={"Authorization": f"Bearer {SECRET}"}
    )
    if text is not None:
        return httpx.Response(status, text=text, headers=headers, request=request)
    return httpx.Response(status, json=body, headers=headers, request=request)


def test_tree_shape_and_retryability():
    assert issubclass(e.ConfigError, ValueError)
    assert issubclass(e.ConfigError, e.TwentyMigrateError)
    for cls in (e.APIConnectionError, e.APIStatusError):
        assert issubclass(cls, e.TwentyAPIError)
    for cls in e.STATUS_ERRORS.values():
        assert issubclass(cls, e.APIStatusError)
    assert issubclass(e.ServerError, e.APIStatusError)
    assert issubclass(e.MappingError, e.SchemaError)
    assert issubclass(e.PlanMismatchError, e.JournalError)
    for other in (e.SchemaError, e.ValidationFailed, e.ImportFailed, e.JournalError):
        assert issubclass(other, e.TwentyMigrateError)
    retryable = {
        cls
        for cls in vars(e).values()
        if isinstance(cls, type) and getattr(cls, "retryable", False)
    }
    assert retryable == {e.APIConnectionError, e.RateLimitError, e.ServerError}
    assert "TwentyMigrateError" in e.__doc__ and "PlanMismatchError" in e.__doc__


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, e.BadRequestError),
        (401, e.AuthenticationError),
        (402, e.QuotaExceededError),
        (403, e.PermissionDeniedError),
        (404, e.NotFoundError),
        (409, e.ConflictError),
        (429, e.RateLimitError),
        (405, e.APIStatusError),
        (413, e.APIStatusError),
        (422, e.APIStatusError),
        (500, e.ServerError),
        (502, e.ServerError),
        (503, e.ServerError),
        (504, e.ServerError),
    ],
)
def test_raise_for_status_maps_every_status(status, cls):
    body = {"statusCode": status, "error": "SomeException", "messages": ["first", "second"]}
    with pytest.raises(cls) as info:
        e.raise_for_status(response(status, body))
    error = info.value
    assert type(error) is cls
    assert str(error) == "first"
    assert error.messages == ["first", "second"]
    assert (error.status_code, error.code, error.method) == (status, "SomeException", "POST")
    assert error.url == "https://api.example.com/rest/people"
    assert error.body == body


def test_raise_for_status_passes_success():
    for status in (200, 201, 204, 304):
        e.raise_for_status(response(status, {"data": {}}))


def test_rest_messages_in_other_shapes():
    with pytest.raises(e.ServerError, match="Bad Gateway"):
        e.raise_for_status(response(502, text=""))
    with pytest.raises(e.ServerError, match="<html>oops"):
        e.raise_for_status(response(502, text="<html>oops</html>"))
    with pytest.raises(e.BadRequestError, match="plain message") as info:
        e.raise_for_status(response(400, {"message": "plain message"}))
    assert info.value.code is None


def test_rest_auth_errors_keep_twentys_code():
    body = {"statusCode": 401, "error": "UNAUTHENTICATED", "messages": ["Token invalid."]}
    with pytest.raises(e.AuthenticationError, match=r"^Token invalid\.$") as info:
        e.raise_for_status(response(401, body))
    assert info.value.code == "UNAUTHENTICATED"


def test_rest_429_era3_and_era4():
    era3 = {
        "statusCode": 429,
        "error": "HttpException",
        "messages": ["Limit reached (100 tokens per 60000 ms)"],
    }
    with pytest.raises(e.RateLimitError) as info:
        e.raise_for_status(response(429, era3))
    assert (info.value.retry_after, info.value.limit, info.value.window_ms) == (None, 100, 60000)
    era4 = {
        "statusCode": 429,
        "error": "RATE_LIMITED",
        "messages": ["Rate limit exceeded for apiKey: 3 requests per 60s."],
        "limit": 3,
        "periodCount": 60,
        "periodUnit": "second",
    }
    headers = {"Retry-After": "12", "X-RateLimit-Limit": "3"}
    with pytest.raises(e.RateLimitError) as info:
        e.raise_for_status(response(429, era4, headers=headers))
    assert (info.value.retry_after, info.value.limit, info.value.window_ms) == (12.0, 3, 60000)
    assert info.value.code == "RATE_LIMITED"


def test_retry_after_on_a_server_error():
    with pytest.raises(e.ServerError) as info:
        e.raise_for_status(response(503, {"messages": ["busy"]}, headers={"Retry-After": "3"}))
    assert info.value.retry_after == 3.0


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        ("UNAUTHENTICATED", e.AuthenticationError),
        ("FORBIDDEN", e.PermissionDeniedError),
        ("NOT_FOUND", e.NotFoundError),
        ("CONFLICT", e.ConflictError),
        ("RATE_LIMITED", e.RateLimitError),
        ("INTERNAL_SERVER_ERROR", e.ServerError),
        ("TIMEOUT", e.ServerError),
        ("BAD_USER_INPUT", e.BadRequestError),
        ("GRAPHQL_PARSE_FAILED", e.BadRequestError),
        ("GRAPHQL_VALIDATION_FAILED", e.BadRequestError),
        ("PERSISTED_QUERY_NOT_FOUND", e.BadRequestError),
        ("PERSISTED_QUERY_NOT_SUPPORTED", e.BadRequestError),
        ("EMAIL_NOT_VERIFIED", e.BadRequestError),
        ("METHOD_NOT_ALLOWED", e.BadRequestError),
        ("METADATA_VALIDATION_FAILED", e.BadRequestError),
        ("QUOTA_EXHAUSTED", e.QuotaExceededError),
        ("SOMETHING_NEW", e.BadRequestError),
    ],
)
def test_graphql_codes_map_to_the_tree(code, cls):
    errors = [
        {
            "message": "Twenty says no",
            "path": ["createPeople"],
            "extensions": {
                "code": code,
                "subCode": "INVALID_ARGS_DATA",
                "userFriendlyMessage": "Nope.",
            },
        },
        {"message": "second problem", "extensions": {"code": code}},
    ]
    error = e.error_from_graphql(errors, response(200, {"errors": errors}))
    assert type(error) is cls
    assert str(error) == "Twenty says no"
    assert error.messages == ["Twenty says no", "second problem"]
    assert (error.code, error.sub_code, error.user_friendly_message) == (
        code,
        "INVALID_ARGS_DATA",
        "Nope.",
    )
    assert error.status_code == 200


def test_graphql_limit_reached_is_a_rate_limit_error():
    errors = [
        {
            "message": "Limit reached (50 tokens per 60000 ms)",
            "extensions": {"code": "BAD_USER_INPUT", "subCode": "LIMIT_REACHED"},
        }
    ]
    error = e.error_from_graphql(errors)
    assert isinstance(error, e.RateLimitError)
    assert (error.limit, error.window_ms, error.retry_after) == (50, 60000, None)


def test_graphql_rate_limited_carries_retry_after():
    errors = [
        {"message": "other", "extensions": {"code": "BAD_USER_INPUT"}},
        {
            "message": "Rate limit exceeded for apiKey: 100 requests per 60s.",
            "extensions": {"code": "RATE_LIMITED", "retryAfterMs": 1500, "limit": 100},
        },
    ]
    error = e.error_from_graphql(errors)
    assert isinstance(error, e.RateLimitError)
    assert str(error).startswith("Rate limit exceeded")
    assert error.retry_after == 1.5 and error.limit == 100 and error.window_ms == 60000


def test_graphql_without_code_falls_back_to_http_status():
    assert (
        type(e.error_from_graphql([{"message": "x"}], response(401, {}))) is e.AuthenticationError
    )
    assert type(e.error_from_graphql([{"message": "x"}], response(500, {}))) is e.ServerError
    assert type(e.error_from_graphql([{"message": "x"}])) is e.BadRequestError
    with pytest.raises(ValueError):
        e.error_from_graphql([])


def test_requests_attached_to_errors_are_redacted():
    with pytest.raises(e.BadRequestError) as info:
        e.raise_for_status(response(400, {"messages": ["bad"]}))
    error = info.value
    assert error.request is not None
    assert error.request.headers["authorization"] == e.REDACTED
    assert error.response is not None
    assert error.response.request.headers["authorization"] == e.REDACTED
    for text in (str(error), repr(error), repr(error.request), str(error.body)):
        assert SECRET not in text


ALL_ERRORS = [
    e.TwentyMigrateError("base"),
    e.ConfigError("no key"),
    e.TwentyAPIError("api", code="X", sub_code="Y", messages=["api", "more"]),
    e.APIConnectionError("dropped", maybe_applied=True),
    e.BadRequestError(
        "bad", status_code=400, method="POST", url="https://x/graphql", body={"a": 1}
    ),
    e.RateLimitError("slow down", retry_after=2.0, limit=50, window_ms=60000),
    e.ServerError("boom", status_code=500),
    e.SchemaError("no such object"),
    e.MappingError("unknown column"),
    e.ValidationFailed("3 rows failed", report={"failures": 3}),
    e.ImportFailed("2 rows failed", result={"x": 1}, run_id="run-1"),
    e.JournalError("unreadable", run_id="run-1"),
    e.PlanMismatchError("plan changed", run_id="run-2"),
]


@pytest.mark.parametrize("error", ALL_ERRORS, ids=lambda err: type(err).__name__)
def test_every_error_pickles(error):
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert str(copy) == str(error)
    assert copy.__dict__ == error.__dict__


def test_pickling_drops_http_objects_and_keeps_the_rest():
    with pytest.raises(e.NotFoundError) as info:
        e.raise_for_status(response(404, {"messages": ["Record not found"]}))
    data = pickle.dumps(info.value)
    assert SECRET.encode() not in data
    copy = pickle.loads(data)
    assert copy.request is None and copy.response is None
    assert (copy.status_code, copy.messages, copy.url) == (
        404,
        ["Record not found"],
        info.value.url,
    )


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            e.BadRequestError(
                "A duplicate entry was detected", sub_code="DUPLICATE_ENTRY_DETECTED"
            ),
            True,
        ),
        (e.BadRequestError("Duplicate Emails. Please set a unique one."), True),
        (e.BadRequestError("x", user_friendly_message="This record already exists."), True),
        (e.BadRequestError("Record already exists"), True),
        (e.BadRequestError("Something", sub_code="DUPLICATE_ENTRY_DETECTED"), True),
        (e.ConflictError("conflict"), True),
        (e.BadRequestError("Invalid UUID value 'x' for field \"id\""), False),
        (e.RateLimitError("Limit reached"), False),
        (ValueError("duplicate"), False),
    ],
)
def test_is_duplicate_error(error, expected):
    assert e.is_duplicate_error(error) is expected


def test_failures_shortcuts():
    class Report:
        failures = ["row 3"]

    assert e.ValidationFailed("x", report=Report()).failures == ["row 3"]
    assert e.ImportFailed("x").failures is None
