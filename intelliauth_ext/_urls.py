"""Which hosts count as loopback: the one exception to "https only" for tenants and issuers."""

from __future__ import annotations

import ipaddress
from typing import Final

__all__ = ["is_loopback"]

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
