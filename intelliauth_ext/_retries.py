"""When to retry a request and how long to wait first: small pure functions.

The policy:

* retried outcomes: connection errors, timeouts, and the statuses 408, 429, 500, 502,
  503 and 504;
* retried methods: GET, HEAD, PUT, DELETE and OPTIONS (idempotent by RFC 9110 section
  9.2.2), and POST or PATCH only when the request carries an ``Idempotency-Key``, so the
  server can tell a retry from a second create;
* token requests (the caller says so with ``token_request=True``): retried whatever
  their method, on the same outcomes, and on an RFC 6749 ``temporarily_unavailable`` or
  ``server_error`` in the body whatever the status; every other answer is final, a 400
  or 401 above all (the grant or the client credentials are wrong: repeating the request
  can only burn a one-time code or trip refresh-token reuse detection);
* the wait before retry ``n`` (1-based) is the server's ``Retry-After`` or
  ``X-RateLimit-Reset`` when it sent one (up to ``max_server_wait``, 60 s by default; a
  longer wait is not slept through, the error is raised at once), else exponential
  backoff with full jitter::

      delay(n) = uniform(0, min(max_delay, initial_delay * 2 ** (n - 1)))

  with ``initial_delay`` 0.5 s and ``max_delay`` 8 s: at most 0.5 s, 1 s, 2 s, 4 s, 8 s,
  8 s ... ("Exponential Backoff And Jitter", AWS Architecture Blog, 2015).

Tests switch sleeping off with ``set_testing(True)``: delays are still computed and
logged, but ``sleep_before_retry`` returns at once.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from typing import Final

import httpx

__all__ = [
    "DEFAULT_MAX_RETRIES",
    "INITIAL_RETRY_DELAY",
    "MAX_RETRY_DELAY",
    "MAX_SERVER_WAIT",
    "RETRYABLE_OAUTH_ERRORS",
    "RETRYABLE_STATUSES",
    "is_testing",
    "parse_rate_limit_reset",
    "parse_retry_after",
    "retry_delay",
    "server_requested_wait",
    "set_testing",
    "should_retry",
    "sleep_before_retry",
]

DEFAULT_MAX_RETRIES: Final = 2
INITIAL_RETRY_DELAY: Final = 0.5
MAX_RETRY_DELAY: Final = 8.0
MAX_SERVER_WAIT: Final = 60.0
RETRYABLE_STATUSES: Final = frozenset({408, 429, 500, 502, 503, 504})
IDEMPOTENT_METHODS: Final = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
KEYED_METHODS: Final = frozenset({"POST", "PATCH"})
#: RFC 6749 error codes that say "try again later" (section 4.1.2.1), whatever the status.
RETRYABLE_OAUTH_ERRORS: Final = frozenset({"temporarily_unavailable", "server_error"})
_EPOCH_THRESHOLD: Final = 1_000_000_000.0  # X-RateLimit-Reset above this is a Unix time

_testing = False


def set_testing(enabled: bool) -> None:
    """Turn the test mode on or off: in test mode ``sleep_before_retry`` never sleeps."""
    global _testing
    _testing = enabled


def is_testing() -> bool:
    """Whether the test mode is on."""
    return _testing


def _is_retryable_outcome(outcome: int | BaseException) -> bool:
    if isinstance(outcome, BaseException):
        # TimeoutException and every TransportError (connect, read, write, protocol);
        # TimeoutError is what an overall deadline (anyio.fail_after) raises.
        return isinstance(outcome, httpx.TransportError | TimeoutError)
    return outcome in RETRYABLE_STATUSES


def should_retry(
    method: str,
    outcome: int | BaseException,
    *,
    has_idempotency_key: bool = False,
    token_request: bool = False,
    oauth_error: str | None = None,
) -> bool:
    """Whether a request that ended in ``outcome`` may be sent again.

    Args:
        method: The HTTP method.
        outcome: The response status, or the exception the attempt raised.
        has_idempotency_key: Whether the request carries an ``Idempotency-Key`` header.
        token_request: The request asks a token endpoint for a token (any grant, or a
            revocation or introspection): repeating it is safe whatever its method, since
            an unused token is harmless and a final answer (400, 401) is never repeated.
        oauth_error: The RFC 6749 ``error`` code of the response body, if it has one
            (read for token requests only).

    Returns:
        True when the outcome is transient and repeating the request is safe.
    """
    if token_request:
        if oauth_error in RETRYABLE_OAUTH_ERRORS and not isinstance(outcome, BaseException):
            return True
        return _is_retryable_outcome(outcome)
    if not _is_retryable_outcome(outcome):
        return False
    method = method.upper()
    if method in IDEMPOTENT_METHODS:
        return True
    return method in KEYED_METHODS and has_idempotency_key


def retry_delay(
    retry_number: int,
    *,
    server_wait: float | None = None,
    initial_delay: float = INITIAL_RETRY_DELAY,
    max_delay: float = MAX_RETRY_DELAY,
    uniform: Callable[[float, float], float] = random.uniform,
) -> float:
    """Seconds to wait before retry number ``retry_number`` (1 for the first retry).

    ``server_wait`` (what the server asked for, already checked against the cap) wins;
    otherwise ``uniform(0, min(max_delay, initial_delay * 2 ** (retry_number - 1)))``.

    Args:
        retry_number: 1 for the first retry, 2 for the second, ...
        server_wait: Seconds from ``Retry-After`` / ``X-RateLimit-Reset``, if any.
        initial_delay: The cap of the first backoff.
        max_delay: The cap of every backoff.
        uniform: The jitter source, for tests.

    Returns:
        A non-negative number of seconds.
    """
    if server_wait is not None:
        return max(0.0, server_wait)
    exponent = min(max(retry_number - 1, 0), 32)  # 2**32 * anything exceeds any sane cap
    ceiling = min(max_delay, initial_delay * 2.0**exponent)
    return max(0.0, uniform(0.0, ceiling))


def parse_retry_after(headers: httpx.Headers, *, now: float | None = None) -> float | None:
    """Seconds to wait according to ``Retry-After`` (seconds or HTTP date), or None.

    Args:
        headers: The response headers.
        now: The current Unix time, for tests; defaults to ``time.time()``.

    Returns:
        A non-negative number of seconds, or None when the header is absent or unreadable.
    """
    raw = headers.get("retry-after")
    if raw is None:
        return None
    raw = raw.strip()
    try:
        seconds = float(raw)
    except ValueError:
        try:
            when = parsedate_to_datetime(raw)
            seconds = when.timestamp() - (time.time() if now is None else now)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
    if seconds != seconds or seconds in (float("inf"), float("-inf")):  # NaN or infinite
        return None
    return max(0.0, seconds)


def parse_rate_limit_reset(headers: httpx.Headers, *, now: float | None = None) -> float | None:
    """Seconds until ``X-RateLimit-Reset``, or None when absent or unreadable.

    The header is read as a Unix time when it is larger than 10**9 (as GitHub sends it),
    and as a number of seconds from now otherwise (as the IETF RateLimit draft does).
    """
    raw = headers.get("x-ratelimit-reset")
    if raw is None:
        return None
    try:
        value = float(raw.strip())
    except ValueError:
        return None
    if value != value or value in (float("inf"), float("-inf")):
        return None
    if value > _EPOCH_THRESHOLD:
        value -= time.time() if now is None else now
    return max(0.0, value)


def server_requested_wait(headers: httpx.Headers, *, now: float | None = None) -> float | None:
    """Seconds the server asked us to wait: ``Retry-After`` first, then ``X-RateLimit-Reset``."""
    wait = parse_retry_after(headers, now=now)
    if wait is None:
        wait = parse_rate_limit_reset(headers, now=now)
    return wait


async def sleep_before_retry(seconds: float) -> None:
    """Sleep ``seconds`` before a retry; in test mode only yield to the event loop."""
    # anyio is imported here, not at the top: _errors reads Retry-After from this module,
    # and importing the package must not pay for anyio before anything is sent.
    import anyio
    import anyio.lowlevel

    if _testing:
        await anyio.lowlevel.checkpoint()
        return
    await anyio.sleep(seconds)
