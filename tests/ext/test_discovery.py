"""OIDC discovery (``_discovery.py``): where the document is looked for, and what is refused."""

from __future__ import annotations

import httpx
import pytest
import respx

from intelliauth_ext._discovery import ProviderMetadata, discovery_urls, fetch_provider_metadata
from intelliauth_ext._errors import (
    APIConnectionError,
    APIResponseValidationError,
    InsecureURLError,
    NotFoundError,
)

from .oidc_fakes import ISSUER, FakeProvider

pytestmark = pytest.mark.anyio


def test_discovery_urls_follow_oidc_then_rfc8414() -> None:
    """OIDC Discovery appends its well-known path; RFC 8414 inserts its own before the path."""
    assert [str(url) for url in discovery_urls(httpx.URL("https://as.example.test/tenant/"))] == [
        "https://as.example.test/tenant/.well-known/openid-configuration",
        "https://as.example.test/.well-known/oauth-authorization-server/tenant",
    ]


def test_metadata_endpoints_must_be_secure() -> None:
    """``require`` returns an https endpoint, refuses plain http and a missing endpoint."""
    metadata = ProviderMetadata.from_dict(
        {"issuer": ISSUER, "token_endpoint": f"{ISSUER}/token", "jwks_uri": "http://idp.test/k"}
    )
    assert metadata.require("token_endpoint") == f"{ISSUER}/token"
    with pytest.raises(InsecureURLError, match="jwks uri"):
        metadata.require("jwks_uri")
    with pytest.raises(ValueError, match="no userinfo_endpoint"):
        metadata.require("userinfo_endpoint")


async def test_plain_http_issuer_is_refused_before_any_request(mock: respx.MockRouter) -> None:
    """fetch_provider_metadata refuses a non-loopback http issuer without a request."""
    with pytest.raises(InsecureURLError, match="issuer URL"):
        await fetch_provider_metadata("http://idp.example.test")
    assert not mock.calls


async def test_discovery_with_wrong_issuer_is_refused(provider: FakeProvider) -> None:
    """A discovery document naming another issuer is refused (OIDC Discovery 4.3)."""
    provider.metadata["issuer"] = "https://evil.example.test"
    with pytest.raises(APIResponseValidationError, match="issuer"):
        await fetch_provider_metadata(ISSUER)


async def test_discovery_trailing_slash_is_tolerated(provider: FakeProvider) -> None:
    """An issuer given with a trailing slash matches the document's issuer without one."""
    metadata = await fetch_provider_metadata(ISSUER + "/")
    assert metadata.issuer == ISSUER


async def test_discovery_falls_back_to_rfc8414(mock: respx.MockRouter) -> None:
    """A 404 at openid-configuration falls back to the RFC 8414 well-known location."""
    issuer = "https://as.example.test/tenant"
    mock.get("https://as.example.test/tenant/.well-known/openid-configuration").respond(404)
    mock.get("https://as.example.test/.well-known/oauth-authorization-server/tenant").respond(
        200, json={"issuer": issuer, "token_endpoint": f"{issuer}/token"}
    )
    metadata = await fetch_provider_metadata(issuer)
    assert metadata.token_endpoint == f"{issuer}/token"


async def test_discovery_not_found_is_a_status_error(mock: respx.MockRouter) -> None:
    """No discovery document at either location is a NotFoundError."""
    mock.get(url__startswith="https://none.example.test/").respond(404)
    with pytest.raises(NotFoundError):
        await fetch_provider_metadata("https://none.example.test")


@pytest.mark.parametrize("body", [b"<html>", b"[]", b'{"issuer": 5}', b"{}"])
async def test_discovery_garbage_is_a_validation_error(mock: respx.MockRouter, body: bytes) -> None:
    """A discovery body that is not a usable JSON object is an APIResponseValidationError."""
    mock.get(f"{ISSUER}/.well-known/openid-configuration").respond(200, content=body)
    with pytest.raises(APIResponseValidationError):
        await fetch_provider_metadata(ISSUER)


async def test_discovery_connection_error(mock: respx.MockRouter) -> None:
    """An unreachable provider is an APIConnectionError."""
    mock.get(f"{ISSUER}/.well-known/openid-configuration").mock(
        side_effect=httpx.ConnectError("refused")
    )
    with pytest.raises(APIConnectionError):
        await fetch_provider_metadata(ISSUER)


def test_provider_metadata_from_dict_checks_types() -> None:
    """Metadata fields of the wrong type are a ValueError."""
    with pytest.raises(ValueError, match="issuer"):
        ProviderMetadata.from_dict({})
    with pytest.raises(ValueError, match="jwks_uri"):
        ProviderMetadata.from_dict({"issuer": ISSUER, "jwks_uri": 3})
    with pytest.raises(ValueError, match="list of strings"):
        ProviderMetadata.from_dict({"issuer": ISSUER, "scopes_supported": "openid"})
