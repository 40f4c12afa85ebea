"""Sign-in for first-party apps: password, the MFA branch (challenge, verify), sign-out.

A user with an active factor gets ``mfa_required`` with an ``mfa_flow_id`` (5 minutes,
five wrong codes at most); the sandbox reveals a TOTP factor's current code to tests
through ``Sandbox.totp_code(user_id)``, and the code a challenge sends to an SMS or email
factor goes to ``Sandbox.outbox``. The WebAuthn ceremonies (passkey sign-in, and the
MFA step of a ``webauthn`` factor) are in ``webauthn.py``.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from .._clock import parse_rfc3339, rfc3339
from .._envelopes import ApiError, data_response, no_content
from .._ids import new_id
from .._routing import Context, OperationRouter
from .._sign_in import FLOW_SECONDS, MAX_WRONG_CODES, complete_sign_in, sign_in_client
from .._tenant import Record, check_password
from .._totp import verify_totp
from .._users import render_factor, user_factors

router = OperationRouter()

DEFAULT_SIGN_IN_SCOPE = ("openid", "profile", "email", "offline_access")


@router.operation("signIn")
async def sign_in(ctx: Context) -> Response:
    """Password sign-in; ``mfa_required`` when the user has an active factor."""
    tenant = ctx.sandbox.tenant
    body = ctx.json()
    client, scope = sign_in_client(tenant, body, DEFAULT_SIGN_IN_SCOPE)
    user = tenant.user_by_email(str(body.get("email", "")))
    stored = tenant.passwords.get(user["id"]) if user is not None else None
    if user is None or stored is None or not check_password(str(body.get("password")), stored):
        raise ApiError("invalid_credentials", "Wrong email or password.")
    if user["status"] != "active":
        raise ApiError("account_locked", "This account cannot sign in.", status=403)
    factors = user_factors(tenant, user["id"], active_only=True)
    if not factors:
        return data_response(complete_sign_in(ctx, user, client.client_id, scope))
    now = tenant.clock.now()
    flow: Record = {
        "id": new_id("mfl"),
        "user_id": user["id"],
        "client_id": client.client_id,
        "scope": scope,
        "expires_at": rfc3339(now + FLOW_SECONDS),
        "wrong_codes": 0,
    }
    tenant.mfa_flows[flow["id"]] = flow
    return data_response(
        {
            "status": "mfa_required",
            "mfa_flow_id": flow["id"],
            "factors": [render_factor(f) for f in factors],
            "expires_at": flow["expires_at"],
        }
    )


def _open_flow(ctx: Context, body: dict[str, Any]) -> tuple[Record, Record]:
    """Return the live flow and the chosen factor of a challenge/verify body."""
    tenant = ctx.sandbox.tenant
    flow = tenant.mfa_flows.get(str(body.get("mfa_flow_id", "")))
    if flow is None:
        raise ApiError("not_found", "Unknown mfa_flow_id.")
    if parse_rfc3339(flow["expires_at"]) <= tenant.clock.now() or (
        flow["wrong_codes"] >= MAX_WRONG_CODES
    ):
        tenant.mfa_flows.pop(flow["id"], None)
        raise ApiError("flow_expired", "The sign-in expired; sign in again.")
    factor = tenant.factors.get(str(body.get("factor_id", "")))
    if factor is None or factor["user_id"] != flow["user_id"] or factor["status"] != "active":
        raise ApiError("not_found", "That factor is not one of this sign-in's factors.")
    return flow, factor


@router.operation("startMfaChallenge")
async def start_mfa_challenge(ctx: Context) -> Response:
    """Record the factor chosen; SMS and email get a code (TOTP: nothing is sent)."""
    sandbox = ctx.sandbox
    flow, factor = _open_flow(ctx, ctx.json())
    if factor["type"] == "webauthn":
        raise ApiError("validation_failed", "Use the WebAuthn authentication ceremony.")
    flow["factor_id"] = factor["id"]
    expires_at = flow["expires_at"]
    if factor["type"] in {"sms", "email"}:
        sent = sandbox.tenant.one_time_codes.send(
            factor,
            purpose="mfa_challenge",
            expires_at=parse_rfc3339(flow["expires_at"]),
            clock=sandbox.clock,
            outbox=sandbox.outbox,
        )
        expires_at = rfc3339(sent.expires_at)
    return data_response(
        {
            "mfa_flow_id": flow["id"],
            "factor_id": factor["id"],
            "factor_type": factor["type"],
            "hint": factor.get("hint"),
            "expires_at": expires_at,
        }
    )


def _code_is_right(ctx: Context, factor: Record, code: str) -> bool:
    """Whether ``code`` is the factor's: its TOTP code, or the code sent to SMS or email."""
    tenant = ctx.sandbox.tenant
    if factor["type"] == "totp":
        secret = tenant.totp_secrets.get(factor["id"])
        return secret is not None and verify_totp(secret, code, tenant.clock.now())
    return tenant.one_time_codes.check(
        factor["id"], code, purpose="mfa_challenge", clock=ctx.sandbox.clock
    )


@router.operation("verifyMfa")
async def verify_mfa(ctx: Context) -> Response:
    """Check the code and complete the sign-in."""
    tenant = ctx.sandbox.tenant
    body = ctx.json()
    flow, factor = _open_flow(ctx, body)
    if not _code_is_right(ctx, factor, str(body.get("code", ""))):
        flow["wrong_codes"] += 1
        raise ApiError("invalid_mfa_code", "The code is not right.")
    del tenant.mfa_flows[flow["id"]]
    tenant.factors.replace(factor["id"], {**factor, "last_used_at": tenant.clock.isoformat()})
    user = tenant.users.get(flow["user_id"])
    if user is None:
        raise ApiError("flow_expired", "The user no longer exists.")
    return data_response(complete_sign_in(ctx, user, flow["client_id"], flow["scope"]))


@router.operation("signOut")
async def sign_out(ctx: Context) -> Response:
    """End the token's session (or all the user's sessions); idempotent (204)."""
    tenant = ctx.sandbox.tenant
    user_id = ctx.user_id()
    body = ctx.json() if ctx.body.strip() else {}
    refresh_token = body.get("refresh_token")
    if isinstance(refresh_token, str):
        record = tenant.refresh_tokens.get(refresh_token)
        if record is not None and record.user_id == user_id:
            ctx.sandbox.oauth.revoke_family(record.family_id)
    if body.get("all_sessions"):
        sessions = [s for s in tenant.sessions.values() if s["user_id"] == user_id]
    else:
        current = tenant.sessions.get(str((ctx.claims or {}).get("sid", "")))
        sessions = [current] if current is not None else []
    for session in sessions:
        ctx.sandbox.oauth.end_session(session["id"])
    return no_content()
