"""What every command shares: the selected profile, its settings and the clients built on them."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable

import attrs

from intelliauth_ext import ClientCredentials, IntelliAuth
from intelliauth_ext.cli._config import ConfigError, Settings, load_settings, user_cache_dir
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

    @contextlib.asynccontextmanager
    async def client(self) -> AsyncIterator[IntelliAuth]:
        """An API client on ``token_manager()``'s tokens, both closed when the block ends.

        Raises:
            ConfigError: As ``token_manager``.
        """
        async with self.token_manager() as auth:
            try:
                client = IntelliAuth(self.settings().tenant_url, auth=auth)
            except ValueError as exc:
                raise ConfigError(f"{self.settings().source}: {exc}") from None
            async with client:
                yield client
