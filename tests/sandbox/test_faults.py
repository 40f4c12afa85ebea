"""Fault injection: off by default, then 429 with Retry-After, injected 5xx, fixed windows."""

from __future__ import annotations

import httpx
import pytest

from intelliauth_ext.testing import Sandbox

from .conftest import TokenFactory
from .helpers import bearer

pytestmark = pytest.mark.anyio


async def test_throttled_requests_get_429(
    sandbox: Sandbox, http: httpx.AsyncClient, token: TokenFactory
) -> None:
    """throttle_next answers 429 rate_limited with Retry-After and X-RateLimit-*, then recovers."""
    headers = bearer(await token())
    sandbox.faults.throttle_next(1, retry_after=7)
    limited = await http.get("/api/v1/users", headers=headers)
    assert limited.status_code == 429
    assert limited.json()["error"] == "rate_limited"
    assert limited.headers["retry-after"] == "7"
    assert limited.headers["x-ratelimit-remaining"] == "0"
    assert {"x-ratelimit-limit", "x-ratelimit-reset"} <= limited.headers.keys()
    assert (await http.get("/api/v1/users", headers=headers)).status_code == 200


async def test_a_fixed_window_limit(
    sandbox: Sandbox, http: httpx.AsyncClient, token: TokenFactory
) -> None:
    """rate_limit(2) lets two requests through per window, and the clock resets it."""
    headers = bearer(await token())
    sandbox.faults.rate_limit(2, window=60)
    statuses = [(await http.get("/api/v1/users", headers=headers)).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    sandbox.clock.advance(61)
    assert (await http.get("/api/v1/users", headers=headers)).status_code == 200


async def test_injected_server_errors(
    sandbox: Sandbox, http: httpx.AsyncClient, token: TokenFactory
) -> None:
    """fail_next gives 503 service_unavailable (and OAuth's temporarily_unavailable)."""
    headers = bearer(await token())
    sandbox.faults.fail_next(503, times=2)
    api = await http.get("/api/v1/users", headers=headers)
    assert (api.status_code, api.json()["error"]) == (503, "service_unavailable")
    oauth = await http.post("/oauth2/token", data={"grant_type": "client_credentials"})
    assert (oauth.status_code, oauth.json()["error"]) == (503, "temporarily_unavailable")
    assert (await http.get("/api/v1/users", headers=headers)).status_code == 200


async def test_faults_are_off_by_default(http: httpx.AsyncClient, token: TokenFactory) -> None:
    """Without configuration, many requests in a row all succeed."""
    headers = bearer(await token())
    for _ in range(20):
        assert (await http.get("/api/v1/users", headers=headers)).status_code == 200
