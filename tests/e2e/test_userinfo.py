"""UserInfo of an independent provider: ``fetch_userinfo`` against node oidc-provider."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from intelliauth_ext import AuthenticationError, fetch_provider_metadata, fetch_userinfo
from intelliauth_ext._token_set import TokenSet

from .conftest import OidcProviderServer
from .test_oidc_provider import BASIC_CLIENT, _flow, _sign_in_with

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


@pytest.fixture
async def browser() -> AsyncIterator[httpx.AsyncClient]:
    """A cookie-keeping HTTP client that does not follow redirects by itself."""
    async with httpx.AsyncClient(follow_redirects=False, timeout=10.0) as client:
        yield client


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    """The SDK's HTTP client for provider calls."""
    async with httpx.AsyncClient(timeout=10.0) as client:
        yield client


async def _alice_tokens(
    server: OidcProviderServer, http: httpx.AsyncClient, browser: httpx.AsyncClient
) -> TokenSet:
    return await _sign_in_with(_flow(server, http, *BASIC_CLIENT), browser, server)


async def test_userinfo_of_a_signed_in_user(
    oidc_server: OidcProviderServer, http: httpx.AsyncClient, browser: httpx.AsyncClient
) -> None:
    """alice's access token: her claims, typed, from the issuer URL or its metadata."""
    tokens = await _alice_tokens(oidc_server, http, browser)
    info = await fetch_userinfo(oidc_server.issuer, tokens.access_token, subject="alice")
    assert (info.subject, info.email, info.email_verified, info.name) == (
        "alice",
        "alice@example.test",
        True,
        "Alice",
    )
    metadata = await fetch_provider_metadata(oidc_server.issuer, http_client=http)
    again = await fetch_userinfo(metadata, tokens.access_token, http_client=http)
    assert again.claims == info.claims


async def test_userinfo_with_a_bad_token_is_an_authentication_error(
    oidc_server: OidcProviderServer, http: httpx.AsyncClient
) -> None:
    """A token the provider never issued: its 401 is AuthenticationError."""
    with pytest.raises(AuthenticationError) as raised:
        await fetch_userinfo(oidc_server.issuer, "not-a-real-token", http_client=http)
    assert raised.value.status_code == 401
    assert "not-a-real-token" not in str(raised.value)
