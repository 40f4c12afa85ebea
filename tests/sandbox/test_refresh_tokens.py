"""Refresh tokens rotate on every use; reusing a spent one revokes the whole family."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from intelliauth_ext.testing import Sandbox

from .helpers import bearer, pkce_pair, query_of

pytestmark = pytest.mark.anyio
REDIRECT_URI = "http://127.0.0.1/callback"


async def _user_tokens(sandbox: Sandbox, http: httpx.AsyncClient) -> dict[str, Any]:
    verifier, challenge = pkce_pair()
    redirect = await http.get(
        "/oauth2/authorize",
        params={
            "response_type": "code",
            "client_id": sandbox.client_id,
            "redirect_uri": REDIRECT_URI,
            "scope": "openid profile offline_access users:read",
            "state": "state-12345",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
    )
    response = await http.post(
        "/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "code": query_of(redirect.headers["location"])["code"],
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
        },
        auth=(sandbox.client_id, sandbox.client_secret),
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


async def _refresh(sandbox: Sandbox, http: httpx.AsyncClient, token: str) -> httpx.Response:
    return await http.post(
        "/oauth2/token",
        data={"grant_type": "refresh_token", "refresh_token": token},
        auth=(sandbox.client_id, sandbox.client_secret),
    )


async def test_refresh_rotates_the_token(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    """Each refresh returns a new refresh token and a working access token."""
    first = await _user_tokens(sandbox, http)
    second = (await _refresh(sandbox, http, first["refresh_token"])).json()
    assert second["refresh_token"] != first["refresh_token"]
    profile = await http.get("/api/v1/me/profile", headers=bearer(second["access_token"]))
    assert profile.status_code == 200
    assert profile.json()["data"]["id"] == sandbox.test_user["id"]


async def test_reuse_revokes_the_family(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    """Replaying a rotated refresh token is invalid_grant and kills every token of the grant."""
    first = await _user_tokens(sandbox, http)
    second = (await _refresh(sandbox, http, first["refresh_token"])).json()
    replay = await _refresh(sandbox, http, first["refresh_token"])
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    # The legitimate holder's newer tokens are dead too.
    assert (await _refresh(sandbox, http, second["refresh_token"])).status_code == 400
    me = await http.get("/api/v1/me/profile", headers=bearer(second["access_token"]))
    assert me.status_code == 401
    assert me.json()["error"] == "invalid_token"


async def test_refresh_cannot_widen_scope(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    """A refresh may narrow the scope but not add to it."""
    tokens = await _user_tokens(sandbox, http)
    response = await http.post(
        "/oauth2/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "scope": "users:write",
        },
        auth=(sandbox.client_id, sandbox.client_secret),
    )
    assert response.json()["error"] == "invalid_scope"
