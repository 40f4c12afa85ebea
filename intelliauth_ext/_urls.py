"""The URL rule for anything credentials are sent to: ``https://``, or ``http://`` on loopback.

One check, ``require_secure_url``, for tenant URLs, token endpoints, issuers, the endpoints
a discovery document names, and redirect URIs. Callers with rules of their own (a tenant
URL carries no query) add them after it.
"""

from __future__ import annotations

import ipaddress
from typing import Final

import httpx

from intelliauth_ext._errors import InsecureURLError
from intelliauth_ext._shown import shown

__all__ = ["is_loopback", "require_secure_url"]

_LOOPBACK_NAMES: Final = frozenset({"localhost", "localhost.localdomain"})


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine: 127.0.0.0/8, ``::1``, ``localhost`` (RFC 6761).

    Plain ``http://`` is accepted only for these, for local sandboxes and tests: nothing
    sent there crosses a network.
    """
    name = host.lower()
    if name in _LOOPBACK_NAMES or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def require_secure_url(url: str | httpx.URL, what: str) -> httpx.URL:
    """Parse ``url`` and check it is ``https://``, or ``http://`` on a loopback host.

    Args:
        url: The URL to check.
        what: What the URL is, for messages (``"tenant URL"``, ``"token URL"`` ...).

    Returns:
        The parsed URL, unchanged.

    Raises:
        InsecureURLError: Any other scheme, or ``http://`` to a host that is not loopback:
            tokens and secrets would travel in clear text. It is also a ``ValueError``.
        ValueError: Not a valid URL, or a URL without a host.
        TypeError: ``url`` is neither a ``str`` nor an ``httpx.URL``.
    """
    # Imported here: _logging is not needed to import the package (see _errors).
    from intelliauth_ext._logging import redact_url

    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise ValueError(f"the {what} is not a valid URL: {exc}") from exc
    secure = parsed.scheme == "https" or (parsed.scheme == "http" and is_loopback(parsed.host))
    if not secure:
        raise InsecureURLError(
            f"the {what} must start with https:// (got {shown(redact_url(parsed))}); plain http "
            "would send client secrets and tokens in clear text, and is only accepted for "
            "loopback hosts (127.0.0.1, ::1, localhost)"
        )
    if not parsed.host:
        raise ValueError(f"the {what} has no host: {shown(redact_url(parsed))}")
    return parsed
