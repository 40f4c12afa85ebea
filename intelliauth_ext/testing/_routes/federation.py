"""Federation: SSO connections to OIDC and SAML identity providers (a union on ``protocol``).

The sandbox stores and serves connections; it does not fetch an OIDC issuer's discovery
document (a test tenant has no network to rely on), so an issuer is only checked for being
an absolute https URL (http on a loopback host).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from starlette.responses import Response

from .._envelopes import ApiError, data_response, no_content, not_found
from .._ids import new_id
from .._routing import Context, OperationRouter
from .._tenant import Record, Tenant

router = OperationRouter()

DEFAULT_ATTRIBUTE_MAPPING: dict[str, str | None] = {
    "email": "email",
    "name": "name",
    "given_name": "given_name",
    "family_name": "family_name",
    "groups": None,
}
_COMMON = ("name", "enabled", "domains", "jit_provisioning")
_VARIANT_FIELDS: dict[str, tuple[str, ...]] = {
    "oidc": ("issuer", "client_id", "scopes", "use_pkce"),
    "saml": (
        "idp_entity_id",
        "idp_sso_url",
        "idp_signing_certificates",
        "name_id_format",
        "sign_authn_requests",
    ),
}
_DEFAULTS: dict[str, dict[str, Any]] = {
    "oidc": {"scopes": ["openid", "email", "profile"], "use_pkce": True},
    # name_id_format: the default SamlConnectionCreate names.
    "saml": {"name_id_format": "email_address", "sign_authn_requests": False},
}
_LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def _invalid(message: str, field: str) -> ApiError:
    return ApiError("validation_failed", message, details={"field": field})


def _protocol_of(body: Record) -> str:
    # A schema validator may let a discriminator it cannot map through: check it here too.
    protocol = body.get("protocol")
    if protocol not in ("oidc", "saml"):
        raise _invalid("protocol must be oidc or saml.", "protocol")
    return str(protocol)


def _mapping(given: dict[str, Any] | None) -> dict[str, Any]:
    return {**DEFAULT_ATTRIBUTE_MAPPING, **(given or {})}


def _check(tenant: Tenant, record: Record) -> None:
    """Check a connection record after create or update.

    Raises:
        ApiError: 422 ``validation_failed`` for a bad field, 409 ``already_exists`` for a
            domain another connection claims.
    """
    if record["protocol"] == "oidc":
        issuer = urlsplit(record["issuer"])
        secure = issuer.scheme == "https" or (
            issuer.scheme == "http" and issuer.hostname in _LOOPBACK_HOSTS
        )
        if not (secure and issuer.hostname) or issuer.query or issuer.fragment:
            raise _invalid("issuer must be an absolute https URL.", "issuer")
        if "openid" not in record["scopes"]:
            raise _invalid("scopes must include openid.", "scopes")
    else:
        sso = urlsplit(record["idp_sso_url"])
        if sso.scheme not in {"https", "http"} or not sso.hostname:
            raise _invalid("idp_sso_url must be an absolute URL.", "idp_sso_url")
    domains = [d.casefold() for d in record["domains"]]
    for other in tenant.federation_connections.values():
        if other["id"] == record["id"]:
            continue
        taken = sorted(set(domains) & {d.casefold() for d in other["domains"]})
        if taken:
            raise ApiError(
                "already_exists",
                f"The domain {taken[0]} belongs to connection {other['id']}.",
                details={"field": "domains", "domain": taken[0], "connection_id": other["id"]},
            )


def render_connection(ctx: Context, record: Record) -> Record:
    """Return the API view: the stored fields plus the URLs to register at the IdP."""
    base = f"{ctx.sandbox.url}/federation/{record['protocol']}/{record['id']}"
    if record["protocol"] == "oidc":
        return {**record, "redirect_uri": f"{base}/callback"}
    return {
        **record,
        "sp_entity_id": base,
        "acs_url": f"{base}/acs",
        "sp_metadata_url": f"{base}/metadata",
    }


def _require_connection(ctx: Context) -> Record:
    connection_id = ctx.path("connection_id")
    record = ctx.sandbox.tenant.federation_connections.get(connection_id)
    if record is None:
        raise not_found("federation connection", connection_id)
    return record


@router.operation("listFederationConnections")
async def list_federation_connections(ctx: Context) -> Response:
    """Newest first; optional ``protocol`` filter; never a client secret."""
    protocol = ctx.query("protocol")
    entries = ctx.sandbox.tenant.federation_connections.sequenced(
        lambda c: not protocol or c["protocol"] == protocol
    )
    return ctx.page(
        entries, filters={"protocol": protocol}, render=lambda c: render_connection(ctx, c)
    )


@router.operation("createFederationConnection")
async def create_federation_connection(ctx: Context) -> Response:
    """Create an OIDC or SAML connection (201), disabled unless asked otherwise."""
    tenant = ctx.sandbox.tenant
    body = ctx.json()
    protocol = _protocol_of(body)
    now = tenant.clock.isoformat()
    record: Record = {
        "id": new_id("fed"),
        "protocol": protocol,
        "name": body["name"],
        "enabled": bool(body.get("enabled", False)),
        "domains": list(body.get("domains") or []),
        "jit_provisioning": bool(body.get("jit_provisioning", True)),
        "attribute_mapping": _mapping(body.get("attribute_mapping")),
        **_DEFAULTS[protocol],
        **{k: body[k] for k in _VARIANT_FIELDS[protocol] if k in body},
        "created_at": now,
        "updated_at": now,
    }
    _check(tenant, record)
    tenant.federation_connections.add(record["id"], record)
    if protocol == "oidc":
        tenant.federation_secrets[record["id"]] = body["client_secret"]
    return data_response(
        render_connection(ctx, record),
        status=201,
        headers={"Location": f"{ctx.sandbox.url}/api/v1/federation/connections/{record['id']}"},
    )


@router.operation("getFederationConnection")
async def get_federation_connection(ctx: Context) -> Response:
    """One connection by id."""
    return data_response(render_connection(ctx, _require_connection(ctx)))


@router.operation("updateFederationConnection")
async def update_federation_connection(ctx: Context) -> Response:
    """Change the fields present; ``protocol`` must be the connection's own (422 otherwise)."""
    tenant = ctx.sandbox.tenant
    record = _require_connection(ctx)
    body = ctx.json()
    if _protocol_of(body) != record["protocol"]:
        raise _invalid(
            f"This is a {record['protocol']} connection; it cannot change protocol.", "protocol"
        )
    fields = (*_COMMON, *_VARIANT_FIELDS[record["protocol"]])
    changed: Record = {
        **record,
        **{k: body[k] for k in fields if k in body},
        "updated_at": tenant.clock.isoformat(),
    }
    if "attribute_mapping" in body:
        changed["attribute_mapping"] = _mapping(body["attribute_mapping"])
    _check(tenant, changed)
    tenant.federation_connections.replace(record["id"], changed)
    if record["protocol"] == "oidc" and "client_secret" in body:
        tenant.federation_secrets[record["id"]] = body["client_secret"]
    return data_response(render_connection(ctx, changed))


@router.operation("deleteFederationConnection")
async def delete_federation_connection(ctx: Context) -> Response:
    """Delete the connection and its stored secret (204); its users remain."""
    tenant = ctx.sandbox.tenant
    record = _require_connection(ctx)
    tenant.federation_connections.remove(record["id"])
    tenant.federation_secrets.pop(record["id"], None)
    return no_content()


__all__ = ["DEFAULT_ATTRIBUTE_MAPPING", "render_connection", "router"]
