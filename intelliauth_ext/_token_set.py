"""``TokenSet``: the tokens one OAuth 2.0 token response carries (RFC 6749 section 5.1).

Shared by the browser flow (``AuthorizationCodeFlow.complete``) and the refresh-token
machinery, so it is a plain frozen value that an application can persist (``as_dict``)
and restore (``from_dict``). ``expires_at`` is absolute Unix time (wall clock, seconds),
not a monotonic reading, because a persisted token set outlives the process.

Real-world token responses are tolerated (see ``from_token_response``): ``expires_in`` as
a number or a numeric string, missing, or replaced by ``expires_at`` (absolute, or a small
number that can only be a lifetime). A response that can not be used raises an
``OAuthError``; no ``KeyError`` or ``JSONDecodeError`` ever leaks.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from typing import Any, Final
from urllib.parse import parse_qsl

import attrs
import httpx

from intelliauth_ext._errors import OAuthError, error_from_response, oauth_error_from_fields
from intelliauth_ext._json import json_object
from intelliauth_ext._scopes import normalise_scopes
from intelliauth_ext._shown import shown

__all__ = ["TokenSet", "token_set_from_response"]

#: An ``expires_at`` below this (about ten years, in seconds) is a lifetime, not a date:
#: no token issued after 1979 carries an absolute expiry that small.
_LIFETIME_CEILING: Final = 10 * 365 * 24 * 3600

#: The error code for a 2xx token response that carries no usable token.
INVALID_TOKEN_RESPONSE: Final = "invalid_token_response"  # noqa: S105 - an error code


def _redacted(value: str | None) -> str:
    return "None" if value is None else "'[REDACTED]'"


def _finite_number(value: object) -> float | None:
    """A finite number from a JSON number or a numeric string; None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _expires_at(body: Mapping[str, Any], now: float) -> float | None:
    """Absolute expiry from ``expires_in`` or ``expires_at``; None when neither is usable."""
    lifetime = _finite_number(body.get("expires_in"))
    if lifetime is not None and lifetime >= 0:
        return now + lifetime
    absolute = _finite_number(body.get("expires_at"))
    if absolute is not None and absolute >= 0:
        return now + absolute if absolute < _LIFETIME_CEILING else absolute
    return None


@attrs.frozen(repr=False)
class TokenSet:
    """The tokens of one token response; ``repr`` never shows a token.

    Attributes:
        access_token: The access token.
        token_type: Usually ``Bearer``.
        refresh_token: The refresh token, when the server issued one.
        id_token: The OpenID Connect ID token, when the server issued one.
        scope: The granted scopes, normalised by ``normalise_scopes`` (sorted, distinct).
        expires_at: When the access token expires, as Unix time; None when unknown.
    """

    access_token: str
    token_type: str = "Bearer"  # noqa: S105 - a token type, not a secret
    refresh_token: str | None = None
    id_token: str | None = None
    scope: tuple[str, ...] = attrs.field(default=(), converter=normalise_scopes)
    expires_at: float | None = None

    def __repr__(self) -> str:
        return (
            f"TokenSet(access_token={_redacted(self.access_token)}, "
            f"token_type={self.token_type!r}, refresh_token={_redacted(self.refresh_token)}, "
            f"id_token={_redacted(self.id_token)}, scope={self.scope!r}, "
            f"expires_at={self.expires_at!r})"
        )

    def expires_in(self, *, now: float | None = None) -> float | None:
        """Seconds until the access token expires (negative once expired); None if unknown."""
        if self.expires_at is None:
            return None
        return self.expires_at - (time.time() if now is None else now)

    def is_expired(self, *, leeway: float = 0.0, now: float | None = None) -> bool:
        """Whether the access token has expired, or will within ``leeway`` seconds."""
        remaining = self.expires_in(now=now)
        return remaining is not None and remaining <= leeway

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict, for an application that persists the session."""
        return {
            "access_token": self.access_token,
            "token_type": self.token_type,
            "refresh_token": self.refresh_token,
            "id_token": self.id_token,
            "scope": " ".join(self.scope),
            "expires_at": self.expires_at,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TokenSet:
        """The inverse of ``as_dict`` (``expires_at`` kept as absolute time)."""
        return cls.from_token_response({**data, "expires_in": None}, clock=time.time)

    @classmethod
    def from_token_response(
        cls, body: Mapping[str, Any], clock: Callable[[], float] = time.time
    ) -> TokenSet:
        """Build a token set from a decoded RFC 6749 section 5.1 response body.

        Args:
            body: The JSON object the token endpoint returned.
            clock: Returns the current Unix time; turns ``expires_in`` into ``expires_at``.

        Returns:
            The token set. ``expires_at`` is None when the body gave no usable lifetime.

        Raises:
            OAuthError: The body carries an RFC 6749 ``error`` (the matching subclass), or
                has no ``access_token`` string.
        """
        error = body.get("error")
        if isinstance(error, str) and error:
            description = body.get("error_description")
            uri = body.get("error_uri")
            raise oauth_error_from_fields(
                error,
                description if isinstance(description, str) else None,
                uri if isinstance(uri, str) else None,
            )
        access_token = body.get("access_token")
        if not isinstance(access_token, str) or not access_token:
            keys = ", ".join(sorted(str(key) for key in body)) or "none"
            raise OAuthError(
                INVALID_TOKEN_RESPONSE,
                f"the token response has no access_token string (fields: {shown(keys)})",
            )
        token_type = body.get("token_type")
        refresh_token = body.get("refresh_token")
        id_token = body.get("id_token")
        scope = body.get("scope")
        return cls(
            access_token=access_token,
            token_type=token_type if isinstance(token_type, str) and token_type else "Bearer",
            refresh_token=refresh_token
            if isinstance(refresh_token, str) and refresh_token
            else None,
            id_token=id_token if isinstance(id_token, str) and id_token else None,
            scope=scope if isinstance(scope, str) else (),
            expires_at=_expires_at(body, clock()),
        )


def _decoded_body(response: httpx.Response) -> Mapping[str, Any] | None:
    """The body as a mapping: JSON, or form-encoded (some providers' legacy default)."""
    content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/x-www-form-urlencoded":
        try:
            return dict(parse_qsl(response.content.decode("utf-8"), keep_blank_values=True))
        except UnicodeDecodeError:
            return None
    return json_object(response.content)


def token_set_from_response(
    response: httpx.Response, *, clock: Callable[[], float] = time.time
) -> TokenSet:
    """Turn a token endpoint's response into a ``TokenSet``, or raise the right error.

    Args:
        response: The token endpoint's response (any status, any body).
        clock: Returns the current Unix time.

    Returns:
        The token set.

    Raises:
        OAuthError: A non-2xx response or an RFC 6749 error body (the matching subclass,
            via ``error_from_response``); a 2xx body that is not a JSON object or has
            no ``access_token`` (``error == "invalid_token_response"``; the message never
            quotes the body, which may hold tokens).
    """
    if not response.is_success:
        raise error_from_response(response, oauth=True)
    body = _decoded_body(response)
    if body is None:
        content_type = response.headers.get("content-type", "no content-type")
        raise OAuthError(
            INVALID_TOKEN_RESPONSE,
            f"the token endpoint answered HTTP {response.status_code} with a body that is not "
            f"a JSON object ({shown(content_type)}, {len(response.content)} bytes)",
            status_code=response.status_code,
            response=response,
        )
    try:
        return TokenSet.from_token_response(body, clock)
    except OAuthError as exc:
        exc.status_code = response.status_code
        exc.response = response
        raise
