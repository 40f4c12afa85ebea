"""``Clock``: where every part of the SDK reads the time and waits, so tests control time.

Two readings, for two jobs. ``monotonic()`` decides when something held by this process is
due (a token's refresh, the key set's re-fetch limit): it never jumps when NTP or an
operator moves the wall clock. ``time()`` (Unix seconds) is used where a time must mean
the same thing in another process or after a restart: token claims (``exp``, ``iat``), a
token's ``expires_at`` in a shared cache, a persisted ``TokenSet``, webhook timestamps.
``sleep`` waits on the monotonic clock (background refresh).

``SystemClock`` reads the real clocks. The sandbox's ``SandboxClock``
(``intelliauth_ext.testing``) is a ``Clock`` that tests move forward, so a client, a token
manager or an app given ``clock=sandbox.clock`` sees the sandbox's time.
"""

from __future__ import annotations

import time
from typing import Protocol, runtime_checkable

import anyio

__all__ = ["Clock", "SystemClock"]


@runtime_checkable
class Clock(Protocol):
    """Wall time, monotonic time and a sleep on the monotonic clock."""

    def time(self) -> float:
        """The wall clock, as Unix time in seconds."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes backwards (only differences mean anything)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` on the monotonic clock."""
        ...


class SystemClock:
    """The real clocks: ``time.time``, ``time.monotonic`` and ``anyio.sleep``."""

    def time(self) -> float:
        """``time.time()``."""
        return time.time()

    def monotonic(self) -> float:
        """``time.monotonic()``."""
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        """``anyio.sleep(seconds)``."""
        await anyio.sleep(seconds)

    def __repr__(self) -> str:
        return "SystemClock()"
