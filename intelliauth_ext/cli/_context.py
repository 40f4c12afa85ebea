"""What every command shares: the selected profile, its settings and the clients built on them."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable

import attrs

from intelliauth_ext import ClientCredentials, IntelliAuth, RefreshingAuth
from intelliauth_ext.cli._config import ConfigError, Settings, load_settings, user_cache_dir
from intelliauth_ext.cli._session import session_key, session_store, token_url
from intelliauth_ext.cli._token_cache import FileTokenCache

__all__ = ["CliContext"]


@attrs.define
class CliContext:
    """The root group's options, handed to every command (``ctx.obj``).

    Attributes:
        profile: The ``--profile`` given, if any.
        verbose: ``-v``: show an error's traceback as well as its line.
    """

    profile: str | None = None
    verbose: bool = False
    _settings: Settings | None = attrs.field(default=None, init=False, repr=False)

    def settings(self) -> Settings:
        """The settings of the profile or environment, read once.

        Raises:
            ConfigError: They are missing or malformed.
        """
        if self._settings is None:
            self._settings = load_settings(self.profile)
        return self._settings

    def loaded_settings(self) -> Settings | None:
        """The settings if a command has read them already, else None (never reads them)."""
        return self._settings

    def token_manager(
        self, *, scopes: Iterable[str] | None = None, audience: str | None = None
    ) -> ClientCredentials:
        """A client-credentials manager whose tokens are cached in the user's cache folder.

        Args:
            scopes: Scopes to request instead of the configured ones.
            audience: An audience to request instead of the configured one.

        Raises:
            ConfigError: No credentials, or a tenant URL that is not a valid https URL.
        """
        from intelliauth_client.facade import OPERATIONS

        settings = self.settings()
        if settings.client_id and not settings.client_secret:
            raise ConfigError(
                "not signed in: run `intelliauth login` (or configure a client secret "
                "to act as the client itself)"
            )
        client_id, client_secret = settings.credentials()
        token_url = settings.tenant_url.rstrip("/") + OPERATIONS["requestToken"].path
        try:
            return ClientCredentials(
                token_url,
                client_id,
                client_secret,
                audience=audience if audience is not None else settings.audience,
                scopes=tuple(scopes) if scopes else settings.scopes,
                cache=FileTokenCache(user_cache_dir()),
            )
        except ValueError as exc:  # InsecureURLError included; messages quote no secret
            raise ConfigError(f"{settings.source}: {exc}") from None

    async def user_auth(self) -> RefreshingAuth | None:
        """The signed-in user's tokens, refreshed through their store; None without a session.

        Only without a client secret: a configured secret means the client acts as itself.

        Raises:
            ConfigError: The tenant URL is not a valid https URL.
            TokenStoreError: The stored session can not be read.
        """
        settings = self.settings()
        if settings.client_secret or not settings.client_id:
            return None
        store = session_store()
        key = session_key(settings)
        if await store.load(key) is None:
            return None
        try:
            return RefreshingAuth(
                token_url=token_url(settings),
                client_id=settings.client_id,
                store=store,
                store_key=key,
            )
        except ValueError as exc:  # InsecureURLError included
            raise ConfigError(f"{settings.source}: {exc}") from None

    @contextlib.asynccontextmanager
    async def client(self) -> AsyncIterator[IntelliAuth]:
        """An API client as the signed-in user, else on ``token_manager()``'s tokens.

        The user's when no client secret is configured and ``intelliauth login`` stored a
        session; the client's own (client credentials) otherwise. Closed with the block.

        Raises:
            ConfigError: As ``token_manager``; without a secret and a session, a message
                that says to log in.
        """
        user = await self.user_auth()
        settings = self.settings()
        async with contextlib.AsyncExitStack() as stack:
            auth = user if user is not None else self.token_manager()
            stack.push_async_callback(auth.aclose)
            try:
                client = IntelliAuth(settings.tenant_url, auth=auth)
            except ValueError as exc:
                raise ConfigError(f"{settings.source}: {exc}") from None
            async with client:
                yield client
