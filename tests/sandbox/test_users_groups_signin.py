"""Resources with behaviour: import jobs that progress, groups, sign-in with the MFA branch."""

from __future__ import annotations

import httpx
import pytest

from intelliauth_ext.testing import Sandbox

from .conftest import TokenFactory
from .helpers import bearer

pytestmark = pytest.mark.anyio


async def test_import_job_progresses_over_polls(
    http: httpx.AsyncClient, token: TokenFactory
) -> None:
    """A 202 queued job advances a third per poll to completed, reporting row errors."""
    headers = bearer(await token())
    rows = [{"email": f"i{n}@example.com"} for n in range(5)] + [{"email": "i0@example.com"}]
    accepted = await http.post("/api/v1/users/imports", json={"users": rows}, headers=headers)
    assert accepted.status_code == 202
    job = accepted.json()["data"]
    assert job["status"] == "queued"
    statuses = []
    while job["status"] != "completed":
        job = (await http.get(f"/api/v1/users/imports/{job['id']}", headers=headers)).json()["data"]
        statuses.append(job["status"])
    assert statuses == ["running", "running", "completed"]
    assert (job["created_count"], job["failed_count"]) == (5, 1)
    assert job["errors"][0]["error"] == "already_exists"


async def test_group_membership(http: httpx.AsyncClient, token: TokenFactory) -> None:
    """Members are added once, listed both ways, and removed."""
    headers = bearer(await token())
    group = (await http.post("/api/v1/groups", json={"name": "Ops"}, headers=headers)).json()[
        "data"
    ]
    user = (
        await http.post("/api/v1/users", json={"email": "m@example.com"}, headers=headers)
    ).json()["data"]
    members_url = f"/api/v1/groups/{group['id']}/members"
    added = await http.post(members_url, json={"user_id": user["id"]}, headers=headers)
    assert added.status_code == 201
    again = await http.post(members_url, json={"user_id": user["id"]}, headers=headers)
    assert again.json()["error"] == "already_exists"
    members = (await http.get(members_url, headers=headers)).json()["data"]
    assert [m["user_id"] for m in members] == [user["id"]]
    groups = (await http.get(f"/api/v1/users/{user['id']}/groups", headers=headers)).json()
    assert groups["data"][0]["member_count"] == 1
    removed = await http.delete(f"{members_url}/{user['id']}", headers=headers)
    assert removed.status_code == 204


async def test_sign_in_with_the_mfa_branch(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    """A TOTP user gets mfa_required; a wrong code is invalid_mfa_code; the right one signs in."""
    user = sandbox.add_user("mfa@example.com", password="long enough password", totp=True)
    started = await http.post(
        "/api/v1/auth/sign-in",
        json={
            "client_id": sandbox.client_id,
            "email": "mfa@example.com",
            "password": "long enough password",
        },
    )
    result = started.json()["data"]
    assert result["status"] == "mfa_required"
    flow = {"mfa_flow_id": result["mfa_flow_id"], "factor_id": result["factors"][0]["id"]}
    challenge = await http.post("/api/v1/auth/mfa/challenge", json=flow)
    assert challenge.json()["data"]["factor_type"] == "totp"
    code = sandbox.totp_code(user["id"])
    wrong_code = f"{(int(code) + 1) % 1_000_000:06d}"
    wrong = await http.post("/api/v1/auth/mfa/verify", json={**flow, "code": wrong_code})
    assert wrong.json()["error"] == "invalid_mfa_code"
    verified = await http.post("/api/v1/auth/mfa/verify", json={**flow, "code": code})
    signed_in = verified.json()["data"]
    assert signed_in["status"] == "authenticated"
    access = signed_in["tokens"]["access_token"]
    sessions = (await http.get("/api/v1/me/sessions", headers=bearer(access))).json()["data"]
    assert [s["current"] for s in sessions] == [True]


async def test_wrong_password_is_invalid_credentials(
    sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    """A wrong password is 401 invalid_credentials, whether or not the email exists."""
    for email in (sandbox.test_user["email"], "nobody@example.com"):
        response = await http.post(
            "/api/v1/auth/sign-in",
            json={"client_id": sandbox.client_id, "email": email, "password": "wrong"},
        )
        assert (response.status_code, response.json()["error"]) == (401, "invalid_credentials")


async def test_a_client_token_cannot_use_me(http: httpx.AsyncClient, token: TokenFactory) -> None:
    """/me needs a user's token: a client-credentials token is 403 permission_denied."""
    response = await http.get("/api/v1/me/profile", headers=bearer(await token()))
    assert response.status_code == 403
