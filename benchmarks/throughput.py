"""How close the importer gets to Twenty's rate ceiling, against the documented recipe.

Serves the sandbox over loopback HTTP with scaled-down limits (long bucket 100 calls per
10 s, short bucket 100 per 1 s) and 1 s latency per call, then:

1. imports ``--rows`` people with :class:`~twenty_migrate.importer.Importer` through a
   :class:`~twenty_migrate.client.TwentyClient` told the same limits;
2. against a fresh sandbox, sends ``--baseline-rows`` people the way Twenty's docs suggest:
   one batch call at a time, a pause of ``window / limit`` between calls, back off on 429.

The ceiling is ``limit x batch size / window`` records per second (600/s here). Figures
are measured on the sandbox's request log, over the steady state after the first long
window (the initial burst of ``limit`` calls is free and would flatter everyone)::

    R = records accepted after the first window / that time / ceiling   (importer)
    B = the same for the baseline
    T = throttled calls after the first window / calls after the first window (importer)

Run from the repository root: ``python benchmarks/throughput.py`` (about 1-2 minutes).
The last line is ``ratio=R baseline=B throttled=T``; the target is R >= 0.95, T <= 0.01.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from twenty_migrate.client import TwentyClient  # noqa: E402
from twenty_migrate.importer import Importer  # noqa: E402
from twenty_migrate.plan import build_plan  # noqa: E402
from twenty_migrate.ratelimit import RateLimit  # noqa: E402
from twenty_migrate.sandbox import RequestRecord, Sandbox  # noqa: E402

API_KEY = "bench-key"
#: Root fields / REST paths that write records (everything else core is a read or lookup).
WRITE_ROOTS = ("createPeople", "createPerson")


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


def make_sandbox(args: argparse.Namespace) -> Sandbox:
    return Sandbox(
        api_key=API_KEY,
        short_limit=args.short_limit,
        short_ttl_ms=int(args.short_window * 1000),
        long_limit=args.long_limit,
        long_ttl_ms=int(args.long_window * 1000),
        latency_ms=args.latency_ms,
        throttle_style=args.throttle_style,
    )


def is_core(record: RequestRecord) -> bool:
    """A call Twenty charges a token for: core GraphQL or core REST."""
    if record.path == "/graphql":
        return True
    return record.path.startswith("/rest/") and not record.path.startswith("/rest/metadata")


def is_write(record: RequestRecord) -> bool:
    return any(r in WRITE_ROOTS for r in record.root_fields) or (
        record.method == "POST" and record.path.startswith("/rest/batch/")
    )


def measure(sandbox: Sandbox, rows: int, wall_s: float, window: float) -> Measure:
    """Steady-state figures: calls arriving after the first long window, up to the last
    accepted write (half-open interval, so the count matches the elapsed time)."""
    core = sorted((r for r in list(sandbox.requests) if is_core(r)), key=lambda r: r.time)
    ok_writes = [
        r for r in core if is_write(r) and not r.throttled and not r.faulted and r.status < 300
    ]
    if not core or not ok_writes:
        return Measure(rows, wall_s, len(core), 0, 0, 0, 0.0, 0, 0, 0)
    start = core[0].time + window
    end = ok_writes[-1].time
    steady = [r for r in core if start < r.time <= end]
    return Measure(
        rows=rows,
        wall_s=wall_s,
        calls=len(core),
        writes=sum(1 for r in core if is_write(r)),
        throttled=sum(1 for r in core if r.throttled),
        steady_records=sum(r.n_records for r in ok_writes if start < r.time <= end),
        steady_s=max(0.0, end - start),
        steady_calls=len(steady),
        steady_throttled=sum(1 for r in steady if r.throttled),
        faulted=sum(1 for r in core if r.faulted),
    )


def run_importer(args: argparse.Namespace, runs_dir: Path) -> tuple[Measure, dict[str, int]]:
    sandbox = make_sandbox(args)
    with sandbox.serve() as server:
        client = TwentyClient(
            base_url=server.url,
            api_key=API_KEY,
            env_file=None,
            rate_limit=RateLimit(
                short_limit=args.short_limit,
                short_window=args.short_window,
                long_limit=args.long_limit,
                long_window=args.long_window,
            ),
            max_connections=max(16, args.in_flight or 0),
        )
        with client:
            client.object_names("people")  # metadata: not throttled, not part of the figure
            plan = build_plan(
                people(args.rows, "imp"), "people", key="emails.primaryEmail", batch_size=60
            )
            kwargs = {"max_in_flight": args.in_flight} if args.in_flight else {}
            importer = Importer(client, runs_dir=runs_dir, progress=None, **kwargs)
            began = time.monotonic()
            result = importer.run(plan)
            wall = time.monotonic() - began
            print(f"importer: {result.summary()}", flush=True)
            stats = client.stats.snapshot()
    return measure(sandbox, args.rows, wall, args.long_window), stats


def run_baseline(args: argparse.Namespace) -> Measure:
    """The documented recipe: one call at a time, pause window/limit, back off on 429."""
    sandbox = make_sandbox(args)
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
    with (
        sandbox.serve() as server,
        httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {API_KEY}"}, timeout=60
        ) as http,
    ):
        began = time.monotonic()
        for start in range(0, len(records), 60):
            backoff = pause
            while True:
                response = http.post("/rest/batch/people", json=records[start : start + 60])
                if response.status_code != 429:
                    response.raise_for_status()
                    break
                retry_after = response.headers.get("Retry-After")
                time.sleep(float(retry_after) if retry_after else backoff)
                backoff = min(backoff * 2, args.long_window)
            time.sleep(pause)
        wall = time.monotonic() - began
    return measure(sandbox, args.baseline_rows, wall, args.long_window)


def describe(name: str, m: Measure, ceiling: float) -> str:
    return (
        f"{name}: {m.rows} rows in {m.wall_s:.1f} s = {m.rows / m.wall_s:.0f} rec/s overall; "
        f"{m.calls} core calls ({m.writes} writes, {m.throttled} throttled, {m.faulted} faulted); "
        f"steady state {m.steady_records} rec in {m.steady_s:.1f} s = "
        f"{m.steady_records / m.steady_s if m.steady_s else 0:.0f} rec/s "
        f"({m.ratio(ceiling):.3f} of the {ceiling:.0f} rec/s ceiling), "
        f"{m.steady_throttled}/{m.steady_calls} calls throttled"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add = parser.add_argument
    add("--rows", type=int, default=18000, help="people for the importer (default %(default)s)")
    add("--baseline-rows", type=int, default=1800, help="people for the baseline")
    add("--latency-ms", type=float, default=1000.0, help="sandbox latency per call")
    add("--long-limit", type=int, default=100)
    add("--long-window", type=float, default=10.0, help="seconds")
    add("--short-limit", type=int, default=100)
    add("--short-window", type=float, default=1.0, help="seconds")
    add("--in-flight", type=int, default=None, help="importer max_in_flight (default: its own)")
    add("--throttle-style", choices=("common", "newest"), default="common")
    add("--skip-baseline", action="store_true")
    args = parser.parse_args(argv)

    calls_per_s = min(args.long_limit / args.long_window, args.short_limit / args.short_window)
    ceiling = calls_per_s * 60
    print(
        f"sandbox: long {args.long_limit}/{args.long_window:g}s, short "
        f"{args.short_limit}/{args.short_window:g}s, latency {args.latency_ms:g} ms, "
        f"style {args.throttle_style}; ceiling {ceiling:.0f} records/s",
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
