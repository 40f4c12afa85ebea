"""Tests for intelliauth_ext._transports._aiohttp, over real sockets on loopback."""

from __future__ import annotations

import gzip
import http.server
import socket
import ssl
from collections.abc import AsyncIterator

import aiohttp
import httpx
import pytest
from aiohttp import client_exceptions as aiohttp_errors

from intelliauth_ext._transports._aiohttp import (
    BUFFERED_BODY_LIMIT,
    AiohttpTransport,
    map_error,
)

from .servers import LocalServer

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    """aiohttp runs on asyncio only."""
    return "asyncio"


def _read_chunked(handler: http.server.BaseHTTPRequestHandler) -> bytes:
    """Read a chunked request body off the socket (http.server does not decode it)."""
    body = b""
    while True:
        size = int(handler.rfile.readline().strip(), 16)
        if size == 0:
            handler.rfile.readline()
            return body
        body += handler.rfile.read(size)
        handler.rfile.readline()


def _unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_small_body_arrives_read(local_server: LocalServer) -> None:
    """An answer of known length under the limit is returned with its body already read."""
    local_server.json_route("GET", "/ok", 200, {"ok": True}, headers={"X-Request-Id": "req_1"})
    transport = AiohttpTransport()
    try:
        response = await transport.handle_async_request(
            httpx.Request("GET", f"{local_server.url}/ok")
        )
        assert response.content == b'{"ok": true}'  # no await: it is already here
        assert response.status_code == 200
        assert response.headers["x-request-id"] == "req_1"
        assert response.extensions["http_version"] == b"HTTP/1.1"
    finally:
        await transport.aclose()


async def test_large_and_chunked_bodies_stream(local_server: LocalServer) -> None:
    """A body over the buffering limit, or without a length, streams through whole."""
    big = b"x" * (BUFFERED_BODY_LIMIT + 1)
    local_server.routes[("GET", "/big")] = lambda h, body: (200, {}, big)

    def chunked(h: http.server.BaseHTTPRequestHandler, body: bytes) -> None:
        h.send_response(200)
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        for part in (b"one,", b"two,", b"three"):
            h.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
        h.wfile.write(b"0\r\n\r\n")

    local_server.routes[("GET", "/chunked")] = chunked
    async with httpx.AsyncClient(transport=AiohttpTransport()) as client:
        async with client.stream("GET", f"{local_server.url}/big") as response:
            received = b"".join([chunk async for chunk in response.aiter_raw()])
        assert received == big
        response = await client.get(f"{local_server.url}/chunked")
        assert response.content == b"one,two,three"


async def test_request_bodies_bytes_and_streamed(local_server: LocalServer) -> None:
    """A bytes body goes with its length; a streamed one is chunked by aiohttp."""
    seen: list[tuple[str | None, str | None, bytes]] = []

    def echo(
        h: http.server.BaseHTTPRequestHandler, body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        if h.headers.get("Transfer-Encoding") == "chunked":
            body = _read_chunked(h)
        seen.append((h.headers.get("Content-Length"), h.headers.get("Transfer-Encoding"), body))
        return 201, {}, b"{}"

    local_server.routes[("POST", "/echo")] = echo

    async def parts() -> AsyncIterator[bytes]:
        yield b'{"email": '
        yield b'"ada@example.com"}'

    async with httpx.AsyncClient(transport=AiohttpTransport()) as client:
        first = await client.post(f"{local_server.url}/echo", content=b'{"a": 1}')
        second = await client.post(f"{local_server.url}/echo", content=parts())
    assert (first.status_code, second.status_code) == (201, 201)
    assert seen[0] == ("8", None, b'{"a": 1}')
    assert seen[1] == (None, "chunked", b'{"email": "ada@example.com"}')


async def test_headers_and_url_go_out_as_httpx_built_them(local_server: LocalServer) -> None:
    """No header of aiohttp's own is added, repeated headers survive, the URL is not re-quoted."""
    traces: list[list[str]] = []

    def record(
        h: http.server.BaseHTTPRequestHandler, body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        traces.append(h.headers.get_all("X-Trace") or [])
        return 200, {}, b"{}"

    local_server.routes[("GET", "/a%2Fb")] = record
    transport = AiohttpTransport()
    request = httpx.Request(
        "GET",
        f"{local_server.url}/a%2Fb?q=x%20y&q=%C3%A9",
        headers=[("X-Trace", "1"), ("X-Trace", "2")],
    )
    try:
        response = await transport.handle_async_request(request)
    finally:
        await transport.aclose()
    assert response.status_code == 200
    method, path, headers, _ = local_server.requests[-1]
    assert (method, path) == ("GET", "/a%2Fb?q=x%20y&q=%C3%A9")
    assert "User-Agent" not in headers  # httpx's client sets it; the transport adds nothing
    assert "Accept-Encoding" not in headers
    assert traces == [["1", "2"]]


async def test_repeated_response_headers_are_kept(local_server: LocalServer) -> None:
    """Two Set-Cookie lines come back as two values."""

    def two_cookies(h: http.server.BaseHTTPRequestHandler, body: bytes) -> None:
        h.send_response(200)
        h.send_header("Set-Cookie", "a=1")
        h.send_header("Set-Cookie", "b=2")
        h.send_header("Content-Length", "0")
        h.end_headers()

    local_server.routes[("GET", "/cookies")] = two_cookies
    async with httpx.AsyncClient(transport=AiohttpTransport()) as client:
        response = await client.get(f"{local_server.url}/cookies")
    assert response.headers.get_list("set-cookie") == ["a=1", "b=2"]


async def test_gzip_is_left_to_httpx(local_server: LocalServer) -> None:
    """aiohttp does not decompress: the raw bytes reach httpx, which decodes them once."""
    packed = gzip.compress(b'{"ok": true}')
    local_server.routes[("GET", "/gz")] = lambda h, body: (
        200,
        {"Content-Encoding": "gzip"},
        packed,
    )
    transport = AiohttpTransport()
    async with httpx.AsyncClient(transport=transport) as client:
        response = await client.get(f"{local_server.url}/gz")
        assert response.json() == {"ok": True}
        raw = await transport.handle_async_request(httpx.Request("GET", f"{local_server.url}/gz"))
        assert isinstance(raw.stream, httpx.AsyncByteStream)
        assert b"".join([chunk async for chunk in raw.stream]) == packed


async def test_refused_connection_is_connect_error() -> None:
    """Nothing listening: httpx.ConnectError, as on httpx's own transport."""
    async with httpx.AsyncClient(transport=AiohttpTransport()) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(f"http://127.0.0.1:{_unused_port()}/")


async def test_server_hanging_up_is_remote_protocol_error(local_server: LocalServer) -> None:
    """A server that closes without answering did receive the request: not a ConnectError."""

    def hang_up(h: http.server.BaseHTTPRequestHandler, body: bytes) -> None:
        h.close_connection = True
        h.connection.shutdown(socket.SHUT_RDWR)

    local_server.routes[("GET", "/hang-up")] = hang_up
    async with httpx.AsyncClient(transport=AiohttpTransport()) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await client.get(f"{local_server.url}/hang-up")


async def test_truncated_body_is_read_error(local_server: LocalServer) -> None:
    """A body shorter than its Content-Length fails as httpx.ReadError while streaming."""

    def truncated(h: http.server.BaseHTTPRequestHandler, body: bytes) -> None:
        h.send_response(200)
        h.send_header("Content-Length", "100")
        h.end_headers()
        h.wfile.write(b"0123456789")
        h.wfile.flush()
        h.close_connection = True
        h.connection.shutdown(socket.SHUT_RDWR)

    local_server.routes[("GET", "/short")] = truncated
    async with httpx.AsyncClient(transport=AiohttpTransport()) as client:
        with pytest.raises(httpx.ReadError):
            await client.get(f"{local_server.url}/short")


async def test_slow_server_is_read_timeout(local_server: LocalServer) -> None:
    """No answer within the read timeout: httpx.ReadTimeout."""
    local_server.slow_route("GET", "/slow")
    async with httpx.AsyncClient(
        transport=AiohttpTransport(), timeout=httpx.Timeout(5.0, read=0.2)
    ) as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.get(f"{local_server.url}/slow")


async def test_the_pool_reopens_after_aclose(local_server: LocalServer) -> None:
    """aclose() closes the session; a later request opens a new one; aclose twice is safe."""
    local_server.json_route("GET", "/ok", 200, {})
    transport = AiohttpTransport()
    request = httpx.Request("GET", f"{local_server.url}/ok")
    await transport.handle_async_request(request)
    first = transport._session
    await transport.aclose()
    await transport.aclose()
    assert first is not None
    assert first.closed
    assert (await transport.handle_async_request(request)).status_code == 200
    assert transport._session is not first
    await transport.aclose()


def test_timeouts_are_built_once_per_distinct_timeout() -> None:
    """httpx's pool timeout is added to connect (aiohttp waits for a connection inside it)."""
    transport = AiohttpTransport()
    timeout = httpx.Timeout(30.0, connect=5.0, pool=2.0).as_dict()
    built = transport._timeout(timeout)
    assert built is transport._timeout(dict(timeout))
    assert (built.total, built.sock_connect, built.sock_read, built.connect) == (
        None,
        5.0,
        30.0,
        7.0,
    )
    unbounded = transport._timeout(httpx.Timeout(None).as_dict())
    assert (unbounded.sock_connect, unbounded.sock_read, unbounded.connect) == (None, None, None)


def test_verify_false_and_a_given_context_are_used_as_given() -> None:
    """verify=False skips checks; an SSLContext is used as is; the default verifies."""
    context = ssl.create_default_context()
    assert AiohttpTransport(verify=False)._ssl is False
    assert AiohttpTransport(verify=context)._ssl is context
    default = AiohttpTransport()._ssl
    assert isinstance(default, ssl.SSLContext)
    assert default.verify_mode == ssl.CERT_REQUIRED


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (aiohttp_errors.ConnectionTimeoutError(), httpx.ConnectTimeout),
        (aiohttp_errors.SocketTimeoutError(), httpx.ReadTimeout),
        (aiohttp_errors.ServerTimeoutError(), httpx.ReadTimeout),
        (aiohttp_errors.ServerDisconnectedError(), httpx.RemoteProtocolError),
        (aiohttp_errors.ClientPayloadError("cut"), httpx.ReadError),
        (aiohttp_errors.InvalidURL("ftp://x"), httpx.UnsupportedProtocol),
        (aiohttp_errors.ClientOSError(), httpx.ReadError),
        (aiohttp.ClientError("other"), httpx.NetworkError),
    ],
)
def test_error_map(error: BaseException, expected: type[httpx.TransportError]) -> None:
    """Each aiohttp error maps to the httpx error of the same meaning (retries rely on it)."""
    mapped = map_error(error)
    assert type(mapped) is expected
    assert str(mapped)


def test_errors_outside_aiohttp_are_not_mapped() -> None:
    """Anything that is not an aiohttp client error is left alone."""
    assert map_error(ValueError("x")) is None
