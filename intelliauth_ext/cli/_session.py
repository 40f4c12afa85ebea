"""The signed-in user of the command line: where their tokens are kept, and under which key.

``intelliauth login`` signs a user in with a public client (a client id without a secret)
and keeps the tokens in ``native_token_set_store()``: the system keyring when there is
one, else ``~/.config/intelliauth/tokens`` (0600). The key names the profile (or
``environment``), the client and the tenant, so two profiles, or a tenant switched in the
environment, never share a session. Every other command acts as that user when no client
secret is configured and a session is stored; its access token is refreshed through the
store, so two commands run at once spend the refresh token once.
"""

from __future__ import annotations

from typing import Final

from intelliauth_ext._native_token_stores import FileTokenSetStore, KeyringTokenSetStore
from intelliauth_ext.cli._config import ConfigError, Settings

__all__ = [
    "DEFAULT_LOGIN_SCOPES",
    "LOOPBACK_REDIRECT_URI",
    "public_client_id",
    "revocation_url",
    "session_key",
    "session_store",
    "token_url",
]

#: The redirect URI the CLI's public client must have registered (any port: RFC 8252 7.3).
LOOPBACK_REDIRECT_URI: Final = "http://127.0.0.1/callback"
#: Scopes every login asks for: an ID token, the profile for ``whoami``, a refresh token.
DEFAULT_LOGIN_SCOPES: Final = ("openid", "profile", "email", "offline_access")


def session_key(settings: Settings) -> str:
    """The store key of the user signed in with ``settings``: profile, client and tenant."""
    profile = settings.profile or "environment"
    return f"{profile}:{settings.client_id}@{settings.tenant_url.rstrip('/')}"


def session_store() -> KeyringTokenSetStore | FileTokenSetStore:
    """Where the signed-in user's tokens are kept (the keyring, else a user-only file)."""
    from intelliauth_ext._native_token_stores import native_token_set_store

    return native_token_set_store()


def public_client_id(settings: Settings) -> str:
    """The client id to sign users in with.

    Raises:
        ConfigError: No client id, or a client secret is configured (login is for a
            public client; a confidential one acts as itself).
    """
    if not settings.client_id:
        raise ConfigError(
            f"no client id in the {settings.source}: set INTELLIAUTH_CLIENT_ID (a public "
            "client with the redirect URI http://127.0.0.1/callback), or client_id in a profile"
        )
    if settings.client_secret:
        raise ConfigError(
            f"login signs a user in with a public client, and the {settings.source} has a "
            "client secret: unset INTELLIAUTH_CLIENT_SECRET (or use a profile without one)"
        )
    return settings.client_id


def _endpoint(settings: Settings, operation_id: str) -> str:
    from intelliauth_client.facade import OPERATIONS

    return settings.tenant_url.rstrip("/") + OPERATIONS[operation_id].path


def token_url(settings: Settings) -> str:
    """The tenant's token endpoint."""
    return _endpoint(settings, "requestToken")


def revocation_url(settings: Settings) -> str:
    """The tenant's revocation endpoint (RFC 7009)."""
    return _endpoint(settings, "revokeToken")
