"""``RedisTokenSetStore``: one user session's tokens shared by every worker, refreshed once.

Needs the ``redis`` extra and the asyncio backend. Each session is one key,
``<prefix>{<sha256 of the session key>}`` (the braces keep its lease in the same Redis
Cluster slot), holding the ``TokenSet`` as JSON (``TokenSet.as_dict``), sealed with
AES-256-GCM when a ``secret`` is given.

How ``refresh`` makes a fleet spend a refresh token once per expiry:

1. Read the stored token set. When it is no longer ``stale`` (``same_tokens``), another
   holder refreshed already: return it.
2. Take the session's lease: ``SET <key>:lease <random fencing token> NX PX <lease>``.
3. The lease holder reads the token set again (someone may have just stored a new one),
   spends the refresh token (within 80 % of the lease: a slower exchange is abandoned
   so that it can never overlap the next holder's), and writes the new token set with
   one Lua script that sets the key only while the lease still holds its fencing token.
   A holder whose lease ran out never overwrites what a later holder stored, and the
   value is one key written by one ``SET``: never half-written. Then it deletes the lease
   with a compare-and-delete (only its own).
4. Everyone else polls the key (5 ms, doubling up to 100 ms) until the token set is no
   longer ``stale`` and adopts it. When the lease is gone and the value is unchanged (the
   holder failed, or died), the next poll takes the lease and refreshes. Waiting on one
   holder is bounded by its lease plus a second: longer raises ``TokenStoreError``.

A holder killed mid-refresh delays the others by at most ``lease_seconds``. What happens
next depends on what the server did with the dead holder's request: if it never rotated
(the request did not arrive, or the server dropped it when the connection closed), the
next holder refreshes with the same refresh token and the session goes on; if it rotated,
the new refresh token died with the process (it was never stored), the next holder's
refresh is refused as a reuse, and every holder raises ``InvalidGrantError`` (the user
signs in again). The store can not tell the two apart beforehand; it never leaves a
half-written or older token set behind.

Redis unreachable: ``TokenStoreUnavailableError``, never a refresh made alone (it would
race the other holders against a rotating server).
"""

from __future__ import annotations

import hashlib
import logging
import math
import secrets
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Final, TypeVar

import anyio

from intelliauth_ext._errors import TokenStoreError, TokenStoreUnavailableError
from intelliauth_ext._redis_client import (
    RELEASE_LOCK,
    redis_client,
    redis_error_class,
    require_asyncio,
)
from intelliauth_ext._sealed import Sealer, SealingSecret
from intelliauth_ext._token_set import TokenSet
from intelliauth_ext._token_set_store import (
    MAX_STORED_BYTES,
    RefreshOnce,
    decode_token_set,
    encode_token_set,
    same_tokens,
)

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["DEFAULT_LEASE_SECONDS", "RedisTokenSetStore"]

logger: Final = logging.getLogger("intelliauth")

_T = TypeVar("_T")

#: How long a refresh lease lives: a holder killed mid-refresh delays the others this long.
DEFAULT_LEASE_SECONDS: Final = 10.0
#: The refresh exchange must end within this share of the lease (the rest is for storing).
_REFRESH_SHARE: Final = 0.8
#: Waiting for another holder may outlast its lease by this much (clocks, network).
_WAIT_MARGIN: Final = 1.0
_PURPOSE: Final = "intelliauth token set store v1"
_NOBODY: Final = object()  # before the first look at the lease

#: Sets KEYS[2] to ARGV[2] (with PX ARGV[3] when not empty) only while the lease KEYS[1]
#: holds our fencing token ARGV[1]: a holder that lost its lease writes nothing.
_FENCED_SET: Final = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
    return 0
end
if ARGV[3] ~= '' then
    redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
else
    redis.call('SET', KEYS[2], ARGV[2])
end
return 1
"""


class RedisTokenSetStore:
    """A ``TokenSetStore`` in Redis: every process serving a session refreshes it once.

    Args:
        redis: A ``redis.asyncio.Redis`` client (not closed by ``aclose``), or a URL such
            as ``redis://localhost:6379/0`` for a client this store owns.
        prefix: Prepended to every key this store writes.
        lease_seconds: How long a refresh lease lives (10 s by default). A holder killed
            mid-refresh delays the others this long; a refresh exchange must end within
            80 % of it (a slower one is abandoned). Keep ``RefreshingAuth``'s
            ``refresh_timeout`` at twice this or more, so that a waiter outlives a dead
            holder's lease and its own refresh.
        secret: Seal stored token sets with AES-256-GCM under this secret (at least 32
            bytes, the same in every process; a list during a rotation); None stores
            them as JSON, so protect Redis as you would the tokens.
        ttl: Seconds a session is kept after its last write; None keeps it until
            ``delete``.

    Raises:
        ImportError: The ``redis`` package is not installed.
        ValueError: A lease under one second, a secret shorter than 32 bytes, or a
            ``ttl`` that is not positive.
    """

    def __init__(
        self,
        redis: Redis | str,
        *,
        prefix: str = "intelliauth:session:",
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        secret: SealingSecret | None = None,
        ttl: float | None = None,
    ) -> None:
        self._error: type[Exception] = redis_error_class("RedisTokenSetStore")
        if not lease_seconds >= 1.0:
            raise ValueError("lease_seconds must be at least 1")
        if ttl is not None and not ttl > 0:
            raise ValueError("ttl must be positive (or None: no expiry)")
        self._sealer = Sealer(secret, purpose=_PURPOSE) if secret is not None else None
        self._redis, self._owns_client = redis_client(redis)
        self._prefix = prefix
        self.lease_seconds = float(lease_seconds)
        self._lease_ms = math.ceil(self.lease_seconds * 1000)
        self._ttl_ms = "" if ttl is None else str(max(1, math.ceil(ttl * 1000)))
        self._poll_interval = 0.005
        self._max_poll_interval = 0.1

    def __repr__(self) -> str:
        sealed = ", sealed" if self._sealer is not None else ""
        return (
            f"RedisTokenSetStore(prefix={self._prefix!r}, "
            f"lease_seconds={self.lease_seconds:g}{sealed})"
        )

    # -- TokenSetStore ---------------------------------------------------------------

    async def load(self, key: str) -> TokenSet | None:
        """The token set stored under ``key``; None when there is none.

        Raises:
            TokenStoreError: The stored value can not be read (corrupt, too large, or
                sealed with another secret).
            TokenStoreUnavailableError: Redis can not be reached.
        """
        return await self._guarded(lambda: self._read(self._value_key(key)))

    async def save(self, key: str, token_set: TokenSet) -> None:
        """Store ``token_set`` under ``key`` (after a sign-in), replacing what was there.

        Raises:
            TokenStoreUnavailableError: Redis can not be reached.
        """
        value_key = self._value_key(key)
        value = self._encoded(value_key, token_set)
        ttl_ms = int(self._ttl_ms) if self._ttl_ms else None

        async def write() -> None:
            await self._redis.set(value_key, value, px=ttl_ms)

        await self._guarded(write)

    async def delete(self, key: str) -> None:
        """Forget ``key`` (sign-out); no error when it is not there.

        Raises:
            TokenStoreUnavailableError: Redis can not be reached.
        """

        async def remove() -> None:
            await self._redis.delete(self._value_key(key))

        await self._guarded(remove)

    async def refresh(self, key: str, stale: TokenSet, refresh: RefreshOnce) -> TokenSet:
        """A token set newer than ``stale``: another holder's, or one refreshed under the lease.

        See the module documentation for the protocol.

        Raises:
            TokenStoreError: The stored value can not be read; another holder kept its
                lease longer than ``lease_seconds`` plus a second; or this holder's
                refresh outlasted 80 % of its lease (abandoned) or its lease ran out
                before the new token set was stored.
            TokenStoreUnavailableError: Redis can not be reached; nothing was refreshed,
                unless Redis failed after the exchange, while storing its result.
            InvalidGrantError, OAuthError, ...: What ``refresh`` raised.
        """
        return await self._guarded(lambda: self._refresh(key, stale, refresh))

    async def aclose(self) -> None:
        """Close the Redis client if this store made it (from a URL); idempotent."""
        if self._owns_client:
            self._owns_client = False
            await self._redis.aclose()

    # -- internals -------------------------------------------------------------------

    def _value_key(self, key: str) -> str:
        # Hashed: a session id is a credential, and key names are easy to list.
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
        return f"{self._prefix}{{{digest}}}"

    async def _guarded(self, operation: Callable[[], Awaitable[_T]]) -> _T:
        """Run ``operation``, a Redis error turned into ``TokenStoreUnavailableError``."""
        require_asyncio("RedisTokenSetStore")
        try:
            return await operation()
        except self._error as exc:
            raise TokenStoreUnavailableError(
                f"the token-set store (Redis) is unavailable: {type(exc).__name__}; "
                "no refresh was made without it"
            ) from exc

    def _encoded(self, value_key: str, token_set: TokenSet) -> str:
        text = encode_token_set(token_set)
        if self._sealer is None:
            return text
        return self._sealer.seal(text.encode("utf-8"), bound_to=value_key.encode("utf-8"))

    def _decoded(self, value_key: str, raw: object) -> TokenSet:
        if not isinstance(raw, bytes | str):
            raise TokenStoreError("the stored token set is not text")
        content: bytes | str = raw
        if self._sealer is not None:
            if len(raw) > 2 * MAX_STORED_BYTES:  # sealed: base64 and a nonce on top
                raise TokenStoreError("the stored token set is too long")
            opened = self._sealer.open(raw, bound_to=value_key.encode("utf-8"))
            if opened is None:
                raise TokenStoreError(
                    "the stored token set does not open with the store's secret "
                    "(altered, sealed with another secret, or stored unsealed)"
                )
            content = opened
        return decode_token_set(content, "the stored token set")

    async def _read(self, value_key: str) -> TokenSet | None:
        raw: Any = await self._redis.get(value_key)
        return None if raw is None else self._decoded(value_key, raw)

    async def _refresh(self, key: str, stale: TokenSet, refresh: RefreshOnce) -> TokenSet:
        value_key = self._value_key(key)
        lease_key = f"{value_key}:lease"
        delay = self._poll_interval
        holder: object = _NOBODY  # the fencing token of the lease we are waiting on
        wait_until = 0.0
        while True:
            current = await self._read(value_key)
            if current is not None and not same_tokens(current, stale):
                return current
            fencing_token = secrets.token_hex(16)
            if await self._redis.set(lease_key, fencing_token, nx=True, px=self._lease_ms):
                return await self._lead(value_key, lease_key, fencing_token, stale, refresh)
            seen: object = await self._redis.get(lease_key)
            if seen is None or seen != holder:  # a new holder, or none: a new lease to wait on
                holder = seen
                wait_until = anyio.current_time() + self.lease_seconds + _WAIT_MARGIN
            elif anyio.current_time() > wait_until:
                raise TokenStoreError(
                    f"another holder kept the session's refresh lease longer than "
                    f"{self.lease_seconds:g} s"
                )
            await anyio.sleep(delay)
            delay = min(delay * 2, self._max_poll_interval)

    async def _lead(
        self,
        value_key: str,
        lease_key: str,
        fencing_token: str,
        stale: TokenSet,
        refresh: RefreshOnce,
    ) -> TokenSet:
        """Refresh holding the lease: re-read, spend the refresh token, fenced write, release."""
        try:
            current = await self._read(value_key)  # stored just before we took the lease?
            if current is not None and not same_tokens(current, stale):
                return current
            # The exchange ends well inside the lease, so that it never overlaps the next
            # holder's: two refreshes with one refresh token revoke the family.
            with anyio.move_on_after(self.lease_seconds * _REFRESH_SHARE) as scope:
                fresh = await refresh(current if current is not None else stale)
            if scope.cancelled_caught:
                raise TokenStoreError(
                    f"the refresh took longer than {_REFRESH_SHARE:.0%} of the "
                    f"{self.lease_seconds:g} s lease and was abandoned"
                )
            written: Any = await self._redis.eval(
                _FENCED_SET,
                2,
                lease_key,
                value_key,
                fencing_token,
                self._encoded(value_key, fresh),
                self._ttl_ms,
            )
            if not written:
                raise TokenStoreError(
                    "the refresh lease ran out before the new token set was stored; "
                    "it was not written over a newer one"
                )
            return fresh
        finally:
            # Released even when cancelled: a held lease would stall the others until it
            # expires. Compare-and-delete: never another holder's lease.
            with anyio.move_on_after(self.lease_seconds, shield=True):
                try:
                    released: Any = self._redis.eval(RELEASE_LOCK, 1, lease_key, fencing_token)
                    await released
                except self._error as exc:
                    logger.warning(
                        "token-set store: could not release the refresh lease (it will expire): %s",
                        type(exc).__name__,
                    )
