"""The cause of every 503 is logged at WARNING, once per cause and interval, without secrets."""

from __future__ import annotations

import logging

import httpx
import pytest

from intelliauth_ext._outage_log import DEFAULT_INTERVAL
from intelliauth_ext.testing import Sandbox

from .drivers import Service
from .helpers import bearer, jwks_unavailable, mint_token

pytestmark = pytest.mark.anyio


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == "intelliauth" and record.levelno == logging.WARNING
    ]


async def test_a_503_logs_its_cause_once_per_interval(
    service: Service, sandbox: Sandbox, http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    """Three 503s of one key-set outage log one warning naming it; after the interval, one more."""
    caplog.set_level(logging.WARNING, logger="intelliauth")
    token = await mint_token(sandbox, http, "users:read")
    sandbox.override("getJwks", jwks_unavailable)
    answers = [
        (await http.get(f"{service.url}/users", headers=bearer(token))).status_code
        for _ in range(3)
    ]
    assert answers == [503, 503, 503]
    [warning] = _warnings(caplog)
    assert warning.startswith("answering 503: the token can not be verified: ")
    assert f"on GET {sandbox.url}/.well-known/jwks.json" in warning
    assert "503" in warning.split(": ", 2)[2]  # the key set's own status is part of the cause

    sandbox.clock.advance(DEFAULT_INTERVAL)
    assert (await http.get(f"{service.url}/users", headers=bearer(token))).status_code == 503
    first, second = _warnings(caplog)
    assert second.endswith("(2 more since the last warning)")
    for line in (first, second):
        assert token not in line
        assert sandbox.client_secret not in line
