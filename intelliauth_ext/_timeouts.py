"""Timeouts: the ``NOT_GIVEN`` sentinel, the default, and how a timeout value is resolved.

Every attempt of a call runs under two limits:

* httpx's per-phase timeouts (connect, read, write, pool), from an ``httpx.Timeout``;
* an overall deadline for the whole attempt (sending, waiting, reading the body), equal to
  the longest phase timeout, so that a server trickling one byte per read can not hold a
  call forever. A phase set to ``None`` means "no limit", and then there is no deadline.

The default is 30 s overall and 5 s to connect. Retries get a fresh deadline each.
"""

from __future__ import annotations

import enum
from typing import Final, TypeAlias

import httpx

__all__ = [
    "DEFAULT_TIMEOUT",
    "NOT_GIVEN",
    "NotGiven",
    "TimeoutTypes",
    "attempt_deadline",
    "resolve_timeout",
]


class NotGiven(enum.Enum):
    """The type of ``NOT_GIVEN``: "the caller did not pass this", distinct from ``None``.

    ``timeout=None`` means "no timeout"; ``timeout=NOT_GIVEN`` means "use the default".
    """

    NOT_GIVEN = "NOT_GIVEN"

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN: Final = NotGiven.NOT_GIVEN

TimeoutTypes: TypeAlias = float | httpx.Timeout | None
"""What ``timeout=`` accepts: seconds, an ``httpx.Timeout``, or ``None`` for no limit."""

DEFAULT_CONNECT_TIMEOUT: Final = 5.0
DEFAULT_TIMEOUT: Final = httpx.Timeout(30.0, connect=DEFAULT_CONNECT_TIMEOUT)


def resolve_timeout(
    value: float | httpx.Timeout | NotGiven | None, *, default: httpx.Timeout = DEFAULT_TIMEOUT
) -> httpx.Timeout:
    """The ``httpx.Timeout`` for a ``timeout=`` argument.

    Args:
        value: Seconds (the connect phase is then capped at 5 s), an ``httpx.Timeout``
            used as is, ``None`` for no limit at all, or ``NOT_GIVEN`` for ``default``.
        default: What ``NOT_GIVEN`` resolves to.

    Returns:
        The per-phase timeout.

    Raises:
        ValueError: When a number of seconds is negative.
    """
    if isinstance(value, NotGiven):
        return default
    if value is None:
        return httpx.Timeout(None)
    if isinstance(value, httpx.Timeout):
        return value
    seconds = float(value)
    if seconds < 0:
        raise ValueError(f"timeout must be >= 0 seconds, got {value!r}")
    return httpx.Timeout(seconds, connect=min(seconds, DEFAULT_CONNECT_TIMEOUT))


def attempt_deadline(timeout: httpx.Timeout) -> float | None:
    """Seconds one attempt may take in total, or None when any phase is unlimited."""
    phases = (timeout.connect, timeout.read, timeout.write, timeout.pool)
    if any(phase is None for phase in phases):
        return None
    return max(phase for phase in phases if phase is not None)
