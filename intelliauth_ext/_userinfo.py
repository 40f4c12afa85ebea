"""OpenID Connect UserInfo (OIDC Core 5.3): the claims about the user an access token is for.

``fetch_userinfo(provider, access_token)`` works with any OpenID provider: ``provider`` is
its issuer URL (the endpoint is found by discovery, ``_discovery``) or its
``ProviderMetadata``. The access token goes in the ``Authorization`` header (RFC 6750
section 2.1), never in a URL, and no log line, exception message or ``repr`` shows it (the
SDK's log redaction covers the header).

The answer is read under ``MAX_AUTH_RESPONSE_BYTES`` (1 MiB) and must be a JSON object with
a string ``sub`` (OIDC Core 5.3.2); given the ID token's subject, the two must be equal
(5.3.4: "if they do not match, the UserInfo Response values MUST NOT be used"). A signed
or encrypted answer (``application/jwt``) is refused rather than read unverified.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import attrs
import httpx

from intelliauth_ext._discovery import ProviderMetadata, fetch_provider_metadata
from intelliauth_ext._errors import (
    APIResponseValidationError,
    error_from_response,
    error_from_transport,
)
from intelliauth_ext._json import json_object
from intelliauth_ext._logging import install_redaction_filters
from intelliauth_ext._shared_fetch import DEFAULT_FETCH_TIMEOUT
from intelliauth_ext._shown import shown
from intelliauth_ext._telemetry import propagate_context
from intelliauth_ext._transports import MAX_AUTH_RESPONSE_BYTES, send_bounded

__all__ = ["UserInfoClaims", "fetch_userinfo"]

_HTTP_TIMEOUT: Final = httpx.Timeout(DEFAULT_FETCH_TIMEOUT)


def _text(claims: Mapping[str, Any], name: str) -> str | None:
    value = claims.get(name)
    return value if isinstance(value, str) else None


def _flag(claims: Mapping[str, Any], name: str) -> bool | None:
    value = claims.get(name)
    return value if isinstance(value, bool) else None


@attrs.frozen
class UserInfoClaims:
    """The claims a UserInfo endpoint returned; the standard ones typed (OIDC Core 5.1).

    A standard claim of another type than the specification's reads as None here; every
    claim, as sent, stays in ``claims`` (``info["custom"]`` reads one).

    Attributes:
        subject: ``sub``, the user's identifier at the provider.
        name: ``name``.
        given_name: ``given_name``.
        family_name: ``family_name``.
        preferred_username: ``preferred_username``.
        email: ``email``.
        email_verified: ``email_verified``.
        phone_number: ``phone_number``.
        phone_number_verified: ``phone_number_verified``.
        picture: ``picture`` (a URL).
        locale: ``locale``.
        zoneinfo: ``zoneinfo``.
        updated_at: ``updated_at``, seconds since the epoch.
        claims: Every claim of the answer.
    """

    subject: str
    name: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    preferred_username: str | None = None
    email: str | None = None
    email_verified: bool | None = None
    phone_number: str | None = None
    phone_number_verified: bool | None = None
    picture: str | None = None
    locale: str | None = None
    zoneinfo: str | None = None
    updated_at: int | None = None
    claims: Mapping[str, Any] = attrs.field(factory=dict, repr=False)

    @classmethod
    def from_claims(cls, claims: Mapping[str, Any]) -> UserInfoClaims:
        """Read a UserInfo answer's claims.

        Raises:
            ValueError: No ``sub``, or one that is not a non-empty string.
        """
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise ValueError("the UserInfo answer has no 'sub' string")
        updated_at = claims.get("updated_at")
        return cls(
            subject=subject,
            name=_text(claims, "name"),
            given_name=_text(claims, "given_name"),
            family_name=_text(claims, "family_name"),
            preferred_username=_text(claims, "preferred_username"),
            email=_text(claims, "email"),
            email_verified=_flag(claims, "email_verified"),
            phone_number=_text(claims, "phone_number"),
            phone_number_verified=_flag(claims, "phone_number_verified"),
            picture=_text(claims, "picture"),
            locale=_text(claims, "locale"),
            zoneinfo=_text(claims, "zoneinfo"),
            updated_at=updated_at
            if isinstance(updated_at, int) and not isinstance(updated_at, bool)
            else None,
            claims=dict(claims),
        )

    def __getitem__(self, name: str) -> Any:
        return self.claims[name]


def _is_jwt(response: httpx.Response) -> bool:
    media_type: str = response.headers.get("content-type", "")
    return media_type.split(";", 1)[0].strip().lower() == "application/jwt"


async def fetch_userinfo(
    provider: ProviderMetadata | str | httpx.URL,
    access_token: str,
    *,
    subject: str | None = None,
    http_client: httpx.AsyncClient | None = None,
) -> UserInfoClaims:
    """Ask a provider's UserInfo endpoint about the user ``access_token`` was issued for.

    Args:
        provider: The issuer URL (discovered with ``fetch_provider_metadata``) or the
            provider's metadata (``TokenVerifier.metadata()``, say).
        access_token: An access token the provider issued with the ``openid`` scope.
        subject: The ID token's ``sub``: the answer must be about the same user.
        http_client: The client to send with; a short-lived one when None.

    Returns:
        The claims.

    Raises:
        ValueError: An empty ``access_token``, or metadata the application built without
            a ``userinfo_endpoint``.
        InsecureURLError: The issuer or the endpoint is plain http on a non-loopback host.
        APIConnectionError: The provider could not be reached.
        AuthenticationError: A 401: the token is invalid or expired (RFC 6750 section 3.1);
            other statuses raise their ``APIStatusError`` subclass.
        APIResponseValidationError: The metadata has no UserInfo endpoint; the answer is
            not a JSON object with a ``sub``, is a signed JWT, or is about another
            ``subject``.
    """
    if not isinstance(access_token, str) or not access_token:
        raise ValueError("access_token must be a non-empty string")
    install_redaction_filters()  # the token travels in a header of the caller's client too
    if http_client is None:
        async with httpx.AsyncClient(timeout=_HTTP_TIMEOUT) as client:
            return await fetch_userinfo(provider, access_token, subject=subject, http_client=client)
    metadata = (
        provider
        if isinstance(provider, ProviderMetadata)
        else await fetch_provider_metadata(provider, http_client=http_client)
    )
    endpoint = metadata.require("userinfo_endpoint")
    headers = {"Authorization": f"Bearer {access_token}", "Accept": "application/json"}
    propagate_context(headers)  # the caller's trace, when OpenTelemetry has one
    request = http_client.build_request("GET", endpoint, headers=headers)
    try:
        response = await send_bounded(
            http_client, request, max_bytes=MAX_AUTH_RESPONSE_BYTES, follow_redirects=False
        )
    except httpx.RequestError as exc:
        raise error_from_transport(exc, request) from exc
    if not response.is_success:
        raise error_from_response(response, oauth=False)
    if _is_jwt(response):
        raise APIResponseValidationError(
            "the UserInfo answer is a signed or encrypted JWT, which fetch_userinfo does "
            "not read; register the client for plain JSON UserInfo answers",
            response=response,
        )
    claims = json_object(response.content)
    if claims is None:
        raise APIResponseValidationError(
            f"the UserInfo answer from {endpoint} is not a JSON object", response=response
        )
    try:
        info = UserInfoClaims.from_claims(claims)
    except ValueError as exc:
        raise APIResponseValidationError(str(exc), response=response) from exc
    if subject is not None and info.subject != subject:
        raise APIResponseValidationError(
            f"the UserInfo answer is about {shown(info.subject)}, not the ID token's "
            f"subject {shown(subject)} (OIDC Core 5.3.4)",
            response=response,
        )
    return info
