"""Shared fixtures: environment isolation, a fake clock, a fresh sandbox."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def clean_environ(tmp_path, monkeypatch) -> Iterator[None]:
    """Isolate every test from the developer's Twenty settings and runs directory."""
    for name in list(os.environ):
        if name.startswith(("TWENTY_API_", "TWENTY_MIGRATE_")):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TWENTY_MIGRATE_RUNS_DIR", str(tmp_path / "runs"))
    yield


class FakeClock:
    """A monotonic clock that only moves when something sleeps on it."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.slept.append(seconds)
            self.now += seconds

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()
