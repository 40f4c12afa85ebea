"""Fixtures for the framework integration tests: asyncio (uvicorn, aiohttp), a served sandbox.

``app_driver`` runs a test once per framework; a module that tests one framework only
overrides it with that framework's driver.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from intelliauth_ext import IntelliAuth
from intelliauth_ext.testing import Sandbox

from .drivers import DRIVERS, AppDriver, Service
from .helpers import AUDIENCE, HOOKS_ORIGIN, DeliveryRecorder, subscribe


@pytest.fixture
def anyio_backend() -> str:
    """uvicorn and aiohttp's server need asyncio."""
    return "asyncio"


@pytest.fixture
async def recorder() -> AsyncIterator[DeliveryRecorder]:
    """The sandbox's webhook sender, keeping a copy of every delivery it POSTs."""
    recorder = DeliveryRecorder()
    async with recorder.http:
        yield recorder


@pytest.fixture
async def sandbox(recorder: DeliveryRecorder) -> AsyncIterator[Sandbox]:
    """A sandbox tenant on a loopback port; a contract violation fails the test at the end."""
    async with Sandbox.serve(webhook_client=recorder.http) as sandbox:
        yield sandbox


@pytest.fixture
async def admin(sandbox: Sandbox) -> AsyncIterator[IntelliAuth]:
    """The test's own client of the sandbox (every scope), to set up subscriptions."""
    async with IntelliAuth(
        sandbox.url, client_id=sandbox.client_id, client_secret=sandbox.client_secret
    ) as client:
        yield client


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    """Plain httpx, as an API caller or a replaying attacker would use."""
    async with httpx.AsyncClient(timeout=10.0, trust_env=False) as client:
        yield client


@pytest.fixture(params=sorted(DRIVERS))
def app_driver(request: pytest.FixtureRequest) -> AppDriver:
    """The example app of each framework, behind the same small interface."""
    return DRIVERS[request.param]()


@pytest.fixture
async def service(
    app_driver: AppDriver, sandbox: Sandbox, admin: IntelliAuth
) -> AsyncIterator[Service]:
    """The example service with the sandbox's client, its webhook secret and the sandbox's time."""
    app = app_driver.create_app(
        audience=AUDIENCE,
        webhook_secrets=[await subscribe(admin)],
        clock=sandbox.clock,
        tenant_url=sandbox.url,
        client_id=sandbox.client_id,
        client_secret=sandbox.client_secret,
    )
    async with app_driver.serve(app) as url:
        sandbox.webhooks.connect_to(HOOKS_ORIGIN, url)
        yield Service(url, app, app_driver)
