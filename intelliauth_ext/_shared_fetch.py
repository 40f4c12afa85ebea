"""``SharedFetch``: one fetch shared by concurrent callers, and its failure remembered.

The discovery document (``_discovery.py``) and the key set (``_jwks.py``) are each fetched
through one ``SharedFetch``, so that a flood of tokens can not make the SDK hammer a
provider that is slow or down:

- **Single flight.** While a fetch is under way, every other caller waits for it and
  shares its outcome: the value, or a copy of its exception. The fetch is a detached
  ``SingleFlight`` (``_single_flight.py``, the same primitive as the token managers'):
  it runs in a task of its own, so every caller, the one that started it included, waits
  within its own deadline and may leave early (``asyncio.timeout`` included); the fetch
  goes on and the next caller joins it, so that a slow provider sees one request, not
  one per impatient caller. ``aclose()`` cancels a fetch under way.
- **Negative cache with backoff.** A failed fetch is remembered: until its wait is over,
  every caller gets a copy of that failure at once, and no request is made. The wait
  after the n-th failure in a row is ``min(initial * factor ** (n - 1), maximum)``,
  counted from the failure: by default 1, 2, 4, 8, 16 and 32 s, then 60 s. A provider
  that stays down thus receives 6 requests in the first minute (at 0, 1, 3, 7, 15 and
  31 s, plus the time each failure took) and then one a minute, however many tokens
  arrive. A success forgets the failures.
- **A deadline per fetch.** A fetch that takes more than ``timeout`` seconds in all (a
  server that trickles its answer byte by byte) is given up: ``APITimeoutError``.

What a successful fetch produced (the last good key set, the metadata) is kept by the
caller, not here: a failure never discards it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Final, Generic, TypeVar

import anyio
import attrs
import httpx

from intelliauth_ext._clock import Clock
from intelliauth_ext._errors import IntelliAuthError, error_from_transport
from intelliauth_ext._single_flight import SingleFlight

__all__ = ["DEFAULT_FAILURE_BACKOFF", "DEFAULT_FETCH_TIMEOUT", "FailureBackoff", "SharedFetch"]

T = TypeVar("T")
E = TypeVar("E", bound=BaseException)

#: Seconds a discovery or key-set fetch may take in all (connect, send, every read).
DEFAULT_FETCH_TIMEOUT: Final = 10.0

# The flight's own bound is a backstop only: the fetch ends at ``timeout`` with an
# ``APITimeoutError`` (and its failure is remembered) before the flight's bound is reached.
_FLIGHT_GRACE: Final = 1.0


@attrs.frozen
class FailureBackoff:
    """How long a failed fetch is remembered: ``min(initial * factor ** (n - 1), maximum)``.

    ``n`` is the number of failures in a row. The defaults wait 1, 2, 4, 8, 16, 32, 60,
    60 ... seconds.

    Attributes:
        initial: The wait after the first failure, in seconds.
        factor: How much each further failure multiplies the wait by.
        maximum: The longest wait, in seconds.
    """

    initial: float = 1.0
    factor: float = 2.0
    maximum: float = 60.0

    def __attrs_post_init__(self) -> None:
        if not (0 <= self.initial <= self.maximum and self.factor >= 1):
            raise ValueError("a failure backoff needs 0 <= initial <= maximum and factor >= 1")

    def delay(self, failures: int) -> float:
        """Seconds to wait after ``failures`` failures in a row (0 for none)."""
        if failures <= 0:
            return 0.0
        # The exponent is capped so that a long outage can not overflow the float.
        return min(self.initial * self.factor ** min(failures - 1, 64), self.maximum)


DEFAULT_FAILURE_BACKOFF: Final = FailureBackoff()


def replay_error(exc: E) -> E:
    """A copy of ``exc`` to raise in another task: same class, attributes and cause.

    Raising one exception object in several tasks would pile their tracebacks onto it;
    each raiser gets its own copy instead (``__init__`` is not run again: the copy takes
    the original's attributes as they are).
    """
    copy = type(exc).__new__(type(exc), *exc.args)
    if hasattr(exc, "__dict__"):
        copy.__dict__.update(vars(exc))
    copy.__cause__ = exc.__cause__
    copy.__suppress_context__ = True
    return copy


class SharedFetch(Generic[T]):
    """Runs ``fetch`` for many callers: one at a time, shared, with failures backed off.

    Args:
        fetch: Does the fetch; raises an ``IntelliAuthError`` when it fails. Anything
            else it raises is a bug: it reaches the callers sharing that fetch, as is,
            and is not remembered.
        url: What is fetched, for the timeout's message.
        clock: Its ``monotonic()`` times the backoff (tests move it forward).
        timeout: Seconds one fetch may take in all.
        backoff: How long a failure is remembered.
    """

    def __init__(
        self,
        fetch: Callable[[], Awaitable[T]],
        *,
        url: str,
        clock: Clock,
        timeout: float = DEFAULT_FETCH_TIMEOUT,
        backoff: FailureBackoff = DEFAULT_FAILURE_BACKOFF,
    ) -> None:
        if not timeout > 0:
            raise ValueError("the fetch timeout must be a positive number of seconds")
        self._fetch = fetch
        self._url = url
        self._clock = clock
        self.timeout = timeout
        self.backoff = backoff
        self._flight: SingleFlight[T] = SingleFlight(
            detached=True, timeout=timeout + _FLIGHT_GRACE, what=f"the fetch of {url}"
        )
        self._failure: IntelliAuthError | None = None
        self._failures = 0
        self._retry_at = 0.0
        self._last_attempt: float | None = None
        self._attempts = 0

    def __repr__(self) -> str:
        if self._flight.in_flight:
            state = "fetching"
        elif self.backing_off():
            state = f"{self._failures} failures, next attempt in {self.retry_in():.1f}s"
        else:
            state = f"{self._attempts} attempts"
        return f"SharedFetch({self._url!r}, {state})"

    @property
    def attempts(self) -> int:
        """How many fetches were started."""
        return self._attempts

    @property
    def in_flight(self) -> bool:
        """Whether a fetch is under way."""
        return self._flight.in_flight

    @property
    def last_attempt(self) -> float | None:
        """When (on the clock's monotonic time) the latest fetch started; None before any."""
        return self._last_attempt

    def backing_off(self) -> bool:
        """Whether the last fetch failed and its wait is not over: ``run`` would raise."""
        return self._failure is not None and self._clock.monotonic() < self._retry_at

    def retry_in(self) -> float:
        """Seconds until the next fetch may start (0 when one may start now)."""
        if self._failure is None:
            return 0.0
        return max(0.0, self._retry_at - self._clock.monotonic())

    async def run(self) -> T:
        """The outcome of a fetch: the one under way, the remembered failure, or a new one.

        Returns:
            What the fetch returned.

        Raises:
            IntelliAuthError: The fetch failed (now, or a moment ago and its wait is not
                over): a copy of its exception.
            RuntimeError: ``aclose()`` cancelled the fetch before it ended.
        """
        if not self._flight.in_flight and self._failure is not None and self.backing_off():
            raise replay_error(self._failure)
        try:
            return await self._flight.run(self._attempt)
        except IntelliAuthError as exc:
            # Each caller raises its own copy: one object raised in many tasks would pile
            # their tracebacks onto it.
            raise replay_error(exc) from exc.__cause__

    async def aclose(self) -> None:
        """Cancel a fetch under way and wait until it has ended (idempotent)."""
        await self._flight.aclose()

    async def _attempt(self) -> T:
        """One fetch, in the flight's task: bounded by ``timeout``, its outcome remembered."""
        self._last_attempt = self._clock.monotonic()
        self._attempts += 1
        try:
            try:
                with anyio.fail_after(self.timeout):
                    value = await self._fetch()
            except TimeoutError as exc:
                request = httpx.Request("GET", self._url)
                raise error_from_transport(exc, request) from exc
        except IntelliAuthError as exc:
            self._failures += 1
            self._failure = exc
            self._retry_at = self._clock.monotonic() + self.backoff.delay(self._failures)
            raise
        self._failures = 0
        self._failure = None
        return value
