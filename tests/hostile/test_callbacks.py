"""Family 8: sign-in callbacks that claim an error without a state this flow issued; hashes.

Anyone can send a victim's browser to the app's callback with ``error=access_denied`` and
an ``error_description`` of their choosing. ``AuthorizationCodeFlow.complete()`` checks
the state before it reads ``error``: without a state this flow issued (and, when the app
passes ``expected_state``, issued to this browser), the callback is an
``InvalidCallbackError`` (``check`` ``state`` or ``replay``) whose message repeats none of
the attacker's text, no request is made, and the real sign-in in progress is untouched. A
known state with ``error=`` is the provider's answer (``AccessDeniedError`` ...), its text
cut short. After the code exchange the ID token's ``at_hash`` and ``c_hash`` are checked
against the access token and the code. The provider is real, on loopback.
"""

from __future__ import annotations

import json
from typing import Any, Final
from urllib.parse import urlencode

import httpx
import pytest
from ext.auth_fakes import FakeClock
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intelliauth_ext import (
    AccessDeniedError,
    AuthorizationCodeFlow,
    AuthorizationRequest,
    InvalidCallbackError,
    OAuthError,
    TokenValidationError,
)

from .identity_provider import CLIENT_ID, TOKEN_PATH, LocalProvider, expected_hash

pytestmark = pytest.mark.anyio

REDIRECT_URI: Final = "http://127.0.0.1:8000/callback"
ATTACKER_TEXT: Final = "Your account is locked. Call +1 555 0100 or visit evil.test/unlock now"
#: The longest message an exception of these tests may have.
MESSAGE_BOUND: Final = 600


@pytest.fixture
def flow(
    provider: LocalProvider, clock: FakeClock, http: httpx.AsyncClient
) -> AuthorizationCodeFlow:
    """A public client's sign-in with the provider."""
    return AuthorizationCodeFlow(
        provider.issuer, CLIENT_ID, REDIRECT_URI, ["openid"], clock=clock, http_client=http
    )


def callback(**params: str) -> str:
    """The callback URL the browser arrives at, with ``params`` (of any length)."""
    return f"{REDIRECT_URI}?{urlencode(params)}"


def attacker_error(**params: str) -> str:
    """An error callback an attacker can send any browser to."""
    return callback(
        error="access_denied",
        error_description=ATTACKER_TEXT,
        error_uri="https://evil.test/unlock",
        **params,
    )


def issue_tokens(
    provider: LocalProvider, request: AuthorizationRequest, **id_token_claims: Any
) -> None:
    """The token endpoint answers with ``at-1`` and an ID token with the sign-in's nonce."""

    def answer(form: dict[str, str]) -> dict[str, Any]:
        claims = provider.claims(aud=CLIENT_ID, nonce=request.nonce, **id_token_claims)
        return {
            "access_token": "at-1",
            "token_type": "Bearer",
            "expires_in": 300,
            "id_token": provider.sign(claims, typ="JWT"),
        }

    provider.token_endpoint(answer)


def assert_not_the_attackers(error: BaseException) -> None:
    """Nothing of the attacker's text in the error, and a short message."""
    for shown in (str(error), repr(error), json.dumps(vars(error), default=str)):
        assert "locked" not in shown
        assert "evil.test" not in shown
    assert len(str(error)) <= MESSAGE_BOUND


async def test_an_error_callback_without_state_is_an_invalid_callback(
    flow: AuthorizationCodeFlow, provider: LocalProvider
) -> None:
    """error=access_denied without state: InvalidCallbackError "state", not AccessDeniedError."""
    with pytest.raises(InvalidCallbackError) as caught:
        await flow.complete(attacker_error())
    assert caught.value.check == "state"
    assert not isinstance(caught.value, AccessDeniedError)
    assert_not_the_attackers(caught.value)
    assert provider.server.requests == []  # refused before discovery: nothing was fetched


@pytest.mark.parametrize("bind_to_session", [False, True])
async def test_an_error_callback_with_a_forged_state_is_refused(
    flow: AuthorizationCodeFlow, provider: LocalProvider, bind_to_session: bool
) -> None:
    """A state this flow never issued: "replay" (or "state" against the session's own)."""
    request = await flow.start()
    options = {"expected_state": request.state} if bind_to_session else {}
    for forged in ("forged", "", request.state + "x", "x" * 10_000):
        with pytest.raises(InvalidCallbackError) as caught:
            await flow.complete(attacker_error(state=forged), **options)
        expected = "state" if bind_to_session or not forged else "replay"
        assert caught.value.check == expected
        assert_not_the_attackers(caught.value)
    # The sign-in the browser really started is untouched and completes.
    issue_tokens(provider, request)
    tokens = await flow.complete(callback(code="code-1", state=request.state), **options)
    assert tokens.access_token == "at-1"


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    error=st.sampled_from(["access_denied", "invalid_scope", "server_error", "x"]) | st.text(),
    description=st.text() | st.just(ATTACKER_TEXT) | st.just(ATTACKER_TEXT * 10_000),
    state=st.none() | st.text(max_size=80),
    bind_to_session=st.booleans(),
)
async def test_generated_error_callbacks_without_a_known_state_are_refused(
    flow: AuthorizationCodeFlow,
    error: str,
    description: str,
    state: str | None,
    bind_to_session: bool,
) -> None:
    """Any error callback without an issued state: InvalidCallbackError, none of its text."""
    params = {"error": error, "error_description": description}
    if state is not None:
        params["state"] = state
    options = {"expected_state": "the-session-state"} if bind_to_session else {}
    with pytest.raises(InvalidCallbackError) as caught:
        await flow.complete(params, **options)
    assert caught.value.check in ("state", "replay")
    if len(description) > 3:
        assert description not in str(caught.value)
    assert len(str(caught.value)) <= MESSAGE_BOUND


async def test_a_known_state_with_access_denied_is_access_denied(
    flow: AuthorizationCodeFlow,
) -> None:
    """The provider's own error= for this sign-in: AccessDeniedError, its text cut short."""
    request = await flow.start()
    description = "The user declined. " * 50_000  # ~1 MB: the app passes the parsed query
    with pytest.raises(AccessDeniedError) as caught:
        await flow.complete(
            {"error": "access_denied", "error_description": description, "state": request.state},
            expected_state=request.state,
        )
    assert caught.value.error == "access_denied"
    assert (caught.value.error_description or "").startswith("The user declined.")
    assert len(str(caught.value)) <= MESSAGE_BOUND
    with pytest.raises(InvalidCallbackError) as replayed:  # the error consumed the sign-in
        await flow.complete(callback(code="c", state=request.state))
    assert replayed.value.check == "replay"


async def test_a_callback_url_too_long_to_parse_is_a_format_error(
    flow: AuthorizationCodeFlow,
) -> None:
    """A callback URL over httpx's 64 KiB limit: InvalidCallbackError "format", no InvalidURL."""
    request = await flow.start()
    for url in (
        attacker_error(state=request.state, padding="x" * 70_000),
        f"{REDIRECT_URI}?state={request.state}&code=a\x00b",
        "http://[::1/callback?error=access_denied",
    ):
        with pytest.raises(InvalidCallbackError) as caught:
            await flow.complete(url)
        assert caught.value.check == "format"
        assert_not_the_attackers(caught.value)


async def test_an_expired_state_with_an_error_is_expired(
    flow: AuthorizationCodeFlow, clock: FakeClock
) -> None:
    """A state past its lifetime is refused as expired, whatever error it carries."""
    request = await flow.start()
    clock.advance(601)
    with pytest.raises(InvalidCallbackError) as caught:
        await flow.complete(attacker_error(state=request.state))
    assert caught.value.check == "expiry"
    assert_not_the_attackers(caught.value)


# -- at_hash and c_hash after the code exchange ---------------------------------------------


@pytest.mark.parametrize(
    ("claims", "check"),
    [
        pytest.param({"at_hash": "good", "c_hash": "good"}, None, id="both-right"),
        pytest.param({}, None, id="neither"),
        pytest.param({"at_hash": expected_hash("at-2", "sha256")}, "at_hash", id="at_hash-other"),
        pytest.param({"c_hash": expected_hash("code-2", "sha256")}, "c_hash", id="c_hash-other"),
        pytest.param({"at_hash": expected_hash("at-1", "sha512")}, "at_hash", id="at_hash-sha512"),
        pytest.param({"c_hash": 42}, "c_hash", id="c_hash-number"),
    ],
)
async def test_the_flow_checks_at_hash_and_c_hash(
    flow: AuthorizationCodeFlow,
    provider: LocalProvider,
    claims: dict[str, Any],
    check: str | None,
) -> None:
    """complete() checks the ID token's hashes against the access token and the code."""
    request = await flow.start()
    if claims.get("at_hash") == "good":
        claims = {
            "at_hash": expected_hash("at-1", "sha256"),
            "c_hash": expected_hash("code-1", "sha256"),
        }
    issue_tokens(provider, request, **claims)
    completing = flow.complete(
        callback(code="code-1", state=request.state), expected_state=request.state
    )
    if check is None:
        assert (await completing).access_token == "at-1"
    else:
        with pytest.raises(TokenValidationError) as caught:
            await completing
        assert caught.value.check == check
    assert provider.requests_to(TOKEN_PATH) == 1


async def test_an_oauth_error_is_still_an_oauth_error(flow: AuthorizationCodeFlow) -> None:
    """The refusals are OAuthErrors, so an app catching OAuthError catches them all."""
    with pytest.raises(OAuthError):
        await flow.complete(attacker_error(state="forged"))
