"""The sandbox's clock: wall time plus an offset that tests can move forward."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import attrs


@attrs.define
class Clock:
    """Wall-clock time that tests can advance (token expiry, TOTP steps, import jobs)."""

    _offset: float = 0.0

    def now(self) -> float:
        """Return the current time in seconds since the epoch, offset included."""
        return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds`` (never backward)."""
        if seconds < 0:
            raise ValueError("the sandbox clock only moves forward")
        self._offset += seconds

    def utcnow(self) -> datetime:
        """Return the current time as an aware UTC datetime."""
        return datetime.fromtimestamp(self.now(), tz=UTC)

    def isoformat(self) -> str:
        """Return the current time as an RFC 3339 timestamp with a ``Z`` suffix."""
        return rfc3339(self.now())


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
