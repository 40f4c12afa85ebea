"""pytest fixtures for apps built on the SDK: a running sandbox tenant and a ready client.

Installed with ``intelliauth[testing]`` and registered as a pytest plugin, so the fixtures
are there without a ``conftest.py``::

    @pytest.mark.anyio
    async def test_lists_users(intelliauth_client: IntelliAuth) -> None:
        created = await intelliauth_client.users.create(UserCreate(email="a@example.com"))
        assert created.id in [u.id async for u in intelliauth_client.users.list()]

- ``intelliauth_sandbox``: a sandbox served on a loopback port for the test (contract
  validation on: traffic that breaks the contract fails the test at teardown). Synchronous,
  so it works with any async test runner; point your app at ``intelliauth_sandbox.url``.
- ``intelliauth_client``: an ``IntelliAuth`` client with the sandbox's confidential client
  (every scope), closed after the test. An async fixture: run the test with anyio's plugin
  (``@pytest.mark.anyio``) or, with pytest-asyncio, in auto mode.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from intelliauth_ext._client import IntelliAuth

    from ._sandbox import Sandbox


@pytest.fixture
def intelliauth_sandbox() -> Iterator[Sandbox]:
    """A sandbox tenant served on 127.0.0.1 for this test, with contract validation on."""
    from ._threaded import serve_in_thread

    with serve_in_thread(validate=True) as sandbox:
        yield sandbox


@pytest.fixture
async def intelliauth_client(intelliauth_sandbox: Sandbox) -> AsyncIterator[IntelliAuth]:
    """An ``IntelliAuth`` client for the sandbox's ready confidential client."""
    from intelliauth_ext._client import IntelliAuth

    async with IntelliAuth(
        intelliauth_sandbox.url,
        client_id=intelliauth_sandbox.client_id,
        client_secret=intelliauth_sandbox.client_secret,
    ) as client:
        yield client
