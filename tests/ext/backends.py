"""Fixtures shared by the unit and hostile-server suites: both anyio backends, no backoff sleeps."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from intelliauth_ext import _retries


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Every async test runs on asyncio and on trio."""
    return str(request.param)


@pytest.fixture(autouse=True)
def no_backoff_sleep(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float]]:
    """Backoff sleeps are recorded, never slept (the retries module's test mode)."""
    delays: list[float] = []
    original = _retries.sleep_before_retry

    async def record(seconds: float) -> None:
        delays.append(seconds)
        await original(seconds)

    _retries.set_testing(True)
    monkeypatch.setattr(_retries, "sleep_before_retry", record)
    yield delays
    _retries.set_testing(False)
