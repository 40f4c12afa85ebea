"""DPoP (RFC 9449) on the client side: the key, its proofs, and the servers' nonces.

::

    dpop = DPoPKey.generate("ES256")     # or DPoPKey.from_pem(...) / DPoPKey.from_jwk(...)
    auth = ClientCredentials(token_url, client_id, client_secret, dpop=dpop)

A proof (section 4.2) is a JWT signed by the key, one per HTTP request:

=========  ==================================================================
member     value
=========  ==================================================================
``typ``    ``dpop+jwt`` (header)
``jwk``    the public key (header); the token is bound to its thumbprint
``jti``    128 random bits, fresh for every proof
``htm``    the request's method
``htu``    the request's URL without query and fragment (section 4.2)
``iat``    now, in whole seconds
``ath``    base64url(SHA-256(access token)), on requests that carry a token
``nonce``  the server's latest ``DPoP-Nonce``, when it sent one (section 8)
=========  ==================================================================

Nonces. A server may demand a nonce: the token endpoint answers 400 with
``error=use_dpop_nonce`` (section 8), a resource server 401 with ``WWW-Authenticate:
DPoP error="use_dpop_nonce"`` (section 9), each with a ``DPoP-Nonce`` header. The request
is then sent once more with a new proof carrying the nonce. The key remembers the
latest nonce of each server (by origin: scheme, host and port), learnt from every
response's ``DPoP-Nonce`` header, so later proofs carry it from the start; a key shared by
the token manager and the client shares its nonces too. At most ``MAX_REMEMBERED_NONCES``
servers are remembered (the oldest forgotten first).
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final, Self

import httpx

from intelliauth_ext._signing_key import SigningKey

if TYPE_CHECKING:
    from intelliauth_ext._signing_key import _Key

__all__ = [
    "DPOP_PROOF_TYPE",
    "MAX_REMEMBERED_NONCES",
    "DPoPKey",
    "access_token_hash",
    "is_nonce_challenge",
    "proof_url",
]

#: The ``typ`` header of a DPoP proof (RFC 9449 section 4.2).
DPOP_PROOF_TYPE: Final = "dpop+jwt"
#: Servers whose nonce a key remembers (an attacker-controlled URL can not grow it).
MAX_REMEMBERED_NONCES: Final = 256
#: Longest ``DPoP-Nonce`` value kept; RFC 9449 section 8.1: ``1*NQCHAR``.
_MAX_NONCE_CHARS: Final = 1024
_NQCHAR: Final = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")
_USE_DPOP_NONCE: Final = re.compile(r'error\s*=\s*"?use_dpop_nonce"?', re.IGNORECASE)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def access_token_hash(access_token: str) -> str:
    """``ath``: base64url(SHA-256(the access token's ASCII)) (RFC 9449 section 4.2)."""
    return _b64url(hashlib.sha256(access_token.encode("ascii")).digest())


def _parsed(url: str | httpx.URL) -> httpx.URL:
    # A request's URL is parsed already: parsing it again costs as much as a signature.
    return url if isinstance(url, httpx.URL) else httpx.URL(url)


def _origin(url: httpx.URL) -> str:
    return f"{url.scheme}://{url.netloc.decode('ascii')}"


def proof_url(url: str | httpx.URL) -> str:
    """``htu``: the URL without query and fragment (RFC 9449 section 4.2), its path as sent."""
    parsed = _parsed(url)
    path = parsed.raw_path.partition(b"?")[0].decode("ascii")
    return f"{_origin(parsed)}{path}"


def is_nonce_challenge(response: httpx.Response) -> bool:
    """Whether a resource server's ``response`` demands a DPoP nonce (RFC 9449 section 9).

    A 401 whose ``WWW-Authenticate`` has a DPoP challenge with ``error="use_dpop_nonce"``
    and a ``DPoP-Nonce`` header (without one there is nothing to retry with). The token
    endpoint's demand, a 400 with an RFC 6749 body (section 8), is read by
    ``_auth._token_endpoint``, which reads token endpoint bodies.
    """
    if response.status_code != 401 or "dpop-nonce" not in response.headers:
        return False
    return any(
        challenge.strip().lower().startswith("dpop") and _USE_DPOP_NONCE.search(challenge)
        for challenge in response.headers.get_list("www-authenticate")
    )


class DPoPKey(SigningKey):
    """A DPoP key: signs the proofs that bind tokens to it; ``repr`` shows no key material.

    One key per client instance (or per fleet, loaded from your secret store): tokens
    issued to it are bound to its thumbprint ``jkt`` and useless without it. Make one
    with ``DPoPKey.generate("ES256")`` (also ``RS256``, ``PS256``, ``EdDSA``, ...),
    ``DPoPKey.from_pem(pem)`` or ``DPoPKey.from_jwk(jwk)``.

    The key also remembers each server's latest ``DPoP-Nonce`` (see the module
    docstring), so the token manager and the client that share it share those too.
    """

    __slots__ = ("_nonces",)
    _nonces: OrderedDict[str, str]

    def __init__(self, key: _Key, *, alg: str | None = None, kid: str | None = None) -> None:
        super().__init__(key, alg=alg, kid=kid)
        object.__setattr__(self, "_nonces", OrderedDict())

    @classmethod
    def generate(cls, alg: str = "ES256", *, kid: str | None = None) -> Self:
        """A new random DPoP key for ``alg`` (``ES256`` by default).

        Raises:
            ValueError: An unsupported ``alg``.
        """
        return super().generate(alg, kid=kid)

    @property
    def jkt(self) -> str:
        """The RFC 7638 thumbprint of the public key: ``dpop_jkt``, a token's ``cnf.jkt``."""
        return self.thumbprint

    def nonce_for(self, url: str | httpx.URL) -> str | None:
        """The latest ``DPoP-Nonce`` the server of ``url`` sent, or None."""
        return self._nonces.get(_origin(_parsed(url)))

    def learn_nonce(self, response: httpx.Response) -> str | None:
        """Remember ``response``'s ``DPoP-Nonce`` for its server; the nonce, or None.

        A value that is not ``1*NQCHAR`` (RFC 9449 section 8.1) or is over 1 KiB is
        ignored: it could not go into a proof's claim as the server meant it.
        """
        nonce: str | None = response.headers.get("dpop-nonce")
        if nonce is None or len(nonce) > _MAX_NONCE_CHARS or not _NQCHAR.fullmatch(nonce):
            return None
        origin = _origin(response.request.url)
        self._nonces[origin] = nonce
        self._nonces.move_to_end(origin)
        while len(self._nonces) > MAX_REMEMBERED_NONCES:
            self._nonces.popitem(last=False)
        return nonce

    def proof(
        self,
        method: str,
        url: str | httpx.URL,
        *,
        access_token: str | None = None,
        nonce: str | None = None,
        now: float | None = None,
    ) -> str:
        """A DPoP proof for one request (RFC 9449 section 4.2).

        Args:
            method: The HTTP method (``htm``).
            url: The request URL; ``htu`` is it without query and fragment.
            access_token: The token the request carries; its hash is ``ath``.
            nonce: The server's nonce; by default the one remembered for ``url``'s server.
            now: Unix time for ``iat`` (tests pass a fixed one).

        Returns:
            The compact JWS, the value of the ``DPoP`` header.
        """
        url = _parsed(url)
        claims: dict[str, Any] = {
            "jti": secrets.token_urlsafe(16),
            "htm": method.upper(),
            "htu": proof_url(url),
            "iat": int(time.time() if now is None else now),
        }
        if access_token is not None:
            claims["ath"] = access_token_hash(access_token)
        nonce = nonce if nonce is not None else self.nonce_for(url)
        if nonce is not None:
            claims["nonce"] = nonce
        header: Mapping[str, Any] = {"typ": DPOP_PROOF_TYPE, "jwk": self._public_jwk}
        return self.sign(claims, header=header)

    def sign_request(self, request: httpx.Request, *, access_token: str | None = None) -> None:
        """Set ``request``'s ``DPoP`` header to a fresh proof (and ``Authorization`` to
        ``DPoP <access_token>`` when a token is given, RFC 9449 section 7.1)."""
        if access_token is not None:
            request.headers["Authorization"] = f"DPoP {access_token}"
        request.headers["DPoP"] = self.proof(request.method, request.url, access_token=access_token)
