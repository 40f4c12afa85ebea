"""``InMemoryTokenCache``: tokens in a dict, refreshes made single-flight per key."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable

from intelliauth_ext._auth._access_token import AccessToken
from intelliauth_ext._auth._cache import CacheKey
from intelliauth_ext._single_flight import SingleFlight

__all__ = ["InMemoryTokenCache"]


class InMemoryTokenCache:
    """Tokens kept in this process; pass one instance to several managers to share them.

    Each ``ClientCredentials`` made without ``cache=`` gets its own instance.
    """

    def __init__(self) -> None:
        self._tokens: dict[CacheKey, AccessToken] = {}
        self._flights: dict[CacheKey, SingleFlight[tuple[AccessToken, bool]]] = {}

    async def get(self, key: CacheKey) -> AccessToken | None:
        """The token stored under ``key``, or None."""
        return self._tokens.get(key)

    async def set(self, key: CacheKey, token: AccessToken) -> None:
        """Store ``token`` under ``key``."""
        self._tokens[key] = token

    async def discard(self, key: CacheKey, token: AccessToken) -> None:
        """Remove the entry under ``key`` if it still holds ``token``."""
        current = self._tokens.get(key)
        if current is not None and current.access_token == token.access_token:
            del self._tokens[key]

    async def get_or_fetch(
        self,
        key: CacheKey,
        fetch: Callable[[], Awaitable[AccessToken]],
        usable: Callable[[AccessToken], bool],
    ) -> AccessToken:
        """A stored usable token, or one fetch shared by every concurrent caller of ``key``."""
        while True:
            cached = self._tokens.get(key)
            if cached is not None and usable(cached):
                return cached
            flight = self._flights.setdefault(key, SingleFlight())
            token, fetched = await flight.run(functools.partial(self._refill, key, fetch, usable))
            if fetched or usable(token):
                return token
            # Another manager's flight handed us a stored token this caller refuses (it
            # got a 401 with it); go round, and this time lead a flight of our own.

    async def _refill(
        self,
        key: CacheKey,
        fetch: Callable[[], Awaitable[AccessToken]],
        usable: Callable[[AccessToken], bool],
    ) -> tuple[AccessToken, bool]:
        cached = self._tokens.get(key)
        if cached is not None and usable(cached):
            return cached, False
        token = await fetch()
        self._tokens[key] = token  # only a complete token is ever stored
        return token, True

    def __repr__(self) -> str:
        return f"InMemoryTokenCache(<{len(self._tokens)} tokens>)"
