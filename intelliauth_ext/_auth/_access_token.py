"""``AccessToken``: one cached access token, and how a token response becomes one.

Lifetime rules (what a real token endpoint may send, in order of precedence):

* ``expires_in``: seconds, as a JSON number or a numeric string (``"3600"``).
* ``expires_at``: absolute Unix time; **or**, when the value is below ten years of seconds
  (315,360,000, i.e. a date before 1980), a lifetime in seconds. No token issued since
  then can expire before 1980, so such a value can only be a lifetime: one documented
  provider sends ``"expires_at": 1209600`` for its 14-day tokens.
* Neither: ``default_lifetime``; the 401 path (invalidate, fetch anew, replay once) covers
  a token that dies sooner.

A lifetime that comes out not positive (``expires_in: 0``, or an absolute ``expires_at``
that is already past on our clock because the two clocks disagree) is also replaced by
``default_lifetime``, for the same reason: otherwise every call would fetch a new token.
A lifetime above ``MAX_LIFETIME`` (a year) is capped.

``token_type`` is compared case-insensitively (``bearer`` is ``Bearer``). A ``DPoP``
token is used only by a manager given a DPoP key (``dpop=``), which asked for one; any
other type (``mac``), or ``DPoP`` without a key, needs a proof this client can not make,
so RFC 6749 section 7.1 says not to use the token: that is an ``OAuthError``
(``unsupported_token_type``). A manager with a DPoP key that is issued a ``Bearer`` token
refuses it too (the same error): the provider ignored the request for a sender-constrained
token (RFC 9449 section 5), and a bearer token is what a thief can replay. Pass
``allow_bearer_downgrade=True`` to accept it (sent as ``Bearer``, without proofs).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, Final

import attrs
import httpx

from intelliauth_ext._clock import Clock
from intelliauth_ext._errors import OAuthError
from intelliauth_ext._scopes import normalise_scopes
from intelliauth_ext._token_set import INVALID_TOKEN_RESPONSE, TokenSet, token_set_from_response

__all__ = [
    "MAX_LIFETIME",
    "AccessToken",
    "access_token_from_response",
    "bearer_header",
    "check_bearer",
    "checked_token_set",
]

#: The longest lifetime believed; a longer one (or a garbage huge number) is capped.
MAX_LIFETIME: Final = 366 * 24 * 3600.0

#: The error code for a token type this client can not use (RFC 6749 section 7.1).
UNSUPPORTED_TOKEN_TYPE: Final = "unsupported_token_type"  # noqa: S105 - an error code


def _scope_tuple(value: object) -> tuple[str, ...]:
    """``normalise_scopes`` for a value read back from a cache: a wrong type means none."""
    if isinstance(value, str):
        return normalise_scopes(value)
    if isinstance(value, list | tuple):
        return normalise_scopes(str(scope) for scope in value if scope)
    return ()


@attrs.frozen(repr=False)
class AccessToken:
    """An access token with its expiry; ``repr`` never shows the token.

    Attributes:
        access_token: The token itself.
        expires_at: When it expires, as Unix time (wall clock), so that it means the same
            in every process sharing a cache. The manager that holds it turns it into a
            monotonic deadline once, when it adopts the token.
        lifetime: Its lifetime in seconds when issued; the refresh margin is at most half
            of it.
        token_type: ``Bearer`` or ``DPoP`` (normalised).
        scope: The scopes granted, when the server said.
        lifetime_from_server: False when the server gave no usable lifetime and
            ``default_lifetime`` was assumed.
    """

    access_token: str
    expires_at: float
    lifetime: float
    token_type: str = "Bearer"  # noqa: S105 - a token type
    scope: tuple[str, ...] = attrs.field(default=(), converter=_scope_tuple)
    lifetime_from_server: bool = True

    def __repr__(self) -> str:
        return (
            f"AccessToken(access_token='[REDACTED]', token_type={self.token_type!r}, "
            f"scope={self.scope!r}, expires_at={self.expires_at!r}, lifetime={self.lifetime!r})"
        )

    @property
    def authorization(self) -> str:
        """The ``Authorization`` header value (``Bearer <token>`` or ``DPoP <token>``)."""
        if self.is_dpop:
            return f"DPoP {self.access_token}"
        return bearer_header(self.access_token)

    @property
    def is_dpop(self) -> bool:
        """Whether the token is DPoP-bound (sent with a proof, RFC 9449 section 7.1)."""
        return self.token_type == "DPoP"  # noqa: S105 - a token type

    def refresh_margin(self, refresh_margin: float) -> float:
        """How long before expiry to refresh: ``min(refresh_margin, lifetime / 2)``."""
        return max(0.0, min(refresh_margin, self.lifetime / 2))

    def is_fresh(self, *, refresh_margin: float, now: float | None = None) -> bool:
        """Whether it is still before its refresh time, by the wall clock ``now``."""
        now = time.time() if now is None else now
        return now < self.expires_at - self.refresh_margin(refresh_margin)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (for a shared cache); the inverse of ``from_dict``."""
        return {
            "access_token": self.access_token,
            "token_type": self.token_type,
            "scope": " ".join(self.scope),
            "expires_at": self.expires_at,
            "lifetime": self.lifetime,
            "lifetime_from_server": self.lifetime_from_server,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AccessToken | None:
        """The token ``as_dict`` wrote, or None when ``data`` is not such a dict."""
        token = data.get("access_token")
        expires_at = data.get("expires_at")
        lifetime = data.get("lifetime")
        if not isinstance(token, str) or not _is_header_safe(token):
            return None
        if not isinstance(expires_at, int | float) or not isinstance(lifetime, int | float):
            return None
        if not _is_number(expires_at) or not _is_number(lifetime) or lifetime <= 0:
            return None
        token_type = data.get("token_type", "Bearer")
        if token_type not in ("Bearer", "DPoP"):
            return None
        return cls(
            access_token=token,
            token_type=token_type,
            expires_at=float(expires_at),
            lifetime=float(lifetime),
            scope=data.get("scope"),
            lifetime_from_server=data.get("lifetime_from_server") is not False,
        )


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value


def _is_header_safe(token: str) -> bool:
    """Visible ASCII only: anything else can not go into an HTTP header (or would split it)."""
    return bool(token) and all("!" <= char <= "~" for char in token)


def bearer_header(token: str) -> str:
    """``Bearer <token>`` (RFC 6750 section 2.1)."""
    return f"Bearer {token}"


def _lifetime(token_set: TokenSet, now: float, default_lifetime: float) -> tuple[float, bool]:
    if token_set.expires_at is None:
        return default_lifetime, False
    lifetime = token_set.expires_at - now
    if lifetime <= 0:
        return default_lifetime, False
    return min(lifetime, MAX_LIFETIME), True


def check_bearer(
    token_set: TokenSet,
    response: httpx.Response | None = None,
    *,
    dpop: bool = False,
    allow_bearer_downgrade: bool = False,
) -> TokenSet:
    """Check that ``token_set``'s access token can be sent, and normalise its type.

    Args:
        token_set: The token set issued.
        response: The response it came in (for the error).
        dpop: A DPoP-bound token was asked for (the manager has a DPoP key).
        allow_bearer_downgrade: With ``dpop``, accept a ``Bearer`` token all the same.

    Returns:
        The token set, its ``token_type`` ``Bearer`` or ``DPoP``.

    Raises:
        OAuthError: ``unsupported_token_type`` for a type other than Bearer (or DPoP with
            ``dpop``), and for Bearer with ``dpop`` unless ``allow_bearer_downgrade``;
            ``invalid_token_response`` for a token that can not go in an HTTP header.
    """
    status_code = response.status_code if response is not None else None
    kind = token_set.token_type.strip().lower()
    if kind == "dpop" and dpop:
        normalised = "DPoP"
    elif kind == "bearer" and (not dpop or allow_bearer_downgrade):
        normalised = "Bearer"
    elif kind == "bearer":
        raise OAuthError(
            UNSUPPORTED_TOKEN_TYPE,
            "a DPoP-bound token was asked for and the token endpoint issued a Bearer token "
            "(RFC 9449 section 5): refused, as a stolen bearer token can be replayed; pass "
            "allow_bearer_downgrade=True to accept it",
            status_code=status_code,
            response=response,
        )
    else:
        hint = "; pass dpop= a DPoPKey to use DPoP tokens" if kind == "dpop" else ""
        raise OAuthError(
            UNSUPPORTED_TOKEN_TYPE,
            f"the token endpoint issued a {token_set.token_type[:40]!r} token; only Bearer "
            f"tokens can be used (RFC 6749 section 7.1){hint}",
            status_code=status_code,
            response=response,
        )
    if not _is_header_safe(token_set.access_token):
        raise OAuthError(
            INVALID_TOKEN_RESPONSE,
            "the access_token contains characters that can not be sent in an HTTP header",
            status_code=status_code,
            response=response,
        )
    if normalised == token_set.token_type:
        return token_set
    return attrs.evolve(token_set, token_type=normalised)


def checked_token_set(
    response: httpx.Response,
    *,
    now: float,
    dpop: bool = False,
    allow_bearer_downgrade: bool = False,
) -> TokenSet:
    """``token_set_from_response`` plus ``check_bearer``: a token set this client can use.

    Args:
        response: The token endpoint's response, its body read.
        now: The current Unix time (turns ``expires_in`` into ``expires_at``).
        dpop: A DPoP-bound token was asked for.
        allow_bearer_downgrade: With ``dpop``, accept a Bearer token.

    Raises:
        OAuthError: As ``token_set_from_response`` and ``check_bearer``; nothing else.
    """
    token_set = token_set_from_response(response, clock=lambda: now)
    return check_bearer(
        token_set, response, dpop=dpop, allow_bearer_downgrade=allow_bearer_downgrade
    )


def access_token_from_response(
    response: httpx.Response,
    *,
    clock: Clock,
    default_lifetime: float,
    dpop: bool = False,
    allow_bearer_downgrade: bool = False,
) -> AccessToken:
    """Turn a token endpoint's response into an ``AccessToken``, or raise an ``OAuthError``.

    Args:
        response: The token endpoint's response, its body read (any status, any body).
        clock: Its wall clock turns a relative lifetime into ``expires_at``.
        default_lifetime: The lifetime assumed when the response gives none usable.
        dpop: A DPoP-bound token was asked for (see the module docstring).
        allow_bearer_downgrade: With ``dpop``, accept a Bearer token.

    Returns:
        The token.

    Raises:
        OAuthError: The matching subclass for a non-2xx status or an RFC 6749 ``error``
            body; ``invalid_token_response`` for a body that is not a JSON object, has no
            ``access_token`` string, or a token that can not be sent in a header;
            ``unsupported_token_type`` for a token type other than Bearer (or DPoP with
            ``dpop``), and for Bearer with ``dpop`` unless ``allow_bearer_downgrade``.
            Nothing else.
    """
    now = clock.time()
    token_set = checked_token_set(
        response, now=now, dpop=dpop, allow_bearer_downgrade=allow_bearer_downgrade
    )
    lifetime, from_server = _lifetime(token_set, now, default_lifetime)
    return AccessToken(
        access_token=token_set.access_token,
        token_type=token_set.token_type,
        expires_at=now + lifetime,
        lifetime=lifetime,
        scope=token_set.scope,
        lifetime_from_server=from_server,
    )
