"""Exactly-once under faults and crashes: kill the importer twice, resume, count records.

A sandbox runs in a subprocess over loopback HTTP with injected faults (``--error-rate``
500s and ``--drop-rate`` answers lost after the write) and no rate limit. The importer
runs in a child process that is killed with SIGKILL twice at random moments (each once a
random share of the rows is journalled, plus a random delay so the kill lands mid-call),
resumed each time (``Importer.resume(run_id)``), then resumed a last time to completion.

The sandbox's records are then read back over the API (``fetch_records``) and compared
with the source: every person by email, every company by domain. The journal is checked
against the same records (every row created or updated, its Twenty id present, counts
equal).

Run from the repository root: ``python benchmarks/chaos.py`` (about a minute).
The last line is ``rows=N exactly_once=E lost=L duplicated=D``; the target is E = N,
L = 0, D = 0.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from twenty_migrate.plan.plan import ImportPlan  # noqa: E402
from twenty_migrate.plan.steps import ObjectStep  # noqa: E402
from twenty_migrate.run.journal import RunJournal  # noqa: E402
from twenty_migrate.twenty.client import TwentyClient  # noqa: E402
from twenty_migrate.verify.records import fetch_records  # noqa: E402

API_KEY = "chaos-key"
RUN_ID = "chaos"
SERVER_CODE = (
    "import sys; from twenty_migrate.sandbox.server import run_from_args; "
    "sys.exit(run_from_args(sys.argv[1:]))"
)
NAMESPACE = uuid.UUID("6f1c3a52-8d7e-4b21-9a0f-5e4d3c2b1a09")


# ------------------------------------------------------------------------ source data


def make_source(n_people: int, n_companies: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Companies (with fixed ids, so people can point to them) and people."""
    rng = random.Random(seed)
    companies = pd.DataFrame(
        {
            "_row": range(n_companies),
            "id": [str(uuid.uuid5(NAMESPACE, f"company-{i}")) for i in range(n_companies)],
            "name": [f"Company {i}" for i in range(n_companies)],
            "domainName.primaryLinkUrl": [
                f"https://company{i}.example.com" for i in range(n_companies)
            ],
        }
    )
    people = pd.DataFrame(
        {
            "_row": range(n_people),
            "name.firstName": [f"First{i}" for i in range(n_people)],
            "name.lastName": [f"Last{i}" for i in range(n_people)],
            "emails.primaryEmail": [f"person{i}@example.com" for i in range(n_people)],
            "companyId": [companies["id"][rng.randrange(n_companies)] for _ in range(n_people)],
        }
    )
    return companies, people


def make_plan(workdir: Path) -> ImportPlan:
    companies = pd.read_csv(workdir / "companies.csv")
    people = pd.read_csv(workdir / "people.csv")
    return ImportPlan(
        [
            ObjectStep("companies", companies, key="domainName.primaryLinkUrl"),
            ObjectStep("people", people, key="emails.primaryEmail"),
        ],
        name="chaos",
    )


# ------------------------------------------------------------------------ child: importer


def child(args: argparse.Namespace) -> int:
    """Run (or resume) the import; the parent may kill this process at any moment."""
    from twenty_migrate.run.importer import Importer

    workdir = Path(args.workdir)
    runs_dir = workdir / "runs"
    client = TwentyClient(base_url=args.url, env_file=None, rate_limit=None)  # key from env
    with client:
        importer = Importer(client, runs_dir=runs_dir, progress=None)
        if RunJournal.exists(runs_dir, RUN_ID):
            result = importer.resume(RUN_ID)
        else:
            result = importer.run(make_plan(workdir), run_id=RUN_ID)
    print(result.summary(), flush=True)
    return 1 if result.has_failures else 0


def done_rows(journal_path: Path) -> int:
    """Rows with an outcome so far (0 while the journal is being created)."""
    if not journal_path.is_file():
        return 0
    try:
        conn = sqlite3.connect(f"file:{journal_path}?mode=ro", uri=True, timeout=5)
        try:
            row = conn.execute("SELECT COUNT(*) FROM rows WHERE status != 'pending'").fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return 0
    return int(row[0])


def start_child(url: str, workdir: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ, TWENTY_API_KEY=API_KEY)
    env.pop("TWENTY_API_URL", None)
    return subprocess.Popen(
        [sys.executable, __file__, "--child", "--url", url, "--workdir", str(workdir)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def run_until(proc: subprocess.Popen[bytes], journal: Path, threshold: int, delay: float) -> str:
    """Wait until ``threshold`` rows are journalled, then ``delay`` seconds, then SIGKILL."""
    while proc.poll() is None and done_rows(journal) < threshold:
        time.sleep(0.02)
    if proc.poll() is None:
        time.sleep(delay)
    if proc.poll() is not None:
        return f"finished before the kill (exit {proc.returncode})"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return f"killed with SIGKILL at {done_rows(journal)} rows journalled"


# ------------------------------------------------------------------------ parent


def start_sandbox(args: argparse.Namespace) -> tuple[subprocess.Popen[str], str]:
    command = [sys.executable, "-c", SERVER_CODE, "--port", "0", "--api-key", API_KEY]
    command += ["--error-rate", str(args.error_rate), "--drop-rate", str(args.drop_rate)]
    command += ["--latency-ms", str(args.latency_ms), "--seed", str(args.seed), "--no-throttle"]
    if args.twenty_version:
        command += ["--twenty-version", args.twenty_version]
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if "http://" not in line:
        proc.kill()
        raise SystemExit(f"the sandbox did not start: {line!r}")
    return proc, line[line.index("http://") :]


def bare_host(urls: pd.Series) -> pd.Series:
    """``company1.example.com`` for ``https://company1.example.com/``: newer Twenty stores
    domain names as the bare host, older ones as sent."""
    return urls.str.lower().str.replace(r"^https?://", "", regex=True).str.rstrip("/")


def verify(
    url: str, runs_dir: Path, companies: pd.DataFrame, people: pd.DataFrame
) -> tuple[int, int, int, int, str]:
    """Compare the workspace with the source and the journal."""
    client = TwentyClient(
        base_url=url, api_key=API_KEY, env_file=None, rate_limit=None, traits_path=None
    )
    with client:
        got_people = fetch_records(client, "people", fields=["emails.primaryEmail", "companyId"])
        got_companies = fetch_records(client, "companies", fields=["domainName.primaryLinkUrl"])
    checks = [
        (people["emails.primaryEmail"].str.lower(), got_people["emails.primaryEmail"].str.lower()),
        (
            bare_host(companies["domainName.primaryLinkUrl"]),
            bare_host(got_companies["domainName.primaryLinkUrl"]),
        ),
    ]
    exactly_once = lost = duplicated = 0
    for expected, found in checks:
        counts = Counter(found.dropna())
        wanted = set(expected)
        for key in expected:
            n = counts.get(key, 0)
            exactly_once += n == 1
            lost += n == 0
            duplicated += max(0, n - 1)
        duplicated += sum(n for key, n in counts.items() if key not in wanted)
        duplicated += int(found.isna().sum())

    # Relations survived: each person points to the company the source named.
    by_email = dict(zip(got_people["emails.primaryEmail"], got_people["companyId"], strict=True))
    wrong_company = sum(
        by_email.get(e) != c
        for e, c in zip(people["emails.primaryEmail"], people["companyId"], strict=True)
        if e in by_email
    )

    journal = RunJournal.open(runs_dir, RUN_ID)
    try:
        rows = journal.rows_frame()
    finally:
        journal.close()
    ids = {"people": set(got_people["id"]), "companies": set(got_companies["id"])}
    problems = []
    statuses = Counter(rows["status"])
    if set(statuses) - {"created", "updated"}:
        problems.append(f"statuses {dict(statuses)}")
    for obj, frame in rows.groupby("object"):
        missing = sum(1 for t in frame["twenty_id"] if t not in ids[str(obj)])
        if missing:
            problems.append(f"{missing} {obj} ids not in the workspace")
        if len(frame) != len(ids[str(obj)]):
            problems.append(f"{obj}: {len(frame)} journal rows vs {len(ids[str(obj)])} records")
        if frame["twenty_id"].nunique() != len(frame):
            problems.append(f"{obj}: two rows share a Twenty id")
    if wrong_company:
        problems.append(f"{wrong_company} people point to the wrong company")
    verdict = (
        f"journal agrees with sandbox: yes ({dict(statuses)}; every id present, counts equal)"
        if not problems
        else "journal agrees with sandbox: NO (" + "; ".join(problems) + ")"
    )
    return len(companies) + len(people), exactly_once, lost, duplicated, verdict


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add = parser.add_argument
    add("--rows", type=int, default=20000, help="people (default %(default)s)")
    add("--companies", type=int, default=25)
    add("--error-rate", type=float, default=0.05)
    add("--drop-rate", type=float, default=0.02)
    add("--latency-ms", type=float, default=20.0, help="so kills land mid-call")
    add("--kills", type=int, default=2)
    add(
        "--twenty-version",
        default=None,
        help="the Twenty release the sandbox behaves as (1, 1.18, 2.43...; default the newest)",
    )
    add("--seed", type=int, default=None, help="random seed (default: random)")
    add("--child", action="store_true", help=argparse.SUPPRESS)
    add("--url", help=argparse.SUPPRESS)
    add("--workdir", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args)

    seed = args.seed if args.seed is not None else random.randrange(1_000_000)
    args.seed = seed
    rng = random.Random(seed)
    print(
        f"seed {seed}: {args.rows} people + {args.companies} companies, error rate "
        f"{args.error_rate}, drop rate {args.drop_rate}, latency {args.latency_ms:g} ms, "
        f"Twenty {args.twenty_version or 'newest'}",
        flush=True,
    )
    companies, people = make_source(args.rows, args.companies, seed)
    sandbox, url = start_sandbox(args)
    try:
        with tempfile.TemporaryDirectory(prefix="twenty-chaos-") as tmp:
            workdir = Path(tmp)
            companies.to_csv(workdir / "companies.csv", index=False)
            people.to_csv(workdir / "people.csv", index=False)
            journal = workdir / "runs" / RUN_ID / "journal.sqlite"
            total = len(companies) + len(people)
            began = time.monotonic()
            # Kill points spread over the run: the k-th kill in the k-th share of the rows.
            for k in range(args.kills):
                low, high = k / args.kills, (k + 1) / args.kills
                threshold = int(
                    total * rng.uniform(low + 0.1 * (high - low), high - 0.1 * (high - low))
                )
                proc = start_child(url, workdir)
                outcome = run_until(proc, journal, threshold, rng.uniform(0.0, 0.3))
                print(f"child {k + 1}: {outcome}", flush=True)
            proc = start_child(url, workdir)
            output, _ = proc.communicate()
            lines = [line.strip() for line in output.decode(errors="replace").splitlines()]
            summary = " | ".join(line for line in lines if line)
            print(f"final resume: exit {proc.returncode}; {summary}", flush=True)
            print(f"import wall time {time.monotonic() - began:.1f} s", flush=True)
            n, once, lost, dup, verdict = verify(url, workdir / "runs", companies, people)
    finally:
        sandbox.send_signal(signal.SIGTERM)
        try:
            sandbox.wait(timeout=10)
        except subprocess.TimeoutExpired:
            sandbox.kill()
    print(verdict)
    print(f"rows={n} exactly_once={once} lost={lost} duplicated={dup}")
    return 0 if (once == n and lost == 0 and dup == 0) else 1


if __name__ == "__main__":
    raise SystemExit(main())
