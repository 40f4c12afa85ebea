"""The hand-written layer of the IntelliAuth SDK: the client, auth flows, retries, pagination.

::

    from intelliauth_ext import IntelliAuth, NotFoundError

    async with IntelliAuth(tenant_url, client_id=..., client_secret=...) as client:
        user = await client.users.get("usr_01")

This module is the only public door. The exceptions are imported eagerly (they are cheap
and every caller needs them); everything else is imported on first attribute access, so
that ``import intelliauth_ext`` costs little more than ``import httpx`` and a service that
only verifies tokens never imports the HTTP client machinery (and the reverse).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, Final

from intelliauth_ext._errors import (
    AccessDeniedError,
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    InsecureURLError,
    IntelliAuthError,
    InternalServerError,
    InvalidCallbackError,
    InvalidClientError,
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
    NotFoundError,
    OAuthError,
    PaginationError,
    PermissionDeniedError,
    RateLimitError,
    RequestValidationError,
    ResponseTooLargeError,
    SignInTimeoutError,
    TokenStoreError,
    TokenStoreUnavailableError,
    TokenValidationError,
    UnauthorizedClientError,
    UnprocessableEntityError,
    UnsupportedGrantTypeError,
    WebhookVerificationError,
)

if TYPE_CHECKING:
    from intelliauth_ext._auth import (
        AccessToken,
        CacheKey,
        ClientCredentials,
        InMemoryTokenCache,
        RedisTokenCache,
        RefreshingAuth,
        StaticToken,
        TokenCache,
        TokenUpdateHook,
    )
    from intelliauth_ext._client import IntelliAuth
    from intelliauth_ext._discovery import ProviderMetadata, fetch_provider_metadata
    from intelliauth_ext._dpop import DPoPKey
    from intelliauth_ext._dpop_proof_check import (
        DPoPNonces,
        DPoPProofChecker,
        MemoryReplayCache,
        ReplayCache,
    )
    from intelliauth_ext._flow import AuthorizationCodeFlow, AuthorizationRequest
    from intelliauth_ext._flow_store import FlowStore, InMemoryFlowStore, PendingAuthorization
    from intelliauth_ext._native_token_stores import (
        FileTokenSetStore,
        KeyringTokenSetStore,
        native_token_set_store,
    )
    from intelliauth_ext._pagination import AsyncPaginator, Page, paginate
    from intelliauth_ext._raw_response import RawResponse
    from intelliauth_ext._redis_flow_store import RedisFlowStore
    from intelliauth_ext._redis_token_set_store import RedisTokenSetStore
    from intelliauth_ext._retries import DEFAULT_MAX_RETRIES
    from intelliauth_ext._sign_in import MfaChallenge, SignedIn
    from intelliauth_ext._signing_key import SigningKey
    from intelliauth_ext._timeouts import DEFAULT_TIMEOUT, NOT_GIVEN, NotGiven
    from intelliauth_ext._token_endpoints import (
        IntrospectionResult,
        introspect_token,
        refresh_tokens,
        revoke_token,
    )
    from intelliauth_ext._token_set import TokenSet
    from intelliauth_ext._token_set_store import InMemoryTokenSetStore, TokenSetStore
    from intelliauth_ext._userinfo import UserInfoClaims, fetch_userinfo
    from intelliauth_ext._verification import TokenVerifier, VerifiedToken

#: Where each lazily imported public name lives.
_LAZY: Final[dict[str, str]] = {
    "AccessToken": "intelliauth_ext._auth",
    "AsyncPaginator": "intelliauth_ext._pagination",
    "AuthorizationCodeFlow": "intelliauth_ext._flow",
    "AuthorizationRequest": "intelliauth_ext._flow",
    "CacheKey": "intelliauth_ext._auth",
    "ClientCredentials": "intelliauth_ext._auth",
    "DEFAULT_MAX_RETRIES": "intelliauth_ext._retries",
    "DEFAULT_TIMEOUT": "intelliauth_ext._timeouts",
    "DPoPKey": "intelliauth_ext._dpop",
    "DPoPNonces": "intelliauth_ext._dpop_proof_check",
    "DPoPProofChecker": "intelliauth_ext._dpop_proof_check",
    "FileTokenSetStore": "intelliauth_ext._native_token_stores",
    "FlowStore": "intelliauth_ext._flow_store",
    "InMemoryFlowStore": "intelliauth_ext._flow_store",
    "InMemoryTokenCache": "intelliauth_ext._auth",
    "InMemoryTokenSetStore": "intelliauth_ext._token_set_store",
    "IntelliAuth": "intelliauth_ext._client",
    "IntrospectionResult": "intelliauth_ext._token_endpoints",
    "KeyringTokenSetStore": "intelliauth_ext._native_token_stores",
    "MemoryReplayCache": "intelliauth_ext._dpop_proof_check",
    "MfaChallenge": "intelliauth_ext._sign_in",
    "NOT_GIVEN": "intelliauth_ext._timeouts",
    "NotGiven": "intelliauth_ext._timeouts",
    "Page": "intelliauth_ext._pagination",
    "PendingAuthorization": "intelliauth_ext._flow_store",
    "ProviderMetadata": "intelliauth_ext._discovery",
    "RawResponse": "intelliauth_ext._raw_response",
    "RedisFlowStore": "intelliauth_ext._redis_flow_store",
    "RedisTokenCache": "intelliauth_ext._auth",
    "RedisTokenSetStore": "intelliauth_ext._redis_token_set_store",
    "RefreshingAuth": "intelliauth_ext._auth",
    "ReplayCache": "intelliauth_ext._dpop_proof_check",
    "SignedIn": "intelliauth_ext._sign_in",
    "SigningKey": "intelliauth_ext._signing_key",
    "StaticToken": "intelliauth_ext._auth",
    "TokenCache": "intelliauth_ext._auth",
    "TokenSet": "intelliauth_ext._token_set",
    "TokenSetStore": "intelliauth_ext._token_set_store",
    "TokenUpdateHook": "intelliauth_ext._auth",
    "TokenVerifier": "intelliauth_ext._verification",
    "UserInfoClaims": "intelliauth_ext._userinfo",
    "VerifiedToken": "intelliauth_ext._verification",
    "fetch_provider_metadata": "intelliauth_ext._discovery",
    "fetch_userinfo": "intelliauth_ext._userinfo",
    "introspect_token": "intelliauth_ext._token_endpoints",
    "native_token_set_store": "intelliauth_ext._native_token_stores",
    "paginate": "intelliauth_ext._pagination",
    "refresh_tokens": "intelliauth_ext._token_endpoints",
    "revoke_token": "intelliauth_ext._token_endpoints",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'intelliauth_ext' has no attribute {name!r}")
    # ``__import__``, not importlib.import_module: ``python -X importtime`` (and so the
    # import-cost benchmark) only sees imports made through the import statement's door.
    __import__(module)
    value = getattr(sys.modules[module], name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "NOT_GIVEN",
    "APIConnectionError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AccessDeniedError",
    "AccessToken",
    "AsyncPaginator",
    "AuthenticationError",
    "AuthorizationCodeFlow",
    "AuthorizationRequest",
    "BadRequestError",
    "CacheKey",
    "ClientCredentials",
    "ConfigurationError",
    "ConflictError",
    "DPoPKey",
    "DPoPNonces",
    "DPoPProofChecker",
    "FileTokenSetStore",
    "FlowStore",
    "InMemoryFlowStore",
    "InMemoryTokenCache",
    "InMemoryTokenSetStore",
    "InsecureURLError",
    "IntelliAuth",
    "IntelliAuthError",
    "InternalServerError",
    "IntrospectionResult",
    "InvalidCallbackError",
    "InvalidClientError",
    "InvalidGrantError",
    "InvalidRequestError",
    "InvalidScopeError",
    "KeyringTokenSetStore",
    "MemoryReplayCache",
    "MfaChallenge",
    "NotFoundError",
    "NotGiven",
    "OAuthError",
    "Page",
    "PaginationError",
    "PendingAuthorization",
    "PermissionDeniedError",
    "ProviderMetadata",
    "RateLimitError",
    "RawResponse",
    "RedisFlowStore",
    "RedisTokenCache",
    "RedisTokenSetStore",
    "RefreshingAuth",
    "ReplayCache",
    "RequestValidationError",
    "ResponseTooLargeError",
    "SignInTimeoutError",
    "SignedIn",
    "SigningKey",
    "StaticToken",
    "TokenCache",
    "TokenSet",
    "TokenSetStore",
    "TokenStoreError",
    "TokenStoreUnavailableError",
    "TokenUpdateHook",
    "TokenValidationError",
    "TokenVerifier",
    "UnauthorizedClientError",
    "UnprocessableEntityError",
    "UnsupportedGrantTypeError",
    "UserInfoClaims",
    "VerifiedToken",
    "WebhookVerificationError",
    "fetch_provider_metadata",
    "fetch_userinfo",
    "introspect_token",
    "native_token_set_store",
    "paginate",
    "refresh_tokens",
    "revoke_token",
]
