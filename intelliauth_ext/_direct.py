"""Sending through the client's own transport, without ``httpx.AsyncClient.send``.

When the SDK built the ``httpx.AsyncClient`` itself, most of what ``AsyncClient.send``
does per request is work the SDK does not need: merging a base URL and query string it
never set, a cookie jar round trip through ``urllib.request`` and ``email.message`` on
every response (an API authenticated by bearer tokens keeps no cookies), redirect
handling the SDK turns off, and three layers of body stream wrappers. Together that is
about as much CPU as the aiohttp transport underneath (see docs/benchmarks.md).

So for its own client the invoker builds the ``httpx.Request`` here and runs the
``httpx.Auth`` flow over the client's transport itself, as the httpx docs describe the
protocol: the flow yields a request, gets its response (body read) back, and may yield
another. Both seams stay httpx's: any ``httpx.Auth`` and any ``httpx`` transport work. A
client with event hooks installed, or one the user passed in, goes through
``AsyncClient.send`` as before.
"""

from __future__ import annotations

import datetime
import functools
import time
from collections.abc import Mapping
from typing import Any, Final

import httpx

__all__ = ["absolute_url", "build_request", "send"]

_URL_CACHE_SIZE: Final = 1024


@functools.lru_cache(maxsize=_URL_CACHE_SIZE)
def absolute_url(url: str) -> httpx.URL:
    """``httpx.URL(url)``, parsed once per distinct URL (``httpx.URL`` is immutable).

    Parsing costs about 10 µs, a tenth of the SDK's CPU per request; yarl caches the same
    way under aiohttp.
    """
    return httpx.URL(url)


def build_request(
    prepared: Mapping[str, Any], *, timeout: dict[str, float | None]
) -> httpx.Request:
    """The ``httpx.Request`` that ``AsyncClient.build_request(**prepared)`` would build.

    Args:
        prepared: ``Invoker.prepare`` output: ``method``, the absolute ``url`` with its
            query, every header (the client's included) and ``_get_kwargs``'s body.
        timeout: ``httpx.Timeout.as_dict()`` of the attempt.
    """
    arguments = dict(prepared)
    del arguments["timeout"]
    return httpx.Request(extensions={"timeout": timeout}, **arguments)


async def send(
    client: httpx.AsyncClient, request: httpx.Request, auth: httpx.Auth | None
) -> httpx.Response:
    """Send ``request`` through ``auth``'s flow over ``client``'s transport; the last response.

    Every response but the last is closed; the last one's body is read, so it can be used
    after the connection went back to the pool.
    """
    if client.is_closed:  # as AsyncClient.send: a closed pool must not quietly reopen
        raise RuntimeError("Cannot send a request, as the client has been closed.")
    # _transport_for_url is what respx's httpx mocker patches: tests that mock the client
    # keep working. The SDK's own client has no mounts, so this is its one transport.
    transport = client._transport_for_url(request.url)
    if auth is None:
        return await _round_trip(transport, request)
    if auth.requires_request_body:
        await request.aread()
    flow = auth.async_auth_flow(request)
    try:
        request = await flow.__anext__()
        while True:
            response = await _round_trip(transport, request)
            try:
                request = await flow.asend(response)
            except StopAsyncIteration:
                return response
            await response.aclose()
    finally:
        await flow.aclose()


async def _round_trip(
    transport: httpx.AsyncBaseTransport, request: httpx.Request
) -> httpx.Response:
    started = time.perf_counter()
    response = await transport.handle_async_request(request)
    response.request = request  # transports need not set it; AsyncClient.send does
    try:
        await response.aread()
    finally:
        await response.aclose()
    response.elapsed = datetime.timedelta(seconds=time.perf_counter() - started)
    return response
