"""Users and their MFA factors as the routes serve them, over the tenant's records.

Creating a user record, the API views of a user and of a factor, a user's factors, and
the OIDC claims about a user: what the users, self-service, sign-in, WebAuthn and OAuth
routes (and ``Sandbox.add_user``) share.
"""

from __future__ import annotations

from typing import Any

from ._envelopes import ApiError
from ._ids import new_id
from ._tenant import Record, Tenant

__all__ = ["new_user_record", "render_factor", "render_user", "user_claims", "user_factors"]


def new_user_record(tenant: Tenant, fields: dict[str, Any]) -> Record:
    """Create a user from API fields and store it.

    Raises:
        ApiError: ``already_exists`` when the email is taken, ``validation_failed`` when
            there is no email.
    """
    email = fields.get("email")
    if not isinstance(email, str) or "@" not in email:
        raise ApiError("validation_failed", "email is required.", details={"field": "email"})
    if tenant.user_by_email(email) is not None:
        raise ApiError(
            "already_exists",
            f"A user with email {email} exists already.",
            details={"field": "email"},
        )
    now = tenant.clock.isoformat()
    user_id = new_id("usr")
    user: Record = {
        "id": user_id,
        "email": email,
        "email_verified": bool(fields.get("email_verified", False)),
        # `name` is required in User: default to the email's local part.
        "name": fields.get("name") or email.split("@", 1)[0],
        "given_name": fields.get("given_name"),
        "family_name": fields.get("family_name"),
        "phone_number": fields.get("phone_number"),
        "picture": fields.get("picture"),
        "locale": fields.get("locale"),
        "zoneinfo": fields.get("zoneinfo"),
        "status": fields.get("status") or "active",
        "metadata": dict(fields.get("metadata") or {}),
        "last_sign_in_at": None,
        "created_at": now,
        "updated_at": now,
    }
    return tenant.users.add(user_id, user)


def render_user(tenant: Tenant, user: Record) -> Record:
    """Return the API view of a user (``mfa_enrolled`` derived from their active factors)."""
    enrolled = any(
        f["user_id"] == user["id"] and f["status"] == "active" for f in tenant.factors.values()
    )
    return {**user, "mfa_enrolled": enrolled}


def user_claims(user: Record, scope: tuple[str, ...]) -> dict[str, Any]:
    """OIDC claims about ``user`` that ``scope`` releases (OIDC Core section 5.4)."""
    claims: dict[str, Any] = {}
    if "email" in scope:
        claims["email"] = user["email"]
        claims["email_verified"] = bool(user.get("email_verified"))
    if "profile" in scope:
        for name in ("name", "given_name", "family_name", "locale"):
            if user.get(name) is not None:
                claims[name] = user[name]
    return claims


def render_factor(factor: Record) -> Record:
    """The API view of an MFA factor (without the owner's id or enrolment bookkeeping)."""
    return {k: v for k, v in factor.items() if k not in {"user_id", "enrollment_expires_at"}}


def user_factors(tenant: Tenant, user_id: str, *, active_only: bool = False) -> list[Record]:
    """The user's MFA factors, oldest first."""
    return [
        f
        for f in tenant.factors.values()
        if f["user_id"] == user_id and (f["status"] == "active" or not active_only)
    ]
