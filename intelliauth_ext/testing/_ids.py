"""Identifiers: prefixed, sortable, ULID-shaped (`usr_01J9ZQ...`), and opaque secrets."""

from __future__ import annotations

import secrets
import time

# Crockford's base32 alphabet, as ULIDs use it (no I, L, O, U).
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def ulid() -> str:
    """Return a new 26-character ULID: 48 bits of milliseconds, then 80 random bits."""
    value = (int(time.time() * 1000) << 80) | secrets.randbits(80)
    chars = []
    for _ in range(26):
        value, index = divmod(value, 32)
        chars.append(_CROCKFORD[index])
    return "".join(reversed(chars))


def new_id(prefix: str) -> str:
    """Return a resource id such as ``usr_01J9ZQ4M6T8W2X3Y4Z5A6B7C8D``."""
    return f"{prefix}_{ulid()}"


def new_secret(nbytes: int = 32) -> str:
    """Return a URL-safe random secret (client secrets, refresh tokens, codes)."""
    return secrets.token_urlsafe(nbytes)
