"""How the invoker hands a request to the HTTP client: the ``Sender`` protocol.

Two implementations, one of them chosen when the client is built (``Invoker(direct=...)``)
and kept for its life:

* ``ClientSender`` (here): ``httpx.AsyncClient.build_request`` and ``AsyncClient.send``,
  with everything they do. For an ``http_client`` the user passed in, whose cookies,
  mounts and base URL are theirs.
* ``DirectSender`` (``_direct``): for the ``httpx.AsyncClient`` the SDK built itself; runs
  the ``httpx.Auth`` flow over the client's transport without ``AsyncClient.send``.

Both send the same requests and return the same responses for the same calls (the test
``tests/ext/test_sender.py`` pins it over a real socket). Neither follows redirects, and
neither retries: retries are the invoker's, around ``send``. Both run the SDK's auth flow
themselves (``run_auth_flow``), so every response of the flow, a 401 before its replay
included, is read by ``_bounded.read_body`` under the call's size limit; httpx's own flow
runner would read those bodies whole.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

import httpx

from intelliauth_ext import _telemetry
from intelliauth_ext._transports._bounded import send_bounded

__all__ = ["ClientSender", "Sender", "run_auth_flow"]


class Sender(Protocol):
    """Builds one attempt's ``httpx.Request`` and sends it through an auth flow."""

    def build_request(self, prepared: Mapping[str, Any]) -> httpx.Request:
        """The request ``AsyncClient.build_request(**prepared)`` builds.

        Args:
            prepared: ``Invoker.prepare`` output: ``method``, the absolute ``url`` with its
                query, every header (the client's included), the ``timeout`` and
                ``_get_kwargs``'s body.
        """
        ...

    async def send(
        self, request: httpx.Request, auth: httpx.Auth | None, *, max_bytes: int
    ) -> httpx.Response:
        """Send ``request`` through ``auth``'s flow; the last response, its body read.

        Args:
            request: A request from ``build_request``.
            auth: The flow to run; None sends the request as built (``ClientSender``: with
                the ``AsyncClient``'s own auth, if it has one).
            max_bytes: The most decoded bytes accepted in any response body of the flow.

        Raises:
            RuntimeError: The client is closed.
            ResponseTooLargeError: A body longer than ``max_bytes``.
            httpx.RequestError: The transport's errors, as ``AsyncClient.send`` raises them.
        """
        ...


async def run_auth_flow(
    request: httpx.Request,
    auth: httpx.Auth,
    round_trip: Callable[[httpx.Request], Awaitable[httpx.Response]],
) -> httpx.Response:
    """Run ``auth``'s flow, sending each request it yields with ``round_trip``.

    The protocol of ``httpx.Auth`` (as ``AsyncClient.send`` runs it): the flow yields a
    request, is sent its response (body read by ``round_trip``), and may yield another.
    Every response but the last is closed.
    """
    if auth.requires_request_body:
        await request.aread()
    flow = auth.async_auth_flow(request)
    try:
        request = await flow.__anext__()
        while True:
            response = await round_trip(request)
            try:
                request = await flow.asend(response)
            except StopAsyncIteration:
                return response
            # The flow sends another request (a 401 replayed with a new token): an event
            # on the call's span, when OpenTelemetry is configured.
            _telemetry.record_replay(response.status_code)
            await response.aclose()
    finally:
        await flow.aclose()


class ClientSender:
    """Sends through ``httpx.AsyncClient.send``, redirects not followed.

    Args:
        client: The ``httpx.AsyncClient`` to send with; never closed here.
    """

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    def build_request(self, prepared: Mapping[str, Any]) -> httpx.Request:
        """``client.build_request(**prepared)``."""
        return self._client.build_request(**prepared)

    async def send(
        self, request: httpx.Request, auth: httpx.Auth | None, *, max_bytes: int
    ) -> httpx.Response:
        """``client.send`` per request of ``auth``'s flow; the client's own auth if None.

        The client's own auth (no ``auth`` given) is run by httpx, which reads the bodies
        of that flow's intermediate responses whole; the last one is read under
        ``max_bytes`` either way.
        """
        client = self._client
        if auth is None:
            return await send_bounded(client, request, max_bytes=max_bytes, follow_redirects=False)

        def round_trip(flow_request: httpx.Request) -> Awaitable[httpx.Response]:
            # auth=None: this flow replaces the client's own auth, as send(auth=...) would.
            return send_bounded(
                client, flow_request, max_bytes=max_bytes, auth=None, follow_redirects=False
            )

        return await run_auth_flow(request, auth, round_trip)

    def __repr__(self) -> str:
        return "ClientSender()"
