"""Tests for intelliauth_ext._retries: the pure retry policy."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime

import anyio
import httpx
import pytest

from intelliauth_ext import _retries
from intelliauth_ext._retries import (
    parse_rate_limit_reset,
    parse_retry_after,
    retry_delay,
    server_requested_wait,
    should_retry,
)


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
@pytest.mark.parametrize("method", ["GET", "HEAD", "PUT", "DELETE", "OPTIONS"])
def test_idempotent_methods_retry_transient_statuses(method: str, status: int) -> None:
    """Idempotent methods are retried on 408, 429, 500, 502, 503 and 504."""
    assert should_retry(method, status, has_idempotency_key=False)


@pytest.mark.parametrize("status", [200, 201, 204, 301, 400, 401, 403, 404, 409, 422, 501])
def test_other_statuses_are_not_retried(status: int) -> None:
    """Statuses that repeating cannot fix are never retried."""
    assert not should_retry("GET", status, has_idempotency_key=True)


@pytest.mark.parametrize(
    "exc",
    [
        httpx.ConnectError("refused"),
        httpx.ReadError("reset"),
        httpx.RemoteProtocolError("dropped"),
        httpx.ReadTimeout("slow"),
        httpx.ConnectTimeout("slow"),
        httpx.PoolTimeout("busy"),
        TimeoutError(),
    ],
)
def test_connection_errors_and_timeouts_are_retried(exc: BaseException) -> None:
    """Connection errors and timeouts (httpx's and an overall deadline's) are retried."""
    assert should_retry("GET", exc, has_idempotency_key=False)


def test_unrelated_exceptions_are_not_retried() -> None:
    """Exceptions that are not transport failures are not retried."""
    assert not should_retry("GET", ValueError("bug"), has_idempotency_key=False)


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_post_and_patch_retry_only_with_an_idempotency_key(method: str) -> None:
    """POST and PATCH are retried only when the request carries an Idempotency-Key."""
    for outcome in (503, httpx.RemoteProtocolError("dropped")):
        assert not should_retry(method, outcome, has_idempotency_key=False)
        assert should_retry(method, outcome, has_idempotency_key=True)


@pytest.mark.parametrize("outcome", [408, 429, 500, 502, 503, 504, httpx.ConnectError("no")])
def test_token_requests_are_retried_on_transient_outcomes_whatever_the_method(
    outcome: int | BaseException,
) -> None:
    """A token request (a POST without a key) is retried on the transient outcomes."""
    assert should_retry("POST", outcome, token_request=True)
    assert not should_retry("POST", outcome)


@pytest.mark.parametrize("status", [400, 401, 403, 404])
def test_token_requests_are_final_on_400_and_401(status: int) -> None:
    """A token endpoint's 400 or 401 is final, with an RFC 6749 code or without one."""
    for code in (None, "invalid_grant", "invalid_client", "slow_down"):
        assert not should_retry("POST", status, token_request=True, oauth_error=code)
        assert not should_retry("POST", status, has_idempotency_key=True, oauth_error=code)


@pytest.mark.parametrize("code", ["temporarily_unavailable", "server_error"])
@pytest.mark.parametrize("status", [400, 401, 503])
def test_token_requests_retry_temporarily_unavailable_whatever_the_status(
    code: str, status: int
) -> None:
    """RFC 6749's temporarily_unavailable and server_error codes are retried on any status."""
    assert should_retry("POST", status, token_request=True, oauth_error=code)
    assert not should_retry("POST", 400, oauth_error=code)  # only for token requests


def test_method_case_does_not_matter() -> None:
    """Lower-case methods (as the generator writes them) follow the same rules."""
    assert should_retry("get", 503, has_idempotency_key=False)
    assert not should_retry("post", 503, has_idempotency_key=False)


def test_backoff_is_full_jitter_under_an_exponential_cap() -> None:
    """delay(n) = uniform(0, min(max_delay, initial * 2**(n-1)))."""
    calls: list[tuple[float, float]] = []

    def uniform(low: float, high: float) -> float:
        calls.append((low, high))
        return high

    delays = [retry_delay(n, uniform=uniform) for n in range(1, 8)]
    assert delays == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert all(low == 0.0 for low, _ in calls)
    custom = retry_delay(3, initial_delay=1.0, max_delay=3.0, uniform=uniform)
    assert custom == 3.0


def test_backoff_is_random_within_its_bounds() -> None:
    """With the real jitter source every delay is in [0, cap]."""
    for n in range(1, 6):
        for _ in range(50):
            assert 0.0 <= retry_delay(n) <= min(8.0, 0.5 * 2 ** (n - 1))


def test_huge_retry_numbers_do_not_overflow() -> None:
    """A large retry number still gives a capped delay."""
    assert retry_delay(10_000, uniform=lambda low, high: high) == 8.0


def test_server_wait_wins_over_backoff() -> None:
    """A wait the server asked for is used as is."""
    assert retry_delay(1, server_wait=1.0, uniform=lambda low, high: high) == 1.0
    assert retry_delay(1, server_wait=-3.0) == 0.0


def test_retry_after_seconds_and_http_date() -> None:
    """Retry-After is read as seconds or as an HTTP date."""
    assert server_requested_wait(httpx.Headers({"Retry-After": "7"})) == 7.0
    now = 1_700_000_000.0
    date = format_datetime(datetime.fromtimestamp(now + 30, tz=UTC), usegmt=True)
    assert server_requested_wait(httpx.Headers({"Retry-After": date}), now=now) == 30.0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("7", 7.0),
        (" 2.5 ", 2.5),
        ("0", 0.0),
        ("-4", 0.0),  # a wait in the past is no wait
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),  # a date long past
        ("soon", None),
        ("", None),
        ("nan", None),
        ("inf", None),
        ("-inf", None),
        ("Fri, 31 Dec 99999 23:59:59 GMT", None),  # a date no clock can hold
        ("Mon, 32 Foo 2024 25:61:61 GMT", None),
    ],
)
def test_parse_retry_after(value: str, expected: float | None) -> None:
    """Retry-After (RFC 9110 section 10.2.3): seconds or an HTTP date; unreadable is None."""
    now = 1_700_000_000.0
    assert parse_retry_after(httpx.Headers({"Retry-After": value}), now=now) == expected


def test_parse_retry_after_http_date_and_absence() -> None:
    """An HTTP date is the seconds until it; no header is None."""
    now = 1_700_000_000.0
    date = format_datetime(datetime.fromtimestamp(now + 90, tz=UTC), usegmt=True)
    assert parse_retry_after(httpx.Headers({"Retry-After": date}), now=now) == 90.0
    assert parse_retry_after(httpx.Headers(), now=now) is None


def test_rate_limit_reset_as_delta_or_unix_time() -> None:
    """X-RateLimit-Reset is a delta in seconds, or a Unix time when above 10**9."""
    now = 1_700_000_000.0
    assert parse_rate_limit_reset(httpx.Headers({"X-RateLimit-Reset": "12"}), now=now) == 12.0
    epoch = httpx.Headers({"X-RateLimit-Reset": str(int(now + 45))})
    assert parse_rate_limit_reset(epoch, now=now) == 45.0
    past = httpx.Headers({"X-RateLimit-Reset": str(int(now - 45))})
    assert parse_rate_limit_reset(past, now=now) == 0.0


@pytest.mark.parametrize("value", ["soon", "nan", "inf", ""])
def test_unreadable_rate_limit_reset_is_ignored(value: str) -> None:
    """An unreadable X-RateLimit-Reset counts as absent."""
    assert parse_rate_limit_reset(httpx.Headers({"X-RateLimit-Reset": value})) is None


def test_retry_after_wins_over_rate_limit_reset() -> None:
    """Retry-After is preferred; X-RateLimit-Reset is the fallback."""
    both = httpx.Headers({"Retry-After": "2", "X-RateLimit-Reset": "9"})
    assert server_requested_wait(both) == 2.0
    assert server_requested_wait(httpx.Headers({"X-RateLimit-Reset": "9"})) == 9.0
    assert server_requested_wait(httpx.Headers()) is None


@pytest.mark.anyio
async def test_test_mode_never_sleeps() -> None:
    """In test mode a 30 s backoff returns at once."""
    assert _retries.is_testing()
    started = anyio.current_time()
    await _retries.sleep_before_retry(30.0)
    assert anyio.current_time() - started < 1.0


@pytest.mark.anyio
async def test_outside_test_mode_the_backoff_sleeps(monkeypatch: pytest.MonkeyPatch) -> None:
    """Outside test mode sleep_before_retry sleeps for the delay (anyio.sleep, patched here)."""
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr(anyio, "sleep", fake_sleep)
    monkeypatch.setattr(_retries, "_testing", False)
    await _retries.sleep_before_retry(2.5)
    assert slept == [2.5]
