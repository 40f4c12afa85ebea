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
``none``                 ``client_id`` in the form body, no secret (a public     RFC 7591
                         client, e.g. refresh after PKCE)                        2
=======================  =====================================================  ============

Each method is a pure function from the grant parameters to the pieces of the request,
so a new one (``private_key_jwt``, say) is one more entry in ``CLIENT_AUTH_METHODS``.
``ClientSecretBasicAuth`` puts ``client_secret_basic``'s header on requests the client
sends through an ``httpx.AuthFlow`` (revocation and introspection, RFC 7009 and 7662).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Generator, Mapping
from typing import Final, Literal
from urllib.parse import quote_plus

import attrs
import httpx

from intelliauth_ext._secret import Secret

__all__ = [
    "CLIENT_AUTH_METHODS",
    "ClientAuthMethodName",
    "ClientSecretBasicAuth",
    "TokenRequestParts",
    "build_token_request",
    "client_secret_basic",
    "client_secret_json",
    "client_secret_post",
    "none",
]

ClientAuthMethodName = Literal[
    "client_secret_basic", "client_secret_post", "client_secret_json", "none"
]


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


ClientAuthMethod = Callable[[str, str | None, Mapping[str, str]], TokenRequestParts]


def _require_secret(method: str, client_secret: str | None) -> str:
    if not client_secret:
        raise ValueError(f"{method} needs a client_secret")
    return client_secret


def client_secret_basic(
    client_id: str, client_secret: str | None, params: Mapping[str, str]
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
    client_id: str, client_secret: str | None, params: Mapping[str, str]
) -> TokenRequestParts:
    """``client_id`` and ``client_secret`` as form fields (RFC 6749 section 2.3.1)."""
    secret = _require_secret("client_secret_post", client_secret)
    return TokenRequestParts(form={**params, "client_id": client_id, "client_secret": secret})


def client_secret_json(
    client_id: str, client_secret: str | None, params: Mapping[str, str]
) -> TokenRequestParts:
    """The grant, ``client_id`` and ``client_secret`` as one JSON object (Auth0-style)."""
    secret = _require_secret("client_secret_json", client_secret)
    return TokenRequestParts(json={**params, "client_id": client_id, "client_secret": secret})


def none(client_id: str, client_secret: str | None, params: Mapping[str, str]) -> TokenRequestParts:
    """A public client: ``client_id`` in the form body, no secret (RFC 7591 section 2)."""
    return TokenRequestParts(form={**params, "client_id": client_id})


CLIENT_AUTH_METHODS: Final[Mapping[str, ClientAuthMethod]] = {
    "client_secret_basic": client_secret_basic,
    "client_secret_post": client_secret_post,
    "client_secret_json": client_secret_json,
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
) -> httpx.Request:
    """The POST to the token endpoint for a grant's ``params``, with client authentication."""
    parts = client_auth_method(auth_method)(client_id, client_secret, params)
    headers = {"Accept": "application/json", **parts.headers}
    if parts.json is not None:
        return httpx.Request("POST", token_url, headers=headers, json=dict(parts.json))
    return httpx.Request("POST", token_url, headers=headers, data=dict(parts.form or {}))


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
