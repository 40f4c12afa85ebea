"""First-party sign-in, as the password and the passkey routes share it.

The application signing a user in and its scopes, the limits of an ``mfa_required``
flow, and the end of every successful sign-in: a session, its tokens, and a
``SignInAuthenticated`` result.
"""

from __future__ import annotations

from typing import Any, Final

from ._envelopes import ApiError
from ._oauth import split_scope
from ._routing import Context
from ._tenant import OAuthClient, Record, Tenant
from ._users import render_user

__all__ = ["FLOW_SECONDS", "MAX_WRONG_CODES", "complete_sign_in", "sign_in_client"]

#: How long an ``mfa_required`` flow lives.
FLOW_SECONDS: Final = 300
#: Wrong codes (or failed passkey assertions) an MFA flow survives.
MAX_WRONG_CODES: Final = 5


def complete_sign_in(ctx: Context, user: Record, client_id: str, scope: tuple[str, ...]) -> Record:
    """Open a session, issue its tokens, and return a SignInAuthenticated result."""
    sandbox = ctx.sandbox
    tenant = sandbox.tenant
    client = tenant.clients[client_id]
    session = tenant.new_session(
        user["id"],
        client_id=client_id,
        user_agent=ctx.request.headers.get("user-agent"),
        ip_address=ctx.request.client.host if ctx.request.client else None,
    )
    family = sandbox.oauth.new_family(client, user["id"], session["id"])
    tokens = sandbox.oauth.issue(
        client,
        scope,
        user_id=user["id"],
        family=family,
        with_refresh="offline_access" in scope,
        auth_time=int(tenant.clock.now()),
    )
    signed_in = {**user, "last_sign_in_at": tenant.clock.isoformat()}
    tenant.users.replace(user["id"], signed_in)
    return {
        "status": "authenticated",
        "user": render_user(tenant, signed_in),
        "session_id": session["id"],
        "tokens": tokens,
    }


def sign_in_client(
    tenant: Tenant, body: dict[str, Any], default_scope: tuple[str, ...]
) -> tuple[OAuthClient, tuple[str, ...]]:
    """The application signing a user in, and the scopes asked for (``default_scope`` if none).

    Raises:
        ApiError: ``invalid_request`` for an unknown ``client_id`` or a scope the client may
            not have.
    """
    client = tenant.clients.get(str(body.get("client_id", "")))
    if client is None:
        raise ApiError("invalid_request", "Unknown client_id.", details={"field": "client_id"})
    scope = split_scope(body.get("scope")) or default_scope
    refused = [s for s in scope if s not in client.allowed_scopes]
    if refused:
        raise ApiError(
            "invalid_request",
            f"Scope not allowed for this client: {' '.join(refused)}.",
            details={"field": "scope"},
        )
    return client, scope
