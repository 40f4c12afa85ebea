"""Tokens are JWTs verifiable with the published JWKS, and discovery points at it."""

from __future__ import annotations

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from intelliauth_ext.testing import Sandbox

from .conftest import TokenFactory
from .helpers import pkce_pair, query_of

pytestmark = pytest.mark.anyio


async def test_access_token_verifies_against_the_jwks(
    sandbox: Sandbox, http: httpx.AsyncClient, token: TokenFactory
) -> None:
    """The discovery document's jwks_uri verifies an access token (RFC 9068 claims)."""
    discovery = (await http.get("/.well-known/openid-configuration")).json()
    assert discovery["issuer"] == sandbox.url
    assert discovery["code_challenge_methods_supported"] == ["S256"]
    keys = KeySet.import_key_set((await http.get(discovery["jwks_uri"])).json())
    decoded = jwt.decode(await token("users:read"), keys)
    assert decoded.header["typ"] == "at+jwt"
    assert decoded.claims["iss"] == sandbox.url
    assert decoded.claims["sub"] == sandbox.client_id
    assert decoded.claims["scope"] == "users:read"


async def test_id_token_verifies_and_carries_the_nonce(
    sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    """The ID token is signed by the same key, for the client, with the request's nonce."""
    verifier, challenge = pkce_pair()
    redirect = await http.get(
        "/oauth2/authorize",
        params={
            "response_type": "code",
            "client_id": sandbox.client_id,
            "redirect_uri": "http://127.0.0.1/callback",
            "scope": "openid email",
            "state": "state-12345",
            "nonce": "nonce-12345",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
    )
    tokens = (
        await http.post(
            "/oauth2/token",
            data={
                "grant_type": "authorization_code",
                "code": query_of(redirect.headers["location"])["code"],
                "redirect_uri": "http://127.0.0.1/callback",
                "code_verifier": verifier,
            },
            auth=(sandbox.client_id, sandbox.client_secret),
        )
    ).json()
    keys = KeySet.import_key_set((await http.get("/.well-known/jwks.json")).json())
    claims = jwt.decode(tokens["id_token"], keys).claims
    assert claims["aud"] == sandbox.client_id
    assert claims["nonce"] == "nonce-12345"
    assert claims["email"] == sandbox.test_user["email"]
    userinfo = await http.get(
        "/oauth2/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert userinfo.json()["sub"] == sandbox.test_user["id"]
