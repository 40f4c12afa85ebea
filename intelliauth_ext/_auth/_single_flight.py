"""``SingleFlight``: many tasks ask, one task does the work, all get its outcome.

The first caller becomes the leader and runs the work; callers that arrive while it runs
wait on an ``anyio.Event`` (never blocking the event loop) and get the same result, or
the same exception: a token endpoint that says ``invalid_client`` is asked once, not once
per waiter.

Cancellation: when the leader is cancelled (its caller timed out or went away) the flight
is abandoned, not failed. Nothing was stored, the waiters wake up, and one of them leads
a new flight: a cancelled caller never hands its cancellation to anyone else and never
leaves a half-finished state behind.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Generic, TypeVar

import anyio

__all__ = ["SingleFlight"]

T = TypeVar("T")


class _Flight(Generic[T]):
    __slots__ = ("done", "error", "event", "result", "traceback")

    def __init__(self) -> None:
        self.event = anyio.Event()
        self.done = False
        self.result: T | None = None
        self.error: Exception | None = None
        self.traceback: TracebackType | None = None


class SingleFlight(Generic[T]):
    """Runs at most one ``work()`` at a time; concurrent callers share its outcome."""

    def __init__(self) -> None:
        self._flight: _Flight[T] | None = None

    @property
    def in_flight(self) -> bool:
        """Whether a flight is running now."""
        return self._flight is not None

    async def run(self, work: Callable[[], Awaitable[T]]) -> T:
        """Run ``work`` or join the flight already running it.

        Returns:
            The result of the flight this call led or joined.

        Raises:
            Exception: Whatever the flight's ``work`` raised (the same exception object).
        """
        while True:
            flight = self._flight
            if flight is None:
                return await self._lead(work)
            await flight.event.wait()
            if flight.done:
                return flight.result  # type: ignore[return-value]
            if flight.error is not None:
                # Each waiter raises with the leader's traceback, not an ever-growing one.
                raise flight.error.with_traceback(flight.traceback)
            # The leader was cancelled: nothing was stored; try again (maybe as leader).

    async def _lead(self, work: Callable[[], Awaitable[T]]) -> T:
        flight: _Flight[T] = _Flight()
        self._flight = flight
        try:
            result = await work()
        except Exception as exc:
            flight.error = exc
            flight.traceback = exc.__traceback__
            raise
        else:
            flight.result = result
            flight.done = True
            return result
        finally:
            # Also on cancellation (a BaseException): the flight ends as abandoned.
            if self._flight is flight:
                self._flight = None
            flight.event.set()
