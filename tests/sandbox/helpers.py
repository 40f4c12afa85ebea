"""Small helpers shared by the sandbox tests (bearer headers, PKCE pairs, redirects)."""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any

import httpx


def bearer(access_token: str) -> dict[str, str]:
    """The Authorization header for a bearer token."""
    return {"Authorization": f"Bearer {access_token}"}


def pkce_pair() -> tuple[str, str]:
    """A fresh (code_verifier, S256 code_challenge) pair (RFC 7636 section 4)."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def query_of(location: str) -> dict[str, Any]:
    """The query parameters of a redirect's Location."""
    return dict(httpx.URL(location).params)
