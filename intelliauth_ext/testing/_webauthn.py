"""WebAuthn relying-party state and checks: ceremonies in progress, registered passkeys.

The sandbox is the relying party of its own issuer URL: the origin is the issuer's
``scheme://host[:port]`` and the RP id its host (``sandbox.intelliauth.local`` in process,
``127.0.0.1`` when served). Verification is py_webauthn's (Duo Labs): challenge, origin,
RP id hash, user presence (and verification when required), the attestation statement
(``none``, ``packed``...) at registration, and at sign-in the signature with the stored
public key and a sign counter that must grow (WebAuthn Level 2 sections 7.1 and 7.2).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Mapping
from typing import Any, Literal
from urllib.parse import urlsplit

import attrs
from cryptography.exceptions import InvalidSignature
from webauthn import verify_authentication_response, verify_registration_response
from webauthn.authentication.verify_authentication_response import VerifiedAuthentication
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url, generate_user_handle
from webauthn.helpers.cose import COSEAlgorithmIdentifier
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.registration.verify_registration_response import VerifiedRegistration

from ._ids import new_id

CEREMONY_SECONDS = 300
CHALLENGE_BYTES = 32  # the contract's size; section 13.4.3 asks for at least 16
RP_NAME = "IntelliAuth sandbox"
# Offered in this order (the contract's example order): ES256, EdDSA, RS256.
SUPPORTED_ALGORITHMS: tuple[COSEAlgorithmIdentifier, ...] = (
    COSEAlgorithmIdentifier.ECDSA_SHA_256,
    COSEAlgorithmIdentifier.EDDSA,
    COSEAlgorithmIdentifier.RSASSA_PKCS1_v1_5_SHA_256,
)

CeremonyKind = Literal["registration", "authentication"]
UserVerification = Literal["required", "preferred", "discouraged"]


class CeremonyRefused(Exception):
    """A registration or assertion that does not verify; the message says why."""


@attrs.frozen
class RelyingParty:
    """Who the credentials are scoped to: the RP id and the one origin accepted."""

    id: str
    name: str
    origin: str

    @classmethod
    def of_issuer(cls, issuer: str) -> RelyingParty:
        """Return the relying party of a tenant URL (``http://127.0.0.1:8080`` -> ``127.0.0.1``)."""
        parts = urlsplit(issuer)
        if not parts.scheme or not parts.hostname:
            raise ValueError(f"not an absolute URL: {issuer!r}")
        return cls(id=parts.hostname, name=RP_NAME, origin=f"{parts.scheme}://{parts.netloc}")


@attrs.define
class Ceremony:
    """One registration or authentication ceremony, from its options to its single verify."""

    ceremony_id: str
    kind: CeremonyKind
    challenge: bytes
    relying_party: RelyingParty
    expires_at: float
    user_verification: UserVerification
    # The user the ceremony is for: the signed-in user (registration), the MFA flow's user,
    # or the ``email`` user of a passkey sign-in; None for a discoverable passkey sign-in.
    user_id: str | None = None
    # A passkey sign-in restricted by ``email`` to a user who does not exist matches nobody.
    matches_nobody: bool = False
    mfa_flow_id: str | None = None
    client_id: str | None = None
    scope: tuple[str, ...] = ()

    @property
    def challenge_text(self) -> str:
        """The challenge as the options carry it (base64url, no padding)."""
        return bytes_to_base64url(self.challenge)


@attrs.define
class PasskeyCredential:
    """A registered credential: what the API never shows (the key and the counter)."""

    credential_id: bytes
    factor_id: str
    user_id: str
    public_key: bytes  # COSE_Key, as the authenticator sent it
    sign_count: int
    transports: tuple[str, ...] = ()

    def descriptor(self) -> dict[str, Any]:
        """The ``WebAuthnCredentialDescriptor`` of this credential."""
        descriptor: dict[str, Any] = {
            "type": "public-key",
            "id": bytes_to_base64url(self.credential_id),
        }
        if self.transports:
            descriptor["transports"] = list(self.transports)
        return descriptor


@attrs.define
class WebAuthnState:
    """The tenant's ceremonies, credentials (by credential id) and user handles."""

    ceremonies: dict[str, Ceremony] = attrs.field(factory=dict)
    credentials: dict[bytes, PasskeyCredential] = attrs.field(factory=dict)
    _user_handles: dict[str, bytes] = attrs.field(factory=dict)  # user id -> handle

    def user_handle(self, user_id: str) -> bytes:
        """Return the user's opaque handle, made once: never the ``usr_`` id, which it must
        not reveal (WebAuthn section 14.6.1)."""
        handle = self._user_handles.get(user_id)
        if handle is None:
            handle = generate_user_handle()  # 64 random bytes, as section 14.6.1 recommends
            self._user_handles[user_id] = handle
        return handle

    def credentials_of(self, user_id: str) -> Iterator[PasskeyCredential]:
        """The user's credentials, oldest first."""
        return (c for c in self.credentials.values() if c.user_id == user_id)

    def open(
        self,
        kind: CeremonyKind,
        relying_party: RelyingParty,
        now: float,
        *,
        user_verification: UserVerification,
        user_id: str | None = None,
        matches_nobody: bool = False,
        mfa_flow_id: str | None = None,
        client_id: str | None = None,
        scope: tuple[str, ...] = (),
    ) -> Ceremony:
        """Start a ceremony with a fresh 32-byte challenge, valid ``CEREMONY_SECONDS``
        (and forget the ceremonies that expired unverified)."""
        for expired in [c for c in self.ceremonies.values() if c.expires_at <= now]:
            del self.ceremonies[expired.ceremony_id]
        ceremony = Ceremony(
            ceremony_id=new_id("wac"),
            kind=kind,
            challenge=secrets.token_bytes(CHALLENGE_BYTES),
            relying_party=relying_party,
            expires_at=now + CEREMONY_SECONDS,
            user_verification=user_verification,
            user_id=user_id,
            matches_nobody=matches_nobody,
            mfa_flow_id=mfa_flow_id,
            client_id=client_id,
            scope=scope,
        )
        self.ceremonies[ceremony.ceremony_id] = ceremony
        return ceremony


def credential_id_of(credential: Mapping[str, Any]) -> bytes | None:
    """The raw credential id of a ``PublicKeyCredential`` JSON, or None when malformed."""
    raw_id = credential.get("rawId")
    if not isinstance(raw_id, str):
        return None
    try:
        return base64url_to_bytes(raw_id)
    except ValueError:
        return None


def verify_registration(ceremony: Ceremony, credential: Mapping[str, Any]) -> VerifiedRegistration:
    """Verify a ``create()`` result against the ceremony.

    Raises:
        CeremonyRefused: the attestation does not verify (type, challenge, origin, RP id
            hash, user presence, algorithm, attestation statement).
    """
    relying_party = ceremony.relying_party
    try:
        return verify_registration_response(
            credential=dict(credential),
            expected_challenge=ceremony.challenge,
            expected_rp_id=relying_party.id,
            expected_origin=relying_party.origin,
            require_user_verification=ceremony.user_verification == "required",
            supported_pub_key_algs=list(SUPPORTED_ALGORITHMS),
        )
    except (WebAuthnException, ValueError) as exc:
        raise CeremonyRefused(str(exc)) from exc


def verify_assertion(
    ceremony: Ceremony, credential: Mapping[str, Any], stored: PasskeyCredential
) -> VerifiedAuthentication:
    """Verify a ``get()`` result against the ceremony and the stored credential.

    Raises:
        CeremonyRefused: the assertion does not verify (type, challenge, origin, RP id hash,
            flags, signature, or a sign counter that did not grow: a cloned authenticator).
    """
    relying_party = ceremony.relying_party
    try:
        return verify_authentication_response(
            credential=dict(credential),
            expected_challenge=ceremony.challenge,
            expected_rp_id=relying_party.id,
            expected_origin=relying_party.origin,
            credential_public_key=stored.public_key,
            credential_current_sign_count=stored.sign_count,
            require_user_verification=ceremony.user_verification == "required",
        )
    except (WebAuthnException, InvalidSignature, ValueError) as exc:
        raise CeremonyRefused(str(exc) or type(exc).__name__) from exc
