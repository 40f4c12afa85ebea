"""``FileTokenCache``: machine tokens kept in the user's cache folder between command runs.

``intelliauth token`` runs once per ``curl``; without a cache each run would ask the token
endpoint again. This is a ``TokenCache`` (the protocol ``ClientCredentials`` uses), so the
token manager's own rules decide when a stored token is due.

Each token is one file, ``<CacheKey.digest()>.json``: the name is a hash of the key, whose
secret part is an HMAC keyed by the client secret, so no file name or content reveals the
secret, and a wrong secret never finds a token. The folder is made mode 0700 and every
file 0600 (``mkstemp``), then moved into place with ``os.replace``, so a reader sees the old
token or the new one, never half a file. A refresh takes an exclusive ``flock`` on a lock
file beside the token: two commands started together send one token request.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Final

import anyio.to_thread

from intelliauth_ext import AccessToken, CacheKey
from intelliauth_ext._json import json_object

__all__ = ["FileTokenCache"]

_DIRECTORY_MODE: Final = 0o700
# Do not follow a symlink planted where a token file should be.
_NOFOLLOW: Final = getattr(os, "O_NOFOLLOW", 0)


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

    def _ensure_directory(self) -> None:
        self._directory.mkdir(mode=_DIRECTORY_MODE, parents=True, exist_ok=True)
        if sys.platform != "win32" and self._directory.stat().st_mode & 0o077:
            # An existing folder made by someone (or something) else: tighten it.
            os.chmod(self._directory, _DIRECTORY_MODE)

    @staticmethod
    def _read(path: Path) -> AccessToken | None:
        try:
            descriptor = os.open(path, os.O_RDONLY | _NOFOLLOW)
        except OSError:
            return None
        try:
            with os.fdopen(descriptor, "rb") as file:
                data = json_object(file.read())
        except OSError:
            return None
        return AccessToken.from_dict(data) if data is not None else None

    def _write(self, path: Path, token: AccessToken) -> None:
        self._ensure_directory()
        # mkstemp creates the file with mode 0600, in the folder, so os.replace is atomic.
        descriptor, temporary = tempfile.mkstemp(dir=self._directory, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as file:
                json.dump(token.as_dict(), file)
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise

    @contextlib.asynccontextmanager
    async def _locked(self, key: CacheKey) -> AsyncIterator[None]:
        """Hold an exclusive lock on ``key``'s lock file (no-op where flock is missing)."""
        if sys.platform == "win32":  # pragma: no cover - no flock; a rare double fetch
            yield
            return
        import fcntl

        await anyio.to_thread.run_sync(self._ensure_directory)
        lock_path = self._directory / f"{key.digest()}.lock"
        descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT | _NOFOLLOW, 0o600)
        try:
            await anyio.to_thread.run_sync(fcntl.flock, descriptor, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(descriptor, fcntl.LOCK_UN)
        finally:
            os.close(descriptor)

    def __repr__(self) -> str:
        return f"FileTokenCache(directory={str(self._directory)!r})"
