"""WebAuthn (passkey) ceremonies: registration for the signed-in user, and authentication
as a passwordless sign-in or as the second factor of an ``mfa_required`` sign-in.

The relying party is the sandbox's issuer URL (:attr:`Sandbox.url`), read when a ceremony
starts: the RP id is its host and the only accepted origin its ``scheme://host[:port]``,
so ``sandbox.intelliauth.local`` / ``http://sandbox.intelliauth.local`` in process and
``127.0.0.1`` / ``http://127.0.0.1:<port>`` when served (browsers refuse an IP address as
RP id: serve with ``host="localhost"`` to try passkeys in a real browser). Tests use
``tests/sandbox/webauthn_authenticator.py``'s ``SoftAuthenticator.for_issuer(sandbox.url)``.

A ceremony (``wac_...``) lives 5 minutes and is verified once: its id is spent by the
first verify call, whether or not the credential checks out (the challenge is single-use,
WebAuthn section 13.4.3), and a spent, unknown or expired ceremony is 400
``flow_expired``. A registration that does not verify is 422 ``validation_failed``; an
assertion that does not is 401 ``invalid_credentials`` (and, in an MFA flow, counts as one
of its five wrong attempts). A passwordless sign-in asks for user verification (the
passkey is both factors); the MFA step and registration only prefer it.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from webauthn.helpers import bytes_to_base64url

from .._clock import parse_rfc3339, rfc3339
from .._envelopes import ApiError, data_response
from .._ids import new_id
from .._routing import Context, OperationRouter
from .._sign_in import MAX_WRONG_CODES, complete_sign_in, sign_in_client
from .._tenant import Record, Tenant
from .._users import render_factor
from .._webauthn import (
    CEREMONY_SECONDS,
    SUPPORTED_ALGORITHMS,
    Ceremony,
    CeremonyKind,
    CeremonyRefused,
    PasskeyCredential,
    RelyingParty,
    credential_id_of,
    verify_assertion,
    verify_registration,
)

router = OperationRouter()

PASSKEY_SIGN_IN_SCOPE = ("openid", "profile", "email")
DEFAULT_FACTOR_NAME = "Passkey"


def _live_credentials(tenant: Tenant, user_id: str) -> list[PasskeyCredential]:
    """The user's credentials whose factor still exists and is active (deleting the
    factor through deleteMfaFactor retires the credential)."""
    live = []
    for credential in tenant.webauthn.credentials_of(user_id):
        factor = tenant.factors.get(credential.factor_id)
        if factor is not None and factor["status"] == "active":
            live.append(credential)
    return live


def _spend_ceremony(ctx: Context, ceremony_id: str, kind: CeremonyKind) -> Ceremony:
    """Remove and return the live ceremony ``ceremony_id`` of ``kind``.

    Raises:
        ApiError: 400 ``flow_expired`` when it is unknown, spent, of the other kind, or
            expired (an expired one is forgotten too).
    """
    tenant = ctx.sandbox.tenant
    ceremony = tenant.webauthn.ceremonies.get(ceremony_id)
    details = {"ceremony_id": ceremony_id}
    if ceremony is None or ceremony.kind != kind:
        raise ApiError(
            "flow_expired",
            "No such WebAuthn ceremony (it expired or was used); start a new one.",
            details=details,
        )
    if kind == "registration" and ceremony.user_id != ctx.user_id():
        # Another user's ceremony: as unknown, and left alone for its owner.
        raise ApiError("flow_expired", "No such WebAuthn ceremony; start one.", details=details)
    del tenant.webauthn.ceremonies[ceremony_id]
    if ceremony.expires_at <= tenant.clock.now():
        raise ApiError(
            "flow_expired", "The WebAuthn ceremony expired; start a new one.", details=details
        )
    return ceremony


def _live_flow(tenant: Tenant, flow_id: str) -> Record:
    """Return the live MFA flow ``flow_id`` (as auth.py's flows: 5 minutes, 5 failures).

    Raises:
        ApiError: 400 ``flow_expired`` for an unknown, expired or exhausted flow.
    """
    flow = tenant.mfa_flows.get(flow_id)
    if flow is not None and (
        parse_rfc3339(flow["expires_at"]) <= tenant.clock.now()
        or flow["wrong_codes"] >= MAX_WRONG_CODES
    ):
        tenant.mfa_flows.pop(flow_id, None)
        flow = None
    if flow is None:
        raise ApiError(
            "flow_expired",
            "The MFA flow has expired; sign in again.",
            details={"mfa_flow_id": flow_id},
        )
    return flow


def _options_envelope(ceremony: Ceremony, public_key: dict[str, Any]) -> Response:
    return data_response(
        {
            "ceremony_id": ceremony.ceremony_id,
            "public_key": {
                **public_key,
                "challenge": ceremony.challenge_text,
                "timeout": CEREMONY_SECONDS * 1000,
            },
            "expires_at": rfc3339(ceremony.expires_at),
        }
    )


@router.operation("getWebAuthnRegistrationOptions")
async def get_webauthn_registration_options(ctx: Context) -> Response:
    """Start registering a passkey for the signed-in user: the creation options."""
    tenant = ctx.sandbox.tenant
    user_id = ctx.user_id()
    user = tenant.users.get(user_id) or {}
    body = ctx.json() if ctx.body.strip() else {}
    relying_party = RelyingParty.of_issuer(ctx.sandbox.url)
    ceremony = tenant.webauthn.open(
        "registration",
        relying_party,
        tenant.clock.now(),
        user_verification="preferred",
        user_id=user_id,
    )
    selection: dict[str, Any] = {"residentKey": "preferred", "userVerification": "preferred"}
    if body.get("authenticator_attachment") is not None:
        selection["authenticatorAttachment"] = body["authenticator_attachment"]
    email = str(user.get("email", ""))
    public_key = {
        "rp": {"id": relying_party.id, "name": relying_party.name},
        "user": {
            "id": bytes_to_base64url(tenant.webauthn.user_handle(user_id)),
            "name": email,
            "displayName": str(user.get("name") or email),
        },
        "pubKeyCredParams": [{"type": "public-key", "alg": int(a)} for a in SUPPORTED_ALGORITHMS],
        "excludeCredentials": [c.descriptor() for c in _live_credentials(tenant, user_id)],
        "authenticatorSelection": selection,
        "attestation": "none",
    }
    return _options_envelope(ceremony, public_key)


@router.operation("verifyWebAuthnRegistration")
async def verify_webauthn_registration(ctx: Context) -> Response:
    """Verify the attestation and store the credential as an active webauthn factor (201)."""
    tenant = ctx.sandbox.tenant
    body = ctx.json()
    ceremony = _spend_ceremony(ctx, str(body.get("ceremony_id", "")), "registration")
    credential = body.get("credential") or {}
    try:
        verified = verify_registration(ceremony, credential)
    except CeremonyRefused as exc:
        raise ApiError(
            "validation_failed",
            "The passkey registration did not verify.",
            details={"fields": {"/credential": str(exc)}},
        ) from exc
    existing = tenant.webauthn.credentials.get(verified.credential_id)
    if existing is not None and existing in _live_credentials(tenant, existing.user_id):
        raise ApiError(
            "validation_failed",
            "This passkey is registered already.",
            details={"fields": {"/credential/id": "already registered"}},
        )
    now = tenant.clock.isoformat()
    factor: Record = {
        "id": new_id("mfa"),
        "user_id": ceremony.user_id,
        "type": "webauthn",
        "status": "active",
        "name": body.get("name") or DEFAULT_FACTOR_NAME,
        "hint": None,
        "created_at": now,
        "last_used_at": None,
    }
    tenant.factors.add(factor["id"], factor)
    transports = credential.get("response", {}).get("transports") or ()
    tenant.webauthn.credentials[verified.credential_id] = PasskeyCredential(
        credential_id=verified.credential_id,
        factor_id=factor["id"],
        user_id=str(ceremony.user_id),
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        transports=tuple(str(t) for t in transports),
    )
    return data_response(render_factor(factor), status=201)


@router.operation("getWebAuthnAuthenticationOptions")
async def get_webauthn_authentication_options(ctx: Context) -> Response:
    """Start a passkey sign-in (``client_id``) or an MFA step (``mfa_flow_id``)."""
    tenant = ctx.sandbox.tenant
    body = ctx.json()
    relying_party = RelyingParty.of_issuer(ctx.sandbox.url)
    now = tenant.clock.now()
    if ("mfa_flow_id" in body) == ("client_id" in body):
        raise ApiError(
            "validation_failed",
            "Send either mfa_flow_id (an MFA step) or client_id (a passkey sign-in).",
            details={"fields": {"/mfa_flow_id": "exactly one of mfa_flow_id and client_id"}},
        )
    if "mfa_flow_id" in body:
        flow = _live_flow(tenant, str(body["mfa_flow_id"]))
        allowed = _live_credentials(tenant, flow["user_id"])
        if not allowed:
            raise ApiError(
                "validation_failed",
                "This sign-in has no passkey factor.",
                details={"fields": {"/mfa_flow_id": "the user has no active webauthn factor"}},
            )
        ceremony = tenant.webauthn.open(
            "authentication",
            relying_party,
            now,
            user_verification="preferred",
            user_id=flow["user_id"],
            mfa_flow_id=flow["id"],
            client_id=flow["client_id"],
            scope=tuple(flow["scope"]),
        )
    else:
        client, scope = sign_in_client(tenant, body, PASSKEY_SIGN_IN_SCOPE)
        user = tenant.user_by_email(str(body["email"])) if "email" in body else None
        # An unknown email gets an empty list, as a known one without passkeys does, so
        # the answer does not tell whether the email exists; its ceremony matches nobody.
        allowed = _live_credentials(tenant, user["id"]) if user is not None else []
        ceremony = tenant.webauthn.open(
            "authentication",
            relying_party,
            now,
            user_verification="required",
            user_id=user["id"] if user is not None else None,
            matches_nobody="email" in body and user is None,
            client_id=client.client_id,
            scope=scope,
        )
    public_key = {
        "rpId": relying_party.id,
        "allowCredentials": [c.descriptor() for c in allowed],
        "userVerification": ceremony.user_verification,
    }
    return _options_envelope(ceremony, public_key)


def _credential_for(
    tenant: Tenant, ceremony: Ceremony, credential: dict[str, Any]
) -> PasskeyCredential:
    """Return the stored credential an assertion names, if the ceremony may use it.

    Raises:
        CeremonyRefused: unknown or retired credential, another user's, or a user handle
            that is missing (discoverable sign-in) or not the credential owner's
            (WebAuthn section 7.2 step 6).
    """
    credential_id = credential_id_of(credential)
    stored = tenant.webauthn.credentials.get(credential_id) if credential_id else None
    if stored is None or stored not in _live_credentials(tenant, stored.user_id):
        raise CeremonyRefused("unknown credential")
    if ceremony.matches_nobody or (
        ceremony.user_id is not None and stored.user_id != ceremony.user_id
    ):
        raise CeremonyRefused("the credential is not one of this ceremony's")
    user_handle = (credential.get("response") or {}).get("userHandle")
    if user_handle is None and ceremony.user_id is None:
        raise CeremonyRefused("a discoverable credential sign-in needs the userHandle")
    if user_handle is not None and user_handle != bytes_to_base64url(
        tenant.webauthn.user_handle(stored.user_id)
    ):
        raise CeremonyRefused("the userHandle is not the credential owner's")
    return stored


@router.operation("verifyWebAuthnAuthentication")
async def verify_webauthn_authentication(ctx: Context) -> Response:
    """Verify the assertion and complete the sign-in, as an ``authenticated`` signIn."""
    tenant = ctx.sandbox.tenant
    body = ctx.json()
    ceremony = _spend_ceremony(ctx, str(body.get("ceremony_id", "")), "authentication")
    flow = _live_flow(tenant, ceremony.mfa_flow_id) if ceremony.mfa_flow_id else None
    credential = body.get("credential") or {}
    try:
        stored = _credential_for(tenant, ceremony, credential)
        verified = verify_assertion(ceremony, credential, stored)
    except CeremonyRefused as exc:
        if flow is not None:
            flow["wrong_codes"] += 1
        # The reason helps a test see which check failed; a production server keeps it.
        raise ApiError(
            "invalid_credentials",
            "The passkey assertion did not verify.",
            details={"reason": str(exc)},
        ) from exc
    stored.sign_count = verified.new_sign_count
    factor = tenant.factors.get(stored.factor_id)
    assert factor is not None  # _credential_for checked it is live
    tenant.factors.replace(factor["id"], {**factor, "last_used_at": tenant.clock.isoformat()})
    user = tenant.users.get(stored.user_id)
    if user is None:
        raise ApiError("invalid_credentials", "The passkey's user no longer exists.")
    if user["status"] != "active":
        raise ApiError("account_locked", "This account cannot sign in.", status=403)
    if flow is not None:
        del tenant.mfa_flows[flow["id"]]
    if ceremony.client_id not in tenant.clients:
        raise ApiError("invalid_request", "The client of this sign-in no longer exists.")
    return data_response(complete_sign_in(ctx, user, ceremony.client_id, ceremony.scope))
