"""How close the importer gets to Twenty's rate ceiling, against the documented recipe.

Serves the sandbox over loopback HTTP with scaled-down limits (long bucket 100 calls per
10 s, short bucket 100 per 1 s) and 1 s latency per call, then:

1. imports ``--rows`` people with :class:`~twenty_migrate.importer.Importer` through a
   :class:`~twenty_migrate.client.TwentyClient` told the same limits;
2. against a fresh sandbox, sends ``--baseline-rows`` people the way Twenty's docs suggest:
   one batch call at a time, a pause of ``window / limit`` between calls, back off on 429.

The ceiling is ``limit x batch size / window`` records per second (600/s here). Figures
are read from the sandbox's request log (the sandbox runs in a subprocess and hands its
log back; ``--server thread`` keeps it in this process). The initial burst of ``limit``
calls is free and would flatter everyone, so rates are taken over the steady state: from
the moment the server's bucket first runs dry (replayed from the log) to the last accepted
write::

    R = records accepted in the steady state / its length / ceiling     (importer)
    B = the same for the baseline (its bucket never runs dry: from one window in)
    T = throttled calls / calls, counting calls after the first long window (importer)

Run from the repository root: ``python benchmarks/throughput.py`` (about 1-2 minutes).
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
import time
from collections.abc import Iterator
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
ROOT = Path(__file__).resolve().parents[1]
# The sandbox in its own process (no GIL shared with the importer, as with a real server);
# it serves until its stdin closes, then writes its request log as JSON.
SERVER_CODE = """
import dataclasses, json, sys
from twenty_migrate.sandbox import Sandbox
options, log_path = json.loads(sys.argv[1]), sys.argv[2]
sandbox = Sandbox(**options)
server = sandbox.serve()
print(server.url, flush=True)
sys.stdin.read()
server.stop()
with open(log_path, "w") as handle:
    json.dump([dataclasses.asdict(r) for r in sandbox.requests], handle)
"""
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
        "throttle_style": args.throttle_style,
    }


@contextlib.contextmanager
def served(args: argparse.Namespace, log: list[RequestRecord]) -> Iterator[str]:
    """A fresh sandbox over loopback HTTP; yields its URL, fills ``log`` when done."""
    if args.server == "thread":
        sandbox = Sandbox(**sandbox_options(args))  # type: ignore[arg-type]
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
    return measure(log, args.rows, wall, args), stats


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
    with (
        served(args, log) as url,
        httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {API_KEY}"}, timeout=60
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
    return measure(log, args.baseline_rows, wall, args)


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
    add("--rows", type=int, default=24000, help="people for the importer (default %(default)s)")
    add("--baseline-rows", type=int, default=1800, help="people for the baseline")
    add("--latency-ms", type=float, default=1000.0, help="sandbox latency per call")
    add("--long-limit", type=int, default=100)
    add("--long-window", type=float, default=10.0, help="seconds")
    add("--short-limit", type=int, default=100)
    add("--short-window", type=float, default=1.0, help="seconds")
    add("--jitter", type=float, default=None, help="client RateLimit jitter guard, seconds")
    add("--group", type=int, default=None, help="client RateLimit group size")
    add("--in-flight", type=int, default=None, help="importer max_in_flight (default: its own)")
    add("--throttle-style", choices=("common", "newest"), default="common")
    add(
        "--server",
        choices=("process", "thread"),
        default="process",
        help="sandbox in a subprocess (default) or in a thread of this process",
    )
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
