"""Client authentication at the token endpoint: a small registry keyed by RFC names.

=======================  =====================================================  ============
name                     where the credentials go                               defined in
=======================  =====================================================  ============
``client_secret_basic``  ``Authorization: Basic`` of the form-urlencoded id      RFC 6749
                         and secret; the grant in a form body                    2.3.1
``client_secret_post``   ``client_id`` and ``client_secret`` in the form body    RFC 6749
                                                                                2.3.1
``client_secret_json``   the grant, id and secret as one JSON object (Auth0-     (provider
                         style token endpoints)                                  practice)
``client_secret_jwt``    a JWT signed with the secret (HS256) as                RFC 7523
                         ``client_assertion`` in the form body                  2.2, OIDC
                                                                                Core 9
``private_key_jwt``      a JWT signed with the client's private key (RS256,      RFC 7523
                         PS256, ES256, EdDSA ...) as ``client_assertion``        2.2, OIDC
                                                                                Core 9
``none``                 ``client_id`` in the form body, no secret (a public     RFC 7591
                         client, e.g. refresh after PKCE)                        2
=======================  =====================================================  ============

The assertion of the two JWT methods: ``iss`` = ``sub`` = the client id, ``aud`` the
token endpoint URL (``assertion_audience`` overrides it: FAPI 2.0 and some providers want
the issuer), a fresh random ``jti`` (servers refuse a replayed one), ``iat`` now and ``exp``
``ASSERTION_LIFETIME`` (60 s) later; a new one for every request, retries included.

Each method is a function from the grant parameters (and, for the JWT methods, an
``AssertionContext``) to the pieces of the request, so a new one is one more entry in
``CLIENT_AUTH_METHODS``. ``ClientAuth`` is a client's credentials with their method: what
every token, PAR, revocation and introspection request of the SDK is built from
(``ClientAuth.request``). ``ClientSecretBasicAuth`` and ``ClientFormAuth`` put a client's
credentials on requests sent through an ``httpx.Auth`` flow (revocation and introspection
through the generated operations, RFC 7009 and 7662).
"""

from __future__ import annotations

import base64
import secrets
import time
import warnings
from collections.abc import Generator, Mapping
from typing import TYPE_CHECKING, Final, Literal, Protocol
from urllib.parse import parse_qsl, quote_plus

import attrs
import httpx

from intelliauth_ext._secret import Secret
from intelliauth_ext._signing_key import PrivateKeyInput, SigningKey, load_signing_key

if TYPE_CHECKING:
    from intelliauth_ext._dpop import DPoPKey

__all__ = [
    "ASSERTION_LIFETIME",
    "CLIENT_ASSERTION_TYPE",
    "CLIENT_AUTH_METHODS",
    "AssertionContext",
    "ClientAuth",
    "ClientAuthMethodName",
    "ClientFormAuth",
    "ClientSecretBasicAuth",
    "TokenRequestParts",
    "build_token_request",
    "client_secret_basic",
    "client_secret_json",
    "client_secret_jwt",
    "client_secret_post",
    "none",
    "private_key_jwt",
]

ClientAuthMethodName = Literal[
    "client_secret_basic",
    "client_secret_post",
    "client_secret_json",
    "client_secret_jwt",
    "private_key_jwt",
    "none",
]

#: ``client_assertion_type`` of a JWT client assertion (RFC 7523 section 2.2).
CLIENT_ASSERTION_TYPE: Final = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#: Seconds from ``iat`` to ``exp`` of a client assertion: it is used at once, once.
ASSERTION_LIFETIME: Final = 60
_JWT_METHODS: Final = frozenset({"client_secret_jwt", "private_key_jwt"})
_SECRET_METHODS: Final = frozenset(
    {"client_secret_basic", "client_secret_post", "client_secret_json", "client_secret_jwt"}
)


@attrs.frozen(repr=False)
class TokenRequestParts:
    """What a client-auth method contributes to a token request (never shown by ``repr``).

    Attributes:
        headers: Extra headers (``Authorization`` for Basic).
        form: A form body, or None.
        json: A JSON body, or None.
    """

    headers: Mapping[str, str] = attrs.field(factory=dict)
    form: Mapping[str, str] | None = None
    json: Mapping[str, str] | None = None

    def __repr__(self) -> str:
        body = "form" if self.form is not None else "json"
        return f"TokenRequestParts(<{body} body, {len(self.headers)} extra headers>)"


@attrs.frozen(repr=False)
class AssertionContext:
    """What a JWT client assertion needs besides the client id and secret.

    Attributes:
        audience: The assertion's ``aud`` (the token endpoint URL, or the issuer).
        private_key: The client's key (``private_key_jwt``); None for ``client_secret_jwt``.
        now: Unix time for ``iat`` and ``exp``; the system clock when None.
    """

    audience: str
    private_key: SigningKey | None = None
    now: float | None = None

    def __repr__(self) -> str:
        return f"AssertionContext(audience={self.audience!r}, private_key={self.private_key!r})"

    def claims(self, client_id: str) -> dict[str, object]:
        """The claims of one assertion (RFC 7523 section 3), with a fresh ``jti``."""
        issued_at = int(time.time() if self.now is None else self.now)
        return {
            "iss": client_id,
            "sub": client_id,
            "aud": self.audience,
            "jti": secrets.token_urlsafe(16),
            "iat": issued_at,
            "exp": issued_at + ASSERTION_LIFETIME,
        }


class ClientAuthMethod(Protocol):
    """A client-auth method: the grant's parameters in, the request's pieces out."""

    def __call__(
        self,
        client_id: str,
        client_secret: str | None,
        params: Mapping[str, str],
        context: AssertionContext | None = None,
        /,
    ) -> TokenRequestParts:
        """The pieces of a request authenticating ``client_id`` (see the module table)."""
        ...


def _require_secret(method: str, client_secret: str | None) -> str:
    if not client_secret:
        raise ValueError(f"{method} needs a client_secret")
    return client_secret


def _require_context(method: str, context: AssertionContext | None) -> AssertionContext:
    if context is None:
        raise ValueError(f"{method} needs an assertion audience (the token endpoint URL)")
    return context


def client_secret_basic(
    client_id: str,
    client_secret: str | None,
    params: Mapping[str, str],
    context: AssertionContext | None = None,
) -> TokenRequestParts:
    """HTTP Basic with the id and secret form-urlencoded first (RFC 6749 section 2.3.1).

    The encoding step matters: a secret holding ``:``, ``+``, ``%`` or a space would
    otherwise be read back as something else by a conforming server.
    """
    secret = _require_secret("client_secret_basic", client_secret)
    pair = f"{quote_plus(client_id, safe='')}:{quote_plus(secret, safe='')}"
    encoded = base64.b64encode(pair.encode("utf-8")).decode("ascii")
    return TokenRequestParts(headers={"Authorization": f"Basic {encoded}"}, form=dict(params))


def client_secret_post(
    client_id: str,
    client_secret: str | None,
    params: Mapping[str, str],
    context: AssertionContext | None = None,
) -> TokenRequestParts:
    """``client_id`` and ``client_secret`` as form fields (RFC 6749 section 2.3.1)."""
    secret = _require_secret("client_secret_post", client_secret)
    return TokenRequestParts(form={**params, "client_id": client_id, "client_secret": secret})


def client_secret_json(
    client_id: str,
    client_secret: str | None,
    params: Mapping[str, str],
    context: AssertionContext | None = None,
) -> TokenRequestParts:
    """The grant, ``client_id`` and ``client_secret`` as one JSON object (Auth0-style)."""
    secret = _require_secret("client_secret_json", client_secret)
    return TokenRequestParts(json={**params, "client_id": client_id, "client_secret": secret})


def _assertion_form(client_id: str, params: Mapping[str, str], assertion: str) -> dict[str, str]:
    return {
        **params,
        "client_id": client_id,
        "client_assertion_type": CLIENT_ASSERTION_TYPE,
        "client_assertion": assertion,
    }


def client_secret_jwt(
    client_id: str,
    client_secret: str | None,
    params: Mapping[str, str],
    context: AssertionContext | None = None,
) -> TokenRequestParts:
    """A JWT signed with the secret (HS256) as the client assertion (RFC 7523 section 2.2)."""
    from joserfc import jwt
    from joserfc.errors import SecurityWarning
    from joserfc.jwk import OctKey

    secret = _require_secret("client_secret_jwt", client_secret)
    context = _require_context("client_secret_jwt", context)
    with warnings.catch_warnings():
        # joserfc warns about secrets shorter than the hash; the provider chose the secret.
        warnings.simplefilter("ignore", SecurityWarning)
        key = OctKey.import_key(secret)
        assertion = jwt.encode({"alg": "HS256"}, context.claims(client_id), key)
    return TokenRequestParts(form=_assertion_form(client_id, params, assertion))


def private_key_jwt(
    client_id: str,
    client_secret: str | None,
    params: Mapping[str, str],
    context: AssertionContext | None = None,
) -> TokenRequestParts:
    """A JWT signed with the client's private key as the client assertion (RFC 7523 2.2)."""
    context = _require_context("private_key_jwt", context)
    if context.private_key is None:
        raise ValueError("private_key_jwt needs a private_key")
    assertion = context.private_key.sign(context.claims(client_id))
    return TokenRequestParts(form=_assertion_form(client_id, params, assertion))


def none(
    client_id: str,
    client_secret: str | None,
    params: Mapping[str, str],
    context: AssertionContext | None = None,
) -> TokenRequestParts:
    """A public client: ``client_id`` in the form body, no secret (RFC 7591 section 2)."""
    return TokenRequestParts(form={**params, "client_id": client_id})


CLIENT_AUTH_METHODS: Final[Mapping[str, ClientAuthMethod]] = {
    "client_secret_basic": client_secret_basic,
    "client_secret_post": client_secret_post,
    "client_secret_json": client_secret_json,
    "client_secret_jwt": client_secret_jwt,
    "private_key_jwt": private_key_jwt,
    "none": none,
}


def client_auth_method(name: str) -> ClientAuthMethod:
    """The method registered as ``name``.

    Raises:
        ValueError: No method has that name (the message lists the known ones).
    """
    try:
        return CLIENT_AUTH_METHODS[name]
    except KeyError:
        known = ", ".join(sorted(CLIENT_AUTH_METHODS))
        raise ValueError(f"unknown auth_method {name!r}; known methods: {known}") from None


def build_token_request(
    token_url: httpx.URL,
    *,
    auth_method: str,
    client_id: str,
    client_secret: str | None,
    params: Mapping[str, str],
    private_key: SigningKey | None = None,
    assertion_audience: str | None = None,
    dpop: DPoPKey | None = None,
) -> httpx.Request:
    """The POST to the token endpoint for a grant's ``params``, with client authentication.

    Args:
        token_url: Where the request goes (a token, PAR, revocation or introspection
            endpoint).
        auth_method: A ``CLIENT_AUTH_METHODS`` name.
        client_id: The client id.
        client_secret: The secret of the secret-based methods.
        params: The request's own parameters.
        private_key: The key of ``private_key_jwt``.
        assertion_audience: The ``aud`` of a JWT assertion; ``token_url`` by default.
        dpop: Add a ``DPoP`` proof header made with this key (RFC 9449 section 5).
    """
    context = AssertionContext(
        audience=assertion_audience or str(token_url), private_key=private_key
    )
    parts = client_auth_method(auth_method)(client_id, client_secret, params, context)
    headers = {"Accept": "application/json", **parts.headers}
    if dpop is not None:
        headers["DPoP"] = dpop.proof("POST", token_url)
    if parts.json is not None:
        return httpx.Request("POST", token_url, headers=headers, json=dict(parts.json))
    return httpx.Request("POST", token_url, headers=headers, data=dict(parts.form or {}))


@attrs.frozen(repr=False)
class ClientAuth:
    """A client's credentials and how it presents them; ``repr`` shows no secret nor key.

    Make one with ``ClientAuth.create``, which checks the combination.

    Attributes:
        method: The ``CLIENT_AUTH_METHODS`` name.
        client_id: The client id.
        client_secret: The secret (secret-based methods), as a ``Secret``.
        private_key: The key (``private_key_jwt``).
        assertion_audience: The ``aud`` of JWT assertions; the endpoint's URL when None.
    """

    method: str
    client_id: str
    client_secret: Secret | None = None
    private_key: SigningKey | None = None
    assertion_audience: str | None = None

    @classmethod
    def create(
        cls,
        *,
        client_id: str,
        client_secret: str | None = None,
        private_key: PrivateKeyInput | None = None,
        key_id: str | None = None,
        auth_method: str | None = None,
        assertion_audience: str | None = None,
        default_method: str = "client_secret_post",
    ) -> ClientAuth:
        """Check and hold a client's credentials.

        The method, when not given: ``private_key_jwt`` with a ``private_key``,
        ``default_method`` with a secret, else ``none``.

        Raises:
            ValueError: An empty ``client_id``, an unknown method, a secret-based method
                without a secret, ``private_key_jwt`` without a key, a key given with
                another method, ``key_id`` without a key, or a key that can not sign
                (never with the key in the message).
            TypeError: A ``private_key`` that is not a PEM, JWK or ``SigningKey``.
        """
        if not client_id:
            raise ValueError("client_id must not be empty")
        if key_id is not None and private_key is None:
            raise ValueError("key_id names the private_key; pass private_key= too")
        if auth_method is None:
            if private_key is not None:
                auth_method = "private_key_jwt"
            elif client_secret:
                auth_method = default_method
            else:
                auth_method = "none"
        client_auth_method(auth_method)  # raises ValueError listing the known methods
        if auth_method in _SECRET_METHODS and not client_secret:
            raise ValueError(f"auth_method {auth_method!r} needs a client_secret")
        if auth_method == "private_key_jwt" and private_key is None:
            raise ValueError("auth_method 'private_key_jwt' needs a private_key")
        if private_key is not None and auth_method != "private_key_jwt":
            raise ValueError(f"a private_key is for private_key_jwt, not {auth_method!r}")
        return cls(
            method=auth_method,
            client_id=client_id,
            client_secret=Secret(client_secret) if client_secret else None,
            private_key=(
                load_signing_key(private_key, key_id=key_id) if private_key is not None else None
            ),
            assertion_audience=assertion_audience,
        )

    @property
    def uses_assertion(self) -> bool:
        """Whether the method sends a JWT client assertion."""
        return self.method in _JWT_METHODS

    def request(
        self,
        url: str | httpx.URL,
        params: Mapping[str, str],
        *,
        dpop: DPoPKey | None = None,
        assertion_audience: str | None = None,
    ) -> httpx.Request:
        """The POST of ``params`` to ``url``, authenticated as this client (a fresh
        assertion and DPoP proof each time it is called).

        Args:
            url: The endpoint.
            params: The request's parameters.
            dpop: Add a DPoP proof made with this key.
            assertion_audience: The assertion's ``aud`` for this request, when the
                client has none set; ``url`` by default.
        """
        return build_token_request(
            httpx.URL(str(url)),
            auth_method=self.method,
            client_id=self.client_id,
            client_secret=self.client_secret.reveal() if self.client_secret else None,
            params=params,
            private_key=self.private_key,
            assertion_audience=self.assertion_audience or assertion_audience,
            dpop=dpop,
        )

    def secret_digest(self, context: bytes) -> str:
        """An HMAC-SHA256 of ``context`` keyed by the secret or private key ("" for none)."""
        import hashlib
        import hmac

        if self.private_key is not None:
            return self.private_key.secret_digest(context)
        if self.client_secret is not None:
            secret = self.client_secret.reveal().encode()
            return hmac.new(secret, context, hashlib.sha256).hexdigest()
        return ""

    def __repr__(self) -> str:
        credential = (
            f"private_key={self.private_key!r}"
            if self.private_key is not None
            else f"client_secret={'[REDACTED]' if self.client_secret else None!r}"
        )
        return f"ClientAuth(method={self.method!r}, client_id={self.client_id!r}, {credential})"


class ClientSecretBasicAuth(httpx.Auth):
    """Authenticates each request as the client, with ``client_secret_basic``'s header.

    For endpoints that take the client's own credentials rather than a token (RFC 7009
    section 2.1, RFC 7662 section 2.1). ``repr`` never shows the secret.

    Args:
        client_id: The client id.
        client_secret: The client secret.

    Raises:
        ValueError: An empty ``client_secret``.
    """

    def __init__(self, client_id: str, client_secret: str) -> None:
        self._client_id = client_id
        # The header value is the secret, base64-encoded: kept as a Secret (vars() shows none).
        header = client_secret_basic(client_id, client_secret, {}).headers["Authorization"]
        self._authorization = Secret(header)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Send ``request`` with the ``Authorization: Basic`` header of the client."""
        request.headers["Authorization"] = self._authorization.reveal()
        yield request

    def __repr__(self) -> str:
        return f"ClientSecretBasicAuth(client_id={self._client_id!r}, client_secret='[REDACTED]')"


class ClientFormAuth(httpx.Auth):
    """Authenticates a form POST as the client with any method, the JWT ones included.

    The request's form body gets the method's fields (``client_assertion`` ...) and the
    request the method's headers; for requests that take the client's own credentials
    and are built elsewhere (the generated revocation and introspection operations).

    Args:
        client: The client's credentials.
        assertion_audience: The ``aud`` of its assertions when the client sets none (the
            token endpoint URL, say); the request URL when None.
    """

    def __init__(self, client: ClientAuth, *, assertion_audience: str | None = None) -> None:
        self._client = client
        self._audience = assertion_audience

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Send ``request`` with the client's credentials added to its form body."""
        params = dict(parse_qsl(request.read().decode("utf-8"), keep_blank_values=True))
        signed = self._client.request(request.url, params, assertion_audience=self._audience)
        headers = httpx.Headers(request.headers)
        for name in ("content-length", "content-type"):
            headers.pop(name, None)
        headers.update({name: signed.headers[name] for name in signed.headers if name != "host"})
        yield httpx.Request(
            request.method,
            request.url,
            headers=headers,
            content=signed.read(),
            extensions=request.extensions,
        )

    def __repr__(self) -> str:
        return f"ClientFormAuth({self._client!r})"
