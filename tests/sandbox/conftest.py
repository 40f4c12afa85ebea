"""Fixtures for the sandbox tests: asyncio only (uvicorn), validation on, plain httpx."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest

from intelliauth_ext.testing import Sandbox

TokenFactory = Callable[..., Awaitable[str]]


@pytest.fixture
def anyio_backend() -> str:
    """The sandbox's served mode runs uvicorn, which needs asyncio."""
    return "asyncio"


@pytest.fixture
def sandbox() -> Sandbox:
    """A fresh sandbox with contract validation on; a violation raises inside the test."""
    return Sandbox(validate=True, strict_requests=False)


@pytest.fixture
async def http(sandbox: Sandbox) -> AsyncIterator[httpx.AsyncClient]:
    """httpx talking to the sandbox in process; leftover violations fail the test."""
    async with sandbox.http_client() as client:
        yield client
    sandbox.check_violations()


@pytest.fixture
def token(sandbox: Sandbox, http: httpx.AsyncClient) -> TokenFactory:
    """Return a coroutine minting a client-credentials access token with the given scopes."""

    async def mint(*scopes: str) -> str:
        data = {
            "grant_type": "client_credentials",
            "client_id": sandbox.client_id,
            "client_secret": sandbox.client_secret,
        }
        if scopes:
            data["scope"] = " ".join(scopes)
        response = await http.post("/oauth2/token", data=data)
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    return mint
