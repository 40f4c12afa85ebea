"""One small interface over the FastAPI and aiohttp example apps, for the shared suite.

An `AppDriver` builds a framework's example app, serves it on a loopback port and reads
what differs between the frameworks: where the app keeps its webhook inbox, and where an
error response puts the error object (FastAPI nests it under ``detail``).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from types import ModuleType
from typing import Any

import anyio
import attrs
import httpx
import uvicorn
from aiohttp import web

from .helpers import load_example


@contextlib.asynccontextmanager
async def serve_asgi(app: Any) -> AsyncIterator[str]:
    """Run an ASGI app with uvicorn on a free loopback port, lifespan on; yield its URL."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, lifespan="on", log_level="warning", access_log=False
    )
    server = uvicorn.Server(config)
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(server.serve)
        try:
            with anyio.fail_after(10):
                while not server.started:
                    assert not server.should_exit, "the app did not start"
                    await anyio.sleep(0.005)
            port = server.servers[0].sockets[0].getsockname()[1]
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True


@contextlib.asynccontextmanager
async def serve_aiohttp(app: web.Application) -> AsyncIterator[str]:
    """Run an aiohttp app (cleanup contexts included) on a free loopback port; yield its URL."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@attrs.frozen
class AppDriver:
    """How the tests build, serve and read one framework's example app."""

    framework: str
    """``"fastapi"`` or ``"aiohttp"`` (the test id)."""
    example: ModuleType
    """``examples/<framework>_app.py``."""
    serve: Callable[[Any], AbstractAsyncContextManager[str]]
    """Serve an app on a free loopback port, yielding its URL."""
    inbox_of: Callable[[Any], Any]
    """The example's ``Inbox`` of an app: the webhook events it acted on."""
    error_of: Callable[[httpx.Response], Any]
    """The error object of an error response's JSON body."""

    def create_app(self, **options: Any) -> Any:
        """The example's ``create_app(**options)``."""
        return self.example.create_app(**options)


def _fastapi_driver() -> AppDriver:
    return AppDriver(
        framework="fastapi",
        example=load_example("fastapi_app"),
        serve=serve_asgi,
        inbox_of=lambda app: app.state.inbox,
        error_of=lambda response: response.json()["detail"],
    )


def _aiohttp_driver() -> AppDriver:
    example = load_example("aiohttp_app")
    return AppDriver(
        framework="aiohttp",
        example=example,
        serve=serve_aiohttp,
        inbox_of=lambda app: app[example.INBOX],
        error_of=lambda response: response.json(),
    )


DRIVERS: dict[str, Callable[[], AppDriver]] = {
    "fastapi": _fastapi_driver,
    "aiohttp": _aiohttp_driver,
}
"""Each framework's driver, built (and its example imported) when a test asks for it."""


@attrs.frozen
class Service:
    """An example app, running."""

    url: str
    app: Any
    driver: AppDriver

    @property
    def events(self) -> list[Any]:
        """The webhook events the service acted on."""
        return list(self.driver.inbox_of(self.app).events)
