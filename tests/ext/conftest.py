"""Fixtures for the runtime tests: both async backends, no real backoff sleeps, shared servers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import respx

from .backends import anyio_backend, no_backoff_sleep  # noqa: F401 - fixtures
from .doubles import TENANT
from .oidc_fakes import FakeClock, FakeProvider
from .redis_fixtures import prefix, redis, redis_url  # noqa: F401 - fixtures
from .servers import LocalServer


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
