"""Fault injection for tests: rate limiting (429), injected 5xx and latency; all off by default.

Configure per test on ``sandbox.faults``::

    sandbox.faults.throttle_next(2, retry_after=1)   # the next two requests get 429
    sandbox.faults.rate_limit(limit=5, window=60)    # a fixed window of 5 requests a minute
    sandbox.faults.fail_next(503, times=1)           # the next request gets a 503
    sandbox.faults.latency(0.2)                      # every request waits 200 ms first
    sandbox.faults.reset()

Faults apply to paths under ``prefixes`` (``/api/v1`` and ``/oauth2`` by default); the
discovery documents and the sandbox's own pages are never faulted.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

import anyio
import attrs
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from ._clock import SandboxClock
from ._envelopes import ApiError, OAuthError, error_response, oauth_error_response

_ERROR_OF_STATUS = {500: "internal_error", 502: "service_unavailable", 503: "service_unavailable"}


@attrs.define
class Faults:
    """The fault plan of one sandbox. Every switch is off until a test turns it on."""

    _clock: SandboxClock
    prefixes: tuple[str, ...] = ("/api/v1", "/oauth2")
    _throttled: int = 0
    _retry_after: int = 1
    _limit: int | None = None
    _window: float = 60.0
    _window_start: float = 0.0
    _window_count: int = 0
    _failures: list[int] = attrs.field(factory=list)
    _error_rate: float = 0.0
    _error_status: int = 503
    _latency: float = 0.0
    _random: random.Random = attrs.field(factory=lambda: random.Random(0))  # noqa: S311

    def throttle_next(self, times: int = 1, *, retry_after: int = 1) -> None:
        """Answer the next ``times`` requests with 429 and ``Retry-After: retry_after``."""
        self._throttled = times
        self._retry_after = retry_after

    def rate_limit(self, limit: int, *, window: float = 60.0) -> None:
        """Allow ``limit`` requests per fixed ``window`` seconds, then 429 until it resets."""
        self._limit, self._window = limit, window
        self._window_start, self._window_count = self._clock.now(), 0

    def fail_next(self, status: int = 503, *, times: int = 1) -> None:
        """Answer the next ``times`` requests with ``status`` (500, 502 or 503)."""
        self._failures.extend([status] * times)

    def error_rate(self, rate: float, *, status: int = 503, seed: int = 0) -> None:
        """Fail a fraction ``rate`` of requests with ``status`` (seeded, so reproducible)."""
        self._error_rate, self._error_status = rate, status
        self._random = random.Random(seed)  # noqa: S311 - test noise, not security

    def latency(self, seconds: float) -> None:
        """Delay every faulted path by ``seconds`` before handling it."""
        self._latency = seconds

    def reset(self) -> None:
        """Turn every fault off."""
        self._throttled, self._limit, self._failures = 0, None, []
        self._error_rate, self._latency = 0.0, 0.0

    def applies_to(self, path: str) -> bool:
        """Whether requests to ``path`` are subject to faults."""
        return path.startswith(self.prefixes)

    async def delay(self) -> None:
        """Sleep for the configured latency, if any."""
        if self._latency > 0:
            await anyio.sleep(self._latency)

    def rate_limit_headers(self) -> dict[str, str]:
        """``X-RateLimit-*`` headers describing the current window (empty when not limited)."""
        if self._limit is None:
            return {}
        reset = self._window_start + self._window
        return {
            "X-RateLimit-Limit": str(self._limit),
            "X-RateLimit-Remaining": str(max(self._limit - self._window_count, 0)),
            "X-RateLimit-Reset": str(math.ceil(reset)),
        }

    def verdict(self) -> ApiError | None:
        """Decide the fate of one request: an error to answer with, or None to handle it."""
        now = self._clock.now()
        if self._throttled > 0:
            self._throttled -= 1
            return self._too_many(self._retry_after, limit=1, reset=now + self._retry_after)
        if self._limit is not None:
            if now >= self._window_start + self._window:
                self._window_start, self._window_count = now, 0
            self._window_count += 1
            if self._window_count > self._limit:
                reset = self._window_start + self._window
                return self._too_many(max(math.ceil(reset - now), 1), self._limit, reset)
        status = None
        if self._failures:
            status = self._failures.pop(0)
        elif self._error_rate and self._random.random() < self._error_rate:
            status = self._error_status
        if status is not None:
            code = _ERROR_OF_STATUS.get(status, "internal_error")
            return ApiError(code, f"Injected fault: HTTP {status}.", status=status)
        return None

    @staticmethod
    def _too_many(retry_after: int, limit: int, reset: float) -> ApiError:
        return ApiError(
            "rate_limited",
            f"Too many requests; retry after {retry_after} s.",
            details={"retry_after": retry_after},
            headers={
                "Retry-After": str(retry_after),
                "X-RateLimit-Limit": str(limit),
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": str(math.ceil(reset)),
            },
        )


class FaultMiddleware:
    """Applies :class:`Faults` before the request reaches a route."""

    def __init__(self, app: ASGIApp, *, faults: Callable[[], Faults]) -> None:
        self.app = app
        self._faults = faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        faults = self._faults()
        if scope["type"] != "http" or not faults.applies_to(scope["path"]):
            await self.app(scope, receive, send)
            return
        await faults.delay()
        error = faults.verdict()
        if error is None:
            await self.app(scope, receive, send)
            return
        response: Response
        if scope["path"].startswith("/oauth2"):
            oauth_code = "temporarily_unavailable" if error.status != 500 else "server_error"
            response = oauth_error_response(
                OAuthError(oauth_code, error.message, status=error.status, headers=error.headers)
            )
        else:
            response = error_response(scope, error)
        assert isinstance(response, JSONResponse)
        await response(scope, receive, send)
