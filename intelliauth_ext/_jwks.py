"""A JSON Web Key Set (RFC 7517 section 5) fetched once, cached, and re-fetched on demand.

The key set is fetched on first use and kept. A token whose ``kid`` is not in the cached
set may mean the provider rotated its keys, so the set is fetched again, but at most once
per ``min_refresh_interval`` seconds (counted from the last fetch attempt, successful or
not) and by one task at a time: concurrent callers wait for that one fetch and then look
again. A flood of tokens with made-up ``kid`` values thus costs the provider at most one
request a minute.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

import anyio
import httpx
from joserfc.errors import JoseError
from joserfc.jwk import JWKRegistry, Key
from joserfc.jws import JWSRegistry

from intelliauth_ext._errors import (
    APIResponseValidationError,
    TokenValidationError,
    error_from_response,
    error_from_transport,
)
from intelliauth_ext._json import json_object

__all__ = ["DEFAULT_JWKS_REFRESH_INTERVAL", "JwksCache"]

DEFAULT_JWKS_REFRESH_INTERVAL: Final = 60.0
_FETCH_TIMEOUT: Final = httpx.Timeout(10.0)


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


def parse_jwks(document: Mapping[str, Any]) -> list[Key]:
    """The usable keys of a JWKS document; a key that can not be imported is skipped.

    RFC 7517 section 5 says to ignore keys of an unknown type; a malformed key is
    skipped as well, so one bad entry can not take every other key down with it.
    """
    raw_keys = document.get("keys")
    if not isinstance(raw_keys, list):
        return []
    keys: list[Key] = []
    for raw_key in raw_keys:
        if not isinstance(raw_key, dict):
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
        monotonic: A monotonic clock, for tests.
    """

    def __init__(
        self,
        jwks_uri: str,
        *,
        http_client: httpx.AsyncClient | None = None,
        min_refresh_interval: float = DEFAULT_JWKS_REFRESH_INTERVAL,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.jwks_uri = jwks_uri
        self.min_refresh_interval = min_refresh_interval
        self._http_client = http_client
        self._monotonic = monotonic
        self._keys: Sequence[Key] | None = None
        self._last_attempt: float | None = None
        self._generation = 0
        self._lock = anyio.Lock()

    def __repr__(self) -> str:
        cached = "not fetched" if self._keys is None else f"{len(self._keys)} keys"
        return f"JwksCache({self.jwks_uri!r}, {cached})"

    @property
    def fetch_count(self) -> int:
        """How many times the key set was fetched successfully."""
        return self._generation

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
                could not be fetched at all.
        """
        keys, generation = await self._current_keys()
        key = self._select(keys, kid=kid, alg=alg)
        if key is None and await self._refresh_after(generation):
            keys, _ = await self._current_keys()
            key = self._select(keys, kid=kid, alg=alg)
        if key is None:
            described = f"kid {kid!r}" if kid is not None else "no kid"
            raise TokenValidationError(
                "key", f"the provider's key set has no {alg} signing key for {described}"
            )
        return key

    @staticmethod
    def _select(keys: Sequence[Key], *, kid: str | None, alg: str) -> Key | None:
        candidates = [key for key in keys if _key_matches(key, kid=kid, alg=alg)]
        if kid is None and len(candidates) > 1:
            # OIDC Core section 10.1: with several keys in the set, the kid is required.
            raise TokenValidationError(
                "key", f"the token has no kid and the key set holds {len(candidates)} {alg} keys"
            )
        return candidates[0] if candidates else None

    async def _current_keys(self) -> tuple[Sequence[Key], int]:
        keys = self._keys
        if keys is not None:
            return keys, self._generation
        async with self._lock:
            if self._keys is None:
                await self._fetch()
            assert self._keys is not None
            return self._keys, self._generation

    async def _refresh_after(self, seen_generation: int) -> bool:
        """Fetch again unless rate-limited; True when a newer key set than the one seen exists."""
        async with self._lock:
            if self._generation != seen_generation:
                return True  # another task fetched while we waited: single flight
            last = self._last_attempt
            if last is not None and self._monotonic() - last < self.min_refresh_interval:
                return False
            await self._fetch()
            return True

    async def _fetch(self) -> None:
        """GET the key set; only a complete, parsed set replaces the cached one."""
        self._last_attempt = self._monotonic()
        if self._http_client is not None:
            response = await self._get(self._http_client)
        else:
            async with httpx.AsyncClient(timeout=_FETCH_TIMEOUT) as client:
                response = await self._get(client)
        if not response.is_success:
            raise error_from_response(response, oauth=False)
        document = json_object(response.content)
        if document is None:
            raise APIResponseValidationError(
                f"the key set at {self.jwks_uri} is not a JSON object", response=response
            )
        keys = parse_jwks(document)
        if not keys:
            raise APIResponseValidationError(
                f"the key set at {self.jwks_uri} holds no usable key", response=response
            )
        self._keys = tuple(keys)
        self._generation += 1

    async def _get(self, client: httpx.AsyncClient) -> httpx.Response:
        headers = {"accept": "application/jwk-set+json, application/json"}
        request = client.build_request("GET", self.jwks_uri, headers=headers)
        try:
            return await client.send(request)
        except httpx.RequestError as exc:
            raise error_from_transport(exc, request) from exc
