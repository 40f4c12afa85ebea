"""Time-based one-time passwords (RFC 6238 over RFC 4226 HOTP), SHA-1, 6 digits, 30 s."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct

STEP_SECONDS = 30
DIGITS = 6


def new_totp_secret() -> str:
    """Return a new base32 secret (160 bits, the RFC 4226 section 4 recommendation)."""
    return base64.b32encode(secrets.token_bytes(20)).decode("ascii").rstrip("=")


def hotp(secret: str, counter: int, *, digits: int = DIGITS) -> str:
    """Return the HOTP value of ``counter`` (RFC 4226 section 5.3, dynamic truncation)."""
    padded = secret.upper() + "=" * (-len(secret) % 8)
    key = base64.b32decode(padded)
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    code = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(code % 10**digits).zfill(digits)


def totp(secret: str, timestamp: float, *, step: int = STEP_SECONDS) -> str:
    """Return the TOTP code at ``timestamp`` (RFC 6238 section 4.2: T = floor(t / X))."""
    return hotp(secret, int(timestamp // step))


def verify_totp(secret: str, code: str, timestamp: float, *, window: int = 1) -> bool:
    """Check ``code`` against the current step and ``window`` steps either side (RFC 6238 5.2)."""
    counter = int(timestamp // STEP_SECONDS)
    return any(
        hmac.compare_digest(hotp(secret, counter + drift), code)
        for drift in range(-window, window + 1)
    )


def otpauth_uri(secret: str, *, account: str, issuer: str) -> str:
    """Return the ``otpauth://`` provisioning URI authenticator apps scan."""
    from urllib.parse import quote, urlencode

    label = quote(f"{issuer}:{account}")
    query = urlencode(
        {"secret": secret, "issuer": issuer, "digits": DIGITS, "period": STEP_SECONDS}
    )
    return f"otpauth://totp/{label}?{query}"
