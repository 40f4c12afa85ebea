"""Helpers of the native-app tests: a public client with a loopback redirect, a browser."""

from __future__ import annotations

import socket

import httpx
import pytest

from intelliauth_ext import AuthorizationCodeFlow
from intelliauth_ext.testing import Sandbox

SCOPES = ["openid", "profile", "offline_access", "users:read"]


def native_flow(
    sandbox: Sandbox, redirect_uri: str = "http://127.0.0.1/callback"
) -> AuthorizationCodeFlow:
    client = sandbox.add_client(name="native app", public=True, redirect_uris=(redirect_uri,))
    return AuthorizationCodeFlow(
        sandbox.url, client.client_id, redirect_uri=redirect_uri, scopes=SCOPES
    )


def assert_refused(url: str) -> None:
    """Nothing listens at ``url``'s host and port any more."""
    parsed = httpx.URL(url)
    family = socket.AF_INET6 if ":" in parsed.host else socket.AF_INET
    with socket.socket(family) as probe, pytest.raises(ConnectionRefusedError):
        probe.connect((parsed.host, parsed.port or 80))


class Browser:
    """Plays the browser: follows the authorization URL to the loopback callback."""

    def __init__(self) -> None:
        self.authorization_urls: list[str] = []
        self.callback_urls: list[str] = []
        self.pages: list[httpx.Response] = []

    async def follow(self, url: str) -> None:
        self.authorization_urls.append(url)
        async with httpx.AsyncClient(trust_env=False, timeout=10) as http:
            response = await http.get(url)
            assert response.status_code == 302, response.text
            callback = response.headers["location"]
            self.callback_urls.append(callback)
            self.pages.append(await http.get(callback))

    def redirect_target(self) -> str:
        """The loopback URL the sandbox sent the browser to, without its query."""
        return str(httpx.URL(self.callback_urls[0]).copy_with(query=None))
