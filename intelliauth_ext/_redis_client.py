"""What every Redis-backed store shares: the optional import, the asyncio check, the client.

``redis.asyncio`` is an extra (``pip install 'intelliauth[redis]'``) and runs on asyncio
only; each store says so plainly instead of failing deep inside redis-py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["RELEASE_LOCK", "redis_client", "redis_error_class", "require_asyncio"]

#: Deletes KEYS[1] only if it still holds ARGV[1]: releases our own lock, never another's.
RELEASE_LOCK: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
"""


def redis_error_class(what: str) -> type[Exception]:
    """``redis.exceptions.RedisError``, the root of every redis-py error.

    Raises:
        ImportError: The ``redis`` package is not installed (the message says which extra).
    """
    try:
        from redis.exceptions import RedisError
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            f"{what} needs the 'redis' package: pip install 'intelliauth[redis]'"
        ) from exc
    return RedisError


def require_asyncio(what: str) -> None:
    """Raise a clear ``RuntimeError`` unless an asyncio event loop is running.

    Raises:
        RuntimeError: Called outside asyncio (on trio, for one).
    """
    import asyncio  # only to detect the running loop

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        raise RuntimeError(
            f"{what} uses redis.asyncio, which needs the asyncio backend (it does not run on trio)"
        ) from None


def redis_client(redis: Redis | str) -> tuple[Redis, bool]:
    """The client for ``redis`` (a client, or a URL for a new one), and whether it is new.

    A store closes the clients it made, never one it was given.
    """
    if isinstance(redis, str):
        from redis.asyncio import Redis as RedisClient

        return RedisClient.from_url(redis), True
    return redis, False
