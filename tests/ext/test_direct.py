"""Tests for intelliauth_ext._transports._direct: the SDK's own pool skips AsyncClient.send.

Each behaviour is checked against what ``httpx.AsyncClient.send`` does, since the direct
path has to be indistinguishable from it to a user (``test_sender.py`` compares the two
senders call for call).
"""

from __future__ import annotations

import hashlib
import http.server
from collections.abc import AsyncGenerator, Generator
from typing import Any

import httpx
import pytest
import respx

from intelliauth_ext import NotFoundError
from intelliauth_ext._client import IntelliAuth
from intelliauth_ext._transports import ClientSender, DirectSender, absolute_url

from .doubles import TENANT, StaticBearer
from .servers import LocalServer

pytestmark = pytest.mark.anyio

STATUS = {"method": "GET", "url": "/api/v1/status"}


@pytest.fixture
def no_asyncclient_send(monkeypatch: pytest.MonkeyPatch) -> list[httpx.Request]:
    """AsyncClient.send still works, but every request that went through it is recorded."""
    through_send: list[httpx.Request] = []
    original = httpx.AsyncClient.send

    async def send(self: httpx.AsyncClient, request: httpx.Request, **kwargs: Any) -> Any:
        through_send.append(request)
        return await original(self, request, **kwargs)

    monkeypatch.setattr(httpx.AsyncClient, "send", send)
    return through_send


class RefreshOn401(httpx.Auth):
    """Sends a stale token first; on 401 fetches a fresh one and replays the request."""

    def __init__(self) -> None:
        self.replayed: list[httpx.Response] = []

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        request.headers["Authorization"] = "Bearer stale"
        response = yield request
        if response.status_code == 401:
            self.replayed.append(response)
            request.headers["Authorization"] = "Bearer fresh"
            yield request


class BodySigner(httpx.Auth):
    """Signs the request body (it needs the body, as an HMAC or DPoP signer would)."""

    requires_request_body = True

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["X-Body-Digest"] = hashlib.sha256(request.content).hexdigest()
        yield request


async def test_sdk_pool_goes_straight_to_its_transport(
    local_server: LocalServer, no_asyncclient_send: list[httpx.Request]
) -> None:
    """The SDK's own client skips AsyncClient.send and still sends auth and headers."""
    local_server.json_route("GET", "/api/v1/status", 200, {"ok": True})
    async with IntelliAuth(local_server.url, auth=StaticBearer("tok")) as client:
        response = await client.invoker.send(STATUS)
    assert no_asyncclient_send == []
    assert response.json() == {"ok": True}
    assert response.request.url == f"{local_server.url}/api/v1/status"
    assert response.elapsed.total_seconds() > 0
    assert response.is_closed  # read and the connection handed back
    _, _, headers, _ = local_server.requests[-1]
    assert headers["Authorization"] == "Bearer tok"
    assert headers["User-Agent"].startswith("intelliauth-python/")
    assert "gzip" in headers["Accept-Encoding"]  # from the AsyncClient's defaults


async def test_event_hooks_installed_later_run_on_the_direct_path(
    local_server: LocalServer, no_asyncclient_send: list[httpx.Request]
) -> None:
    """Hooks added to client.http_client after the first request run, as send() runs them."""
    local_server.json_route("GET", "/api/v1/status", 200, {"ok": True})
    hooked: list[str] = []

    async def on_request(request: httpx.Request) -> None:
        hooked.append(f"request {request.url.path} {request.headers['Authorization']}")

    async def on_response(response: httpx.Response) -> None:
        # As under AsyncClient.send: the hook runs before the body is read, and may read it.
        body = await response.aread()
        hooked.append(f"response {response.status_code} {body.decode()}")

    async with IntelliAuth(local_server.url, auth=StaticBearer("tok")) as client:
        await client.invoker.send(STATUS)
        client.http_client.event_hooks["request"].append(on_request)
        client.http_client.event_hooks = {
            **client.http_client.event_hooks,
            "response": [on_response],
        }
        response = await client.invoker.send(STATUS)
    assert hooked == ["request /api/v1/status Bearer tok", 'response 200 {"ok": true}']
    assert response.json() == {"ok": True}
    assert no_asyncclient_send == []


async def test_a_failing_response_hook_propagates_and_releases_the_response(
    local_server: LocalServer,
) -> None:
    """An exception from a response hook (raise_for_status, say) reaches the caller as is."""
    local_server.json_route("GET", "/api/v1/status", 200, {})
    seen: list[httpx.Response] = []

    async def refuse(response: httpx.Response) -> None:
        seen.append(response)
        raise LookupError("refused by the hook")

    async with IntelliAuth(local_server.url) as client:
        client.http_client.event_hooks["response"].append(refuse)
        with pytest.raises(LookupError, match="refused by the hook"):
            await client.invoker.send(STATUS)
    assert seen[0].is_closed


async def test_only_the_sdks_own_pool_is_sent_directly() -> None:
    """A user's http_client keeps AsyncClient.send; with_options copies keep the direct path."""
    async with httpx.AsyncClient() as http:
        borrowed = IntelliAuth(TENANT, http_client=http)
        assert isinstance(borrowed.invoker._sender, ClientSender)
        assert isinstance(borrowed.with_options(timeout=3).invoker._sender, ClientSender)
    async with IntelliAuth(TENANT) as client:
        assert isinstance(client.invoker._sender, DirectSender)
        assert isinstance(client.with_options(timeout=3).invoker._sender, DirectSender)
    async with IntelliAuth(
        TENANT, transport=httpx.MockTransport(lambda r: httpx.Response(200))
    ) as c:
        # The pool is still the SDK's; only its transport is given.
        assert isinstance(c.invoker._sender, DirectSender)


async def test_auth_flow_replays_after_401(local_server: LocalServer) -> None:
    """A flow that answers a 401 with a second request gets it sent; the first is closed."""
    calls: list[str] = []

    def status(
        h: http.server.BaseHTTPRequestHandler, body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        calls.append(h.headers["Authorization"])
        if h.headers["Authorization"] == "Bearer stale":
            return 401, {}, b'{"error":"invalid_token","message":"expired","request_id":"r"}'
        return 200, {}, b'{"ok": true}'

    local_server.routes[("GET", "/api/v1/status")] = status
    auth = RefreshOn401()
    async with IntelliAuth(local_server.url, auth=auth) as client:
        response = await client.invoker.send(STATUS)
    assert response.json() == {"ok": True}
    assert calls == ["Bearer stale", "Bearer fresh"]
    assert [r.status_code for r in auth.replayed] == [401]
    assert auth.replayed[0].is_closed


async def test_auth_that_needs_the_body_gets_it(local_server: LocalServer) -> None:
    """requires_request_body is honoured: the signer sees the bytes that are sent."""
    local_server.json_route("POST", "/api/v1/users", 201, {"data": {}})
    body = b'{"email": "ada@example.com"}'
    async with IntelliAuth(local_server.url, auth=BodySigner()) as client:
        await client.invoker.send(
            {"method": "POST", "url": "/api/v1/users", "content": body},
        )
    _, _, headers, received = local_server.requests[-1]
    assert received == body
    assert headers["X-Body-Digest"] == hashlib.sha256(body).hexdigest()


async def test_error_bodies_are_read(local_server: LocalServer) -> None:
    """A 404's JSON body reaches the exception on the direct path too."""
    local_server.json_route(
        "GET",
        "/api/v1/status",
        404,
        {"error": "not_found", "message": "No such thing.", "request_id": "req_9"},
        headers={"X-Request-Id": "req_9"},
    )
    async with IntelliAuth(local_server.url) as client:
        with pytest.raises(NotFoundError) as info:
            await client.invoker.send(STATUS)
    assert info.value.request_id == "req_9"
    assert "No such thing." in str(info.value)


async def test_a_closed_client_refuses_as_asyncclient_does() -> None:
    """After aclose() the pool is not silently reopened."""
    client = IntelliAuth(TENANT, transport=httpx.MockTransport(lambda r: httpx.Response(200)))
    await client.aclose()
    with pytest.raises(RuntimeError, match="closed"):
        await client.invoker.send(STATUS)


async def test_client_header_changes_are_picked_up(router: respx.MockRouter) -> None:
    """Headers set on http_client after a request apply to the next one; the SDK's win."""
    route = router.get("/api/v1/status").respond(200, json={})
    async with IntelliAuth(TENANT, default_headers={"X-Tenant-Hint": "acme"}) as client:
        await client.invoker.send(STATUS)
        client.http_client.headers["X-Added"] = "1"
        client.http_client.headers["X-Tenant-Hint"] = "ignored"
        await client.invoker.send(STATUS)
    first, second = (call.request.headers for call in route.calls)
    assert "X-Added" not in first
    assert second["X-Added"] == "1"
    assert second["X-Tenant-Hint"] == "acme"
    assert second["User-Agent"].startswith("intelliauth-python/")


@pytest.mark.parametrize(
    "params",
    [
        {"q": "a b&c=d", "ids": ["usr_1", "usr_2"]},
        {"email": "ada+1@example.com", "name": "Zoë", "limit": 10},
        {"flag": True, "empty": ""},
    ],
)
async def test_query_strings_match_asyncclient(router: respx.MockRouter, params: Any) -> None:
    """The URL with its query is byte for byte what AsyncClient.build_request makes."""
    route = router.get("/api/v1/users").respond(200, json={})
    async with IntelliAuth(TENANT) as client:
        await client.invoker.send({"method": "GET", "url": "/api/v1/users", "params": params})
        expected = client.http_client.build_request(
            "GET", f"{TENANT}/api/v1/users", params=params
        ).url
    assert route.calls.last.request.url.raw_path == expected.raw_path


def test_url_cache_is_bounded_and_shared() -> None:
    """Parsed URLs are cached by string (httpx.URL is immutable), in a bounded cache."""
    assert absolute_url(f"{TENANT}/api/v1/status") is absolute_url(f"{TENANT}/api/v1/status")
    assert absolute_url.cache_info().maxsize == 1024


_CLIENT_HEADERS = {"User-Agent": "intelliauth-python/test", "Accept": "application/json"}


@pytest.mark.parametrize(
    ("method", "extra"),
    [
        ("GET", {}),
        ("DELETE", {}),
        ("POST", {}),  # no body: Content-Length 0, as httpx adds it
        ("PUT", {"json": None}),
        ("POST", {"json": {"name": "Zoë", "tags": ["a", "b"], "n": 1.5, "x": None}}),
        ("PATCH", {"json": {}}),
        ("POST", {"json": [1, "two"], "headers": {"Content-Type": "application/merge+json"}}),
        ("POST", {"json": {"a": 1}, "headers": {"Content-Length": "7", "Host": "example.test"}}),
        ("POST", {"content": b"raw=1"}),
        ("POST", {"data": {"grant_type": "client_credentials"}}),
        ("GET", {"params": {"limit": 10}}),
    ],
)
def test_built_requests_are_those_of_asyncclient(method: str, extra: dict[str, Any]) -> None:
    """Every request DirectSender builds is byte for byte what AsyncClient.build_request builds.

    Method, URL, every header in order, the body and its being read: the plain path for
    bodiless and JSON calls must not be told apart from httpx's own.
    """
    client = httpx.AsyncClient()
    timeout = httpx.Timeout(5.0)
    sender = DirectSender(client, timeout=timeout)
    headers = httpx.Headers(client.headers)  # as Invoker.prepare merges them
    headers.update(_CLIENT_HEADERS)
    headers.update(extra.pop("headers", {}))
    prepared = {
        "method": method,
        "url": absolute_url(f"{TENANT}/api/v1/things"),
        "headers": headers,
        "timeout": timeout,
        **extra,
    }
    built = sender.build_request(prepared)
    expected = client.build_request(**prepared)
    assert built.method == expected.method
    assert built.url == expected.url
    assert built.headers.raw == expected.headers.raw
    assert built.content == expected.content
    assert built.extensions["timeout"] == expected.extensions["timeout"]
    assert isinstance(built.stream, httpx.ByteStream)


def test_a_json_body_that_httpx_refuses_is_refused_alike() -> None:
    """NaN is not JSON: refused with the ValueError httpx raises, before anything is sent."""
    client = httpx.AsyncClient()
    sender = DirectSender(client, timeout=httpx.Timeout(5.0))
    prepared = {
        "method": "POST",
        "url": absolute_url(f"{TENANT}/api/v1/things"),
        "headers": httpx.Headers(_CLIENT_HEADERS),
        "json": {"n": float("nan")},
    }
    with pytest.raises(ValueError, match="JSON compliant"):
        client.build_request(**prepared)
    with pytest.raises(ValueError, match="JSON compliant"):
        sender.build_request(prepared)
