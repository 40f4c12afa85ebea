"""FAPI 2.0 against node oidc-provider: private_key_jwt, DPoP with nonces, PAR.

The provider (tests/oidc_provider/server.mjs) registers ``fapi-client`` with the public
key of ``FAPI_CLIENT_KEY``, binds its access tokens to DPoP keys, requires it to push its
authorization requests, demands a server nonce in every proof and detects replays. So an
SDK that left out ``ath``, reused a ``jti`` or did not retry with the nonce fails here, at
an implementation we did not write. The DPoP-bound JWTs it issues are also checked with
the SDK's resource-server side (``TokenVerifier`` with a proof).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from intelliauth_ext import (
    AuthorizationCodeFlow,
    ClientCredentials,
    DPoPKey,
    RefreshingAuth,
    TokenValidationError,
    TokenVerifier,
)

from .conftest import FAPI_CLIENT_KEY, OidcProviderServer
from .test_oidc_provider import USER_SCOPES, sign_in

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

CLIENT_ID = "fapi-client"
PRIVATE_JWK: dict[str, Any] = dict(FAPI_CLIENT_KEY.as_dict(private=True))


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    """The SDK's HTTP client for provider calls."""
    async with httpx.AsyncClient(timeout=10.0) as client:
        yield client


@pytest.fixture
async def browser() -> AsyncIterator[httpx.AsyncClient]:
    """A cookie-keeping HTTP client that does not follow redirects by itself."""
    async with httpx.AsyncClient(follow_redirects=False, timeout=10.0) as client:
        yield client


def _manager(
    server: OidcProviderServer, http: httpx.AsyncClient, dpop: DPoPKey
) -> ClientCredentials:
    return ClientCredentials(
        f"{server.issuer}/token",
        CLIENT_ID,
        private_key=PRIVATE_JWK,
        key_id="fapi-e2e",
        dpop=dpop,
        http_client=http,
    )


async def test_the_provider_advertises_what_the_sdk_uses(
    oidc_server: OidcProviderServer, http: httpx.AsyncClient
) -> None:
    """private_key_jwt, DPoP algorithms and the PAR endpoint are in its metadata."""
    document = (await http.get(f"{oidc_server.issuer}/.well-known/openid-configuration")).json()
    assert "private_key_jwt" in document["token_endpoint_auth_methods_supported"]
    assert "ES256" in document["dpop_signing_alg_values_supported"]
    assert document["pushed_authorization_request_endpoint"]


async def test_client_credentials_give_a_dpop_bound_jwt_the_verifier_checks(
    oidc_server: OidcProviderServer, http: httpx.AsyncClient
) -> None:
    """A nonce retry, then a token bound to the key, which our verifier checks with a proof."""
    dpop = DPoPKey.generate("ES256")
    manager = _manager(oidc_server, http, dpop)
    token = await manager.get_token()
    await manager.aclose()
    assert token.token_type == "DPoP"
    assert dpop.nonce_for(oidc_server.issuer) is not None  # learned from use_dpop_nonce

    verifier = TokenVerifier(oidc_server.issuer, http_client=http, algorithms=["RS256"])
    api_url = f"{oidc_server.api_audience}/reports?month=5"
    proof = dpop.proof("GET", api_url, access_token=token.access_token)
    verified = await verifier.verify_access_token(
        token.access_token,
        audience=oidc_server.api_audience,
        dpop_proof=proof,
        method="GET",
        url=api_url,
    )
    assert verified.claims["cnf"] == {"jkt": dpop.jkt}
    with pytest.raises(TokenValidationError) as replayed:
        await verifier.verify_access_token(
            token.access_token,
            audience=oidc_server.api_audience,
            dpop_proof=proof,
            method="GET",
            url=api_url,
        )
    assert replayed.value.check == "dpop_proof"
    with pytest.raises(TokenValidationError) as as_bearer:
        await verifier.verify_access_token(token.access_token, audience=oidc_server.api_audience)
    assert as_bearer.value.check == "dpop_binding"


async def test_another_dpop_key_gets_its_own_token(
    oidc_server: OidcProviderServer, http: httpx.AsyncClient
) -> None:
    """Two keys, two tokens, each bound to its key (the provider checks every proof)."""
    first, second = DPoPKey.generate("ES256"), DPoPKey.generate("EdDSA")
    one = _manager(oidc_server, http, first)
    two = _manager(oidc_server, http, second)
    tokens = [await one.get_token(), await two.get_token()]
    await one.aclose()
    await two.aclose()
    assert tokens[0].access_token != tokens[1].access_token
    assert {token.token_type for token in tokens} == {"DPoP"}


async def test_code_flow_with_par_refresh_and_userinfo(
    oidc_server: OidcProviderServer, http: httpx.AsyncClient, browser: httpx.AsyncClient
) -> None:
    """PAR, code + PKCE, DPoP-bound tokens, a refresh and userinfo, all with nonces."""
    dpop = DPoPKey.generate("ES256")
    flow = AuthorizationCodeFlow(
        oidc_server.issuer,
        CLIENT_ID,
        oidc_server.redirect_uri,
        USER_SCOPES,
        private_key=PRIVATE_JWK,
        key_id="fapi-e2e",
        dpop=dpop,
        par=True,
        http_client=http,
    )
    request = await flow.start(prompt="consent")
    assert set(httpx.URL(request.url).params.keys()) == {"client_id", "request_uri"}
    callback = await sign_in(browser, request.url, oidc_server.redirect_uri)
    tokens = await flow.complete(callback, expected_state=request.state)
    assert tokens.token_type == "DPoP"
    assert tokens.refresh_token is not None

    metadata = await flow.metadata()
    assert metadata.userinfo_endpoint is not None
    auth = RefreshingAuth(
        tokens,
        token_url=f"{oidc_server.issuer}/token",
        client_id=CLIENT_ID,
        private_key=PRIVATE_JWK,
        key_id="fapi-e2e",
        dpop=dpop,
        http_client=http,
    )
    async with httpx.AsyncClient(auth=auth, timeout=10.0) as api:
        first = await api.get(metadata.userinfo_endpoint)
        assert first.status_code == 200, first.text
        assert first.json()["sub"] == "alice"
        refreshed = await auth.refresh()
        assert refreshed.token_type == "DPoP"
        assert refreshed.access_token != tokens.access_token
        second = await api.get(metadata.userinfo_endpoint)
        assert second.status_code == 200, second.text
        assert second.json()["sub"] == "alice"
    await auth.aclose()

    async with httpx.AsyncClient(timeout=10.0) as thief:
        stolen = await thief.get(
            metadata.userinfo_endpoint,
            headers={"Authorization": f"Bearer {refreshed.access_token}"},
        )
    assert stolen.status_code == 401  # a DPoP-bound token is no bearer token
