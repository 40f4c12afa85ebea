"""Calls to a provider's token, revocation and introspection endpoints, and client auth.

- ``request_token``: any grant at the token endpoint (RFC 6749 section 4), as a form post.
- ``refresh_tokens``: the refresh-token grant (RFC 6749 section 6).
- ``revoke_token``: RFC 7009 token revocation.
- ``introspect_token``: RFC 7662 token introspection (``introspection_result`` reads the
  answer; ``IntelliAuth.introspect`` uses it too).

These work with any provider, given its endpoint URLs. Client authentication uses the
registry of ``_auth/_client_auth.py`` (keyed by the RFC names ``client_secret_basic``,
``client_secret_post``, ``private_key_jwt``, ``none``, ...): pass ``private_key=`` (and
``key_id=``) for ``private_key_jwt``, whose assertion's ``aud`` is the endpoint's URL
unless ``assertion_audience`` says otherwise. ``request_token`` and ``refresh_tokens``
take ``dpop=`` a ``DPoPKey``: the request carries a proof (a ``use_dpop_nonce`` answer is
retried once with the nonce) and a Bearer token in reply is refused unless
``allow_bearer_downgrade=True``. Requests go through
``_auth/_token_endpoint.TokenEndpointClient``, as the token managers' do: no auth flow, no
redirect, a timeout on every attempt (10 s), the body read under
``MAX_AUTH_RESPONSE_BYTES`` (1 MiB, else ``ResponseTooLargeError``), and the retry policy
of token requests
(429, 5xx, ``temporarily_unavailable`` and connection errors retried ``max_retries``
times, 2 by default, within the caller's deadline; 400 and 401 final). Once the retries
are over, a failed answer raises ``token_error``'s exception (``RateLimitError`` for 429,
``InternalServerError`` for 5xx, the ``OAuthError`` of its RFC 6749 code otherwise) and
an unreachable endpoint ``error_from_transport``'s (``APIConnectionError``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, Final, Literal

import attrs
import httpx

from intelliauth_ext._auth._access_token import check_bearer
from intelliauth_ext._auth._client_auth import ClientAuth, ClientAuthMethodName
from intelliauth_ext._auth._token_endpoint import (
    DEFAULT_TOKEN_RETRIES,
    TokenEndpointClient,
    token_error,
)
from intelliauth_ext._dpop import DPoPKey
from intelliauth_ext._errors import OAuthError, error_from_transport
from intelliauth_ext._json import json_object
from intelliauth_ext._scopes import normalise_scopes
from intelliauth_ext._signing_key import PrivateKeyInput
from intelliauth_ext._token_set import INVALID_TOKEN_RESPONSE, TokenSet, token_set_from_response

__all__ = [
    "IntrospectionResult",
    "introspect_token",
    "introspection_result",
    "refresh_tokens",
    "request_token",
    "revoke_token",
]

_HTTP_TIMEOUT: Final = httpx.Timeout(10.0)


async def _post_form(
    url: str,
    form: Mapping[str, str],
    *,
    client_id: str,
    client_secret: str | None,
    auth_method: str | None,
    http_client: httpx.AsyncClient | None,
    max_retries: int,
    private_key: PrivateKeyInput | None = None,
    key_id: str | None = None,
    assertion_audience: str | None = None,
    dpop: DPoPKey | None = None,
) -> httpx.Response:
    """POST ``form`` to ``url`` with the client's credentials, retrying transient failures.

    Returns:
        The response that ended the retries, whatever its status.

    Raises:
        APIConnectionError: No response after the retries (``APITimeoutError`` when a
            timeout ran out).
        ValueError: A negative ``max_retries``, or credentials the method can not use.
    """
    client = ClientAuth.create(
        client_id=client_id,
        client_secret=client_secret,
        private_key=private_key,
        key_id=key_id,
        auth_method=auth_method,
        assertion_audience=assertion_audience,
        default_method="client_secret_basic",
    )
    endpoint = TokenEndpointClient(http_client, max_retries=max_retries, timeout=_HTTP_TIMEOUT)
    try:
        return await endpoint.post(url, form, client=client, dpop=dpop)
    except httpx.RequestError as exc:
        raise error_from_transport(exc, _request_of(exc, url)) from exc
    finally:
        await endpoint.aclose()


def _request_of(exc: httpx.RequestError, url: str) -> httpx.Request:
    """The request ``exc`` was raised for (one to ``url`` when httpx did not set it)."""
    try:
        return exc.request
    except RuntimeError:
        return httpx.Request("POST", url)


async def _post_token(
    url: str,
    token: str,
    token_type_hint: str | None,
    *,
    client_id: str,
    client_secret: str | None,
    auth_method: str | None,
    http_client: httpx.AsyncClient | None,
    max_retries: int,
    private_key: PrivateKeyInput | None,
    key_id: str | None,
    assertion_audience: str | None,
) -> httpx.Response:
    """POST ``token`` (and its hint) to a revocation or introspection endpoint.

    Raises:
        OAuthError: The endpoint answered with an error (``token_error``'s exception:
            ``InternalServerError`` or ``RateLimitError`` after the retries).
    """
    form = {"token": token}
    if token_type_hint is not None:
        form["token_type_hint"] = token_type_hint
    response = await _post_form(
        url,
        form,
        client_id=client_id,
        client_secret=client_secret,
        auth_method=auth_method,
        http_client=http_client,
        max_retries=max_retries,
        private_key=private_key,
        key_id=key_id,
        assertion_audience=assertion_audience,
    )
    if not response.is_success:
        raise token_error(response)
    return response


async def request_token(
    token_endpoint: str,
    form: Mapping[str, str],
    *,
    client_id: str,
    client_secret: str | None = None,
    auth_method: ClientAuthMethodName | str | None = None,
    private_key: PrivateKeyInput | None = None,
    key_id: str | None = None,
    assertion_audience: str | None = None,
    dpop: DPoPKey | None = None,
    allow_bearer_downgrade: bool = False,
    http_client: httpx.AsyncClient | None = None,
    clock: Callable[[], float] = time.time,
    max_retries: int = DEFAULT_TOKEN_RETRIES,
) -> TokenSet:
    """POST a token request (``grant_type`` and its parameters in ``form``).

    Transient failures are retried ``max_retries`` times (see the module docstring).
    The client authenticates with ``auth_method``: by default ``private_key_jwt`` with a
    ``private_key``, ``client_secret_basic`` with a secret, ``none`` without either.

    Returns:
        The token set of the response (``token_type`` ``DPoP`` with ``dpop``).

    Raises:
        OAuthError: An RFC 6749 error (the matching subclass), or an unusable response;
            with ``dpop``, ``unsupported_token_type`` for a Bearer token (unless
            ``allow_bearer_downgrade``) or any type but DPoP.
        InternalServerError: The endpoint still answered 5xx after the retries.
        RateLimitError: The endpoint still answered 429 after the retries.
        APIConnectionError: The endpoint could not be reached, after the retries.
    """
    response = await _post_form(
        token_endpoint,
        form,
        client_id=client_id,
        client_secret=client_secret,
        auth_method=auth_method,
        http_client=http_client,
        max_retries=max_retries,
        private_key=private_key,
        key_id=key_id,
        assertion_audience=assertion_audience,
        dpop=dpop,
    )
    if not response.is_success:
        raise token_error(response)
    tokens = token_set_from_response(response, clock=clock)
    if dpop is None:
        return tokens  # any type: the caller judges it (AuthorizationCodeFlow returns it)
    return check_bearer(
        tokens, response, dpop=dpop is not None, allow_bearer_downgrade=allow_bearer_downgrade
    )


async def refresh_tokens(
    token_endpoint: str,
    refresh_token: str,
    *,
    client_id: str,
    client_secret: str | None = None,
    auth_method: ClientAuthMethodName | str | None = None,
    private_key: PrivateKeyInput | None = None,
    key_id: str | None = None,
    assertion_audience: str | None = None,
    dpop: DPoPKey | None = None,
    allow_bearer_downgrade: bool = False,
    scopes: tuple[str, ...] | None = None,
    http_client: httpx.AsyncClient | None = None,
    clock: Callable[[], float] = time.time,
    max_retries: int = DEFAULT_TOKEN_RETRIES,
) -> TokenSet:
    """Use a refresh token (RFC 6749 section 6); keeps it when the server does not rotate.

    A refresh token bound to a DPoP key is refreshed with ``dpop=`` that key.

    Raises:
        InvalidGrantError: The refresh token is expired, revoked or already used.
        OAuthError: Any other RFC 6749 error, or an unusable response.
        InternalServerError: The endpoint still answered 5xx after the retries.
        RateLimitError: The endpoint still answered 429 after the retries.
        APIConnectionError: The endpoint could not be reached, after the retries.
    """
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    if scopes:
        form["scope"] = " ".join(normalise_scopes(scopes))
    tokens = await request_token(
        token_endpoint,
        form,
        client_id=client_id,
        client_secret=client_secret,
        auth_method=auth_method,
        private_key=private_key,
        key_id=key_id,
        assertion_audience=assertion_audience,
        dpop=dpop,
        allow_bearer_downgrade=allow_bearer_downgrade,
        http_client=http_client,
        clock=clock,
        max_retries=max_retries,
    )
    if tokens.refresh_token is None:
        tokens = attrs.evolve(tokens, refresh_token=refresh_token)
    return tokens


async def revoke_token(
    revocation_endpoint: str,
    token: str,
    *,
    client_id: str,
    client_secret: str | None = None,
    auth_method: ClientAuthMethodName | str | None = None,
    private_key: PrivateKeyInput | None = None,
    key_id: str | None = None,
    assertion_audience: str | None = None,
    token_type_hint: Literal["access_token", "refresh_token"] | None = None,
    http_client: httpx.AsyncClient | None = None,
    max_retries: int = DEFAULT_TOKEN_RETRIES,
) -> None:
    """Revoke a token (RFC 7009). A token that was already invalid counts as revoked.

    Raises:
        OAuthError: The server refused (e.g. ``invalid_client``, or
            ``unsupported_token_type``); RFC 7009 section 2.2 answers 200 otherwise.
        InternalServerError: The endpoint still answered 5xx after the retries (RFC 7009
            section 2.2.1: 503 means try again later).
        RateLimitError: The endpoint still answered 429 after the retries.
        APIConnectionError: The endpoint could not be reached, after the retries.
    """
    await _post_token(
        revocation_endpoint,
        token,
        token_type_hint,
        client_id=client_id,
        client_secret=client_secret,
        auth_method=auth_method,
        http_client=http_client,
        max_retries=max_retries,
        private_key=private_key,
        key_id=key_id,
        assertion_audience=assertion_audience,
    )


def _optional_str(body: Mapping[str, Any], name: str) -> str | None:
    value = body.get(name)
    return value if isinstance(value, str) else None


def _optional_number(body: Mapping[str, Any], name: str) -> float | None:
    value = body.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


@attrs.frozen
class IntrospectionResult:
    """An RFC 7662 section 2.2 introspection response.

    Attributes:
        active: Whether the token is currently active; every other field is meaningful only
            when it is.
        scope: The token's scopes.
        client_id: The client the token was issued to.
        username: The resource owner's name, if given.
        token_type: E.g. ``Bearer``.
        subject: ``sub``.
        expires_at: ``exp`` as Unix time.
        issued_at: ``iat`` as Unix time.
        raw: The whole response.
    """

    active: bool
    scope: tuple[str, ...] = ()
    client_id: str | None = None
    username: str | None = None
    token_type: str | None = None
    subject: str | None = None
    expires_at: float | None = None
    issued_at: float | None = None
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False, eq=False)

    @classmethod
    def from_dict(cls, body: Mapping[str, Any]) -> IntrospectionResult:
        """Read a response body; ``active`` must be a JSON boolean.

        Raises:
            OAuthError: ``active`` is missing or not a boolean (``invalid_token_response``).
        """
        active = body.get("active")
        if not isinstance(active, bool):
            raise OAuthError(
                INVALID_TOKEN_RESPONSE, "the introspection response has no boolean 'active'"
            )
        scope = _optional_str(body, "scope")
        return cls(
            active=active,
            scope=normalise_scopes(scope),
            client_id=_optional_str(body, "client_id"),
            username=_optional_str(body, "username"),
            token_type=_optional_str(body, "token_type"),
            subject=_optional_str(body, "sub"),
            expires_at=_optional_number(body, "exp"),
            issued_at=_optional_number(body, "iat"),
            raw=dict(body),
        )


async def introspect_token(
    introspection_endpoint: str,
    token: str,
    *,
    client_id: str,
    client_secret: str | None = None,
    auth_method: ClientAuthMethodName | str | None = None,
    private_key: PrivateKeyInput | None = None,
    key_id: str | None = None,
    assertion_audience: str | None = None,
    token_type_hint: Literal["access_token", "refresh_token"] | None = None,
    http_client: httpx.AsyncClient | None = None,
    max_retries: int = DEFAULT_TOKEN_RETRIES,
) -> IntrospectionResult:
    """Ask the provider whether a token is active, and about it (RFC 7662).

    Raises:
        OAuthError: The server refused the request, or the answer is not an RFC 7662 body.
        InternalServerError: The endpoint still answered 5xx after the retries.
        RateLimitError: The endpoint still answered 429 after the retries.
        APIConnectionError: The endpoint could not be reached, after the retries.
    """
    response = await _post_token(
        introspection_endpoint,
        token,
        token_type_hint,
        client_id=client_id,
        client_secret=client_secret,
        auth_method=auth_method,
        http_client=http_client,
        max_retries=max_retries,
        private_key=private_key,
        key_id=key_id,
        assertion_audience=assertion_audience,
    )
    return introspection_result(response)


def introspection_result(response: httpx.Response) -> IntrospectionResult:
    """Read a successful introspection response (RFC 7662 section 2.2).

    Raises:
        OAuthError: The body is not a JSON object, or its ``active`` is not a boolean
            (``invalid_token_response``).
    """
    body = json_object(response.content)
    if body is None:
        raise OAuthError(
            INVALID_TOKEN_RESPONSE,
            "the introspection response is not a JSON object",
            status_code=response.status_code,
            response=response,
        )
    return IntrospectionResult.from_dict(body)
