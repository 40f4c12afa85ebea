"""End to end against node oidc-provider (OpenID Certified), an independent OAuth/OIDC server.

The browser is played by an ``httpx.AsyncClient`` with a cookie jar: it follows the
authorization redirects by hand, posts oidc-provider's login and consent forms, and stops
at the redirect to the client's callback, whose URL goes to ``AuthorizationCodeFlow``.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from intelliauth_ext._auth import ClientCredentials, RefreshingAuth
from intelliauth_ext._errors import (
    AccessDeniedError,
    InvalidCallbackError,
    InvalidClientError,
    InvalidGrantError,
    TokenValidationError,
)
from intelliauth_ext._flow import AuthorizationCodeFlow
from intelliauth_ext._token_endpoints import (
    introspect_token,
    refresh_tokens,
    request_token,
    revoke_token,
)
from intelliauth_ext._token_set import TokenSet
from intelliauth_ext._verification import TokenVerifier

from .conftest import OidcProviderServer

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

BASIC_CLIENT = ("confidential-basic", "confidential-basic-secret-0123456789abcdef")
POST_CLIENT = ("confidential-post", "confidential-post-secret-0123456789abcdef")
PUBLIC_CLIENT = "public-pkce"
USER_SCOPES = ["openid", "offline_access", "email", "profile"]
_PROMPT = re.compile(r'name="prompt" value="(\w+)"')


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


async def sign_in(
    browser: httpx.AsyncClient,
    authorization_url: str,
    redirect_uri: str,
    *,
    account: str = "alice",
    approve: bool = True,
) -> str:
    """Play the user: log in, consent (or abort), and return the callback URL."""
    url = httpx.URL(authorization_url)
    for _ in range(12):
        response = await browser.get(url)
        if response.is_redirect:
            url = url.join(response.headers["location"])
            if str(url).startswith(redirect_uri):
                return str(url)
            continue
        assert response.status_code == 200, (response.status_code, response.text[:500])
        match = _PROMPT.search(response.text)
        assert match is not None, response.text[:500]
        if not approve:
            url = url.join(f"{url.path}/abort")
            continue
        form = (
            {"prompt": "login", "login": account, "password": "anything"}
            if match.group(1) == "login"
            else {"prompt": "consent"}
        )
        posted = await browser.post(url, data=form)
        assert posted.is_redirect, (posted.status_code, posted.text[:500])
        url = url.join(posted.headers["location"])
    raise AssertionError(f"no redirect to the callback; stopped at {url}")


def _flow(
    server: OidcProviderServer,
    http: httpx.AsyncClient,
    client_id: str,
    client_secret: str | None = None,
    **kwargs: Any,
) -> AuthorizationCodeFlow:
    return AuthorizationCodeFlow(
        server.issuer,
        client_id,
        server.redirect_uri,
        USER_SCOPES,
        client_secret=client_secret,
        http_client=http,
        **kwargs,
    )


async def _sign_in_with(
    flow: AuthorizationCodeFlow, browser: httpx.AsyncClient, server: OidcProviderServer
) -> TokenSet:
    # prompt=consent: oidc-provider grants offline_access (a refresh token) only with it.
    request = await flow.start(prompt="consent")
    callback = await sign_in(browser, request.url, server.redirect_uri)
    return await flow.complete(callback, expected_state=request.state)


# --- discovery and client credentials --------------------------------------------------


async def test_discovery(oidc_server: OidcProviderServer, http: httpx.AsyncClient) -> None:
    """The provider's discovery document is read and checked."""
    metadata = await TokenVerifier(oidc_server.issuer, http_client=http).metadata()
    assert metadata.issuer == oidc_server.issuer
    assert metadata.authorization_response_iss_parameter_supported
    assert "S256" in metadata.code_challenge_methods_supported
    assert metadata.revocation_endpoint
    assert metadata.introspection_endpoint


async def _client_credentials_token(server: OidcProviderServer, http: httpx.AsyncClient) -> str:
    """A client-credentials access token from our ClientCredentials manager."""
    client_id, secret = BASIC_CLIENT
    manager = ClientCredentials(
        f"{server.issuer}/token",
        client_id,
        secret,
        scopes=("api:read",),
        auth_method="client_secret_basic",
        http_client=http,
    )
    first = await manager.get_token()
    second = await manager.get_token()
    assert second.access_token == first.access_token  # cached, one token request
    assert manager.token_requests == 1
    await manager.aclose()
    return first.access_token


async def test_client_credentials_and_jwt_access_token(
    oidc_server: OidcProviderServer, http: httpx.AsyncClient
) -> None:
    """A client-credentials token is a JWT access token that verifies against the real JWKS."""
    access_token = await _client_credentials_token(oidc_server, http)
    verifier = TokenVerifier(oidc_server.issuer, http_client=http)
    verified = await verifier.verify_access_token(
        access_token,
        audience=oidc_server.api_audience,
        required_scopes=["api:read"],
        require_at_jwt_type=True,
    )
    assert verified.claims["client_id"] == BASIC_CLIENT[0]
    with pytest.raises(TokenValidationError) as info:
        await verifier.verify_access_token(
            access_token, audience=oidc_server.api_audience, required_scopes=["api:write"]
        )
    assert info.value.check == "scope"
    with pytest.raises(TokenValidationError) as info:
        await verifier.verify_access_token(access_token, audience="https://other.example")
    assert info.value.check == "audience"


async def test_client_credentials_wrong_secret(
    oidc_server: OidcProviderServer, http: httpx.AsyncClient
) -> None:
    """A wrong client secret is an InvalidClientError from the real server."""
    with pytest.raises(InvalidClientError):
        await request_token(
            f"{oidc_server.issuer}/token",
            {"grant_type": "client_credentials"},
            client_id=BASIC_CLIENT[0],
            client_secret="wrong",
            http_client=http,
        )


# --- authorization code with PKCE ------------------------------------------------------


async def test_public_client_pkce_sign_in(
    oidc_server: OidcProviderServer, http: httpx.AsyncClient, browser: httpx.AsyncClient
) -> None:
    """A public client signs alice in with PKCE; the ID token verifies with the nonce."""
    flow = _flow(oidc_server, http, PUBLIC_CLIENT)
    tokens = await _sign_in_with(flow, browser, oidc_server)
    assert tokens.token_type.lower() == "bearer"
    assert tokens.refresh_token
    assert tokens.id_token
    assert "openid" in tokens.scope
    verified = await flow.verifier.verify_id_token(tokens.id_token, audience=PUBLIC_CLIENT)
    assert verified.subject == "alice"
    assert verified.header["alg"] == "RS256"
    # oidc-provider puts at_hash in the ID token; complete() checked it (OIDC Core 3.1.3.6).
    assert "at_hash" in verified.claims
    with pytest.raises(TokenValidationError) as caught:
        await flow.verifier.verify_id_token(
            tokens.id_token, audience=PUBLIC_CLIENT, access_token=tokens.access_token + "x"
        )
    assert caught.value.check == "at_hash"


async def test_confidential_basic_sign_in(
    oidc_server: OidcProviderServer, http: httpx.AsyncClient, browser: httpx.AsyncClient
) -> None:
    """A confidential client authenticates with client_secret_basic at the token endpoint."""
    flow = _flow(oidc_server, http, *BASIC_CLIENT)
    tokens = await _sign_in_with(flow, browser, oidc_server)
    assert tokens.access_token


async def test_confidential_post_sign_in_with_es256_id_token(
    oidc_server: OidcProviderServer, http: httpx.AsyncClient, browser: httpx.AsyncClient
) -> None:
    """client_secret_post works, and an ES256 ID token verifies with the EC key of the set."""
    flow = _flow(oidc_server, http, *POST_CLIENT, auth_method="client_secret_post")
    tokens = await _sign_in_with(flow, browser, oidc_server)
    assert tokens.id_token
    verified = await flow.verifier.verify_id_token(tokens.id_token, audience=POST_CLIENT[0])
    assert verified.header["alg"] == "ES256"


async def test_callback_replay_is_refused(
    oidc_server: OidcProviderServer, http: httpx.AsyncClient, browser: httpx.AsyncClient
) -> None:
    """The same callback URL can not be completed twice."""
    flow = _flow(oidc_server, http, PUBLIC_CLIENT)
    request = await flow.start()
    callback = await sign_in(browser, request.url, oidc_server.redirect_uri)
    assert "iss=" in callback  # RFC 9207: the provider names itself
    await flow.complete(callback)
    with pytest.raises(InvalidCallbackError) as info:
        await flow.complete(callback)
    assert info.value.check == "replay"


async def test_callback_from_another_session_is_refused(
    oidc_server: OidcProviderServer, http: httpx.AsyncClient, browser: httpx.AsyncClient
) -> None:
    """An attacker's callback fed to the victim's session fails the state check."""
    flow = _flow(oidc_server, http, PUBLIC_CLIENT)
    victim, attacker = await flow.start(), await flow.start()
    attackers_callback = await sign_in(browser, attacker.url, oidc_server.redirect_uri)
    with pytest.raises(InvalidCallbackError) as info:
        await flow.complete(attackers_callback, expected_state=victim.state)
    assert info.value.check == "state"


async def test_denied_consent_is_access_denied(
    oidc_server: OidcProviderServer, http: httpx.AsyncClient, browser: httpx.AsyncClient
) -> None:
    """A user who aborts the interaction comes back with error=access_denied."""
    flow = _flow(oidc_server, http, PUBLIC_CLIENT)
    request = await flow.start()
    callback = await sign_in(browser, request.url, oidc_server.redirect_uri, approve=False)
    with pytest.raises(AccessDeniedError):
        await flow.complete(callback, expected_state=request.state)


async def test_wrong_client_id_for_id_token(
    oidc_server: OidcProviderServer, http: httpx.AsyncClient, browser: httpx.AsyncClient
) -> None:
    """A real ID token verified for another audience fails the audience check."""
    flow = _flow(oidc_server, http, PUBLIC_CLIENT)
    tokens = await _sign_in_with(flow, browser, oidc_server)
    assert tokens.id_token
    with pytest.raises(TokenValidationError) as info:
        await flow.verifier.verify_id_token(tokens.id_token, audience=BASIC_CLIENT[0])
    assert info.value.check == "audience"


# --- refresh, revocation, introspection ------------------------------------------------


async def test_refresh_token_rotation(
    oidc_server: OidcProviderServer, http: httpx.AsyncClient, browser: httpx.AsyncClient
) -> None:
    """Each refresh rotates the refresh token; reusing a rotated one is invalid_grant."""
    client_id, secret = BASIC_CLIENT
    tokens = await _sign_in_with(_flow(oidc_server, http, client_id, secret), browser, oidc_server)
    assert tokens.refresh_token
    token_url = f"{oidc_server.issuer}/token"
    refreshed = await refresh_tokens(
        token_url, tokens.refresh_token, client_id=client_id, client_secret=secret, http_client=http
    )
    assert refreshed.refresh_token
    assert refreshed.refresh_token != tokens.refresh_token
    assert refreshed.access_token != tokens.access_token
    again = await refresh_tokens(
        token_url,
        refreshed.refresh_token,
        client_id=client_id,
        client_secret=secret,
        http_client=http,
    )
    assert again.refresh_token not in (None, refreshed.refresh_token)
    with pytest.raises(InvalidGrantError):
        await refresh_tokens(
            token_url,
            tokens.refresh_token,
            client_id=client_id,
            client_secret=secret,
            http_client=http,
        )


async def test_refreshing_auth_rotation(
    oidc_server: OidcProviderServer, http: httpx.AsyncClient, browser: httpx.AsyncClient
) -> None:
    """RefreshingAuth stores each rotated refresh token and hands it to on_token_update."""
    client_id, secret = BASIC_CLIENT
    tokens = await _sign_in_with(_flow(oidc_server, http, client_id, secret), browser, oidc_server)
    saved: list[TokenSet] = []

    async def persist(token_set: TokenSet) -> None:
        saved.append(token_set)

    auth = RefreshingAuth(
        tokens,
        token_url=f"{oidc_server.issuer}/token",
        client_id=client_id,
        client_secret=secret,
        auth_method="client_secret_basic",
        on_token_update=persist,
        http_client=http,
    )
    first = await auth.refresh()
    second = await auth.refresh()
    await auth.aclose()
    refresh_tokens_seen = [tokens.refresh_token, first.refresh_token, second.refresh_token]
    assert len(set(refresh_tokens_seen)) == 3
    assert [token_set.refresh_token for token_set in saved] == refresh_tokens_seen[1:]
    introspection = await introspect_token(
        f"{oidc_server.issuer}/token/introspection",
        second.access_token,
        client_id=client_id,
        client_secret=secret,
        http_client=http,
    )
    assert introspection.active


async def test_public_client_refresh(
    oidc_server: OidcProviderServer, http: httpx.AsyncClient, browser: httpx.AsyncClient
) -> None:
    """A public client refreshes with only its client_id (auth method none)."""
    tokens = await _sign_in_with(_flow(oidc_server, http, PUBLIC_CLIENT), browser, oidc_server)
    assert tokens.refresh_token
    refreshed = await refresh_tokens(
        f"{oidc_server.issuer}/token",
        tokens.refresh_token,
        client_id=PUBLIC_CLIENT,
        auth_method="none",
        http_client=http,
    )
    assert refreshed.refresh_token != tokens.refresh_token


async def test_introspection_and_revocation(
    oidc_server: OidcProviderServer, http: httpx.AsyncClient, browser: httpx.AsyncClient
) -> None:
    """Introspection says active until revocation (RFC 7009), then inactive (RFC 7662)."""
    client_id, secret = BASIC_CLIENT
    tokens = await _sign_in_with(_flow(oidc_server, http, client_id, secret), browser, oidc_server)
    endpoints: dict[str, Any] = {
        "client_id": client_id,
        "client_secret": secret,
        "http_client": http,
    }
    introspection_url = f"{oidc_server.issuer}/token/introspection"
    revocation_url = f"{oidc_server.issuer}/token/revocation"

    result = await introspect_token(introspection_url, tokens.access_token, **endpoints)
    assert result.active
    assert result.client_id == client_id
    assert result.subject == "alice"
    assert "openid" in result.scope

    await revoke_token(
        revocation_url, tokens.access_token, token_type_hint="access_token", **endpoints
    )
    assert not (await introspect_token(introspection_url, tokens.access_token, **endpoints)).active

    assert tokens.refresh_token
    await revoke_token(revocation_url, tokens.refresh_token, **endpoints)
    with pytest.raises(InvalidGrantError):
        await refresh_tokens(f"{oidc_server.issuer}/token", tokens.refresh_token, **endpoints)
    # RFC 7009 section 2.2: revoking an unknown or revoked token still succeeds.
    await revoke_token(revocation_url, tokens.refresh_token, **endpoints)


async def test_introspection_of_garbage_is_inactive(
    oidc_server: OidcProviderServer, http: httpx.AsyncClient
) -> None:
    """A token the provider never issued introspects as inactive."""
    client_id, secret = BASIC_CLIENT
    result = await introspect_token(
        f"{oidc_server.issuer}/token/introspection",
        "not-a-token",
        client_id=client_id,
        client_secret=secret,
        http_client=http,
    )
    assert not result.active
