"""The token endpoint: client credentials by both RFC 6749 2.3.1 methods, and its refusals."""

from __future__ import annotations

import httpx
import pytest

from intelliauth_ext.testing import Sandbox

pytestmark = pytest.mark.anyio


async def test_client_secret_post_issues_a_bearer_token(
    sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    """client_secret_post: id and secret in the form give a Bearer token, no refresh token."""
    response = await http.post(
        "/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": sandbox.client_id,
            "client_secret": sandbox.client_secret,
            "scope": "users:read groups:read",
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "groups:read users:read"  # sorted: scopes are a set
    assert body["expires_in"] > 0
    assert "refresh_token" not in body
    assert response.headers["cache-control"] == "no-store"


async def test_client_secret_basic_issues_a_token(
    sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    """client_secret_basic: HTTP Basic credentials work and default to every API scope."""
    response = await http.post(
        "/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(sandbox.client_id, sandbox.client_secret),
    )
    assert response.status_code == 200
    granted = response.json()["scope"].split()
    assert "users:write" in granted
    assert "openid" not in granted  # user scopes mean nothing to a client acting as itself


async def test_a_wrong_secret_is_invalid_client(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    """A wrong secret over Basic is 401 invalid_client with a Basic challenge (RFC 6749 5.2)."""
    response = await http.post(
        "/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(sandbox.client_id, "not-the-secret"),
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.headers["www-authenticate"].startswith("Basic")


async def test_two_authentication_methods_at_once_are_refused(
    sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    """Basic and client_secret in the body together are an invalid_request."""
    response = await http.post(
        "/oauth2/token",
        data={"grant_type": "client_credentials", "client_secret": sandbox.client_secret},
        auth=(sandbox.client_id, sandbox.client_secret),
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


async def test_a_scope_outside_the_client_is_invalid_scope(
    sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    """Asking for a scope the client may not have is invalid_scope."""
    client = sandbox.add_client(scopes=("users:read",))
    assert client.client_secret is not None
    response = await http.post(
        "/oauth2/token",
        data={"grant_type": "client_credentials", "scope": "users:write"},
        auth=(client.client_id, client.client_secret),
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"
