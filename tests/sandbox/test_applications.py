"""Applications: real OAuth clients of the sandbox, secrets shown once and rotated."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from intelliauth_ext.testing import Sandbox

from .conftest import TokenFactory
from .helpers import bearer

pytestmark = pytest.mark.anyio

M2M = {"name": "Billing backend", "type": "machine_to_machine", "allowed_scopes": ["users:read"]}


async def _create(http: httpx.AsyncClient, headers: dict[str, str], **body: Any) -> httpx.Response:
    return await http.post("/api/v1/applications", json={**M2M, **body}, headers=headers)


async def _client_credentials(
    http: httpx.AsyncClient, client_id: str, secret: str, scope: str | None = None
) -> httpx.Response:
    data = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    if scope is not None:
        data["scope"] = scope
    return await http.post("/oauth2/token", data=data)


async def test_a_created_application_gets_client_credentials_tokens(
    http: httpx.AsyncClient, token: TokenFactory
) -> None:
    """The 201 shows the secret once; it gets a token limited to the allowed scopes."""
    headers = bearer(await token())
    created = await _create(http, headers)
    assert created.status_code == 201
    app = created.json()["data"]
    assert app["grant_types"] == ["client_credentials"]
    assert len(app["client_secret"]) >= 32
    issued = await _client_credentials(http, app["client_id"], app["client_secret"])
    assert issued.status_code == 200
    assert issued.json()["scope"] == "users:read"
    wider = await _client_credentials(http, app["client_id"], app["client_secret"], "users:write")
    assert wider.json()["error"] == "invalid_scope"
    shown = (await http.get(f"/api/v1/applications/{app['id']}", headers=headers)).json()
    assert "client_secret" not in shown["data"]


async def test_a_rotated_secret_replaces_the_old_one(
    http: httpx.AsyncClient, token: TokenFactory
) -> None:
    """After rotation without grace the old secret is invalid_client and the new one works."""
    headers = bearer(await token())
    app = (await _create(http, headers)).json()["data"]
    rotated = await http.post(f"/api/v1/applications/{app['id']}/rotate-secret", headers=headers)
    assert rotated.status_code == 200
    secret = rotated.json()["data"]
    assert secret["previous_secret_expires_at"] is None
    old = await _client_credentials(http, app["client_id"], app["client_secret"])
    assert (old.status_code, old.json()["error"]) == (401, "invalid_client")
    new = await _client_credentials(http, app["client_id"], secret["client_secret"])
    assert new.status_code == 200


async def test_rotation_emits_an_event_without_the_secret(
    sandbox: Sandbox, http: httpx.AsyncClient, token: TokenFactory
) -> None:
    """Rotating publishes application.secret_rotated naming the app, never the secret."""
    headers = bearer(await token())
    app = (await _create(http, headers)).json()["data"]
    rotated = await http.post(f"/api/v1/applications/{app['id']}/rotate-secret", headers=headers)
    new_secret = rotated.json()["data"]["client_secret"]
    events = [json.loads(body) for body in sandbox.webhooks.events.values()]
    [event] = [e for e in events if e["type"] == "application.secret_rotated"]
    assert event["data"]["application_id"] == app["id"]
    assert new_secret not in json.dumps(event)


async def test_a_grace_period_keeps_the_old_secret_until_it_ends(
    sandbox: Sandbox, http: httpx.AsyncClient, token: TokenFactory
) -> None:
    """With grace_period_seconds the old secret works until then, and not after."""
    headers = bearer(await token())
    app = (await _create(http, headers)).json()["data"]
    rotated = await http.post(
        f"/api/v1/applications/{app['id']}/rotate-secret",
        json={"grace_period_seconds": 60},
        headers=headers,
    )
    assert rotated.json()["data"]["previous_secret_expires_at"] is not None
    still = await _client_credentials(http, app["client_id"], app["client_secret"])
    assert still.status_code == 200
    sandbox.clock.advance(61)
    expired = await _client_credentials(http, app["client_id"], app["client_secret"])
    assert expired.json()["error"] == "invalid_client"


async def test_a_public_client_has_no_secret_to_rotate(
    http: httpx.AsyncClient, token: TokenFactory
) -> None:
    """An spa is forced to auth method none, has a null secret, and rotating it is a 409."""
    headers = bearer(await token())
    created = await _create(
        http,
        headers,
        name="Portal",
        type="spa",
        token_endpoint_auth_method="client_secret_basic",
        redirect_uris=["https://portal.example.com/callback"],
        allowed_scopes=["openid", "profile"],
    )
    app = created.json()["data"]
    assert (app["token_endpoint_auth_method"], app["client_secret"]) == ("none", None)
    assert app["secret_rotated_at"] is None
    rotated = await http.post(f"/api/v1/applications/{app['id']}/rotate-secret", headers=headers)
    assert (rotated.status_code, rotated.json()["error"]) == (409, "conflict")


async def test_a_plain_http_redirect_uri_is_refused(
    http: httpx.AsyncClient, token: TokenFactory
) -> None:
    """A redirect URI over http on a public host is 422; on localhost it is accepted."""
    headers = bearer(await token())
    web = {"name": "Web", "type": "web"}
    bad = await _create(http, headers, **web, redirect_uris=["http://app.example.com/cb"])
    assert (bad.status_code, bad.json()["error"]) == (422, "validation_failed")
    good = await _create(http, headers, **web, redirect_uris=["http://localhost:8080/cb"])
    assert good.status_code == 201


async def test_update_changes_what_the_token_endpoint_allows(
    http: httpx.AsyncClient, token: TokenFactory
) -> None:
    """A PATCH of allowed_scopes widens the client's tokens; type cannot change."""
    headers = bearer(await token())
    app = (await _create(http, headers)).json()["data"]
    url = f"/api/v1/applications/{app['id']}"
    patched = await http.patch(
        url, json={"allowed_scopes": ["users:read", "groups:read"]}, headers=headers
    )
    assert patched.json()["data"]["allowed_scopes"] == ["users:read", "groups:read"]
    issued = await _client_credentials(http, app["client_id"], app["client_secret"], "groups:read")
    assert issued.status_code == 200
    retyped = await http.patch(url, json={"type": "web"}, headers=headers)
    assert retyped.status_code == 422


async def test_delete_revokes_the_application_and_its_tokens(
    http: httpx.AsyncClient, token: TokenFactory
) -> None:
    """After delete the app is 404, its secret is invalid_client and its tokens are dead."""
    headers = bearer(await token())
    app = (await _create(http, headers, allowed_scopes=["users:read"])).json()["data"]
    issued = await _client_credentials(http, app["client_id"], app["client_secret"])
    app_token = issued.json()["access_token"]
    assert (await http.get("/api/v1/users", headers=bearer(app_token))).status_code == 200
    deleted = await http.delete(f"/api/v1/applications/{app['id']}", headers=headers)
    assert deleted.status_code == 204
    gone = await http.get(f"/api/v1/applications/{app['id']}", headers=headers)
    assert (gone.status_code, gone.json()["error"]) == (404, "not_found")
    again = await _client_credentials(http, app["client_id"], app["client_secret"])
    assert again.json()["error"] == "invalid_client"
    refused = await http.get("/api/v1/users", headers=bearer(app_token))
    assert refused.json()["error"] == "invalid_token"


async def test_listing_pages_and_filters_by_type(
    sandbox: Sandbox, http: httpx.AsyncClient, token: TokenFactory
) -> None:
    """The seeded admin client is listed; limit=2 over 5 apps walks 3 pages; type filters."""
    headers = bearer(await token())
    for n in range(4):
        assert (await _create(http, headers, name=f"App {n}")).status_code == 201
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, str | int] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await http.get("/api/v1/applications", params=params, headers=headers)).json()
        pages += 1
        seen.extend(app["client_id"] for app in page["data"])
        cursor = page["meta"]["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert len(seen) == len(set(seen)) == 5
    assert sandbox.client_id in seen
    m2m = await http.get(
        "/api/v1/applications", params={"type": "machine_to_machine"}, headers=headers
    )
    assert len(m2m.json()["data"]) == 4


async def test_a_replayed_create_registers_one_client(
    http: httpx.AsyncClient, token: TokenFactory
) -> None:
    """The same Idempotency-Key returns the first 201 (same client and secret) again."""
    headers = {**bearer(await token()), "Idempotency-Key": "app-1"}
    first = await _create(http, headers)
    second = await _create(http, headers)
    assert second.json() == first.json()
    assert second.headers["idempotent-replayed"] == "true"


async def test_applications_need_their_scope(http: httpx.AsyncClient, token: TokenFactory) -> None:
    """A token without applications:write is 403 permission_denied on create."""
    headers = bearer(await token("applications:read"))
    refused = await _create(http, headers)
    assert refused.status_code == 403
    assert refused.json()["details"]["required_scope"] == "applications:write"
