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
neither retries: retries are the invoker's, around ``send``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import httpx

__all__ = ["ClientSender", "Sender"]


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

    async def send(self, request: httpx.Request, auth: httpx.Auth | None) -> httpx.Response:
        """Send ``request`` through ``auth``'s flow; the last response, its body read.

        Args:
            request: A request from ``build_request``.
            auth: The flow to run; None sends the request as built (``ClientSender``: with
                the ``AsyncClient``'s own auth, if it has one).

        Raises:
            RuntimeError: The client is closed.
            httpx.RequestError: The transport's errors, as ``AsyncClient.send`` raises them.
        """
        ...


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

    async def send(self, request: httpx.Request, auth: httpx.Auth | None) -> httpx.Response:
        """``client.send(request, auth=auth, follow_redirects=False)``; its own auth if None."""
        if auth is None:
            return await self._client.send(request, follow_redirects=False)
        return await self._client.send(request, auth=auth, follow_redirects=False)

    def __repr__(self) -> str:
        return "ClientSender()"
