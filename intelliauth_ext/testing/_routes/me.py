"""Self-service for the signed-in user: profile, sessions, MFA factors, password.

Enrolling an SMS or email factor sends its first code to ``Sandbox.outbox``, as a tenant
would send it to the phone or the address.
"""

from __future__ import annotations

from starlette.responses import Response

from .._clock import parse_rfc3339, rfc3339
from .._envelopes import ApiError, data_response, no_content, not_found
from .._ids import new_id
from .._one_time_codes import mask_destination
from .._routing import Context, OperationRouter
from .._tenant import Record, check_password, hash_password
from .._totp import new_totp_secret, otpauth_uri, verify_totp
from .._users import render_factor, render_user

router = OperationRouter()

_PROFILE_FIELDS = ("name", "given_name", "family_name", "picture", "locale", "zoneinfo")
ENROLLMENT_SECONDS = 600


def render_session(session: Record, current_session_id: str | None) -> Record:
    """The API view of a session (without the sandbox's own user and client ids)."""
    hidden = {"user_id", "client_id"}
    return {
        **{k: v for k, v in session.items() if k not in hidden},
        "current": session["id"] == current_session_id,
    }


@router.operation("getMyProfile")
async def get_my_profile(ctx: Context) -> Response:
    """The signed-in user's own record (403 for a client token)."""
    user_id = ctx.user_id()
    return data_response(
        render_user(ctx.sandbox.tenant, ctx.sandbox.tenant.users.get(user_id) or {})
    )


@router.operation("updateMyProfile")
async def update_my_profile(ctx: Context) -> Response:
    """Change the profile fields a user may edit themselves."""
    tenant = ctx.sandbox.tenant
    user = tenant.users.get(ctx.user_id())
    assert user is not None
    body = ctx.json()
    changed = {
        **user,
        **{k: body[k] for k in _PROFILE_FIELDS if k in body},
        "updated_at": tenant.clock.isoformat(),
    }
    tenant.users.replace(user["id"], changed)
    return data_response(render_user(tenant, changed))


@router.operation("listMySessions")
async def list_my_sessions(ctx: Context) -> Response:
    """The user's sessions, newest first; the caller's own is marked ``current``."""
    user_id = ctx.user_id()
    current = (ctx.claims or {}).get("sid")
    entries = ctx.sandbox.tenant.sessions.sequenced(lambda s: s["user_id"] == user_id)
    return ctx.page(entries, render=lambda session: render_session(session, current))


@router.operation("revokeMySession")
async def revoke_my_session(ctx: Context) -> Response:
    """End one of the user's sessions and revoke its tokens (204)."""
    user_id = ctx.user_id()
    session_id = ctx.path("session_id")
    session = ctx.sandbox.tenant.sessions.get(session_id)
    if session is None or session["user_id"] != user_id:
        raise not_found("session", session_id)
    ctx.sandbox.oauth.end_session(session["id"])
    return no_content()


@router.operation("listMyMfaFactors")
async def list_my_mfa_factors(ctx: Context) -> Response:
    """The user's factors, active and pending."""
    user_id = ctx.user_id()
    entries = ctx.sandbox.tenant.factors.sequenced(lambda f: f["user_id"] == user_id)
    return ctx.page(entries, render=render_factor)


_DEFAULT_FACTOR_NAMES = {"totp": "Authenticator app", "sms": "Phone", "email": "Email"}


@router.operation("enrollMfaFactor")
async def enroll_mfa_factor(ctx: Context) -> Response:
    """Start an enrolment (201): TOTP shows its secret once; SMS and email get a code."""
    sandbox = ctx.sandbox
    tenant = sandbox.tenant
    user_id = ctx.user_id()
    body = ctx.json()
    factor_type = body.get("type")
    if factor_type not in _DEFAULT_FACTOR_NAMES:
        raise ApiError(
            "validation_failed",
            "type must be totp, sms or email (passkeys use the WebAuthn ceremony).",
            details={"fields": {"type": "not an enrollable factor type"}},
        )
    destination = str(body.get("phone_number") or body.get("email") or "")
    codes = tenant.one_time_codes
    if factor_type != "totp":
        mine = [f["id"] for f in tenant.factors.values() if f["user_id"] == user_id]
        field = "phone_number" if factor_type == "sms" else "email"
        if codes.destination_taken(mine, destination):
            raise ApiError(
                "already_exists",
                f"That {field.replace('_', ' ')} is one of your factors already.",
                details={"field": field},
            )
    now = tenant.clock.now()
    factor_id = new_id("mfa")
    factor: Record = {
        "id": factor_id,
        "user_id": user_id,
        "type": factor_type,
        "status": "pending_verification",
        "name": body.get("name") or _DEFAULT_FACTOR_NAMES[factor_type],
        "hint": None if factor_type == "totp" else mask_destination(factor_type, destination),
        "created_at": rfc3339(now),
        "last_used_at": None,
        "enrollment_expires_at": rfc3339(now + ENROLLMENT_SECONDS),
    }
    tenant.factors.add(factor_id, factor)
    secret: str | None = None
    uri: str | None = None
    if factor_type == "totp":
        secret = new_totp_secret()
        tenant.totp_secrets[factor_id] = secret
        user = tenant.users.get(user_id) or {}
        uri = otpauth_uri(secret, account=str(user.get("email")), issuer="IntelliAuth")
    else:
        codes.destinations[factor_id] = destination
        codes.send(
            factor,
            purpose="mfa_enrollment",
            expires_at=now + ENROLLMENT_SECONDS,
            clock=sandbox.clock,
            outbox=sandbox.outbox,
        )
    enrollment = {
        "factor": render_factor(factor),
        "secret": secret,
        "otpauth_uri": uri,
        "expires_at": factor["enrollment_expires_at"],
    }
    return data_response(enrollment, status=201)


def _my_factor(ctx: Context) -> Record:
    factor_id = ctx.path("factor_id")
    factor = ctx.sandbox.tenant.factors.get(factor_id)
    if factor is None or factor["user_id"] != ctx.user_id():
        raise not_found("MFA factor", factor_id)
    return factor


@router.operation("verifyMfaFactorEnrollment")
async def verify_mfa_factor_enrollment(ctx: Context) -> Response:
    """Activate a pending factor with its first code."""
    tenant = ctx.sandbox.tenant
    factor = _my_factor(ctx)
    if factor["status"] == "active":
        raise ApiError("conflict", "This factor is already active.")
    if parse_rfc3339(factor["enrollment_expires_at"]) <= tenant.clock.now():
        raise ApiError("flow_expired", "The enrolment expired; enrol the factor again.")
    code = str(ctx.json().get("code", ""))
    if factor["type"] == "totp":
        right = verify_totp(tenant.totp_secrets[factor["id"]], code, tenant.clock.now())
    else:
        right = tenant.one_time_codes.check(
            factor["id"], code, purpose="mfa_enrollment", clock=ctx.sandbox.clock
        )
    if not right:
        raise ApiError("invalid_mfa_code", "The code is not right.")
    activated = {**factor, "status": "active", "last_used_at": tenant.clock.isoformat()}
    tenant.factors.replace(factor["id"], activated)
    return data_response(render_factor(activated))


@router.operation("deleteMfaFactor")
async def delete_mfa_factor(ctx: Context) -> Response:
    """Remove a factor (204)."""
    tenant = ctx.sandbox.tenant
    factor = _my_factor(ctx)
    tenant.factors.remove(factor["id"])
    tenant.totp_secrets.pop(factor["id"], None)
    tenant.one_time_codes.forget(factor["id"])
    return no_content()


@router.operation("changeMyPassword")
async def change_my_password(ctx: Context) -> Response:
    """Check the current password, set the new one, end every other session (204)."""
    tenant = ctx.sandbox.tenant
    user_id = ctx.user_id()
    body = ctx.json()
    stored = tenant.passwords.get(user_id)
    if stored is None or not check_password(str(body.get("current_password", "")), stored):
        raise ApiError("invalid_credentials", "The current password is wrong.", status=403)
    new_password = str(body.get("new_password", ""))
    if len(new_password) < 12:
        raise ApiError(
            "validation_failed",
            "The new password is too short.",
            details={"fields": {"new_password": "at least 12 characters"}},
        )
    tenant.passwords[user_id] = hash_password(new_password)
    current = (ctx.claims or {}).get("sid")
    for session in [s for s in tenant.sessions.values() if s["user_id"] == user_id]:
        if session["id"] != current:
            ctx.sandbox.oauth.end_session(session["id"])
    return no_content()
