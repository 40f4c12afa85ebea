"""Envelopes, error bodies, request ids and scope enforcement, as the contract pins them."""

from __future__ import annotations

import httpx
import pytest

from intelliauth_ext.testing import Sandbox

from .conftest import TokenFactory
from .helpers import bearer

pytestmark = pytest.mark.anyio


async def test_success_bodies_are_enveloped(http: httpx.AsyncClient, token: TokenFactory) -> None:
    """A create returns 201 {data, meta} with a Location; a get returns the same record."""
    headers = bearer(await token())
    created = await http.post("/api/v1/users", json={"email": "grace@example.com"}, headers=headers)
    assert created.status_code == 201
    body = created.json()
    assert set(body) == {"data", "meta"}
    user = body["data"]
    assert user["id"].startswith("usr_")
    fetched = await http.get(f"/api/v1/users/{user['id']}", headers=headers)
    assert fetched.json()["data"] == user


async def test_errors_use_the_error_envelope(http: httpx.AsyncClient, token: TokenFactory) -> None:
    """A 404 is {error, message, details, request_id} and the id matches X-Request-Id."""
    response = await http.get("/api/v1/users/usr_missing", headers=bearer(await token()))
    assert response.status_code == 404
    body = response.json()
    assert set(body) == {"error", "message", "details", "request_id"}
    assert body["error"] == "not_found"
    assert body["request_id"] == response.headers["x-request-id"]


async def test_every_response_has_a_request_id(http: httpx.AsyncClient) -> None:
    """Discovery, OAuth errors, 401s and unknown paths all carry X-Request-Id (req_...)."""
    responses = [
        await http.get("/.well-known/jwks.json"),
        await http.post("/oauth2/token", data={"grant_type": "client_credentials"}),
        await http.get("/api/v1/users"),
        await http.get("/api/v1/nowhere"),
    ]
    ids = [r.headers["x-request-id"] for r in responses]
    assert all(i.startswith("req_") for i in ids)
    assert len(set(ids)) == len(ids)


async def test_a_client_request_id_is_echoed(http: httpx.AsyncClient) -> None:
    """A well-formed X-Request-Id from the client is kept, so logs correlate."""
    response = await http.get("/.well-known/jwks.json", headers={"X-Request-Id": "req_abc123"})
    assert response.headers["x-request-id"] == "req_abc123"


async def test_missing_token_is_unauthenticated(http: httpx.AsyncClient) -> None:
    """No bearer token: 401 unauthenticated with a Bearer challenge."""
    response = await http.get("/api/v1/users")
    assert response.status_code == 401
    assert response.json()["error"] == "unauthenticated"
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_scope_is_enforced_from_the_spec(
    sandbox: Sandbox, http: httpx.AsyncClient, token: TokenFactory
) -> None:
    """A users:read token may list but not create: 403 naming users:write (the spec's scope)."""
    assert sandbox.contract.operation("createUser").required_scopes == ("users:write",)
    headers = bearer(await token("users:read"))
    assert (await http.get("/api/v1/users", headers=headers)).status_code == 200
    refused = await http.post("/api/v1/users", json={"email": "x@example.com"}, headers=headers)
    assert refused.status_code == 403
    assert refused.json()["error"] == "permission_denied"
    assert refused.json()["details"]["required_scope"] == "users:write"
