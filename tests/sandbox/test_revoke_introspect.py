"""Revocation (RFC 7009) and introspection (RFC 7662)."""

from __future__ import annotations

import httpx
import pytest

from intelliauth_ext.testing import Sandbox

from .conftest import TokenFactory
from .helpers import bearer

pytestmark = pytest.mark.anyio


async def _introspect(sandbox: Sandbox, http: httpx.AsyncClient, token: str) -> dict[str, object]:
    response = await http.post(
        "/oauth2/introspect", data={"token": token}, auth=(sandbox.client_id, sandbox.client_secret)
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_introspect_then_revoke(
    sandbox: Sandbox, http: httpx.AsyncClient, token: TokenFactory
) -> None:
    """A live token introspects active; after revocation it is inactive and refused."""
    access_token = await token("users:read")
    described = await _introspect(sandbox, http, access_token)
    assert described["active"] is True
    assert described["scope"] == "users:read"
    assert described["client_id"] == sandbox.client_id
    revoked = await http.post(
        "/oauth2/revoke",
        data={"token": access_token, "token_type_hint": "access_token"},
        auth=(sandbox.client_id, sandbox.client_secret),
    )
    assert revoked.status_code == 200
    assert await _introspect(sandbox, http, access_token) == {"active": False}
    listed = await http.get("/api/v1/users", headers=bearer(access_token))
    assert listed.status_code == 401
    assert listed.json()["error"] == "invalid_token"


async def test_unknown_tokens_revoke_fine_and_introspect_inactive(
    sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    """RFC 7009 2.2: revoking an unknown token is still 200; introspection says inactive."""
    revoked = await http.post(
        "/oauth2/revoke",
        data={"token": "nonsense"},
        auth=(sandbox.client_id, sandbox.client_secret),
    )
    assert revoked.status_code == 200
    assert await _introspect(sandbox, http, "nonsense") == {"active": False}


async def test_introspection_needs_an_authenticated_caller(
    sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    """Without client credentials or a bearer token, introspection is invalid_client."""
    response = await http.post("/oauth2/introspect", data={"token": "whatever"})
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
