"""Tests for intelliauth_ext._token_endpoints: token, refresh, revocation, introspection."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs

import httpx
import pytest
import respx

from intelliauth_ext import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    InternalServerError,
    InvalidClientError,
    InvalidGrantError,
    InvalidScopeError,
    OAuthError,
    RateLimitError,
    TokenSet,
)
from intelliauth_ext._token_endpoints import (
    IntrospectionResult,
    introspect_token,
    introspection_result,
    refresh_tokens,
    request_token,
    revoke_token,
)

pytestmark = pytest.mark.anyio

IDP = "https://idp.example"
TOKEN_URL = f"{IDP}/oauth/token"
REVOKE_URL = f"{IDP}/oauth/revoke"
INTROSPECT_URL = f"{IDP}/oauth/introspect"
CLIENT_ID = "app_1"
SECRET = "s3cret:with+odd chars"
NOW = 1_700_000_000.0
DEEP = b"[" * 100_000 + b"]" * 100_000


def form(request: httpx.Request) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(request.content.decode()).items()}


def basic_credentials(request: httpx.Request) -> str:
    scheme, _, encoded = request.headers["authorization"].partition(" ")
    assert scheme == "Basic"
    return base64.b64decode(encoded).decode()


# -- request_token ---------------------------------------------------------------------------


async def test_request_token_posts_the_grant_with_basic_auth(mock: respx.MockRouter) -> None:
    """The grant goes as a form; the client authenticates with HTTP Basic by default."""
    route = mock.post(TOKEN_URL).respond(
        200, json={"access_token": "at", "expires_in": 60, "scope": "a b"}
    )
    tokens = await request_token(
        TOKEN_URL,
        {"grant_type": "client_credentials", "scope": "a b"},
        client_id=CLIENT_ID,
        client_secret=SECRET,
        clock=lambda: NOW,
    )
    assert isinstance(tokens, TokenSet)
    assert (tokens.access_token, tokens.expires_at) == ("at", NOW + 60)
    request = route.calls.last.request
    assert form(request) == {"grant_type": "client_credentials", "scope": "a b"}
    # RFC 6749 section 2.3.1: id and secret are form-urlencoded before the Basic encoding.
    assert basic_credentials(request) == "app_1:s3cret%3Awith%2Bodd+chars"
    assert request.headers["accept"] == "application/json"


async def test_request_token_with_client_secret_post(mock: respx.MockRouter) -> None:
    """client_secret_post puts the credentials in the form and sends no Authorization."""
    route = mock.post(TOKEN_URL).respond(200, json={"access_token": "at"})
    await request_token(
        TOKEN_URL,
        {"grant_type": "client_credentials"},
        client_id=CLIENT_ID,
        client_secret=SECRET,
        auth_method="client_secret_post",
    )
    request = route.calls.last.request
    assert "authorization" not in request.headers
    assert form(request) == {
        "grant_type": "client_credentials",
        "client_id": CLIENT_ID,
        "client_secret": SECRET,
    }


@pytest.mark.parametrize(
    ("status", "body", "expected", "error"),
    [
        (400, {"error": "invalid_grant", "error_description": "used"}, InvalidGrantError, None),
        (400, {"error": "invalid_scope"}, InvalidScopeError, None),
        (401, {"error": "invalid_client"}, InvalidClientError, None),
        (400, {"error": "slow_down"}, OAuthError, "slow_down"),
    ],
)
async def test_request_token_rfc_6749_errors(
    mock: respx.MockRouter,
    status: int,
    body: dict[str, str],
    expected: type[OAuthError],
    error: str | None,
) -> None:
    """An RFC 6749 error body becomes its OAuthError subclass, after one request."""
    route = mock.post(TOKEN_URL).respond(status, json=body)
    with pytest.raises(expected) as info:
        await request_token(
            TOKEN_URL, {"grant_type": "x"}, client_id=CLIENT_ID, client_secret=SECRET
        )
    assert info.value.error == (error or body["error"])
    assert info.value.status_code == status
    assert info.value.response is not None
    assert route.call_count == 1  # 400 and 401 are final


@pytest.mark.parametrize(
    ("status", "content", "error"),
    [
        (401, b"Unauthorized", "invalid_client"),
        (400, DEEP, "invalid_request"),
        (400, b"\xff\xfe", "invalid_request"),
    ],
)
async def test_request_token_failures_without_an_rfc_6749_body(
    mock: respx.MockRouter, status: int, content: bytes, error: str
) -> None:
    """A failed answer that is no RFC 6749 body still raises an OAuthError, never a parser error."""
    mock.post(TOKEN_URL).respond(status, content=content)
    with pytest.raises(OAuthError) as info:
        await request_token(
            TOKEN_URL, {"grant_type": "x"}, client_id=CLIENT_ID, client_secret=SECRET
        )
    assert info.value.error == error
    assert info.value.status_code == status


async def test_request_token_retries_a_5xx_and_succeeds(mock: respx.MockRouter) -> None:
    """A 503, then a token: two requests and the token set."""
    route = mock.post(TOKEN_URL)
    route.side_effect = [
        httpx.Response(503, json={"error": "temporarily_unavailable"}),
        httpx.Response(200, json={"access_token": "at", "expires_in": 60}),
    ]
    tokens = await request_token(
        TOKEN_URL, {"grant_type": "x"}, client_id=CLIENT_ID, client_secret=SECRET
    )
    assert tokens.access_token == "at"
    assert route.call_count == 2


@pytest.mark.parametrize(
    ("status", "expected"), [(502, InternalServerError), (429, RateLimitError)]
)
async def test_request_token_raises_the_status_error_after_the_retries(
    mock: respx.MockRouter, status: int, expected: type[APIStatusError]
) -> None:
    """A 5xx (429) that lasts raises InternalServerError (RateLimitError) after 1 + 2 requests."""
    route = mock.post(TOKEN_URL).respond(status, content=b"<html>Bad Gateway</html>")
    with pytest.raises(expected) as info:
        await request_token(
            TOKEN_URL, {"grant_type": "x"}, client_id=CLIENT_ID, client_secret=SECRET
        )
    assert info.value.status_code == status
    assert route.call_count == 3
    route.reset()
    with pytest.raises(expected):
        await request_token(
            TOKEN_URL,
            {"grant_type": "x"},
            client_id=CLIENT_ID,
            client_secret=SECRET,
            max_retries=0,
        )
    assert route.call_count == 1


@pytest.mark.parametrize("content", [b"<html>ok</html>", DEEP, b"", b'{"token_type": "Bearer"}'])
async def test_request_token_2xx_without_a_token(mock: respx.MockRouter, content: bytes) -> None:
    """A 2xx that is not a token response is invalid_token_response, never quoting the body."""
    mock.post(TOKEN_URL).respond(200, content=content)
    with pytest.raises(OAuthError) as info:
        await request_token(
            TOKEN_URL, {"grant_type": "x"}, client_id=CLIENT_ID, client_secret=SECRET
        )
    assert info.value.error == "invalid_token_response"
    assert "<html>" not in str(info.value)


async def test_request_token_does_not_follow_a_redirect(mock: respx.MockRouter) -> None:
    """A redirected POST would resend the credentials elsewhere: it is an error instead."""
    elsewhere = mock.post("https://evil.example/token").respond(200, json={"access_token": "x"})
    mock.post(TOKEN_URL).respond(307, headers={"location": "https://evil.example/token"})
    with pytest.raises(OAuthError) as info:
        await request_token(
            TOKEN_URL, {"grant_type": "x"}, client_id=CLIENT_ID, client_secret=SECRET
        )
    assert info.value.status_code == 307
    assert not elsewhere.called


async def test_request_token_connection_error(mock: respx.MockRouter) -> None:
    """An unreachable endpoint is an APIConnectionError naming the request, without secrets."""
    mock.post(TOKEN_URL).mock(side_effect=httpx.ConnectError("connection refused"))
    with pytest.raises(APIConnectionError) as info:
        await request_token(
            TOKEN_URL, {"grant_type": "x"}, client_id=CLIENT_ID, client_secret=SECRET
        )
    assert type(info.value) is APIConnectionError
    assert info.value.message == f"Connection error: POST {TOKEN_URL}: connection refused"
    assert SECRET not in str(info.value)
    assert isinstance(info.value.__cause__, httpx.ConnectError)


async def test_request_token_timeout(mock: respx.MockRouter) -> None:
    """A timeout is an APITimeoutError."""
    mock.post(TOKEN_URL).mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(APITimeoutError) as info:
        await request_token(
            TOKEN_URL, {"grant_type": "x"}, client_id=CLIENT_ID, client_secret=SECRET
        )
    assert info.value.message == f"Request timed out: POST {TOKEN_URL} (ReadTimeout)"


async def test_request_token_on_a_given_client() -> None:
    """A given http_client sends the request (and is left open)."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"access_token": "at"})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        tokens = await request_token(
            TOKEN_URL,
            {"grant_type": "x"},
            client_id=CLIENT_ID,
            client_secret=SECRET,
            http_client=client,
        )
        assert not client.is_closed
    assert tokens.access_token == "at"
    assert [str(request.url) for request in seen] == [TOKEN_URL]


# -- refresh_tokens --------------------------------------------------------------------------


async def test_refresh_keeps_the_refresh_token_unless_rotated(mock: respx.MockRouter) -> None:
    """Without a new refresh token the old one is kept; a rotated one replaces it."""
    route = mock.post(TOKEN_URL).respond(200, json={"access_token": "a2"})
    tokens = await refresh_tokens(
        TOKEN_URL, "rt-old", client_id=CLIENT_ID, auth_method="none", scopes=("email", "openid")
    )
    assert (tokens.access_token, tokens.refresh_token) == ("a2", "rt-old")
    assert form(route.calls.last.request) == {
        "grant_type": "refresh_token",
        "refresh_token": "rt-old",
        "scope": "email openid",
        "client_id": CLIENT_ID,
    }
    route.respond(200, json={"access_token": "a3", "refresh_token": "rt-new"})
    tokens = await refresh_tokens(TOKEN_URL, "rt-old", client_id=CLIENT_ID, client_secret=SECRET)
    assert tokens.refresh_token == "rt-new"


async def test_refresh_with_a_revoked_token(mock: respx.MockRouter) -> None:
    """A revoked or reused refresh token is InvalidGrantError (sign in again)."""
    mock.post(TOKEN_URL).respond(400, json={"error": "invalid_grant"})
    with pytest.raises(InvalidGrantError):
        await refresh_tokens(TOKEN_URL, "rt", client_id=CLIENT_ID, auth_method="none")


# -- revoke_token ----------------------------------------------------------------------------


async def test_revoke_posts_the_token_and_hint(mock: respx.MockRouter) -> None:
    """RFC 7009 section 2.1: token and hint in a form, the client authenticated."""
    route = mock.post(REVOKE_URL).respond(200)
    result = await revoke_token(
        REVOKE_URL,
        "rt",
        client_id=CLIENT_ID,
        client_secret=SECRET,
        token_type_hint="refresh_token",
    )
    assert result is None
    request = route.calls.last.request
    assert form(request) == {"token": "rt", "token_type_hint": "refresh_token"}
    assert basic_credentials(request).startswith(f"{CLIENT_ID}:")


@pytest.mark.parametrize(
    ("status", "content", "error"),
    [
        (400, b'{"error": "unsupported_token_type"}', "unsupported_token_type"),
        (401, b'{"error": "invalid_client"}', "invalid_client"),
        (400, DEEP, "invalid_request"),
    ],
)
async def test_revoke_errors(
    mock: respx.MockRouter, status: int, content: bytes, error: str
) -> None:
    """A refusal is an OAuthError, whatever the body, after one request."""
    route = mock.post(REVOKE_URL).respond(status, content=content)
    with pytest.raises(OAuthError) as info:
        await revoke_token(REVOKE_URL, "rt", client_id=CLIENT_ID, auth_method="none")
    assert (info.value.error, info.value.status_code) == (error, status)
    assert route.call_count == 1


async def test_revoke_and_introspect_retry_a_5xx(mock: respx.MockRouter) -> None:
    """RFC 7009's 503 (try later) is retried; one that lasts is an InternalServerError."""
    revoke = mock.post(REVOKE_URL).respond(503, content=b"down for maintenance")
    with pytest.raises(InternalServerError) as info:
        await revoke_token(REVOKE_URL, "rt", client_id=CLIENT_ID, auth_method="none")
    assert info.value.status_code == 503
    assert revoke.call_count == 3
    introspect = mock.post(INTROSPECT_URL)
    introspect.side_effect = [httpx.Response(502), httpx.Response(200, json={"active": False})]
    result = await introspect_token(INTROSPECT_URL, "at", client_id=CLIENT_ID, auth_method="none")
    assert result.active is False
    assert introspect.call_count == 2


@pytest.mark.parametrize(
    ("cause", "expected"),
    [
        (httpx.ConnectError("refused"), APIConnectionError),
        (httpx.PoolTimeout("t"), APITimeoutError),
    ],
)
async def test_revoke_transport_failures(
    mock: respx.MockRouter, cause: Exception, expected: type[APIConnectionError]
) -> None:
    """No answer is an APIConnectionError (APITimeoutError for a timeout)."""
    route = mock.post(REVOKE_URL).mock(side_effect=cause)
    with pytest.raises(expected) as info:
        await revoke_token(REVOKE_URL, "rt", client_id=CLIENT_ID, client_secret=SECRET)
    assert type(info.value) is expected
    assert REVOKE_URL in info.value.message
    assert route.call_count == 3  # retried twice


# -- introspect_token ------------------------------------------------------------------------


async def test_introspect_returns_a_typed_result(mock: respx.MockRouter) -> None:
    """RFC 7662 section 2.2: the fields are typed; the whole answer is on raw."""
    body = {
        "active": True,
        "scope": "a b",
        "client_id": "c",
        "username": "ada",
        "token_type": "Bearer",
        "exp": 5,
        "iat": 1,
        "sub": "u",
        "aud": "api",
    }
    route = mock.post(INTROSPECT_URL).respond(200, json=body)
    result = await introspect_token(
        INTROSPECT_URL,
        "at",
        client_id=CLIENT_ID,
        client_secret=SECRET,
        token_type_hint="access_token",
    )
    assert result == IntrospectionResult(
        active=True,
        scope=("a", "b"),
        client_id="c",
        username="ada",
        token_type="Bearer",
        subject="u",
        expires_at=5.0,
        issued_at=1.0,
    )
    assert result.raw == body
    assert form(route.calls.last.request) == {"token": "at", "token_type_hint": "access_token"}


async def test_introspect_an_inactive_token(mock: respx.MockRouter) -> None:
    """An inactive token is only {"active": false}."""
    mock.post(INTROSPECT_URL).respond(200, json={"active": False})
    result = await introspect_token(INTROSPECT_URL, "at", client_id=CLIENT_ID, client_secret=SECRET)
    assert result == IntrospectionResult(active=False)


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b'{"active": "yes"}', "active"),
        (b"{}", "active"),
        (b"<html>", "JSON object"),
        (b"[true]", "JSON object"),
        (DEEP, "JSON object"),
        (b"\xff", "JSON object"),
    ],
)
async def test_introspect_a_2xx_that_is_not_rfc_7662(
    mock: respx.MockRouter, content: bytes, match: str
) -> None:
    """A 2xx that is not an RFC 7662 body is invalid_token_response, never a parser error."""
    mock.post(INTROSPECT_URL).respond(200, content=content)
    with pytest.raises(OAuthError, match=match) as info:
        await introspect_token(INTROSPECT_URL, "at", client_id=CLIENT_ID, client_secret=SECRET)
    assert info.value.error == "invalid_token_response"


async def test_introspect_errors_and_timeouts(mock: respx.MockRouter) -> None:
    """A refusal is its OAuthError subclass; a timeout an APITimeoutError."""
    route = mock.post(INTROSPECT_URL).respond(401, json={"error": "invalid_client"})
    with pytest.raises(InvalidClientError):
        await introspect_token(INTROSPECT_URL, "at", client_id=CLIENT_ID, client_secret=SECRET)
    route.mock(side_effect=httpx.ConnectTimeout("t"))
    with pytest.raises(APITimeoutError):
        await introspect_token(INTROSPECT_URL, "at", client_id=CLIENT_ID, client_secret=SECRET)


def test_introspection_result_reads_a_response() -> None:
    """introspection_result is the one reader of an introspection answer (the client uses it)."""
    response = httpx.Response(200, json={"active": True, "scope": "x"})
    assert introspection_result(response) == IntrospectionResult(active=True, scope=("x",))
    with pytest.raises(OAuthError) as info:
        introspection_result(httpx.Response(200, content=b"nope"))
    assert (info.value.error, info.value.status_code) == ("invalid_token_response", 200)
