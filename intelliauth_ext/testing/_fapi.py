"""The sandbox's FAPI 2.0 side: private_key_jwt, DPoP-bound tokens and pushed requests.

- ``private_key_jwt`` (RFC 7523 section 2.2, OIDC Core section 9): a client registered
  with a public JWK authenticates with a JWT it signs (``client_assertion``), whose
  ``iss`` and ``sub`` are its id and whose ``aud`` is the issuer or the endpoint called.
- DPoP (RFC 9449): a token request with a ``DPoP`` proof gets a token bound to the
  proof's key (``cnf.jkt``, ``token_type: DPoP``); refresh tokens and codes requested
  with ``dpop_jkt`` are bound too. The resource API checks the proofs of bound tokens
  with the SDK's own checker (``intelliauth_ext._dpop_proof_check``).
- PAR (RFC 9126): ``POST /oauth2/par`` stores an authorization request and answers a
  one-time ``request_uri``; the authorize endpoint then takes only ``client_id`` and
  ``request_uri``, and demands that of every client when the sandbox requires PAR.

None of this is in the IntelliAuth contract: the answers only RFC 9449 and RFC 9126
define (``use_dpop_nonce``, ``invalid_dpop_proof``, the PAR endpoint's) are marked
``beyond_contract`` so the response validator leaves them alone.
"""

from __future__ import annotations

import base64
import hmac
import warnings
from collections.abc import Mapping
from typing import Any, Final

import attrs
from joserfc import jwt
from joserfc.errors import JoseError, SecurityWarning
from joserfc.jwk import JWKRegistry

from intelliauth_ext._dpop_proof_check import (
    PROOF_ALGORITHMS,
    DPoPNonces,
    DPoPProofChecker,
    MemoryReplayCache,
)
from intelliauth_ext._errors import TokenValidationError
from intelliauth_ext._json import json_object

from ._clock import SandboxClock
from ._envelopes import OAuthError
from ._ids import new_secret
from ._tenant import OAuthClient

__all__ = [
    "CLIENT_ASSERTION_TYPE",
    "PAR_PATH",
    "FapiState",
    "PushedRequest",
]

CLIENT_ASSERTION_TYPE: Final = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
PAR_PATH: Final = "/oauth2/par"
#: Seconds a pushed request's request_uri is good for (RFC 9126 section 2.2: short).
PAR_TTL_SECONDS: Final = 60
_REQUEST_URI_PREFIX: Final = "urn:ietf:params:oauth:request_uri:"
#: The RFC 9449 error codes of the token endpoint, which the contract does not list.
DPOP_TOKEN_ERRORS: Final = frozenset({"invalid_dpop_proof", "use_dpop_nonce"})
#: The endpoints a client assertion's aud may name besides the issuer.
_ASSERTION_PATHS: Final = ("/oauth2/token", PAR_PATH, "/oauth2/revoke", "/oauth2/introspect")
_MAX_ASSERTION_LIFETIME: Final = 300


@attrs.frozen
class PushedRequest:
    """An authorization request pushed to ``/oauth2/par``, waiting for the browser."""

    client_id: str
    params: Mapping[str, str]
    expires_at: float


def _bad_client(description: str) -> OAuthError:
    return OAuthError("invalid_client", description, status=401)


@attrs.define
class FapiState:
    """The sandbox's FAPI settings and state.

    Attributes:
        clock: The sandbox's clock.
        require_par: The authorize endpoint takes pushed requests only, from every client
            (advertised as ``require_pushed_authorization_requests``).
        dpop: Checks DPoP proofs at the token endpoint and the resource API (one replay
            cache for both); with server nonces when the sandbox was asked for them.
        pushed: Pushed requests by request_uri.
        assertion_replays: The ``jti`` of client assertions seen (RFC 7523 section 3).
    """

    clock: SandboxClock
    require_par: bool = False
    dpop_nonces: bool = False
    dpop: DPoPProofChecker = attrs.field(init=False)
    pushed: dict[str, PushedRequest] = attrs.field(factory=dict)
    assertion_replays: MemoryReplayCache = attrs.field(factory=MemoryReplayCache)

    def __attrs_post_init__(self) -> None:
        self.dpop = DPoPProofChecker(
            clock=self.clock, nonces=DPoPNonces() if self.dpop_nonces else None
        )

    # ------------------------------------------------------------ private_key_jwt
    def authenticate_with_assertion(
        self, clients: Mapping[str, OAuthClient], form: Mapping[str, str], issuer: str
    ) -> OAuthClient:
        """The client a ``client_assertion`` authenticates (RFC 7523 section 3).

        Raises:
            OAuthError: ``invalid_client`` (401) for a bad assertion, ``invalid_request``
                for a wrong assertion type.
        """
        if form.get("client_assertion_type") != CLIENT_ASSERTION_TYPE:
            raise OAuthError(
                "invalid_request", f"client_assertion_type must be {CLIENT_ASSERTION_TYPE}."
            )
        assertion = form.get("client_assertion", "")
        client_id = _unverified_issuer(assertion)
        client = clients.get(client_id or "")
        if client is None or client.public_jwk is None:
            raise _bad_client("Unknown client, or one without a registered key.")
        if form.get("client_id") not in (None, client.client_id):
            raise _bad_client("client_id is not the assertion's issuer.")
        key = JWKRegistry.import_key(dict(client.public_jwk))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", SecurityWarning)  # EdDSA (RFC 9864)
                decoded = jwt.decode(assertion, key, algorithms=sorted(PROOF_ALGORITHMS))
        except (JoseError, ValueError) as exc:
            raise _bad_client(f"The client assertion does not verify: {exc}.") from exc
        claims = dict(decoded.claims)
        now = self.clock.now()
        if claims.get("iss") != client.client_id or claims.get("sub") != client.client_id:
            raise _bad_client("The assertion's iss and sub must both be the client id.")
        aud = claims.get("aud")
        # A string or a list of them (RFC 7519 4.1.3); anything else names no audience.
        named = {aud} if isinstance(aud, str) else set()
        if isinstance(aud, list):
            named = {item for item in aud if isinstance(item, str)}
        accepted = {issuer, *(issuer + path for path in _ASSERTION_PATHS)}
        if not accepted & named:
            raise _bad_client("The assertion's aud is neither the issuer nor this endpoint.")
        exp = claims.get("exp")
        if not isinstance(exp, int | float) or exp <= now or exp > now + _MAX_ASSERTION_LIFETIME:
            raise _bad_client("The assertion's exp is missing, past, or too far ahead.")
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti:
            raise _bad_client("The assertion has no jti.")
        if not self.assertion_replays.remember(f"{client.client_id} {jti}", until=exp, now=now):
            raise _bad_client("The assertion's jti was used before (a replay).")
        return client

    # ------------------------------------------------------------ DPoP at the token endpoint
    def request_jkt(self, proofs: list[str], *, url: str, required: bool) -> str | None:
        """The thumbprint a token (or PAR) request's DPoP proof binds to (RFC 9449 5, 10.1).

        Args:
            proofs: The request's ``DPoP`` header values.
            url: The endpoint's URL (``htu``).
            required: Whether the client must send a proof (``require_dpop`` at the token
                endpoint).

        Raises:
            OAuthError: 400 ``invalid_dpop_proof`` (a bad proof, several, or a missing
                required one) or ``use_dpop_nonce`` with a ``DPoP-Nonce`` header.
        """
        if not proofs:
            if required:
                raise _dpop_error("invalid_dpop_proof", "This client must send a DPoP proof.", None)
            return None
        if len(proofs) > 1:
            raise _dpop_error("invalid_dpop_proof", "Send one DPoP header.", None)
        try:
            return self.dpop.check_proof(proofs[0], method="POST", url=url)
        except TokenValidationError as exc:
            code = "use_dpop_nonce" if exc.check == "dpop_nonce" else "invalid_dpop_proof"
            raise _dpop_error(code, exc.message, self.dpop.fresh_nonce()) from exc

    # ------------------------------------------------------------ PAR
    def push(self, client: OAuthClient, params: Mapping[str, str]) -> dict[str, Any]:
        """Store a checked authorization request; the RFC 9126 section 2.2 answer."""
        request_uri = _REQUEST_URI_PREFIX + new_secret(24)
        self.pushed[request_uri] = PushedRequest(
            client.client_id, dict(params), self.clock.now() + PAR_TTL_SECONDS
        )
        return {"request_uri": request_uri, "expires_in": PAR_TTL_SECONDS}

    def resolve(
        self, clients: Mapping[str, OAuthClient], params: Mapping[str, str]
    ) -> Mapping[str, str]:
        """The authorization request's parameters: the pushed ones for a request_uri.

        Raises:
            OAuthError: ``invalid_request``: an unknown, expired or another client's
                request_uri, or no request_uri where PAR is required.
        """
        request_uri = params.get("request_uri")
        if request_uri is None:
            client = clients.get(params.get("client_id", ""))
            if self.require_par or (client is not None and client.require_par):
                raise OAuthError(
                    "invalid_request",
                    "Push the authorization request first (PAR, RFC 9126): "
                    "send client_id and request_uri only.",
                )
            return params
        pushed = self.pushed.get(request_uri)
        if pushed is None or pushed.expires_at <= self.clock.now():
            raise OAuthError("invalid_request", "The request_uri is unknown or has expired.")
        if not hmac.compare_digest(params.get("client_id", ""), pushed.client_id):
            raise OAuthError("invalid_request", "The request_uri was pushed by another client.")
        return {**pushed.params, "request_uri": request_uri}

    def consume(self, request_uri: str | None) -> None:
        """Forget a pushed request once it signed someone in (one-time use, RFC 9126 4)."""
        if request_uri is not None:
            self.pushed.pop(request_uri, None)


def _dpop_error(code: str, description: str, nonce: str | None) -> OAuthError:
    headers = {"DPoP-Nonce": nonce} if nonce is not None else {}
    return OAuthError(code, description, status=400, headers=headers)


def _unverified_issuer(assertion: str) -> str | None:
    """The ``iss`` of an assertion before its key is known (to find that key)."""
    parts = assertion.split(".")
    if len(parts) != 3 or len(assertion) > 16_384:
        return None
    try:
        payload = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
    except ValueError:
        return None
    claims = json_object(payload)
    issuer = claims.get("iss") if claims is not None else None
    return issuer if isinstance(issuer, str) else None
