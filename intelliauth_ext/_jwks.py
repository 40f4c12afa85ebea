"""A JSON Web Key Set (RFC 7517 section 5) fetched once, cached, and re-fetched on demand.

The key set is fetched on first use and kept. A token whose ``kid`` is not in the cached
set may mean the provider rotated its keys, so the set is fetched again, but at most once
per ``min_refresh_interval`` seconds (counted from the start of the last fetch, successful
or not): a flood of tokens with made-up ``kid`` values costs the provider at most one
request a minute.

Fetches go through a ``SharedFetch`` (``_shared_fetch.py``): concurrent callers share one
fetch, each within its own deadline; a fetch takes at most ``fetch_timeout`` seconds; a
failure is remembered and answered without a request for 1, 2, 4 ... up to 60 s; and a
failed re-fetch never discards the last good key set, which goes on verifying tokens
signed with its keys throughout an outage.

The key chosen for a ``(kid, alg)`` is remembered until the set changes, so a token with
a known ``kid`` costs a dictionary lookup (``cached_key``), not a scan of the set; and
``generation`` counts the sets fetched, so that whoever caches what a key verified can
tell when the set it was verified under has been replaced.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any, Final

import httpx
from joserfc.errors import JoseError
from joserfc.jwk import JWKRegistry, Key
from joserfc.jws import JWSRegistry

from intelliauth_ext._clock import Clock, SystemClock
from intelliauth_ext._errors import (
    APIResponseValidationError,
    TokenValidationError,
    error_from_response,
    error_from_transport,
)
from intelliauth_ext._json import json_object
from intelliauth_ext._shared_fetch import (
    DEFAULT_FAILURE_BACKOFF,
    DEFAULT_FETCH_TIMEOUT,
    FailureBackoff,
    SharedFetch,
)
from intelliauth_ext._shown import shown
from intelliauth_ext._transports import MAX_AUTH_RESPONSE_BYTES, send_bounded

__all__ = ["DEFAULT_JWKS_REFRESH_INTERVAL", "JwksCache"]

DEFAULT_JWKS_REFRESH_INTERVAL: Final = 60.0
#: The smallest RSA key used (RFC 7518 section 3.3); smaller ones are skipped.
MIN_RSA_KEY_BITS: Final = 2048
# Distinct (kid, alg) pairs whose key is remembered; only pairs that found a key count.
_MAX_CHOSEN: Final = 64


def _key_matches(key: Key, *, kid: str | None, alg: str) -> bool:
    """Whether ``key`` may verify a JWS with this ``kid`` and ``alg`` (RFC 7517 section 4)."""
    if kid is not None and key.kid != kid:
        return False
    model = JWSRegistry.algorithms.get(alg)
    if model is None or key.key_type != model.key_type:
        return False
    use = key.get("use")
    if use is not None and use != "sig":
        return False
    key_alg = key.alg
    return key_alg is None or key_alg == alg


def _rsa_modulus_bits(n: object) -> int:
    """The size of a JWK's base64url ``n``; 0 when it is not one (the import refuses it)."""
    if not isinstance(n, str):
        return 0
    try:
        modulus = base64.urlsafe_b64decode(n + "=" * (-len(n) % 4))
    except ValueError:  # not base64, or not ASCII
        return 0
    return int.from_bytes(modulus, "big").bit_length()


def _never_used(raw_key: Mapping[str, Any]) -> bool:
    """A key this module would never verify with, told before importing it.

    Before, because joserfc warns (``SecurityWarning``) while importing such keys, and a
    warning turned into an error (``-W error``, pytest's ``filterwarnings``) would escape.
    """
    kty = raw_key.get("kty")
    if kty == "oct":
        return True  # a shared secret in a public key set: HMAC is refused (RFC 8725 2.1)
    # RFC 7518 sections 3.3 and 3.5: RS* and PS* keys are 2048 bits or larger.
    return kty == "RSA" and _rsa_modulus_bits(raw_key.get("n")) < MIN_RSA_KEY_BITS


def parse_jwks(document: Mapping[str, Any]) -> list[Key]:
    """The usable keys of a JWKS document; a key that can not be imported is skipped.

    RFC 7517 section 5 says to ignore keys of an unknown type; a malformed key is
    skipped as well, so one bad entry can not take every other key down with it, and
    so are symmetric keys and RSA keys under 2048 bits, which are never used.
    """
    raw_keys = document.get("keys")
    if not isinstance(raw_keys, list):
        return []
    keys: list[Key] = []
    for raw_key in raw_keys:
        if not isinstance(raw_key, dict) or _never_used(raw_key):
            continue
        try:
            key = JWKRegistry.import_key(raw_key)
        except (JoseError, ValueError, TypeError, KeyError):
            continue
        keys.append(key)
    return keys


class JwksCache:
    """The key set at ``jwks_uri``, cached, with rate-limited re-fetches for unknown keys.

    Args:
        jwks_uri: Where the key set lives.
        http_client: The client to fetch with; a short-lived one per fetch when None.
        min_refresh_interval: The least number of seconds between two fetches triggered by
            an unknown ``kid``.
        clock: Its ``monotonic()`` times the re-fetch limit and the failure backoff.
        fetch_timeout: Seconds one fetch may take in all.
        failure_backoff: How long a failed fetch is answered without a request.
    """

    def __init__(
        self,
        jwks_uri: str,
        *,
        http_client: httpx.AsyncClient | None = None,
        min_refresh_interval: float = DEFAULT_JWKS_REFRESH_INTERVAL,
        clock: Clock | None = None,
        fetch_timeout: float = DEFAULT_FETCH_TIMEOUT,
        failure_backoff: FailureBackoff = DEFAULT_FAILURE_BACKOFF,
    ) -> None:
        self.jwks_uri = jwks_uri
        self.min_refresh_interval = min_refresh_interval
        self._http_client = http_client
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._keys: Sequence[Key] | None = None
        self._generation = 0
        # (kid, alg) -> the key _select chose in the current set; emptied with each new set.
        self._chosen: dict[tuple[str | None, str], Key] = {}
        self._fetcher = SharedFetch(
            self._fetch,
            url=jwks_uri,
            clock=self._clock,
            timeout=fetch_timeout,
            backoff=failure_backoff,
        )

    def __repr__(self) -> str:
        cached = "not fetched" if self._keys is None else f"{len(self._keys)} keys"
        return f"JwksCache({self.jwks_uri!r}, {cached})"

    @property
    def fetch_count(self) -> int:
        """How many times the key set was fetched successfully."""
        return self._generation

    @property
    def generation(self) -> int:
        """The number of the key set in use: it grows by one with each set fetched."""
        return self._generation

    def cached_key(self, kid: str | None, alg: str) -> Key | None:
        """The key ``find_key`` found for this ``kid`` and ``alg`` in the current set, if any.

        No fetch and no scan: None means "ask ``find_key``", not "no such key".
        """
        return self._chosen.get((kid, alg))

    @property
    def attempt_count(self) -> int:
        """How many fetches were started, failed ones included."""
        return self._fetcher.attempts

    async def find_key(self, *, kid: str | None, alg: str) -> Key:
        """The key that verifies a JWS with this header, re-fetching once if unknown.

        Args:
            kid: The JWS header's ``kid``, if any.
            alg: The JWS header's ``alg`` (already checked against the allow-list).

        Returns:
            The key.

        Raises:
            TokenValidationError: ``check == "key"``: no such key, even after a re-fetch,
                or no ``kid`` while several keys would fit.
            APIConnectionError, APIStatusError, APIResponseValidationError: The key set
                could not be fetched (now, or a moment ago and the failure's wait is not
                over) and no key set is cached, or the re-fetch for an unknown ``kid``
                failed.
        """
        keys = self._keys
        if keys is None:
            keys = await self._fetcher.run()
        key = self._select(keys, kid=kid, alg=alg)
        if key is None:
            newer = await self._keys_after_unknown_kid(keys)
            if newer is not None:
                key = self._select(newer, kid=kid, alg=alg)
        if key is None:
            described = f"kid {shown(kid)}" if kid is not None else "no kid"
            raise TokenValidationError(
                "key", f"the provider's key set has no {alg} signing key for {described}"
            )
        if self._keys is not None and key in self._keys and len(self._chosen) < _MAX_CHOSEN:
            # Only keys of the set in use, and a bounded number of (kid, alg) pairs: the
            # pairs come from tokens, so a flood of made-up ones must not grow this.
            self._chosen[(kid, alg)] = key
        return key

    async def _keys_after_unknown_kid(self, seen: Sequence[Key]) -> Sequence[Key] | None:
        """A key set newer than ``seen``: fetched by another task, or now; None if limited."""
        if self._keys is not seen and self._keys is not None:
            return self._keys  # another task fetched while this one looked
        if not self._fetcher.in_flight:
            last = self._fetcher.last_attempt
            recent = last is not None and (
                self._clock.monotonic() - last < self.min_refresh_interval
            )
            if recent or self._fetcher.backing_off():
                return None
        return await self._fetcher.run()

    @staticmethod
    def _select(keys: Sequence[Key], *, kid: str | None, alg: str) -> Key | None:
        candidates = [key for key in keys if _key_matches(key, kid=kid, alg=alg)]
        if kid is None and len(candidates) > 1:
            # OIDC Core section 10.1: with several keys in the set, the kid is required.
            raise TokenValidationError(
                "key", f"the token has no kid and the key set holds {len(candidates)} {alg} keys"
            )
        return candidates[0] if candidates else None

    async def _fetch(self) -> Sequence[Key]:
        """GET the key set; only a complete, parsed set replaces the cached one."""
        if self._http_client is not None:
            response = await self._get(self._http_client)
        else:
            timeout = httpx.Timeout(self._fetcher.timeout)
            async with httpx.AsyncClient(timeout=timeout) as client:
                response = await self._get(client)
        if not response.is_success:
            raise error_from_response(response, oauth=False)
        document = json_object(response.content)
        if document is None:
            raise APIResponseValidationError(
                f"the key set at {shown(self.jwks_uri)} is not a JSON object", response=response
            )
        keys = parse_jwks(document)
        if not keys:
            raise APIResponseValidationError(
                f"the key set at {shown(self.jwks_uri)} holds no usable key", response=response
            )
        self._keys = tuple(keys)
        self._chosen = {}
        self._generation += 1
        return self._keys

    async def _get(self, client: httpx.AsyncClient) -> httpx.Response:
        headers = {"accept": "application/jwk-set+json, application/json"}
        request = client.build_request("GET", self.jwks_uri, headers=headers)
        try:
            return await send_bounded(client, request, max_bytes=MAX_AUTH_RESPONSE_BYTES)
        except httpx.RequestError as exc:
            raise error_from_transport(exc, request) from exc
