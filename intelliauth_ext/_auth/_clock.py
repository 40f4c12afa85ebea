"""``Clock``: the time source of the token managers, so tests control time without sleeping.

Two readings, for two jobs. ``monotonic()`` decides when a token held by this process is
due for refresh: it never jumps when NTP or an operator moves the wall clock. ``time()``
(Unix seconds) is used only where a time must mean the same thing in another process or
after a restart: a token's ``expires_at`` in a shared cache, a persisted ``TokenSet``.
"""

from __future__ import annotations

import time
from typing import Protocol, runtime_checkable

import anyio

__all__ = ["Clock", "SystemClock"]


@runtime_checkable
class Clock(Protocol):
    """Where the token managers read the time and wait."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes backwards (only differences mean anything)."""
        ...

    def time(self) -> float:
        """The wall clock, as Unix time in seconds."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` on the monotonic clock (used by background refresh only)."""
        ...


class SystemClock:
    """The real clocks: ``time.monotonic``, ``time.time`` and ``anyio.sleep``."""

    def monotonic(self) -> float:
        """``time.monotonic()``."""
        return time.monotonic()

    def time(self) -> float:
        """``time.time()``."""
        return time.time()

    async def sleep(self, seconds: float) -> None:
        """``anyio.sleep(seconds)``."""
        await anyio.sleep(seconds)

    def __repr__(self) -> str:
        return "SystemClock()"
