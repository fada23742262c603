"""How close the importer gets to Twenty's rate ceiling, against the documented recipe.

Serves the sandbox of one Twenty release (``--twenty-version``, the newest by default)
over loopback HTTP with its rate limits (long bucket 100 calls per ``--long-window``
seconds, 60 on Twenty and 10 here by default to keep the run short; short bucket 100 per
1 s) and 1 s latency per call, then:

1. imports people with :class:`~twenty_migrate.run.importer.Importer` through a
   :class:`~twenty_migrate.twenty.client.TwentyClient` told the rate budget but never the
   per-call cap (it must find it out; until it does it sends 60 per call);
2. against a fresh sandbox, sends people the way Twenty's docs suggest: one batch call of
   60 (the docs' figure) at a time, a pause of ``window / limit`` between calls, back off
   on 429.

The ceiling is ``calls per second x the server's per-call cap`` records per second: the
cap is the profile's ``QUERY_MAX_RECORDS`` (200 on 2.4x, 60 on 1.x; ``--max-records``
overrides it on the server), so a client that sends fewer records per call than the
server takes scores below 1. Each run lasts the free burst plus ``--windows`` long windows
at the ceiling (``--rows`` and ``--baseline-rows`` by default), and is stopped after
``--windows`` + 1 windows whatever it reached. Figures
are read from the sandbox's request log (the sandbox runs in a subprocess and hands its
log back; ``--server thread`` keeps it in this process). The initial burst of ``limit``
calls is free and would flatter everyone, so rates are taken over the steady state: from
the moment the server's bucket first runs dry (replayed from the log) to the last accepted
write::

    R = records accepted in the steady state / its length / ceiling     (importer)
    B = the same for the baseline (its bucket never runs dry: from one window in)
    T = throttled calls / calls, counting calls after the first long window (importer)

Run from the repository root: ``python benchmarks/throughput.py`` (about 1-2 minutes;
``--long-window 60``, Twenty's real window, about 6 minutes).
The last line is ``ratio=R baseline=B throttled=T``; the target is R >= 0.95, T <= 0.01.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from twenty_migrate.plan.plan import build_plan  # noqa: E402
from twenty_migrate.run.importer import Importer  # noqa: E402
from twenty_migrate.sandbox import (  # noqa: E402
    RequestRecord,
    Sandbox,
    TwentyProfile,
    sandbox_profile,
)
from twenty_migrate.twenty.client import TwentyClient  # noqa: E402
from twenty_migrate.twenty.ratelimit import RateLimit  # noqa: E402

API_KEY = "bench-key"
ROOT = Path(__file__).resolve().parents[1]
# The sandbox in its own process (no GIL shared with the importer, as with a real server);
# it serves until its stdin closes, then writes its request log as JSON.
SERVER_CODE = """
import dataclasses, json, sys
from twenty_migrate.sandbox import Sandbox, sandbox_profile
options, log_path = json.loads(sys.argv[1]), sys.argv[2]
profile = sandbox_profile(options.pop("twenty_version"))
max_records = options.pop("max_records")
if max_records:
    profile = profile.replace(query_max_records=max_records)
sandbox = Sandbox(profile=profile, **options)
server = sandbox.serve()
print(server.url, flush=True)
sys.stdin.read()
server.stop()
with open(log_path, "w") as handle:
    json.dump([dataclasses.asdict(r) for r in sandbox.requests], handle)
"""
#: Root fields / REST paths that write records (everything else core is a read or lookup).
WRITE_ROOTS = ("createPeople", "createPerson")
#: Records per call in the documented recipe (Twenty's docs: 60 records per batch call).
BASELINE_BATCH = 60


@dataclass
class Measure:
    """Figures from one sandbox's request log."""

    rows: int
    wall_s: float
    calls: int
    writes: int
    throttled: int
    steady_records: int
    steady_s: float
    steady_calls: int
    steady_throttled: int
    faulted: int
    throttled_at: list[float]

    def ratio(self, ceiling: float) -> float:
        return self.steady_records / self.steady_s / ceiling if self.steady_s > 0 else 0.0

    @property
    def throttled_fraction(self) -> float:
        return self.steady_throttled / self.steady_calls if self.steady_calls else 0.0


def people(n: int, prefix: str) -> pd.DataFrame:
    """``n`` people with unique emails, as a mapped frame (``_row`` + field paths)."""
    return pd.DataFrame(
        {
            "_row": range(n),
            "name.firstName": [f"First{i}" for i in range(n)],
            "name.lastName": [f"Last{i}" for i in range(n)],
            "emails.primaryEmail": [f"{prefix}{i}@example.com" for i in range(n)],
            "city": ["Paris", "Lyon", "Nantes", "Lille"] * (n // 4) + ["Paris"] * (n % 4),
        }
    )


def sandbox_options(args: argparse.Namespace) -> dict[str, object]:
    return {
        "api_key": API_KEY,
        "short_limit": args.short_limit,
        "short_ttl_ms": int(args.short_window * 1000),
        "long_limit": args.long_limit,
        "long_ttl_ms": int(args.long_window * 1000),
        "latency_ms": args.latency_ms,
        "twenty_version": args.twenty_version,
        "max_records": args.max_records,
    }


def server_profile(args: argparse.Namespace) -> TwentyProfile:
    """The profile the sandbox serves (with ``--max-records`` as its cap when given)."""
    profile = sandbox_profile(args.twenty_version)
    if args.max_records:
        profile = profile.replace(query_max_records=args.max_records)
    return profile


@contextlib.contextmanager
def served(args: argparse.Namespace, log: list[RequestRecord]) -> Iterator[str]:
    """A fresh sandbox over loopback HTTP; yields its URL, fills ``log`` when done."""
    if args.server == "thread":
        options = sandbox_options(args)
        del options["twenty_version"], options["max_records"]
        sandbox = Sandbox(profile=server_profile(args), **options)  # type: ignore[arg-type]
        with sandbox.serve() as server:
            yield server.url
        log.extend(sandbox.requests)
        return
    with tempfile.TemporaryDirectory(prefix="twenty-bench-log-") as tmp:
        log_path = Path(tmp) / "requests.json"
        command = [sys.executable, "-c", SERVER_CODE, json.dumps(sandbox_options(args))]
        proc = subprocess.Popen(
            [*command, str(log_path)], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        assert proc.stdin is not None and proc.stdout is not None
        try:
            yield proc.stdout.readline().strip()
        finally:
            proc.stdin.close()
            proc.wait(timeout=60)
        log.extend(RequestRecord(**r) for r in json.loads(log_path.read_text()))


def is_core(record: RequestRecord) -> bool:
    """A call Twenty charges a token for: core GraphQL or core REST."""
    if record.path == "/graphql":
        return True
    return record.path.startswith("/rest/") and not record.path.startswith("/rest/metadata")


def is_write(record: RequestRecord) -> bool:
    return any(r in WRITE_ROOTS for r in record.root_fields) or (
        record.method == "POST" and record.path.startswith("/rest/batch/")
    )


def drained_at(accepted: list[RequestRecord], args: argparse.Namespace) -> float | None:
    """When the server's long bucket first ran dry, replaying its era-3 algorithm over the
    accepted calls (charged after the injected latency; fractional refill dropped)."""
    rate = args.long_limit / (args.long_window * 1000)  # tokens per ms
    tokens, last = float(args.long_limit), None
    for record in accepted:
        now = round((record.time + args.latency_ms / 1000) * 1000)
        if last is not None:
            tokens = min(args.long_limit, tokens + math.floor((now - last) * rate))
        tokens, last = tokens - 1, now
        if tokens < 1:
            return record.time
    return None


def measure(
    log: list[RequestRecord], rows: int, wall_s: float, args: argparse.Namespace
) -> Measure:
    """Figures from a request log.

    Steady state starts when the server's bucket first runs dry (the free initial burst
    and any tokens left from it are spent), or one long window after the first call when
    it never does; it ends at the last accepted write (half-open interval).
    ``T`` counts calls after the first long window, as specified.
    """
    core = sorted((r for r in log if is_core(r)), key=lambda r: r.time)
    ok_writes = [
        r for r in core if is_write(r) and not r.throttled and not r.faulted and r.status < 300
    ]
    if not core or not ok_writes:
        return Measure(rows, wall_s, len(core), 0, 0, 0, 0.0, 0, 0, 0, [])
    accepted = [r for r in core if not r.throttled and not r.faulted]
    after_window = core[0].time + args.long_window
    start = drained_at(accepted, args) or after_window
    end = ok_writes[-1].time
    later = [r for r in core if after_window < r.time <= end]
    return Measure(
        rows=rows,
        wall_s=wall_s,
        calls=len(core),
        writes=sum(1 for r in core if is_write(r)),
        throttled=sum(1 for r in core if r.throttled),
        steady_records=sum(r.n_records for r in ok_writes if start < r.time <= end),
        steady_s=max(0.0, end - start),
        steady_calls=len(later),
        steady_throttled=sum(1 for r in later if r.throttled),
        faulted=sum(1 for r in core if r.faulted),
        throttled_at=[round(r.time - core[0].time, 2) for r in core if r.throttled],
    )


def run_importer(args: argparse.Namespace, runs_dir: Path) -> tuple[Measure, dict[str, int]]:
    log: list[RequestRecord] = []
    with served(args, log) as url:
        client = TwentyClient(
            base_url=url,
            api_key=API_KEY,
            env_file=None,
            traits_path=None,  # every run calibrates: the importer is never told the cap
            rate_limit=RateLimit(
                short_limit=args.short_limit,
                short_window=args.short_window,
                long_limit=args.long_limit,
                long_window=args.long_window,
                **({"jitter": args.jitter} if args.jitter is not None else {}),
                **({"group": args.group} if args.group is not None else {}),
            ),
            max_connections=max(32, args.in_flight or 0),
        )
        with client:
            client.object_names("people")  # metadata: not throttled, not part of the figure
            # The plan's default batch size: the importer is not told the server's cap.
            plan = build_plan(people(args.rows, "imp"), "people", key="emails.primaryEmail")
            kwargs = {"max_in_flight": args.in_flight} if args.in_flight else {}
            importer = Importer(client, runs_dir=runs_dir, progress=None, **kwargs)
            stopper = threading.Timer(args.max_seconds, importer.request_stop)
            stopper.start()
            began = time.monotonic()
            try:
                result = importer.run(plan)
            finally:
                stopper.cancel()
            wall = time.monotonic() - began
            print(f"importer: {result.summary()}", flush=True)
            landed = result.created + result.updated
            stats = client.stats.snapshot()
    return measure(log, landed, wall, args), stats


def run_baseline(args: argparse.Namespace) -> Measure:
    """The documented recipe: one call at a time, pause window/limit, back off on 429."""
    log: list[RequestRecord] = []
    pause = args.long_window / args.long_limit
    frame = people(args.baseline_rows, "base")
    records = [
        {
            "name": {"firstName": r["name.firstName"], "lastName": r["name.lastName"]},
            "emails": {"primaryEmail": r["emails.primaryEmail"]},
            "city": r["city"],
        }
        for r in frame.to_dict("records")
    ]
    deadline = time.monotonic() + args.max_seconds
    with (
        served(args, log) as url,
        httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {API_KEY}"}, timeout=60
        ) as http,
    ):
        began = time.monotonic()
        sent = 0
        for start in range(0, len(records), BASELINE_BATCH):
            if time.monotonic() > deadline:
                break
            backoff = pause
            batch = records[start : start + BASELINE_BATCH]
            while True:
                response = http.post("/rest/batch/people", json=batch)
                if response.status_code != 429:
                    response.raise_for_status()
                    break
                retry_after = response.headers.get("Retry-After")
                time.sleep(float(retry_after) if retry_after else backoff)
                backoff = min(backoff * 2, args.long_window)
            sent += len(batch)
            time.sleep(pause)
        wall = time.monotonic() - began
    return measure(log, sent, wall, args)


def describe(name: str, m: Measure, ceiling: float) -> str:
    return (
        f"{name}: {m.rows} rows in {m.wall_s:.1f} s = {m.rows / m.wall_s:.0f} rec/s overall; "
        f"{m.calls} core calls ({m.writes} writes, {m.throttled} throttled, {m.faulted} faulted); "
        f"steady state (server bucket dry) {m.steady_records} rec in {m.steady_s:.1f} s = "
        f"{m.steady_records / m.steady_s if m.steady_s else 0:.0f} rec/s "
        f"({m.ratio(ceiling):.3f} of the {ceiling:.0f} rec/s ceiling), "
        f"{m.steady_throttled}/{m.steady_calls} calls after the first window throttled"
        + (f" (throttled at {m.throttled_at} s)" if m.throttled_at else "")
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add = parser.add_argument
    add(
        "--twenty-version",
        default=None,
        help="the Twenty release the sandbox behaves as (1, 1.18, 2.43...; default the newest)",
    )
    add("--max-records", type=int, default=None, help="override the server's per-call cap")
    add("--rows", type=int, default=None, help="people for the importer (default: --windows)")
    add("--baseline-rows", type=int, default=None, help="people for the baseline")
    add("--windows", type=float, default=2.0, help="long windows of steady state to measure")
    add("--latency-ms", type=float, default=1000.0, help="sandbox latency per call")
    add("--long-limit", type=int, default=100)
    add("--long-window", type=float, default=10.0, help="seconds (Twenty's real window: 60)")
    add("--short-limit", type=int, default=100)
    add("--short-window", type=float, default=1.0, help="seconds")
    add("--jitter", type=float, default=None, help="client RateLimit jitter guard, seconds")
    add("--group", type=int, default=None, help="client RateLimit group size")
    add("--in-flight", type=int, default=None, help="importer max_in_flight (default: its own)")
    add(
        "--server",
        choices=("process", "thread"),
        default="process",
        help="sandbox in a subprocess (default) or in a thread of this process",
    )
    add("--skip-baseline", action="store_true")
    args = parser.parse_args(argv)

    profile = server_profile(args)
    cap = profile.query_max_records
    calls_per_s = min(args.long_limit / args.long_window, args.short_limit / args.short_window)
    ceiling = calls_per_s * cap
    # Enough rows for the free burst and --windows windows at the ceiling; the run stops
    # a window later whatever it reached (a slow client must not run for ever).
    if args.rows is None:
        args.rows = math.ceil(args.long_limit * (1 + args.windows) * cap)
    if args.baseline_rows is None:
        per_call_s = args.latency_ms / 1000 + args.long_window / args.long_limit
        args.baseline_rows = math.ceil((1 + args.windows) * args.long_window / per_call_s) * 60
    args.max_seconds = (args.windows + 1) * args.long_window
    print(
        f"sandbox: {profile} (cap {cap} per call), long {args.long_limit}/"
        f"{args.long_window:g}s, short {args.short_limit}/{args.short_window:g}s, latency "
        f"{args.latency_ms:g} ms, throttle {profile.throttle_style}; ceiling {ceiling:.0f} "
        f"records/s; {args.rows} rows, each run stopped after {args.max_seconds:g} s",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="twenty-bench-") as tmp:
        importer, stats = run_importer(args, Path(tmp) / "runs")
    print(describe("importer", importer, ceiling), flush=True)
    print(f"importer client stats: {stats}", flush=True)
    baseline_ratio = 0.0
    if not args.skip_baseline:
        baseline = run_baseline(args)
        print(describe("baseline", baseline, ceiling), flush=True)
        baseline_ratio = baseline.ratio(ceiling)
    print(
        f"ratio={importer.ratio(ceiling):.3f} baseline={baseline_ratio:.3f} "
        f"throttled={importer.throttled_fraction:.3f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
