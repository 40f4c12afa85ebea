"""The native-app sign-in (RFC 8252) against node oidc-provider, with its ``native`` client.

oidc-provider accepts the loopback redirect ``http://127.0.0.1/callback`` on any port for
an ``application_type: native`` client (RFC 8252 section 7.3). The browser (an HTTP client
with cookies) logs in and consents through oidc-provider's pages, then follows the
redirect to the loopback server of ``sign_in_with_browser``.
"""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest

from intelliauth_ext import (
    AccessDeniedError,
    AuthorizationCodeFlow,
    FileTokenSetStore,
    InvalidGrantError,
    refresh_tokens,
)

from .conftest import OidcProviderServer
from .test_oidc_provider import USER_SCOPES, sign_in

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

NATIVE_CLIENT = "native-app"


def _flow(server: OidcProviderServer) -> AuthorizationCodeFlow:
    return AuthorizationCodeFlow(
        server.issuer, NATIVE_CLIENT, redirect_uri=server.redirect_uri, scopes=USER_SCOPES
    )


class OidcBrowser:
    """Logs in (or aborts) on oidc-provider's pages, then lands on the loopback server."""

    def __init__(self, *, approve: bool = True) -> None:
        self.approve = approve
        self.redirect_uris: list[str] = []
        self.pages: list[httpx.Response] = []

    async def __call__(self, url: str) -> None:
        redirect_uri = httpx.URL(url).params["redirect_uri"]
        self.redirect_uris.append(redirect_uri)
        async with httpx.AsyncClient(follow_redirects=False, timeout=10.0) as browser:
            callback = await sign_in(browser, url, redirect_uri, approve=self.approve)
            self.pages.append(await browser.get(callback))


def _assert_refused(url: str) -> None:
    parsed = httpx.URL(url)
    with socket.socket() as probe, pytest.raises(ConnectionRefusedError):
        probe.connect((parsed.host, parsed.port or 80))


async def test_native_sign_in_refresh_and_rotation_persisted(
    oidc_server: OidcProviderServer, tmp_path: Path
) -> None:
    """Sign in on a free port, keep the tokens in a file store, refresh twice (rotation)."""
    flow = _flow(oidc_server)
    browser = OidcBrowser()
    # prompt=consent: oidc-provider grants offline_access (a refresh token) only with it.
    tokens = await flow.sign_in_with_browser(open_browser=browser, timeout=30, prompt="consent")
    assert tokens.id_token
    assert tokens.refresh_token
    [page] = browser.pages
    assert page.status_code == 200
    assert httpx.URL(browser.redirect_uris[0]).port not in (None, 80)
    _assert_refused(browser.redirect_uris[0])

    store = FileTokenSetStore(tmp_path)
    await store.save("alice", tokens)
    auth = flow.refreshing_auth(store=store, store_key="alice")
    first = await auth.refresh()
    second = await auth.refresh()
    await auth.aclose()
    assert len({tokens.refresh_token, first.refresh_token, second.refresh_token}) == 3
    assert await store.load("alice") == second
    assert tokens.refresh_token is not None
    with pytest.raises(InvalidGrantError):  # the rotated-out token is dead at the provider
        await refresh_tokens(
            f"{oidc_server.issuer}/token",
            tokens.refresh_token,
            client_id=NATIVE_CLIENT,
            auth_method="none",
        )


async def test_native_sign_in_aborted_is_access_denied(oidc_server: OidcProviderServer) -> None:
    """The user aborts at the provider: AccessDeniedError, a failure page, the port closed."""
    browser = OidcBrowser(approve=False)
    with pytest.raises(AccessDeniedError):
        await _flow(oidc_server).sign_in_with_browser(open_browser=browser, timeout=30)
    [page] = browser.pages
    assert page.status_code == 400
    assert "access_denied" in page.text
    _assert_refused(browser.redirect_uris[0])
