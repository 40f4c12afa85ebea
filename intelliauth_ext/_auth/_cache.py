"""``TokenCache``: where client-credentials tokens are kept, and ``CacheKey``, what names one.

A token manager keeps the token it uses in memory (with a monotonic deadline); the cache is
the layer below, shared by every manager given the same cache: several clients in one
process (``InMemoryTokenCache``) or a whole fleet (``RedisTokenCache``). Its one subtle
operation is ``get_or_fetch``: a cache that is shared must also share the *refresh*, so
that a fleet whose token expires asks the token endpoint once, not once per process.

A ``CacheKey`` names a token by what the token *is*: token URL, client id, audience and
sorted scopes, plus fingerprints (never the values) of the secret and the extra
parameters. The secret's fingerprint is an HMAC-SHA256 keyed by the secret over the
other fields: two processes with the same credentials compute the same key, a process
with a wrong or revoked secret does not ride on a token it could not have obtained, and
nothing stored in the cache reveals the secret.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Protocol, runtime_checkable

import attrs

from intelliauth_ext._auth._access_token import AccessToken
from intelliauth_ext._scopes import normalise_scopes

__all__ = ["CacheKey", "TokenCache"]


@attrs.frozen
class CacheKey:
    """What a cached token is for (``repr`` shows no fingerprint).

    Attributes:
        token_url: The token endpoint.
        client_id: The client.
        audience: The requested audience, if any.
        scopes: The requested scopes, sorted and without repeats.
        secret_fingerprint: HMAC-SHA256 of the other fields keyed by the client secret.
        params_fingerprint: SHA-256 of the sorted extra token-request parameters.
    """

    token_url: str
    client_id: str
    audience: str | None = None
    scopes: tuple[str, ...] = attrs.field(default=(), converter=normalise_scopes)
    secret_fingerprint: str = attrs.field(default="", repr=False)
    params_fingerprint: str = attrs.field(default="", repr=False)

    @classmethod
    def for_client(
        cls,
        *,
        token_url: str,
        client_id: str,
        client_secret: str,
        audience: str | None = None,
        scopes: Iterable[str] = (),
        extra_params: Mapping[str, str] | None = None,
    ) -> CacheKey:
        """The key for a client-credentials manager, its secret reduced to a fingerprint."""
        sorted_scopes = normalise_scopes(scopes)
        context = json.dumps([token_url, client_id, audience, sorted_scopes]).encode()
        secret_fingerprint = hmac.new(client_secret.encode(), context, hashlib.sha256)
        params = json.dumps(sorted((extra_params or {}).items())).encode()
        return cls(
            token_url=token_url,
            client_id=client_id,
            audience=audience,
            scopes=sorted_scopes,
            secret_fingerprint=secret_fingerprint.hexdigest(),
            params_fingerprint=hashlib.sha256(params).hexdigest() if extra_params else "",
        )

    def digest(self) -> str:
        """A stable hex name for this key, the same in every process (for shared caches)."""
        canonical = json.dumps(
            [
                self.token_url,
                self.client_id,
                self.audience,
                list(self.scopes),
                self.secret_fingerprint,
                self.params_fingerprint,
            ]
        )
        return hashlib.sha256(canonical.encode()).hexdigest()


@runtime_checkable
class TokenCache(Protocol):
    """A store of access tokens that can also make concurrent refreshes into one."""

    async def get(self, key: CacheKey) -> AccessToken | None:
        """The token stored under ``key``, or None (expired entries may still be returned)."""
        ...

    async def set(self, key: CacheKey, token: AccessToken) -> None:
        """Store ``token`` under ``key``, replacing any other."""
        ...

    async def discard(self, key: CacheKey, token: AccessToken) -> None:
        """Remove the entry under ``key`` only if it still holds ``token`` (compare-and-delete).

        A token that failed with a 401 is discarded this way, so a late 401 for an old
        token can not throw away the new one someone already stored.
        """
        ...

    async def get_or_fetch(
        self,
        key: CacheKey,
        fetch: Callable[[], Awaitable[AccessToken]],
        usable: Callable[[AccessToken], bool],
    ) -> AccessToken:
        """A stored token that is ``usable``, or the result of ``fetch()``, stored.

        Concurrent calls for one key (from this process, or, for a shared cache, from any
        process) must cause one ``fetch`` between them where they can. A ``fetch`` that
        raises or is cancelled must leave the stored entry as it was.
        """
        ...
