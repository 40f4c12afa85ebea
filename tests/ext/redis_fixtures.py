"""The fixtures of the tests that talk to a real Redis: one server, a client, a key prefix.

Imported by ``tests/ext/conftest.py``; each Redis test module picks the asyncio backend
itself. ``make test`` installs redis-server, so a missing one fails the run instead of
skipping it.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from redis.asyncio import Redis

from .redis_server import redis_server

__all__ = ["prefix", "redis", "redis_url"]


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A real redis-server on a free loopback port, without persistence, for this session."""
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not on PATH: `make test` installs it (apt redis-server)")
    with redis_server() as url:
        yield url


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    """A client of that server, closed after the test."""
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
def prefix() -> str:
    """A key prefix of the test's own, so tests sharing the server never meet."""
    return f"test:{uuid.uuid4().hex}:"
