"""The connection-pool limits every transport of the SDK starts from."""

from __future__ import annotations

from typing import Final

import httpx

__all__ = ["DEFAULT_LIMITS"]

#: httpx's own default pool size, kept for whichever transport the client picks.
DEFAULT_LIMITS: Final = httpx.Limits(max_connections=100, max_keepalive_connections=20)
