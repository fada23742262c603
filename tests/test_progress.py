"""Progress shows the wait for the rate budget, and an ETA that counts it (fake clock)."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import FakeClock, sandbox_client

from twenty_migrate.plan.plan import ImportPlan
from twenty_migrate.plan.steps import ObjectStep
from twenty_migrate.run.budget_outlook import budget_outlook
from twenty_migrate.run.importer import Importer
from twenty_migrate.run.progress import LogProgress, make_progress
from twenty_migrate.sandbox import Sandbox
from twenty_migrate.twenty.ratelimit import RateLimit, RateLimiter

#: A small budget: 5 calls a second, 10 a minute.
SMALL = RateLimit(short_limit=5, short_window=1, long_limit=10, long_window=60)


def _send(limiter: RateLimiter, clock: FakeClock, calls: int) -> None:
    sent = 0
    while sent < calls:
        wait = limiter.reserve()
        if wait > 0:
            clock.advance(wait)
        else:
            sent += 1


def test_outlook_replays_the_limiter_without_taking_a_slot():
    clock = FakeClock(0.0)
    limiter = RateLimiter(SMALL, clock=clock)
    assert budget_outlook(limiter, 0).eta_s == 0
    ahead = budget_outlook(limiter, 30)
    assert ahead.wait_s == 0  # the burst is there
    _send(limiter, clock, 10)  # the minute's budget is spent
    outlook = budget_outlook(limiter, 20)
    assert outlook.wait_s > 20  # the next call waits for the long window to refill a group
    start = clock.now
    _send(limiter, clock, 20)
    assert clock.now - start == pytest.approx(outlook.eta_s)
    assert ahead.eta_s == pytest.approx(clock.now)  # from 0: asking reserved nothing


class WaitRecorder:
    """A display that also hears about waits for the budget, with the time of each event."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.events: list[tuple[float, str, dict[str, float]]] = []

    def start(self, object: str, total: int) -> None:
        self.events.append((self.clock.now, "start", {"total": total}))

    def update(self, object: str, **counts: int) -> None:
        self.events.append((self.clock.now, "update", dict(counts)))

    def waiting(self, object: str, seconds: float) -> None:
        self.events.append((self.clock.now, "waiting", {"seconds": seconds}))

    def close(self) -> None:
        self.events.append((self.clock.now, "close", {}))


@pytest.mark.parametrize("twenty_version", ["1", "2.4"])
def test_a_run_waiting_for_the_budget_shows_the_wait_and_an_eta_from_it(twenty_version, tmp_path):
    clock = FakeClock()
    sandbox = Sandbox(
        twenty_version=twenty_version,
        clock=clock,
        sleep=clock.sleep,
        short_limit=5,
        short_ttl_ms=1000,
        long_limit=10,
        long_ttl_ms=60_000,
    )
    people = pd.DataFrame(
        {
            "_row": range(30),
            "name.firstName": [f"Ada{i}" for i in range(30)],
            "emails.primaryEmail": [f"ada{i}@example.com" for i in range(30)],
        }
    )
    plan = ImportPlan([ObjectStep("people", people, key="emails.primaryEmail")], batch_size=1)
    recorder = WaitRecorder(clock)
    with sandbox_client(sandbox, clock, rate_limit=SMALL) as client:
        importer = Importer(
            client, runs_dir=tmp_path, progress=recorder, clock=clock, max_in_flight=1
        )
        result = importer.run(plan)
    assert result.created == 30
    finished = max(t for t, kind, _ in recorder.events if kind == "update")
    waits = [(t, e["seconds"]) for t, kind, e in recorder.events if kind == "waiting"]
    assert any(seconds >= 1 for _, seconds in waits), waits
    # Each wait is told right after the update carrying the ETA of the same moment.
    etas = [(t, e["eta_s"]) for t, kind, e in recorder.events if kind == "update" and "eta_s" in e]
    for (t_eta, eta), (t_wait, wait) in zip(etas, waits, strict=True):
        assert t_eta == t_wait
        assert eta >= wait  # never eta=0s while waiting
        if wait >= 1:
            # The ETA is the budget's: the last call leaves when it said (to the second).
            assert t_eta + eta == pytest.approx(finished, abs=1.0)


def test_tqdm_bar_shows_the_wait_for_the_budget(capsys):
    bars = make_progress("auto")
    bars.start("people", 100)
    bars.update("people", created=20, eta_s=75)
    bars.waiting("people", 12.2)  # type: ignore[attr-defined]
    err = capsys.readouterr().err
    assert "created=20, eta=1m15s, waiting for rate budget (12s)" in err
    bars.waiting("people", 0.0)  # type: ignore[attr-defined]
    bars.update("people", created=10, eta_s=60)
    bars.close()
    assert "waiting for rate budget" not in capsys.readouterr().err.rsplit("\r", 1)[-1]


def test_log_progress_says_once_that_calls_wait_for_the_budget(caplog):
    clock = FakeClock()
    log = LogProgress(clock=clock, every_s=10)
    with caplog.at_level("INFO", logger="twenty_migrate.run.progress"):
        log.start("people", 100)
        log.update("people", created=10, eta_s=200)
        log.waiting("people", 40)
        log.waiting("people", 39)
        log.waiting("people", 0.2)  # normal pacing: not a wait worth a word
    lines = [r.getMessage() for r in caplog.records if "waiting" in r.getMessage()]
    assert lines == ["people: waiting for rate budget (40s), eta=3m20s"]
