"""Tests for intelliauth_ext._transports._default: the lazily chosen default transport."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest

from intelliauth_ext._client import IntelliAuth
from intelliauth_ext._transports import LazyDefaultTransport, current_async_library
from intelliauth_ext._transports import _default as default_transport
from intelliauth_ext._transports._aiohttp import AiohttpTransport

from .servers import LocalServer

pytestmark = pytest.mark.anyio


async def _get(transport: LazyDefaultTransport, url: str) -> tuple[httpx.Response, type | None]:
    """GET through the transport; the response and the type of the transport it picked."""
    async with httpx.AsyncClient(transport=transport) as client:
        response = await client.get(url)
        return response, type(transport.inner) if transport.inner is not None else None


async def test_current_async_library_names_the_backend(anyio_backend: str) -> None:
    """The running library is detected on both backends."""
    assert current_async_library() == anyio_backend


async def test_default_is_aiohttp_on_asyncio_and_httpx_on_trio(
    local_server: LocalServer, anyio_backend: str
) -> None:
    """The first request picks aiohttp under asyncio and httpx's transport under trio."""
    local_server.json_route("GET", "/ok", 200, {"ok": True})
    transport = LazyDefaultTransport()
    assert transport.inner is None
    response, picked = await _get(transport, f"{local_server.url}/ok")
    assert response.json() == {"ok": True}
    expected = AiohttpTransport if anyio_backend == "asyncio" else httpx.AsyncHTTPTransport
    assert picked is expected


async def test_httpx_transport_when_aiohttp_is_missing_or_declined(
    local_server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the aiohttp extra, or with prefer_aiohttp=False, httpx's transport is used."""
    local_server.json_route("GET", "/ok", 200, {"ok": True})
    declined = LazyDefaultTransport(prefer_aiohttp=False)
    _, picked = await _get(declined, f"{local_server.url}/ok")
    assert picked is httpx.AsyncHTTPTransport

    monkeypatch.setattr(default_transport, "aiohttp_available", lambda: False)
    missing = LazyDefaultTransport()
    _, picked = await _get(missing, f"{local_server.url}/ok")
    assert picked is httpx.AsyncHTTPTransport


def test_aiohttp_is_detected_as_installed() -> None:
    """The aiohttp extra is installed in the dev environment and detected."""
    assert default_transport.aiohttp_available()


async def test_closed_transport_refuses_requests(local_server: LocalServer) -> None:
    """After aclose() the transport refuses to send and has released its inner transport."""
    local_server.json_route("GET", "/ok", 200, {})
    transport = LazyDefaultTransport()
    async with httpx.AsyncClient(transport=transport) as client:
        await client.get(f"{local_server.url}/ok")
    assert transport.inner is None
    with pytest.raises(RuntimeError, match="closed"):
        await transport.handle_async_request(httpx.Request("GET", f"{local_server.url}/ok"))


async def test_transport_refuses_another_event_loop_library(anyio_backend: str) -> None:
    """A transport started under one library fails clearly under another."""
    transport = LazyDefaultTransport()
    transport._inner = httpx.AsyncHTTPTransport()
    transport._inner_library = "trio" if anyio_backend == "asyncio" else "asyncio"
    with pytest.raises(RuntimeError, match="one client per event loop"):
        await transport.handle_async_request(httpx.Request("GET", "http://127.0.0.1:1/"))
    await transport.aclose()


async def test_transport_argument_overrides_the_default(local_server: LocalServer) -> None:
    """transport= replaces the default transport of the client's pool."""
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, json={})

    async with IntelliAuth(local_server.url, transport=httpx.MockTransport(handler)) as client:
        await client.invoker.send({"method": "GET", "url": "/x"})
    assert seen == [f"{local_server.url}/x"]


async def test_client_sends_through_the_default_transport(
    local_server: LocalServer, anyio_backend: str
) -> None:
    """An IntelliAuth client with no transport option talks to a real server on both backends."""
    local_server.json_route("GET", "/api/v1/status", 200, {"ok": True}, {"X-Request-Id": "req_1"})
    async with IntelliAuth(local_server.url) as client:
        response = await client.invoker.send({"method": "GET", "url": "/api/v1/status"})
        transport = client.http_client._transport
        assert isinstance(transport, LazyDefaultTransport)
        expected = AiohttpTransport if anyio_backend == "asyncio" else httpx.AsyncHTTPTransport
        assert type(transport.inner) is expected
    assert response.json() == {"ok": True}
    assert response.headers["X-Request-Id"] == "req_1"


def test_importing_the_client_does_not_import_aiohttp() -> None:
    """aiohttp is imported at the first request that picks it, not by building a client."""
    code = (
        "import sys\n"
        "from intelliauth_ext import IntelliAuth\n"
        "client = IntelliAuth('https://acme.intelliauth.test')\n"
        "assert 'aiohttp' not in sys.modules, 'aiohttp imported'\n"
        "import intelliauth_ext._transports\n"
        "assert 'aiohttp' not in sys.modules, 'aiohttp imported by _transports'\n"
    )
    subprocess.run([sys.executable, "-W", "ignore", "-c", code], check=True, timeout=60)
