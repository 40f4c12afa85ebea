"""SMS and email factors: their codes go to the sandbox's outbox, where tests read them."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from intelliauth_ext import AuthenticationError, IntelliAuth, MfaChallenge, SignedIn
from intelliauth_ext.testing import Outbox, Sandbox
from intelliauth_ext.testing._one_time_codes import RESEND_SECONDS

from .helpers import bearer

pytestmark = pytest.mark.anyio

PASSWORD = "a long passphrase"  # a test user's password


async def _user_token(sandbox: Sandbox, http: httpx.AsyncClient, email: str) -> str:
    """Sign ``email`` in (no factor yet) and return the access token."""
    response = await http.post(
        "/api/v1/auth/sign-in",
        json={"client_id": sandbox.client_id, "email": email, "password": PASSWORD},
    )
    assert response.json()["data"]["status"] == "authenticated", response.text
    return str(response.json()["data"]["tokens"]["access_token"])


async def _mfa_flow(sandbox: Sandbox, http: httpx.AsyncClient, email: str) -> dict[str, Any]:
    """Sign in with the password; return the mfa_required result."""
    response = await http.post(
        "/api/v1/auth/sign-in",
        json={"client_id": sandbox.client_id, "email": email, "password": PASSWORD},
    )
    result: dict[str, Any] = response.json()["data"]
    assert result["status"] == "mfa_required", response.text
    return result


async def test_enrolling_an_email_factor_sends_its_first_code(
    sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    """enrollMfaFactor(email) mails a code; the code from the outbox activates the factor."""
    sandbox.add_user("lin@example.com", password=PASSWORD)
    headers = bearer(await _user_token(sandbox, http, "lin@example.com"))
    enrolled = await http.post(
        "/api/v1/me/mfa-factors",
        json={"type": "email", "email": "lin.backup@example.com", "name": "Backup mail"},
        headers=headers,
    )
    assert enrolled.status_code == 201, enrolled.text
    enrollment = enrolled.json()["data"]
    assert (enrollment["secret"], enrollment["otpauth_uri"]) == (None, None)
    factor = enrollment["factor"]
    assert (factor["type"], factor["status"]) == ("email", "pending_verification")
    assert factor["hint"] == "l***@example.com"

    message = sandbox.outbox.latest(to="lin.backup@example.com")
    assert (message.channel, message.purpose, message.factor_id) == (
        "email",
        "mfa_enrollment",
        factor["id"],
    )
    assert message.code in message.text
    verify_url = f"/api/v1/me/mfa-factors/{factor['id']}/verify"
    wrong = f"{(int(message.code) + 1) % 1_000_000:06d}"
    refused = await http.post(verify_url, json={"code": wrong}, headers=headers)
    assert refused.json()["error"] == "invalid_mfa_code"
    verified = await http.post(verify_url, json={"code": message.code}, headers=headers)
    assert verified.json()["data"]["status"] == "active"
    again = await http.post(
        "/api/v1/me/mfa-factors",
        json={"type": "email", "email": "LIN.backup@example.com"},
        headers=headers,
    )
    assert (again.status_code, again.json()["error"]) == (409, "already_exists")


async def test_an_sms_factor_is_masked_and_its_code_sent(
    sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    """enrollMfaFactor(sms) shows a masked hint; the SMS is in the outbox for the number."""
    sandbox.add_user("raj@example.com", password=PASSWORD)
    headers = bearer(await _user_token(sandbox, http, "raj@example.com"))
    enrolled = await http.post(
        "/api/v1/me/mfa-factors",
        json={"type": "sms", "phone_number": "+919812345678"},
        headers=headers,
    )
    assert enrolled.json()["data"]["factor"]["hint"] == "+91******5678"
    message = sandbox.outbox.latest()
    assert (message.channel, message.to) == ("sms", "+919812345678")


async def test_a_challenge_sends_a_code_once_per_30_seconds(
    sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    """startMfaChallenge mails a code; again within 30 s sends nothing; after, a new code."""
    user = sandbox.add_user("kim@example.com", password=PASSWORD, email_factor=True)
    result = await _mfa_flow(sandbox, http, "kim@example.com")
    [factor] = result["factors"]
    assert (factor["type"], factor["hint"]) == ("email", "k***@example.com")
    flow = {"mfa_flow_id": result["mfa_flow_id"], "factor_id": factor["id"]}

    challenge = (await http.post("/api/v1/auth/mfa/challenge", json=flow)).json()["data"]
    assert (challenge["factor_type"], challenge["hint"]) == ("email", "k***@example.com")
    first = sandbox.outbox.latest(to="kim@example.com")
    assert (first.purpose, first.user_id) == ("mfa_challenge", user["id"])
    await http.post("/api/v1/auth/mfa/challenge", json=flow)
    assert len(sandbox.outbox.messages(to="kim@example.com")) == 1
    sandbox.clock.advance(RESEND_SECONDS)
    await http.post("/api/v1/auth/mfa/challenge", json=flow)
    second = sandbox.outbox.latest(to="kim@example.com")
    assert len(sandbox.outbox.messages(to="kim@example.com")) == 2

    if second.code != first.code:  # the first code was replaced by the second
        stale = await http.post("/api/v1/auth/mfa/verify", json={**flow, "code": first.code})
        assert stale.json()["error"] == "invalid_mfa_code"
    verified = await http.post("/api/v1/auth/mfa/verify", json={**flow, "code": second.code})
    assert verified.json()["data"]["status"] == "authenticated", verified.text


async def test_a_code_works_once_and_expires_with_the_flow(
    sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    """A used code signs in once; a code past the flow's expiry is refused."""
    sandbox.add_user("eve@example.com", password=PASSWORD, sms_factor="+15551234567")
    result = await _mfa_flow(sandbox, http, "eve@example.com")
    flow = {"mfa_flow_id": result["mfa_flow_id"], "factor_id": result["factors"][0]["id"]}
    await http.post("/api/v1/auth/mfa/challenge", json=flow)
    code = sandbox.outbox.latest_code(to="+15551234567")
    sandbox.clock.advance(301)
    expired = await http.post("/api/v1/auth/mfa/verify", json={**flow, "code": code})
    assert expired.json()["error"] == "flow_expired"

    result = await _mfa_flow(sandbox, http, "eve@example.com")
    flow = {"mfa_flow_id": result["mfa_flow_id"], "factor_id": result["factors"][0]["id"]}
    await http.post("/api/v1/auth/mfa/challenge", json=flow)
    code = sandbox.outbox.latest_code(to="+15551234567")
    signed_in = await http.post("/api/v1/auth/mfa/verify", json={**flow, "code": code})
    assert signed_in.json()["data"]["status"] == "authenticated"


async def test_the_outbox_has_an_http_view(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    """GET /_sandbox/outbox lists the messages as JSON; ?to= keeps one recipient's."""
    assert (await http.get("/_sandbox/outbox")).json() == {"messages": []}
    sandbox.add_user("a1@example.com", password=PASSWORD, email_factor=True)
    sandbox.add_user("a2@example.com", password=PASSWORD, email_factor=True)
    for email in ("a1@example.com", "a2@example.com"):
        result = await _mfa_flow(sandbox, http, email)
        flow = {"mfa_flow_id": result["mfa_flow_id"], "factor_id": result["factors"][0]["id"]}
        await http.post("/api/v1/auth/mfa/challenge", json=flow)
    listed = (await http.get("/_sandbox/outbox")).json()["messages"]
    assert [m["to"] for m in listed] == ["a1@example.com", "a2@example.com"]
    only = (await http.get("/_sandbox/outbox", params={"to": "A2@example.com"})).json()
    [message] = only["messages"]
    assert message["code"] == sandbox.outbox.latest_code(to="a2@example.com")
    assert message["code"] in message["text"]
    assert message["channel"] == "email"


def test_an_empty_outbox_says_so() -> None:
    """latest() on an empty outbox (or for a recipient with nothing) is a LookupError."""
    sandbox = Sandbox()
    with pytest.raises(LookupError, match="empty"):
        sandbox.outbox.latest_code()
    with pytest.raises(LookupError, match=r"nobody@example\.com"):
        sandbox.outbox.latest(to="nobody@example.com")
    with pytest.raises(LookupError, match="no user"):
        sandbox.enroll_email("usr_missing")


async def test_an_mfa_sign_in_by_emailed_code_runs_end_to_end() -> None:
    """The SDK signs in by password, starts the email challenge, and verifies the mailed code."""
    async with Sandbox.serve() as sandbox:
        sandbox.add_user("grace@example.com", password=PASSWORD, email_factor=True)
        async with IntelliAuth(
            sandbox.url, client_id=sandbox.client_id, client_secret=sandbox.client_secret
        ) as client:
            result = await client.auth.sign_in_with_password("grace@example.com", PASSWORD)
            assert isinstance(result, MfaChallenge)
            assert [factor.type_.value for factor in result.factors] == ["email"]
            started = await result.start()
            assert started.hint == "g***@example.com"
            code = sandbox.outbox.latest_code(to="grace@example.com")
            with pytest.raises(AuthenticationError) as wrong:
                await result.verify(f"{(int(code) + 1) % 1_000_000:06d}")
            assert wrong.value.code == "invalid_mfa_code"
            signed_in = await result.verify(code)
            assert isinstance(signed_in, SignedIn)
            assert signed_in.user.email == "grace@example.com"
            assert (await client.introspect(signed_in.tokens.access_token)).active


async def test_the_plugin_fixtures_read_the_outbox(
    intelliauth_sandbox: Sandbox, intelliauth_client: IntelliAuth, intelliauth_outbox: Outbox
) -> None:
    """With the pytest plugin's fixtures: an SMS code from ``intelliauth_outbox`` signs in."""
    intelliauth_sandbox.add_user("sms@example.com", password=PASSWORD, sms_factor="+447700900123")
    result = await intelliauth_client.auth.sign_in_with_password("sms@example.com", PASSWORD)
    assert isinstance(result, MfaChallenge)
    await result.start()
    message = intelliauth_outbox.latest(to="+447700900123")
    assert message.channel == "sms"
    signed_in = await result.verify(message.code)
    assert signed_in.user.email == "sms@example.com"
