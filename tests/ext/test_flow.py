"""AuthorizationCodeFlow, FlowStore, TokenSet and the token endpoint helpers, on respx."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
import respx
from hypothesis import given, settings
from hypothesis import strategies as st

from intelliauth_ext._errors import (
    AccessDeniedError,
    InternalServerError,
    InvalidCallbackError,
    InvalidClientError,
    InvalidGrantError,
    InvalidScopeError,
    OAuthError,
    TokenValidationError,
    UnsupportedGrantTypeError,
)
from intelliauth_ext._flow import AuthorizationCodeFlow, AuthorizationRequest
from intelliauth_ext._flow_store import InMemoryFlowStore, PendingAuthorization
from intelliauth_ext._pkce import code_challenge_s256
from intelliauth_ext._token_endpoints import introspect_token, refresh_tokens, revoke_token
from intelliauth_ext._token_set import TokenSet, token_set_from_response

from .oidc_fakes import CLIENT_ID, ISSUER, NOW, FakeClock, FakeProvider

pytestmark = pytest.mark.anyio

REDIRECT_URI = "https://app.example.test/callback"
SECRET = "s3cret:with+odd chars"


@pytest.fixture
def flow(provider: FakeProvider, clock: FakeClock) -> AuthorizationCodeFlow:
    """A public-client flow for the fake provider."""
    return AuthorizationCodeFlow(ISSUER, CLIENT_ID, REDIRECT_URI, ["openid", "email"], clock=clock)


def _query(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(httpx.URL(url).query.decode()).items()}


def _form(request: httpx.Request) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(request.content.decode()).items()}


def _script_token(provider: FakeProvider, nonce: str, **extra: Any) -> respx.Route:
    body = {
        "access_token": "at-1",
        "token_type": "Bearer",
        "expires_in": 300,
        "refresh_token": "rt-1",
        "id_token": provider.id_token(nonce=nonce),
        "scope": "openid email",
        **extra,
    }
    return provider.token.respond(200, json=body)


def _callback(request: AuthorizationRequest, **params: str) -> str:
    query = {"code": "code-1", "state": request.state, **params}
    return str(httpx.URL(REDIRECT_URI, params=query))


# --- start -----------------------------------------------------------------------------


async def test_start_builds_the_authorization_url(
    flow: AuthorizationCodeFlow, provider: FakeProvider
) -> None:
    """The URL carries every RFC 6749 / 7636 / OIDC parameter, the challenge of the verifier."""
    request = await flow.start(prompt="login")
    assert request.url.startswith(f"{ISSUER}/authorize?")
    query = _query(request.url)
    assert query == {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT_URI,
        "scope": "email openid",  # sorted: scopes are a set
        "state": request.state,
        "nonce": request.nonce,
        "code_challenge": code_challenge_s256(request.code_verifier),
        "code_challenge_method": "S256",
        "prompt": "login",
    }
    assert request.expires_at == NOW + 600


async def test_start_keeps_the_endpoint_query(provider: FakeProvider, clock: FakeClock) -> None:
    """An authorization endpoint with its own query keeps it (RFC 6749 section 3.1)."""
    provider.metadata["authorization_endpoint"] = f"{ISSUER}/authorize?tenant=acme"
    flow = AuthorizationCodeFlow(ISSUER, CLIENT_ID, REDIRECT_URI, "openid", clock=clock)
    assert _query((await flow.start()).url)["tenant"] == "acme"


async def test_start_values_are_fresh_and_secret(flow: AuthorizationCodeFlow) -> None:
    """Each start has new random values; repr hides the verifier."""
    first, second = await flow.start(), await flow.start()
    assert len({first.state, second.state, first.nonce, second.nonce}) == 4
    assert first.code_verifier != second.code_verifier
    assert len(first.state) >= 43
    assert first.code_verifier not in repr(first)


async def test_start_refuses_reserved_extras(flow: AuthorizationCodeFlow) -> None:
    """Extras may not override state, nonce, the challenge or the redirect URI."""
    with pytest.raises(ValueError, match="state"):
        await flow.start(state="mine")
    with pytest.raises(ValueError, match="code_challenge"):
        await flow.start(code_challenge="x")


async def test_start_saves_the_pending_sign_in(provider: FakeProvider, clock: FakeClock) -> None:
    """The state, nonce and verifier go to the flow store under the state."""
    store = InMemoryFlowStore(clock=clock.time)
    flow = AuthorizationCodeFlow(
        ISSUER, CLIENT_ID, REDIRECT_URI, ["openid"], flow_store=store, clock=clock
    )
    request = await flow.start()
    pending = await store.take(request.state)
    assert pending is not None
    assert (pending.nonce, pending.code_verifier) == (request.nonce, request.code_verifier)
    assert request.code_verifier not in repr(pending)


def test_constructor_checks() -> None:
    """Bad auth methods, missing secrets and insecure redirect URIs are refused up front."""
    with pytest.raises(ValueError, match="client_secret"):
        AuthorizationCodeFlow(ISSUER, CLIENT_ID, REDIRECT_URI, auth_method="client_secret_post")
    with pytest.raises(ValueError, match="unknown"):
        AuthorizationCodeFlow(ISSUER, CLIENT_ID, REDIRECT_URI, auth_method="magic")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="https"):
        AuthorizationCodeFlow(ISSUER, CLIENT_ID, "http://app.example.test/cb")
    with pytest.raises(ValueError, match="fragment"):
        AuthorizationCodeFlow(ISSUER, CLIENT_ID, REDIRECT_URI + "#x")
    native = AuthorizationCodeFlow(ISSUER, CLIENT_ID, "com.example.app:/oauth")
    assert native.redirect_uri == "com.example.app:/oauth"


# --- complete: the happy paths ---------------------------------------------------------


async def test_complete_public_client(flow: AuthorizationCodeFlow, provider: FakeProvider) -> None:
    """A public client sends the code, verifier and client_id, no secret, and gets tokens."""
    request = await flow.start()
    route = _script_token(provider, request.nonce)
    tokens = await flow.complete(_callback(request), expected_state=request.state)
    assert tokens.access_token == "at-1"
    assert tokens.refresh_token == "rt-1"
    assert tokens.scope == ("email", "openid")
    assert tokens.expires_at == NOW + 300
    sent = route.calls.last.request
    assert _form(sent) == {
        "grant_type": "authorization_code",
        "code": "code-1",
        "redirect_uri": REDIRECT_URI,
        "code_verifier": request.code_verifier,
        "client_id": CLIENT_ID,
    }
    assert "authorization" not in sent.headers


async def test_complete_accepts_a_params_mapping(
    flow: AuthorizationCodeFlow, provider: FakeProvider
) -> None:
    """The callback may be given as its query parameters."""
    request = await flow.start()
    _script_token(provider, request.nonce)
    tokens = await flow.complete({"code": "code-1", "state": request.state})
    assert tokens.access_token == "at-1"


async def test_complete_confidential_basic(provider: FakeProvider, clock: FakeClock) -> None:
    """A confidential client uses client_secret_basic with the form-encoded id and secret."""
    flow = AuthorizationCodeFlow(
        ISSUER, CLIENT_ID, REDIRECT_URI, ["openid"], client_secret=SECRET, clock=clock
    )
    request = await flow.start()
    route = _script_token(provider, request.nonce)
    await flow.complete(_callback(request))
    sent = route.calls.last.request
    expected = base64.b64encode(b"client-123:s3cret%3Awith%2Bodd+chars").decode()
    assert sent.headers["authorization"] == f"Basic {expected}"
    assert "client_secret" not in _form(sent)


async def test_complete_confidential_post_when_only_post_is_listed(
    provider: FakeProvider, clock: FakeClock
) -> None:
    """With only client_secret_post advertised, the secret goes in the body."""
    provider.metadata["token_endpoint_auth_methods_supported"] = ["client_secret_post"]
    flow = AuthorizationCodeFlow(
        ISSUER, CLIENT_ID, REDIRECT_URI, ["openid"], client_secret=SECRET, clock=clock
    )
    request = await flow.start()
    route = _script_token(provider, request.nonce)
    await flow.complete(_callback(request))
    form = _form(route.calls.last.request)
    assert (form["client_id"], form["client_secret"]) == (CLIENT_ID, SECRET)


async def test_complete_with_correct_iss(
    flow: AuthorizationCodeFlow, provider: FakeProvider
) -> None:
    """A callback carrying the right iss (RFC 9207) completes."""
    request = await flow.start()
    _script_token(provider, request.nonce)
    assert (await flow.complete(_callback(request, iss=ISSUER))).access_token == "at-1"


async def test_complete_without_openid_needs_no_id_token(
    provider: FakeProvider, clock: FakeClock
) -> None:
    """A plain OAuth sign-in (no openid scope) needs no ID token."""
    flow = AuthorizationCodeFlow(ISSUER, CLIENT_ID, REDIRECT_URI, ["email"], clock=clock)
    request = await flow.start()
    provider.token.respond(200, json={"access_token": "at", "token_type": "bearer"})
    tokens = await flow.complete(_callback(request))
    assert tokens.id_token is None


# --- complete: state -------------------------------------------------------------------


async def _callback_error(
    flow: AuthorizationCodeFlow, callback: Any, **kwargs: Any
) -> InvalidCallbackError:
    with pytest.raises(InvalidCallbackError) as info:
        await flow.complete(callback, **kwargs)
    assert info.value.error == "invalid_callback"
    return info.value


async def test_state_mismatch_with_session(flow: AuthorizationCodeFlow) -> None:
    """A callback whose state is not this browser's is refused, and no code is exchanged."""
    mine, theirs = await flow.start(), await flow.start()
    error = await _callback_error(flow, _callback(theirs), expected_state=mine.state)
    assert error.check == "state"


async def test_state_missing(flow: AuthorizationCodeFlow) -> None:
    """A callback without state is refused."""
    await flow.start()
    error = await _callback_error(flow, f"{REDIRECT_URI}?code=abc")
    assert error.check == "state"


async def test_state_unknown(flow: AuthorizationCodeFlow) -> None:
    """A state this flow never issued is refused as a replay."""
    error = await _callback_error(flow, f"{REDIRECT_URI}?code=abc&state=forged")
    assert error.check == "replay"


async def test_state_is_single_use(flow: AuthorizationCodeFlow, provider: FakeProvider) -> None:
    """The same callback can not complete twice."""
    request = await flow.start()
    route = _script_token(provider, request.nonce)
    await flow.complete(_callback(request))
    error = await _callback_error(flow, _callback(request))
    assert error.check == "replay"
    assert route.call_count == 1


async def test_state_expires(
    flow: AuthorizationCodeFlow, provider: FakeProvider, clock: FakeClock
) -> None:
    """A callback after state_ttl is refused as expired."""
    request = await flow.start()
    clock.advance(601)
    error = await _callback_error(flow, _callback(request))
    assert error.check in {"expiry", "replay"}


async def test_state_expiry_is_checked_by_the_flow(
    provider: FakeProvider, clock: FakeClock
) -> None:
    """Even a store that never expires anything can not outlive the flow's state_ttl."""

    class ForeverStore:
        def __init__(self) -> None:
            self.saved: dict[str, PendingAuthorization] = {}

        async def save(self, pending: PendingAuthorization) -> None:
            self.saved[pending.state] = pending

        async def take(self, state: str) -> PendingAuthorization | None:
            return self.saved.pop(state, None)

    flow = AuthorizationCodeFlow(
        ISSUER,
        CLIENT_ID,
        REDIRECT_URI,
        ["openid"],
        flow_store=ForeverStore(),
        clock=clock,
        state_ttl=60,
    )
    request = await flow.start()
    clock.advance(61)
    error = await _callback_error(flow, _callback(request))
    assert error.check == "expiry"


async def test_repeated_parameters_are_refused(flow: AuthorizationCodeFlow) -> None:
    """A callback repeating state is malformed (RFC 6749 section 3.1)."""
    request = await flow.start()
    error = await _callback_error(
        flow, f"{REDIRECT_URI}?code=a&state={request.state}&state={request.state}"
    )
    assert error.check == "format"


async def test_missing_code(flow: AuthorizationCodeFlow) -> None:
    """A callback with a valid state but no code is refused."""
    request = await flow.start()
    error = await _callback_error(flow, f"{REDIRECT_URI}?state={request.state}")
    assert error.check == "code"


# --- complete: error= and iss ----------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "exception"),
    [
        ("access_denied", AccessDeniedError),
        ("invalid_scope", InvalidScopeError),
        ("temporarily_unavailable", OAuthError),
    ],
)
async def test_error_callbacks(
    flow: AuthorizationCodeFlow, code: str, exception: type[OAuthError]
) -> None:
    """An error= callback raises the matching OAuthError with the description and URI."""
    request = await flow.start()
    callback = str(
        httpx.URL(
            REDIRECT_URI,
            params={
                "error": code,
                "error_description": "User said no",
                "error_uri": "https://idp.example.test/e",
                "state": request.state,
            },
        )
    )
    with pytest.raises(exception) as info:
        await flow.complete(callback)
    assert type(info.value) is exception
    assert info.value.error == code
    assert info.value.error_description == "User said no"
    assert info.value.error_uri == "https://idp.example.test/e"
    # The error consumed the pending sign-in.
    error = await _callback_error(flow, _callback(request))
    assert error.check == "replay"


async def test_iss_mismatch(flow: AuthorizationCodeFlow) -> None:
    """A callback from another issuer is refused (RFC 9207, mix-up attacks)."""
    request = await flow.start()
    error = await _callback_error(flow, _callback(request, iss="https://evil.example.test"))
    assert error.check == "issuer"


async def test_iss_mismatch_beats_error(flow: AuthorizationCodeFlow) -> None:
    """An error= callback from another issuer is an issuer failure, not its error."""
    request = await flow.start()
    callback = _callback(request, iss="https://evil.example.test", error="access_denied")
    error = await _callback_error(flow, callback)
    assert error.check == "issuer"


async def test_iss_required_when_advertised(provider: FakeProvider, clock: FakeClock) -> None:
    """When the provider advertises RFC 9207 support, a callback without iss is refused."""
    provider.metadata["authorization_response_iss_parameter_supported"] = True
    flow = AuthorizationCodeFlow(ISSUER, CLIENT_ID, REDIRECT_URI, ["openid"], clock=clock)
    request = await flow.start()
    error = await _callback_error(flow, _callback(request))
    assert error.check == "issuer"


# --- complete: the token response and the ID token -------------------------------------


async def test_id_token_nonce_mismatch(flow: AuthorizationCodeFlow, provider: FakeProvider) -> None:
    """An ID token with another sign-in's nonce fails the nonce check."""
    request = await flow.start()
    _script_token(provider, "someone-elses-nonce")
    with pytest.raises(TokenValidationError) as info:
        await flow.complete(_callback(request))
    assert info.value.check == "nonce"


async def test_id_token_for_another_client(
    flow: AuthorizationCodeFlow, provider: FakeProvider
) -> None:
    """An ID token issued to another client fails the audience check."""
    request = await flow.start()
    provider.token.respond(
        200,
        json={"access_token": "a", "id_token": provider.id_token(nonce=request.nonce, aud="x")},
    )
    with pytest.raises(TokenValidationError) as info:
        await flow.complete(_callback(request))
    assert info.value.check == "audience"


async def test_missing_id_token_with_openid(
    flow: AuthorizationCodeFlow, provider: FakeProvider
) -> None:
    """An openid sign-in whose token response lacks an ID token is refused."""
    request = await flow.start()
    provider.token.respond(200, json={"access_token": "a", "token_type": "Bearer"})
    with pytest.raises(TokenValidationError) as info:
        await flow.complete(_callback(request))
    assert info.value.check == "format"


@pytest.mark.parametrize(
    ("status", "body", "exception", "error"),
    [
        (
            400,
            {"error": "invalid_grant", "error_description": "code used"},
            InvalidGrantError,
            "invalid_grant",
        ),
        (401, {"error": "invalid_client"}, InvalidClientError, "invalid_client"),
        (
            400,
            {"error": "unsupported_grant_type"},
            UnsupportedGrantTypeError,
            "unsupported_grant_type",
        ),
        (200, {"error": "invalid_grant"}, InvalidGrantError, "invalid_grant"),
        (401, "<html>Unauthorized</html>", InvalidClientError, "invalid_client"),
        (200, "<html>login page</html>", OAuthError, "invalid_token_response"),
        (200, [], OAuthError, "invalid_token_response"),
        (200, {"token_type": "Bearer"}, OAuthError, "invalid_token_response"),
        (200, {"access_token": 12345}, OAuthError, "invalid_token_response"),
        (200, {"access_token": ""}, OAuthError, "invalid_token_response"),
        (200, "[" * 100_000, OAuthError, "invalid_token_response"),
    ],
)
async def test_hostile_token_responses(
    flow: AuthorizationCodeFlow,
    provider: FakeProvider,
    status: int,
    body: Any,
    exception: type[OAuthError],
    error: str,
) -> None:
    """Every unusable token response is an OAuthError subclass, never KeyError or JSON errors."""
    request = await flow.start()
    if isinstance(body, str):
        provider.token.respond(status, content=body.encode(), headers={"content-type": "text/html"})
    else:
        provider.token.respond(status, json=body)
    with pytest.raises(exception) as info:
        await flow.complete(_callback(request))
    assert info.value.error == error


async def test_token_endpoint_5xx_is_retried_then_an_internal_server_error(
    flow: AuthorizationCodeFlow, provider: FakeProvider
) -> None:
    """A 502 from the token endpoint is retried, then raised as InternalServerError."""
    request = await flow.start()
    provider.token.respond(502, content=b"<html>Bad gateway</html>")
    with pytest.raises(InternalServerError) as info:
        await flow.complete(_callback(request))
    assert info.value.status_code == 502
    assert provider.token.call_count == 3


async def test_token_response_never_quotes_tokens(
    flow: AuthorizationCodeFlow, provider: FakeProvider
) -> None:
    """A response without access_token but with a refresh token does not leak it in the message."""
    request = await flow.start()
    provider.token.respond(200, json={"refresh_token": "super-secret-refresh"})
    with pytest.raises(OAuthError) as info:
        await flow.complete(_callback(request))
    assert "super-secret-refresh" not in str(info.value)
    assert "refresh_token" in str(info.value)


async def test_token_endpoint_unreachable(
    flow: AuthorizationCodeFlow, provider: FakeProvider
) -> None:
    """A token endpoint that can not be reached is an APIConnectionError."""
    from intelliauth_ext._errors import APIConnectionError

    request = await flow.start()
    provider.token.mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(APIConnectionError):
        await flow.complete(_callback(request))


def test_flow_repr_hides_the_secret() -> None:
    """The flow's repr says confidential, never the secret."""
    flow = AuthorizationCodeFlow(ISSUER, CLIENT_ID, REDIRECT_URI, client_secret=SECRET)
    assert SECRET not in repr(flow)
    assert "confidential" in repr(flow)


# --- TokenSet --------------------------------------------------------------------------


def _clock() -> float:
    return NOW


@pytest.mark.parametrize(
    ("body", "expires_at"),
    [
        ({"expires_in": 3600}, NOW + 3600),
        ({"expires_in": "3600"}, NOW + 3600),
        ({"expires_in": " 60.5 "}, NOW + 60.5),
        ({}, None),
        ({"expires_in": "soon"}, None),
        ({"expires_in": None}, None),
        ({"expires_in": True}, None),
        ({"expires_in": -5}, None),
        ({"expires_in": float("nan")}, None),
        ({"expires_at": 1_900_000_000}, 1_900_000_000),
        ({"expires_at": 1_209_600}, NOW + 1_209_600),
        ({"expires_in": 10, "expires_at": 1_900_000_000}, NOW + 10),
    ],
)
def test_token_set_lifetimes(body: dict[str, Any], expires_at: float | None) -> None:
    """expires_in as number or string, missing, or expires_at (absolute or a lifetime)."""
    token_set = TokenSet.from_token_response({"access_token": "a", **body}, _clock)
    assert token_set.expires_at == expires_at


def test_token_set_repr_redacts_every_token() -> None:
    """repr shows no access, refresh or ID token."""
    token_set = TokenSet("access-x", refresh_token="refresh-x", id_token="id-x", scope="a b")
    text = repr(token_set)
    for secret in ("access-x", "refresh-x", "id-x"):
        assert secret not in text
    assert "('a', 'b')" in text


def test_token_set_round_trip() -> None:
    """as_dict and from_dict round-trip, keeping the absolute expiry."""
    token_set = TokenSet("a", refresh_token="r", scope=("x", "y"), expires_at=NOW + 5)
    assert TokenSet.from_dict(json.loads(json.dumps(token_set.as_dict()))) == token_set


def test_token_set_expiry_helpers() -> None:
    """expires_in and is_expired read expires_at against a given now."""
    token_set = TokenSet("a", expires_at=NOW + 30)
    assert token_set.expires_in(now=NOW) == 30
    assert not token_set.is_expired(now=NOW)
    assert token_set.is_expired(now=NOW, leeway=30)
    assert not TokenSet("a").is_expired()


def test_token_set_defaults_token_type() -> None:
    """A response without token_type is a Bearer token; odd fields are ignored."""
    token_set = TokenSet.from_token_response(
        {"access_token": "a", "scope": 5, "refresh_token": 7, "id_token": ""}, _clock
    )
    assert (token_set.token_type, token_set.scope, token_set.refresh_token, token_set.id_token) == (
        "Bearer",
        (),
        None,
        None,
    )


def test_form_encoded_token_response() -> None:
    """A form-encoded token response (a legacy provider default) is read as well."""
    response = httpx.Response(
        200,
        content=b"access_token=abc&token_type=bearer&scope=repo",
        headers={"content-type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    assert token_set_from_response(response, clock=_clock).access_token == "abc"


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
_token_fields = st.dictionaries(
    st.sampled_from(
        [
            "access_token",
            "token_type",
            "expires_in",
            "expires_at",
            "refresh_token",
            "scope",
            "id_token",
            "error",
            "error_description",
            "error_uri",
        ]
    ),
    _json,
)


@settings(max_examples=300, deadline=None)
@given(status=st.sampled_from([200, 201, 400, 401, 403, 500, 503]), body=_json | _token_fields)
def test_generated_token_responses_raise_only_oauth_errors(status: int, body: Any) -> None:
    """Whatever JSON a token endpoint answers, the result is a TokenSet or an OAuthError."""
    response = httpx.Response(status, content=json.dumps(body).encode())
    try:
        token_set = token_set_from_response(response, clock=_clock)
    except OAuthError:
        return
    assert isinstance(token_set.access_token, str)
    assert token_set.access_token


@settings(max_examples=100, deadline=None)
@given(content=st.binary(max_size=64))
def test_generated_token_bytes_raise_only_oauth_errors(content: bytes) -> None:
    """Arbitrary bytes from a token endpoint are an OAuthError, never another exception."""
    with pytest.raises(OAuthError):
        token_set_from_response(httpx.Response(200, content=content), clock=_clock)


# --- the in-memory flow store ----------------------------------------------------------


def _pending(state: str, expires_at: float) -> PendingAuthorization:
    return PendingAuthorization(
        state=state,
        nonce="n",
        code_verifier="v" * 43,
        redirect_uri=REDIRECT_URI,
        expires_at=expires_at,
    )


async def test_store_is_bounded() -> None:
    """Beyond max_pending, the oldest pending sign-in is dropped."""
    store = InMemoryFlowStore(max_pending=3, clock=_clock)
    for number in range(5):
        await store.save(_pending(f"s{number}", NOW + 600))
    assert len(store) == 3
    assert await store.take("s0") is None
    assert await store.take("s4") is not None


async def test_store_purges_expired_entries() -> None:
    """Saving purges entries that have expired."""
    clock = FakeClock()
    store = InMemoryFlowStore(clock=clock.time)
    await store.save(_pending("old", NOW + 10))
    clock.advance(11)
    await store.save(_pending("new", NOW + 600))
    assert len(store) == 1
    assert "1 pending" in repr(store)


def test_store_bound_must_be_positive() -> None:
    """max_pending below one is a ValueError."""
    with pytest.raises(ValueError, match="max_pending"):
        InMemoryFlowStore(max_pending=0)


# --- token endpoint helpers ------------------------------------------------------------


async def test_refresh_keeps_token_when_not_rotated(provider: FakeProvider) -> None:
    """A refresh response without a refresh token keeps the old one; a rotated one replaces it."""
    provider.token.respond(200, json={"access_token": "a2"})
    tokens = await refresh_tokens(
        f"{ISSUER}/token", "rt-old", client_id=CLIENT_ID, auth_method="none"
    )
    assert tokens.refresh_token == "rt-old"
    form = _form(provider.token.calls.last.request)
    assert form == {
        "grant_type": "refresh_token",
        "refresh_token": "rt-old",
        "client_id": CLIENT_ID,
    }
    provider.token.respond(200, json={"access_token": "a3", "refresh_token": "rt-new"})
    tokens = await refresh_tokens(
        f"{ISSUER}/token", "rt-old", client_id=CLIENT_ID, client_secret=SECRET, scopes=("openid",)
    )
    assert tokens.refresh_token == "rt-new"


async def test_refresh_with_revoked_token(provider: FakeProvider) -> None:
    """A revoked refresh token is an InvalidGrantError (re-login needed)."""
    provider.token.respond(400, json={"error": "invalid_grant"})
    with pytest.raises(InvalidGrantError):
        await refresh_tokens(f"{ISSUER}/token", "rt", client_id=CLIENT_ID, auth_method="none")


async def test_revoke_token(mock: respx.MockRouter) -> None:
    """Revocation posts the token and hint with client authentication; errors are OAuthErrors."""
    route = mock.post(f"{ISSUER}/revoke").respond(200)
    await revoke_token(
        f"{ISSUER}/revoke",
        "rt",
        client_id=CLIENT_ID,
        client_secret=SECRET,
        token_type_hint="refresh_token",
    )
    assert _form(route.calls.last.request) == {"token": "rt", "token_type_hint": "refresh_token"}
    assert route.calls.last.request.headers["authorization"].startswith("Basic ")
    route.respond(400, json={"error": "unsupported_token_type"})
    with pytest.raises(OAuthError) as info:
        await revoke_token(f"{ISSUER}/revoke", "rt", client_id=CLIENT_ID, auth_method="none")
    assert info.value.error == "unsupported_token_type"


async def test_introspect_token(mock: respx.MockRouter) -> None:
    """Introspection returns a typed result; a body without boolean active is an OAuthError."""
    route = mock.post(f"{ISSUER}/introspect").respond(
        200, json={"active": True, "scope": "a b", "client_id": "c", "exp": 5, "sub": "u"}
    )
    result = await introspect_token(
        f"{ISSUER}/introspect", "at", client_id=CLIENT_ID, client_secret=SECRET
    )
    assert (result.active, result.scope, result.client_id, result.expires_at, result.subject) == (
        True,
        ("a", "b"),
        "c",
        5.0,
        "u",
    )
    route.respond(200, json={"active": "yes"})
    with pytest.raises(OAuthError, match="active"):
        await introspect_token(
            f"{ISSUER}/introspect", "at", client_id=CLIENT_ID, client_secret=SECRET
        )
    route.respond(200, content=b"<html>")
    with pytest.raises(OAuthError, match="JSON"):
        await introspect_token(
            f"{ISSUER}/introspect", "at", client_id=CLIENT_ID, client_secret=SECRET
        )
    route.respond(401, json={"error": "invalid_client"})
    with pytest.raises(InvalidClientError):
        await introspect_token(
            f"{ISSUER}/introspect", "at", client_id=CLIENT_ID, client_secret=SECRET
        )
