"""``StaticToken``: a long-lived token issued by hand (a service or organisation token)."""

from __future__ import annotations

from collections.abc import Generator

import httpx

from intelliauth_ext._auth._access_token import bearer_header
from intelliauth_ext._secret import Secret

__all__ = ["StaticToken"]


class StaticToken(httpx.Auth):
    """Sends one fixed bearer token with every request, sync or async; ``repr`` hides it.

    There is nothing to refresh: a 401 is returned as is (the runtime client raises
    ``AuthenticationError``), since only a person can issue a new token.

    Args:
        token: The token, as copied from the provider's console.

    Raises:
        ValueError: An empty token, or one with characters that can not go in a header
            (spaces, line breaks, non-ASCII: usually a copy-paste accident).
    """

    def __init__(self, token: str) -> None:
        token = token.strip()
        if token.lower().startswith("bearer "):
            token = token[len("bearer ") :].strip()
        if not token:
            raise ValueError("the token must not be empty")
        if not all("!" <= char <= "~" for char in token):
            raise ValueError("the token holds characters that can not be sent in a header")
        self._header = Secret(bearer_header(token))  # vars() and repr show no token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Set ``Authorization: Bearer <token>`` and send."""
        request.headers["Authorization"] = self._header.reveal()
        yield request

    def __repr__(self) -> str:
        return "StaticToken(token='[REDACTED]')"
