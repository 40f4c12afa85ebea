"""OIDC discovery (``_discovery.py``): where the document is looked for, and what is refused."""

from __future__ import annotations

import anyio
import httpx
import pytest
import respx

from intelliauth_ext._discovery import (
    DiscoveryCache,
    ProviderMetadata,
    discovery_urls,
    fetch_provider_metadata,
)
from intelliauth_ext._errors import (
    APIConnectionError,
    APIResponseValidationError,
    InsecureURLError,
    InternalServerError,
    NotFoundError,
)

from .oidc_fakes import ISSUER, FakeClock, FakeProvider
from .servers import LocalServer

pytestmark = pytest.mark.anyio


def test_discovery_urls_follow_oidc_then_rfc8414() -> None:
    """OIDC Discovery appends its well-known path; RFC 8414 inserts its own before the path."""
    assert [str(url) for url in discovery_urls(httpx.URL("https://as.example.test/tenant/"))] == [
        "https://as.example.test/tenant/.well-known/openid-configuration",
        "https://as.example.test/.well-known/oauth-authorization-server/tenant",
    ]


def test_metadata_endpoints_must_be_secure() -> None:
    """``require`` returns an https endpoint, refuses plain http and a missing endpoint.

    Metadata the application built itself lacking an endpoint is a ValueError, its mistake.
    """
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
    mock.get(f"{ISSUER}/.well-known/oauth-authorization-server").respond(404)
    with pytest.raises(APIResponseValidationError):
        await fetch_provider_metadata(ISSUER)


async def test_discovery_connection_error(mock: respx.MockRouter) -> None:
    """An unreachable provider is an APIConnectionError."""
    mock.get(f"{ISSUER}/.well-known/openid-configuration").mock(
        side_effect=httpx.ConnectError("refused")
    )
    mock.get(f"{ISSUER}/.well-known/oauth-authorization-server").respond(404)
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


@pytest.mark.parametrize("jwks_uri", [None, "", "https:///keys", "https://[::1"])
async def test_a_fetched_document_without_a_usable_endpoint_is_a_validation_error(
    provider: FakeProvider, jwks_uri: str | None
) -> None:
    """require() on a fetched document: APIResponseValidationError carrying the response."""
    if jwks_uri is None:
        del provider.metadata["jwks_uri"]
    else:
        provider.metadata["jwks_uri"] = jwks_uri
    metadata = await fetch_provider_metadata(ISSUER)
    assert metadata.response is not None
    with pytest.raises(APIResponseValidationError) as caught:
        metadata.require("jwks_uri")
    assert caught.value.response is metadata.response
    assert not isinstance(caught.value, ValueError)


async def test_the_discovery_cache_fetches_once_and_backs_off_after_a_failure(
    provider: FakeProvider, clock: FakeClock
) -> None:
    """Ten concurrent first uses: one request; a failure is answered from memory for 1 s."""
    serving = provider.discovery.side_effect
    provider.discovery.mock(side_effect=[httpx.Response(503)])
    cache = DiscoveryCache(ISSUER, clock=clock)
    assert repr(cache) == f"DiscoveryCache({ISSUER!r}, not fetched)"
    failures: list[Exception] = []

    async def get() -> None:
        try:
            await cache.get()
        except InternalServerError as exc:
            failures.append(exc)

    async with anyio.create_task_group() as group:
        for _ in range(10):
            group.start_soon(get)
    assert (len(failures), provider.discovery.call_count, cache.attempt_count) == (10, 1, 1)
    provider.discovery.mock(side_effect=serving)
    with pytest.raises(InternalServerError):
        await cache.get()
    assert provider.discovery.call_count == 1
    clock.advance(1)
    assert (await cache.get()).issuer == ISSUER
    assert (await cache.get()).issuer == ISSUER
    assert (provider.discovery.call_count, repr(cache).endswith("fetched)")) == (2, True)


# -- RFC 8414 metadata merged with the OpenID document ----------------------------------


async def test_both_documents_are_merged_and_the_openid_one_wins(mock: respx.MockRouter) -> None:
    """Fields only in the RFC 8414 document are added; where both have one, OpenID's is kept."""
    mock.get(f"{ISSUER}/.well-known/openid-configuration").respond(
        200,
        json={
            "issuer": ISSUER,
            "token_endpoint": f"{ISSUER}/oidc-token",
            "jwks_uri": f"{ISSUER}/k",
        },
    )
    mock.get(f"{ISSUER}/.well-known/oauth-authorization-server").respond(
        200,
        json={
            "issuer": ISSUER,
            "token_endpoint": f"{ISSUER}/oauth-token",
            "revocation_endpoint": f"{ISSUER}/revoke",
            "introspection_endpoint": f"{ISSUER}/introspect",
        },
    )
    metadata = await fetch_provider_metadata(ISSUER)
    assert metadata.token_endpoint == f"{ISSUER}/oidc-token"
    assert metadata.jwks_uri == f"{ISSUER}/k"
    assert metadata.revocation_endpoint == f"{ISSUER}/revoke"
    assert metadata.introspection_endpoint == f"{ISSUER}/introspect"
    assert metadata.raw["token_endpoint"] == f"{ISSUER}/oidc-token"
    assert metadata.response is not None
    assert metadata.response.url.path == "/.well-known/openid-configuration"


@pytest.mark.parametrize("broken", ["openid-configuration", "oauth-authorization-server"])
async def test_either_document_naming_another_issuer_is_refused(
    mock: respx.MockRouter, broken: str
) -> None:
    """The issuer is checked in both documents: one naming another issuer fails discovery."""
    for name in ("openid-configuration", "oauth-authorization-server"):
        issuer = "https://evil.example.test" if name == broken else ISSUER
        mock.get(f"{ISSUER}/.well-known/{name}").respond(200, json={"issuer": issuer})
    with pytest.raises(APIResponseValidationError, match=f"{broken}.*names issuer"):
        await fetch_provider_metadata(ISSUER)


@pytest.mark.parametrize(
    ("status", "raised"), [(500, InternalServerError), (200, APIResponseValidationError)]
)
async def test_a_broken_rfc8414_document_fails_discovery(
    mock: respx.MockRouter, status: int, raised: type[Exception]
) -> None:
    """A 5xx or a non-JSON RFC 8414 answer is raised, even with a good OpenID document."""
    mock.get(f"{ISSUER}/.well-known/openid-configuration").respond(200, json={"issuer": ISSUER})
    mock.get(f"{ISSUER}/.well-known/oauth-authorization-server").respond(status, content=b"<h1>")
    with pytest.raises(raised):
        await fetch_provider_metadata(ISSUER)


@pytest.mark.parametrize("status", [401, 403, 404, 405, 410])
async def test_an_unpublished_rfc8414_document_is_skipped(
    mock: respx.MockRouter, status: int
) -> None:
    """401/403/404/405/410 at one location means "not published there"."""
    mock.get(f"{ISSUER}/.well-known/openid-configuration").respond(200, json={"issuer": ISSUER})
    mock.get(f"{ISSUER}/.well-known/oauth-authorization-server").respond(status)
    assert (await fetch_provider_metadata(ISSUER)).issuer == ISSUER


def _serve_rfc8414(server: LocalServer, issuer: str, *, with_openid: bool) -> None:
    """django-oauth-toolkit's layout: RFC 8414 metadata with revocation and introspection."""
    path = httpx.URL(issuer).path
    server.json_route(
        "GET",
        f"/.well-known/oauth-authorization-server{path}",
        200,
        {
            "issuer": issuer,
            "authorization_endpoint": f"{issuer}/authorize/",
            "token_endpoint": f"{issuer}/token/",
            "revocation_endpoint": f"{issuer}/revoke_token/",
            "introspection_endpoint": f"{issuer}/introspect/",
            "code_challenge_methods_supported": ["plain", "S256"],
        },
    )
    if with_openid:
        server.json_route(
            "GET",
            f"{path}/.well-known/openid-configuration",
            200,
            {
                "issuer": issuer,
                "authorization_endpoint": f"{issuer}/authorize/",
                "token_endpoint": f"{issuer}/token/",
                "jwks_uri": f"{issuer}/.well-known/jwks.json",
                "userinfo_endpoint": f"{issuer}/userinfo/",
            },
        )


@pytest.mark.parametrize("with_openid", [False, True])
async def test_a_real_server_publishing_rfc8414_metadata(
    local_server: LocalServer, with_openid: bool
) -> None:
    """A loopback server, issuer with a path: the path-insertion RFC 8414 document is read."""
    issuer = f"{local_server.url}/o"
    _serve_rfc8414(local_server, issuer, with_openid=with_openid)
    metadata = await fetch_provider_metadata(issuer)
    assert metadata.revocation_endpoint == f"{issuer}/revoke_token/"
    assert metadata.introspection_endpoint == f"{issuer}/introspect/"
    assert metadata.code_challenge_methods_supported == ("plain", "S256")
    assert metadata.userinfo_endpoint == (f"{issuer}/userinfo/" if with_openid else None)
    assert sorted(path.split("?")[0] for _, path, _, _ in local_server.requests) == [
        "/.well-known/oauth-authorization-server/o",
        "/o/.well-known/openid-configuration",
    ]
