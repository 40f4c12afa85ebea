"""``SingleFlight``: many tasks ask, one task does the work, all get its outcome.

The first caller starts the work; callers that arrive while it runs wait on an
``anyio.Event`` (never blocking the event loop) and get the same result, or the same
exception: a token endpoint that says ``invalid_client`` is asked once, not once per
waiter. It is the one single flight of the SDK: the token managers (``_auth``) run their
token requests through it, and ``SharedFetch`` (``_shared_fetch.py``) the key-set and
discovery fetches, adding its failure backoff on top. Where the work runs decides what a
caller's cancellation does:

* **In the first caller's task** (the default). When that caller is cancelled (it timed
  out or went away) the flight is abandoned, not failed: nothing was stored, the waiters
  wake up, and one of them leads a new flight. Right for work that is cheap to start
  again (a cache lookup that wraps a flight of its own).
* **Detached** (``detached=True``): in a task of its own, bounded by ``timeout``. Every
  caller, the first included, only waits for it, each within its own deadline, and may
  leave early; the work goes on and the next caller joins it. A token endpoint that
  hangs therefore receives one request per ``timeout``, however many callers give up
  meanwhile (without it, each timed-out leader abandoned its request and the next waiter
  sent another: 1,000 callers with a 1 s deadline made 12 to 72 token requests). It is
  also what keeps a refresh exchange going once the server may have rotated the refresh
  token: a response cut off half way would lose the new one.

Why a task of its own, and not a shielded cancel scope in the first caller's task: anyio's
shield holds against anyio cancellation only. ``asyncio.timeout`` and
``asyncio.wait_for`` (the SDK's own per-attempt deadline on asyncio uses the former)
cancel the task natively, straight through any shield, and they also make the caller wait
for the shielded work instead of its own deadline. anyio has no task that outlives its
starter's task group, so the detached task is started with the running library's own
primitive (``asyncio`` ``create_task``, trio ``spawn_system_task``); everything inside it is
anyio. ``aclose()`` cancels a detached flight under way and waits for its end: nothing
runs on once the owner is closed.
"""

from __future__ import annotations

import contextvars
from collections.abc import Awaitable, Callable, Coroutine
from types import TracebackType
from typing import Any, Generic, TypeVar

import anyio

__all__ = ["SingleFlight"]

T = TypeVar("T")


class _Flight(Generic[T]):
    __slots__ = ("done", "error", "event", "result", "scope", "task", "traceback")

    def __init__(self) -> None:
        self.event = anyio.Event()
        self.done = False
        self.result: T | None = None
        self.error: BaseException | None = None
        self.traceback: TracebackType | None = None
        self.scope: anyio.CancelScope | None = None  # a detached flight's, for aclose
        self.task: Any = None  # a detached flight's asyncio task: a strong reference

    def outcome(self) -> T:
        """The flight's result, or its exception raised (with the flight's traceback)."""
        if self.done:
            return self.result  # type: ignore[return-value]
        assert self.error is not None
        # Each waiter raises with the flight's traceback, not an ever-growing one.
        raise self.error.with_traceback(self.traceback)


class SingleFlight(Generic[T]):
    """Runs at most one ``work()`` at a time; concurrent callers share its outcome.

    Args:
        detached: Run the work in a task of its own, which goes on when callers give up
            (see the module docstring); ``timeout`` is then required.
        timeout: Seconds the work may take in all; past them it is cancelled and the
            flight fails with ``TimeoutError``. None for no limit (in-caller flights only).
        what: What the work is, for the timeout's message (``"the token request"``).

    Raises:
        ValueError: ``detached`` without a positive ``timeout``.
    """

    def __init__(
        self, *, detached: bool = False, timeout: float | None = None, what: str = "the work"
    ) -> None:
        if timeout is not None and not timeout > 0:
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout}")
        if detached and timeout is None:
            raise ValueError("a detached flight needs a timeout: nothing else would end it")
        self._detached = detached
        self._timeout = timeout
        self._what = what
        self._flight: _Flight[T] | None = None

    @property
    def in_flight(self) -> bool:
        """Whether a flight is running now."""
        return self._flight is not None

    async def run(self, work: Callable[[], Awaitable[T]]) -> T:
        """Run ``work`` or join the flight already running it.

        Returns:
            The result of the flight this call started or joined.

        Raises:
            TimeoutError: The work took longer than ``timeout``.
            RuntimeError: A detached flight was cancelled by ``aclose()`` (or by the event
                loop shutting down) before it ended.
            Exception: Whatever the flight's ``work`` raised (the same exception object).
        """
        if self._detached:
            flight = self._flight
            if flight is None:
                flight = self._start_detached(work)
            # Only waiting, within the caller's own deadline: leaving early is harmless.
            await flight.event.wait()
            return flight.outcome()
        while True:
            flight = self._flight
            if flight is None:
                return await self._lead(work)
            await flight.event.wait()
            if flight.done or flight.error is not None:
                return flight.outcome()
            # The leader was cancelled: nothing was stored; try again (maybe as leader).

    async def aclose(self) -> None:
        """Cancel a detached flight under way and wait until it has ended (idempotent)."""
        flight = self._flight
        if flight is None or flight.scope is None:
            return
        flight.scope.cancel()
        with anyio.CancelScope(shield=True):  # the owner's close must not leave it running
            await flight.event.wait()

    # -- in the caller's task --------------------------------------------------------------

    async def _lead(self, work: Callable[[], Awaitable[T]]) -> T:
        flight: _Flight[T] = _Flight()
        self._flight = flight
        try:
            result = await self._bounded(work)
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

    async def _bounded(self, work: Callable[[], Awaitable[T]]) -> T:
        if self._timeout is None:
            return await work()
        try:
            with anyio.fail_after(self._timeout):
                return await work()
        except TimeoutError as exc:
            raise TimeoutError(f"{self._what} took longer than {self._timeout:g} s") from exc

    # -- detached ----------------------------------------------------------------------

    def _start_detached(self, work: Callable[[], Awaitable[T]]) -> _Flight[T]:
        flight: _Flight[T] = _Flight()
        flight.scope = anyio.CancelScope()
        self._flight = flight
        try:
            flight.task = _spawn(self._fly, flight, work)
        except BaseException:
            self._flight = None
            raise
        return flight

    async def _fly(self, flight: _Flight[T], work: Callable[[], Awaitable[T]]) -> None:
        """The detached task: run ``work``, keep its outcome. Never raises an ``Exception``.

        On trio an exception escaping a system task would crash the whole run, and on
        asyncio it would only be logged as never retrieved: every outcome is kept for the
        waiters instead.
        """
        assert flight.scope is not None
        try:
            with flight.scope:
                try:
                    flight.result = await self._bounded(work)
                    flight.done = True
                except Exception as exc:
                    flight.error = exc
                    flight.traceback = exc.__traceback__
            if not flight.done and flight.error is None:  # aclose() cancelled it
                flight.error = RuntimeError(f"{self._what} was cancelled: its owner was closed")
        finally:
            # Also when the event loop itself cancels the task on shutdown.
            if not flight.done and flight.error is None:
                flight.error = RuntimeError(f"{self._what} was cancelled by the event loop")
            if self._flight is flight:
                self._flight = None
            flight.task = None
            flight.event.set()


def _spawn(function: Callable[..., Coroutine[Any, Any, None]], *args: Any) -> Any:
    """Start ``function(*args)`` in a task that belongs to no caller's task group.

    The task runs in a copy of the current context (as a task group's child would).

    Returns:
        The asyncio task, to be referenced until it ends (the loop keeps weak references
        only); None on trio, whose system nursery holds its tasks.
    """
    from intelliauth_ext._transports._default import current_async_library

    context = contextvars.copy_context()
    if current_async_library() == "trio":
        import trio

        trio.lowlevel.spawn_system_task(function, *args, context=context)
        return None
    import asyncio

    return asyncio.get_running_loop().create_task(function(*args), context=context)
