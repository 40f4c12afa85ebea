"""Contract validation: a response that breaks the spec fails the test that caused it."""

from __future__ import annotations

import httpx
import pytest
from starlette.responses import JSONResponse, Response

from intelliauth_ext.testing import ContractViolation, Sandbox

from .conftest import TokenFactory
from .helpers import bearer

pytestmark = pytest.mark.anyio


async def _malformed_user(ctx: object) -> Response:
    # No `meta`, and an id of the wrong shape: two breaches of UserEnvelope.
    return JSONResponse({"data": {"id": "user-1", "email": "x@example.com"}})


async def test_a_malformed_response_raises_in_the_test(
    sandbox: Sandbox, http: httpx.AsyncClient, token: TokenFactory
) -> None:
    """In process, the violation is raised out of the request, naming what is wrong."""
    sandbox.override("getUser", _malformed_user)
    headers = bearer(await token())
    with pytest.raises(ContractViolation) as caught:
        await http.get(f"/api/v1/users/{sandbox.test_user['id']}", headers=headers)
    message = str(caught.value)
    assert "GET /api/v1/users/" in message
    assert "meta" in message
    sandbox.violation_log.violations.clear()  # seen; do not fail the fixture's teardown


async def test_recorded_violations_fail_at_check() -> None:
    """With raise_violations=False the response goes out and check_violations() raises."""
    sandbox = Sandbox(raise_violations=False)
    sandbox.override("getUser", _malformed_user)
    async with sandbox.http_client() as http:
        token = (
            await http.post(
                "/oauth2/token",
                data={"grant_type": "client_credentials"},
                auth=(sandbox.client_id, sandbox.client_secret),
            )
        ).json()["access_token"]
        response = await http.get(f"/api/v1/users/{sandbox.test_user['id']}", headers=bearer(token))
    assert response.status_code == 200
    with pytest.raises(ContractViolation):
        sandbox.check_violations()
    sandbox.check_violations()  # reported once, then forgotten


async def test_an_invalid_request_is_answered_422(
    http: httpx.AsyncClient, token: TokenFactory
) -> None:
    """A body the contract refuses is 422 validation_failed listing the problems."""
    response = await http.post(
        "/api/v1/users", json={"name": ""}, headers=bearer(await token("users:write"))
    )
    assert response.status_code == 422
    assert response.json()["error"] == "validation_failed"
    assert any("email" in problem for problem in response.json()["details"]["errors"])


async def test_strict_requests_make_a_bad_request_a_violation() -> None:
    """With strict_requests the request itself is a violation (an SDK drifting from the spec)."""
    sandbox = Sandbox(strict_requests=True)
    async with sandbox.http_client() as http:
        token = (
            await http.post(
                "/oauth2/token",
                data={"grant_type": "client_credentials"},
                auth=(sandbox.client_id, sandbox.client_secret),
            )
        ).json()["access_token"]
        with pytest.raises(ContractViolation, match="request breaks the contract"):
            await http.get("/api/v1/users", params={"limit": 0}, headers=bearer(token))
