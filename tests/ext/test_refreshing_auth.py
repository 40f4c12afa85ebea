"""RefreshingAuth: refresh before expiry, rotation, revocation, single flight, background task."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import anyio
import httpx
import pytest
import respx

from intelliauth_ext._auth import RefreshingAuth
from intelliauth_ext._errors import (
    InternalServerError,
    InvalidClientError,
    InvalidGrantError,
)
from intelliauth_ext._token_set import TokenSet

from .auth_fakes import API_URL, TOKEN_URL, WALL_START, Api, FakeClock, RotatingServer

pytestmark = pytest.mark.anyio


@pytest.fixture
def server() -> RotatingServer:
    return RotatingServer()


@pytest.fixture
def api() -> Api:
    return Api()


@pytest.fixture
def mock(server: RotatingServer, api: Api) -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        router.post(TOKEN_URL).mock(side_effect=server)
        router.route(host="api.example.test").mock(side_effect=api)
        yield router


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def initial(expires_in: float = 3600) -> TokenSet:
    return TokenSet(
        access_token="at-0",
        refresh_token="rt-0",
        id_token="id-0",
        scope="openid offline_access",
        expires_at=WALL_START + expires_in,
    )


def make_auth(
    clock: FakeClock, token_set: TokenSet | None = None, **options: object
) -> RefreshingAuth:
    return RefreshingAuth(
        token_set or initial(),
        token_url=TOKEN_URL,
        client_id="web-app",
        client_secret="app-secret",
        clock=clock,
        **options,  # type: ignore[arg-type]
    )


async def test_no_refresh_before_the_margin(
    mock: respx.MockRouter, server: RotatingServer, clock: FakeClock
) -> None:
    """The given token set is used until 60 s before it expires, then refreshed."""
    auth = make_auth(clock)
    assert (await auth.get_token_set()).access_token == "at-0"
    clock.advance(3539)
    assert (await auth.get_token_set()).access_token == "at-0"
    assert server.requests == []
    clock.advance(1)
    assert (await auth.get_token_set()).access_token == "at-1"
    assert len(server.requests) == 1


async def test_refresh_request_is_standard(
    mock: respx.MockRouter, server: RotatingServer, clock: FakeClock
) -> None:
    """The refresh is grant_type=refresh_token with the client's credentials in the form."""
    auth = make_auth(clock, initial(expires_in=0))
    await auth.get_token_set()
    from urllib.parse import parse_qsl

    assert dict(parse_qsl(server.requests[0].content.decode())) == {
        "grant_type": "refresh_token",
        "refresh_token": "rt-0",
        "client_id": "web-app",
        "client_secret": "app-secret",
    }


async def test_expired_stored_token_set_is_refreshed_on_first_use(
    mock: respx.MockRouter, server: RotatingServer, clock: FakeClock
) -> None:
    """A persisted token set that expired while the app was down is refreshed on first use."""
    auth = make_auth(clock, initial(expires_in=-86400))
    assert (await auth.get_token_set()).access_token == "at-1"


async def test_rotation_keeps_the_new_refresh_token_and_calls_the_hook(
    mock: respx.MockRouter, server: RotatingServer, clock: FakeClock
) -> None:
    """Each refresh keeps the rotated refresh token and hands the new set to on_token_update."""
    saved: list[TokenSet] = []

    async def save(token_set: TokenSet) -> None:
        saved.append(token_set)

    auth = make_auth(clock, on_token_update=save)
    for generation in (1, 2, 3):
        clock.advance(3600)
        token_set = await auth.get_token_set()
        assert token_set.access_token == f"at-{generation}"
        assert token_set.refresh_token == f"rt-{generation}"
        assert token_set.id_token == "id-0"  # kept: the refresh response had none
        assert token_set.scope == ("offline_access", "openid")
    assert [token_set.refresh_token for token_set in saved] == ["rt-1", "rt-2", "rt-3"]
    assert auth.token_set == saved[-1]


async def test_without_rotation_the_old_refresh_token_stays(
    mock: respx.MockRouter, server: RotatingServer, clock: FakeClock
) -> None:
    """A refresh response without refresh_token keeps the old one (RFC 6749 section 6)."""
    server.rotate = False
    auth = make_auth(clock, initial(expires_in=0))
    token_set = await auth.get_token_set()
    assert (token_set.access_token, token_set.refresh_token) == ("at-1", "rt-0")


async def test_revoked_refresh_token_raises_invalid_grant_and_stops_asking(
    mock: respx.MockRouter, server: RotatingServer, clock: FakeClock
) -> None:
    """invalid_grant means sign in again: raised now and on every later call, with no request."""
    server.revoked = True
    auth = make_auth(clock, initial(expires_in=0))
    with pytest.raises(InvalidGrantError, match="revoked"):
        await auth.get_token_set()
    with pytest.raises(InvalidGrantError, match="sign in again"):
        await auth.get_token_set()
    assert len(server.requests) == 1
    server.revoked = False
    server.valid_refresh = "rt-new"
    auth.update(
        TokenSet(access_token="fresh", refresh_token="rt-new", expires_at=WALL_START + 3600)
    )
    assert (await auth.get_token_set()).access_token == "fresh"


async def test_concurrent_callers_cause_one_refresh(
    mock: respx.MockRouter, server: RotatingServer, clock: FakeClock
) -> None:
    """1,000 concurrent callers of an expired set cause one refresh (no family revocation)."""
    server.gate = anyio.Event()
    auth = make_auth(clock, initial(expires_in=0))
    seen: list[str] = []

    async def call() -> None:
        seen.append((await auth.get_token_set()).access_token)

    async with anyio.create_task_group() as tg:
        for _ in range(1000):
            tg.start_soon(call)
        await anyio.wait_all_tasks_blocked()
        server.gate.set()
    assert len(server.requests) == 1
    assert seen == ["at-1"] * 1000
    assert not server.revoked


async def test_cancelled_caller_does_not_lose_the_rotated_token(
    mock: respx.MockRouter, server: RotatingServer, clock: FakeClock
) -> None:
    """A caller cancelled mid-refresh: the exchange finishes and the rotated token is kept."""
    server.gate = anyio.Event()
    auth = make_auth(clock, initial(expires_in=0))
    async with anyio.create_task_group() as tg:
        scope = anyio.CancelScope()

        async def caller() -> None:
            with scope:
                await auth.get_token_set()

        tg.start_soon(caller)
        await anyio.wait_all_tasks_blocked()
        scope.cancel()
        await anyio.wait_all_tasks_blocked()
        server.gate.set()
    # The next call joins the exchange still under way (or finds its result).
    assert (await auth.get_token_set()).access_token == "at-1"
    assert auth.token_set.refresh_token == "rt-1"
    assert len(server.requests) == 1
    assert not server.revoked


async def test_a_native_timeout_does_not_cut_the_exchange_short(
    mock: respx.MockRouter, server: RotatingServer, clock: FakeClock, anyio_backend: str
) -> None:
    """asyncio.timeout cancels natively, through any anyio shield: the exchange still ends."""
    server.gate = anyio.Event()
    auth = make_auth(clock, initial(expires_in=0))
    if anyio_backend == "asyncio":
        import asyncio

        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(0.01):
                await auth.get_token_set()
    else:
        import trio

        with trio.move_on_after(0.01):
            await auth.get_token_set()
    server.gate.set()
    assert (await auth.get_token_set()).refresh_token == "rt-1"
    assert len(server.requests) == 1  # the first exchange was not abandoned
    assert not server.revoked


async def test_hook_failure_is_raised_and_retried(
    mock: respx.MockRouter, server: RotatingServer, clock: FakeClock
) -> None:
    """A failing on_token_update is raised; the new tokens are used and the hook is retried."""
    attempts: list[str | None] = []

    async def flaky_save(token_set: TokenSet) -> None:
        attempts.append(token_set.refresh_token)
        if len(attempts) == 1:
            raise OSError("disk full")

    auth = make_auth(clock, initial(expires_in=0), on_token_update=flaky_save)
    with pytest.raises(OSError, match="disk full"):
        await auth.get_token_set()
    assert auth.token_set.access_token == "at-1"
    assert (await auth.get_token_set()).access_token == "at-1"
    assert attempts == ["rt-1", "rt-1"]
    assert len(server.requests) == 1


async def test_401_refreshes_and_replays_once(
    mock: respx.MockRouter, server: RotatingServer, api: Api, clock: FakeClock
) -> None:
    """A 401 with the current access token refreshes and replays the request once."""
    api.accepted.add("at-1")
    async with httpx.AsyncClient(auth=make_auth(clock)) as http:
        response = await http.get(f"{API_URL}/v1/me")
    assert response.status_code == 200
    assert [api.bearer(i) for i in range(2)] == ["at-0", "at-1"]


async def test_401_after_revocation_raises_invalid_grant(
    mock: respx.MockRouter, server: RotatingServer, api: Api, clock: FakeClock
) -> None:
    """A 401 whose refresh is refused with invalid_grant surfaces InvalidGrantError."""
    server.revoked = True
    async with httpx.AsyncClient(auth=make_auth(clock)) as http:
        with pytest.raises(InvalidGrantError):
            await http.get(f"{API_URL}/v1/me")


async def test_public_client_and_json_body(
    mock: respx.MockRouter, server: RotatingServer, clock: FakeClock
) -> None:
    """Without a secret the method is "none" (client_id only); client_secret_json sends JSON."""
    from urllib.parse import parse_qsl

    public = RefreshingAuth(initial(0), token_url=TOKEN_URL, client_id="spa", clock=clock)
    await public.get_token_set()
    assert dict(parse_qsl(server.requests[-1].content.decode())) == {
        "grant_type": "refresh_token",
        "refresh_token": "rt-0",
        "client_id": "spa",
    }
    json_auth = RefreshingAuth(
        TokenSet(access_token="x", refresh_token=server.valid_refresh, expires_at=0),
        token_url=TOKEN_URL,
        client_id="m2m",
        client_secret="sec",
        auth_method="client_secret_json",
        clock=clock,
    )
    await json_auth.get_token_set()
    assert server.requests[-1].headers["content-type"] == "application/json"


def test_configuration_errors() -> None:
    """No refresh token, a secret method without a secret, and bad margins are refused."""
    with pytest.raises(ValueError, match="no refresh token"):
        RefreshingAuth(TokenSet(access_token="a"), token_url=TOKEN_URL, client_id="c")
    with pytest.raises(ValueError, match="needs a client_secret"):
        RefreshingAuth(
            initial(), token_url=TOKEN_URL, client_id="c", auth_method="client_secret_basic"
        )
    with pytest.raises(ValueError, match="refresh_margin"):
        RefreshingAuth(initial(), token_url=TOKEN_URL, client_id="c", refresh_margin=-1)
    with pytest.raises(ValueError, match="max_retries"):
        RefreshingAuth(initial(), token_url=TOKEN_URL, client_id="c", max_retries=-1)


def test_repr_hides_every_token() -> None:
    """repr shows neither access, refresh nor ID token, nor the secret."""
    text = repr(RefreshingAuth(initial(), token_url=TOKEN_URL, client_id="c", client_secret="zz9"))
    for secret in ("at-0", "rt-0", "id-0", "zz9"):
        assert secret not in text


async def test_background_refresh_refreshes_ahead_of_requests(
    mock: respx.MockRouter, server: RotatingServer, clock: FakeClock
) -> None:
    """The background task refreshes when due, so requests never wait for a refresh."""
    auth = make_auth(clock)
    async with auth.background_refresh():
        await anyio.wait_all_tasks_blocked()
        assert clock.sleepers == 1
        clock.advance(3540)
        await anyio.wait_all_tasks_blocked()
        assert auth.token_set.access_token == "at-1"
        clock.advance(3540)
        await anyio.wait_all_tasks_blocked()
        assert auth.token_set.access_token == "at-2"
    assert len(server.requests) == 2
    assert clock.sleepers == 1  # the last sleep was cancelled with the task group


async def test_background_refresh_backs_off_and_stops_on_invalid_grant(
    mock: respx.MockRouter, server: RotatingServer, clock: FakeClock
) -> None:
    """Transient failures back off (2 s, 4 s, ...); invalid_grant ends the task quietly."""
    responses = iter(
        [
            httpx.Response(503, text="busy"),
            httpx.Response(503, text="busy"),
            httpx.Response(400, json={"error": "invalid_grant"}),
        ]
    )
    mock.post(TOKEN_URL).mock(side_effect=lambda request: next(responses))
    auth = make_auth(clock, initial(expires_in=0), max_retries=0)  # the task's own backoff
    async with auth.background_refresh():
        await anyio.wait_all_tasks_blocked()  # first attempt: 503
        clock.advance(1.9)
        await anyio.wait_all_tasks_blocked()
        assert mock.routes[0].call_count == 1
        clock.advance(0.1)  # 2 s backoff: second attempt, 503
        await anyio.wait_all_tasks_blocked()
        assert mock.routes[0].call_count == 2
        clock.advance(4)  # 4 s backoff: invalid_grant, the task ends
        await anyio.wait_all_tasks_blocked()
        assert mock.routes[0].call_count == 3
        assert clock.sleepers == 0
    with pytest.raises(InvalidGrantError):
        await auth.get_token_set()


async def test_server_error_during_refresh_is_retried_then_raised(
    mock: respx.MockRouter, server: RotatingServer, clock: FakeClock
) -> None:
    """A 5xx is retried; after the retries InternalServerError, and the session is kept."""
    route = mock.post(TOKEN_URL).mock(return_value=httpx.Response(502, text="bad gateway"))
    auth = make_auth(clock, initial(expires_in=0))
    with pytest.raises(InternalServerError) as raised:
        await auth.get_token_set()
    assert raised.value.status_code == 502
    assert route.call_count == auth.refreshes == 3
    assert auth.token_set.refresh_token == "rt-0"
    route.mock(side_effect=server)
    assert (await auth.get_token_set()).access_token == "at-1"


async def test_a_5xx_then_a_success_refreshes(
    mock: respx.MockRouter, server: RotatingServer, clock: FakeClock
) -> None:
    """503 then 200: two requests, the new tokens held, no error."""
    answers = iter([httpx.Response(503, json={"error": "temporarily_unavailable"})])

    async def flaky(request: httpx.Request) -> httpx.Response:
        return next(answers, None) or await server(request)

    route = mock.post(TOKEN_URL).mock(side_effect=flaky)
    auth = make_auth(clock, initial(expires_in=0))
    assert (await auth.get_token_set()).refresh_token == "rt-1"
    assert route.call_count == 2


@pytest.mark.parametrize("status", [400, 401])
@pytest.mark.parametrize(
    "body", [b"", b"<html>Bad Request</html>", b'{"message": "token expired"}', b"[1, 2]"]
)
async def test_400_or_401_without_an_oauth_body_means_sign_in_again(
    mock: respx.MockRouter, clock: FakeClock, status: int, body: bytes
) -> None:
    """A refresh refused with 400/401 and no RFC 6749 body is InvalidGrantError, once."""
    route = mock.post(TOKEN_URL).mock(return_value=httpx.Response(status, content=body))
    auth = make_auth(clock, initial(expires_in=0))
    with pytest.raises(InvalidGrantError, match="sign in again") as raised:
        await auth.get_token_set()
    assert raised.value.status_code == status
    with pytest.raises(InvalidGrantError):
        await auth.get_token_set()
    assert route.call_count == 1


async def test_401_invalid_client_during_refresh_stays_invalid_client(
    mock: respx.MockRouter, clock: FakeClock
) -> None:
    """A 401 with an RFC 6749 invalid_client body is the client's fault, not the session's."""
    answer = httpx.Response(401, json={"error": "invalid_client"})
    route = mock.post(TOKEN_URL).mock(return_value=answer)
    auth = make_auth(clock, initial(expires_in=0))
    for _ in range(2):
        with pytest.raises(InvalidClientError):
            await auth.get_token_set()
    assert route.call_count == 2  # not revoked: each call asks again


async def test_aclose_cancels_a_refresh_under_way(
    mock: respx.MockRouter, server: RotatingServer, clock: FakeClock
) -> None:
    """aclose() cancels the running refresh and waits for it; its caller gets RuntimeError."""
    server.gate = anyio.Event()  # never set
    auth = make_auth(clock, initial(expires_in=0))
    async with anyio.create_task_group() as tg:

        async def call() -> None:
            with pytest.raises(RuntimeError, match="token refresh was cancelled"):
                await auth.get_token_set()

        tg.start_soon(call)
        await anyio.wait_all_tasks_blocked()
        await auth.aclose()
        assert not auth._flight.in_flight
    assert len(server.requests) == 1
