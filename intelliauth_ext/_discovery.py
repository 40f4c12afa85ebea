"""OpenID Connect discovery: a provider's metadata, fetched and checked.

``fetch_provider_metadata(issuer)`` reads both discovery documents a provider may publish,
at once: OpenID Connect Discovery 1.0 (``{issuer}/.well-known/openid-configuration``) and
RFC 8414 authorization-server metadata (``/.well-known/oauth-authorization-server``, with
the issuer's path after it: RFC 8414 section 3.1). Each one found must name the issuer
asked for. When both exist they are merged, field by field: the OpenID document wins where
both have a field (it is the one OpenID Connect clients are specified against), the RFC
8414 document fills what it lacks (a server such as django-oauth-toolkit lists its
revocation and introspection endpoints only there). A document answered with 401, 403,
404, 405 or 410 is not published; any other failure of either is raised. It returns the
``ProviderMetadata`` the rest of the SDK uses: the verifier (``_verification``)
takes the key set and the signing algorithms from it, the authorization code flow
(``_flow``) its endpoints. Every endpoint taken from it passes ``require_secure_url``.

A hostile or broken document (not JSON, nested without end, fields of the wrong type,
another issuer, an endpoint missing or without a host) is an ``APIResponseValidationError``
(``InsecureURLError`` for a plain-http endpoint), never a bare ``ValueError``.

``DiscoveryCache`` keeps the metadata once fetched, and fetches through a ``SharedFetch``
(``_shared_fetch.py``): concurrent first uses share one request, and a failed fetch is
answered without a request for 1, 2, 4 ... up to 60 s.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import anyio
import attrs
import httpx

from intelliauth_ext._clock import Clock, SystemClock
from intelliauth_ext._errors import (
    APIResponseValidationError,
    InsecureURLError,
    error_from_response,
    error_from_transport,
)
from intelliauth_ext._json import json_object
from intelliauth_ext._shared_fetch import (
    DEFAULT_FAILURE_BACKOFF,
    DEFAULT_FETCH_TIMEOUT,
    FailureBackoff,
    SharedFetch,
)
from intelliauth_ext._shown import shown
from intelliauth_ext._telemetry import propagate_context
from intelliauth_ext._transports import MAX_AUTH_RESPONSE_BYTES, send_bounded
from intelliauth_ext._urls import require_secure_url

__all__ = ["DiscoveryCache", "ProviderMetadata", "discovery_urls", "fetch_provider_metadata"]

_HTTP_TIMEOUT: Final = httpx.Timeout(DEFAULT_FETCH_TIMEOUT)
_OIDC_DISCOVERY_PATH: Final = "/.well-known/openid-configuration"
_OAUTH_DISCOVERY_PATH: Final = "/.well-known/oauth-authorization-server"
#: Answers that mean "this document is not published here" (a static host may say 403).
_NOT_PUBLISHED: Final = frozenset({401, 403, 404, 405, 410})


def _optional_str(document: Mapping[str, Any], name: str) -> str | None:
    value = document.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"provider metadata {name!r} is not a string")
    return value


def _str_tuple(document: Mapping[str, Any], name: str) -> tuple[str, ...]:
    value = document.get(name)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError(f"provider metadata {name!r} is not a list of strings")
    return tuple(value)


@attrs.frozen
class ProviderMetadata:
    """The parts of a provider's discovery document (OIDC Discovery 3, RFC 8414 2) used here.

    Attributes:
        issuer: The issuer identifier, exactly as tokens carry it in ``iss``.
        authorization_endpoint: Where the browser is sent to sign in.
        token_endpoint: Where codes and refresh tokens are exchanged.
        jwks_uri: The provider's public key set.
        userinfo_endpoint: The OIDC UserInfo endpoint.
        revocation_endpoint: RFC 7009 token revocation.
        introspection_endpoint: RFC 7662 token introspection.
        id_token_signing_alg_values_supported: The ID token signing algorithms.
        token_endpoint_auth_methods_supported: The client authentication methods.
        code_challenge_methods_supported: The PKCE methods.
        scopes_supported: The scopes the provider lists.
        authorization_response_iss_parameter_supported: The callback carries ``iss``
            (RFC 9207), so a callback without it is refused.
        pushed_authorization_request_endpoint: RFC 9126 pushed authorization requests.
        require_pushed_authorization_requests: The provider takes authorization
            requests only pushed (RFC 9126 section 5).
        raw: The whole document.
        response: The discovery response the document came from; None for metadata the
            application built itself.
    """

    issuer: str
    authorization_endpoint: str | None = None
    token_endpoint: str | None = None
    jwks_uri: str | None = None
    userinfo_endpoint: str | None = None
    revocation_endpoint: str | None = None
    introspection_endpoint: str | None = None
    id_token_signing_alg_values_supported: tuple[str, ...] = ()
    token_endpoint_auth_methods_supported: tuple[str, ...] = ()
    code_challenge_methods_supported: tuple[str, ...] = ()
    scopes_supported: tuple[str, ...] = ()
    authorization_response_iss_parameter_supported: bool = False
    pushed_authorization_request_endpoint: str | None = None
    require_pushed_authorization_requests: bool = False
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False, eq=False)
    response: httpx.Response | None = attrs.field(default=None, repr=False, eq=False)

    @classmethod
    def from_dict(
        cls, document: Mapping[str, Any], *, response: httpx.Response | None = None
    ) -> ProviderMetadata:
        """Read a discovery document.

        Args:
            document: The document.
            response: The response it came in, when it was fetched.

        Raises:
            ValueError: No ``issuer``, or a field of the wrong type.
        """
        issuer = _optional_str(document, "issuer")
        if not issuer:
            raise ValueError("provider metadata has no 'issuer'")
        iss_parameter = document.get("authorization_response_iss_parameter_supported", False)
        return cls(
            issuer=issuer,
            authorization_endpoint=_optional_str(document, "authorization_endpoint"),
            token_endpoint=_optional_str(document, "token_endpoint"),
            jwks_uri=_optional_str(document, "jwks_uri"),
            userinfo_endpoint=_optional_str(document, "userinfo_endpoint"),
            revocation_endpoint=_optional_str(document, "revocation_endpoint"),
            introspection_endpoint=_optional_str(document, "introspection_endpoint"),
            id_token_signing_alg_values_supported=_str_tuple(
                document, "id_token_signing_alg_values_supported"
            ),
            token_endpoint_auth_methods_supported=_str_tuple(
                document, "token_endpoint_auth_methods_supported"
            ),
            code_challenge_methods_supported=_str_tuple(
                document, "code_challenge_methods_supported"
            ),
            scopes_supported=_str_tuple(document, "scopes_supported"),
            authorization_response_iss_parameter_supported=iss_parameter is True,
            pushed_authorization_request_endpoint=_optional_str(
                document, "pushed_authorization_request_endpoint"
            ),
            require_pushed_authorization_requests=(
                document.get("require_pushed_authorization_requests", False) is True
            ),
            raw=dict(document),
            response=response,
        )

    def require(self, name: str) -> str:
        """The endpoint ``name`` (e.g. ``"token_endpoint"``), checked to be https or loopback.

        Raises:
            APIResponseValidationError: The fetched document does not advertise it, or
                not as a URL with a host.
            ValueError: The same, for metadata the application gave.
            InsecureURLError: It is plain http on a non-loopback host, or another scheme.
        """
        value = getattr(self, name, None)
        try:
            if not isinstance(value, str) or not value:
                raise ValueError(f"the provider metadata of {shown(self.issuer)} has no {name}")
            return str(require_secure_url(value, name.replace("_", " ")))
        except InsecureURLError:
            raise
        except ValueError as exc:
            if self.response is None:
                raise  # the application's own metadata: a configuration mistake
            raise APIResponseValidationError(str(exc), response=self.response) from exc


def _same_issuer(expected: str, actual: str) -> bool:
    return expected.rstrip("/") == actual.rstrip("/")


def discovery_urls(issuer: httpx.URL) -> list[httpx.URL]:
    """Where an issuer's two discovery documents are: the OpenID one, then RFC 8414's.

    OIDC Discovery 4.1 appends ``/.well-known/openid-configuration`` to the issuer's path;
    RFC 8414 section 3.1 inserts ``/.well-known/oauth-authorization-server`` before it.
    """
    path = issuer.path.rstrip("/")
    return [
        issuer.copy_with(path=path + _OIDC_DISCOVERY_PATH),
        issuer.copy_with(path=_OAUTH_DISCOVERY_PATH + path),
    ]


async def _get(client: httpx.AsyncClient, url: str | httpx.URL) -> httpx.Response:
    headers = {"accept": "application/json"}
    propagate_context(headers)  # the caller's trace, when OpenTelemetry has one
    request = client.build_request("GET", url, headers=headers)
    try:
        return await send_bounded(client, request, max_bytes=MAX_AUTH_RESPONSE_BYTES)
    except httpx.RequestError as exc:
        raise error_from_transport(exc, request) from exc


async def _get_each(
    client: httpx.AsyncClient, urls: list[httpx.URL]
) -> list[httpx.Response | Exception]:
    """GET every URL concurrently; each response, or the exception its request raised."""
    results: list[httpx.Response | Exception | None] = [None] * len(urls)

    async def get(index: int, url: httpx.URL) -> None:
        try:
            results[index] = await _get(client, url)
        except Exception as exc:  # raised below, outside the task group (no ExceptionGroup)
            results[index] = exc

    async with anyio.create_task_group() as group:
        for index, url in enumerate(urls):
            group.start_soon(get, index, url)
    return [result for result in results if result is not None]  # every one is set


def _document(issuer: httpx.URL, response: httpx.Response) -> dict[str, Any]:
    """A discovery response's JSON object, checked to name ``issuer`` (OIDC Discovery 4.3).

    Raises:
        APIResponseValidationError: Not a JSON object, no issuer or another one.
    """
    document = json_object(response.content)
    if document is None:
        raise APIResponseValidationError(
            f"the discovery document at {response.request.url} is not a JSON object",
            response=response,
        )
    named = document.get("issuer")
    if not isinstance(named, str) or not named:
        raise APIResponseValidationError(
            f"the discovery document at {response.request.url} has no 'issuer'",
            response=response,
        )
    if not _same_issuer(str(issuer), named):
        raise APIResponseValidationError(
            f"the discovery document at {response.request.url} names issuer "
            f"{shown(named)}, not {str(issuer)!r}",
            response=response,
        )
    return document


async def fetch_provider_metadata(
    issuer: str | httpx.URL, *, http_client: httpx.AsyncClient | None = None
) -> ProviderMetadata:
    """Fetch and check an issuer's discovery documents, merged (see the module docstring).

    Fetches ``{issuer}/.well-known/openid-configuration`` and the RFC 8414 document
    concurrently, each read under 1 MiB. Each document found must name the issuer asked
    for (OIDC Discovery 4.3, RFC 8414 section 3.3; a trailing slash aside), which stops
    one provider from impersonating another. Where both name a field, the OpenID
    document's value is kept.

    Args:
        issuer: The issuer (tenant) URL: https, or http on loopback.
        http_client: The client to fetch with; a short-lived one when None.

    Returns:
        The metadata; ``raw`` is the merged document, ``response`` the OpenID document's
        response (the RFC 8414 one when only that exists).

    Raises:
        InsecureURLError: The issuer URL is plain http on a non-loopback host.
        APIConnectionError: The provider could not be reached.
        APIStatusError: Neither document is published (the OpenID location's answer), or
            one failed otherwise (the matching subclass).
        APIResponseValidationError: A document is not a JSON object, or names another
            ``issuer``.
    """
    issuer_url = require_secure_url(issuer, "issuer URL")
    if http_client is None:
        async with httpx.AsyncClient(timeout=_HTTP_TIMEOUT) as client:
            return await fetch_provider_metadata(issuer_url, http_client=client)
    responses: list[httpx.Response] = []
    for answer in await _get_each(http_client, discovery_urls(issuer_url)):
        if isinstance(answer, Exception):
            raise answer
        responses.append(answer)
    documents: list[tuple[httpx.Response, dict[str, Any]]] = []
    for response in responses:
        if response.status_code in _NOT_PUBLISHED:
            continue
        if not response.is_success:
            raise error_from_response(response, oauth=False)
        documents.append((response, _document(issuer_url, response)))
    if not documents:
        raise error_from_response(responses[0], oauth=False)
    merged: dict[str, Any] = {}
    for _, document in reversed(documents):  # the OpenID document last: its values win
        merged.update(document)
    response = documents[0][0]  # the OpenID document's, when there is one
    try:
        return ProviderMetadata.from_dict(merged, response=response)
    except ValueError as exc:
        raise APIResponseValidationError(str(exc), response=response) from exc


class DiscoveryCache:
    """An issuer's metadata, fetched on first use and then kept.

    Concurrent first uses share one fetch; a failed fetch is answered without a request
    until its backoff is over (1, 2, 4 ... up to 60 s, see ``_shared_fetch.py``). Once
    fetched, the metadata is kept for this object's lifetime, so a later outage of the
    discovery endpoint costs nothing.

    Args:
        issuer: The issuer URL (already checked with ``require_secure_url``).
        http_client: The client to fetch with; a short-lived one when None.
        clock: Its ``monotonic()`` times the failure backoff.
        fetch_timeout: Seconds one fetch (both well-known locations) may take in all.
        failure_backoff: How long a failed fetch is answered without a request.
    """

    def __init__(
        self,
        issuer: str,
        *,
        http_client: httpx.AsyncClient | None = None,
        clock: Clock | None = None,
        fetch_timeout: float = DEFAULT_FETCH_TIMEOUT,
        failure_backoff: FailureBackoff = DEFAULT_FAILURE_BACKOFF,
    ) -> None:
        self.issuer = issuer
        self._http_client = http_client
        self._metadata: ProviderMetadata | None = None
        self._fetcher = SharedFetch(
            self._fetch,
            url=issuer,
            clock=clock if clock is not None else SystemClock(),
            timeout=fetch_timeout,
            backoff=failure_backoff,
        )

    def __repr__(self) -> str:
        state = "not fetched" if self._metadata is None else "fetched"
        return f"DiscoveryCache({self.issuer!r}, {state})"

    @property
    def attempt_count(self) -> int:
        """How many fetches were started, failed ones included."""
        return self._fetcher.attempts

    async def get(self) -> ProviderMetadata:
        """The metadata: the cached one, or one fetch shared with every concurrent caller.

        Raises:
            APIConnectionError, APIStatusError, APIResponseValidationError: As
                ``fetch_provider_metadata``, now or a moment ago (the failure's wait is not
                over).
        """
        if self._metadata is not None:
            return self._metadata
        return await self._fetcher.run()

    async def _fetch(self) -> ProviderMetadata:
        metadata = await fetch_provider_metadata(self.issuer, http_client=self._http_client)
        self._metadata = metadata
        return metadata
