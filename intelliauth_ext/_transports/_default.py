"""The default transport: aiohttp under asyncio when installed, httpx's own otherwise.

httpx's connection pool costs several times the CPU of aiohttp per small request, so on
asyncio the client sends through ``_aiohttp.AiohttpTransport`` when the ``aiohttp``
extra is installed. aiohttp runs only on asyncio, so under trio (or without the extra)
the client uses ``httpx.AsyncHTTPTransport``.

The choice is made at the first request, not when the client is built: a client may be
created outside any event loop (at import time, in a sync factory) and only later used
inside one. ``transport=`` or ``http_client=`` on ``IntelliAuth`` bypass all of this.
"""

from __future__ import annotations

import importlib.util
import sys

import httpx

from intelliauth_ext._logging import logger
from intelliauth_ext._transports._limits import DEFAULT_LIMITS

__all__ = ["LazyDefaultTransport", "aiohttp_available", "current_async_library"]


def current_async_library() -> str:
    """The name of the running async library: ``"asyncio"`` or ``"trio"``.

    Uses sniffio when installed (anyio and httpx set it for both backends); otherwise asks
    trio whether a trio task is running, and assumes asyncio if not.
    """
    try:
        import sniffio
    except ImportError:  # pragma: no cover - sniffio ships with trio and most stacks
        pass
    else:
        try:
            return sniffio.current_async_library()
        except sniffio.AsyncLibraryNotFoundError:
            pass
    trio = sys.modules.get("trio")
    if trio is not None:
        try:
            trio.lowlevel.current_task()
        except RuntimeError:
            pass
        else:
            return "trio"
    return "asyncio"


def _in_asyncio() -> bool:
    """Whether an asyncio event loop runs in this thread (C-fast, unlike asking sniffio)."""
    asyncio = sys.modules.get("asyncio")  # not imported: no asyncio loop can be running
    if asyncio is None:
        return False
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def aiohttp_available() -> bool:
    """Whether the ``aiohttp`` extra is installed."""
    return importlib.util.find_spec("aiohttp") is not None


class LazyDefaultTransport(httpx.AsyncBaseTransport):
    """An ``httpx`` transport that picks its implementation when the first request is sent.

    Args:
        limits: Connection pool limits for whichever transport is picked.
        prefer_aiohttp: Use aiohttp on asyncio when it is installed (the default).
    """

    def __init__(
        self, *, limits: httpx.Limits = DEFAULT_LIMITS, prefer_aiohttp: bool = True
    ) -> None:
        self._limits = limits
        self._prefer_aiohttp = prefer_aiohttp
        self._inner: httpx.AsyncBaseTransport | None = None
        self._inner_library: str | None = None
        self._closed = False

    @property
    def inner(self) -> httpx.AsyncBaseTransport | None:
        """The transport picked so far, or None before the first request."""
        return self._inner

    def _pick(self, library: str) -> httpx.AsyncBaseTransport:
        if library == "asyncio" and self._prefer_aiohttp and aiohttp_available():
            # Imported here: aiohttp is an optional extra, and costly to import.
            from intelliauth_ext._transports._aiohttp import AiohttpTransport

            logger.debug("transport: aiohttp (asyncio)")
            return AiohttpTransport(limits=self._limits)
        logger.debug("transport: httpx (%s)", library)
        return httpx.AsyncHTTPTransport(limits=self._limits)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` through the picked transport, picking it first if needed."""
        if self._closed:
            raise RuntimeError("the transport is closed")
        inner = self._inner
        if inner is not None and self._inner_library == "asyncio" and _in_asyncio():
            return await inner.handle_async_request(request)  # the usual case, checked fast
        library = current_async_library()
        if self._inner is None:
            # No await between the check and the assignment: no other task can interleave.
            self._inner = self._pick(library)
            self._inner_library = library
        elif library != self._inner_library:
            raise RuntimeError(
                f"this client's transport was started under {self._inner_library} and can not "
                f"be used under {library}; create one client per event loop"
            )
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        """Close the picked transport, if any; later requests fail."""
        self._closed = True
        inner, self._inner = self._inner, None
        if inner is not None:
            await inner.aclose()
