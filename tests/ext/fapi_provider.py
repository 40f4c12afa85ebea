"""A FAPI-style provider on a real loopback server that checks what clients send with joserfc.

``FapiProvider`` serves discovery, a token endpoint (client credentials, authorization
code, refresh token), a PAR endpoint, an authorization endpoint that takes only pushed
requests, and a resource (``GET /api/me``). Independently of the SDK's code it checks:

* client assertions (RFC 7523): signature by the registered public key, ``iss`` = ``sub``
  = client id, ``aud`` one of the accepted audiences, ``exp`` in the future, ``jti``
  never seen before;
* DPoP proofs (RFC 9449 section 4.3): ``typ``, an asymmetric ``alg``, the ``jwk`` header
  and the signature by it, ``htm``, ``htu`` (no query), ``iat`` within a minute, a fresh
  ``jti``, the server's nonce when it demands one, ``ath`` on the resource and the key's
  thumbprint = the token's ``jkt``; refresh tokens and codes bound to their key.

Every refusal is recorded in ``refusals`` so tests can say why a request failed.
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import json
import secrets
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl, urlencode

from joserfc import jwt
from joserfc.errors import JoseError, SecurityWarning
from joserfc.jwk import ECKey, JWKRegistry, OKPKey, RSAKey

from .servers import LocalServer

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASYMMETRIC = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"]
CLIENT_ID = "bank-app"
REDIRECT_URI = "http://127.0.0.1/callback"

Answer = tuple[int, dict[str, str], bytes]


def _b64url_json(segment: str) -> dict[str, Any]:
    padded = segment + "=" * (-len(segment) % 4)
    value = json.loads(base64.urlsafe_b64decode(padded))
    assert isinstance(value, dict)
    return value


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Answer:
    return status, {"Cache-Control": "no-store", **(headers or {})}, json.dumps(body).encode()


class Refused(Exception):
    """A request the provider refuses; ``answer`` is what it sends back."""

    def __init__(self, answer: Answer, why: str) -> None:
        super().__init__(why)
        self.answer = answer


class FapiProvider:
    """The provider (see the module docstring); configure it through its attributes."""

    def __init__(self) -> None:
        self.server = LocalServer()
        self.url = self.server.url
        self._lock = threading.Lock()
        self.client_keys: dict[str, Any] = {}  # client id -> public joserfc key
        self.client_secrets: dict[str, str] = {}
        self.token_nonce: str | None = None  # demanded at the token and PAR endpoints
        self.resource_nonce: str | None = None  # demanded at the resource
        self.always_challenge = False  # answer every resource request use_dpop_nonce
        self.issue_bearer = False  # answer Bearer even to a DPoP request (a downgrade)
        self.require_par = True
        self.par_expires_in = 90
        self.access_tokens: dict[str, str | None] = {}  # token -> jkt (None: Bearer)
        self.refresh_tokens: dict[str, str | None] = {}
        self.pushed: dict[str, dict[str, str]] = {}
        self.codes: dict[str, dict[str, str]] = {}
        self.seen_jti: set[str] = set()
        self.refusals: list[str] = []
        self.proofs: list[dict[str, Any]] = []  # claims of each accepted proof
        self.assertions: list[dict[str, Any]] = []  # (header, claims) of accepted ones
        self.token_requests: list[dict[str, str]] = []
        self.resource_calls = 0
        self._routes()

    # -- configuration -----------------------------------------------------------------

    @property
    def token_url(self) -> str:
        return f"{self.url}/oauth2/token"

    @property
    def par_url(self) -> str:
        return f"{self.url}/par"

    @property
    def resource_url(self) -> str:
        return f"{self.url}/api/me"

    def register_key(self, client_id: str, public_jwk: dict[str, Any]) -> None:
        self.client_keys[client_id] = JWKRegistry.import_key(public_jwk)

    @contextmanager
    def running(self) -> Iterator[FapiProvider]:
        with self.server.running():
            yield self

    def metadata(self) -> dict[str, Any]:
        return {
            "issuer": self.url,
            "authorization_endpoint": f"{self.url}/authorize",
            "token_endpoint": self.token_url,
            "pushed_authorization_request_endpoint": self.par_url,
            "require_pushed_authorization_requests": self.require_par,
            "jwks_uri": f"{self.url}/jwks",
            "token_endpoint_auth_methods_supported": ["private_key_jwt", "client_secret_jwt"],
            "dpop_signing_alg_values_supported": ASYMMETRIC,
            "code_challenge_methods_supported": ["S256"],
        }

    # -- checks --------------------------------------------------------------------------

    def _refuse(self, status: int, error: str, why: str, **headers: str) -> Refused:
        self.refusals.append(why)
        return Refused(_json(status, {"error": error, "error_description": why}, headers), why)

    def _fresh_jti(self, jti: object, what: str) -> None:
        if not isinstance(jti, str) or not jti:
            raise self._refuse(400, "invalid_request", f"{what} without jti")
        if jti in self.seen_jti:
            raise self._refuse(400, "invalid_request", f"{what} jti replayed")
        self.seen_jti.add(jti)

    def check_client(self, form: dict[str, str], audiences: set[str]) -> str:
        """The authenticated client id, or Refused (RFC 7523 section 3)."""
        client_id = form.get("client_id", "")
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            raise self._refuse(401, "invalid_client", "no client assertion")
        assertion = form.get("client_assertion", "")
        try:
            header = _b64url_json(assertion.split(".")[0])
            if header.get("alg") == "HS256":
                secret = self.client_secrets[client_id]
                from joserfc.jwk import OctKey

                key: Any = OctKey.import_key(secret)
                token = jwt.decode(assertion, key, algorithms=["HS256"])
            else:
                token = jwt.decode(assertion, self.client_keys[client_id], algorithms=ASYMMETRIC)
        except (JoseError, KeyError, ValueError) as exc:
            raise self._refuse(401, "invalid_client", f"bad assertion: {exc}") from None
        claims = token.claims
        if claims.get("iss") != client_id or claims.get("sub") != client_id:
            raise self._refuse(401, "invalid_client", "assertion iss/sub is not the client")
        if claims.get("aud") not in audiences:
            raise self._refuse(401, "invalid_client", f"assertion aud {claims.get('aud')}")
        exp = claims.get("exp")
        if not isinstance(exp, int) or exp <= time.time() or exp > time.time() + 300:
            raise self._refuse(401, "invalid_client", "assertion exp")
        self._fresh_jti(claims.get("jti"), "assertion")
        self.assertions.append({"header": token.header, "claims": claims})
        return client_id

    def check_proof(
        self,
        headers: dict[str, str],
        method: str,
        url: str,
        *,
        nonce: str | None,
        access_token: str | None = None,
        status_for_nonce: int = 400,
    ) -> str | None:
        """The proof's key thumbprint, None without a proof; Refused for a bad one."""
        proof = headers.get("dpop")
        if proof is None:
            return None
        try:
            header = _b64url_json(proof.split(".")[0])
            if header.get("typ") != "dpop+jwt" or header.get("alg") not in ASYMMETRIC:
                raise ValueError(f"typ/alg {header.get('typ')}/{header.get('alg')}")
            jwk = header.get("jwk")
            if not isinstance(jwk, dict) or "d" in jwk:
                raise ValueError("no public jwk")
            key = JWKRegistry.import_key(jwk)
            assert isinstance(key, ECKey | RSAKey | OKPKey)
            token = jwt.decode(proof, key, algorithms=ASYMMETRIC)
        except (JoseError, ValueError, KeyError, AssertionError) as exc:
            raise self._refuse(400, "invalid_dpop_proof", f"bad proof: {exc}") from None
        claims = token.claims
        if claims.get("htm") != method or claims.get("htu") != url:
            raise self._refuse(400, "invalid_dpop_proof", f"htm/htu {claims}")
        iat = claims.get("iat")
        if not isinstance(iat, int) or abs(iat - time.time()) > 60:
            raise self._refuse(400, "invalid_dpop_proof", "iat")
        if status_for_nonce == 401 and self.always_challenge:
            nonce = secrets.token_urlsafe(8)
        if nonce is not None and claims.get("nonce") != nonce:
            error = "use_dpop_nonce"
            if status_for_nonce == 401:
                self.refusals.append("resource nonce missing")
                raise Refused(
                    (
                        401,
                        {
                            "WWW-Authenticate": f'DPoP error="{error}", algs="ES256"',
                            "DPoP-Nonce": nonce,
                        },
                        b"",
                    ),
                    "nonce",
                )
            raise self._refuse(400, error, "token nonce missing", **{"DPoP-Nonce": nonce})
        if access_token is not None:
            digest = hashlib.sha256(access_token.encode()).digest()
            ath = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
            if claims.get("ath") != ath:
                raise self._refuse(401, "invalid_token", "proof ath missing or wrong")
        self._fresh_jti(claims.get("jti"), "proof")
        self.proofs.append(claims)
        return key.thumbprint()

    # -- endpoints -------------------------------------------------------------------------

    def _issue(self, jkt: str | None, scope: str = "") -> dict[str, Any]:
        access = secrets.token_urlsafe(24)
        refresh = secrets.token_urlsafe(24)
        bound = None if self.issue_bearer else jkt
        self.access_tokens[access] = bound
        self.refresh_tokens[refresh] = bound
        body: dict[str, Any] = {
            "access_token": access,
            "token_type": "DPoP" if bound else "Bearer",
            "expires_in": 300,
            "refresh_token": refresh,
        }
        if scope:
            body["scope"] = scope
        return body

    def token(self, headers: dict[str, str], form: dict[str, str]) -> Answer:
        self.token_requests.append(form)
        client_id = self.check_client(form, {self.token_url, self.url})
        jkt = self.check_proof(headers, "POST", self.token_url, nonce=self.token_nonce)
        grant = form.get("grant_type")
        if grant == "client_credentials":
            return _json(200, self._issue(jkt, form.get("scope", "")))
        if grant == "refresh_token":
            refresh = form.get("refresh_token", "")
            if refresh not in self.refresh_tokens:
                raise self._refuse(400, "invalid_grant", "unknown refresh token")
            bound = self.refresh_tokens[refresh]
            if bound is not None and bound != jkt:
                raise self._refuse(400, "invalid_grant", "refresh token bound to another key")
            del self.refresh_tokens[refresh]
            return _json(200, self._issue(jkt))
        if grant == "authorization_code":
            pending = self.codes.pop(form.get("code", ""), None)
            if pending is None:
                raise self._refuse(400, "invalid_grant", "unknown code")
            verifier = form.get("code_verifier", "")
            challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            if challenge.rstrip(b"=").decode() != pending["code_challenge"]:
                raise self._refuse(400, "invalid_grant", "PKCE")
            if pending["client_id"] != client_id:
                raise self._refuse(400, "invalid_grant", "code of another client")
            if pending.get("dpop_jkt") and pending["dpop_jkt"] != jkt:
                raise self._refuse(400, "invalid_grant", "code bound to another key")
            return _json(200, self._issue(jkt, pending.get("scope", "")))
        raise self._refuse(400, "unsupported_grant_type", f"grant {grant}")

    def revoke(self, form: dict[str, str]) -> Answer:
        self.check_client(form, {self.url, self.token_url, f"{self.url}/oauth2/revoke"})
        self.access_tokens.pop(form.get("token", ""), None)
        return 200, {}, b""

    def introspect(self, form: dict[str, str]) -> Answer:
        self.check_client(form, {self.url, self.token_url, f"{self.url}/oauth2/introspect"})
        bound = form.get("token", "") in self.access_tokens
        return _json(200, {"active": bound})

    def par(self, headers: dict[str, str], form: dict[str, str]) -> Answer:
        self.check_client(form, {self.url, self.token_url, self.par_url})
        jkt = self.check_proof(headers, "POST", self.par_url, nonce=self.token_nonce)
        if jkt is not None and form.get("dpop_jkt", jkt) != jkt:
            raise self._refuse(400, "invalid_request", "dpop_jkt is not the proof's key")
        if "request_uri" in form:
            raise self._refuse(400, "invalid_request", "request_uri in a pushed request")
        params = {
            name: value for name, value in form.items() if not name.startswith("client_assertion")
        }
        request_uri = f"urn:ietf:params:oauth:request_uri:{secrets.token_urlsafe(12)}"
        self.pushed[request_uri] = params
        return _json(201, {"request_uri": request_uri, "expires_in": self.par_expires_in})

    def authorize(self, query: dict[str, str]) -> Answer:
        request_uri = query.get("request_uri")
        if request_uri is None and self.require_par:
            raise self._refuse(400, "invalid_request", "only pushed requests are taken")
        params = self.pushed.pop(request_uri, None) if request_uri else dict(query)
        if params is None or params.get("client_id") != query.get("client_id"):
            raise self._refuse(400, "invalid_request_uri", "unknown request_uri")
        code = secrets.token_urlsafe(16)
        self.codes[code] = params
        location = (
            params["redirect_uri"]
            + "?"
            + urlencode({"code": code, "state": params["state"], "iss": self.url})
        )
        return 302, {"Location": location}, b""

    def resource(self, headers: dict[str, str]) -> Answer:
        self.resource_calls += 1
        authorization = headers.get("authorization", "")
        scheme, _, token = authorization.partition(" ")
        if token not in self.access_tokens:
            raise self._refuse(
                401,
                "invalid_token",
                "unknown token",
                **{"WWW-Authenticate": 'DPoP error="invalid_token"'},
            )
        bound = self.access_tokens[token]
        if bound is None:
            if scheme != "Bearer":
                raise self._refuse(401, "invalid_token", "bearer token sent as " + scheme)
            return _json(200, {"sub": "usr_01", "bound": False})
        if scheme != "DPoP":
            raise self._refuse(401, "invalid_token", "a DPoP token sent as " + scheme)
        jkt = self.check_proof(
            headers,
            "GET",
            self.resource_url,
            nonce=self.resource_nonce,
            access_token=token,
            status_for_nonce=401,
        )
        if jkt != bound:
            raise self._refuse(401, "invalid_token", "proof key is not the token's key")
        return _json(200, {"sub": "usr_01", "bound": True})

    def _routes(self) -> None:
        def wrap(handler: Any) -> Any:
            def route(h: http.server.BaseHTTPRequestHandler, body: bytes) -> Answer:
                headers = {name.lower(): value for name, value in h.headers.items()}
                with self._lock, warnings.catch_warnings():
                    # joserfc flags EdDSA as deprecated (RFC 9864); providers still use it.
                    warnings.simplefilter("ignore", SecurityWarning)
                    try:
                        return handler(headers, body, h.path)
                    except Refused as refused:
                        return refused.answer
                    except Exception as exc:  # a bug here: say so instead of hanging up
                        self.refusals.append(f"server error: {exc!r}")
                        return _json(500, {"error": "server_error"})

            return route

        def form_of(body: bytes) -> dict[str, str]:
            return dict(parse_qsl(body.decode(), keep_blank_values=True))

        routes = self.server.routes
        routes[("GET", "/.well-known/openid-configuration")] = wrap(
            lambda headers, body, path: _json(200, self.metadata())
        )
        routes[("GET", "/jwks")] = wrap(lambda headers, body, path: _json(200, {"keys": []}))
        routes[("POST", "/oauth2/revoke")] = wrap(
            lambda headers, body, path: self.revoke(form_of(body))
        )
        routes[("POST", "/oauth2/introspect")] = wrap(
            lambda headers, body, path: self.introspect(form_of(body))
        )
        routes[("POST", "/oauth2/token")] = wrap(
            lambda headers, body, path: self.token(headers, form_of(body))
        )
        routes[("POST", "/par")] = wrap(
            lambda headers, body, path: self.par(headers, form_of(body))
        )
        routes[("GET", "/authorize")] = wrap(
            lambda headers, body, path: self.authorize(
                dict(parse_qsl(path.partition("?")[2], keep_blank_values=True))
            )
        )
        routes[("GET", "/api/me")] = wrap(lambda headers, body, path: self.resource(headers))
