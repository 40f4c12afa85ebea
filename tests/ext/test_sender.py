"""Tests for intelliauth_ext._transports._sender: both senders send alike, chosen once.

``DirectSender`` (the SDK's own client) and ``ClientSender`` (``AsyncClient.send``, for a
client the user passes in) make the same calls over the same transport to a real server
on loopback; the server must see the same requests (method, URL, headers with the
``Authorization`` the auth flow wrote, body) and the caller the same results and the
same exceptions, auth-flow replays and retries included.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import socket
import time
from collections.abc import Callable, Generator, Mapping
from typing import Any

import httpx
import pytest

from intelliauth_ext import IntelliAuthError
from intelliauth_ext._client import IntelliAuth
from intelliauth_ext._invoker import IDEMPOTENCY_KEY_HEADER
from intelliauth_ext._transports import ClientSender, DirectSender, LazyDefaultTransport, Sender

from .servers import LocalServer

pytestmark = pytest.mark.anyio

Outcome = dict[str, Any]


class SigningRefreshingAuth(httpx.Auth):
    """Signs the body, sends a stale token first and, after a 401, a fresh one again."""

    requires_request_body = True

    def __init__(self) -> None:
        self.token = "stale"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["X-Body-Digest"] = hashlib.sha256(request.content).hexdigest()
        request.headers["Authorization"] = f"Bearer {self.token}"
        response = yield request
        if response.status_code == 401:
            self.token = "fresh"
            request.headers["Authorization"] = "Bearer fresh"
            yield request


def _route(
    status: int, body: bytes = b"{}", headers: Mapping[str, str] | None = None
) -> Callable[[http.server.BaseHTTPRequestHandler, bytes], tuple[int, dict[str, str], bytes]]:
    def answer(
        handler: http.server.BaseHTTPRequestHandler, received: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        return status, dict(headers or {}), body

    return answer


def install_routes(server: LocalServer) -> None:
    """A fresh set of routes (their state included) for one sender's run."""
    flaky_calls: list[int] = []

    def flaky(
        handler: http.server.BaseHTTPRequestHandler, received: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        flaky_calls.append(1)
        if len(flaky_calls) == 1:
            return 503, {"Retry-After": "0"}, b'{"error":"unavailable","message":"busy"}'
        return 200, {}, b'{"ok":true}'

    def guarded(
        handler: http.server.BaseHTTPRequestHandler, received: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        if handler.headers["Authorization"] != "Bearer fresh":
            return 401, {"WWW-Authenticate": "Bearer"}, b'{"error":"invalid_token"}'
        return 200, {}, json.dumps({"echo": received.decode()}).encode()

    def slow(
        handler: http.server.BaseHTTPRequestHandler, received: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        time.sleep(0.6)
        return 200, {}, b"{}"

    server.routes.clear()
    server.routes.update(
        {
            ("GET", "/api/v1/users"): _route(200, b'{"data":[],"meta":{"next_cursor":null}}'),
            ("POST", "/api/v1/users"): _route(
                201, b'{"data":{"id":"usr_1"}}', {"Location": "/api/v1/users/usr_1"}
            ),
            ("PATCH", "/api/v1/users/usr_1"): _route(200, b'{"data":{"id":"usr_1"}}'),
            ("DELETE", "/api/v1/users/usr_1"): _route(204, b""),
            ("POST", "/oauth2/token"): _route(200, b'{"access_token":"at","token_type":"Bearer"}'),
            ("GET", "/api/v1/flaky"): flaky,
            ("POST", "/api/v1/guarded"): guarded,
            ("GET", "/api/v1/moved"): _route(302, b"", {"Location": "https://elsewhere.test/"}),
            ("GET", "/api/v1/slow"): slow,
            ("GET", "/api/v1/missing"): _route(
                404,
                b'{"error":"not_found","message":"No such user.","request_id":"req_9"}',
                {"X-Request-Id": "req_9"},
            ),
            ("POST", "/oauth2/revoke"): _route(
                400, b'{"error":"invalid_client","error_description":"Who are you?"}'
            ),
        }
    )


def _outcome(result: httpx.Response | BaseException) -> Outcome:
    """What the caller can observe of a result, minus what differs between any two calls."""
    if isinstance(result, httpx.Response):
        return {
            "status": result.status_code,
            "headers": [(k, v) for k, v in result.headers.multi_items() if k != "date"],
            "content": result.content,
            "request": (result.request.method, str(result.request.url)),
            "request_headers": sorted(result.request.headers.multi_items()),
            "closed": result.is_closed,
        }
    outcome: Outcome = {"type": type(result), "message": str(result)}
    for name in ("status_code", "code", "request_id", "error", "error_description"):
        outcome[name] = getattr(result, name, None)
    request = getattr(result, "request", None)
    outcome["request"] = (request.method, str(request.url)) if request is not None else None
    return outcome


async def _run(client: IntelliAuth) -> list[Outcome]:
    """The same calls, in the same order; each one's outcome, and what event hooks saw."""
    seen_by_hooks: list[str] = []

    async def on_request(request: httpx.Request) -> None:
        seen_by_hooks.append(f"{request.method} {request.url} {request.headers['Authorization']}")

    async def on_response(response: httpx.Response) -> None:
        seen_by_hooks.append(f"{response.status_code} {response.request.url}")

    # Installed after the client was built, as a user of client.http_client would.
    client.http_client.event_hooks["request"].append(on_request)
    client.http_client.event_hooks["response"].append(on_response)
    invoker = client.invoker
    calls: list[tuple[Any, Mapping[str, Any], dict[str, Any]]] = [
        (
            invoker,
            {
                "method": "get",
                "url": "/api/v1/users",
                "params": {"q": "a b&c=d", "ids": ["usr_1", "usr_2"], "email": "ada+1@x.io"},
            },
            {},
        ),
        (
            invoker,
            {
                "method": "post",
                "url": "/api/v1/users",
                "json": {"email": "ada@example.com", "name": "Zoë"},
                "headers": {"X-Trace": "t-1", IDEMPOTENCY_KEY_HEADER: "key-1"},
            },
            {"add_idempotency_key": True},
        ),
        (invoker, {"method": "patch", "url": "/api/v1/users/usr_1", "json": {"name": "A"}}, {}),
        (invoker, {"method": "delete", "url": "/api/v1/users/usr_1"}, {}),
        (
            invoker,
            {
                "method": "post",
                "url": "/oauth2/token",
                "data": {"grant_type": "client_credentials", "scope": "users:read"},
            },
            {},
        ),
        (invoker, {"method": "get", "url": "/api/v1/flaky"}, {}),
        (invoker, {"method": "post", "url": "/api/v1/guarded", "content": b"raw bytes"}, {}),
        (invoker, {"method": "get", "url": "/api/v1/moved"}, {"accept": (302,)}),
        (invoker, {"method": "get", "url": "/api/v1/moved"}, {}),
        (invoker, {"method": "get", "url": "/api/v1/missing"}, {}),
        (
            invoker,
            {"method": "post", "url": "/oauth2/revoke", "data": {"token": "t"}},
            {"oauth_errors": True},
        ),
        (
            client.with_options(timeout=0.2, max_retries=0).invoker,
            {"method": "get", "url": "/api/v1/slow"},
            {},
        ),
    ]
    outcomes = []
    for sending_invoker, request_kwargs, options in calls:
        result: httpx.Response | BaseException
        try:
            result = await sending_invoker.send(request_kwargs, **options)
        except IntelliAuthError as exc:
            result = exc
        outcomes.append(_outcome(result))
    outcomes.append({"hooks": seen_by_hooks})
    return outcomes


def _received(server: LocalServer) -> list[tuple[str, str, dict[str, str], bytes]]:
    """The requests the server got, as it got them."""
    return [(method, path, dict(headers), body) for method, path, headers, body in server.requests]


def _transport(kind: str) -> httpx.AsyncBaseTransport:
    return httpx.AsyncHTTPTransport() if kind == "httpx" else LazyDefaultTransport()


def _sender(client: IntelliAuth) -> Sender:
    sender: Sender = client.invoker._sender
    return sender


@pytest.mark.parametrize("transport", ["httpx", "default"])
async def test_both_senders_send_the_same_requests_and_return_the_same_results(
    local_server: LocalServer, transport: str
) -> None:
    """Same calls, same wire requests and same results or exceptions on either sender."""
    received: dict[str, list[Any]] = {}
    outcomes: dict[str, list[Outcome]] = {}

    install_routes(local_server)
    local_server.requests.clear()
    async with IntelliAuth(
        local_server.url,
        auth=SigningRefreshingAuth(),
        transport=_transport(transport),
        max_retries=1,
    ) as direct:
        assert isinstance(_sender(direct), DirectSender)
        outcomes["direct"] = await _run(direct)
    received["direct"] = _received(local_server)

    install_routes(local_server)
    local_server.requests.clear()
    http = httpx.AsyncClient(transport=_transport(transport))
    async with (
        http,
        IntelliAuth(
            local_server.url, auth=SigningRefreshingAuth(), http_client=http, max_retries=1
        ) as borrowed,
    ):
        assert isinstance(_sender(borrowed), ClientSender)
        outcomes["client"] = await _run(borrowed)
    received["client"] = _received(local_server)

    assert received["direct"] == received["client"]
    assert outcomes["direct"] == outcomes["client"]
    # The runs did what they are meant to compare: a replay, a retry, errors of each family.
    paths = [path for _, path, _, _ in received["direct"]]
    assert paths.count("/api/v1/guarded") == 2
    assert paths.count("/api/v1/flaky") == 2
    *results, hooks = outcomes["direct"]
    kinds = [
        outcome["type"].__name__ if "type" in outcome else outcome["status"] for outcome in results
    ]
    assert kinds == [
        *(200, 201, 200, 204, 200, 200, 200, 302),
        *("APIStatusError", "NotFoundError", "InvalidClientError", "APITimeoutError"),
    ]
    # A request hook for every request, a response hook for each but the timed-out one.
    assert len(hooks["hooks"]) == 2 * len(received["direct"]) - 1
    guarded = received["direct"][paths.index("/api/v1/guarded") + 1]
    assert guarded[2]["Authorization"] == "Bearer fresh"
    assert guarded[2]["X-Body-Digest"] == hashlib.sha256(b"raw bytes").hexdigest()


async def test_both_senders_fail_alike_without_a_server() -> None:
    """A refused connection is the same APIConnectionError, with the same message, on both."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    failures: list[Outcome] = []
    async with IntelliAuth(closed_url, transport=httpx.AsyncHTTPTransport()) as direct:
        with pytest.raises(IntelliAuthError) as info:
            await direct.invoker.send({"method": "get", "url": "/api/v1/users"})
        failures.append(_outcome(info.value))
    async with httpx.AsyncClient() as http, IntelliAuth(closed_url, http_client=http) as borrowed:
        with pytest.raises(IntelliAuthError) as info:
            await borrowed.invoker.send({"method": "get", "url": "/api/v1/users"})
        failures.append(_outcome(info.value))
    assert failures[0] == failures[1]
    assert failures[0]["type"].__name__ == "APIConnectionError"
