"""Tests for intelliauth_ext._client: the IntelliAuth client object."""

from __future__ import annotations

import base64
import gc
import warnings
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
import respx

from intelliauth_client.facade import OPERATIONS
from intelliauth_client.models.user import User
from intelliauth_ext import (
    APIStatusError,
    APITimeoutError,
    ConfigurationError,
    InternalServerError,
    InvalidClientError,
    NotFoundError,
    OAuthError,
)
from intelliauth_ext._auth import ClientCredentials
from intelliauth_ext._client import IntelliAuth, validate_tenant_url
from intelliauth_ext._errors import InsecureURLError
from intelliauth_ext._pagination import AsyncPaginator, Page
from intelliauth_ext._timeouts import DEFAULT_TIMEOUT
from intelliauth_ext._transports import LazyDefaultTransport

from .doubles import TENANT, USER, StaticBearer
from .servers import LocalServer

SECRET = "cs_live_SUPERSECRET"
TOKEN = "at_TOKEN_VALUE_123"


def token_route(router: respx.MockRouter) -> respx.Route:
    return router.post("/oauth2/token").respond(
        200, json={"access_token": TOKEN, "token_type": "Bearer", "expires_in": 3600}
    )


# -- tenant URL -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://acme.intelliauth.test",
        "http://10.0.0.1",
        "http://localhost.evil.test",
        "ftp://acme.intelliauth.test",
        "ws://127.0.0.1",
    ],
)
def test_non_https_tenant_urls_are_refused(url: str) -> None:
    """A tenant URL that is not https:// (and not loopback http) raises InsecureURLError."""
    with pytest.raises(InsecureURLError, match="https://") as info:
        IntelliAuth(url)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080",
        "http://127.9.9.9",
        "http://[::1]:9000",
        "http://localhost:3000",
        TENANT,
    ],
)
def test_https_and_loopback_tenant_urls_are_accepted(url: str) -> None:
    """https:// and loopback http:// (127.0.0.0/8, ::1, localhost) are accepted."""
    assert validate_tenant_url(url).host


@pytest.mark.parametrize(
    "url",
    [f"{TENANT}/?x=1", f"{TENANT}/#frag", "https://user:pw@acme.intelliauth.test", "https://"],
)
def test_tenant_url_without_host_or_with_extras_is_refused(url: str) -> None:
    """A tenant URL with credentials, a query, a fragment or no host is a ValueError."""
    with pytest.raises(ValueError, match="tenant URL"):
        validate_tenant_url(url)


def test_tenant_url_trailing_slash_is_dropped() -> None:
    """Trailing slashes do not double up in request paths."""
    assert str(validate_tenant_url(f"{TENANT}/base//")) == f"{TENANT}/base"


# -- construction and credentials -------------------------------------------------------


@pytest.mark.anyio
async def test_client_credentials_build_the_token_manager() -> None:
    """client_id/client_secret give a ClientCredentials auth on <tenant>/oauth2/token."""
    async with IntelliAuth(
        TENANT,
        client_id="cid",
        client_secret=SECRET,
        audience="api",
        scopes="users:read, users:write",
    ) as client:
        auth: Any = client._auth
        assert isinstance(auth, ClientCredentials)
        assert auth.token_url == f"{TENANT}/oauth2/token"
        assert tuple(auth.scopes) == ("users:read", "users:write")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"client_id": "cid"},
        {"client_secret": SECRET},
        {"client_id": "cid", "client_secret": SECRET, "auth": StaticBearer("t")},
        {"scopes": ["users:read"]},
        {"http_client": "x", "transport": "y"},
        {"max_retries": -1},
    ],
)
def test_conflicting_or_incomplete_options_are_refused(kwargs: dict[str, Any]) -> None:
    """Incomplete credentials, two kinds of auth, or a negative max_retries are ValueErrors."""
    with pytest.raises(ValueError):  # noqa: PT011 - messages differ per case
        IntelliAuth(TENANT, **kwargs)


ENV = {
    "INTELLIAUTH_TENANT_URL": TENANT,
    "INTELLIAUTH_CLIENT_ID": "cid",
    "INTELLIAUTH_CLIENT_SECRET": SECRET,
    "INTELLIAUTH_AUDIENCE": "https://api.test",
    "INTELLIAUTH_SCOPES": "users:read groups:read",
}


def _client_credentials_of(client: IntelliAuth) -> ClientCredentials:
    auth: Any = client._auth
    assert isinstance(auth, ClientCredentials)
    return auth


@pytest.mark.anyio
async def test_no_tenant_url_reads_the_intelliauth_variables() -> None:
    """IntelliAuth() reads the tenant, client id and secret, audience and scopes."""
    async with IntelliAuth(environ=ENV, max_retries=5) as client:
        assert str(client.tenant_url) == TENANT + "/"
        assert client.max_retries == 5
        auth = _client_credentials_of(client)
        assert (auth.client_id, auth.audience) == ("cid", "https://api.test")
        assert tuple(auth.scopes) == ("groups:read", "users:read")  # sorted: scopes are a set
        assert client._client_secret is not None
        assert client._client_secret.reveal() == SECRET


@pytest.mark.anyio
async def test_no_arguments_reads_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """IntelliAuth() with no argument at all reads os.environ."""
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    async with IntelliAuth() as client:
        assert _client_credentials_of(client).client_id == "cid"


@pytest.mark.anyio
async def test_arguments_win_over_the_variables() -> None:
    """An explicit audience or scopes wins over INTELLIAUTH_AUDIENCE / INTELLIAUTH_SCOPES."""
    async with IntelliAuth(environ=ENV, audience="https://other.test", scopes="x") as client:
        auth = _client_credentials_of(client)
        assert (auth.audience, tuple(auth.scopes)) == ("https://other.test", ("x",))


@pytest.mark.anyio
@pytest.mark.parametrize(
    "credentials",
    [
        {"auth": StaticBearer("t")},
        {"auth": None},
        {"client_id": "explicit", "client_secret": "explicit-secret"},
    ],
)
async def test_explicit_credentials_are_never_combined_with_the_variables(
    credentials: dict[str, Any],
) -> None:
    """Given credentials replace the whole credential block of the environment."""
    async with IntelliAuth(environ=ENV, **credentials) as client:
        assert str(client.tenant_url) == TENANT + "/"
        if "auth" in credentials:
            assert client._auth is credentials["auth"]
            assert client._client_id is None  # not INTELLIAUTH_CLIENT_ID
        else:
            auth = _client_credentials_of(client)
            assert auth.client_id == "explicit"
            # Neither the environment's audience nor its scopes go with other credentials.
            assert (auth.audience, tuple(auth.scopes)) == (None, ())


@pytest.mark.anyio
async def test_an_explicit_tenant_url_reads_nothing_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """IntelliAuth(url): environment credentials never go to a URL given in the code."""
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    async with IntelliAuth("https://other.intelliauth.test") as client:
        assert client._auth is None
        assert client._client_id is None
    async with IntelliAuth("https://other.intelliauth.test", environ=ENV) as client:
        assert client._auth is None


@pytest.mark.parametrize(
    ("environ", "variable"),
    [
        ({}, "INTELLIAUTH_TENANT_URL"),
        ({"INTELLIAUTH_TENANT_URL": "  "}, "INTELLIAUTH_TENANT_URL"),
        ({"INTELLIAUTH_TENANT_URL": TENANT}, "INTELLIAUTH_CLIENT_ID"),
        (
            {"INTELLIAUTH_TENANT_URL": TENANT, "INTELLIAUTH_CLIENT_SECRET": SECRET},
            "INTELLIAUTH_CLIENT_ID",
        ),
        (
            {"INTELLIAUTH_TENANT_URL": TENANT, "INTELLIAUTH_CLIENT_ID": "cid"},
            "INTELLIAUTH_CLIENT_SECRET",
        ),
    ],
)
def test_a_missing_variable_is_a_configuration_error_naming_it(
    environ: dict[str, str], variable: str
) -> None:
    """IntelliAuth() without a tenant URL or a credential names the variable to set."""
    with pytest.raises(ConfigurationError, match=variable) as raised:
        IntelliAuth(environ=environ)
    assert raised.value.variable == variable
    assert isinstance(raised.value, ValueError)
    assert SECRET not in str(raised.value)


@pytest.mark.anyio
async def test_from_env_is_deprecated_and_builds_the_same_client() -> None:
    """from_env(environ, **options) warns and is IntelliAuth(environ=environ, **options)."""
    with pytest.warns(DeprecationWarning, match=r"IntelliAuth\(\)"):
        client = IntelliAuth.from_env(ENV, max_retries=4)
    async with client:
        assert client.max_retries == 4
        assert _client_credentials_of(client).client_id == "cid"
    with pytest.warns(DeprecationWarning, match="deprecated"), pytest.raises(ConfigurationError):
        IntelliAuth.from_env({})


# -- lifecycle --------------------------------------------------------------------------


@pytest.mark.anyio
async def test_context_manager_closes_and_aclose_is_idempotent() -> None:
    """Leaving `async with` closes the pool; aclose() again is harmless; re-entering fails."""
    async with IntelliAuth(TENANT) as client:
        closed_inside = client.is_closed
    assert not closed_inside
    assert client.is_closed
    assert client.http_client.is_closed
    await client.aclose()
    with pytest.raises(RuntimeError, match="closed"):
        async with client:
            pass


def test_unclosed_client_warns_when_collected() -> None:
    """A client collected without aclose() emits a ResourceWarning."""
    client = IntelliAuth(TENANT)
    with pytest.warns(ResourceWarning, match="without being closed"):
        del client  # no reference cycle: collected at once


@pytest.mark.anyio
async def test_closed_clients_and_copies_do_not_warn() -> None:
    """Closed clients, with_options copies and clients on a user's http_client never warn."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        client = IntelliAuth(TENANT)
        copy = client.with_options(max_retries=0)
        await client.aclose()
        del client, copy
        async with httpx.AsyncClient() as http:
            borrowed = IntelliAuth(TENANT, http_client=http)
            del borrowed
        gc.collect()


@pytest.mark.anyio
async def test_aclose_closes_an_owned_token_manager() -> None:
    """The token manager built from client_id/client_secret is closed with the client."""
    closed: list[bool] = []
    client = IntelliAuth(TENANT, client_id="cid", client_secret=SECRET)

    async def aclose() -> None:
        closed.append(True)

    client._auth.aclose = aclose  # type: ignore[union-attr]
    await client.aclose()
    assert closed == [True]


@pytest.mark.anyio
async def test_user_http_client_is_not_closed_and_still_gets_auth(anyio_backend: str) -> None:
    """With http_client=, requests carry the client's auth and aclose() leaves the pool open."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"ok": True})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        client = IntelliAuth(TENANT, auth=StaticBearer("tok"), http_client=http)
        response = await client.invoker.send({"method": "GET", "url": "/api/v1/status"})
        await client.aclose()
        assert not http.is_closed
    assert response.json() == {"ok": True}
    assert seen[0].headers["Authorization"] == "Bearer tok"
    assert str(seen[0].url) == f"{TENANT}/api/v1/status"


# -- options ------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_default_timeout_and_per_call_with_options(router: respx.MockRouter) -> None:
    """Requests carry the 30 s/5 s default; with_options(timeout=) changes it for the copy only."""
    route = router.get("/api/v1/status").respond(200, json={"ok": True})
    async with IntelliAuth(TENANT, auth=StaticBearer("t")) as client:
        assert client.timeout == DEFAULT_TIMEOUT
        await client.invoker.send({"method": "GET", "url": "/api/v1/status"})
        fast = client.with_options(timeout=2.0, max_retries=0)
        await fast.invoker.send({"method": "GET", "url": "/api/v1/status"})
        assert (fast.max_retries, client.max_retries) == (0, 2)
        assert fast.http_client is client.http_client
        assert client.timeout == DEFAULT_TIMEOUT
        await fast.aclose()
        assert not client.http_client.is_closed
    timeouts = [call.request.extensions["timeout"] for call in route.calls]
    assert timeouts[0] == {"connect": 5.0, "read": 30.0, "write": 30.0, "pool": 30.0}
    assert timeouts[1] == {"connect": 2.0, "read": 2.0, "write": 2.0, "pool": 2.0}


@pytest.mark.anyio
async def test_with_options_keeps_what_is_not_given() -> None:
    """with_options() without arguments copies timeout and retries; headers are added."""
    async with IntelliAuth(
        TENANT, timeout=7, max_retries=4, default_headers={"X-A": "1"}
    ) as client:
        copy = client.with_options(default_headers={"X-B": "2"})
        assert copy.timeout == client.timeout
        assert copy.max_retries == 4
        prepared = copy.invoker.prepare({"method": "get", "url": "/x"})
        assert (prepared["headers"]["X-A"], prepared["headers"]["X-B"]) == ("1", "2")
        with pytest.raises(ValueError, match="max_retries"):
            client.with_options(max_retries=-2)


@pytest.mark.anyio
async def test_default_headers_and_user_agent(router: respx.MockRouter) -> None:
    """Every request carries the SDK's User-Agent and the default headers."""
    route = router.get("/api/v1/status").respond(200, json={})
    async with IntelliAuth(TENANT, default_headers={"X-Tenant-Hint": "acme"}) as client:
        await client.invoker.send({"method": "GET", "url": "/api/v1/status"})
    headers = route.calls.last.request.headers
    assert headers["User-Agent"].startswith("intelliauth-python/")
    assert headers["X-Tenant-Hint"] == "acme"


def test_default_transport_is_the_lazy_one() -> None:
    """Without transport= or http_client=, the pool uses the lazily chosen transport."""
    client = IntelliAuth(TENANT)
    try:
        assert isinstance(client.http_client._transport, LazyDefaultTransport)
    finally:
        client._closed = True  # never opened a connection; skip the async close


# -- repr and redirects -----------------------------------------------------------------


@pytest.mark.anyio
async def test_repr_never_shows_a_secret_or_token(router: respx.MockRouter) -> None:
    """repr() of the client, its auth and a copy shows neither the secret nor the token."""
    token_route(router)
    router.get("/api/v1/status").respond(200, json={})
    async with IntelliAuth(TENANT, client_id="cid", client_secret=SECRET) as client:
        await client.invoker.send({"method": "GET", "url": "/api/v1/status"})
        texts = [
            repr(client),
            str(client),
            repr(client._auth),
            repr(client.with_options(timeout=1)),
        ]
    texts.append(repr(client))
    for text in texts:
        assert SECRET not in text
        assert TOKEN not in text
    assert "cid" in texts[0]
    assert "closed" in texts[-1]


@pytest.mark.anyio
async def test_cross_origin_redirect_never_forwards_authorization(router: respx.MockRouter) -> None:
    """A redirect to another origin is not followed: no request (no Authorization) reaches it."""
    router.get("/api/v1/status").respond(307, headers={"Location": "https://attacker.test/x"})
    attacker = router.route(host="attacker.test").respond(200, json={})
    async with IntelliAuth(TENANT, auth=StaticBearer("tok")) as client:
        with pytest.raises(APIStatusError) as info:
            await client.invoker.send({"method": "GET", "url": "/api/v1/status"})
    assert info.value.status_code == 307
    assert not attacker.called


# -- resources from the facade ----------------------------------------------------------


@pytest.mark.anyio
async def test_usage_from_the_issue(router: respx.MockRouter) -> None:
    """The issue's example works: get unwraps, async for pages, await gives a page, next_page."""
    router.get("/api/v1/users/usr_01").respond(200, json={"data": USER, "meta": {}})
    router.get("/api/v1/users", params={"cursor": "c2"}).respond(
        200, json={"data": [{**USER, "id": "usr_02"}], "meta": {"next_cursor": None}}
    )
    router.get("/api/v1/users").respond(200, json={"data": [USER], "meta": {"next_cursor": "c2"}})
    router.get("/api/v1/users/nope").respond(
        404, json={"error": "not_found", "message": "no", "request_id": "r"}
    )

    async with IntelliAuth(TENANT, auth=StaticBearer("tok")) as client:
        user = await client.users.get("usr_01")
        assert user == User.from_dict(USER)
        assert [u.id async for u in client.users.list(limit=100)] == ["usr_01", "usr_02"]
        paginator = client.users.list(limit=10)
        assert isinstance(paginator, AsyncPaginator)
        page = await paginator
        assert isinstance(page, Page)
        assert (len(page.items), page.next_cursor, page.has_next_page()) == (1, "c2", True)
        nxt = await page.next_page()
        assert [u.id for u in nxt.items] == ["usr_02"]
        with pytest.raises(NotFoundError):
            await client.users.get("nope")
        assert client.with_options(timeout=1).users is not client.users


def test_private_names_are_not_forwarded_to_the_facade() -> None:
    """Unknown private attributes raise AttributeError instead of importing the facade."""
    client = IntelliAuth(TENANT)
    try:
        with pytest.raises(AttributeError):
            _ = client._no_such_thing
    finally:
        client._closed = True


# -- revoke and introspect: the generated operations, sent by the invoker -------------------


def _basic_pair(request: httpx.Request) -> str:
    scheme, _, encoded = request.headers["authorization"].partition(" ")
    assert scheme == "Basic"
    return base64.b64decode(encoded).decode()


@pytest.mark.anyio
async def test_the_token_url_comes_from_the_operations_table() -> None:
    """Client credentials are requested at the contract's requestToken path."""
    async with IntelliAuth(TENANT, client_id="app_1", client_secret=SECRET) as client:
        auth: Any = client._auth
        assert auth.token_url == TENANT + OPERATIONS["requestToken"].path


@pytest.mark.anyio
async def test_revoke_sends_revoke_token_as_the_client(router: respx.MockRouter) -> None:
    """revoke() posts the form through the invoker, with Basic client auth, not a token."""
    tokens = token_route(router)
    route = router.post(OPERATIONS["revokeToken"].path).respond(200)
    async with IntelliAuth(
        TENANT, client_id="app_1", client_secret=SECRET, default_headers={"X-Trace": "t1"}
    ) as client:
        assert await client.revoke("rt_1", token_type_hint="refresh_token") is None
    request = route.calls.last.request
    assert _basic_pair(request) == f"app_1:{SECRET}"
    assert dict(parse_qsl(request.content.decode())) == {
        "token": "rt_1",
        "token_type_hint": "refresh_token",
    }
    # The invoker's defaults are on it: the client's headers and User-Agent.
    assert request.headers["x-trace"] == "t1"
    assert request.headers["user-agent"].startswith("intelliauth-python/")
    assert not tokens.called


@pytest.mark.anyio
async def test_revoke_and_introspect_map_errors_by_the_contract(router: respx.MockRouter) -> None:
    """Their 4xx are OAuthErrors (the operations' oauth_errors), timeouts APITimeoutError."""
    router.post("/oauth2/revoke").respond(401, json={"error": "invalid_client"})
    introspect = router.post("/oauth2/introspect").mock(side_effect=httpx.ReadTimeout("slow"))
    async with IntelliAuth(TENANT, client_id="app_1", client_secret=SECRET) as client:
        with pytest.raises(InvalidClientError):
            await client.revoke("rt_1")
        with pytest.raises(APITimeoutError):
            await client.introspect("at_1")
    # A token endpoint is retried as the token managers retry it (token_request=True).
    assert introspect.call_count == 3


async def _revoke_against(server: LocalServer, statuses: list[int]) -> None:
    answers = iter(statuses)

    def revoke_route(handler: Any, body: bytes) -> tuple[int, dict[str, str], bytes]:
        status = next(answers)
        content = b"{}" if status == 200 else b'{"error": "temporarily_unavailable"}'
        return status, {}, content

    server.routes[("POST", OPERATIONS["revokeToken"].path)] = revoke_route
    async with IntelliAuth(server.url, client_id="app_1", client_secret=SECRET) as client:
        await client.revoke("rt_1")


@pytest.mark.anyio
async def test_revoke_retries_a_503_like_a_token_request(local_server: LocalServer) -> None:
    """A revocation POST answered 503 then 200 over a real socket: retried, and done."""
    await _revoke_against(local_server, [503, 200])
    assert [request[0] for request in local_server.requests] == ["POST", "POST"]


@pytest.mark.anyio
async def test_revoke_answered_503_three_times_is_an_internal_server_error(
    local_server: LocalServer,
) -> None:
    """Three 503s (two retries): InternalServerError with the body's code, as token_error."""
    with pytest.raises(InternalServerError) as raised:
        await _revoke_against(local_server, [503, 503, 503])
    assert raised.value.status_code == 503
    assert raised.value.code == "temporarily_unavailable"
    assert len(local_server.requests) == 3


@pytest.mark.anyio
async def test_introspect_returns_the_rfc_7662_result(router: respx.MockRouter) -> None:
    """introspect() reads the answer with _token_endpoints' reader; junk is an OAuthError."""
    route = router.post("/oauth2/introspect").respond(
        200, json={"active": True, "scope": "a b", "sub": "usr_1", "aud": "api"}
    )
    async with IntelliAuth(TENANT, client_id="app_1", client_secret=SECRET) as client:
        result = await client.introspect("at_1")
        assert (result.active, result.scope, result.subject) == (True, ("a", "b"), "usr_1")
        assert result.raw["aud"] == "api"
        assert _basic_pair(route.calls.last.request) == f"app_1:{SECRET}"
        assert dict(parse_qsl(route.calls.last.request.content.decode())) == {"token": "at_1"}
        route.respond(200, content=b"<html>")
        with pytest.raises(OAuthError, match="JSON object"):
            await client.introspect("at_1")


@pytest.mark.anyio
async def test_revoke_and_introspect_need_client_credentials() -> None:
    """A client built with auth= has no credentials to authenticate these calls with."""
    async with IntelliAuth(TENANT, auth=StaticBearer("tok")) as client:
        with pytest.raises(ValueError, match="revoke needs"):
            await client.revoke("rt")
        with pytest.raises(ValueError, match="introspect needs"):
            await client.introspect("at")
