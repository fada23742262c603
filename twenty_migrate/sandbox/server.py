"""The sandbox over real HTTP: a loopback server and the ``twenty-migrate sandbox`` command.

A :class:`http.server.ThreadingHTTPServer` (one thread per connection) speaks HTTP/1.1
with keep-alive and hands every request to :meth:`App.handle`. Answers are written in
one ``send`` with Nagle switched off, so small JSON answers do not wait on delayed ACKs.
A dropped answer (fault injection) closes the connection without writing a byte.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import socket
import sys
import threading
from collections.abc import Sequence
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType, TracebackType
from typing import TYPE_CHECKING
from urllib.parse import unquote

from twenty_migrate.sandbox.app import CONTENT_TYPE, MAX_BODY_BYTES, App, rest_error_response
from twenty_migrate.sandbox.errors import SandboxError

if TYPE_CHECKING:
    from twenty_migrate.sandbox.app import Response

logger = logging.getLogger("twenty_migrate.sandbox")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 3000
"""Twenty's own default port, so ``TWENTY_API_URL=http://127.0.0.1:3000`` just works."""

SERVER_NAME = "twenty-sandbox"

DRAIN_LIMIT_BYTES = 8 * MAX_BODY_BYTES
"""Oversized bodies up to this size are read and discarded before the 413 is sent."""


class SandboxHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server that serves one :class:`App`."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], app: App) -> None:
        self.app = app
        super().__init__(address, _Handler)

    def handle_error(self, request: object, client_address: object) -> None:
        """Log instead of printing a traceback; a client hanging up is routine."""
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError)):
            logger.debug("connection from %s ended: %r", client_address, error)
        else:
            logger.exception("error serving %s", client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = SERVER_NAME
    disable_nagle_algorithm = True
    server: SandboxHTTPServer

    def _serve(self) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            self._write(rest_error_response(SandboxError("Invalid Content-Length", status=400)))
            self.close_connection = True
            return
        if length > MAX_BODY_BYTES:
            # Read the body away (up to a bound) so that the client, still sending, gets
            # the 413 rather than a reset connection; then hang up.
            if length <= DRAIN_LIMIT_BYTES:
                remaining = length
                while remaining > 0:
                    chunk = self.rfile.read(min(remaining, 1 << 20))
                    if not chunk:
                        break
                    remaining -= len(chunk)
            too_large = SandboxError(
                "request entity too large", code="PAYLOAD_TOO_LARGE", status=413
            )
            self._write(rest_error_response(too_large), close=True)
            self.close_connection = True
            return
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            body = self._read_chunked()
            if body is None:
                return
        else:
            body = self.rfile.read(length) if length else b""
        target, _, query = self.path.partition("?")
        response = self.server.app.handle(
            self.command,
            unquote(target),
            query,
            body,
            self.headers.get("Authorization"),
        )
        if response.drop:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self._write(response)

    def _read_chunked(self) -> bytes | None:
        chunks: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                self._write(rest_error_response(SandboxError("Invalid chunked body", status=400)))
                self.close_connection = True
                return None
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            total += size
            if total > MAX_BODY_BYTES:
                too_large = SandboxError(
                    "request entity too large", code="PAYLOAD_TOO_LARGE", status=413
                )
                self._write(rest_error_response(too_large), close=True)
                self.close_connection = True
                return None
            chunks.append(self.rfile.read(size))
            self.rfile.readline(1024)

    def _write(self, response: Response, *, close: bool = False) -> None:
        try:
            phrase = HTTPStatus(response.status).phrase
        except ValueError:
            phrase = ""
        lines = [
            f"HTTP/1.1 {response.status} {phrase}",
            f"Content-Type: {CONTENT_TYPE}",
            f"Content-Length: {len(response.body)}",
        ]
        lines.extend(f"{name}: {value}" for name, value in response.headers.items())
        if close or self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self.wfile.write(head if self.command == "HEAD" else head + response.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

    def __getattr__(self, name: str) -> object:
        # Any other method (PROPFIND, TRACE, BREW...) goes to the app, which answers
        # Express's JSON 404, instead of the standard library's HTML 501.
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Malformed requests get a JSON envelope too, never the standard HTML page."""
        error = SandboxError(message or HTTPStatus(code).phrase, status=code)
        self.close_connection = True
        with contextlib.suppress(OSError):
            self._write(rest_error_response(error), close=True)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (stdlib name)
        logger.debug("%s - %s", self.address_string(), format % args)


class RunningServer:
    """A sandbox served on a background thread; stop it with :meth:`stop` or ``with``.

    Attributes:
        url: Base URL, e.g. ``http://127.0.0.1:53817``.
        host: Bound host.
        port: Bound port (the real one when 0 was asked).

    Example:
        >>> from twenty_migrate.sandbox import Sandbox
        >>> with Sandbox().serve() as server:  # doctest: +SKIP
        ...     httpx.get(f"{server.url}/rest/people", headers=...)
    """

    def __init__(self, app: App, host: str = DEFAULT_HOST, port: int = 0) -> None:
        self._server = SandboxHTTPServer((host, port), app)
        self.host = host
        self.port = int(self._server.server_address[1])
        self.url = f"http://{host}:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"twenty-sandbox-{self.port}",
            daemon=True,
        )
        self._thread.start()
        self._stopped = False

    def stop(self) -> None:
        """Stop serving and release the port (idempotent)."""
        if self._stopped:
            return
        self._stopped = True
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "stopped" if self._stopped else "running"
        return f"RunningServer(url={self.url!r}, {state})"


def build_parser() -> argparse.ArgumentParser:
    """The ``twenty-migrate sandbox`` argument parser."""
    from twenty_migrate.sandbox.profiles import describe_profiles

    profiles_help = "Profiles: " + describe_profiles().replace("%", "%%") + "."
    parser = argparse.ArgumentParser(
        prog="twenty-migrate sandbox",
        description="Serve the local Twenty emulator (REST and GraphQL) over HTTP.",
    )
    add = parser.add_argument
    add("--host", default=DEFAULT_HOST, help="interface to bind (default %(default)s)")
    add("--port", type=int, default=DEFAULT_PORT, help="port, 0 for any free one")
    add("--api-key", default="sandbox-key", help="the bearer token clients must send")
    add("--short-limit", type=int, default=100, help="short bucket tokens")
    add("--short-ttl-ms", type=int, default=1000, help="short bucket window (ms)")
    add("--long-limit", type=int, default=100, help="long bucket tokens")
    add("--long-ttl-ms", type=int, default=60000, help="long bucket window (ms)")
    add(
        "--twenty-version",
        default=None,
        metavar="RELEASE",
        help=f"the Twenty release to behave as (default: the newest profile). {profiles_help}",
    )
    add(
        "--max-records",
        type=int,
        default=None,
        help="records per call (QUERY_MAX_RECORDS); default: the profile's",
    )
    add(
        "--record-limit",
        type=int,
        default=None,
        metavar="N",
        help="WORKSPACE_RECORD_LIMIT: live records the workspace may hold (409 past it; "
        "profiles with quotas only)",
    )
    add("--no-throttle", action="store_true", help="switch rate limiting off")
    add("--latency-ms", type=float, default=0.0, help="fixed latency per core call")
    add("--jitter-ms", type=float, default=0.0, help="extra random latency per core call")
    add("--error-rate", type=float, default=0.0, help="fraction of core calls answered 500")
    add("--drop-rate", type=float, default=0.0, help="fraction of answers lost after the write")
    add("--seed", type=int, default=0, help="seed of the random faults")
    add("--db", default=None, metavar="FILE", help="SQLite file to keep data across restarts")
    add("--sample-data", action="store_true", help="seed a few companies and people")
    return parser


def run_from_args(argv: Sequence[str]) -> int:
    """Run ``twenty-migrate sandbox``: serve until SIGINT or SIGTERM, then exit 0.

    Prints ``Twenty sandbox listening on http://HOST:PORT`` (the base URL) as its first
    line of output. The API key is never printed.

    Args:
        argv: Arguments after ``sandbox``.

    Returns:
        The exit status (0 after a signal; 2 for bad arguments).
    """
    from twenty_migrate.sandbox import Sandbox

    parser = build_parser()
    try:
        args = parser.parse_args(list(argv))
    except SystemExit as exc:
        return int(exc.code or 0)
    from twenty_migrate.sandbox.profiles import sandbox_profile

    try:
        profile = sandbox_profile(args.twenty_version)
        if args.max_records is not None:
            profile = profile.replace(query_max_records=args.max_records)
    except ValueError as exc:
        print(f"twenty-migrate sandbox: {exc}", file=sys.stderr)
        return 2
    options = {
        "api_key": args.api_key,
        "profile": profile,
        "short_limit": args.short_limit,
        "short_ttl_ms": args.short_ttl_ms,
        "long_limit": args.long_limit,
        "long_ttl_ms": args.long_ttl_ms,
        "throttle": not args.no_throttle,
        "latency_ms": args.latency_ms,
        "jitter_ms": args.jitter_ms,
        "error_rate": args.error_rate,
        "drop_rate": args.drop_rate,
        "seed": args.seed,
        "db_path": args.db,
        "record_limit": args.record_limit,
    }
    try:
        sandbox = Sandbox.with_sample_data(**options) if args.sample_data else Sandbox(**options)
    except (ValueError, SandboxError) as exc:
        print(f"twenty-migrate sandbox: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, on_signal)
    try:
        try:
            server = sandbox.serve(args.host, args.port)
        except OSError as exc:
            print(
                f"twenty-migrate sandbox: cannot listen on {args.host}:{args.port}: {exc}",
                file=sys.stderr,
            )
            return 1
        print(f"Twenty sandbox listening on {server.url}", flush=True)
        print(f"Behaving as {sandbox.profile}", flush=True)
        try:
            while not stop.wait(0.5):
                pass
        finally:
            server.stop()
            sandbox.close()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
