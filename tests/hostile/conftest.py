"""Fixtures for the hostile-server suite: loopback servers, both backends, no backoff sleeps."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from ext.backends import anyio_backend, no_backoff_sleep  # noqa: F401 - fixtures
from ext.servers import LocalServer  # tests/ is on sys.path: tests/ext is the package `ext`


@pytest.fixture
def local_server() -> Iterator[LocalServer]:
    """A started LocalServer (tests/ext/servers.py) on 127.0.0.1, stopped afterwards."""
    server = LocalServer()
    with server.running():
        yield server
