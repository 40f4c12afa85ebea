"""A software WebAuthn authenticator and client for tests: ES256 keys, "none" attestation.

It plays both the browser (it writes ``clientDataJSON`` with its ``origin``) and the
authenticator (it signs ``authenticatorData`` for its ``rp_id``), and answers with the
``PublicKeyCredential.toJSON()`` shapes the contract's verify requests take::

    authenticator = SoftAuthenticator.for_issuer(sandbox.url)
    credential = authenticator.create(options["public_key"])    # registration
    assertion = authenticator.get(options["public_key"])        # authentication

It makes none of a browser's checks on purpose, so tests can forge what a browser would
refuse: a wrong ``origin`` or ``rp_id`` (the RP id hash), a missing user-verification
flag (``user_verified=False``), or a counter moved back (``credential.sign_count``).
Key material never leaves the object except through :attr:`credentials`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import struct
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import attrs
import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

ES256 = -7
# Authenticator data flags (WebAuthn section 6.1).
FLAG_USER_PRESENT = 0x01
FLAG_USER_VERIFIED = 0x04
FLAG_ATTESTED_CREDENTIAL_DATA = 0x40
NO_AAGUID = bytes(16)  # "none" attestation may zero the AAGUID (section 8.7)


def b64url(data: bytes) -> str:
    """Base64url without padding, as WebAuthn's JSON forms use it."""
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def b64url_decode(text: str) -> bytes:
    """Decode base64url with or without padding."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@attrs.define(repr=False)
class SoftCredential:
    """One credential the authenticator holds (a discoverable one: it keeps the user handle)."""

    credential_id: bytes
    rp_id: str
    user_handle: bytes
    private_key: ec.EllipticCurvePrivateKey
    sign_count: int = 0

    @property
    def id(self) -> str:
        """The credential id, base64url (the ``id`` of the JSON forms)."""
        return b64url(self.credential_id)

    def __repr__(self) -> str:
        return f"SoftCredential(id={self.id!r}, rp_id={self.rp_id!r}, sign_count={self.sign_count})"

    def cose_public_key(self) -> bytes:
        """The public key as a COSE_Key (EC2, P-256, ES256; RFC 9053 section 7.1.1)."""
        numbers = self.private_key.public_key().public_numbers()
        return cbor2.dumps(
            {
                1: 2,  # kty: EC2
                3: ES256,  # alg
                -1: 1,  # crv: P-256
                -2: numbers.x.to_bytes(32, "big"),
                -3: numbers.y.to_bytes(32, "big"),
            }
        )


@attrs.define
class SoftAuthenticator:
    """A platform authenticator with its client, for one origin and RP id.

    ``SoftAuthenticator(origin, rp_id, user_verified=True)``, or
    ``SoftAuthenticator.for_issuer(sandbox.url)``.

    Attributes:
        origin: what ``clientDataJSON.origin`` says (``scheme://host[:port]``).
        rp_id: the RP id whose SHA-256 starts ``authenticatorData``.
        user_verified: set the UV flag (a fingerprint or PIN check passed); UP is always set.
        credentials: the credentials it holds, one per ``create()``.
    """

    origin: str
    rp_id: str
    user_verified: bool = True
    credentials: list[SoftCredential] = attrs.field(factory=list)

    @classmethod
    def for_issuer(cls, issuer: str, **options: Any) -> SoftAuthenticator:
        """An authenticator for the sandbox (or tenant) at ``issuer``: its origin and host."""
        parts = urlsplit(issuer)
        assert parts.hostname is not None, issuer
        return cls(origin=f"{parts.scheme}://{parts.netloc}", rp_id=parts.hostname, **options)

    def create(self, public_key: Mapping[str, Any]) -> dict[str, Any]:
        """Answer ``navigator.credentials.create({publicKey})``: a new ES256 credential.

        Args:
            public_key: the ``PublicKeyCredentialCreationOptions`` JSON (``public_key`` of
                getWebAuthnRegistrationOptions).

        Returns:
            The ``WebAuthnRegistrationCredential`` JSON, with "none" attestation.

        Raises:
            ValueError: ES256 is not offered, or a credential of ``excludeCredentials`` is
                held already (a real authenticator's InvalidStateError).
        """
        if not any(p.get("alg") == ES256 for p in public_key["pubKeyCredParams"]):
            raise ValueError("the authenticator only makes ES256 credentials")
        excluded = {d["id"] for d in public_key.get("excludeCredentials", [])}
        if any(c.id in excluded for c in self.credentials):
            raise ValueError("a credential for this account is on this authenticator already")
        credential = SoftCredential(
            credential_id=secrets.token_bytes(32),
            rp_id=self.rp_id,
            user_handle=b64url_decode(public_key["user"]["id"]),
            private_key=ec.generate_private_key(ec.SECP256R1()),
        )
        attested = (
            NO_AAGUID
            + struct.pack(">H", len(credential.credential_id))
            + credential.credential_id
            + credential.cose_public_key()
        )
        authenticator_data = (
            self._authenticator_data(credential, FLAG_ATTESTED_CREDENTIAL_DATA) + attested
        )
        attestation_object = cbor2.dumps(
            {"fmt": "none", "attStmt": {}, "authData": authenticator_data}
        )
        self.credentials.append(credential)
        return {
            "id": credential.id,
            "rawId": credential.id,
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "response": {
                "clientDataJSON": b64url(self._client_data("webauthn.create", public_key)),
                "attestationObject": b64url(attestation_object),
                "transports": ["internal"],
            },
        }

    def get(self, public_key: Mapping[str, Any]) -> dict[str, Any]:
        """Answer ``navigator.credentials.get({publicKey})``: an assertion, counter + 1.

        Uses the first held credential of ``allowCredentials``, or with an empty list
        (a discoverable sign-in) the first credential for this authenticator's RP id.

        Args:
            public_key: the ``PublicKeyCredentialRequestOptions`` JSON (``public_key`` of
                getWebAuthnAuthenticationOptions).

        Returns:
            The ``WebAuthnAuthenticationCredential`` JSON (with ``userHandle``).

        Raises:
            LookupError: no held credential fits.
        """
        allowed = {d["id"] for d in public_key.get("allowCredentials", [])}
        credential = next(
            (
                c
                for c in self.credentials
                if (c.id in allowed if allowed else c.rp_id == self.rp_id)
            ),
            None,
        )
        if credential is None:
            raise LookupError("no credential on this authenticator fits the request")
        credential.sign_count += 1
        authenticator_data = self._authenticator_data(credential, 0)
        client_data = self._client_data("webauthn.get", public_key)
        signature = credential.private_key.sign(
            authenticator_data + hashlib.sha256(client_data).digest(),
            ec.ECDSA(hashes.SHA256()),
        )
        return {
            "id": credential.id,
            "rawId": credential.id,
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "response": {
                "clientDataJSON": b64url(client_data),
                "authenticatorData": b64url(authenticator_data),
                "signature": b64url(signature),
                "userHandle": b64url(credential.user_handle),
            },
        }

    def _authenticator_data(self, credential: SoftCredential, extra_flags: int) -> bytes:
        # rpIdHash (32) | flags (1) | signCount (4, big-endian): section 6.1.
        flags = FLAG_USER_PRESENT | extra_flags
        if self.user_verified:
            flags |= FLAG_USER_VERIFIED
        rp_id_hash = hashlib.sha256(self.rp_id.encode("utf-8")).digest()
        return rp_id_hash + bytes([flags]) + struct.pack(">I", credential.sign_count)

    def _client_data(self, ceremony_type: str, public_key: Mapping[str, Any]) -> bytes:
        # Section 5.8.1: the browser's record of what was asked, by whom.
        client_data = {
            "type": ceremony_type,
            "challenge": public_key["challenge"],
            "origin": self.origin,
            "crossOrigin": False,
        }
        return json.dumps(client_data, separators=(",", ":")).encode("utf-8")
