"""A served sandbox on a background thread, for code that has no event loop of its own yet.

The pytest fixtures use it: the sandbox runs uvicorn on its own asyncio loop in a daemon
thread, so a test on any event loop (asyncio or trio, pytest-asyncio or anyio) talks to it
over a real loopback socket, and a synchronous fixture can start and stop it.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

from ._sandbox import Sandbox

__all__ = ["serve_in_thread"]

#: Seconds to wait for the server to start, and to stop.
_START_TIMEOUT = 30.0
_STOP_TIMEOUT = 10.0


@contextlib.contextmanager
def serve_in_thread(**options: Any) -> Iterator[Sandbox]:
    """Run ``Sandbox.serve(**options)`` on a background thread for the block.

    Yields:
        The running sandbox (``url``, ``client_id``, ``client_secret``, seeding helpers).

    Raises:
        RuntimeError: The server did not start in time.
        ContractViolation: Traffic broke the contract (raised when the block exits).
    """
    ready = threading.Event()
    started: list[Sandbox] = []
    failures: list[BaseException] = []
    stoppers: list[Callable[[], None]] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()

        def request_stop() -> None:
            loop.call_soon_threadsafe(stop.set)

        stoppers.append(request_stop)
        async with Sandbox.serve(**options) as sandbox:
            started.append(sandbox)
            ready.set()
            await stop.wait()

    def run() -> None:
        try:
            asyncio.run(main())
        except BaseException as exc:  # re-raised in the caller's thread
            failures.append(exc)
        finally:
            ready.set()

    thread = threading.Thread(target=run, name="intelliauth-sandbox", daemon=True)
    thread.start()
    if not ready.wait(_START_TIMEOUT) or not started:
        if stoppers:
            stoppers[0]()
        thread.join(_STOP_TIMEOUT)
        if failures:
            raise RuntimeError("the sandbox did not start") from failures[0]
        raise RuntimeError(f"the sandbox did not start within {_START_TIMEOUT:.0f} s")
    try:
        yield started[0]
    finally:
        stoppers[0]()
        thread.join(_STOP_TIMEOUT)
    if failures:
        raise failures[0]
