"""Families 6 and 7: a token endpoint that fails, throttles, refuses or hangs.

Every test talks to a real HTTP/1.1 server on loopback (``ext.servers.LocalServer``) that
plays the tenant's ``/oauth2/token`` (and an API route behind it):

* family 6, token endpoint 5xx not retried: token requests follow the retry policy
  (429, 5xx, ``temporarily_unavailable``, within the caller's deadline; 400/401 final),
  and a 5xx that lasts raises ``InternalServerError``;
* family 7, token requests multiplied by timeouts: callers that give up do not make
  the next waiter send another request; a hanging endpoint sees one request per token
  fetch timeout;
* a refresh refused with 400/401 and no RFC 6749 body means "sign in again"
  (``InvalidGrantError``).

Backoff sleeps are recorded, never slept (``no_backoff_sleep`` in conftest.py).
"""

from __future__ import annotations

import contextlib
import http.server
import json
import math
import random
import threading
import time
from collections import deque
from typing import Any, Final

import anyio
import httpx
import pytest
from ext.servers import LocalServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intelliauth_ext import (
    APITimeoutError,
    ClientCredentials,
    IntelliAuth,
    InternalServerError,
    InvalidClientError,
    InvalidGrantError,
    OAuthError,
    RateLimitError,
    RefreshingAuth,
    TokenSet,
)
from intelliauth_ext._retries import MAX_SERVER_WAIT, RETRYABLE_OAUTH_ERRORS, RETRYABLE_STATUSES
from intelliauth_ext._token_endpoints import request_token

pytestmark = pytest.mark.anyio

TOKEN_PATH: Final = "/oauth2/token"
USER: Final = {
    "id": "usr_01",
    "email": "ada@example.com",
    "email_verified": True,
    "name": "Ada Lovelace",
    "status": "active",
    "created_at": "2026-01-02T03:04:05+00:00",
    "updated_at": "2026-01-02T03:04:05+00:00",
}
TOKEN_BODY: Final = json.dumps(
    {"access_token": "tok-1", "token_type": "Bearer", "expires_in": 3600}
).encode()
REFRESH_BODY: Final = json.dumps(
    {"access_token": "at-1", "token_type": "Bearer", "expires_in": 3600, "refresh_token": "rt-1"}
).encode()

Answer = tuple[int, dict[str, str], bytes]


class ScriptedTokenEndpoint:
    """``/oauth2/token`` on a LocalServer: answers queued with ``then``, then ``default``."""

    def __init__(self, server: LocalServer, default: Answer = (200, {}, TOKEN_BODY)) -> None:
        self.default = default
        self.requests = 0
        self._queue: deque[Answer] = deque()
        self._lock = threading.Lock()
        server.routes[("POST", TOKEN_PATH)] = self._handle
        server.routes[("GET", f"/api/v1/users/{USER['id']}")] = self._user

    def then(self, *answers: Answer) -> None:
        self._queue.extend(answers)

    def reset(self, default: Answer) -> None:
        with self._lock:
            self.default, self.requests = default, 0
            self._queue.clear()

    def _handle(self, handler: http.server.BaseHTTPRequestHandler, body: bytes) -> Answer:
        with self._lock:
            self.requests += 1
            return self._queue.popleft() if self._queue else self.default

    def _user(self, handler: http.server.BaseHTTPRequestHandler, body: bytes) -> Answer:
        if handler.headers.get("Authorization") != "Bearer tok-1":
            return 401, {}, b'{"error": "invalid_token", "message": "bad token"}'
        return 200, {}, json.dumps({"data": USER, "meta": {}}).encode()


class HangingTokenEndpoint:
    """``/oauth2/token`` that never answers (until the server stops); counts its requests."""

    def __init__(self, server: LocalServer) -> None:
        self.requests = 0
        self.arrivals: list[float] = []
        self.received = threading.Event()
        self._release = server.release
        self._lock = threading.Lock()
        server.routes[("POST", TOKEN_PATH)] = self._handle

    def _handle(self, handler: http.server.BaseHTTPRequestHandler, body: bytes) -> Answer:
        with self._lock:
            self.requests += 1
            self.arrivals.append(time.monotonic())
        self.received.set()
        self._release.wait(60)
        return 503, {}, b""


@pytest.fixture
def endpoint(local_server: LocalServer) -> ScriptedTokenEndpoint:
    return ScriptedTokenEndpoint(local_server)


def client(server: LocalServer, **options: Any) -> IntelliAuth:
    return IntelliAuth(server.url, client_id="svc", client_secret="svc-secret", **options)


def refreshing(server: LocalServer, **options: Any) -> RefreshingAuth:
    expired = TokenSet(access_token="at-0", refresh_token="rt-0", expires_at=0)
    return RefreshingAuth(expired, token_url=server.url + TOKEN_PATH, client_id="web", **options)


def json_error(status: int, error: str, **headers: str) -> Answer:
    return (
        status,
        headers,
        json.dumps({"error": error, "error_description": "from a test"}).encode(),
    )


# -- family 6: retries of token requests ----------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_a_5xx_then_a_token_makes_two_requests_and_the_call_succeeds(
    local_server: LocalServer, endpoint: ScriptedTokenEndpoint, status: int
) -> None:
    """503 then 200 from /oauth2/token during an API call: two token requests, the user."""
    endpoint.then(json_error(status, "temporarily_unavailable"))
    async with client(local_server, max_retries=2) as api:
        user = await api.users.get("usr_01")
    assert user.id == "usr_01"
    assert endpoint.requests == 2


@pytest.mark.parametrize("max_retries", [0, 1, 2, 3])
async def test_a_5xx_that_lasts_is_an_internal_server_error_after_max_retries_plus_one(
    local_server: LocalServer, endpoint: ScriptedTokenEndpoint, max_retries: int
) -> None:
    """503 on every token request: InternalServerError after max_retries + 1 requests."""
    endpoint.default = json_error(503, "temporarily_unavailable")
    async with client(local_server, max_retries=max_retries) as api:
        with pytest.raises(InternalServerError) as raised:
            await api.users.get("usr_01")
    assert (raised.value.status_code, raised.value.code) == (503, "temporarily_unavailable")
    assert endpoint.requests == max_retries + 1


async def test_429_with_retry_after_is_waited_out(
    local_server: LocalServer, endpoint: ScriptedTokenEndpoint, no_backoff_sleep: list[float]
) -> None:
    """A 429 with Retry-After: 7 waits 7 s (the patched sleep records it), then succeeds."""
    endpoint.then((429, {"Retry-After": "7"}, b""))
    async with client(local_server) as api:
        assert (await api.users.get("usr_01")).id == "usr_01"
    assert endpoint.requests == 2
    assert no_backoff_sleep == [7.0]


async def test_429_asking_for_more_than_the_cap_is_raised_at_once(
    local_server: LocalServer, endpoint: ScriptedTokenEndpoint, no_backoff_sleep: list[float]
) -> None:
    """A Retry-After above 60 s is not slept through: RateLimitError after one request."""
    endpoint.default = (429, {"Retry-After": str(int(MAX_SERVER_WAIT) + 1)}, b"")
    async with client(local_server) as api:
        with pytest.raises(RateLimitError) as raised:
            await api.users.get("usr_01")
    assert raised.value.retry_after == MAX_SERVER_WAIT + 1
    assert endpoint.requests == 1
    # The same without any deadline to stop the wait: the cap alone refuses it.
    with pytest.raises(RateLimitError):
        await request_token(
            local_server.url + TOKEN_PATH,
            {"grant_type": "client_credentials"},
            client_id="svc",
            client_secret="svc-secret",
        )
    assert endpoint.requests == 2
    assert no_backoff_sleep == []


async def test_a_wait_past_the_callers_deadline_is_not_slept(
    local_server: LocalServer, endpoint: ScriptedTokenEndpoint, no_backoff_sleep: list[float]
) -> None:
    """Retry-After: 30 under a 5 s deadline: the 503 is raised at once, after one request."""
    endpoint.default = (503, {"Retry-After": "30"}, b"")
    with anyio.fail_after(5):
        with pytest.raises(InternalServerError):
            await request_token(
                local_server.url + TOKEN_PATH,
                {"grant_type": "client_credentials"},
                client_id="svc",
                client_secret="svc-secret",
            )
    assert endpoint.requests == 1
    assert no_backoff_sleep == []


@pytest.mark.parametrize("status", [400, 401])
async def test_temporarily_unavailable_in_a_4xx_is_retried(
    local_server: LocalServer, endpoint: ScriptedTokenEndpoint, status: int
) -> None:
    """An RFC 6749 temporarily_unavailable is retried whatever the status it came with."""
    endpoint.then(json_error(status, "temporarily_unavailable"))
    async with client(local_server) as api:
        assert (await api.users.get("usr_01")).id == "usr_01"
    assert endpoint.requests == 2


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (json_error(400, "invalid_grant"), InvalidGrantError),
        (json_error(400, "invalid_client"), InvalidClientError),
        (json_error(401, "invalid_client"), InvalidClientError),
        ((401, {}, b""), InvalidClientError),  # RFC 6749 5.2: a 401 is invalid_client
        ((400, {"Content-Type": "text/html"}, b"<html>Bad Request</html>"), OAuthError),
    ],
)
async def test_400_and_401_are_final_after_one_request(
    local_server: LocalServer,
    endpoint: ScriptedTokenEndpoint,
    answer: Answer,
    expected: type[OAuthError],
) -> None:
    """400 and 401 (other than temporarily_unavailable) raise after exactly one request."""
    endpoint.default = answer
    async with client(local_server, max_retries=3) as api:
        with pytest.raises(expected):
            await api.users.get("usr_01")
    assert endpoint.requests == 1


async def test_a_refused_connection_is_retried(no_backoff_sleep: list[float]) -> None:
    """Nobody listening: the token request is tried 1 + max_retries times, then raised."""
    server = LocalServer()
    url = server.url + TOKEN_PATH
    server._server.server_close()  # the port is free again: connections are refused
    async with ClientCredentials(url, "svc", "svc-secret", max_retries=2) as manager:
        with pytest.raises(httpx.ConnectError):
            await manager.get_token()
        assert manager.token_requests == 3
    assert len(no_backoff_sleep) == 2


statuses = st.sampled_from([400, 401, 403, 404, 408, 409, 429, 500, 501, 502, 503, 504])
codes = st.sampled_from(
    [
        None,
        "invalid_grant",
        "invalid_client",
        "invalid_request",
        "slow_down",
        *RETRYABLE_OAUTH_ERRORS,
    ]
)
retry_afters = st.one_of(
    st.none(),
    st.integers(min_value=0, max_value=120).map(str),
    st.sampled_from(["soon", "-5", "1e400", "Wed, 21 Oct 2015 07:28:00 GMT", ""]),
)
odd_bodies = st.one_of(st.binary(max_size=64), st.just(b"[" * 5000), st.just(b"<html>x</html>"))


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(status=statuses, code=codes, retry_after=retry_afters, odd_body=odd_bodies)
async def test_any_failed_answer_is_retried_exactly_as_the_policy_says(
    local_server: LocalServer,
    endpoint: ScriptedTokenEndpoint,
    status: int,
    code: str | None,
    retry_after: str | None,
    odd_body: bytes,
) -> None:
    """Random failures: the request count and the exception follow the documented policy."""
    headers = {} if retry_after is None else {"Retry-After": retry_after}
    body = odd_body if code is None else json.dumps({"error": code}).encode()
    endpoint.reset((status, headers, body))
    manager = ClientCredentials(
        local_server.url + TOKEN_PATH, "svc", "svc-secret", max_retries=2, token_timeout=30.0
    )
    async with manager:
        with pytest.raises((OAuthError, InternalServerError, RateLimitError)) as raised:
            await manager.get_token()
    retryable = status in RETRYABLE_STATUSES or code in RETRYABLE_OAUTH_ERRORS
    wait = _retry_after_seconds(retry_after)
    # A wait is slept only up to 60 s, and only while it ends before the fetch's 30 s
    # deadline (the sleeps are patched out, so the deadline is still ~30 s away).
    if retryable and (wait is None or wait < min(MAX_SERVER_WAIT, 30.0)):
        assert endpoint.requests == 3
    else:
        assert endpoint.requests == 1
    if status == 429:
        assert isinstance(raised.value, RateLimitError)
    elif status >= 500:
        assert isinstance(raised.value, InternalServerError)
    else:
        assert isinstance(raised.value, OAuthError)
    assert len(str(raised.value)) < 1000


def _retry_after_seconds(value: str | None) -> float | None:
    """What ``parse_retry_after`` reads in the header values the strategy draws."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return 0.0 if value.endswith("GMT") else None  # a date in the past: wait 0
    return max(0.0, seconds) if math.isfinite(seconds) else None


# -- family 7: timeouts do not multiply token requests --------------------------------------


async def test_a_thousand_callers_with_timeout_1_send_one_token_request(
    local_server: LocalServer,
) -> None:
    """1,000 calls with timeout=1 against a hanging /oauth2/token: one token request.

    Each caller gives up at its own deadline (the one that started the fetch too); the
    fetch goes on, bounded by the token timeout (30 s), so the endpoint sees at most
    ceil(duration / 30 s) requests: 1. Before, each timed-out leader abandoned its request
    and the next waiter sent another (12 to 72 with the real backoff).
    """
    hanging = HangingTokenEndpoint(local_server)
    errors: list[BaseException] = []
    api = client(local_server, timeout=1, max_retries=2)

    async def call() -> None:
        try:
            await api.users.get("usr_01")
        except APITimeoutError as exc:
            errors.append(exc)

    started = time.monotonic()
    async with anyio.create_task_group() as tg:
        for _ in range(1000):
            tg.start_soon(call)
    duration = time.monotonic() - started
    await api.aclose()
    assert len(errors) == 1000
    # Each call is bounded by its own 3 attempts of 1 s, far below the fetch's 30 s (which
    # the caller that started the fetch would wait for if it ran in that caller's task).
    assert duration < 15, duration
    assert hanging.requests <= math.ceil(duration / 30.0) == 1


async def test_staggered_impatient_callers_see_one_request_per_token_timeout(
    local_server: LocalServer,
) -> None:
    """Callers arriving over 1.2 s, each giving up after 0.1 s; token timeout 0.5 s.

    The endpoint sees at most ceil(duration / 0.5 s) requests, spaced a token timeout
    apart; every caller got its TimeoutError at its own deadline, not the fetch's.
    """
    hanging = HangingTokenEndpoint(local_server)
    url = local_server.url + TOKEN_PATH
    manager = ClientCredentials(url, "svc", "svc-secret", token_timeout=0.5)
    rng = random.Random(7)
    offsets = sorted(rng.uniform(0, 1.2) for _ in range(1000))
    waited: list[float] = []

    async def call(offset: float) -> None:
        await anyio.sleep(offset)
        started = time.monotonic()
        with anyio.move_on_after(0.1), contextlib.suppress(TimeoutError):
            await manager.get_token()  # TimeoutError: the fetch's own timeout came first
        waited.append(time.monotonic() - started)

    started = time.monotonic()
    async with anyio.create_task_group() as tg:
        for offset in offsets:
            tg.start_soon(call, offset)
    duration = time.monotonic() - started
    await manager.aclose()
    assert len(waited) == 1000
    assert max(waited) < 0.1 + 0.4, "a caller waited for the fetch instead of its deadline"
    assert 1 <= hanging.requests <= math.ceil(duration / 0.5)
    gaps = [b - a for a, b in zip(hanging.arrivals, hanging.arrivals[1:], strict=False)]
    # Arrivals are timed by the server, after a connection setup that a loaded machine
    # may delay for one request and not the next: half a token timeout apart, at least.
    assert all(gap >= 0.25 for gap in gaps), gaps


async def test_aclose_cancels_a_hanging_fetch_and_leaves_no_task(
    local_server: LocalServer,
) -> None:
    """aclose() ends the fetch under way at once; its waiters get a RuntimeError."""
    hanging = HangingTokenEndpoint(local_server)
    manager = ClientCredentials(local_server.url + TOKEN_PATH, "svc", "svc-secret")
    errors: list[BaseException] = []

    async def call() -> None:
        try:
            await manager.get_token()
        except RuntimeError as exc:
            errors.append(exc)

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            for _ in range(10):
                tg.start_soon(call)
            assert await anyio.to_thread.run_sync(hanging.received.wait, 5)
            await manager.aclose()
            assert not manager._flight.in_flight
    assert len(errors) == 10
    assert hanging.requests == 1


# -- RefreshingAuth: refusals without an RFC 6749 body --------------------------------------


@pytest.mark.parametrize("status", [400, 401])
@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", b""),
        ("text/html", b"<html><body>Bad Request</body></html>"),
        ("application/json", b'{"message": "refresh token expired"}'),
    ],
)
async def test_a_refresh_refused_without_an_rfc_6749_body_means_sign_in_again(
    local_server: LocalServer,
    endpoint: ScriptedTokenEndpoint,
    status: int,
    content_type: str,
    body: bytes,
) -> None:
    """400/401 with an empty or foreign body: InvalidGrantError, after one request, for good."""
    endpoint.default = (status, {"Content-Type": content_type}, body)
    auth = refreshing(local_server)
    try:
        with pytest.raises(InvalidGrantError, match="sign in again") as raised:
            await auth.get_token_set()
        assert raised.value.status_code == status
        with pytest.raises(InvalidGrantError):
            await auth.get_token_set()
    finally:
        await auth.aclose()
    assert endpoint.requests == 1


async def test_a_refresh_answered_5xx_is_retried_then_the_session_is_kept(
    local_server: LocalServer, endpoint: ScriptedTokenEndpoint
) -> None:
    """503 x 3: InternalServerError after 3 requests; the next call refreshes normally."""
    endpoint.default = (200, {}, REFRESH_BODY)
    endpoint.then(*[(503, {}, b"")] * 3)
    auth = refreshing(local_server)
    try:
        with pytest.raises(InternalServerError):
            await auth.get_token_set()
        assert endpoint.requests == 3
        assert (await auth.get_token_set()).refresh_token == "rt-1"
    finally:
        await auth.aclose()
    assert endpoint.requests == 4
