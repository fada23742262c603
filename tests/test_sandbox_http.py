"""The sandbox over real loopback HTTP: the CLI server process and ``Sandbox.serve()``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from twenty_migrate.sandbox import Sandbox
from twenty_migrate.sandbox.app import MAX_BODY_BYTES
from twenty_migrate.sandbox.server import build_parser, run_from_args

CREATE_PEOPLE = (
    "mutation($data: [PersonCreateInput!]!) { createPeople(data: $data) "
    "{ id emails { primaryEmail } } }"
)


def start_server(*args: str) -> tuple[subprocess.Popen[str], str]:
    code = (
        "from twenty_migrate.sandbox.server import run_from_args; "
        f"raise SystemExit(run_from_args({['--port', '0', *args]!r}))"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        cwd=Path(__file__).resolve().parents[1],
    )
    assert process.stdout is not None
    timer = threading.Timer(30, process.kill)  # never hang the suite on a stuck start
    timer.start()
    try:
        first = process.stdout.readline().strip()
    finally:
        timer.cancel()
    prefix = "Twenty sandbox listening on "
    assert first.startswith(prefix), (first, process.stderr.read() if process.stderr else "")
    return process, first[len(prefix) :]


def stop_server(process: subprocess.Popen[str], sig: int = signal.SIGTERM) -> tuple[int, str]:
    """Signal the server, wait for it, and return its exit status and stderr."""
    process.send_signal(sig)
    try:
        _, stderr = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    return process.returncode, stderr


def test_cli_server_rest_graphql_and_clean_exit():
    process, url = start_server("--api-key", "cli-key", "--no-throttle", "--max-records", "100")
    try:
        assert url.startswith("http://127.0.0.1:")
        headers = {"Authorization": "Bearer cli-key"}
        with httpx.Client(base_url=url, headers=headers, timeout=10) as http:
            created = http.post(
                "/rest/batch/people",
                json=[{"emails": {"primaryEmail": f"http{i}@example.com"}} for i in range(70)],
            )
            assert created.status_code == 201, created.text
            assert len(created.json()["data"]["createPeople"]) == 70
            graphql = http.post(
                "/graphql",
                json={
                    "query": CREATE_PEOPLE,
                    "variables": {"data": [{"emails": {"primaryEmail": "gql@example.com"}}]},
                },
            ).json()
            assert graphql["data"]["createPeople"][0]["emails"]["primaryEmail"] == (
                "gql@example.com"
            )
            listed = http.get("/rest/people", params={"limit": 5}).json()
            assert listed["totalCount"] == 71
            metadata = http.post("/metadata", json={"query": "{ objects { totalCount } }"})
            assert metadata.status_code == 200
            denied = http.get("/rest/people", headers={"Authorization": "Bearer wrong"})
            assert denied.status_code == 401
    finally:
        status, stderr = stop_server(process)
    assert status == 0
    assert "cli-key" not in stderr


def test_cli_server_sigint_exits_zero():
    process, url = start_server()
    try:
        assert httpx.get(f"{url}/healthz").json() == {"status": "ok"}
    finally:
        status, _ = stop_server(process, signal.SIGINT)
    assert status == 0


def test_cli_db_keeps_records_across_restarts(tmp_path):
    db = str(tmp_path / "sandbox.db")
    headers = {"Authorization": "Bearer sandbox-key"}
    process, url = start_server("--db", db, "--sample-data")
    try:
        created = httpx.post(
            f"{url}/rest/people", json={"name": {"firstName": "Kept"}}, headers=headers
        )
        assert created.status_code == 201
    finally:
        assert stop_server(process)[0] == 0
    process, url = start_server("--db", db, "--sample-data")
    try:
        people = httpx.get(f"{url}/rest/people", headers=headers).json()
    finally:
        assert stop_server(process)[0] == 0
    assert people["totalCount"] == 11  # ten sample people, seeded once, plus one


def test_cli_bad_arguments():
    assert run_from_args(["--twenty-version", "yoga"]) == 2
    assert run_from_args(["--twenty-version", "7.1"]) == 2
    assert run_from_args(["--error-rate", "3"]) == 2
    args = build_parser().parse_args([])
    assert (args.host, args.port, args.twenty_version) == ("127.0.0.1", 3000, None)


@pytest.fixture
def served():
    sandbox = Sandbox(twenty_version="1", throttle=False)
    with sandbox.serve() as server:
        headers = {"Authorization": f"Bearer {sandbox.api_key}"}
        with httpx.Client(base_url=server.url, headers=headers, timeout=10) as http:
            yield sandbox, server, http


def test_serve_in_thread_keeps_connections_alive(served):
    sandbox, server, http = served
    ports = set()
    for i in range(5):
        response = http.post("/rest/people", json={"emails": {"primaryEmail": f"k{i}@x.com"}})
        assert response.status_code == 201
        assert response.headers["content-type"].startswith("application/json")
        ports.add(response.extensions["network_stream"].get_extra_info("client_addr"))
    assert len(ports) == 1  # one connection reused
    assert sandbox.engine.count("people") == 5
    assert repr(server).startswith("RunningServer(url='http://127.0.0.1:")


def test_serve_dropped_answer_closes_the_connection(served):
    sandbox, _, http = served
    sandbox.fail_next(1, drop_response=True)
    with pytest.raises(httpx.RemoteProtocolError):
        http.post("/rest/batch/people", json=[{"emails": {"primaryEmail": "d@x.com"}}])
    assert sandbox.engine.count("people") == 1
    assert http.get("/rest/people").status_code == 200  # a new connection works


def test_serve_errors_over_http(served):
    _, _, http = served
    too_big = http.post(
        "/rest/batch/people",
        content=b"[" + b" " * MAX_BODY_BYTES + b"]",
        headers={"Content-Type": "application/json"},
    )
    assert too_big.status_code == 413
    assert too_big.json()["error"] == "PayloadTooLargeException"
    assert http.get("/nowhere").json()["messages"] == ["Cannot GET /nowhere"]
    malformed = http.post("/rest/people", content=b"{", headers={"Content-Type": "x"})
    assert malformed.status_code == 400
    filtered = http.get("/rest/people", params={"filter": 'name.firstName[eq]:"a, b"'})
    assert filtered.status_code == 200


def test_stop_releases_the_port():
    sandbox = Sandbox(twenty_version="1")
    server = sandbox.serve()
    url = server.url
    server.stop()
    server.stop()  # idempotent
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/healthz", timeout=2)
    sandbox.close()
