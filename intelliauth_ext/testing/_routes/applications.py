"""Applications: the tenant's OAuth clients, as the management API sees them.

Each application record is backed by an :class:`OAuthClient` of the authorization server,
so a created application can get tokens at ``/oauth2/token`` at once, an update changes what
the token endpoint allows, and a rotated secret replaces the one it checks. Clients seeded
with ``Sandbox.add_client`` appear here too.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from starlette.responses import Response

from .._clock import rfc3339
from .._envelopes import ApiError, data_response, no_content, not_found
from .._ids import new_id, new_secret
from .._routing import Context, OperationRouter
from .._tenant import ALL_SCOPES, USER_SCOPES, OAuthClient, Record, Tenant

router = OperationRouter()

PUBLIC_TYPES = frozenset({"spa", "native"})
_DEFAULT_GRANTS: dict[str, list[str]] = {
    "web": ["authorization_code", "refresh_token"],
    "spa": ["authorization_code", "refresh_token"],
    "native": ["authorization_code", "refresh_token"],
    "machine_to_machine": ["client_credentials"],
}
_DEFAULT_REFRESH_TTL = 30 * 24 * 3600
# A null refresh_token_ttl_seconds: refresh tokens never expire on their own.
_NEVER_EXPIRES = 100 * 365 * 24 * 3600
_LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
_SECRET_PREFIX = "ias_cs_"  # noqa: S105 - the prefix of generated secrets
# token_endpoint_auth_method of a public client (no secret).
PUBLIC_METHOD = "none"
_LIST_FIELDS = ("grant_types", "redirect_uris", "post_logout_redirect_uris", "allowed_origins")


def _new_client_secret() -> str:
    return _SECRET_PREFIX + new_secret(32)


def _default_scopes(app_type: str) -> list[str]:
    # The defaults ApplicationCreate.allowed_scopes names: a backend gets the API scopes, an
    # interactive app the user scopes.
    if app_type == "machine_to_machine":
        return [s for s in ALL_SCOPES if s not in USER_SCOPES]
    return [s for s in ALL_SCOPES if s in USER_SCOPES]


def _seed_records(tenant: Tenant) -> None:
    """Give clients registered with ``Sandbox.add_client`` an application record."""
    for client in list(tenant.clients.values()):
        if client.application_id in tenant.applications:
            continue
        now = tenant.clock.isoformat()
        record: Record = {
            "id": client.application_id,
            "name": client.name,
            "description": None,
            "type": "spa" if client.is_public else "web",
            "client_id": client.client_id,
            "token_endpoint_auth_method": client.auth_methods[0],
            "grant_types": list(client.grant_types),
            "redirect_uris": list(client.redirect_uris),
            "post_logout_redirect_uris": [],
            "allowed_origins": [],
            "allowed_scopes": list(client.allowed_scopes),
            "access_token_ttl_seconds": client.access_token_ttl,
            "refresh_token_ttl_seconds": client.refresh_token_ttl,
            "secret_rotated_at": None if client.is_public else now,
            "created_at": now,
            "updated_at": now,
        }
        tenant.applications.add(record["id"], record)


def _invalid(message: str, field: str, **details: Any) -> ApiError:
    return ApiError("validation_failed", message, details={"field": field, **details})


def _check_redirect_uri(uri: str, app_type: str, field: str) -> None:
    """An absolute https URL; http only on a loopback host; custom schemes only for native."""
    parts = urlsplit(uri)
    if "*" in uri or parts.fragment:
        raise _invalid(f"{uri} may not hold wildcards or a fragment.", field, uri=uri)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname in _LOOPBACK_HOSTS:
        return
    if app_type == "native" and parts.scheme not in {"", "http", "https"}:
        return  # a private-use URI scheme (RFC 8252 section 7.1)
    raise _invalid(f"{uri} is not an absolute https URL.", field, uri=uri)


def _check(record: Record) -> None:
    """Check a whole application record for consistency (after create or update).

    Raises:
        ApiError: ``validation_failed`` naming the field.
    """
    app_type = record["type"]
    public = record["token_endpoint_auth_method"] == PUBLIC_METHOD
    if public and "client_credentials" in record["grant_types"]:
        raise _invalid("A public client (no secret) cannot use client_credentials.", "grant_types")
    if app_type == "machine_to_machine" and public:
        raise _invalid(
            "A machine_to_machine application must authenticate with a secret.",
            "token_endpoint_auth_method",
        )
    if (
        "refresh_token" in record["grant_types"]
        and "authorization_code" not in record["grant_types"]
    ):
        raise _invalid("refresh_token needs the authorization_code grant.", "grant_types")
    for field in ("redirect_uris", "post_logout_redirect_uris"):
        for uri in record[field]:
            _check_redirect_uri(uri, app_type, field)
    for origin in record["allowed_origins"]:
        parts = urlsplit(origin)
        if not (parts.scheme in {"http", "https"} and parts.hostname) or parts.path not in {
            "",
            "/",
        }:
            raise _invalid(f"{origin} is not an origin.", "allowed_origins", origin=origin)
    unknown = [s for s in record["allowed_scopes"] if s not in ALL_SCOPES]
    if unknown:
        raise _invalid(
            f"Unknown scope: {' '.join(unknown)}.", "allowed_scopes", unknown_scopes=unknown
        )


def _configure(client: OAuthClient, record: Record) -> None:
    """Make the authorization server's client follow the application record."""
    client.name = record["name"]
    client.grant_types = tuple(record["grant_types"])
    client.redirect_uris = tuple(record["redirect_uris"])
    client.allowed_scopes = tuple(record["allowed_scopes"])
    client.access_token_ttl = record["access_token_ttl_seconds"]
    refresh_ttl = record["refresh_token_ttl_seconds"]
    client.refresh_token_ttl = refresh_ttl if refresh_ttl is not None else _NEVER_EXPIRES
    client.auth_methods = (record["token_endpoint_auth_method"],)


def _require_application(ctx: Context) -> Record:
    tenant = ctx.sandbox.tenant
    _seed_records(tenant)
    application_id = ctx.path("application_id")
    record = tenant.applications.get(application_id)
    if record is None:
        raise not_found("application", application_id)
    return record


@router.operation("listApplications")
async def list_applications(ctx: Context) -> Response:
    """Newest first; optional ``type`` filter; never a secret."""
    tenant = ctx.sandbox.tenant
    _seed_records(tenant)
    app_type = ctx.query("type")
    entries = tenant.applications.sequenced(lambda a: not app_type or a["type"] == app_type)
    return ctx.page(entries, filters={"type": app_type})


@router.operation("createApplication")
async def create_application(ctx: Context) -> Response:
    """Register an OAuth client (201) and show its secret this once."""
    tenant = ctx.sandbox.tenant
    body = ctx.json()
    app_type = body["type"]
    public = app_type in PUBLIC_TYPES
    grants = body.get("grant_types") or _DEFAULT_GRANTS[app_type]
    # spa and native get "none", whatever was asked.
    method = (
        PUBLIC_METHOD if public else body.get("token_endpoint_auth_method") or "client_secret_basic"
    )
    if "refresh_token_ttl_seconds" in body:
        refresh_ttl = body["refresh_token_ttl_seconds"]
    else:
        refresh_ttl = _DEFAULT_REFRESH_TTL if "refresh_token" in grants else None
    now = tenant.clock.isoformat()
    secret = None if method == PUBLIC_METHOD else _new_client_secret()
    client_id = new_secret(15)  # 20 URL-safe characters
    record: Record = {
        "id": new_id("app"),
        "name": body["name"],
        "description": body.get("description"),
        "type": app_type,
        "client_id": client_id,
        "token_endpoint_auth_method": method,
        "grant_types": list(dict.fromkeys(grants)),
        "redirect_uris": list(body.get("redirect_uris") or []),
        "post_logout_redirect_uris": list(body.get("post_logout_redirect_uris") or []),
        "allowed_origins": list(body.get("allowed_origins") or []),
        "allowed_scopes": list(body.get("allowed_scopes") or _default_scopes(app_type)),
        "access_token_ttl_seconds": body.get("access_token_ttl_seconds") or 3600,
        "refresh_token_ttl_seconds": refresh_ttl,
        "secret_rotated_at": None if secret is None else now,
        "created_at": now,
        "updated_at": now,
    }
    _check(record)
    client = OAuthClient(
        client_id=client_id, client_secret=secret, name=record["name"], application_id=record["id"]
    )
    _configure(client, record)
    tenant.clients[client_id] = client
    tenant.applications.add(record["id"], record)
    return data_response(
        {**record, "client_secret": secret},
        status=201,
        headers={"Location": f"{ctx.sandbox.url}/api/v1/applications/{record['id']}"},
    )


@router.operation("getApplication")
async def get_application(ctx: Context) -> Response:
    """One application by id, without its secret."""
    return data_response(_require_application(ctx))


@router.operation("updateApplication")
async def update_application(ctx: Context) -> Response:
    """PATCH semantics; arrays are replaced whole; ``type`` and ``client_id`` never change."""
    tenant = ctx.sandbox.tenant
    record = _require_application(ctx)
    body = ctx.json()
    for immutable in ("type", "client_id"):
        if immutable in body and body[immutable] != record[immutable]:
            raise _invalid(f"{immutable} cannot change.", immutable)
    writable = (
        "name",
        "description",
        "allowed_scopes",
        "access_token_ttl_seconds",
        "refresh_token_ttl_seconds",
        *_LIST_FIELDS,
    )
    changed = {
        **record,
        **{k: body[k] for k in writable if k in body},
        "updated_at": tenant.clock.isoformat(),
    }
    _check(changed)
    client = tenant.clients.get(record["client_id"])
    if client is not None:
        _configure(client, changed)
    tenant.applications.replace(record["id"], changed)
    return data_response(changed)


@router.operation("deleteApplication")
async def delete_application(ctx: Context) -> Response:
    """Delete the application, revoke its tokens and end its sessions (204)."""
    tenant = ctx.sandbox.tenant
    record = _require_application(ctx)
    client_id = record["client_id"]
    tenant.applications.remove(record["id"])
    tenant.clients.pop(client_id, None)
    tenant.retiring_secrets.pop(client_id, None)
    for family in tenant.families.values():
        if family.client_id == client_id:
            ctx.sandbox.oauth.revoke_family(family.family_id)
    for issued in tenant.access_tokens.values():
        if issued.client_id == client_id:
            issued.revoked = True
    for code in [c for c, grant in tenant.codes.items() if grant.client_id == client_id]:
        del tenant.codes[code]
    for session in [s for s in tenant.sessions.values() if s.get("client_id") == client_id]:
        tenant.sessions.remove(session["id"])
    return no_content()


@router.operation("rotateApplicationSecret")
async def rotate_application_secret(ctx: Context) -> Response:
    """Issue a new secret; the old one works for ``grace_period_seconds`` (0: not at all).

    Emits ``application.secret_rotated`` (without the secret).
    """
    tenant = ctx.sandbox.tenant
    record = _require_application(ctx)
    client = tenant.clients.get(record["client_id"])
    if client is None or client.client_secret is None:
        raise ApiError(
            "conflict",
            "A public client has no secret to rotate.",
            details={"token_endpoint_auth_method": record["token_endpoint_auth_method"]},
        )
    grace = int((ctx.json() if ctx.body.strip() else {}).get("grace_period_seconds") or 0)
    now = tenant.clock.now()
    previous_expires_at = None
    if grace > 0:
        tenant.retiring_secrets[client.client_id] = (client.client_secret, now + grace)
        previous_expires_at = rfc3339(now + grace)
    else:
        tenant.retiring_secrets.pop(client.client_id, None)
    client.client_secret = _new_client_secret()
    issued_at = rfc3339(now)
    tenant.applications.replace(
        record["id"], {**record, "secret_rotated_at": issued_at, "updated_at": issued_at}
    )
    ctx.sandbox.webhooks.publish(
        "application.secret_rotated",
        {
            "application_id": record["id"],
            "client_id": client.client_id,
            "rotated_at": issued_at,
            "previous_secret_expires_at": previous_expires_at,
        },
    )
    return data_response(
        {
            "application_id": record["id"],
            "client_id": client.client_id,
            "client_secret": client.client_secret,
            "created_at": issued_at,
            "previous_secret_expires_at": previous_expires_at,
        }
    )


__all__ = ["PUBLIC_TYPES", "router"]
