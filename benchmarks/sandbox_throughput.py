"""How fast the sandbox takes records over loopback HTTP (it must never be the bottleneck).

Starts ``twenty-migrate sandbox`` as a separate process (its own interpreter, so the
clients here do not share its GIL), then creates people in batches of 60 from a few
concurrent httpx clients: first over REST (``POST /rest/batch/people``), then over
GraphQL (``createPeople``) on a fresh server. The last line is the GraphQL figure::

    records=100000 seconds=S records_per_second=R

Run: ``python benchmarks/sandbox_throughput.py [--records N] [--clients K] [--in-thread]``.
Target: 100,000 records in under 60 seconds on a 2-core machine.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
if importlib.util.find_spec("twenty_migrate") is None:  # run from a checkout, not installed
    sys.path.insert(0, str(ROOT))

API_KEY = "benchmark-key"
BATCH_SIZE = 60
CREATE_PEOPLE = "mutation($data: [PersonCreateInput!]!) { createPeople(data: $data) { id } }"


def make_batch(start: int, size: int, tag: str) -> list[dict[str, Any]]:
    """``size`` people with distinct e-mails, names, job titles and phones."""
    return [
        {
            "name": {"firstName": f"First{i}", "lastName": f"Last{i}"},
            "emails": {"primaryEmail": f"{tag}{i}@example.com"},
            "jobTitle": "Engineer" if i % 2 else "Manager",
            "city": "Paris",
        }
        for i in range(start, start + size)
    ]


def _pythonpath() -> str:
    existing = os.environ.get("PYTHONPATH")
    return os.pathsep.join([str(ROOT), existing] if existing else [str(ROOT)])


@contextmanager
def sandbox_process(twenty_version: str | None) -> Iterator[str]:
    """A sandbox server in its own process; yields its base URL."""
    options = ["--port", "0", "--api-key", API_KEY, "--no-throttle"]
    if twenty_version:
        options += ["--twenty-version", twenty_version]
    code = (
        "from twenty_migrate.sandbox.server import run_from_args; raise SystemExit("
        f"run_from_args({options!r}))"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": _pythonpath()},
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        if not line.startswith("Twenty sandbox listening on "):
            raise RuntimeError(f"sandbox did not start: {line!r}")
        yield line.rsplit(" ", 1)[-1]
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


@contextmanager
def sandbox_thread(twenty_version: str | None) -> Iterator[str]:
    """A sandbox served from a thread of this process; yields its base URL."""
    from twenty_migrate.sandbox import Sandbox

    sandbox = Sandbox(api_key=API_KEY, twenty_version=twenty_version, throttle=False)
    with sandbox.serve() as server:
        yield server.url


Send = Callable[[httpx.Client, list[dict[str, Any]]], int]


def send_rest(http: httpx.Client, batch: list[dict[str, Any]]) -> int:
    response = http.post("/rest/batch/people", json=batch)
    response.raise_for_status()
    return len(response.json()["data"]["createPeople"])


def send_graphql(http: httpx.Client, batch: list[dict[str, Any]]) -> int:
    response = http.post("/graphql", json={"query": CREATE_PEOPLE, "variables": {"data": batch}})
    response.raise_for_status()
    body = response.json()
    if body.get("errors"):
        raise RuntimeError(body["errors"][0]["message"])
    return len(body["data"]["createPeople"])


def run(url: str, send: Send, *, records: int, clients: int, tag: str) -> float:
    """Create ``records`` people with ``clients`` threads; returns the seconds taken."""
    starts = list(range(0, records, BATCH_SIZE))
    lock = threading.Lock()
    created = [0]
    errors: list[BaseException] = []

    def worker() -> None:
        headers = {"Authorization": f"Bearer {API_KEY}"}
        with httpx.Client(base_url=url, headers=headers, timeout=60) as http:
            while True:
                with lock:
                    if not starts or errors:
                        return
                    start = starts.pop()
                try:
                    n = send(http, make_batch(start, min(BATCH_SIZE, records - start), tag))
                except BaseException as exc:  # reported once all threads stop
                    with lock:
                        errors.append(exc)
                    return
                with lock:
                    created[0] += n

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - began
    if errors:
        raise errors[0]
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {API_KEY}"}) as http:
        total = http.get("/rest/people", params={"limit": 1}).json()["totalCount"]
    if created[0] != records or total != records:
        raise RuntimeError(f"expected {records} records, created {created[0]}, counted {total}")
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--rest-records", type=int, default=None, help="default: --records")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--in-thread", action="store_true", help="serve from this process")
    parser.add_argument(
        "--twenty-version",
        default=None,
        help="the Twenty release the sandbox behaves as (1, 1.18, 2.43...; default the newest)",
    )
    args = parser.parse_args(argv)
    server = sandbox_thread if args.in_thread else sandbox_process
    rest_records = args.records if args.rest_records is None else args.rest_records
    if rest_records:
        with server(args.twenty_version) as url:
            seconds = run(url, send_rest, records=rest_records, clients=args.clients, tag="r")
        print(
            f"rest_batch records={rest_records} seconds={seconds:.2f} "
            f"records_per_second={rest_records / seconds:.0f}",
            flush=True,
        )
    with server(args.twenty_version) as url:
        seconds = run(url, send_graphql, records=args.records, clients=args.clients, tag="g")
    print(
        f"records={args.records} seconds={seconds:.2f} "
        f"records_per_second={args.records / seconds:.0f}",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
