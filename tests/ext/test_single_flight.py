"""SingleFlight: one run shared by concurrent callers, in the caller's task or detached."""

from __future__ import annotations

import contextlib

import anyio
import pytest

from intelliauth_ext._single_flight import SingleFlight

pytestmark = pytest.mark.anyio


class Work:
    """Counts its runs; each run waits for ``gate`` and returns its run number."""

    def __init__(self) -> None:
        self.runs = 0
        self.finished = 0
        self.gate = anyio.Event()

    async def __call__(self) -> int:
        self.runs += 1
        await self.gate.wait()
        self.finished += 1
        return self.runs


def test_a_detached_flight_needs_a_positive_timeout() -> None:
    """Nothing would end a detached run without a timeout; a timeout must be positive."""
    with pytest.raises(ValueError, match="needs a timeout"):
        SingleFlight[int](detached=True)
    with pytest.raises(ValueError, match="positive"):
        SingleFlight[int](timeout=0)


async def test_in_caller_flight_is_abandoned_when_its_leader_is_cancelled() -> None:
    """Default mode: a cancelled leader abandons the run; a waiter leads a new one."""
    flight: SingleFlight[int] = SingleFlight()
    work = Work()
    results: list[int] = []

    async def waiter() -> None:
        results.append(await flight.run(work))

    async with anyio.create_task_group() as tg:
        with anyio.move_on_after(0):
            await flight.run(work)
        tg.start_soon(waiter)
        await anyio.wait_all_tasks_blocked()
        work.gate.set()
    assert work.runs == 2
    assert results == [2]


async def test_detached_flight_outlives_every_caller_that_gives_up() -> None:
    """Detached: callers leave at their own deadline; the run goes on and the next joins it."""
    flight: SingleFlight[int] = SingleFlight(detached=True, timeout=5)
    work = Work()
    for _ in range(3):
        with anyio.move_on_after(0.01) as scope:
            await flight.run(work)
        assert scope.cancelled_caught
    assert flight.in_flight
    work.gate.set()
    assert await flight.run(work) == 1
    assert (work.runs, work.finished) == (1, 1)
    assert not flight.in_flight


async def test_detached_flight_survives_a_native_cancellation(anyio_backend: str) -> None:
    """asyncio.wait_for / a trio cancel scope around the caller do not reach the run."""
    flight: SingleFlight[int] = SingleFlight(detached=True, timeout=5)
    work = Work()
    if anyio_backend == "asyncio":
        import asyncio

        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(flight.run(work), 0.01)
    else:
        import trio

        with trio.move_on_after(0.01):
            await flight.run(work)
    work.gate.set()
    assert await flight.run(work) == 1
    assert work.runs == 1


async def test_detached_flight_times_out_for_all_its_callers() -> None:
    """A run longer than the timeout fails every caller with one TimeoutError, then ends."""
    flight: SingleFlight[int] = SingleFlight(detached=True, timeout=0.05, what="the fetch")
    work = Work()
    errors: list[BaseException] = []

    async def call() -> None:
        try:
            await flight.run(work)
        except TimeoutError as exc:
            errors.append(exc)

    async with anyio.create_task_group() as tg:
        for _ in range(5):
            tg.start_soon(call)
    assert [str(error) for error in errors] == ["the fetch took longer than 0.05 s"] * 5
    assert len({id(error) for error in errors}) == 1  # one failure, shared
    assert not flight.in_flight


async def test_detached_flight_shares_an_exception() -> None:
    """Every caller gets the run's exception."""
    flight: SingleFlight[int] = SingleFlight(detached=True, timeout=5)

    async def fail() -> int:
        await anyio.sleep(0.01)
        raise LookupError("no token")

    errors: list[BaseException] = []

    async def call() -> None:
        try:
            await flight.run(fail)
        except LookupError as exc:
            errors.append(exc)

    async with anyio.create_task_group() as tg:
        for _ in range(3):
            tg.start_soon(call)
    assert [str(error) for error in errors] == ["no token"] * 3


async def test_aclose_cancels_a_detached_run_and_waits_for_it() -> None:
    """aclose() cancels the run under way and returns once it ended; waiters get RuntimeError."""
    flight: SingleFlight[int] = SingleFlight(detached=True, timeout=5, what="the fetch")
    work = Work()
    errors: list[BaseException] = []

    async def call() -> None:
        try:
            await flight.run(work)
        except RuntimeError as exc:
            errors.append(exc)

    async with anyio.create_task_group() as tg:
        tg.start_soon(call)
        await anyio.wait_all_tasks_blocked()
        await flight.aclose()
        assert not flight.in_flight
        await flight.aclose()  # idempotent
    assert [str(error) for error in errors] == ["the fetch was cancelled: its owner was closed"]
    assert (work.runs, work.finished) == (1, 0)
