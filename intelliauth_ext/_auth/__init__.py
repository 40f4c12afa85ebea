"""Token managers as ``httpx.Auth``: client credentials, refresh tokens, static tokens,
and the token caches the client-credentials manager shares its tokens through.

Modules, one concept each:

* ``_client_credentials``: ``ClientCredentials`` (RFC 6749 section 4.4)
* ``_refreshing_auth``: ``RefreshingAuth`` (RFC 6749 section 6)
* ``_static_token``: ``StaticToken``
* ``_access_token``: ``AccessToken`` and the token-response lifetime rules
* ``_client_auth``: client authentication methods, a registry keyed by RFC names
  (``private_key_jwt`` and ``client_secret_jwt`` among them), and ``ClientAuth``, a
  client's credentials as every token, PAR, revocation and introspection request is
  built from them (the keys are ``intelliauth_ext._signing_key``'s; DPoP proofs,
  ``intelliauth_ext._dpop``'s)
* ``_cache``: the ``TokenCache`` protocol and ``CacheKey``; ``_memory_cache`` and
  ``_redis_cache`` implement it (the single flight of token requests is
  ``intelliauth_ext._single_flight``, shared with the key-set and discovery fetches)
* ``_token_endpoint``: token URL checks, the HTTP client of token requests, their
  retries, and the exception of a failed answer
"""

from intelliauth_ext._auth._access_token import AccessToken
from intelliauth_ext._auth._cache import CacheKey, TokenCache
from intelliauth_ext._auth._client_auth import CLIENT_AUTH_METHODS, ClientAuthMethodName
from intelliauth_ext._auth._client_credentials import ClientCredentials
from intelliauth_ext._auth._memory_cache import InMemoryTokenCache
from intelliauth_ext._auth._redis_cache import RedisTokenCache
from intelliauth_ext._auth._refreshing_auth import RefreshingAuth, TokenUpdateHook
from intelliauth_ext._auth._static_token import StaticToken

__all__ = [
    "CLIENT_AUTH_METHODS",
    "AccessToken",
    "CacheKey",
    "ClientAuthMethodName",
    "ClientCredentials",
    "InMemoryTokenCache",
    "RedisTokenCache",
    "RefreshingAuth",
    "StaticToken",
    "TokenCache",
    "TokenUpdateHook",
]
