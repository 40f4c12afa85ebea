"""Tests for intelliauth_ext._timeouts: defaults, resolution and the per-attempt deadline."""

from __future__ import annotations

import httpx
import pytest

from intelliauth_ext._timeouts import (
    DEFAULT_TIMEOUT,
    NOT_GIVEN,
    attempt_deadline,
    resolve_timeout,
)


def test_default_is_30_seconds_with_5_to_connect() -> None:
    """The default timeout is 30 s per phase with 5 s to connect."""
    assert resolve_timeout(NOT_GIVEN) == httpx.Timeout(30.0, connect=5.0)
    assert DEFAULT_TIMEOUT.connect == 5.0
    assert attempt_deadline(DEFAULT_TIMEOUT) == 30.0


def test_seconds_cap_the_connect_phase() -> None:
    """A number of seconds applies to every phase, with connect capped at 5 s."""
    assert resolve_timeout(60) == httpx.Timeout(60.0, connect=5.0)
    assert resolve_timeout(2.0) == httpx.Timeout(2.0)


def test_none_means_no_limit() -> None:
    """timeout=None disables every limit, including the overall deadline."""
    assert resolve_timeout(None) == httpx.Timeout(None)
    assert attempt_deadline(resolve_timeout(None)) is None


def test_httpx_timeout_is_used_as_given() -> None:
    """An httpx.Timeout passes through unchanged."""
    custom = httpx.Timeout(10.0, connect=1.0, pool=2.0)
    assert resolve_timeout(custom) is custom
    assert attempt_deadline(custom) == 10.0


def test_negative_seconds_are_refused() -> None:
    """A negative timeout is a ValueError."""
    with pytest.raises(ValueError, match="timeout"):
        resolve_timeout(-1)


def test_not_given_is_falsy_and_reads_well() -> None:
    """NOT_GIVEN is falsy, distinct from None, and prints as NOT_GIVEN."""
    assert not NOT_GIVEN
    assert NOT_GIVEN is not None
    assert repr(NOT_GIVEN) == "NOT_GIVEN"


def test_not_given_falls_back_to_the_given_default() -> None:
    """NOT_GIVEN resolves to the default passed in (a with_options copy keeps its parent's)."""
    parent = httpx.Timeout(3.0)
    assert resolve_timeout(NOT_GIVEN, default=parent) is parent


# -- against a real socket: deadlines and cancellation ---------------------------------

import anyio  # noqa: E402

from intelliauth_ext import APITimeoutError  # noqa: E402
from intelliauth_ext._client import IntelliAuth  # noqa: E402
from intelliauth_ext._transports import LazyDefaultTransport  # noqa: E402

from .servers import LocalServer  # noqa: E402


def _transport(kind: str) -> httpx.AsyncBaseTransport:
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    if kind == "default":
        return LazyDefaultTransport(limits=limits)
    return httpx.AsyncHTTPTransport(limits=limits)


@pytest.mark.anyio
async def test_overall_deadline_stops_a_trickling_response(local_server: LocalServer) -> None:
    """A body trickling in under every per-read timeout still fails at the attempt deadline."""
    local_server.trickle_route("GET", "/trickle", size=40, gap=0.05)  # 2 s in total
    async with IntelliAuth(
        local_server.url, transport=httpx.AsyncHTTPTransport(), timeout=0.3, max_retries=0
    ) as client:
        started = anyio.current_time()
        with pytest.raises(APITimeoutError):
            await client.invoker.send({"method": "GET", "url": "/trickle"})
        assert anyio.current_time() - started < 1.5


@pytest.mark.anyio
@pytest.mark.parametrize("kind", ["default", "httpx"])
async def test_cancellation_leaves_the_client_usable_and_leaks_no_connection(
    local_server: LocalServer, kind: str
) -> None:
    """A call cancelled by a cancel scope frees its connection for the next call."""
    local_server.slow_route("GET", "/slow")
    local_server.json_route("GET", "/fast", 200, {"ok": True})
    transport = _transport(kind)
    async with IntelliAuth(
        local_server.url, transport=transport, timeout=httpx.Timeout(5.0, pool=1.0), max_retries=0
    ) as client:
        with anyio.move_on_after(0.2) as scope:
            await client.invoker.send({"method": "GET", "url": "/slow"})
        assert scope.cancelled_caught
        for _ in range(3):
            response = await client.invoker.send({"method": "GET", "url": "/fast"})
            assert response.json() == {"ok": True}
        inner = transport.inner if isinstance(transport, LazyDefaultTransport) else transport
        if isinstance(inner, httpx.AsyncHTTPTransport):
            pool = inner._pool
            assert not pool._requests, "a request is still holding a connection"


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.anyio
@pytest.mark.parametrize("kind", ["default", "httpx"])
async def test_asyncio_timeout_leaves_the_client_usable(
    local_server: LocalServer, kind: str, anyio_backend: str
) -> None:
    """asyncio.timeout() around a call frees its connection: the next call works."""
    import asyncio

    local_server.slow_route("GET", "/slow")
    local_server.json_route("GET", "/fast", 200, {"ok": True})
    async with IntelliAuth(
        local_server.url,
        transport=_transport(kind),
        timeout=httpx.Timeout(5.0, pool=1.0),
        max_retries=0,
    ) as client:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.2):
                await client.invoker.send({"method": "GET", "url": "/slow"})
        response = await client.invoker.send({"method": "GET", "url": "/fast"})
        assert response.json() == {"ok": True}
