"""Sending one call to Twenty: auth header, rate limit, throttle waits, retries, parsing.

:class:`Sender` is the part of :class:`~twenty_migrate.TwentyClient` that talks HTTP.
It is thread-safe (one ``httpx.Client``, one limiter, locked counters). The API key is
added to each request as it is built and blanked on the request object as soon as the
answer (or the failure) is in, so no response, exception or log line carries it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from twenty_migrate.twenty.config import mask_secret
from twenty_migrate.twenty.errors import (
    REDACTED,
    APIConnectionError,
    APIStatusError,
    RateLimitError,
    TwentyAPIError,
    error_from_graphql,
    raise_for_status,
    redact_request,
)
from twenty_migrate.twenty.ratelimit import RateLimiter, RetryPolicy

__all__ = ["ClientStats", "Sender"]

logger = logging.getLogger("twenty_migrate.twenty.client")

# Connection failures where nothing reached the server: always safe to retry.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_RETRYABLE_TRANSPORT = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


@dataclass
class ClientStats:
    """Counters of what the client did; thread-safe.

    Attributes:
        calls: HTTP requests sent (every attempt, metadata included).
        throttled: Answers that were throttles (waited out and re-sent; not failures).
        retried: Re-sends after a server error or connection failure.
        server_errors: 5xx / INTERNAL_SERVER_ERROR answers.
        dropped: Requests that got no answer (timeouts, dropped connections).
        errors: Calls that raised to the caller.
    """

    calls: int = 0
    throttled: int = 0
    retried: int = 0
    server_errors: int = 0
    dropped: int = 0
    errors: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, **counts: int) -> None:
        """Add to one or more counters atomically."""
        with self._lock:
            for name, value in counts.items():
                setattr(self, name, getattr(self, name) + value)

    def snapshot(self) -> dict[str, int]:
        """A consistent copy of every counter."""
        with self._lock:
            return {
                "calls": self.calls,
                "throttled": self.throttled,
                "retried": self.retried,
                "server_errors": self.server_errors,
                "dropped": self.dropped,
                "errors": self.errors,
            }


class Sender:
    """Sends calls to one Twenty workspace within its rate limit; thread-safe.

    Args:
        base_url: Workspace URL.
        api_key: API key (kept private; ``masked_key`` is safe to show).
        transport: httpx transport (None: the network).
        timeout: HTTP timeout in seconds.
        limiter: Client-side rate limiter, or None.
        retry: Retry policy.
        sleep: How to wait.
        max_connections: Connection pool size.
    """

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        transport: httpx.BaseTransport | None,
        timeout: float,
        limiter: RateLimiter | None,
        retry: RetryPolicy,
        sleep: Callable[[float], None],
        max_connections: int,
    ) -> None:
        self.base_url = base_url
        self._api_key = api_key
        self.masked_key = mask_secret(api_key)
        self.limiter = limiter
        self.retry = retry
        self.stats = ClientStats()
        self.on_throttle: Callable[[RateLimitError], None] | None = None
        """Told of each throttle (the client records the server's throttle style)."""
        self._sleep = sleep
        self._http = httpx.Client(
            base_url=base_url,
            transport=transport,
            timeout=timeout,
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
            headers={"User-Agent": "twenty-migrate", "Accept": "application/json"},
        )

    def __repr__(self) -> str:
        return f"Sender(base_url={self.base_url!r}, api_key={self.masked_key!r})"

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def call(
        self,
        method: str,
        path: str,
        *,
        graphql: bool,
        charge: bool,
        idempotent: bool,
        params: dict[str, Any] | None = None,
        json: Any = None,
    ) -> Any:
        """Send one call, waiting for the limiter, throttles and retry delays.

        Args:
            method: HTTP method.
            path: Path under the base URL.
            graphql: Parse the answer as GraphQL (``errors`` / ``data``).
            charge: Counts against Twenty's throttle (core calls; not metadata).
            idempotent: Safe to re-send after a server error or a lost answer.
            params: Query parameters.
            json: JSON body.

        Returns:
            The GraphQL ``data`` dict, or the parsed REST body (None when empty).

        Raises:
            TwentyAPIError: The tree's class for the failure.
        """
        failures = throttles = 0
        limiter = self.limiter if charge else None
        while True:
            if limiter is not None:
                limiter.acquire(self._sleep)
            try:
                result = self._attempt(method, path, params, json, graphql, limiter)
            except RateLimitError as exc:
                # A throttled call was not applied: always safe to send again.
                throttles += 1
                self.stats.add(throttled=1)
                if self.on_throttle is not None:
                    self.on_throttle(exc)
                delay = self.retry.delay(throttles, exc)
                if delay is None:
                    self.stats.add(errors=1)
                    raise
                logger.info("Throttled by Twenty (%s); waiting and re-sending", exc)
                if limiter is not None:
                    limiter.on_throttled(exc.retry_after, exc.limit, exc.window_ms, exc.style)
                elif delay > 0:
                    self._sleep(delay)
            except TwentyAPIError as exc:
                failures += 1
                if limiter is not None and isinstance(exc, APIStatusError):
                    limiter.on_accepted()  # answered, not throttled
                if isinstance(exc, APIConnectionError):
                    # Lost answers are safe to re-send only for idempotent calls; a refused
                    # connection reached nothing; a misconfigured one won't get better.
                    safe = isinstance(exc.__cause__, _RETRYABLE_TRANSPORT) and (
                        idempotent or not exc.maybe_applied
                    )
                else:
                    safe = idempotent
                delay = self.retry.delay(failures, exc) if safe else None
                if delay is None:
                    self.stats.add(errors=1)
                    raise
                self.stats.add(retried=1)
                logger.info(
                    "%s %s failed (%s); retry %d in %.2fs", method, path, exc, failures, delay
                )
                if delay > 0:
                    self._sleep(delay)
            else:
                if limiter is not None:
                    limiter.on_accepted()
                return result

    def _attempt(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None,
        json: Any,
        graphql: bool,
        limiter: RateLimiter | None = None,
    ) -> Any:
        request = self._http.build_request(
            method,
            path,
            params=params,
            json=json,
            headers={"Authorization": f"Bearer {self._api_key}"},
        )
        if logger.isEnabledFor(logging.DEBUG):
            headers = {
                k: (REDACTED if k.lower() == "authorization" else v)
                for k, v in request.headers.items()
            }
            logger.debug("%s %s headers=%s", request.method, request.url, headers)
        self.stats.add(calls=1)
        if limiter is not None:
            limiter.sent()  # the real send time, which threads and encoding may have delayed
        started = time.perf_counter()
        try:
            response = self._http.send(request)
        except httpx.TransportError as exc:
            self.stats.add(dropped=1)
            sent = not isinstance(exc, _NOT_SENT)
            what = (
                "The request was sent but no answer came back, so Twenty may have applied it; "
                "look the records up before sending it again."
                if sent
                else "Nothing reached Twenty. Check the URL and your network."
            )
            raise APIConnectionError(
                f"{method} {request.url}: {type(exc).__name__}: {exc or 'no answer'}. {what}",
                request=request,
                maybe_applied=sent,
            ) from exc
        finally:
            redact_request(request)
        logger.debug(
            "%s %s -> %d in %.0f ms",
            request.method,
            request.url,
            response.status_code,
            (time.perf_counter() - started) * 1000,
        )
        if response.status_code >= 500:
            self.stats.add(server_errors=1)
        return self._parse(response, graphql)

    def _parse(self, response: httpx.Response, graphql: bool) -> Any:
        body: Any = None
        if response.content:
            try:
                body = response.json()
            except ValueError:
                body = None
        if graphql and isinstance(body, dict) and body.get("errors"):
            error = error_from_graphql(body["errors"], response)
            if error.code == "INTERNAL_SERVER_ERROR" and response.status_code < 500:
                self.stats.add(server_errors=1)
            raise error
        raise_for_status(response)
        limit = response.headers.get("x-ratelimit-limit", "")
        if limit.isdigit() and self.limiter is not None:
            remaining = response.headers.get("x-ratelimit-remaining", "")
            self.limiter.learn(int(limit), None, int(remaining) if remaining.isdigit() else None)
        if response.content and body is None:
            raise APIStatusError(
                f"Twenty answered {response.status_code} with a body that is not JSON; is "
                f"{self.base_url} the API URL of your workspace?",
                status_code=response.status_code,
                method=response.request.method,
                url=str(response.request.url),
                body=response.text[:300],
                request=response.request,
                response=response,
            )
        if graphql:
            data = body.get("data") if isinstance(body, dict) else None
            return data if isinstance(data, dict) else {}
        return body
