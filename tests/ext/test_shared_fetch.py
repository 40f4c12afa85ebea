"""``SharedFetch`` (``_shared_fetch.py``): single flight, failures remembered with backoff.

The fetch functions here are plain coroutines gated by events; the clock only moves when
a test advances it. The real-socket tests of the discovery and key set fetches built on
it are in tests/hostile/test_oidc.py.
"""

from __future__ import annotations

import anyio
import httpx
import pytest

from intelliauth_ext._errors import (
    APITimeoutError,
    IntelliAuthError,
    InternalServerError,
    TokenValidationError,
)
from intelliauth_ext._shared_fetch import (
    DEFAULT_FAILURE_BACKOFF,
    FailureBackoff,
    SharedFetch,
    replay_error,
)

from .auth_fakes import FakeClock

pytestmark = pytest.mark.anyio

URL = "https://idp.example.test/jwks"


class Fetches:
    """A fetch function that counts its calls, fails while ``failing``, and can be held."""

    def __init__(self) -> None:
        self.calls = 0
        self.failing = False
        self.gate: anyio.Event | None = None

    async def __call__(self) -> str:
        self.calls += 1
        if self.gate is not None:
            await self.gate.wait()
        if self.failing:
            response = httpx.Response(503, request=httpx.Request("GET", URL))
            raise InternalServerError("down", response=response)
        return f"value-{self.calls}"


def test_the_default_backoff_is_1_2_4_to_60_seconds() -> None:
    """min(1 * 2 ** (n - 1), 60): the figures the README gives."""
    delays = [DEFAULT_FAILURE_BACKOFF.delay(n) for n in range(10)]
    assert delays == [0, 1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert DEFAULT_FAILURE_BACKOFF.delay(10**6) == 60  # no overflow after a long outage


@pytest.mark.parametrize(
    "options", [{"initial": -1}, {"initial": 10, "maximum": 5}, {"factor": 0.5}]
)
def test_a_backoff_that_makes_no_sense_is_refused(options: dict[str, float]) -> None:
    """A negative wait, a cap below the first wait, or a shrinking factor: ValueError."""
    with pytest.raises(ValueError, match="failure backoff"):
        FailureBackoff(**options)


def test_a_fetch_timeout_must_be_positive() -> None:
    """timeout=0 would fail every fetch: refused."""
    with pytest.raises(ValueError, match="positive"):
        SharedFetch(Fetches(), url=URL, clock=FakeClock(), timeout=0)


async def test_concurrent_callers_share_one_fetch_and_its_value() -> None:
    """Ten callers while a fetch is held: one call, ten copies of its value."""
    fetches = Fetches()
    fetches.gate = anyio.Event()
    shared = SharedFetch(fetches, url=URL, clock=FakeClock())
    values: list[str] = []

    async def run() -> None:
        values.append(await shared.run())

    async with anyio.create_task_group() as group:
        for _ in range(10):
            group.start_soon(run)
        await anyio.wait_all_tasks_blocked()
        assert shared.in_flight
        assert "fetching" in repr(shared)
        fetches.gate.set()
    assert values == ["value-1"] * 10
    assert (fetches.calls, shared.attempts, shared.in_flight) == (1, 1, False)


async def test_concurrent_callers_share_one_failure_each_with_its_own_copy() -> None:
    """Ten callers of a failing fetch: one call, ten distinct exceptions of its class."""
    fetches = Fetches()
    fetches.failing = True
    fetches.gate = anyio.Event()
    shared = SharedFetch(fetches, url=URL, clock=FakeClock())
    errors: list[IntelliAuthError] = []

    async def run() -> None:
        try:
            await shared.run()
        except IntelliAuthError as exc:
            errors.append(exc)

    async with anyio.create_task_group() as group:
        for _ in range(10):
            group.start_soon(run)
        await anyio.wait_all_tasks_blocked()
        fetches.gate.set()
    assert fetches.calls == 1
    assert len({id(error) for error in errors}) == 10
    assert all(type(error) is InternalServerError for error in errors)
    assert {error.status_code for error in errors if isinstance(error, InternalServerError)} == {
        503
    }


async def test_a_failure_is_remembered_for_its_backoff_then_tried_again() -> None:
    """Within the wait no call is made; at its end one is; waits grow 1, 2, 4 s."""
    clock = FakeClock()
    fetches = Fetches()
    fetches.failing = True
    shared = SharedFetch(fetches, url=URL, clock=clock)
    for wait, calls in ((1.0, 1), (2.0, 2), (4.0, 3)):
        with pytest.raises(InternalServerError):
            await shared.run()
        assert fetches.calls == calls
        assert shared.backing_off()
        assert shared.retry_in() == wait
        assert f"{calls} failures, next attempt in {wait:.1f}s" in repr(shared)
        clock.advance(wait - 0.01)
        with pytest.raises(InternalServerError):  # remembered: no call
            await shared.run()
        assert fetches.calls == calls
        clock.advance(0.01)
        assert not shared.backing_off()
    fetches.failing = False
    assert await shared.run() == "value-4"
    assert (shared.backing_off(), shared.retry_in()) == (False, 0.0)
    assert await shared.run() == "value-5"  # a success forgets the failures: no wait


async def test_a_fetch_past_its_timeout_is_an_api_timeout_error() -> None:
    """A fetch that takes longer than ``timeout`` in all: APITimeoutError naming the URL."""
    fetches = Fetches()
    fetches.gate = anyio.Event()  # never set
    shared = SharedFetch(fetches, url=URL, clock=FakeClock(), timeout=0.05)
    with pytest.raises(APITimeoutError, match=r"GET https://idp\.example\.test/jwks"):
        await shared.run()
    assert shared.backing_off()


async def test_a_cancelled_leader_finishes_the_fetch_for_the_others() -> None:
    """The caller that started the fetch is cancelled: the fetch goes on, shared, once."""
    fetches = Fetches()
    fetches.gate = anyio.Event()
    shared = SharedFetch(fetches, url=URL, clock=FakeClock())
    leader_scope = anyio.CancelScope()
    values: list[str] = []

    async def leader() -> None:
        with leader_scope:
            await shared.run()

    async def waiter() -> None:
        values.append(await shared.run())

    async with anyio.create_task_group() as group:
        group.start_soon(leader)
        await anyio.wait_all_tasks_blocked()
        group.start_soon(waiter)
        await anyio.wait_all_tasks_blocked()
        leader_scope.cancel()
        await anyio.wait_all_tasks_blocked()
        assert shared.in_flight  # detached: the leader left, the fetch goes on
        fetches.gate.set()
    assert leader_scope.cancelled_caught
    assert values == ["value-1"]
    assert fetches.calls == 1


async def test_an_exception_outside_the_tree_reaches_its_caller_and_is_not_remembered() -> None:
    """A bug in a fetch function is no provider failure: raised as is, the next call retries."""
    calls = 0

    async def broken() -> str:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise KeyError("bug")
        return "fixed"

    shared = SharedFetch(broken, url=URL, clock=FakeClock())
    with pytest.raises(KeyError):
        await shared.run()
    assert not shared.backing_off()
    assert await shared.run() == "fixed"


def test_replay_error_copies_class_attributes_and_cause_not_the_traceback() -> None:
    """The copy has the original's class, message, attributes and cause, and no traceback."""
    cause = ValueError("root")
    try:
        try:
            raise cause
        except ValueError as exc:
            raise TokenValidationError("key", "no key") from exc
    except TokenValidationError as original:
        error = original
    copy = replay_error(error)
    assert copy is not error
    assert type(copy) is TokenValidationError
    assert (str(copy), copy.check, copy.message) == (str(error), "key", "no key")
    assert copy.__cause__ is cause
    assert copy.__traceback__ is None


@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # asyncio.timeout is asyncio's own
async def test_a_leader_cut_by_asyncio_timeout_leaves_and_the_fetch_goes_on(
    anyio_backend: str,
) -> None:
    """asyncio.timeout cuts through anyio shields: the fetch, detached, still runs once."""
    import asyncio

    fetches = Fetches()
    fetches.gate = anyio.Event()
    shared = SharedFetch(fetches, url=URL, clock=FakeClock())
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.05):
            await shared.run()
    assert shared.in_flight  # the caller left within its deadline; the fetch did not
    fetches.gate.set()
    assert await shared.run() == "value-1"
    assert fetches.calls == 1


async def test_aclose_cancels_a_fetch_under_way() -> None:
    """aclose(): the fetch under way is cancelled, its waiters get RuntimeError, nothing runs on."""
    fetches = Fetches()
    fetches.gate = anyio.Event()  # never set
    shared = SharedFetch(fetches, url=URL, clock=FakeClock())
    errors: list[BaseException] = []

    async def run() -> None:
        try:
            await shared.run()
        except RuntimeError as exc:
            errors.append(exc)

    async with anyio.create_task_group() as group:
        group.start_soon(run)
        await anyio.wait_all_tasks_blocked()
        await shared.aclose()
    assert [str(error) for error in errors] == [
        f"the fetch of {URL} was cancelled: its owner was closed"
    ]
    assert not shared.in_flight
    await shared.aclose()  # idempotent
