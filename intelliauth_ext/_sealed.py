"""Values sealed at rest with a key the application provides: AES-256-GCM, bound to their key.

A shared store (Redis) holds what a sign-in or a session must remember between processes.
``Sealer`` encrypts and authenticates it, so that a reader of the store (a backup, a
replica, a ``MONITOR`` session) learns nothing, and a value that was altered, written by
another application, or copied under another key is refused instead of believed.

Format: base64url of ``b"\\x01" + 12-byte random nonce + AES-GCM ciphertext and tag``
(text, so a client that decodes responses reads it too), with the store key as
associated data. The AES key is ``HMAC-SHA256(secret, purpose)``: one secret of
the application serves several stores, each with a key of its own. Several secrets may
be given for a rotation: the first seals, every one opens.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import Sequence
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = ["MIN_SECRET_BYTES", "Sealer", "SealingSecret"]

#: The shortest secret accepted: 32 bytes, as many as the AES key it derives.
MIN_SECRET_BYTES: Final = 32
_VERSION: Final = b"\x01"
_NONCE_BYTES: Final = 12

SealingSecret = str | bytes | Sequence[str | bytes]
"""One secret, or several during a rotation (the first seals; every one opens)."""


def _secrets(secret: SealingSecret) -> list[bytes]:
    given = [secret] if isinstance(secret, str | bytes) else list(secret)
    if not given:
        raise ValueError("give at least one secret")
    encoded = [item.encode("utf-8") if isinstance(item, str) else bytes(item) for item in given]
    if any(len(item) < MIN_SECRET_BYTES for item in encoded):
        raise ValueError(
            f"a sealing secret must be at least {MIN_SECRET_BYTES} bytes "
            "(e.g. secrets.token_urlsafe(32))"
        )
    return encoded


class Sealer:
    """Seals and opens values with AES-256-GCM under keys derived from the app's secrets.

    Args:
        secret: The application's secret (at least 32 bytes), or several for a rotation.
        purpose: What the keys are for; different purposes derive different keys.

    Raises:
        ValueError: No secret, or one shorter than 32 bytes.
    """

    def __init__(self, secret: SealingSecret, *, purpose: str) -> None:
        self._ciphers = [
            AESGCM(hmac.new(item, purpose.encode("utf-8"), hashlib.sha256).digest())
            for item in _secrets(secret)
        ]

    def __repr__(self) -> str:
        return f"Sealer({len(self._ciphers)} key(s))"

    def seal(self, plaintext: bytes, *, bound_to: bytes) -> str:
        """``plaintext`` encrypted and authenticated, valid only under ``bound_to``."""
        nonce = os.urandom(_NONCE_BYTES)
        sealed = _VERSION + nonce + self._ciphers[0].encrypt(nonce, plaintext, bound_to)
        return base64.urlsafe_b64encode(sealed).decode("ascii")

    def open(self, text: str | bytes, *, bound_to: bytes) -> bytes | None:
        """The plaintext of ``text``; None when no key opens it under ``bound_to``."""
        try:
            sealed = base64.b64decode(text, altchars=b"-_", validate=True)
        except (binascii.Error, ValueError):  # not base64url, or not ASCII
            return None
        if len(sealed) < 1 + _NONCE_BYTES + 16 or not sealed.startswith(_VERSION):
            return None
        nonce, ciphertext = sealed[1 : 1 + _NONCE_BYTES], sealed[1 + _NONCE_BYTES :]
        for cipher in self._ciphers:
            try:
                return cipher.decrypt(nonce, ciphertext, bound_to)
            except InvalidTag:
                continue
        return None
