"""Federation: OIDC and SAML connections, a union discriminated by ``protocol``."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from intelliauth_ext.testing import Sandbox

from .conftest import TokenFactory
from .helpers import bearer

pytestmark = pytest.mark.anyio

CERTIFICATE = "-----BEGIN CERTIFICATE-----\nMIIC8DCCAdigAwIBAgIQ\n-----END CERTIFICATE-----\n"
OIDC: dict[str, Any] = {
    "protocol": "oidc",
    "name": "Contoso Entra ID",
    "domains": ["contoso.com"],
    "issuer": "https://login.example.com/contoso/v2.0",
    "client_id": "a1b2c3d4",
    "client_secret": "very-secret-value",
    "attribute_mapping": {"groups": "groups"},
}
SAML: dict[str, Any] = {
    "protocol": "saml",
    "name": "Fabrikam Okta",
    "domains": ["fabrikam.com"],
    "idp_entity_id": "http://www.okta.com/exk1a2b3c4",
    "idp_sso_url": "https://fabrikam.okta.com/app/sso/saml",
    "idp_signing_certificates": [CERTIFICATE],
}
CONNECTIONS = "/api/v1/federation/connections"


@pytest.fixture
async def headers(token: TokenFactory) -> dict[str, str]:
    """Bearer headers with every scope."""
    return bearer(await token())


async def test_an_oidc_connection_never_shows_its_secret(
    sandbox: Sandbox, http: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    """An OIDC connection gets the defaults and its redirect_uri; the secret is kept back."""
    created = await http.post(CONNECTIONS, json=OIDC, headers=headers)
    assert created.status_code == 201
    connection = created.json()["data"]
    assert "client_secret" not in connection
    assert (connection["enabled"], connection["jit_provisioning"], connection["use_pkce"]) == (
        False,
        True,
        True,
    )
    assert connection["scopes"] == ["openid", "email", "profile"]
    assert connection["attribute_mapping"] == {
        "email": "email",
        "name": "name",
        "given_name": "given_name",
        "family_name": "family_name",
        "groups": "groups",
    }
    assert connection["redirect_uri"] == (
        f"{sandbox.url}/federation/oidc/{connection['id']}/callback"
    )
    assert sandbox.tenant.federation_secrets[connection["id"]] == "very-secret-value"
    fetched = await http.get(f"{CONNECTIONS}/{connection['id']}", headers=headers)
    assert fetched.json()["data"] == connection


async def test_a_saml_connection_carries_the_sp_values(
    sandbox: Sandbox, http: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    """A SAML connection gets sp_entity_id, acs_url and sp_metadata_url to register."""
    created = await http.post(CONNECTIONS, json=SAML, headers=headers)
    connection = created.json()["data"]
    base = f"{sandbox.url}/federation/saml/{connection['id']}"
    assert (connection["sp_entity_id"], connection["acs_url"], connection["sp_metadata_url"]) == (
        base,
        f"{base}/acs",
        f"{base}/metadata",
    )
    assert (connection["name_id_format"], connection["sign_authn_requests"]) == (
        "email_address",
        False,
    )


async def test_a_domain_belongs_to_one_connection(
    http: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    """A domain claimed by another connection is 409 already_exists, on create and update."""
    await http.post(CONNECTIONS, json=OIDC, headers=headers)
    clash = await http.post(CONNECTIONS, json={**SAML, "domains": ["Contoso.com"]}, headers=headers)
    assert (clash.status_code, clash.json()["error"]) == (409, "already_exists")
    saml = (await http.post(CONNECTIONS, json=SAML, headers=headers)).json()["data"]
    moved = await http.patch(
        f"{CONNECTIONS}/{saml['id']}",
        json={"protocol": "saml", "domains": ["contoso.com"]},
        headers=headers,
    )
    assert moved.status_code == 409


async def test_update_keeps_the_protocol(
    sandbox: Sandbox, http: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    """A PATCH changes the fields present, replaces the secret, and cannot switch protocol."""
    oidc = (await http.post(CONNECTIONS, json=OIDC, headers=headers)).json()["data"]
    url = f"{CONNECTIONS}/{oidc['id']}"
    patched = await http.patch(
        url,
        json={"protocol": "oidc", "enabled": True, "client_secret": "rotated"},
        headers=headers,
    )
    assert patched.status_code == 200
    assert patched.json()["data"]["enabled"] is True
    assert patched.json()["data"]["name"] == OIDC["name"]
    assert sandbox.tenant.federation_secrets[oidc["id"]] == "rotated"
    switched = await http.patch(
        url, json={"protocol": "saml", "name_id_format": "persistent"}, headers=headers
    )
    assert (switched.status_code, switched.json()["error"]) == (422, "validation_failed")


async def test_oidc_scopes_must_include_openid(
    http: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    """Scopes without openid, or a plain-http issuer, are 422 validation_failed."""
    no_openid = await http.post(CONNECTIONS, json={**OIDC, "scopes": ["email"]}, headers=headers)
    assert (no_openid.status_code, no_openid.json()["error"]) == (422, "validation_failed")
    insecure = await http.post(
        CONNECTIONS, json={**OIDC, "issuer": "http://idp.example.com"}, headers=headers
    )
    assert insecure.status_code == 422


async def test_list_filters_by_protocol_and_pages(
    http: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    """Newest first over 3 pages of 2; ``protocol`` narrows the listing."""
    names = []
    for n in range(5):
        body = {**(OIDC if n % 2 else SAML), "name": f"IdP {n}", "domains": [f"d{n}.example.com"]}
        names.append(body["name"])
        assert (await http.post(CONNECTIONS, json=body, headers=headers)).status_code == 201
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, str | int] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await http.get(CONNECTIONS, params=params, headers=headers)).json()
        pages += 1
        seen.extend(c["name"] for c in page["data"])
        cursor = page["meta"]["next_cursor"]
        if cursor is None:
            break
    assert (seen, pages) == (list(reversed(names)), 3)
    oidc = await http.get(CONNECTIONS, params={"protocol": "oidc"}, headers=headers)
    assert {c["protocol"] for c in oidc.json()["data"]} == {"oidc"}
    assert len(oidc.json()["data"]) == 2


async def test_delete_then_404(http: httpx.AsyncClient, headers: dict[str, str]) -> None:
    """A deleted connection is 404 not_found; so is an id that never existed."""
    saml = (await http.post(CONNECTIONS, json=SAML, headers=headers)).json()["data"]
    deleted = await http.delete(f"{CONNECTIONS}/{saml['id']}", headers=headers)
    assert deleted.status_code == 204
    for connection_id in (saml["id"], "fed_01JB3D5F7H9K1M3P5R7T9V1X3Z"):
        gone = await http.get(f"{CONNECTIONS}/{connection_id}", headers=headers)
        assert (gone.status_code, gone.json()["error"]) == (404, "not_found")


async def test_federation_needs_its_scopes(http: httpx.AsyncClient, token: TokenFactory) -> None:
    """A federation:read token may list but not create (403 naming federation:write)."""
    headers = bearer(await token("federation:read"))
    assert (await http.get(CONNECTIONS, headers=headers)).status_code == 200
    refused = await http.post(CONNECTIONS, json=SAML, headers=headers)
    assert refused.status_code == 403
    assert refused.json()["details"]["required_scope"] == "federation:write"
