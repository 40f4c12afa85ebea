"""Token sets of one user on one machine: the system keyring, or a file only they may read.

A command-line tool, a notebook or a desktop app signs its user in once and keeps the
tokens between runs. Two ``TokenSetStore`` implementations:

* ``KeyringTokenSetStore``: the system keyring through the ``keyring`` package (macOS
  Keychain, Windows Credential Locker, the Secret Service of a Linux desktop), one entry
  per key under the service name ``intelliauth``; the ``keyring`` extra.
* ``FileTokenSetStore``: one JSON file per key in ``~/.config/intelliauth/tokens``
  (``$XDG_CONFIG_HOME``, ``%APPDATA%`` on Windows), folder mode 0700, files 0600, replaced
  atomically (``_private_files``).

``native_token_set_store()`` picks the keyring when ``keyring`` is installed and has a
backend that stores (not its ``fail`` or ``null`` one), else the file.

Several processes of the user share a key (two runs of ``intelliauth`` at once): each
``refresh`` holds a file lock on the key (``<name>.lock`` in the token folder) while it
reads, refreshes and writes, so one process spends the refresh token and the other finds
the new tokens stored (``TokenSetStore.refresh``). Reads are bounded (``MAX_STORED_BYTES``);
content that is not a stored token set raises ``TokenStoreError`` naming where, never what.
Neither ``repr`` nor any message shows a token.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from pathlib import Path
from typing import TYPE_CHECKING, Final

import anyio.to_thread

from intelliauth_ext._errors import TokenStoreError
from intelliauth_ext._private_files import (
    file_lock,
    read_private_file,
    user_config_dir,
    write_private_file,
)
from intelliauth_ext._token_set import TokenSet
from intelliauth_ext._token_set_store import (
    MAX_STORED_BYTES,
    RefreshOnce,
    decode_token_set,
    encode_token_set,
    refresh_if_stale,
)

if TYPE_CHECKING:
    from keyring.backend import KeyringBackend

__all__ = [
    "DEFAULT_KEYRING_SERVICE",
    "FileTokenSetStore",
    "KeyringTokenSetStore",
    "keyring_backend",
    "native_token_set_store",
]

#: The keyring service name the entries are stored under.
DEFAULT_KEYRING_SERVICE: Final = "intelliauth"
_SAFE_NAME: Final = re.compile(r"[^A-Za-z0-9_.-]+")


def _file_name(key: str) -> str:
    """A file name for ``key``: its readable part (a profile name) and a hash of all of it."""
    readable = _SAFE_NAME.sub("_", key)[:40].strip("._") or "key"
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]
    return f"{readable}-{digest}"


def _check_key(key: str) -> None:
    if not key:
        raise ValueError("a token store key must not be empty")


class FileTokenSetStore:
    """Token sets in files only the user may read, one per key (see the module docstring).

    Args:
        directory: The folder; ``tokens`` in the user's config folder by default.
    """

    def __init__(self, directory: Path | None = None) -> None:
        self._directory = directory if directory is not None else user_config_dir() / "tokens"

    @property
    def directory(self) -> Path:
        """The folder the files are kept in."""
        return self._directory

    def path_for(self, key: str) -> Path:
        """The file that holds the token set of ``key``."""
        _check_key(key)
        return self._directory / f"{_file_name(key)}.json"

    async def load(self, key: str) -> TokenSet | None:
        """The token set stored under ``key``; None when there is none.

        Raises:
            TokenStoreError: The file holds no token set, is too long, or can not be read.
        """
        path = self.path_for(key)
        try:
            content = await anyio.to_thread.run_sync(
                lambda: read_private_file(path, max_bytes=MAX_STORED_BYTES)
            )
        except OSError as exc:
            raise TokenStoreError(f"can not read {path}: {exc.strerror or exc}") from None
        return None if content is None else decode_token_set(content, str(path))

    async def save(self, key: str, token_set: TokenSet) -> None:
        """Store ``token_set`` under ``key`` (file mode 0600, replaced atomically)."""
        path = self.path_for(key)
        content = encode_token_set(token_set).encode("utf-8")
        await anyio.to_thread.run_sync(write_private_file, path, content)

    async def delete(self, key: str) -> None:
        """Forget ``key``; no error when it is not there."""
        path = self.path_for(key)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()

    async def refresh(self, key: str, stale: TokenSet, refresh: RefreshOnce) -> TokenSet:
        """See ``TokenSetStore.refresh``; the key's file lock makes it one across processes."""
        async with file_lock(self.path_for(key).with_suffix(".lock")):
            return await refresh_if_stale(self, key, stale, refresh)

    def __repr__(self) -> str:
        return f"FileTokenSetStore(directory={str(self._directory)!r})"


def keyring_backend() -> KeyringBackend | None:
    """The keyring backend that would store the tokens; None when there is none.

    None when the ``keyring`` package is missing, or when it found no backend that stores
    (its ``fail`` or ``null`` backend, or a chain of none).
    """
    try:
        import keyring
        from keyring.backends import chainer, fail, null
    except ImportError:
        return None
    backend = keyring.get_keyring()
    if isinstance(backend, fail.Keyring | null.Keyring):
        return None
    if isinstance(backend, chainer.ChainerBackend) and not backend.backends:
        return None
    return backend


class KeyringTokenSetStore:
    """Token sets in the system keyring (``keyring``), one entry per key.

    Args:
        service: The keyring service name of the entries.
        backend: The keyring backend; the one ``keyring`` chose by default.
        lock_directory: Where the refresh locks are; ``locks`` in the user's config folder.

    Raises:
        RuntimeError: ``keyring`` is not installed (``pip install "intelliauth[keyring]"``)
            or has no backend that stores.
    """

    def __init__(
        self,
        service: str = DEFAULT_KEYRING_SERVICE,
        *,
        backend: KeyringBackend | None = None,
        lock_directory: Path | None = None,
    ) -> None:
        chosen = backend if backend is not None else keyring_backend()
        if chosen is None:
            raise RuntimeError(
                'no system keyring: pip install "intelliauth[keyring]", or use FileTokenSetStore'
            )
        self._service = service
        self._backend = chosen
        self._lock_directory = (
            lock_directory if lock_directory is not None else user_config_dir() / "locks"
        )

    @property
    def backend(self) -> KeyringBackend:
        """The keyring backend in use."""
        return self._backend

    def _where(self, key: str) -> str:
        return f"the keyring entry {key!r} of {self._service!r}"

    async def load(self, key: str) -> TokenSet | None:
        """The token set stored under ``key``; None when there is none.

        Raises:
            TokenStoreError: The entry holds no token set, or the keyring refused.
        """
        _check_key(key)
        try:
            content = await anyio.to_thread.run_sync(self._backend.get_password, self._service, key)
        except Exception as exc:  # keyring.errors.KeyringError, a backend's own error
            raise TokenStoreError(
                f"can not read {self._where(key)}: {type(exc).__name__}"
            ) from None
        return None if content is None else decode_token_set(content, self._where(key))

    async def save(self, key: str, token_set: TokenSet) -> None:
        """Store ``token_set`` under ``key``.

        Raises:
            TokenStoreError: The keyring refused.
        """
        _check_key(key)
        try:
            await anyio.to_thread.run_sync(
                self._backend.set_password, self._service, key, encode_token_set(token_set)
            )
        except Exception as exc:
            raise TokenStoreError(
                f"can not write {self._where(key)}: {type(exc).__name__}"
            ) from None

    async def delete(self, key: str) -> None:
        """Forget ``key``; no error when it is not there."""
        _check_key(key)
        from keyring.errors import PasswordDeleteError

        with contextlib.suppress(PasswordDeleteError):
            await anyio.to_thread.run_sync(self._backend.delete_password, self._service, key)

    async def refresh(self, key: str, stale: TokenSet, refresh: RefreshOnce) -> TokenSet:
        """See ``TokenSetStore.refresh``; a file lock per key makes it one across processes."""
        _check_key(key)
        async with file_lock(self._lock_directory / f"{_file_name(key)}.lock"):
            return await refresh_if_stale(self, key, stale, refresh)

    def __repr__(self) -> str:
        backend = type(self._backend).__name__
        return f"KeyringTokenSetStore(service={self._service!r}, backend={backend})"


def native_token_set_store(
    *, service: str = DEFAULT_KEYRING_SERVICE, directory: Path | None = None
) -> KeyringTokenSetStore | FileTokenSetStore:
    """The system keyring's store when there is a keyring, else the user-only file store.

    Args:
        service: The keyring service name.
        directory: The file store's folder (``~/.config/intelliauth/tokens`` by default).
    """
    backend = keyring_backend()
    if backend is not None:
        return KeyringTokenSetStore(service, backend=backend)
    return FileTokenSetStore(directory)
