"""The sandbox's clock: a ``Clock`` (``intelliauth_ext._clock``) that tests move forward.

It reads the real clocks plus an offset that only ``advance`` changes, so that a test can
expire tokens, age TOTP steps and make webhook retries due without waiting. Being a
``Clock``, it can be handed to the SDK too (``clock=sandbox.clock``): a token verifier, a
token manager or an app then lives on the sandbox's time.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import anyio
import anyio.lowlevel
import attrs

__all__ = ["SandboxClock", "parse_rfc3339", "rfc3339"]


@attrs.define
class SandboxClock:
    """Wall and monotonic time that tests can advance (token expiry, TOTP steps, retries).

    ``advance`` moves both readings, and wakes tasks in ``sleep`` whose time has come.
    Call it from the thread of the event loop they sleep in (the test's own).
    """

    _offset: float = 0.0
    _sleepers: list[anyio.Event] = attrs.field(factory=list, init=False, repr=False, eq=False)

    def time(self) -> float:
        """The current Unix time in seconds, offset included."""
        return time.time() + self._offset

    def monotonic(self) -> float:
        """``time.monotonic()`` plus the offset: it moves with ``advance`` too."""
        return time.monotonic() + self._offset

    async def sleep(self, seconds: float) -> None:
        """Wait until ``seconds`` have passed on this clock, by real time or ``advance``."""
        deadline = self.monotonic() + seconds
        await anyio.lowlevel.checkpoint()  # however short the wait
        while (remaining := deadline - self.monotonic()) > 0:
            woken = anyio.Event()
            self._sleepers.append(woken)
            try:
                with anyio.move_on_after(remaining):
                    await woken.wait()
            finally:
                if woken in self._sleepers:
                    self._sleepers.remove(woken)

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds`` (never backward)."""
        if seconds < 0:
            raise ValueError("the sandbox clock only moves forward")
        self._offset += seconds
        sleepers, self._sleepers = self._sleepers, []
        for woken in sleepers:
            woken.set()  # each sleeper checks its own deadline again

    def now(self) -> float:
        """The same as ``time()``: the sandbox's current Unix time."""
        return self.time()

    def utcnow(self) -> datetime:
        """Return the current time as an aware UTC datetime."""
        return datetime.fromtimestamp(self.time(), tz=UTC)

    def isoformat(self) -> str:
        """Return the current time as an RFC 3339 timestamp with a ``Z`` suffix."""
        return rfc3339(self.time())


def rfc3339(timestamp: float) -> str:
    """Format seconds since the epoch as RFC 3339 (``2025-03-01T09:30:00.123Z``)."""
    moment = datetime.fromtimestamp(timestamp, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_rfc3339(text: str) -> float:
    """Parse an RFC 3339 timestamp into seconds since the epoch.

    Raises:
        ValueError: the text is not an RFC 3339 timestamp with an offset.
    """
    moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"timestamp without an offset: {text!r}")
    return moment.timestamp()
