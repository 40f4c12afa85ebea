"""DPoP-bound tokens at the example apps (FastAPI and aiohttp), served on loopback.

The tokens come from a FAPI sandbox (``Sandbox(fapi=True)``) to its private_key_jwt
client, bound to a ``DPoPKey``; the apps' ``require_token`` checks each proof
(``_dpop_proof_check.py``) and answers refusals with ``WWW-Authenticate: DPoP``.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest

from intelliauth_ext import ClientCredentials, DPoPKey
from intelliauth_ext.testing import Sandbox

from .drivers import Service
from .helpers import AUDIENCE, DeliveryRecorder

pytestmark = pytest.mark.anyio
_PARAM = re.compile(r'(\w+)="([^"]*)"')


def challenge(response: httpx.Response) -> dict[str, str]:
    """The parameters of a response's ``WWW-Authenticate: DPoP ...`` challenge."""
    scheme, _, params = response.headers["www-authenticate"].partition(" ")
    assert scheme == "DPoP", response.headers["www-authenticate"]
    return dict(_PARAM.findall(params))


@pytest.fixture
async def sandbox(recorder: DeliveryRecorder) -> AsyncIterator[Sandbox]:
    """A FAPI sandbox on a loopback port (overrides conftest's plain one)."""
    async with Sandbox.serve(fapi=True, webhook_client=recorder.http) as sandbox:
        yield sandbox


@pytest.fixture
def dpop() -> DPoPKey:
    return DPoPKey.generate("ES256")


@pytest.fixture
async def machine(sandbox: Sandbox, dpop: DPoPKey) -> AsyncIterator[ClientCredentials]:
    """The FAPI client's token manager for the example API, its tokens bound to ``dpop``."""
    manager = ClientCredentials(
        f"{sandbox.url}/oauth2/token",
        sandbox.fapi_client_id,
        private_key=sandbox.fapi_private_key,
        key_id="fapi-1",
        dpop=dpop,
        audience=AUDIENCE,
        scopes=["users:read"],
    )
    yield manager
    await manager.aclose()


async def test_a_bound_token_with_its_proof_is_served(
    service: Service, machine: ClientCredentials
) -> None:
    """The SDK signs a proof per request; the app checks it and serves each time."""
    async with httpx.AsyncClient(auth=machine, timeout=10.0) as api:
        for _ in range(2):  # a second, fresh proof: no replay
            response = await api.get(f"{service.url}/users")
            assert response.status_code == 200, response.text


async def test_a_stolen_bound_token_is_refused(
    service: Service, machine: ClientCredentials, dpop: DPoPKey, http: httpx.AsyncClient
) -> None:
    """As Bearer: invalid_token; with a replayed or ath-less proof: invalid_dpop_proof."""
    token = (await machine.get_token()).access_token
    url = f"{service.url}/users"

    as_bearer = await http.get(url, headers={"Authorization": f"Bearer {token}"})
    assert as_bearer.status_code == 401
    assert challenge(as_bearer)["error"] == "invalid_token"
    assert "ES256" in challenge(as_bearer)["algs"].split()

    proof = dpop.proof("GET", url, access_token=token)
    headers = {"Authorization": f"DPoP {token}", "DPoP": proof}
    assert (await http.get(url, headers=headers)).status_code == 200
    replayed = await http.get(url, headers=headers)
    assert replayed.status_code == 401
    assert challenge(replayed)["error"] == "invalid_dpop_proof"

    without_ath = dpop.proof("GET", url)  # a proof for no token
    refused = await http.get(url, headers={"Authorization": f"DPoP {token}", "DPoP": without_ath})
    assert refused.status_code == 401
    assert challenge(refused)["error"] == "invalid_dpop_proof"

    thief = DPoPKey.generate("ES256").proof("GET", url, access_token=token)
    stolen = await http.get(url, headers={"Authorization": f"DPoP {token}", "DPoP": thief})
    assert stolen.status_code == 401
