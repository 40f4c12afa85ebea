"""Test doubles for the OIDC tests: a respx identity provider with rotating keys, and a clock.

Shared by test_discovery.py, test_verification.py and test_flow.py; the fixtures that
build them live in conftest.py.
"""

from __future__ import annotations

from typing import Any

import httpx
import respx
from joserfc import jwt
from joserfc.jwk import ECKey, Key, RSAKey

from . import auth_fakes

ISSUER = "https://idp.example.test"
CLIENT_ID = "client-123"
NOW = 1_800_000_000.0

RSA_KEY = RSAKey.generate_key(2048, {"kid": "rsa-1", "use": "sig", "alg": "RS256"})
EC_KEY = ECKey.generate_key("P-256", {"kid": "ec-1", "use": "sig", "alg": "ES256"})


class FakeClock(auth_fakes.FakeClock):
    """The tests' one fake ``Clock`` (auth_fakes.py), started at ``NOW``."""

    def __init__(self, now: float = NOW) -> None:
        super().__init__(wall=now, monotonic=1000.0)


class FakeProvider:
    """A provider on respx: discovery, a JWKS that can rotate, a token endpoint to script."""

    def __init__(self, router: respx.MockRouter, clock: FakeClock) -> None:
        self.router = router
        self.clock = clock
        self.published: list[Key] = [RSA_KEY, EC_KEY]
        self.metadata: dict[str, Any] = {
            "issuer": ISSUER,
            "authorization_endpoint": f"{ISSUER}/authorize",
            "token_endpoint": f"{ISSUER}/token",
            "jwks_uri": f"{ISSUER}/jwks",
            "revocation_endpoint": f"{ISSUER}/revoke",
            "introspection_endpoint": f"{ISSUER}/introspect",
            "id_token_signing_alg_values_supported": ["RS256", "ES256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "none"],
            "code_challenge_methods_supported": ["S256"],
        }
        self.discovery = router.get(f"{ISSUER}/.well-known/openid-configuration").mock(
            side_effect=lambda request: httpx.Response(200, json=self.metadata)
        )
        # No RFC 8414 document: discovery reads the OpenID one alone.
        self.oauth_discovery = router.get(
            f"{ISSUER}/.well-known/oauth-authorization-server"
        ).respond(404)
        self.jwks = router.get(f"{ISSUER}/jwks").mock(side_effect=self._jwks)
        self.token = router.post(f"{ISSUER}/token")

    def _jwks(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"keys": [key.as_dict() for key in self.published]})

    def claims(self, **overrides: Any) -> dict[str, Any]:
        """Valid ID token claims for CLIENT_ID, changed by ``overrides`` (None deletes)."""
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": CLIENT_ID,
            "sub": "user-1",
            "iat": int(self.clock.time()),
            "exp": int(self.clock.time()) + 300,
            "nonce": "nonce-1",
        }
        claims.update(overrides)
        return {name: value for name, value in claims.items() if value is not None}

    def sign(
        self,
        claims: dict[str, Any],
        *,
        key: Key = RSA_KEY,
        alg: str = "RS256",
        kid: str | None = "rsa-1",
        **header: Any,
    ) -> str:
        """A JWS compact token signed by ``key``."""
        full_header: dict[str, Any] = {"alg": alg, **header}
        if kid is not None:
            full_header["kid"] = kid
        return jwt.encode(full_header, claims, key, algorithms=[alg])

    def id_token(self, **overrides: Any) -> str:
        """A valid signed ID token, claims changed by ``overrides``."""
        return self.sign(self.claims(**overrides))
