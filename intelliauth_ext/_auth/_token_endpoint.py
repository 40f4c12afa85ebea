"""Talking to a token endpoint: URL checks and the HTTP client the token requests use.

Token requests never go through an auth flow (they would recurse) and are never retried
on a 400 or 401: those answers are final (a wrong secret does not become right).
"""

from __future__ import annotations

from typing import Final

import httpx

from intelliauth_ext._urls import require_secure_url

__all__ = ["DEFAULT_TOKEN_TIMEOUT", "TokenEndpointClient", "validate_token_url"]

#: Timeout of a token request on the manager's own HTTP client.
DEFAULT_TOKEN_TIMEOUT: Final = httpx.Timeout(30.0, connect=5.0)


def validate_token_url(url: str | httpx.URL) -> httpx.URL:
    """The token URL, checked: ``https://``, or ``http://`` on a loopback host only.

    Raises:
        InsecureURLError: A URL that would send the client secret in clear text.
        ValueError: A URL without a host, or with credentials in it.
    """
    parsed = require_secure_url(url, "token URL")
    if parsed.userinfo:
        raise ValueError("the token URL must not carry credentials")
    return parsed


class TokenEndpointClient:
    """Sends token requests on the given ``httpx.AsyncClient`` or on one of its own.

    Its own client is made on first use and closed by ``aclose``; a given one is never
    closed here. Either way the request is sent with ``auth=None``, so an auth set on a
    shared client can not recurse into the token manager.
    """

    def __init__(self, http_client: httpx.AsyncClient | None) -> None:
        self._given = http_client
        self._own: httpx.AsyncClient | None = None

    async def send(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` (body read, no redirects followed, no auth flow).

        Raises:
            httpx.TransportError: The token endpoint could not be reached (the runtime
                client maps it to ``APIConnectionError`` and may retry the API call).
        """
        client = self._given
        if client is None:
            if self._own is None:
                self._own = httpx.AsyncClient(timeout=DEFAULT_TOKEN_TIMEOUT)
            client = self._own
        # A bare httpx.Request carries no timeout; give it the client's, as build_request would.
        request.extensions.setdefault("timeout", client.timeout.as_dict())
        return await client.send(request, auth=None, follow_redirects=False)

    async def aclose(self) -> None:
        """Close the client this object made (idempotent); a given client stays open."""
        own, self._own = self._own, None
        if own is not None:
            await own.aclose()
