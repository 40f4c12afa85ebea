"""_outage_log: the cause of a 503 is logged at WARNING once per cause and interval."""

from __future__ import annotations

import logging

import httpx
import pytest

from intelliauth_ext import APIConnectionError, InternalServerError
from intelliauth_ext._outage_log import OutageLog, cause_of

from .auth_fakes import FakeClock

JWKS = "https://acme.intelliauth.io/.well-known/jwks.json"


def _unavailable(request_id: str) -> InternalServerError:
    request = httpx.Request("GET", JWKS)
    response = httpx.Response(503, request=request, headers={"X-Request-Id": request_id})
    return InternalServerError(
        f"[503] down (request_id={request_id})",
        response=response,
        code="temporarily_unavailable",
        request_id=request_id,
    )


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


def test_the_cause_leaves_out_what_changes_per_request() -> None:
    """Two failures that differ only by request id (and query) have one cause."""
    first, second = _unavailable("req_1"), _unavailable("req_2")
    assert cause_of(first) == cause_of(second)
    assert cause_of(first) == f"InternalServerError 503 temporarily_unavailable on GET {JWKS}"
    refused = APIConnectionError("refused", request=httpx.Request("GET", f"{JWKS}?a=1"))
    assert cause_of(refused) == f"APIConnectionError on GET {JWKS}"


def test_one_warning_per_cause_and_interval(caplog: pytest.LogCaptureFixture) -> None:
    """A repeated cause waits out the interval, then reports how many 503s it caused."""
    caplog.set_level(logging.WARNING, logger="intelliauth")
    clock = FakeClock()
    log = OutageLog(interval=60.0, clock=clock)
    for number in range(5):
        log.record(_unavailable(f"req_{number}"))
    refused = APIConnectionError("refused", request=httpx.Request("GET", JWKS))
    log.record(refused)  # another cause: logged at once
    assert len(_warnings(caplog)) == 2
    clock.advance(59.9)
    log.record(_unavailable("req_9"))
    assert len(_warnings(caplog)) == 2
    clock.advance(0.1)
    log.record(_unavailable("req_10"))
    *_, last = _warnings(caplog)
    assert last.startswith("answering 503: the token can not be verified: InternalServerError")
    assert last.endswith("(5 more since the last warning)")


def test_a_warning_never_quotes_a_secret(caplog: pytest.LogCaptureFixture) -> None:
    """Credentials in a message are redacted, like every line of the intelliauth logger."""
    caplog.set_level(logging.WARNING, logger="intelliauth")
    leaky = APIConnectionError(
        "failed: client_secret=hunter2-secret&access_token=eyJtoken",
        request=httpx.Request("GET", "https://user:pw@acme.intelliauth.io/x?access_token=eyJ"),
    )
    OutageLog().record(leaky)
    [line] = _warnings(caplog)
    for secret in ("hunter2-secret", "eyJtoken", "eyJ", ":pw@"):
        assert secret not in line
