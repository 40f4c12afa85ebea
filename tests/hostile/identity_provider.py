"""An identity provider on a real loopback socket, whose every endpoint a test can turn hostile.

``LocalProvider`` serves discovery, a key set and a token endpoint from a ``LocalServer``
(tests/ext/servers.py). A test replaces an endpoint's answer with ``answer`` (a status and
raw bytes), ``hang`` (no answer until the test ends) or ``trickle`` (a byte now and then,
so that no single read times out), and counts what the provider received with
``requests_to``.
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import json
import threading
from collections.abc import Callable
from typing import Any, Final
from urllib.parse import parse_qs

from ext.servers import LocalServer
from joserfc import jwt
from joserfc.jwk import ECKey, Key, OKPKey, RSAKey

DISCOVERY_PATH: Final = "/.well-known/openid-configuration"
JWKS_PATH: Final = "/jwks"
TOKEN_PATH: Final = "/token"
CLIENT_ID: Final = "client-hostile"
AUDIENCE: Final = "https://api.hostile.test"

RSA_KEY: Final = RSAKey.generate_key(2048, {"kid": "rsa-1", "use": "sig"})
#: A key of every kind the verifier accepts, by the algorithms that sign with it.
KEYS_BY_ALG: Final[dict[str, Key]] = {
    **dict.fromkeys(["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"], RSA_KEY),
    "ES256": ECKey.generate_key("P-256", {"kid": "ec-256", "use": "sig"}),
    "ES384": ECKey.generate_key("P-384", {"kid": "ec-384", "use": "sig"}),
    "ES512": ECKey.generate_key("P-521", {"kid": "ec-521", "use": "sig"}),
    "Ed25519": OKPKey.generate_key("Ed25519", {"kid": "ed-1", "use": "sig"}),
}

Route = Callable[
    [http.server.BaseHTTPRequestHandler, bytes], tuple[int, dict[str, str], bytes] | None
]


def b64url(data: bytes) -> str:
    """base64url without padding (RFC 7515 section 2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unsigned_token(kid: str, alg: str = "RS256", **claims: Any) -> str:
    """A JWS with a well-formed header and payload and a junk signature (kid lookups only)."""
    header = b64url(json.dumps({"alg": alg, "kid": kid, "typ": "at+jwt"}).encode())
    payload = b64url(json.dumps({"sub": "u", **claims}).encode())
    return f"{header}.{payload}.{b64url(b'not a signature')}"


def expected_hash(value: str, hash_name: str) -> str:
    """at_hash / c_hash computed here on its own (OIDC Core 3.1.3.6), to check the SDK's."""
    digest = hashlib.new(hash_name, value.encode("ascii")).digest()
    return b64url(digest[: len(digest) // 2])


#: The wall time the provider's tokens and the tests' clocks start from.
NOW: Final = 1_800_000_000.0


class LocalProvider:
    """Discovery, a JWKS and a token endpoint on a ``LocalServer``, each replaceable."""

    def __init__(self, server: LocalServer, *, now: float) -> None:
        self.server = server
        self.issuer = server.url
        self.now = now
        self.published: list[Key] = list({id(key): key for key in KEYS_BY_ALG.values()}.values())
        self.metadata: dict[str, Any] = {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}{TOKEN_PATH}",
            "jwks_uri": f"{self.issuer}{JWKS_PATH}",
            "id_token_signing_alg_values_supported": sorted(KEYS_BY_ALG),
            "token_endpoint_auth_methods_supported": ["none"],
        }
        self.hung = threading.Event()  # set when the test ends: hanging routes give up
        self.serve_metadata()
        self.serve_keys()

    # -- what the endpoints answer ------------------------------------------------------

    def serve_metadata(self) -> None:
        """Discovery answers ``self.metadata`` (read at each request)."""
        self.server.routes[("GET", DISCOVERY_PATH)] = lambda handler, body: (
            200,
            {},
            json.dumps(self.metadata).encode(),
        )

    def serve_keys(self) -> None:
        """The JWKS answers the public halves of ``self.published`` (read at each request)."""
        self.server.routes[("GET", JWKS_PATH)] = lambda handler, body: (
            200,
            {},
            json.dumps({"keys": [key.as_dict(private=False) for key in self.published]}).encode(),
        )

    def answer(
        self, path: str, status: int, content: bytes, *, content_type: str = "application/json"
    ) -> None:
        """``GET path`` answers ``status`` with ``content`` as it is."""
        self.server.routes[("GET", path)] = lambda handler, body: (
            status,
            {"Content-Type": content_type},
            content,
        )

    def hang(self, path: str, method: str = "GET", *, for_seconds: float = 3.0) -> None:
        """``path`` reads the request and answers nothing for ``for_seconds``, then hangs up.

        Far longer than the fetch timeouts the tests set, and short enough that a test
        whose guard is removed fails instead of hanging.
        """

        def route(handler: http.server.BaseHTTPRequestHandler, body: bytes) -> None:
            self.hung.wait(for_seconds)
            handler.close_connection = True

        self.server.routes[(method, path)] = route

    def trickle(self, path: str, *, gap: float = 0.05, for_seconds: float = 3.0) -> None:
        """``path`` answers 200, then a byte every ``gap`` seconds for ``for_seconds``, then
        hangs up (no single read ever waits long enough to time out)."""

        def route(handler: http.server.BaseHTTPRequestHandler, body: bytes) -> None:
            handler.send_response(200)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", "100000")
            handler.end_headers()
            handler.wfile.write(b'{"keys": [')
            handler.wfile.flush()
            for _ in range(int(for_seconds / gap)):
                if self.hung.wait(gap):
                    break
                handler.wfile.write(b" ")
                handler.wfile.flush()
            handler.close_connection = True

        self.server.routes[("GET", path)] = route

    def token_endpoint(self, answer: Callable[[dict[str, str]], dict[str, Any]]) -> None:
        """``POST /token`` answers 200 with ``answer(form)`` as JSON, the form decoded."""

        def route(
            handler: http.server.BaseHTTPRequestHandler, body: bytes
        ) -> tuple[int, dict[str, str], bytes]:
            form = {name: values[0] for name, values in parse_qs(body.decode()).items()}
            return 200, {"Cache-Control": "no-store"}, json.dumps(answer(form)).encode()

        self.server.routes[("POST", TOKEN_PATH)] = route

    def requests_to(self, path: str) -> int:
        """How many requests ``path`` received."""
        return sum(1 for _, target, _, _ in list(self.server.requests) if target == path)

    # -- tokens ---------------------------------------------------------------------------

    def claims(self, **overrides: Any) -> dict[str, Any]:
        """Valid claims for an access token of AUDIENCE (ID token: pass aud=CLIENT_ID)."""
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": AUDIENCE,
            "sub": "user-1",
            "iat": int(self.now),
            "exp": int(self.now) + 300,
        }
        claims.update(overrides)
        return {name: value for name, value in claims.items() if value is not None}

    def sign(self, claims: dict[str, Any], *, alg: str = "RS256", typ: str = "at+jwt") -> str:
        """``claims`` signed with the key of ``alg``."""
        key = KEYS_BY_ALG[alg]
        header = {"alg": alg, "kid": key.kid, "typ": typ}
        return jwt.encode(header, claims, key, algorithms=[alg])

    def access_token(self, **overrides: Any) -> str:
        """A valid RS256 JWT access token (``typ: at+jwt``)."""
        return self.sign(self.claims(**overrides))
