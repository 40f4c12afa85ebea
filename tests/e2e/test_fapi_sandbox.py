"""FAPI 2.0 with the SDK against the sandbox over real sockets: private_key_jwt, DPoP, PAR.

The sandbox (``Sandbox(fapi=True)``) requires pushed requests, a client assertion and
DPoP-bound tokens of its FAPI application, and checks every proof at its API with its
replay cache; with ``dpop_nonces`` it demands server nonces too. So an SDK that sent a
proof without ``ath``, reused a ``jti`` or did not retry with a nonce fails here.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from intelliauth_client.models.user_create import UserCreate
from intelliauth_ext import (
    AuthorizationCodeFlow,
    ClientCredentials,
    DPoPKey,
    IntelliAuth,
    InvalidClientError,
    RefreshingAuth,
)
from intelliauth_ext.testing import Sandbox
from intelliauth_ext.testing._threaded import serve_in_thread

pytestmark = pytest.mark.anyio
REDIRECT_URI = "http://127.0.0.1:8765/callback"


@pytest.fixture(params=[False, True], ids=["no-nonces", "nonces"])
def sandbox(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    """A FAPI sandbox on loopback, with and without server-provided DPoP nonces."""
    with serve_in_thread(validate=True, fapi=True, dpop_nonces=request.param) as served:
        yield served


def client_id(sandbox: Sandbox) -> str:
    assert sandbox.fapi_client is not None
    return sandbox.fapi_client.client_id


def claims_of(token: str) -> dict[str, Any]:
    """A JWT's payload, unverified: the sandbox signed it, its binding is under test."""
    part = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))))


async def test_client_credentials_with_private_key_jwt_and_dpop(sandbox: Sandbox) -> None:
    """The issue's first example: every call DPoP-bound, a fresh proof each time."""
    dpop = DPoPKey.generate("ES256")
    async with IntelliAuth(
        sandbox.url,
        client_id=client_id(sandbox),
        private_key=sandbox.fapi_private_key,
        key_id="fapi-1",
        dpop=dpop,
    ) as client:
        created = await client.users.create(UserCreate(email="fapi@example.com"))
        for _ in range(3):  # three proofs: a reused jti would be refused as a replay
            assert (await client.users.get(created.id)).email == "fapi@example.com"
    # One token for every call; with nonces, after one use_dpop_nonce answer and a retry.
    expected = {400: 1, 200: 1} if sandbox.oauth.fapi.dpop_nonces else {200: 1}
    assert sandbox.served.statuses("requestToken") == expected


async def test_the_bound_token_is_useless_without_the_key(sandbox: Sandbox) -> None:
    """A stolen DPoP-bound token, sent as Bearer or with another key's proof, is refused."""
    dpop = DPoPKey.generate("ES256")
    auth = ClientCredentials(
        f"{sandbox.url}/oauth2/token",
        client_id(sandbox),
        private_key=sandbox.fapi_private_key,
        key_id="fapi-1",
        dpop=dpop,
    )
    async with IntelliAuth(sandbox.url, auth=auth) as client:
        await client.users.list()
        bound = await auth.get_token()
    await auth.aclose()
    assert bound.token_type == "DPoP"
    token = bound.access_token
    assert claims_of(token)["cnf"] == {"jkt": dpop.jkt}
    async with httpx.AsyncClient(base_url=sandbox.url) as http:
        stolen = await http.get("/api/v1/users", headers={"Authorization": f"Bearer {token}"})
    assert stolen.status_code == 401
    assert stolen.headers["www-authenticate"].startswith("DPoP ")


async def test_a_secret_is_no_way_in_for_the_fapi_application(sandbox: Sandbox) -> None:
    """The application authenticates only with private_key_jwt: a secret is refused."""
    async with IntelliAuth(
        sandbox.url, client_id=client_id(sandbox), client_secret="a-guessed-secret"
    ) as client:
        with pytest.raises(InvalidClientError):
            await client.users.list()


async def test_code_flow_with_par_refresh_and_userinfo(sandbox: Sandbox) -> None:
    """The issue's second example: PAR (from the metadata), DPoP-bound code, refresh, userinfo."""
    dpop = DPoPKey.generate("ES256")
    flow = AuthorizationCodeFlow(
        sandbox.url,
        client_id(sandbox),
        redirect_uri=REDIRECT_URI,
        scopes=["openid", "profile", "offline_access"],
        private_key=sandbox.fapi_private_key,
        key_id="fapi-1",
        dpop=dpop,
    )
    request = await flow.start()  # require_pushed_authorization_requests: pushed
    browser_url = httpx.URL(request.url)
    assert set(browser_url.params.keys()) == {"client_id", "request_uri"}
    async with httpx.AsyncClient() as browser:
        redirect = await browser.get(browser_url)
    assert redirect.status_code == 302, redirect.text
    tokens = await flow.complete(redirect.headers["location"], expected_state=request.state)
    assert tokens.token_type == "DPoP"
    assert claims_of(tokens.access_token)["cnf"] == {"jkt": dpop.jkt}

    auth = RefreshingAuth(
        tokens,
        token_url=f"{sandbox.url}/oauth2/token",
        client_id=client_id(sandbox),
        private_key=sandbox.fapi_private_key,
        key_id="fapi-1",
        dpop=dpop,
    )
    async with IntelliAuth(sandbox.url, auth=auth) as user:
        info = await user.oauth2.get_user_info()
        assert info.sub == sandbox.test_user["id"]
        refreshed = await auth.refresh()
        assert refreshed.token_type == "DPoP"
        assert refreshed.access_token != tokens.access_token
        again = await user.oauth2.get_user_info()
        assert again.sub == info.sub
    await auth.aclose()
