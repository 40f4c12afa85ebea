"""The SDK against the sandbox over a real loopback socket, through the pytest plugin."""

from __future__ import annotations

import pytest

from intelliauth_client.models.user_create import UserCreate
from intelliauth_ext import (
    AuthenticationError,
    IntelliAuth,
    MfaChallenge,
    NotFoundError,
    SignedIn,
    StaticToken,
)
from intelliauth_ext.testing import TEST_USER_EMAIL, TEST_USER_PASSWORD, Sandbox

pytestmark = pytest.mark.anyio


async def test_the_issue_usage_over_real_sockets(intelliauth_client: IntelliAuth) -> None:
    """get unwraps the envelope, list pages with async for and await, 404 carries the id."""
    created = [
        await intelliauth_client.users.create(UserCreate(email=f"user{n}@example.com"))
        for n in range(5)
    ]
    fetched = await intelliauth_client.users.get(created[0].id)
    assert fetched.email == "user0@example.com"
    every = [user.id async for user in intelliauth_client.users.list(limit=2)]
    assert {user.id for user in created} <= set(every)
    assert len(every) == len(set(every))
    page = await intelliauth_client.users.list(limit=2)
    assert (len(page.items), page.has_next_page()) == (2, True)
    second = await page.next_page()
    assert {user.id for user in second.items}.isdisjoint(user.id for user in page.items)
    with pytest.raises(NotFoundError) as info:
        await intelliauth_client.users.get("usr_missing")
    assert info.value.code == "not_found"
    assert info.value.request_id is not None
    assert info.value.request_id.startswith("req_")


async def test_create_retried_with_one_key_creates_one_user(
    intelliauth_client: IntelliAuth,
) -> None:
    """Two creates sharing an Idempotency-Key return the first result, not a second user."""
    body = UserCreate(email="once@example.com")
    first = await intelliauth_client.users.create(body, idempotency_key="idem-e2e-1")
    again = await intelliauth_client.users.create(body, idempotency_key="idem-e2e-1")
    assert again.id == first.id
    matches = [user.id async for user in intelliauth_client.users.list(email="once@example.com")]
    assert matches == [first.id]


async def test_sign_in_without_mfa(intelliauth_client: IntelliAuth) -> None:
    """A user without a factor is signed in at once, with tokens that work on /me."""
    result = await intelliauth_client.auth.sign_in_with_password(
        TEST_USER_EMAIL, TEST_USER_PASSWORD
    )
    assert isinstance(result, SignedIn)
    assert result.user.email == TEST_USER_EMAIL
    assert result.tokens.access_token not in repr(result)
    async with IntelliAuth(
        str(intelliauth_client.tenant_url), auth=StaticToken(result.tokens.access_token)
    ) as user_client:
        profile = await user_client.me.get_profile()
    assert profile.email == TEST_USER_EMAIL


async def test_sign_in_with_the_mfa_branch(
    intelliauth_sandbox: Sandbox, intelliauth_client: IntelliAuth
) -> None:
    """A TOTP user gets an MfaChallenge that keeps the flow id; start then verify signs in."""
    user = intelliauth_sandbox.add_user("mfa@example.com", password="long enough pw", totp=True)
    challenge = await intelliauth_client.auth.sign_in_with_password(
        "mfa@example.com", "long enough pw"
    )
    assert isinstance(challenge, MfaChallenge)
    assert [factor.type_ for factor in challenge.factors] == ["totp"]
    assert challenge.mfa_flow_id not in repr(challenge)
    started = await challenge.start()
    assert started.mfa_flow_id == challenge.mfa_flow_id
    signed_in = await challenge.verify(intelliauth_sandbox.totp_code(user["id"]))
    assert signed_in.user.id == user["id"]
    assert signed_in.tokens.refresh_token


async def test_a_wrong_mfa_code_is_refused_and_the_flow_survives(
    intelliauth_sandbox: Sandbox, intelliauth_client: IntelliAuth
) -> None:
    """A wrong code raises the contract's error; the right code still finishes the flow."""
    user = intelliauth_sandbox.add_user("mfa2@example.com", password="long enough pw", totp=True)
    challenge = await intelliauth_client.auth.sign_in_with_password(
        "mfa2@example.com", "long enough pw"
    )
    assert isinstance(challenge, MfaChallenge)
    code = intelliauth_sandbox.totp_code(user["id"])
    with pytest.raises(AuthenticationError) as info:
        await challenge.verify(f"{(int(code) + 1) % 1_000_000:06d}")
    assert info.value.code == "invalid_mfa_code"
    assert isinstance(await challenge.verify(code), SignedIn)


async def test_wrong_password_is_invalid_credentials(intelliauth_client: IntelliAuth) -> None:
    """A wrong password raises AuthenticationError with the contract's code."""
    with pytest.raises(AuthenticationError) as info:
        await intelliauth_client.auth.sign_in_with_password(TEST_USER_EMAIL, "not the password")
    assert info.value.code == "invalid_credentials"


async def test_revoke_and_introspect_helpers(intelliauth_client: IntelliAuth) -> None:
    """client.introspect says active; after client.revoke the same token is inactive."""
    signed_in = await intelliauth_client.auth.sign_in_with_password(
        TEST_USER_EMAIL, TEST_USER_PASSWORD
    )
    assert isinstance(signed_in, SignedIn)
    token = signed_in.tokens.access_token
    before = await intelliauth_client.introspect(token)
    assert before.active
    assert before.subject == signed_in.user.id
    await intelliauth_client.revoke(token, token_type_hint="access_token")
    after = await intelliauth_client.introspect(token)
    assert not after.active
