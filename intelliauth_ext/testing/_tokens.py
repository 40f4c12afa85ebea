"""JWTs: a signing key generated at start-up (ES256), minting and checking tokens (joserfc).

Access tokens follow RFC 9068 (``typ: at+jwt``; ``iss``, ``sub``, ``aud``, ``exp``,
``iat``, ``jti``, ``client_id``, ``scope``); ID tokens follow OIDC Core section 2.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from typing import Any, Final

import attrs
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet

from ._clock import SandboxClock
from ._ids import ulid

ALGORITHM: Final = "ES256"
ACCESS_TOKEN_TYPE: Final = "at+jwt"  # noqa: S105 - a JWT typ, not a secret
ID_TOKEN_TYPE: Final = "JWT"  # noqa: S105 - a JWT typ, not a secret


class InvalidToken(Exception):
    """A bearer token that is malformed, badly signed, expired or of the wrong type."""


def _new_key() -> ECKey:
    return ECKey.generate_key(
        "P-256", parameters={"kid": f"sbx-{ulid().lower()}", "use": "sig", "alg": ALGORITHM}
    )


def half_hash(value: str) -> str:
    """Return the ``at_hash`` / ``c_hash`` of a value for ES256 (OIDC Core 3.1.3.6)."""
    digest = hashlib.sha256(value.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).decode("ascii").rstrip("=")


@attrs.define
class TokenSigner:
    """Signs and verifies the sandbox's JWTs with its start-up key."""

    issuer: str
    clock: SandboxClock
    _key: ECKey = attrs.field(factory=_new_key)

    @property
    def key_id(self) -> str:
        """The ``kid`` of the signing key."""
        return str(self._key.kid)

    def jwks(self) -> dict[str, Any]:
        """Return the public JWK Set (RFC 7517 section 5)."""
        return dict(KeySet([self._key]).as_dict(private=False))

    def sign(self, claims: Mapping[str, Any], *, token_type: str) -> str:
        """Return ``claims`` signed as a compact JWS with header ``typ: token_type``."""
        header = {"alg": ALGORITHM, "kid": self.key_id, "typ": token_type}
        return jwt.encode(header, dict(claims), self._key)

    def verify(self, token: str, *, token_type: str = ACCESS_TOKEN_TYPE) -> dict[str, Any]:
        """Return the claims of a token this sandbox signed, still valid now.

        Raises:
            InvalidToken: bad format or signature, another issuer, wrong ``typ``, expired.
        """
        try:
            decoded = jwt.decode(token, self._key, algorithms=[ALGORITHM])
        except (JoseError, ValueError) as exc:
            raise InvalidToken(f"the token cannot be verified: {exc}") from exc
        if decoded.header.get("typ") != token_type:
            raise InvalidToken(f"expected a token of type {token_type}")
        claims = dict(decoded.claims)
        if claims.get("iss") != self.issuer:
            raise InvalidToken("the token was issued by another issuer")
        exp = claims.get("exp")
        if not isinstance(exp, int | float) or exp <= self.clock.now():
            raise InvalidToken("the token has expired")
        return claims
