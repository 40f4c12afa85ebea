"""WebAuthn ceremonies: passkey registration, passwordless sign-in, the MFA step, refusals."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from intelliauth_ext.testing import Sandbox, SoftAuthenticator
from intelliauth_ext.testing._authenticator import b64url, b64url_decode

from .conftest import TokenFactory
from .helpers import bearer

pytestmark = pytest.mark.anyio

PASSWORD = "long enough password"
REGISTRATION_OPTIONS = "/api/v1/auth/webauthn/registration/options"
REGISTRATION_VERIFY = "/api/v1/auth/webauthn/registration/verify"
AUTHENTICATION_OPTIONS = "/api/v1/auth/webauthn/authentication/options"
AUTHENTICATION_VERIFY = "/api/v1/auth/webauthn/authentication/verify"


async def password_sign_in(sandbox: Sandbox, http: httpx.AsyncClient, email: str) -> Any:
    """The ``data`` of a password signIn."""
    response = await http.post(
        "/api/v1/auth/sign-in",
        json={"client_id": sandbox.client_id, "email": email, "password": PASSWORD},
    )
    assert response.status_code == 200, response.text
    return response.json()["data"]


async def signed_in_user(sandbox: Sandbox, http: httpx.AsyncClient, email: str) -> str:
    """Create a user without factors and return an access token of theirs."""
    sandbox.add_user(email, password=PASSWORD, name="Grace Hopper")
    result = await password_sign_in(sandbox, http, email)
    assert result["status"] == "authenticated"
    return str(result["tokens"]["access_token"])


async def registration_options(http: httpx.AsyncClient, access_token: str) -> Any:
    """The ``data`` of getWebAuthnRegistrationOptions."""
    response = await http.post(REGISTRATION_OPTIONS, json={}, headers=bearer(access_token))
    assert response.status_code == 200, response.text
    return response.json()["data"]


async def register(
    sandbox: Sandbox,
    http: httpx.AsyncClient,
    access_token: str,
    authenticator: SoftAuthenticator | None = None,
) -> tuple[SoftAuthenticator, Any]:
    """Register a passkey for the token's user; return the authenticator and the factor."""
    authenticator = authenticator or SoftAuthenticator.for_issuer(sandbox.url)
    options = await registration_options(http, access_token)
    response = await http.post(
        REGISTRATION_VERIFY,
        json={
            "ceremony_id": options["ceremony_id"],
            "name": "Soft key",
            "credential": authenticator.create(options["public_key"]),
        },
        headers=bearer(access_token),
    )
    assert response.status_code == 201, response.text
    return authenticator, response.json()["data"]


async def authentication_options(http: httpx.AsyncClient, body: dict[str, Any]) -> Any:
    """The ``data`` of getWebAuthnAuthenticationOptions."""
    response = await http.post(AUTHENTICATION_OPTIONS, json=body)
    assert response.status_code == 200, response.text
    return response.json()["data"]


async def passkey_options(sandbox: Sandbox, http: httpx.AsyncClient, **extra: str) -> Any:
    """Request options of a passwordless sign-in with the sandbox's client."""
    return await authentication_options(http, {"client_id": sandbox.client_id, **extra})


async def verify_assertion(
    http: httpx.AsyncClient, ceremony_id: str, assertion: dict[str, Any]
) -> httpx.Response:
    """POST verifyWebAuthnAuthentication."""
    return await http.post(
        AUTHENTICATION_VERIFY, json={"ceremony_id": ceremony_id, "credential": assertion}
    )


def tamper(
    assertion: dict[str, Any], field: str, change: Callable[[bytes], bytes]
) -> dict[str, Any]:
    """A copy of ``assertion`` whose ``response[field]`` bytes went through ``change``."""
    response = dict(assertion["response"])
    response[field] = b64url(change(b64url_decode(response[field])))
    return {**assertion, "response": response}


def flip_last_byte(data: bytes) -> bytes:
    """``data`` with its last bit flipped (still well-formed DER for a signature)."""
    return data[:-1] + bytes([data[-1] ^ 0x01])


def error_of(response: httpx.Response) -> tuple[int, str]:
    """(status, error code) of an error response."""
    return response.status_code, response.json()["error"]


async def test_register_a_passkey_then_sign_in_without_a_password(
    sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    """A registered passkey is an active webauthn factor and signs in with real tokens."""
    access = await signed_in_user(sandbox, http, "grace@example.com")
    options = await registration_options(http, access)
    public_key = options["public_key"]
    assert public_key["rp"]["id"] == "sandbox.intelliauth.local"
    assert public_key["attestation"] == "none"
    assert len(b64url_decode(public_key["challenge"])) == 32
    user = sandbox.tenant.user_by_email("grace@example.com")
    assert user is not None
    assert user["id"].encode() not in b64url_decode(public_key["user"]["id"])
    authenticator, factor = await register(sandbox, http, access)
    assert (factor["type"], factor["status"], factor["name"]) == ("webauthn", "active", "Soft key")
    factors = (await http.get("/api/v1/me/mfa-factors", headers=bearer(access))).json()["data"]
    assert [f["id"] for f in factors] == [factor["id"]]

    request = await passkey_options(sandbox, http)
    assert request["public_key"]["allowCredentials"] == []
    assert request["public_key"]["rpId"] == "sandbox.intelliauth.local"
    assert request["public_key"]["userVerification"] == "required"
    verified = await verify_assertion(
        http, request["ceremony_id"], authenticator.get(request["public_key"])
    )
    assert verified.status_code == 200, verified.text
    signed_in = verified.json()["data"]
    assert signed_in["status"] == "authenticated"
    assert signed_in["user"]["id"] == user["id"]
    assert signed_in["tokens"]["scope"] == "openid profile email"
    profile = await http.get(
        "/api/v1/me/profile", headers=bearer(signed_in["tokens"]["access_token"])
    )
    assert profile.json()["data"]["mfa_enrolled"] is True
    listed = (await http.get("/api/v1/me/mfa-factors", headers=bearer(access))).json()["data"]
    assert listed[0]["last_used_at"] is not None


async def test_a_passkey_completes_the_mfa_step_of_a_password_sign_in(
    sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    """mfa_required offers the passkey; its assertion with the mfa_flow_id signs in once."""
    access = await signed_in_user(sandbox, http, "mfa@example.com")
    authenticator, factor = await register(sandbox, http, access)
    started = await password_sign_in(sandbox, http, "mfa@example.com")
    assert started["status"] == "mfa_required"
    assert [f["id"] for f in started["factors"]] == [factor["id"]]
    flow_id = started["mfa_flow_id"]
    challenge = await http.post(
        "/api/v1/auth/mfa/challenge", json={"mfa_flow_id": flow_id, "factor_id": factor["id"]}
    )
    assert error_of(challenge) == (422, "validation_failed")

    request = await authentication_options(http, {"mfa_flow_id": flow_id})
    allowed = request["public_key"]["allowCredentials"]
    assert [d["id"] for d in allowed] == [authenticator.credentials[0].id]
    verified = await verify_assertion(
        http, request["ceremony_id"], authenticator.get(request["public_key"])
    )
    assert verified.status_code == 200, verified.text
    tokens = verified.json()["data"]["tokens"]
    assert "refresh_token" in tokens  # the password sign-in's scope, offline_access included
    again = await http.post(AUTHENTICATION_OPTIONS, json={"mfa_flow_id": flow_id})
    assert error_of(again) == (400, "flow_expired")


async def test_a_tampered_signature_or_authenticator_data_is_refused(
    sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    """A flipped signature bit, or a raised counter the signature does not cover, is refused."""
    authenticator, _ = await register(
        sandbox, http, await signed_in_user(sandbox, http, "t@example.com")
    )
    for field, change in (
        ("signature", flip_last_byte),
        ("authenticatorData", lambda data: data[:-1] + bytes([data[-1] + 1])),  # counter + 1
    ):
        request = await passkey_options(sandbox, http)
        forged = tamper(authenticator.get(request["public_key"]), field, change)
        refused = await verify_assertion(http, request["ceremony_id"], forged)
        assert error_of(refused) == (401, "invalid_credentials"), field
        assert "signature" in refused.json()["details"]["reason"]


async def test_a_wrong_origin_or_rp_id_is_refused(
    sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    """Another origin or RP id: registration is validation_failed, sign-in invalid_credentials."""
    access = await signed_in_user(sandbox, http, "o@example.com")
    for phishing in (
        SoftAuthenticator(
            "https://sandbox.intelliauth.local.evil.example", "sandbox.intelliauth.local"
        ),
        SoftAuthenticator("http://sandbox.intelliauth.local", "evil.example"),
    ):
        options = await registration_options(http, access)
        refused = await http.post(
            REGISTRATION_VERIFY,
            json={
                "ceremony_id": options["ceremony_id"],
                "credential": phishing.create(options["public_key"]),
            },
            headers=bearer(access),
        )
        assert error_of(refused) == (422, "validation_failed")

    genuine, _ = await register(sandbox, http, access)
    for origin, rp_id, reason in (
        ("http://evil.example", genuine.rp_id, "origin"),
        (genuine.origin, "evil.example", "RP ID hash"),
    ):
        # The same key, used by a page or an authenticator that is not the sandbox's.
        forger = SoftAuthenticator(origin, rp_id, credentials=genuine.credentials)
        request = await passkey_options(sandbox, http, email="o@example.com")
        refused = await verify_assertion(
            http, request["ceremony_id"], forger.get(request["public_key"])
        )
        assert error_of(refused) == (401, "invalid_credentials")
        assert reason in refused.json()["details"]["reason"]


async def test_a_ceremony_is_verified_once_and_its_challenge_nowhere_else(
    sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    """A reused ceremony_id is flow_expired; an old assertion on a new ceremony is refused."""
    access = await signed_in_user(sandbox, http, "r@example.com")
    authenticator = SoftAuthenticator.for_issuer(sandbox.url)
    options = await registration_options(http, access)
    body = {
        "ceremony_id": options["ceremony_id"],
        "credential": authenticator.create(options["public_key"]),
    }
    assert (
        await http.post(REGISTRATION_VERIFY, json=body, headers=bearer(access))
    ).status_code == 201
    reused = await http.post(REGISTRATION_VERIFY, json=body, headers=bearer(access))
    assert error_of(reused) == (400, "flow_expired")
    assert reused.json()["details"] == {"ceremony_id": options["ceremony_id"]}

    first = await passkey_options(sandbox, http)
    assertion = authenticator.get(first["public_key"])
    assert (await verify_assertion(http, first["ceremony_id"], assertion)).status_code == 200
    replayed = await verify_assertion(http, first["ceremony_id"], assertion)
    assert error_of(replayed) == (400, "flow_expired")
    second = await passkey_options(sandbox, http)
    replayed_elsewhere = await verify_assertion(http, second["ceremony_id"], assertion)
    assert error_of(replayed_elsewhere) == (401, "invalid_credentials")
    assert "challenge" in replayed_elsewhere.json()["details"]["reason"]


async def test_an_expired_ceremony_is_flow_expired(
    sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    """Five minutes after the options, registration and sign-in answer 400 flow_expired."""
    access = await signed_in_user(sandbox, http, "e@example.com")
    authenticator = SoftAuthenticator.for_issuer(sandbox.url)
    options = await registration_options(http, access)
    credential = authenticator.create(options["public_key"])
    sandbox.clock.advance(301)
    late = await http.post(
        REGISTRATION_VERIFY,
        json={"ceremony_id": options["ceremony_id"], "credential": credential},
        headers=bearer(access),
    )
    assert error_of(late) == (400, "flow_expired")

    access = (await password_sign_in(sandbox, http, "e@example.com"))["tokens"]["access_token"]
    authenticator, _ = await register(sandbox, http, access)
    request = await passkey_options(sandbox, http)
    assertion = authenticator.get(request["public_key"])
    sandbox.clock.advance(301)
    late = await verify_assertion(http, request["ceremony_id"], assertion)
    assert error_of(late) == (400, "flow_expired")


async def test_the_sign_counter_must_grow(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    """Each sign-in stores the higher counter; a cloned authenticator's stale one is refused."""
    authenticator, _ = await register(
        sandbox, http, await signed_in_user(sandbox, http, "c@example.com")
    )
    stored = next(iter(sandbox.tenant.webauthn.credentials.values()))
    counts = [stored.sign_count]
    for _ in range(2):
        request = await passkey_options(sandbox, http)
        verified = await verify_assertion(
            http, request["ceremony_id"], authenticator.get(request["public_key"])
        )
        assert verified.status_code == 200, verified.text
        counts.append(stored.sign_count)
    assert counts == [0, 1, 2]
    authenticator.credentials[0].sign_count = 0  # a clone that signed nothing since the copy
    request = await passkey_options(sandbox, http)
    cloned = await verify_assertion(
        http, request["ceremony_id"], authenticator.get(request["public_key"])
    )
    assert error_of(cloned) == (401, "invalid_credentials")
    assert "sign count" in cloned.json()["details"]["reason"]
    assert stored.sign_count == 2


async def test_a_passwordless_sign_in_needs_user_verification(
    sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    """Without the UV flag a passkey cannot sign in alone, but still completes the MFA step."""
    authenticator = SoftAuthenticator.for_issuer(sandbox.url, user_verified=False)
    await register(
        sandbox, http, await signed_in_user(sandbox, http, "uv@example.com"), authenticator
    )
    request = await passkey_options(sandbox, http)
    refused = await verify_assertion(
        http, request["ceremony_id"], authenticator.get(request["public_key"])
    )
    assert error_of(refused) == (401, "invalid_credentials")
    flow_id = (await password_sign_in(sandbox, http, "uv@example.com"))["mfa_flow_id"]
    request = await authentication_options(http, {"mfa_flow_id": flow_id})
    verified = await verify_assertion(
        http, request["ceremony_id"], authenticator.get(request["public_key"])
    )
    assert verified.status_code == 200, verified.text


async def test_an_email_restricts_the_sign_in_to_that_users_passkeys(
    sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    """With email the options list the user's credentials; another user's passkey is refused."""
    mine, _ = await register(sandbox, http, await signed_in_user(sandbox, http, "me@example.com"))
    theirs, _ = await register(
        sandbox, http, await signed_in_user(sandbox, http, "you@example.com")
    )
    request = await passkey_options(sandbox, http, email="me@example.com")
    assert [d["id"] for d in request["public_key"]["allowCredentials"]] == [mine.credentials[0].id]
    unlisted = theirs.get({**request["public_key"], "allowCredentials": []})
    refused = await verify_assertion(http, request["ceremony_id"], unlisted)
    assert error_of(refused) == (401, "invalid_credentials")

    nobody = await passkey_options(sandbox, http, email="nobody@example.com")
    assert nobody["public_key"]["allowCredentials"] == []
    refused = await verify_assertion(http, nobody["ceremony_id"], mine.get(nobody["public_key"]))
    assert error_of(refused) == (401, "invalid_credentials")


async def test_failed_assertions_use_up_the_mfa_flow(
    sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    """Five refused assertions in an MFA flow end it: the next options are flow_expired."""
    authenticator, _ = await register(
        sandbox, http, await signed_in_user(sandbox, http, "five@example.com")
    )
    flow_id = (await password_sign_in(sandbox, http, "five@example.com"))["mfa_flow_id"]
    for _ in range(5):
        request = await authentication_options(http, {"mfa_flow_id": flow_id})
        forged = tamper(authenticator.get(request["public_key"]), "signature", flip_last_byte)
        refused = await verify_assertion(http, request["ceremony_id"], forged)
        assert error_of(refused) == (401, "invalid_credentials")
    ended = await http.post(AUTHENTICATION_OPTIONS, json={"mfa_flow_id": flow_id})
    assert error_of(ended) == (400, "flow_expired")


async def test_a_deleted_passkey_factor_no_longer_signs_in(
    sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    """deleteMfaFactor retires the credential: its assertions are invalid_credentials."""
    access = await signed_in_user(sandbox, http, "d@example.com")
    authenticator, factor = await register(sandbox, http, access)
    deleted = await http.delete(f"/api/v1/me/mfa-factors/{factor['id']}", headers=bearer(access))
    assert deleted.status_code == 204
    request = await passkey_options(sandbox, http)
    refused = await verify_assertion(
        http, request["ceremony_id"], authenticator.get(request["public_key"])
    )
    assert error_of(refused) == (401, "invalid_credentials")


async def test_registration_needs_a_users_token(
    http: httpx.AsyncClient, token: TokenFactory
) -> None:
    """A client-credentials token cannot register a passkey: 403 permission_denied."""
    response = await http.post(REGISTRATION_OPTIONS, json={}, headers=bearer(await token()))
    assert error_of(response) == (403, "permission_denied")


async def test_options_need_exactly_one_of_mfa_flow_id_and_client_id(
    sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    """Neither or both is 422 validation_failed; an unknown flow is 400 flow_expired."""
    for body in ({}, {"client_id": sandbox.client_id, "mfa_flow_id": "mfl_01ABC"}):
        response = await http.post(AUTHENTICATION_OPTIONS, json=body)
        assert error_of(response) == (422, "validation_failed")
    unknown = await http.post(AUTHENTICATION_OPTIONS, json={"mfa_flow_id": "mfl_01ABC"})
    assert error_of(unknown) == (400, "flow_expired")


async def test_a_served_sandbox_is_the_relying_party_of_its_loopback_url() -> None:
    """Served, the RP id is 127.0.0.1 and the origin the served URL: a passkey signs in there."""
    async with Sandbox.serve() as sandbox, httpx.AsyncClient(base_url=sandbox.url) as http:
        access = await signed_in_user(sandbox, http, "served@example.com")
        options = await registration_options(http, access)
        assert options["public_key"]["rp"]["id"] == "127.0.0.1"
        authenticator, _ = await register(sandbox, http, access)
        assert authenticator.origin == sandbox.url
        request = await passkey_options(sandbox, http)
        verified = await verify_assertion(
            http, request["ceremony_id"], authenticator.get(request["public_key"])
        )
        assert verified.status_code == 200, verified.text
