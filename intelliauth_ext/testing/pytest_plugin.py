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
- ``intelliauth_outbox``: the sandbox's outbox, where the SMS and email codes it "sends"
  arrive (``intelliauth_outbox.latest_code(to="ada@example.com")``).

pytest loads this plugin in every run of a project where ``intelliauth`` is installed, with
or without the ``[testing]`` extra, so it imports nothing but pytest until a test asks for
a fixture; without the extra, that test errors with the ``pip install`` line to run.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from intelliauth_ext._client import IntelliAuth

    from ._outbox import Outbox
    from ._sandbox import Sandbox

#: What to install when a fixture is used without the ``[testing]`` extra.
_INSTALL_HINT = 'pip install "intelliauth[testing]"'


def _serve_in_thread() -> Callable[..., AbstractContextManager[Sandbox]]:
    """``serve_in_thread``, imported now; without the ``[testing]`` extra, fail the test."""
    try:
        from ._threaded import serve_in_thread
    except ModuleNotFoundError as exc:
        missing = exc.name
    else:
        return serve_in_thread
    # Outside the except block, so the report is this one line, not a chained traceback.
    pytest.fail(
        f"the intelliauth fixtures need the [testing] extra ({missing} is not installed): "
        f"{_INSTALL_HINT}",
        pytrace=False,
    )


@pytest.fixture
def intelliauth_sandbox() -> Iterator[Sandbox]:
    """A sandbox tenant served on 127.0.0.1 for this test, with contract validation on."""
    with _serve_in_thread()(validate=True) as sandbox:
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


@pytest.fixture
def intelliauth_outbox(intelliauth_sandbox: Sandbox) -> Outbox:
    """The sandbox's outbox: the SMS and email one-time codes it sent, newest last."""
    return intelliauth_sandbox.outbox
