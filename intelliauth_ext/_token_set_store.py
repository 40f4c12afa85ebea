"""Where a user's ``TokenSet`` lives between calls, processes and restarts: ``TokenSetStore``.

``RefreshingAuth(store=..., store_key=...)`` keeps the session's tokens in a store instead
of only in its own memory: it loads them on first use, and every refresh goes through
``TokenSetStore.refresh``, which decides who may spend the refresh token. That one method
is the seam: a rotating server (a refresh token is good for one use) revokes the whole
token family when the same refresh token is sent twice, so every holder of one session
(two tasks, two worker processes, two hosts, two runs of a command-line tool) must refresh
through the same gate and adopt what the first one stored.

Implementations: ``InMemoryTokenSetStore`` (one process), ``RedisTokenSetStore`` (a fleet,
with a lease), and the native-app stores (a keyring entry or a user-only file).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Final, Protocol

import anyio

from intelliauth_ext._errors import TokenStoreError
from intelliauth_ext._json import json_object
from intelliauth_ext._token_set import TokenSet

__all__ = [
    "MAX_STORED_BYTES",
    "InMemoryTokenSetStore",
    "RefreshOnce",
    "TokenSetStore",
    "decode_token_set",
    "encode_token_set",
    "refresh_if_stale",
    "same_tokens",
]

#: The most bytes of a stored token set any store reads (three JWTs are a few kilobytes).
MAX_STORED_BYTES: Final = 64 * 1024

#: Spends ``token_set``'s refresh token once and returns the new token set.
RefreshOnce = Callable[[TokenSet], Awaitable[TokenSet]]


def same_tokens(a: TokenSet, b: TokenSet) -> bool:
    """Whether ``a`` and ``b`` are the same issue of a session (same access and refresh token)."""
    return a.access_token == b.access_token and a.refresh_token == b.refresh_token


def encode_token_set(token_set: TokenSet) -> str:
    """``token_set`` as the JSON text every store keeps (``TokenSet.as_dict``)."""
    return json.dumps(token_set.as_dict())


def decode_token_set(content: bytes | str, where: str) -> TokenSet:
    """The token set ``encode_token_set`` wrote, read back from ``where`` (for messages).

    Raises:
        TokenStoreError: ``content`` is over ``MAX_STORED_BYTES``, or not a token set
            (the message names ``where``, never the content).
    """
    if len(content) > MAX_STORED_BYTES:
        raise TokenStoreError(f"{where} is longer than {MAX_STORED_BYTES} bytes")
    data = json_object(content)
    access_token = data.get("access_token") if data is not None else None
    if data is None or not isinstance(access_token, str) or not access_token:
        raise TokenStoreError(f"{where} does not hold a token set; sign in again")
    try:
        return TokenSet.from_dict(data)
    except Exception:  # from_dict raises OAuthError for an "error" member
        raise TokenStoreError(f"{where} does not hold a token set; sign in again") from None


async def refresh_if_stale(
    store: TokenSetStore, key: str, stale: TokenSet, refresh: RefreshOnce
) -> TokenSet:
    """``TokenSetStore.refresh`` for a caller that holds the key's lock.

    Returns what is stored when it is no longer ``stale`` (another holder refreshed, or
    the user signed in again); otherwise refreshes the latest stored set and stores the
    result.
    """
    current = await store.load(key)
    if current is not None and not same_tokens(current, stale):
        return current
    fresh = await refresh(current if current is not None else stale)
    await store.save(key, fresh)
    return fresh


class TokenSetStore(Protocol):
    """Keeps one token set per key (a session id, a profile name) and gates its refreshes."""

    async def load(self, key: str) -> TokenSet | None:
        """The token set stored under ``key``; None when there is none."""
        ...

    async def save(self, key: str, token_set: TokenSet) -> None:
        """Store ``token_set`` under ``key`` (after a sign-in), replacing what was there."""
        ...

    async def delete(self, key: str) -> None:
        """Forget ``key`` (sign-out); no error when it is not there."""
        ...

    async def refresh(self, key: str, stale: TokenSet, refresh: RefreshOnce) -> TokenSet:
        """A token set newer than ``stale``: the one another holder stored since, or a new one.

        Only one holder of ``key`` runs ``refresh`` at a time, given the latest stored token
        set (``stale`` when nothing is stored); its result is stored before anyone else
        reads the key. When the stored token set is no longer ``stale`` (``same_tokens``),
        another holder refreshed already (or the user signed in again) and it is returned
        without spending the refresh token.
        """
        ...


class InMemoryTokenSetStore:
    """A ``TokenSetStore`` for one process: a dict, one lock per key while refreshing."""

    def __init__(self) -> None:
        self._sets: dict[str, TokenSet] = {}
        self._locks: dict[str, anyio.Lock] = {}

    def __repr__(self) -> str:
        return f"InMemoryTokenSetStore({len(self._sets)} sessions)"

    def __len__(self) -> int:
        return len(self._sets)

    async def load(self, key: str) -> TokenSet | None:
        """The token set stored under ``key``; None when there is none."""
        return self._sets.get(key)

    async def save(self, key: str, token_set: TokenSet) -> None:
        """Store ``token_set`` under ``key``."""
        self._sets[key] = token_set

    async def delete(self, key: str) -> None:
        """Forget ``key``."""
        self._sets.pop(key, None)

    async def refresh(self, key: str, stale: TokenSet, refresh: RefreshOnce) -> TokenSet:
        """See ``TokenSetStore.refresh``; concurrent callers of one key queue on its lock."""
        lock = self._locks.setdefault(key, anyio.Lock())
        try:
            async with lock:
                return await refresh_if_stale(self, key, stale, refresh)
        finally:
            if not lock.locked() and lock.statistics().tasks_waiting == 0:
                self._locks.pop(key, None)
