"""Calls to a provider's token, revocation and introspection endpoints, and client auth.

- ``request_token``: any grant at the token endpoint (RFC 6749 section 4), as a form post.
- ``refresh_tokens``: the refresh-token grant (RFC 6749 section 6).
- ``revoke_token``: RFC 7009 token revocation.
- ``introspect_token``: RFC 7662 token introspection (``introspection_result`` reads the
  answer; ``IntelliAuth.introspect`` uses it too).

These work with any provider, given its endpoint URLs. Client authentication uses the
registry of ``_auth/_client_auth.py`` (keyed by the RFC names ``client_secret_basic``,
``client_secret_post``, ``none``, ...). Failed answers and unreachable endpoints are
mapped by ``_errors.error_from_response`` and ``error_from_transport``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, Final, Literal

import attrs
import httpx

from intelliauth_ext._auth._client_auth import ClientAuthMethodName, build_token_request
from intelliauth_ext._errors import OAuthError, error_from_response, error_from_transport
from intelliauth_ext._json import json_object
from intelliauth_ext._scopes import normalise_scopes
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
    auth_method: str,
    http_client: httpx.AsyncClient | None,
) -> httpx.Response:
    request = build_token_request(
        httpx.URL(url),
        auth_method=auth_method,
        client_id=client_id,
        client_secret=client_secret,
        params=form,
    )
    if http_client is None:
        async with httpx.AsyncClient(timeout=_HTTP_TIMEOUT) as client:
            return await _send(client, request)
    return await _send(http_client, request)


async def _post_token(
    url: str,
    token: str,
    token_type_hint: str | None,
    *,
    client_id: str,
    client_secret: str | None,
    auth_method: str,
    http_client: httpx.AsyncClient | None,
) -> httpx.Response:
    """POST ``token`` (and its hint) to a revocation or introspection endpoint.

    Raises:
        OAuthError: The endpoint answered with an error.
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
    )
    if not response.is_success:
        raise error_from_response(response, oauth=True)
    return response


async def _send(client: httpx.AsyncClient, request: httpx.Request) -> httpx.Response:
    """Send ``request`` on ``client``, following no redirect.

    Raises:
        APIConnectionError: No response (``APITimeoutError`` when a timeout ran out).
    """
    try:
        # Redirects are not followed: a redirected POST would resend the credentials.
        return await client.send(request, follow_redirects=False)
    except httpx.RequestError as exc:
        raise error_from_transport(exc, request) from exc


async def request_token(
    token_endpoint: str,
    form: Mapping[str, str],
    *,
    client_id: str,
    client_secret: str | None = None,
    auth_method: ClientAuthMethodName | str = "client_secret_basic",
    http_client: httpx.AsyncClient | None = None,
    clock: Callable[[], float] = time.time,
) -> TokenSet:
    """POST a token request (``grant_type`` and its parameters in ``form``).

    Returns:
        The token set of the response.

    Raises:
        OAuthError: An RFC 6749 error (the matching subclass), or an unusable response.
        APIConnectionError: The endpoint could not be reached.
    """
    response = await _post_form(
        token_endpoint,
        form,
        client_id=client_id,
        client_secret=client_secret,
        auth_method=auth_method,
        http_client=http_client,
    )
    return token_set_from_response(response, clock=clock)


async def refresh_tokens(
    token_endpoint: str,
    refresh_token: str,
    *,
    client_id: str,
    client_secret: str | None = None,
    auth_method: ClientAuthMethodName | str = "client_secret_basic",
    scopes: tuple[str, ...] | None = None,
    http_client: httpx.AsyncClient | None = None,
    clock: Callable[[], float] = time.time,
) -> TokenSet:
    """Use a refresh token (RFC 6749 section 6); keeps it when the server does not rotate.

    Raises:
        InvalidGrantError: The refresh token is expired, revoked or already used.
        OAuthError: Any other RFC 6749 error, or an unusable response.
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
        http_client=http_client,
        clock=clock,
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
    auth_method: ClientAuthMethodName | str = "client_secret_basic",
    token_type_hint: Literal["access_token", "refresh_token"] | None = None,
    http_client: httpx.AsyncClient | None = None,
) -> None:
    """Revoke a token (RFC 7009). A token that was already invalid counts as revoked.

    Raises:
        OAuthError: The server refused (e.g. ``invalid_client``, or
            ``unsupported_token_type``); RFC 7009 section 2.2 answers 200 otherwise.
    """
    await _post_token(
        revocation_endpoint,
        token,
        token_type_hint,
        client_id=client_id,
        client_secret=client_secret,
        auth_method=auth_method,
        http_client=http_client,
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
    auth_method: ClientAuthMethodName | str = "client_secret_basic",
    token_type_hint: Literal["access_token", "refresh_token"] | None = None,
    http_client: httpx.AsyncClient | None = None,
) -> IntrospectionResult:
    """Ask the provider whether a token is active, and about it (RFC 7662).

    Raises:
        OAuthError: The server refused the request, or the answer is not an RFC 7662 body.
    """
    response = await _post_token(
        introspection_endpoint,
        token,
        token_type_hint,
        client_id=client_id,
        client_secret=client_secret,
        auth_method=auth_method,
        http_client=http_client,
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
