"""Shared fixtures: environment isolation, a fake clock, a fresh sandbox and its client.

Test modules import the helpers with ``from conftest import FakeClock, sandbox_client``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from twenty_migrate.run.importer import Importer
from twenty_migrate.sandbox import Sandbox
from twenty_migrate.sandbox.profiles import PROFILES
from twenty_migrate.twenty.client import TwentyClient
from twenty_migrate.twenty.schema import WorkspaceSchema, fetch_schema


@pytest.fixture(autouse=True, scope="session")
def isolated_cache_dir(tmp_path_factory) -> Iterator[None]:
    """Module-scoped fixtures build clients too: keep every server-traits file off the
    user's cache folder (``clean_environ`` narrows it to each test's own folder)."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("TWENTY_MIGRATE_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        yield


@pytest.fixture(autouse=True)
def clean_environ(tmp_path, monkeypatch) -> Iterator[None]:
    """Isolate every test from the developer's Twenty settings and runs directory."""
    for name in list(os.environ):
        if name.startswith(("TWENTY_API_", "TWENTY_MIGRATE_")):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TWENTY_MIGRATE_RUNS_DIR", str(tmp_path / "runs"))
    # Server traits are cached per base URL; the in-process sandboxes share one URL.
    monkeypatch.setenv("TWENTY_MIGRATE_CACHE_DIR", str(tmp_path / "cache"))
    yield


class FakeClock:
    """A monotonic clock that only moves when something sleeps on it, safe across threads.

    ``slept`` lists every wait in order; ``sum(clock.slept)`` is the time spent waiting.
    """

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.slept: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            with self._lock:
                self.slept.append(seconds)
                self.now += seconds

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


def sandbox_client(sandbox: Sandbox, clock: FakeClock, **options: Any) -> TwentyClient:
    """A client of ``sandbox``, answered in process and waiting on ``clock``.

    ``options`` go to :class:`TwentyClient` over these defaults (``transport=``,
    ``api_key=``, ``rate_limit=``...).
    """
    settings: dict[str, Any] = {
        "base_url": sandbox.base_url,
        "api_key": sandbox.api_key,
        "env_file": None,
        "clock": clock,
        "sleep": clock.sleep,
        **options,
    }
    if settings.get("transport") is None:
        settings["transport"] = sandbox.transport()
    return TwentyClient(**settings)


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def clock(fake_clock: FakeClock) -> FakeClock:
    """The fake clock under its short name (the same instance as ``fake_clock``)."""
    return fake_clock


@pytest.fixture(params=[profile.name for profile in PROFILES], ids=lambda name: f"twenty-{name}")
def twenty_version(request: pytest.FixtureRequest) -> str:
    """Each Twenty release family in turn: every test built on it runs on every profile."""
    return str(request.param)


@pytest.fixture
def sandbox(clock: FakeClock, twenty_version: str) -> Sandbox:
    """An empty sandbox on the fake clock, as the release ``twenty_version`` behaves."""
    return Sandbox(twenty_version=twenty_version, clock=clock, sleep=clock.sleep)


@pytest.fixture
def client(sandbox: Sandbox, clock: FakeClock) -> Iterator[TwentyClient]:
    """A client of this test's ``sandbox``, on the fake clock."""
    with sandbox_client(sandbox, clock) as client:
        yield client


@pytest.fixture
def schema(client: TwentyClient) -> WorkspaceSchema:
    return fetch_schema(client)


@pytest.fixture
def importer(client: TwentyClient, tmp_path: Path, clock: FakeClock) -> Importer:
    """An importer of ``client`` keeping its runs under ``tmp_path``, with no progress shown."""
    return Importer(client, runs_dir=tmp_path / "runs", progress=None, clock=clock)
