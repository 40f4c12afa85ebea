"""Fixtures for the runtime tests: both async backends, no real backoff sleeps, shared servers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import respx

from intelliauth_ext import _retries

from .doubles import TENANT
from .oidc_fakes import FakeClock, FakeProvider
from .servers import LocalServer


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


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    """respx routes on the tenant URL, mocked at the client so any transport is bypassed."""
    with respx.mock(base_url=TENANT, using="httpx", assert_all_called=False) as mock:
        yield mock


@pytest.fixture
def local_server() -> Iterator[LocalServer]:
    """A real HTTP server on 127.0.0.1, in a thread."""
    server = LocalServer()
    with server.running():
        yield server


# -- the OIDC tests (test_discovery.py, test_verification.py, test_flow.py) -------------


@pytest.fixture
def clock() -> FakeClock:
    """A clock at oidc_fakes.NOW (modules with another clock override this fixture)."""
    return FakeClock()


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    """respx routes on any host; nothing reaches the network."""
    with respx.mock(assert_all_called=False) as router:
        yield router


@pytest.fixture
def provider(mock: respx.MockRouter, clock: FakeClock) -> FakeProvider:
    """The fake identity provider of oidc_fakes.py on respx."""
    return FakeProvider(mock, clock)
