"""``RedisTokenCache``: one token, and one refresh, for a whole fleet of processes.

Needs the ``redis`` extra (``pip install 'intelliauth[redis]'``) and, because
``redis.asyncio`` is built on asyncio, the asyncio backend.

How ``get_or_fetch`` makes a fleet ask the token endpoint once:

1. Read the token; if it is usable, done (the common case: one ``GET``).
2. Try to take the refresh lock: ``SET <lock> <random value> NX PX <lock_timeout>``.
   The holder reads the token again (someone may have just refreshed), fetches a new
   one, stores it (``SET ... PX <lifetime>``) and releases the lock with a Lua
   compare-and-delete, so it can only ever delete its *own* lock.
3. Everyone else polls: sleep ``poll_interval``, doubling up to ``max_poll_interval``,
   read the token, and return it as soon as it is usable; else try the lock again. A
   holder that crashed can not block the fleet for longer than ``lock_timeout``, after
   which the lock expires and a waiter takes over.

Expiry is stored as wall-clock Unix time (``AccessToken.expires_at``): monotonic clocks
mean nothing across processes. Keys are ``<prefix><sha256 of the CacheKey>``; the stored
value is the token as JSON, so protect the Redis instance as you would the token itself.

When Redis is unreachable the cache degrades instead of failing the API call: it logs a
warning and fetches a token for this process alone.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Final

import anyio

from intelliauth_ext._auth._access_token import AccessToken
from intelliauth_ext._auth._cache import CacheKey
from intelliauth_ext._json import json_object
from intelliauth_ext._redis_client import (
    RELEASE_LOCK,
    redis_client,
    redis_error_class,
    require_asyncio,
)

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["RedisTokenCache"]

logger: Final = logging.getLogger("intelliauth")

#: Deletes the token KEYS[1] only if its access_token is still ARGV[1].
_DISCARD_IF_UNCHANGED: Final = """
local stored = redis.call('GET', KEYS[1])
if not stored then return 0 end
local ok, decoded = pcall(cjson.decode, stored)
if ok and type(decoded) == 'table' and decoded['access_token'] == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
"""


class RedisTokenCache:
    """A ``TokenCache`` in Redis, shared (with its refresh lock) by every process using it.

    Args:
        redis: A ``redis.asyncio.Redis`` client (not closed by ``aclose``), or a URL such
            as ``redis://localhost:6379/0`` for a client this cache owns.
        prefix: Prepended to every key this cache writes.
        lock_timeout: Seconds a refresh lock lives; a crashed holder delays the fleet at
            most this long. Keep it above the token request's own timeout.
        poll_interval: First wait of a process waiting for another's refresh.
        max_poll_interval: Longest wait between two looks (the wait doubles up to it).

    Raises:
        ImportError: The ``redis`` package is not installed.
    """

    def __init__(
        self,
        redis: Redis | str,
        *,
        prefix: str = "intelliauth:token:",
        lock_timeout: float = 30.0,
        poll_interval: float = 0.02,
        max_poll_interval: float = 0.5,
    ) -> None:
        self._error: type[Exception] = redis_error_class("RedisTokenCache")
        if lock_timeout <= 0 or poll_interval <= 0 or max_poll_interval < poll_interval:
            raise ValueError("need lock_timeout > 0 and 0 < poll_interval <= max_poll_interval")
        self._redis, self._owns_client = redis_client(redis)
        self._prefix = prefix
        self._lock_ms = max(1, int(lock_timeout * 1000))
        self._poll_interval = poll_interval
        self._max_poll_interval = max_poll_interval

    def _token_key(self, key: CacheKey) -> str:
        return f"{self._prefix}{key.digest()}"

    def _lock_key(self, key: CacheKey) -> str:
        return f"{self._prefix}{key.digest()}:lock"

    async def get(self, key: CacheKey) -> AccessToken | None:
        """The token stored under ``key``, or None (also for an unreadable entry)."""
        require_asyncio("RedisTokenCache")
        raw: Any = await self._redis.get(self._token_key(key))
        if raw is None:
            return None
        data = json_object(raw)
        return AccessToken.from_dict(data) if data is not None else None

    async def set(self, key: CacheKey, token: AccessToken) -> None:
        """Store ``token``; Redis drops it once its lifetime has passed."""
        require_asyncio("RedisTokenCache")
        ttl_ms = max(1, int(token.lifetime * 1000))
        await self._redis.set(self._token_key(key), json.dumps(token.as_dict()), px=ttl_ms)

    async def discard(self, key: CacheKey, token: AccessToken) -> None:
        """Delete the entry under ``key`` if it still holds ``token`` (one Lua script)."""
        require_asyncio("RedisTokenCache")
        try:
            await self._eval(_DISCARD_IF_UNCHANGED, self._token_key(key), token.access_token)
        except self._error as exc:
            logger.warning(
                "token cache: could not discard a rejected token: %s", type(exc).__name__
            )

    async def get_or_fetch(
        self,
        key: CacheKey,
        fetch: Callable[[], Awaitable[AccessToken]],
        usable: Callable[[AccessToken], bool],
    ) -> AccessToken:
        """A usable stored token, or one ``fetch`` for the whole fleet (see the module doc)."""
        require_asyncio("RedisTokenCache")
        try:
            cached = await self.get(key)
            if cached is not None and usable(cached):
                return cached
            lock_key = self._lock_key(key)
            lock_value = secrets.token_hex(16)
            delay = self._poll_interval
            while True:
                if await self._redis.set(lock_key, lock_value, nx=True, px=self._lock_ms):
                    return await self._fetch_holding_lock(key, lock_key, lock_value, fetch, usable)
                await anyio.sleep(delay)
                delay = min(delay * 2, self._max_poll_interval)
                cached = await self.get(key)
                if cached is not None and usable(cached):
                    return cached
        except self._error as exc:
            logger.warning(
                "token cache: Redis unavailable (%s); fetching a token for this process only",
                type(exc).__name__,
            )
            return await fetch()

    async def _fetch_holding_lock(
        self,
        key: CacheKey,
        lock_key: str,
        lock_value: str,
        fetch: Callable[[], Awaitable[AccessToken]],
        usable: Callable[[AccessToken], bool],
    ) -> AccessToken:
        try:
            cached = await self.get(key)  # someone may have refreshed just before we locked
            if cached is not None and usable(cached):
                return cached
            token = await fetch()
            try:
                await self.set(key, token)
            except self._error as exc:
                logger.warning("token cache: could not store a token: %s", type(exc).__name__)
            return token
        finally:
            # Released even when cancelled: a held lock would stall the fleet until it expires.
            with anyio.move_on_after(5.0, shield=True):
                try:
                    await self._eval(RELEASE_LOCK, lock_key, lock_value)
                except self._error as exc:
                    logger.warning(
                        "token cache: could not release the refresh lock (it will expire): %s",
                        type(exc).__name__,
                    )

    async def _eval(self, script: str, key: str, argument: str) -> None:
        result: Any = self._redis.eval(script, 1, key, argument)
        await result

    async def aclose(self) -> None:
        """Close the Redis client if this cache made it (from a URL); idempotent."""
        if self._owns_client:
            self._owns_client = False
            await self._redis.aclose()

    def __repr__(self) -> str:
        return f"RedisTokenCache(prefix={self._prefix!r})"
