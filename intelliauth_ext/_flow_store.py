"""Where a started sign-in waits for its callback: the ``FlowStore`` protocol and its default.

``AuthorizationCodeFlow.start`` saves a ``PendingAuthorization`` (state, nonce, PKCE
verifier) under its ``state``; ``complete`` takes it back exactly once. A web application
that runs several processes, or restarts between the redirect and the callback, plugs in
a shared store (a database row, a Redis key with a TTL, an encrypted session) by writing
the two methods of ``FlowStore``. ``take`` must be atomic: get and delete in one step, so
a callback can not be replayed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final, Protocol

import attrs

__all__ = ["DEFAULT_MAX_PENDING", "FlowStore", "InMemoryFlowStore", "PendingAuthorization"]

#: The in-memory store keeps at most this many sign-ins in progress, dropping the oldest:
#: anyone can open the login page, so an unbounded store would be a memory leak on demand.
DEFAULT_MAX_PENDING: Final = 10_000


@attrs.frozen
class PendingAuthorization:
    """What a started sign-in must remember until its callback; ``repr`` hides the secrets.

    Attributes:
        state: The CSRF token sent in the authorization request (RFC 6749 section 10.12).
        nonce: The OpenID Connect nonce the ID token must echo.
        code_verifier: The PKCE verifier (RFC 7636).
        redirect_uri: The redirect URI the request used (the token request repeats it).
        expires_at: Unix time after which the callback is refused.
    """

    state: str = attrs.field(repr=False)
    nonce: str = attrs.field(repr=False)
    code_verifier: str = attrs.field(repr=False)
    redirect_uri: str
    expires_at: float


class FlowStore(Protocol):
    """Keeps pending sign-ins between ``start`` and ``complete``."""

    async def save(self, pending: PendingAuthorization) -> None:
        """Remember ``pending`` under ``pending.state`` until ``pending.expires_at``."""
        ...

    async def take(self, state: str) -> PendingAuthorization | None:
        """Remove and return the sign-in saved under ``state``; None if unknown or gone."""
        ...


class InMemoryFlowStore:
    """A per-process ``FlowStore``: a dict, expired entries purged, size bounded.

    Args:
        max_pending: The most sign-ins kept; the oldest is dropped beyond it.
        clock: Returns the current Unix time, for tests.
    """

    def __init__(
        self,
        *,
        max_pending: int = DEFAULT_MAX_PENDING,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if max_pending < 1:
            raise ValueError("max_pending must be at least 1")
        self._max_pending = max_pending
        self._clock = clock
        self._pending: dict[str, PendingAuthorization] = {}

    def __repr__(self) -> str:
        return f"InMemoryFlowStore({len(self._pending)} pending)"

    def __len__(self) -> int:
        return len(self._pending)

    async def save(self, pending: PendingAuthorization) -> None:
        """Remember ``pending``, purging expired entries and the oldest beyond the bound."""
        now = self._clock()
        for state in [s for s, p in self._pending.items() if p.expires_at <= now]:
            del self._pending[state]
        while len(self._pending) >= self._max_pending:
            del self._pending[next(iter(self._pending))]
        self._pending[pending.state] = pending

    async def take(self, state: str) -> PendingAuthorization | None:
        """Remove and return the entry for ``state`` (no await in between: atomic)."""
        return self._pending.pop(state, None)
