"""ClientCredentials: token requests, caching, refresh timing, single flight, 401 replay."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from urllib.parse import unquote_plus

import anyio
import anyio.lowlevel
import httpx
import pytest
import respx

from intelliauth_ext._auth import AccessToken, ClientCredentials, StaticToken
from intelliauth_ext._errors import (
    InsecureURLError,
    InternalServerError,
    InvalidClientError,
    OAuthError,
    RateLimitError,
)

from .auth_fakes import API_URL, TOKEN_URL, WALL_START, Api, FakeClock, TokenEndpoint, token_body

pytestmark = pytest.mark.anyio


@pytest.fixture
def endpoint() -> TokenEndpoint:
    return TokenEndpoint()


@pytest.fixture
def api() -> Api:
    return Api()


@pytest.fixture
def mock(endpoint: TokenEndpoint, api: Api) -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        router.post(TOKEN_URL).mock(side_effect=endpoint)
        router.route(host="api.example.test").mock(side_effect=api)
        yield router


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def manager(clock: FakeClock, **options: object) -> ClientCredentials:
    return ClientCredentials(TOKEN_URL, "client-1", "s3cret", clock=clock, **options)  # type: ignore[arg-type]


# -- the token request ---------------------------------------------------------------


async def test_post_method_sends_form_with_audience_and_scopes(
    mock: respx.MockRouter, endpoint: TokenEndpoint, clock: FakeClock
) -> None:
    """client_secret_post: grant, id, secret, audience and scopes are form fields."""
    cc = manager(clock, audience="https://api.example.test", scopes=["users:read", "audit:read"])
    token = await cc.get_token()
    assert token.access_token == "tok-1"
    request = endpoint.requests[0]
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert endpoint.form() == {
        "grant_type": "client_credentials",
        "client_id": "client-1",
        "client_secret": "s3cret",
        "audience": "https://api.example.test",
        "scope": "audit:read users:read",  # sorted: scopes are a set
    }
    assert "authorization" not in request.headers


async def test_basic_method_form_urlencodes_id_and_secret(
    mock: respx.MockRouter, endpoint: TokenEndpoint, clock: FakeClock
) -> None:
    """client_secret_basic: id and secret are form-urlencoded before Base64 (RFC 6749 2.3.1)."""
    cc = ClientCredentials(
        TOKEN_URL, "id:with space", "p@ss:w+rd%/é", auth_method="client_secret_basic", clock=clock
    )
    await cc.get_token()
    scheme, _, encoded = endpoint.requests[0].headers["authorization"].partition(" ")
    assert scheme == "Basic"
    user, _, password = base64.b64decode(encoded).decode().partition(":")
    assert user == "id%3Awith+space"
    assert password == "p%40ss%3Aw%2Brd%25%2F%C3%A9"
    assert (unquote_plus(user), unquote_plus(password)) == ("id:with space", "p@ss:w+rd%/é")
    assert endpoint.form() == {"grant_type": "client_credentials"}


async def test_json_method_sends_one_json_object(
    mock: respx.MockRouter, endpoint: TokenEndpoint, clock: FakeClock
) -> None:
    """client_secret_json: the grant, id, secret and audience go as one JSON body."""
    cc = manager(clock, auth_method="client_secret_json", audience="https://api.intermezzo.ai")
    await cc.get_token()
    assert endpoint.requests[0].headers["content-type"] == "application/json"
    assert endpoint.json() == {
        "grant_type": "client_credentials",
        "client_id": "client-1",
        "client_secret": "s3cret",
        "audience": "https://api.intermezzo.ai",
    }


async def test_extra_params_are_sent(
    mock: respx.MockRouter, endpoint: TokenEndpoint, clock: FakeClock
) -> None:
    """extra_params are added to the token request."""
    await manager(clock, extra_params={"resource": "urn:api"}).get_token()
    assert endpoint.form()["resource"] == "urn:api"


def test_bad_configuration_is_refused_early() -> None:
    """Unknown auth methods, reserved params, empty secrets, plain http, bad bounds: errors."""
    with pytest.raises(ValueError, match="known methods: client_secret_basic"):
        ClientCredentials(TOKEN_URL, "c", "s", auth_method="tls_client_auth")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="grant_type"):
        ClientCredentials(TOKEN_URL, "c", "s", extra_params={"grant_type": "password"})
    with pytest.raises(ValueError, match="client_secret"):
        ClientCredentials(TOKEN_URL, "c", "")
    with pytest.raises(InsecureURLError):
        ClientCredentials("http://auth.example.test/token", "c", "s")
    with pytest.raises(ValueError, match="max_retries"):
        ClientCredentials(TOKEN_URL, "c", "s", max_retries=-1)
    with pytest.raises(ValueError, match="token_timeout"):
        ClientCredentials(TOKEN_URL, "c", "s", token_timeout=0)
    ClientCredentials("http://127.0.0.1:8080/token", "c", "s")  # loopback is fine
    ClientCredentials("http://localhost:8080/token", "c", "s")


def test_repr_never_shows_secret_or_token() -> None:
    """repr of the manager and of a token redacts the secret and the token."""
    cc = ClientCredentials(TOKEN_URL, "client-1", "super-secret-value")
    assert "super-secret-value" not in repr(cc)
    assert "client-1" in repr(cc)
    token = AccessToken(access_token="the-token-value", expires_at=1.0, lifetime=1.0)
    assert "the-token-value" not in repr(token)
    assert "the-token-value" not in str(token)
    assert "the-token-value" not in repr(StaticToken("the-token-value"))


# -- caching and refresh timing ------------------------------------------------------


async def test_token_is_cached_until_refresh_margin(
    mock: respx.MockRouter, endpoint: TokenEndpoint, clock: FakeClock
) -> None:
    """A 3600 s token is reused until 60 s before expiry, then refreshed."""
    cc = manager(clock)
    assert (await cc.get_token()).access_token == "tok-1"
    clock.advance(3539)
    assert (await cc.get_token()).access_token == "tok-1"
    assert endpoint.count == 1
    clock.advance(1)
    assert (await cc.get_token()).access_token == "tok-2"
    assert endpoint.count == 2


async def test_margin_is_at_most_half_the_lifetime(
    mock: respx.MockRouter, endpoint: TokenEndpoint, clock: FakeClock
) -> None:
    """A 60 s token is refreshed after 30 s, not on every call."""
    endpoint.expires_in = 60
    cc = manager(clock)
    await cc.get_token()
    clock.advance(29.9)
    await cc.get_token()
    assert endpoint.count == 1
    clock.advance(0.1)
    await cc.get_token()
    assert endpoint.count == 2


async def test_wall_clock_jumps_do_not_change_refresh_timing(
    mock: respx.MockRouter, endpoint: TokenEndpoint, clock: FakeClock
) -> None:
    """Refresh timing runs on the monotonic clock: wall-clock jumps either way change nothing."""
    cc = manager(clock)
    await cc.get_token()
    clock.jump_wall(+7200)  # the wall clock leaps past the expiry
    await cc.get_token()
    clock.jump_wall(-86400)  # and back a day
    clock.advance(3539)
    await cc.get_token()
    assert endpoint.count == 1
    clock.advance(1)
    await cc.get_token()
    assert endpoint.count == 2


async def test_absolute_expires_at_uses_our_wall_clock(
    mock: respx.MockRouter, endpoint: TokenEndpoint, clock: FakeClock
) -> None:
    """An absolute expires_at is turned into a lifetime with our wall clock (skew included)."""
    endpoint.then(httpx.Response(200, json=token_body("abs", expires_at=WALL_START + 600)))
    cc = manager(clock)
    token = await cc.get_token()
    assert token.lifetime == 600
    assert token.expires_at == WALL_START + 600
    clock.advance(539)
    await cc.get_token()
    assert endpoint.count == 1
    clock.advance(1)
    await cc.get_token()
    assert endpoint.count == 2


async def test_skewed_past_expires_at_falls_back_to_default_lifetime(
    mock: respx.MockRouter, endpoint: TokenEndpoint, clock: FakeClock
) -> None:
    """An expires_at already past on our clock (skew) gets default_lifetime, not a refetch loop."""
    endpoint.then(httpx.Response(200, json=token_body("skewed", expires_at=WALL_START - 3600)))
    cc = manager(clock, default_lifetime=900)
    token = await cc.get_token()
    assert (token.lifetime, token.lifetime_from_server) == (900, False)
    for _ in range(10):
        await cc.get_token()
    assert endpoint.count == 1


@pytest.mark.parametrize(
    ("fields", "lifetime", "from_server"),
    [
        ({"expires_in": 3600}, 3600, True),
        ({"expires_in": "3600"}, 3600, True),
        ({"expires_in": " 120.5 "}, 120.5, True),
        ({}, 1800, False),
        ({"expires_in": None}, 1800, False),
        ({"expires_in": "soon"}, 1800, False),
        ({"expires_in": 0}, 1800, False),
        ({"expires_at": 1209600}, 1209600, True),
        ({"expires_at": WALL_START + 300}, 300, True),
        ({"expires_in": 10**12}, 366 * 24 * 3600, True),
    ],
)
async def test_lifetime_rules(
    mock: respx.MockRouter,
    endpoint: TokenEndpoint,
    clock: FakeClock,
    fields: dict[str, object],
    lifetime: float,
    from_server: bool,
) -> None:
    """expires_in number/string, missing, expires_at absolute or a small lifetime, huge capped."""
    endpoint.then(httpx.Response(200, json=token_body("t", **fields)))
    token = await manager(clock, default_lifetime=1800).get_token()
    assert token.lifetime == lifetime
    assert token.lifetime_from_server is from_server
    assert token.expires_at == WALL_START + lifetime


async def test_token_type_is_case_insensitive(
    mock: respx.MockRouter, endpoint: TokenEndpoint, clock: FakeClock
) -> None:
    """token_type "bearer" (any case) is accepted and sent as "Bearer"."""
    endpoint.then(httpx.Response(200, json={"access_token": "t", "token_type": "BEARER"}))
    token = await manager(clock).get_token()
    assert token.authorization == "Bearer t"


async def test_non_bearer_token_type_is_refused(
    mock: respx.MockRouter, endpoint: TokenEndpoint, clock: FakeClock
) -> None:
    """A DPoP token can not be used as a bearer token: OAuthError, not silent misuse."""
    endpoint.then(httpx.Response(200, json={"access_token": "t", "token_type": "DPoP"}))
    with pytest.raises(OAuthError, match="only Bearer") as raised:
        await manager(clock).get_token()
    assert raised.value.error == "unsupported_token_type"


# -- errors ---------------------------------------------------------------------------


async def test_token_endpoint_error_is_raised_once_not_retried(
    mock: respx.MockRouter, endpoint: TokenEndpoint, clock: FakeClock
) -> None:
    """A 401 invalid_client is raised as InvalidClientError after exactly one request."""
    endpoint.then(httpx.Response(401, json={"error": "invalid_client", "error_description": "bad"}))
    with pytest.raises(InvalidClientError, match="bad"):
        await manager(clock).get_token()
    assert endpoint.count == 1


async def test_concurrent_callers_share_one_failure(
    mock: respx.MockRouter, endpoint: TokenEndpoint, clock: FakeClock
) -> None:
    """100 concurrent callers of a failing endpoint cause one request and all see its error."""
    endpoint.gate = anyio.Event()
    endpoint.then(httpx.Response(400, json={"error": "invalid_client"}))
    cc = manager(clock)
    errors: list[BaseException] = []

    async def call() -> None:
        try:
            await cc.get_token()
        except OAuthError as exc:
            errors.append(exc)

    async with anyio.create_task_group() as tg:
        for _ in range(100):
            tg.start_soon(call)
        await anyio.wait_all_tasks_blocked()
        endpoint.gate.set()
    assert endpoint.count == 1
    assert len(errors) == 100
    assert all(isinstance(error, InvalidClientError) for error in errors)


async def test_a_failed_fetch_leaves_nothing_behind(
    mock: respx.MockRouter, endpoint: TokenEndpoint, clock: FakeClock
) -> None:
    """After a final 400 (an HTML body) from the token endpoint, the next call fetches anew."""
    endpoint.then(httpx.Response(400, text="<html>bad</html>"))
    cc = manager(clock)
    with pytest.raises(OAuthError) as raised:
        await cc.get_token()
    assert raised.value.error == "invalid_request"
    assert endpoint.count == 1
    assert (await cc.get_token()).access_token == "tok-1"


async def test_a_5xx_is_retried_and_the_retry_succeeds(
    mock: respx.MockRouter, endpoint: TokenEndpoint, clock: FakeClock
) -> None:
    """A 503 from the token endpoint is retried: the second answer's token is used."""
    endpoint.then(httpx.Response(503, text="<html>down</html>"))
    cc = manager(clock)
    assert (await cc.get_token()).access_token == "tok-1"
    assert endpoint.count == cc.token_requests == 2


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
async def test_a_5xx_after_the_retries_is_an_internal_server_error(
    mock: respx.MockRouter, endpoint: TokenEndpoint, clock: FakeClock, status: int
) -> None:
    """1 + max_retries transient failures raise the status error, and store nothing."""
    body = {"error": "temporarily_unavailable", "error_description": "maintenance"}
    endpoint.then(*[httpx.Response(status, json=body) for _ in range(3)])
    cc = manager(clock, max_retries=2)
    with pytest.raises(RateLimitError if status == 429 else InternalServerError) as raised:
        await cc.get_token()
    assert (raised.value.status_code, raised.value.code) == (status, "temporarily_unavailable")
    assert endpoint.count == 3
    assert (await cc.get_token()).access_token == "tok-1"


async def test_temporarily_unavailable_is_retried_whatever_the_status(
    mock: respx.MockRouter, endpoint: TokenEndpoint, clock: FakeClock
) -> None:
    """A 400 carrying temporarily_unavailable or server_error is retried; the retry wins."""
    endpoint.then(
        httpx.Response(400, json={"error": "temporarily_unavailable"}),
        httpx.Response(400, json={"error": "server_error"}),
    )
    assert (await manager(clock).get_token()).access_token == "tok-1"
    assert endpoint.count == 3


async def test_max_retries_zero_sends_one_request(
    mock: respx.MockRouter, endpoint: TokenEndpoint, clock: FakeClock
) -> None:
    """max_retries=0: a 503 is raised after one request."""
    endpoint.then(httpx.Response(503))
    with pytest.raises(InternalServerError):
        await manager(clock, max_retries=0).get_token()
    assert endpoint.count == 1


async def test_transport_error_is_retried_then_raised(clock: FakeClock) -> None:
    """Connection errors are retried; after the retries httpx.ConnectError is raised."""
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls <= 3:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(200, json=token_body("after", expires_in=60))

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        cc = manager(clock, http_client=http, max_retries=2)
        with pytest.raises(httpx.ConnectError):
            await cc.get_token()
        assert calls == 3
        assert (await cc.get_token()).access_token == "after"
        assert calls == 4


async def test_a_hanging_fetch_times_out_for_every_caller(
    mock: respx.MockRouter, endpoint: TokenEndpoint, clock: FakeClock
) -> None:
    """A fetch longer than token_timeout fails all its callers with TimeoutError, once."""
    endpoint.gate = anyio.Event()  # never set: the endpoint hangs
    cc = manager(clock, token_timeout=0.05)
    errors: list[BaseException] = []

    async def call() -> None:
        try:
            await cc.get_token()
        except TimeoutError as exc:
            errors.append(exc)

    async with anyio.create_task_group() as tg:
        for _ in range(20):
            tg.start_soon(call)
    assert len(errors) == 20
    assert "the token request took longer than 0.05 s" in str(errors[0])
    assert endpoint.count == 1


# -- concurrency ----------------------------------------------------------------------


async def test_thousand_concurrent_first_calls_make_one_token_request(
    mock: respx.MockRouter, endpoint: TokenEndpoint, clock: FakeClock
) -> None:
    """1,000 concurrent first calls cause exactly one token request and all get its token."""
    endpoint.gate = anyio.Event()
    cc = manager(clock)
    tokens: list[str] = []

    async def call() -> None:
        tokens.append((await cc.get_token()).access_token)

    async with anyio.create_task_group() as tg:
        for _ in range(1000):
            tg.start_soon(call)
        await anyio.wait_all_tasks_blocked()
        assert endpoint.count == 1
        endpoint.gate.set()
    assert endpoint.count == 1
    assert tokens == ["tok-1"] * 1000


async def test_thousand_concurrent_requests_through_httpx_make_one_token_request(
    mock: respx.MockRouter, endpoint: TokenEndpoint, api: Api, clock: FakeClock
) -> None:
    """1,000 concurrent API requests on an AsyncClient(auth=...) cause one token request."""
    endpoint.gate = anyio.Event()
    api.accepted.add("tok-1")
    statuses: list[int] = []
    async with httpx.AsyncClient(auth=manager(clock)) as http:

        async def call() -> None:
            statuses.append((await http.get(f"{API_URL}/v1/users")).status_code)

        async with anyio.create_task_group() as tg:
            for _ in range(1000):
                tg.start_soon(call)
            await anyio.wait_all_tasks_blocked()
            endpoint.gate.set()
    assert endpoint.count == 1
    assert statuses == [200] * 1000
    assert {request.headers["authorization"] for request in api.requests} == {"Bearer tok-1"}


async def test_event_loop_keeps_running_while_a_fetch_is_in_flight(
    mock: respx.MockRouter, endpoint: TokenEndpoint, clock: FakeClock
) -> None:
    """A heartbeat task keeps ticking while 1,000 callers wait for the token."""
    endpoint.gate = anyio.Event()
    cc = manager(clock)
    ticks = 0
    done = anyio.Event()

    async def heartbeat() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            await anyio.lowlevel.checkpoint()

    async def callers() -> None:
        async with anyio.create_task_group() as inner:
            for _ in range(1000):
                inner.start_soon(cc.get_token)
        done.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(heartbeat)
        tg.start_soon(callers)
        await endpoint.received.wait()
        before = ticks
        for _ in range(200):
            await anyio.lowlevel.checkpoint()
        assert ticks >= before + 100, "the heartbeat stalled while the token request waited"
        endpoint.gate.set()
    assert endpoint.count == 1


async def test_a_caller_that_gives_up_leaves_the_fetch_running(
    mock: respx.MockRouter, endpoint: TokenEndpoint, clock: FakeClock
) -> None:
    """A caller cancelled mid-fetch does not cancel the fetch: the next caller joins it."""
    endpoint.gate = anyio.Event()
    cc = manager(clock)
    with anyio.move_on_after(0) as scope:  # cancelled as soon as it waits
        await cc.get_token()
    assert scope.cancelled_caught
    await endpoint.received.wait()
    assert endpoint.count == 1
    endpoint.gate.set()
    assert (await cc.get_token()).access_token == "tok-1"
    assert (await cc.get_token()).access_token == "tok-1"
    assert endpoint.count == 1


async def test_aclose_cancels_a_fetch_under_way(
    mock: respx.MockRouter, endpoint: TokenEndpoint, clock: FakeClock
) -> None:
    """aclose() cancels the running fetch and waits for it; its waiters get RuntimeError."""
    endpoint.gate = anyio.Event()  # never set
    cc = manager(clock)
    errors: list[BaseException] = []

    async def call() -> None:
        try:
            await cc.get_token()
        except RuntimeError as exc:
            errors.append(exc)

    async with anyio.create_task_group() as tg:
        for _ in range(3):
            tg.start_soon(call)
        await endpoint.received.wait()
        await cc.aclose()
        assert not cc._flight.in_flight  # nothing runs on once aclose() returned
    assert [str(error) for error in errors] == [
        "the token request was cancelled: its owner was closed"
    ] * 3
    assert endpoint.count == 1


async def test_waiters_survive_the_leaders_cancellation(
    mock: respx.MockRouter, endpoint: TokenEndpoint, clock: FakeClock
) -> None:
    """When the caller that started the fetch is cancelled, the fetch goes on for the rest."""
    endpoint.gate = anyio.Event()
    cc = manager(clock)
    results: list[str] = []

    async def waiter() -> None:
        results.append((await cc.get_token()).access_token)

    async with anyio.create_task_group() as tg:
        leader_scope = anyio.CancelScope()

        async def leader() -> None:
            with leader_scope:
                await cc.get_token()

        tg.start_soon(leader)
        await anyio.wait_all_tasks_blocked()
        for _ in range(10):
            tg.start_soon(waiter)
        await anyio.wait_all_tasks_blocked()
        leader_scope.cancel()
        await anyio.wait_all_tasks_blocked()
        endpoint.gate.set()
    assert results == ["tok-1"] * 10
    assert endpoint.count == 1  # the first caller's request, finished for the ten others


# -- 401 handling ---------------------------------------------------------------------


async def test_401_invalidates_refetches_and_replays_once(
    mock: respx.MockRouter, endpoint: TokenEndpoint, api: Api, clock: FakeClock
) -> None:
    """A 401 with the current token fetches a new one and replays the request once."""
    api.accepted.add("tok-2")  # tok-1 was revoked server-side
    async with httpx.AsyncClient(auth=manager(clock)) as http:
        response = await http.post(f"{API_URL}/v1/users", json={"email": "a@b.c"})
    assert response.status_code == 200
    assert [api.bearer(i) for i in range(2)] == ["tok-1", "tok-2"]
    assert api.requests[1].content == api.requests[0].content
    assert endpoint.count == 2


async def test_second_401_is_returned_as_is(
    mock: respx.MockRouter, endpoint: TokenEndpoint, api: Api, clock: FakeClock
) -> None:
    """When the replay also gets a 401, that 401 is the answer: no third try, no loop."""
    async with httpx.AsyncClient(auth=manager(clock)) as http:
        response = await http.get(f"{API_URL}/v1/users")
    assert response.status_code == 401
    assert len(api.requests) == 2
    assert endpoint.count == 2


async def test_401_for_a_stale_token_keeps_the_new_one(
    mock: respx.MockRouter, endpoint: TokenEndpoint, api: Api, clock: FakeClock
) -> None:
    """A late 401 for a token already replaced does not invalidate its replacement."""
    api.accepted.add("tok-2")
    api.gate = anyio.Event()  # holds the first API request (sent with tok-1)
    cc = manager(clock)
    async with httpx.AsyncClient(auth=cc) as http:
        async with anyio.create_task_group() as tg:
            responses: list[httpx.Response] = []

            async def slow_request() -> None:
                responses.append(await http.get(f"{API_URL}/v1/slow"))

            tg.start_soon(slow_request)
            await anyio.wait_all_tasks_blocked()
            cc.invalidate()  # meanwhile, someone else replaced tok-1
            assert (await cc.get_token()).access_token == "tok-2"
            api.gate.set()
        assert responses[0].status_code == 200
    assert api.bearer(-1) == "tok-2"
    assert endpoint.count == 2  # no third token for the stale 401
    assert (await cc.get_token()).access_token == "tok-2"


async def test_many_concurrent_401s_cause_one_refetch(
    mock: respx.MockRouter, endpoint: TokenEndpoint, api: Api, clock: FakeClock
) -> None:
    """50 requests that all get a 401 for the same token cause one new token between them."""
    api.gate = anyio.Event()
    api.gate_first_only = False
    cc = manager(clock)
    await cc.get_token()
    api.accepted.add("tok-2")
    statuses: list[int] = []
    async with httpx.AsyncClient(auth=cc) as http:

        async def call() -> None:
            statuses.append((await http.get(f"{API_URL}/v1/users")).status_code)

        async with anyio.create_task_group() as tg:
            for _ in range(50):
                tg.start_soon(call)
            await anyio.wait_all_tasks_blocked()
            api.gate.set()
    assert statuses == [200] * 50
    assert endpoint.count == 2


async def test_streaming_body_is_not_replayed(
    mock: respx.MockRouter, endpoint: TokenEndpoint, api: Api, clock: FakeClock
) -> None:
    """A request whose body is a one-shot stream gets its 401 back instead of a broken replay."""

    async def body() -> object:
        yield b"chunk"

    async with httpx.AsyncClient(auth=manager(clock)) as http:
        response = await http.post(f"{API_URL}/v1/upload", content=body())  # type: ignore[arg-type]
    assert response.status_code == 401
    assert len(api.requests) == 1
    assert endpoint.count == 1


async def test_token_requests_bypass_the_auth_flow(clock: FakeClock) -> None:
    """Sharing one AsyncClient (with this auth on it) for token requests does not recurse."""
    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("authorization"))
        if request.url.path == "/oauth/token":
            return httpx.Response(200, json=token_body("t1", expires_in=3600))
        return httpx.Response(200, json={})

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    cc = manager(clock, http_client=http)
    http.auth = cc
    async with http:
        assert (await http.get(f"{API_URL}/v1/x")).status_code == 200
    assert seen == [None, "Bearer t1"]


def test_sync_client_gets_a_clear_error() -> None:
    """A synchronous httpx.Client is refused with a message that names the fix."""
    with (
        httpx.Client(
            auth=ClientCredentials(TOKEN_URL, "c", "s"),
            transport=httpx.MockTransport(lambda request: httpx.Response(200)),
        ) as http,
        pytest.raises(RuntimeError, match="AsyncClient only"),
    ):
        http.get(API_URL)


async def test_aclose_closes_only_its_own_client(clock: FakeClock) -> None:
    """aclose closes the client the manager made, never one it was given."""
    async with httpx.AsyncClient(
        transport=httpx.MockTransport(lambda r: httpx.Response(200, json=token_body("t")))
    ) as given:
        async with manager(clock, http_client=given) as cc:
            await cc.get_token()
        assert not given.is_closed


async def test_token_request_carries_a_timeout(
    mock: respx.MockRouter, endpoint: TokenEndpoint, clock: FakeClock
) -> None:
    """Token requests on the manager's own client have a finite timeout."""
    await manager(clock).get_token()
    timeout = endpoint.requests[0].extensions["timeout"]
    assert all(value is not None for value in timeout.values())
    assert json.dumps(timeout)


def test_client_auth_registry_is_keyed_by_rfc_names() -> None:
    """The registry holds the RFC-named methods, and their parts never show the secret."""
    from intelliauth_ext._auth import CLIENT_AUTH_METHODS

    assert sorted(CLIENT_AUTH_METHODS) == [
        "client_secret_basic",
        "client_secret_json",
        "client_secret_jwt",
        "client_secret_post",
        "none",
        "private_key_jwt",
    ]
    parts = CLIENT_AUTH_METHODS["client_secret_post"]("id", "hunter2", {"grant_type": "x"})
    assert "hunter2" not in repr(parts)
    assert CLIENT_AUTH_METHODS["none"]("id", None, {}).form == {"client_id": "id"}
