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
nothing stored in the cache reveals the secret. A ``private_key_jwt`` client's fingerprint
is keyed by its private key the same way.

A DPoP-bound token (RFC 9449) is bound to one key: the key's thumbprint ``dpop_jkt`` is
part of the key, so two managers with different DPoP keys never share a token (the other
key's proofs would not match the token's ``cnf.jkt``), nor a DPoP manager a Bearer one.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import attrs

from intelliauth_ext._auth._access_token import AccessToken
from intelliauth_ext._scopes import normalise_scopes

if TYPE_CHECKING:
    from intelliauth_ext._signing_key import SigningKey

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
        dpop_jkt: The thumbprint of the DPoP key tokens are bound to; "" for Bearer.
    """

    token_url: str
    client_id: str
    audience: str | None = None
    scopes: tuple[str, ...] = attrs.field(default=(), converter=normalise_scopes)
    secret_fingerprint: str = attrs.field(default="", repr=False)
    params_fingerprint: str = attrs.field(default="", repr=False)
    dpop_jkt: str = ""

    @classmethod
    def for_client(
        cls,
        *,
        token_url: str,
        client_id: str,
        client_secret: str | None = None,
        private_key: SigningKey | None = None,
        audience: str | None = None,
        scopes: Iterable[str] = (),
        extra_params: Mapping[str, str] | None = None,
        dpop_jkt: str | None = None,
    ) -> CacheKey:
        """The key for a client-credentials manager, its secret (or private key) reduced
        to a fingerprint.

        Raises:
            ValueError: Neither a secret nor a private key.
        """
        sorted_scopes = normalise_scopes(scopes)
        jkt = dpop_jkt or ""
        fields: list[object] = [token_url, client_id, audience, sorted_scopes]
        if jkt:
            fields.append(jkt)
        context = json.dumps(fields).encode()
        if private_key is not None:
            secret_fingerprint = private_key.secret_digest(context)
        elif client_secret:
            secret_fingerprint = hmac.new(
                client_secret.encode(), context, hashlib.sha256
            ).hexdigest()
        else:
            raise ValueError("a cache key needs the client's secret or private key")
        params = json.dumps(sorted((extra_params or {}).items())).encode()
        return cls(
            token_url=token_url,
            client_id=client_id,
            audience=audience,
            scopes=sorted_scopes,
            secret_fingerprint=secret_fingerprint,
            params_fingerprint=hashlib.sha256(params).hexdigest() if extra_params else "",
            dpop_jkt=jkt,
        )

    def digest(self) -> str:
        """A stable hex name for this key, the same in every process (for shared caches)."""
        fields: list[object] = [
            self.token_url,
            self.client_id,
            self.audience,
            list(self.scopes),
            self.secret_fingerprint,
            self.params_fingerprint,
        ]
        if self.dpop_jkt:  # appended only when set: Bearer keys keep their digests
            fields.append(self.dpop_jkt)
        canonical = json.dumps(fields)
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
