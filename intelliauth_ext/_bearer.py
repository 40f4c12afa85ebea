"""Protecting your own API with IntelliAuth tokens: the resource server's side of RFC 6750.

A request's ``Authorization: Bearer <token>`` (RFC 6750 section 2.1) is checked either
locally, as a JWT access token against the tenant's cached key set (RFC 9068, through
``TokenVerifier``), or by asking the tenant (introspection, RFC 7662), which also sees
revoked tokens at the cost of one request per call. A refusal is a ``BearerTokenError``
that the framework integrations answer as RFC 6750 section 3 says:

==========================  ====  ========================================================
no bearer token             401   ``WWW-Authenticate: Bearer realm="api"`` (no error)
a malformed header          400   ``error="invalid_request"``
a token that fails a check  401   ``error="invalid_token"``
a token short of a scope    403   ``error="insufficient_scope", scope="..."``
keys or tenant unreachable  503   not the caller's fault, so no challenge
==========================  ====  ========================================================

A DPoP-bound token (RFC 9449) comes as ``Authorization: DPoP <token>`` with a ``DPoP``
proof header; its refusals are 401 with ``WWW-Authenticate: DPoP error=...``:
``invalid_dpop_proof``, ``use_dpop_nonce`` (with a ``DPoP-Nonce`` header) or
``invalid_token`` for a bound token sent as ``Bearer`` (``_dpop_proof_check.py``).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from intelliauth_ext._clock import Clock
from intelliauth_ext._dpop_proof_check import DPoPProofChecker, dpop_proof_of, dpop_refusal
from intelliauth_ext._errors import IntelliAuthError, TokenValidationError
from intelliauth_ext._outage_log import OutageLog
from intelliauth_ext._scopes import ScopeMemo
from intelliauth_ext._verification import DEFAULT_LEEWAY, TokenVerifier, VerifiedToken

if TYPE_CHECKING:
    from intelliauth_ext._client import IntelliAuth

__all__ = ["BearerTokenError", "TokenGuard", "bearer_challenge"]

# What an error_description may contain (RFC 6750 section 3): printable ASCII without
# the double quote and the backslash, so it needs no escaping inside a quoted string.
_UNSAFE_IN_QUOTES: Final = re.compile(r"[^\x20\x21\x23-\x5b\x5d-\x7e]")
# b64token (RFC 6750 section 2.1): 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" )
# *"=". Checked by deleting these bytes (bytes.translate) rather than with a regular
# expression, which walks a JWT's hundreds of characters several times slower.
_B64TOKEN_BYTES: Final = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/"
# Immutable values whose normalised scopes are remembered (equal ones hash alike).
_DESCRIPTIONS: Final[Mapping[str, str]] = {
    "expiry": "The access token expired",
    "audience": "The access token is not meant for this API",
    "issuer": "The access token was issued by another tenant",
    "signature": "The access token signature does not verify",
    "key": "The access token is signed with an unknown key",
    "inactive": "The access token is not active (expired, revoked or unknown)",
}


def bearer_challenge(
    *,
    realm: str | None = None,
    error: str | None = None,
    description: str | None = None,
    scopes: Collection[str] = (),
) -> str:
    """The ``WWW-Authenticate`` value of a refusal (RFC 6750 section 3).

    Args:
        realm: The protection space, if the API names one.
        error: ``invalid_request``, ``invalid_token`` or ``insufficient_scope``; None
            when the request carried no token (section 3.1 says to send no error then).
        description: A human-readable ``error_description``.
        scopes: The scopes the resource needs, as the ``scope`` attribute.
    """
    params: list[tuple[str, str]] = []
    if realm is not None:
        params.append(("realm", realm))
    if error is not None:
        params.append(("error", error))
        if description:
            params.append(("error_description", description))
    if scopes:
        params.append(("scope", " ".join(scopes)))
    if not params:
        return "Bearer"
    quoted = (f'{name}="{_UNSAFE_IN_QUOTES.sub("?", value)}"' for name, value in params)
    return "Bearer " + ", ".join(quoted)


class BearerTokenError(Exception):
    """A request the API refuses; integrations turn it into the response.

    Attributes:
        status_code: 400, 401, 403 or 503.
        error: The RFC 6750 error code (``temporarily_unavailable`` for 503), or None when
            no token was sent.
        description: What went wrong, for the caller's developers.
        headers: The response headers: ``WWW-Authenticate`` except on 503.
    """

    def __init__(
        self,
        status_code: int,
        error: str | None,
        description: str,
        *,
        headers: Mapping[str, str],
    ) -> None:
        super().__init__(f"{status_code} {error or 'no token'}: {description}")
        self.status_code = status_code
        self.error = error
        self.description = description
        self.headers: Mapping[str, str] = dict(headers)

    def body(self) -> dict[str, str]:
        """The JSON body of the response: ``error`` and ``error_description``."""
        return {"error": self.error or "unauthorized", "error_description": self.description}


class TokenGuard:
    """Checks the bearer tokens of incoming requests for one API.

    Args:
        client: The app's client: its tenant URL is the issuer; in introspection mode it
            authenticates the introspection requests with its client credentials.
        audience: This API's identifier; a token's ``aud`` must contain it.
        introspection: Ask the tenant about every token (RFC 7662) instead of verifying
            JWTs locally with the cached key set.
        realm: The ``realm`` of the challenges, if any.
        clock: Wall and monotonic time (expiry, key-set re-fetch limits), for tests.
        leeway: Seconds of clock skew tolerated on ``exp``, ``nbf`` and ``iat``.
        dpop_checker: Checks the proofs of DPoP-bound tokens (window, replay cache, server
            nonces); a default one per guard when None.
    """

    def __init__(
        self,
        client: IntelliAuth,
        *,
        audience: str | None,
        introspection: bool = False,
        realm: str | None = None,
        clock: Clock | None = None,
        leeway: float = DEFAULT_LEEWAY,
        dpop_checker: DPoPProofChecker | None = None,
    ) -> None:
        self.audience = audience
        self.introspection = introspection
        self.realm = realm
        self._client = client
        self._scope_memo = ScopeMemo()
        # The cause of each 503, at WARNING, once per cause and minute (_outage_log).
        self._outages = OutageLog(clock=clock)
        # One verifier per app: it caches the discovery document and the key set.
        self._verifier = TokenVerifier(
            str(client.tenant_url).rstrip("/"),
            http_client=client.http_client,
            clock=clock,
            leeway=leeway,
            dpop=dpop_checker,
        )

    def __repr__(self) -> str:
        mode = "introspection" if self.introspection else "jwt"
        return f"TokenGuard({str(self._client.tenant_url)!r}, audience={self.audience!r}, {mode})"

    def _refusal(
        self, status_code: int, error: str | None, description: str, scopes: Collection[str]
    ) -> BearerTokenError:
        # The scope attribute tells a client what to ask for: on the first challenge and
        # when the token lacks it, not when the token itself is bad.
        hinted = scopes if error in (None, "insufficient_scope") else ()
        challenge = bearer_challenge(
            realm=self.realm, error=error, description=description, scopes=hinted
        )
        return BearerTokenError(
            status_code, error, description, headers={"WWW-Authenticate": challenge}
        )

    def bearer_token(self, authorization: Sequence[str], scopes: Collection[str] = ()) -> str:
        """The token of the ``Authorization`` header values (all of them, usually one).

        Raises:
            BearerTokenError: 401 without an error when there is no bearer token (RFC 6750
                section 3.1), 400 ``invalid_request`` when the header is malformed.
        """
        if len(authorization) == 1:  # the usual case, without building a list
            only = authorization[0].strip()
            values = [only] if only else []
        else:
            values = [value.strip() for value in authorization if value.strip()]
        if len(values) > 1:
            raise self._refusal(400, "invalid_request", "Send one Authorization header", scopes)
        scheme, _, token = values[0].partition(" ") if values else ("", "", "")
        if scheme.lower() not in ("bearer", "dpop"):
            # No credentials, or another scheme: the caller did not know a token is needed.
            raise self._refusal(401, None, "A bearer access token is required", scopes)
        token = token.strip()
        if not _is_b64token(token):
            raise self._refusal(400, "invalid_request", "The bearer token is malformed", scopes)
        return token

    async def authenticate(
        self,
        authorization: Sequence[str],
        scopes: Iterable[str] = (),
        *,
        dpop: Sequence[str] = (),
        method: str | None = None,
        url: str | None = None,
    ) -> VerifiedToken:
        """Verify a request's bearer token and return it, or refuse the request.

        Args:
            authorization: Every value of the request's ``Authorization`` header.
            scopes: Scopes the token must all carry.
            dpop: Every value of the request's ``DPoP`` header (RFC 9449).
            method: The request's method, which a DPoP proof must name.
            url: The request's URL as the client addressed it, which a DPoP proof must
                name (behind a proxy, the public URL).

        Returns:
            The verified token; in introspection mode, its claims are the introspection
            response (``sub``, ``scope``, ``client_id``, ``exp`` ...).

        Raises:
            BearerTokenError: The request is refused (see the module's table).
            RuntimeError: No ``audience`` was configured.
        """
        required = self._scope_memo(scopes)
        token = self.bearer_token(authorization, required)
        if self.audience is None:
            raise RuntimeError("verifying tokens needs this API's audience: pass audience=...")
        try:
            proof = dpop_proof_of(authorization, dpop)
            if self.introspection:
                verified = await self._introspect(token, required)
                checker = self._verifier.dpop
                checker.check_binding(verified.claims, token, proof=proof, method=method, url=url)
                return verified
            return await self._verifier.verify_access_token(
                token,
                audience=self.audience,
                required_scopes=required,
                require_at_jwt_type=True,
                dpop_proof=proof,
                method=method,
                url=url,
            )
        except TokenValidationError as exc:
            if exc.check.startswith("dpop_"):
                error, challenge = dpop_refusal(exc, self._verifier.dpop, realm=self.realm)
                raise BearerTokenError(401, error, exc.message, headers=challenge) from exc
            if exc.check == "scope":
                description = "The access token lacks a required scope"
                raise self._refusal(403, "insufficient_scope", description, required) from exc
            description = _DESCRIPTIONS.get(
                exc.check, f"The access token failed the {exc.check} check"
            )
            raise self._refusal(401, "invalid_token", description, required) from exc
        except IntelliAuthError as exc:
            # Discovery, the key set or introspection failed: the token may be fine, so
            # this is not a 401 (which would make a client drop a good token).
            self._outages.record(exc)
            raise BearerTokenError(
                503,
                "temporarily_unavailable",
                "The token can not be verified right now; retry later",
                headers={"Retry-After": "5"},
            ) from exc

    async def _introspect(self, token: str, required: Collection[str]) -> VerifiedToken:
        result = await self._client.introspect(token, token_type_hint="access_token")  # noqa: S106
        # A refresh token is active too, but is not a credential for APIs (RFC 6749 1.5).
        if not result.active or (result.token_type or "").lower() == "refresh_token":
            raise TokenValidationError("inactive", "the tenant says the token is not active")
        audiences = _audiences(result.raw.get("aud"))
        if self.audience not in audiences:
            raise TokenValidationError("audience", f"aud {audiences!r} lacks {self.audience!r}")
        missing = sorted(set(required) - set(result.scope))
        if missing:
            raise TokenValidationError("scope", f"missing scope(s): {' '.join(missing)}")
        return VerifiedToken(header={}, claims=dict(result.raw))


def _is_b64token(token: str) -> bool:
    """Whether ``token`` is a b64token: allowed characters, then only ``=`` (padding)."""
    body = token.rstrip("=")
    return (
        bool(body) and body.isascii() and not body.encode("ascii").translate(None, _B64TOKEN_BYTES)
    )


def _audiences(aud: Any) -> list[str]:
    if isinstance(aud, str):
        return [aud]
    if isinstance(aud, list):
        return [item for item in aud if isinstance(item, str)]
    return []
