"""Fixtures for the hostile-server suite: loopback servers, both backends, no backoff sleeps."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from ext.auth_fakes import FakeClock
from ext.backends import anyio_backend, no_backoff_sleep  # noqa: F401 - fixtures
from ext.servers import LocalServer  # tests/ is on sys.path: tests/ext is the package `ext`

from .identity_provider import NOW, LocalProvider


@pytest.fixture
def local_server() -> Iterator[LocalServer]:
    """A started LocalServer (tests/ext/servers.py) on 127.0.0.1, stopped afterwards."""
    server = LocalServer()
    with server.running():
        yield server


@pytest.fixture
def clock() -> FakeClock:
    """The clock of flows and verifiers: token times and backoff move only when a test says."""
    return FakeClock(wall=NOW, monotonic=1_000.0)


@pytest.fixture
def provider(local_server: LocalServer) -> Iterator[LocalProvider]:
    """The identity provider on loopback; its hanging routes give up when the test ends."""
    provider = LocalProvider(local_server, now=NOW)
    yield provider
    provider.hung.set()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    """One HTTP client for a test's flows and verifiers (making one costs ~0.1 s: TLS)."""
    async with httpx.AsyncClient(timeout=30.0) as client:
        yield client
