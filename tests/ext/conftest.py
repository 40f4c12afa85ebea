"""Fixtures for the runtime tests: both async backends, no real backoff sleeps."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import pytest
import respx

from intelliauth_ext import _retries

from .fakes import TENANT, LocalServer, StandInClientCredentials, fake_facade


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
def fake_facade_module(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The generated facade replaced by the fake one of tests/ext/fakes.py."""
    monkeypatch.setitem(sys.modules, "intelliauth_client.facade", fake_facade)
    return fake_facade


@pytest.fixture
def client_credentials_class(monkeypatch: pytest.MonkeyPatch) -> type[Any]:
    """The real ClientCredentials when the auth module exists, else the test stand-in."""
    try:
        from intelliauth_ext._auth import ClientCredentials  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        import types

        module = types.ModuleType("intelliauth_ext._auth")
        module.ClientCredentials = StandInClientCredentials  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, "intelliauth_ext._auth", module)
        return StandInClientCredentials
    return ClientCredentials  # type: ignore[no-any-return]


@pytest.fixture
def local_server() -> Iterator[LocalServer]:
    """A real HTTP server on 127.0.0.1, in a thread."""
    server = LocalServer()
    with server.running():
        yield server
