"""``FileTokenCache``: machine tokens kept in the user's cache folder between command runs.

``intelliauth token`` runs once per ``curl``; without a cache each run would ask the token
endpoint again. This is a ``TokenCache`` (the protocol ``ClientCredentials`` uses), so the
token manager's own rules decide when a stored token is due.

Each token is one file, ``<CacheKey.digest()>.json``: the name is a hash of the key, whose
secret part is an HMAC keyed by the client secret, so no file name or content reveals the
secret, and a wrong secret never finds a token. The files are written and read by
``_private_files`` (a 0700 folder, 0600 files replaced atomically, bounded reads), and a
refresh holds its ``file_lock`` on a lock file beside the token: two commands started
together send one token request.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Final

import anyio.to_thread

from intelliauth_ext import AccessToken, CacheKey
from intelliauth_ext._json import json_object
from intelliauth_ext._private_files import file_lock, read_private_file, write_private_file

__all__ = ["FileTokenCache"]

#: A cached access token is a few kilobytes; a longer file is not one.
_MAX_TOKEN_FILE_BYTES: Final = 64 * 1024


class FileTokenCache:
    """Access tokens in files of one folder, shared by every process of this user.

    Args:
        directory: The folder (created mode 0700 on first write).
    """

    def __init__(self, directory: Path) -> None:
        self._directory = directory

    @property
    def directory(self) -> Path:
        """The folder the tokens are kept in."""
        return self._directory

    def path_for(self, key: CacheKey) -> Path:
        """The file that holds the token of ``key``."""
        return self._directory / f"{key.digest()}.json"

    async def get(self, key: CacheKey) -> AccessToken | None:
        """The stored token of ``key``, or None (also for an unreadable or corrupt file)."""
        return await anyio.to_thread.run_sync(self._read, self.path_for(key))

    async def set(self, key: CacheKey, token: AccessToken) -> None:
        """Store ``token`` for ``key`` (file mode 0600, replaced atomically)."""
        await anyio.to_thread.run_sync(self._write, self.path_for(key), token)

    async def discard(self, key: CacheKey, token: AccessToken) -> None:
        """Delete the file of ``key`` if it still holds ``token``."""
        async with self._locked(key):
            path = self.path_for(key)
            stored = await anyio.to_thread.run_sync(self._read, path)
            if stored is not None and stored.access_token == token.access_token:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()

    async def get_or_fetch(
        self,
        key: CacheKey,
        fetch: Callable[[], Awaitable[AccessToken]],
        usable: Callable[[AccessToken], bool],
    ) -> AccessToken:
        """A stored ``usable`` token, or ``fetch()``'s, stored; one fetch across processes."""
        token = await self.get(key)
        if token is not None and usable(token):
            return token
        async with self._locked(key):
            # Another process may have refreshed while we waited for the lock.
            token = await self.get(key)
            if token is not None and usable(token):
                return token
            token = await fetch()
            await self.set(key, token)
            return token

    # -- files -----------------------------------------------------------------------

    @staticmethod
    def _read(path: Path) -> AccessToken | None:
        try:
            content = read_private_file(path, max_bytes=_MAX_TOKEN_FILE_BYTES)
        except OSError:
            return None
        data = json_object(content) if content is not None else None
        return AccessToken.from_dict(data) if data is not None else None

    @staticmethod
    def _write(path: Path, token: AccessToken) -> None:
        write_private_file(path, json.dumps(token.as_dict()).encode("utf-8"))

    @contextlib.asynccontextmanager
    async def _locked(self, key: CacheKey) -> AsyncIterator[None]:
        """Hold an exclusive lock on ``key``'s lock file, across processes."""
        async with file_lock(self._directory / f"{key.digest()}.lock"):
            yield

    def __repr__(self) -> str:
        return f"FileTokenCache(directory={str(self._directory)!r})"
