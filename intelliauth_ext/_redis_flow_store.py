"""``RedisFlowStore``: started sign-ins in Redis, so the callback may land on any worker.

A web app with several worker processes (or hosts) sends the browser to the login page
from one worker and receives the callback on another. ``AuthorizationCodeFlow`` keeps
what the callback needs (nonce, PKCE verifier, redirect URI, expiry) in its ``FlowStore``;
this one is shared by every worker through Redis.

- ``save`` writes one key per sign-in, ``<prefix><sha256 of the state>``, with the
  sign-in's own time to live (``expires_at``): Redis forgets abandoned sign-ins.
- ``take`` is one ``GETDEL`` (Redis 6.2 or later): get and delete in one step, so of two
  workers handed the same callback at once exactly one gets the sign-in, and a replayed
  callback finds nothing.
- The value is sealed (AES-256-GCM, ``Sealer``) with a secret the app provides and bound
  to its key: Redis never holds a PKCE verifier or a nonce in clear text, and a value that
  was altered, sealed with another secret or moved to another key is refused (``take``
  returns None, which ``complete`` reports as an ``InvalidCallbackError``, check
  ``replay``), never believed and never a raw exception.

Redis errors propagate as redis-py's ``RedisError``: a sign-in can not start or finish
without its store, and the framework turns the error into a 5xx.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from intelliauth_ext._flow_store import PendingAuthorization
from intelliauth_ext._json import json_object
from intelliauth_ext._redis_client import redis_client, redis_error_class, require_asyncio
from intelliauth_ext._sealed import Sealer, SealingSecret

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["RedisFlowStore"]

logger: Final = logging.getLogger("intelliauth")

#: A sealed sign-in is a few hundred bytes; anything far larger is not one of ours.
_MAX_VALUE_BYTES: Final = 16 * 1024
_PURPOSE: Final = "intelliauth flow store v1"


class RedisFlowStore:
    """A ``FlowStore`` in Redis: any worker completes a sign-in any worker started, once.

    Args:
        redis: A ``redis.asyncio.Redis`` client (not closed by ``aclose``), or a URL such
            as ``redis://localhost:6379/0`` for a client this store owns.
        secret: The app's secret that seals the stored sign-ins (at least 32 bytes, the
            same in every worker, e.g. ``secrets.token_urlsafe(32)`` kept in your secret
            manager); a list during a rotation: the first seals, every one opens.
        prefix: Prepended to every key this store writes.
        clock: Returns the current Unix time (the flow's clock, for tests).

    Raises:
        ImportError: The ``redis`` package is not installed.
        ValueError: No secret, or one shorter than 32 bytes.
    """

    def __init__(
        self,
        redis: Redis | str,
        *,
        secret: SealingSecret,
        prefix: str = "intelliauth:flow:",
        clock: Callable[[], float] = time.time,
    ) -> None:
        redis_error_class("RedisFlowStore")
        self._sealer = Sealer(secret, purpose=_PURPOSE)
        self._redis, self._owns_client = redis_client(redis)
        self._prefix = prefix
        self._clock = clock

    def __repr__(self) -> str:
        return f"RedisFlowStore(prefix={self._prefix!r})"

    def _key(self, state: str) -> str:
        # Hashed: a state in a key name would be readable by anyone who can list keys.
        return self._prefix + hashlib.sha256(state.encode("utf-8")).hexdigest()

    async def save(self, pending: PendingAuthorization) -> None:
        """Store ``pending``, sealed, until ``pending.expires_at`` (then Redis drops it)."""
        require_asyncio("RedisFlowStore")
        key = self._key(pending.state)
        plaintext = json.dumps(
            {
                "nonce": pending.nonce,
                "code_verifier": pending.code_verifier,
                "redirect_uri": pending.redirect_uri,
                "expires_at": pending.expires_at,
            }
        ).encode("utf-8")
        ttl_ms = max(1, math.ceil((pending.expires_at - self._clock()) * 1000))
        sealed = self._sealer.seal(plaintext, bound_to=key.encode("utf-8"))
        await self._redis.set(key, sealed, px=ttl_ms)

    async def take(self, state: str) -> PendingAuthorization | None:
        """Remove and return the sign-in saved under ``state`` (one ``GETDEL``).

        Returns:
            The sign-in; None when it is unknown, taken already, expired, or its value
            does not open with the app's secret (altered, or another app's).
        """
        require_asyncio("RedisFlowStore")
        key = self._key(state)
        raw: Any = await self._redis.getdel(key)
        if raw is None:
            return None
        pending = self._opened(raw, key, state)
        if pending is None:
            logger.warning("flow store: refused a stored sign-in that the secret does not open")
        return pending

    def _opened(self, raw: object, key: str, state: str) -> PendingAuthorization | None:
        if not isinstance(raw, bytes | str) or len(raw) > _MAX_VALUE_BYTES:
            return None
        plaintext = self._sealer.open(raw, bound_to=key.encode("utf-8"))
        data = json_object(plaintext) if plaintext is not None else None
        if data is None:
            return None
        nonce, verifier = data.get("nonce"), data.get("code_verifier")
        redirect_uri, expires_at = data.get("redirect_uri"), data.get("expires_at")
        if not (
            isinstance(nonce, str)
            and isinstance(verifier, str)
            and isinstance(redirect_uri, str)
            and isinstance(expires_at, int | float)
            and not isinstance(expires_at, bool)
            and math.isfinite(expires_at)
        ):
            return None
        return PendingAuthorization(
            state=state,
            nonce=nonce,
            code_verifier=verifier,
            redirect_uri=redirect_uri,
            expires_at=float(expires_at),
        )

    async def aclose(self) -> None:
        """Close the Redis client if this store made it (from a URL); idempotent."""
        if self._owns_client:
            self._owns_client = False
            await self._redis.aclose()
