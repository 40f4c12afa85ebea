"""Tests for intelliauth_ext._sign_in: password sign-in, the MFA branch, and what repr hides.

The sign-ins run against the sandbox served on loopback (the pytest plugin's
``intelliauth_sandbox`` and ``intelliauth_client``), whose TOTP codes the test can read.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from intelliauth_client.models.sign_in_authenticated import SignInAuthenticated
from intelliauth_client.models.started_mfa_challenge import StartedMfaChallenge
from intelliauth_client.models.user import User
from intelliauth_ext import (
    AuthenticationError,
    BadRequestError,
    IntelliAuth,
    MfaChallenge,
    SignedIn,
    StaticToken,
)
from intelliauth_ext.testing import TEST_USER_EMAIL, TEST_USER_PASSWORD, Sandbox

from .doubles import USER

pytestmark = pytest.mark.anyio

PASSWORD = "long enough pw"  # the password of the users the tests add to the sandbox
ACCESS = "at_ACCESS_value"
REFRESH = "rt_REFRESH_value"
ID_TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c3JfMDEifQ.SIGNATURE_value"


def authenticated(**tokens: Any) -> SignInAuthenticated:
    """A generated ``authenticated`` sign-in result with ``tokens`` changed."""
    token_body = {
        "access_token": ACCESS,
        "token_type": "Bearer",
        "expires_in": 900,
        "refresh_token": REFRESH,
        "id_token": ID_TOKEN,
        "scope": "openid email",
        **tokens,
    }
    body = {"status": "authenticated", "user": USER, "session_id": "ses_1", "tokens": token_body}
    return SignInAuthenticated.from_dict(body)


async def mfa_sign_in(client: IntelliAuth, email: str) -> MfaChallenge:
    """Sign ``email`` in with PASSWORD and return the MFA challenge it must answer."""
    challenge = await client.auth.sign_in_with_password(email, PASSWORD)
    assert isinstance(challenge, MfaChallenge)
    return challenge


# -- SignedIn ---------------------------------------------------------------------------


def test_signed_in_from_model_converts_the_generated_result() -> None:
    """from_model keeps the user and session and turns the token response into a TokenSet."""
    before = time.time()
    signed_in = SignedIn.from_model(authenticated())
    assert signed_in.user == User.from_dict(USER)
    assert signed_in.session_id == "ses_1"
    tokens = signed_in.tokens
    assert (tokens.access_token, tokens.refresh_token, tokens.id_token) == (
        ACCESS,
        REFRESH,
        ID_TOKEN,
    )
    assert (tokens.token_type, set(tokens.scope)) == ("Bearer", {"openid", "email"})
    assert tokens.expires_at is not None
    assert before + 900 <= tokens.expires_at <= time.time() + 900


def test_signed_in_without_optional_tokens() -> None:
    """A result without refresh token, ID token or scope gives None and no scopes."""
    body = authenticated().to_dict()
    body["tokens"] = {"access_token": ACCESS, "token_type": "Bearer", "expires_in": 60}
    tokens = SignedIn.from_model(SignInAuthenticated.from_dict(body)).tokens
    assert (tokens.refresh_token, tokens.id_token, tokens.scope) == (None, None, ())


def test_signed_in_repr_hides_every_token() -> None:
    """repr() and str() of a SignedIn show none of its three tokens."""
    signed_in = SignedIn.from_model(authenticated())
    for text in (repr(signed_in), str(signed_in)):
        for secret in (ACCESS, REFRESH, ID_TOKEN):
            assert secret not in text
    assert "ses_1" in repr(signed_in)


# -- password sign-in -------------------------------------------------------------------


async def test_a_user_without_a_factor_is_signed_in_at_once(
    intelliauth_client: IntelliAuth,
) -> None:
    """No active factor: SignedIn with the user, a session and the default scopes' tokens."""
    result = await intelliauth_client.auth.sign_in_with_password(
        TEST_USER_EMAIL, TEST_USER_PASSWORD
    )
    assert isinstance(result, SignedIn)
    assert result.user.email == TEST_USER_EMAIL
    assert result.session_id
    assert "openid" in result.tokens.scope
    assert result.tokens.refresh_token  # the default scopes include offline_access


async def test_the_scope_asked_for_is_sent(intelliauth_client: IntelliAuth) -> None:
    """scope= is passed to the server: the tokens carry those scopes only."""
    result = await intelliauth_client.auth.sign_in_with_password(
        TEST_USER_EMAIL, TEST_USER_PASSWORD, scope="openid email"
    )
    assert isinstance(result, SignedIn)
    assert set(result.tokens.scope) == {"openid", "email"}
    assert result.tokens.refresh_token is None  # no offline_access asked for


async def test_the_client_id_is_the_clients_unless_given(intelliauth_sandbox: Sandbox) -> None:
    """A client built without client_id needs client_id= per call; with it, sign-in works."""
    async with IntelliAuth(intelliauth_sandbox.url, auth=StaticToken("unused")) as client:
        with pytest.raises(ValueError, match="client_id"):
            await client.auth.sign_in_with_password(TEST_USER_EMAIL, TEST_USER_PASSWORD)
        result = await client.auth.sign_in_with_password(
            TEST_USER_EMAIL, TEST_USER_PASSWORD, client_id=intelliauth_sandbox.client_id
        )
    assert isinstance(result, SignedIn)


async def test_a_wrong_password_is_invalid_credentials(intelliauth_client: IntelliAuth) -> None:
    """A wrong password raises AuthenticationError with the contract's code, not the password."""
    with pytest.raises(AuthenticationError) as info:
        await intelliauth_client.auth.sign_in_with_password(TEST_USER_EMAIL, "not the password")
    assert info.value.code == "invalid_credentials"
    assert "not the password" not in f"{info.value} {info.value!r}"


# -- the MFA branch ---------------------------------------------------------------------


async def test_one_factor_is_used_without_being_named(
    intelliauth_sandbox: Sandbox, intelliauth_client: IntelliAuth
) -> None:
    """With one factor, start() and verify() need no factor: the flow id and factor are kept."""
    user = intelliauth_sandbox.add_user("one@example.com", password=PASSWORD, totp=True)
    challenge = await mfa_sign_in(intelliauth_client, "one@example.com")
    (factor,) = challenge.factors
    assert factor.type_ == "totp"
    started = await challenge.start()
    assert isinstance(started, StartedMfaChallenge)
    assert (started.mfa_flow_id, started.factor_id) == (challenge.mfa_flow_id, factor.id)
    assert started.factor_type == "totp"
    signed_in = await challenge.verify(intelliauth_sandbox.totp_code(user["id"]))
    assert isinstance(signed_in, SignedIn)
    assert signed_in.user.id == user["id"]


async def test_verify_without_start_uses_the_only_factor(
    intelliauth_sandbox: Sandbox, intelliauth_client: IntelliAuth
) -> None:
    """A TOTP code can be verified at once: start() is optional when nothing is to be sent."""
    user = intelliauth_sandbox.add_user("direct@example.com", password=PASSWORD, totp=True)
    challenge = await mfa_sign_in(intelliauth_client, "direct@example.com")
    signed_in = await challenge.verify(intelliauth_sandbox.totp_code(user["id"]))
    assert signed_in.user.email == "direct@example.com"


async def test_several_factors_must_be_chosen_and_the_choice_is_kept(
    intelliauth_sandbox: Sandbox, intelliauth_client: IntelliAuth
) -> None:
    """Two factors: start()/verify() without one raise; start(id) is remembered by verify()."""
    user = intelliauth_sandbox.add_user("two@example.com", password=PASSWORD, totp=True)
    intelliauth_sandbox.enroll_totp(user["id"])
    challenge = await mfa_sign_in(intelliauth_client, "two@example.com")
    assert len(challenge.factors) == 2
    with pytest.raises(ValueError, match="2 factors"):
        await challenge.start()
    with pytest.raises(ValueError, match="2 factors"):
        await challenge.verify("000000")
    # totp_code reads the user's first TOTP factor: choose that one, by its id.
    first_id = next(
        factor["id"]
        for factor in intelliauth_sandbox.tenant.factors.values()
        if factor["user_id"] == user["id"]
    )
    started = await challenge.start(first_id)
    assert started.factor_id == first_id
    signed_in = await challenge.verify(intelliauth_sandbox.totp_code(user["id"]))
    assert signed_in.user.id == user["id"]


async def test_verify_takes_the_factor_model(
    intelliauth_sandbox: Sandbox, intelliauth_client: IntelliAuth
) -> None:
    """verify(code, factor=<MfaFactor>) chooses the factor without a start()."""
    user = intelliauth_sandbox.add_user("model@example.com", password=PASSWORD, totp=True)
    intelliauth_sandbox.enroll_totp(user["id"])
    challenge = await mfa_sign_in(intelliauth_client, "model@example.com")
    first_id = next(
        factor["id"]
        for factor in intelliauth_sandbox.tenant.factors.values()
        if factor["user_id"] == user["id"]
    )
    (first,) = [factor for factor in challenge.factors if factor.id == first_id]
    code = intelliauth_sandbox.totp_code(user["id"])
    signed_in = await challenge.verify(code, factor=first)
    assert signed_in.user.id == user["id"]


async def test_a_factor_not_of_this_sign_in_is_refused_before_sending(
    intelliauth_sandbox: Sandbox, intelliauth_client: IntelliAuth
) -> None:
    """An unknown factor id raises ValueError; the flow is untouched and still completes."""
    user = intelliauth_sandbox.add_user("other@example.com", password=PASSWORD, totp=True)
    challenge = await mfa_sign_in(intelliauth_client, "other@example.com")
    with pytest.raises(ValueError, match="'mfa_unknown' is not one of this sign-in's factors"):
        await challenge.start("mfa_unknown")
    with pytest.raises(ValueError, match="not one of this sign-in's factors"):
        await challenge.verify("000000", factor="mfa_unknown")
    signed_in = await challenge.verify(intelliauth_sandbox.totp_code(user["id"]))
    assert signed_in.user.id == user["id"]


async def test_a_wrong_code_is_refused_and_the_flow_survives(
    intelliauth_sandbox: Sandbox, intelliauth_client: IntelliAuth
) -> None:
    """A wrong code raises AuthenticationError invalid_mfa_code; the right one still works."""
    user = intelliauth_sandbox.add_user("wrong@example.com", password=PASSWORD, totp=True)
    challenge = await mfa_sign_in(intelliauth_client, "wrong@example.com")
    code = intelliauth_sandbox.totp_code(user["id"])
    with pytest.raises(AuthenticationError) as info:
        await challenge.verify(f"{(int(code) + 1) % 1_000_000:06d}")
    assert info.value.code == "invalid_mfa_code"
    assert isinstance(await challenge.verify(code), SignedIn)


async def test_an_expired_flow_is_a_bad_request(
    intelliauth_sandbox: Sandbox, intelliauth_client: IntelliAuth
) -> None:
    """After the flow's five minutes, start() and verify() raise BadRequestError flow_expired."""
    user = intelliauth_sandbox.add_user("late@example.com", password=PASSWORD, totp=True)
    challenge = await mfa_sign_in(intelliauth_client, "late@example.com")
    intelliauth_sandbox.clock.advance(301)
    with pytest.raises(BadRequestError) as info:
        await challenge.verify(intelliauth_sandbox.totp_code(user["id"]))
    assert info.value.code == "flow_expired"


async def test_repr_hides_the_flow_id_and_the_tokens(
    intelliauth_sandbox: Sandbox, intelliauth_client: IntelliAuth
) -> None:
    """The challenge's repr shows factor types and expiry, not the flow id (a credential)."""
    user = intelliauth_sandbox.add_user("repr@example.com", password=PASSWORD, totp=True)
    challenge = await mfa_sign_in(intelliauth_client, "repr@example.com")
    text = repr(challenge)
    assert challenge.mfa_flow_id not in text
    assert text == (
        f"MfaChallenge(factors=[totp], expires_at={challenge.expires_at.isoformat()!r})"
    )
    signed_in = await challenge.verify(intelliauth_sandbox.totp_code(user["id"]))
    tokens = signed_in.tokens
    for secret in (tokens.access_token, tokens.refresh_token, tokens.id_token):
        assert secret
        assert secret not in repr(signed_in)
