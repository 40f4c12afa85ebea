"""Files only their user may read: where they live, atomic writes, bounded reads, a lock.

Used by the command line's token cache and by ``FileTokenSetStore``; both keep credentials
in the user's folders between runs of a program, so each rule here is the rule of both:

* the folders: ``$XDG_CONFIG_HOME/intelliauth`` (``~/.config/intelliauth``) and
  ``$XDG_CACHE_HOME/intelliauth`` (``~/.cache/intelliauth``); on Windows under
  ``%APPDATA%`` and ``%LOCALAPPDATA%``;
* a folder is made mode 0700 (an existing one is tightened), a file 0600 (``mkstemp``),
  written beside its final name and moved there with ``os.replace``, so a reader sees the
  old content or the new, never half of it;
* a read opens without following a symlink (one planted where a credential file should
  be) and reads at most ``max_bytes``;
* ``file_lock`` is an exclusive lock shared by every process of the user (``flock`` on
  POSIX, ``msvcrt.locking`` on Windows), waited for by polling so that a waiting task
  stays cancellable and never parks a worker thread.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Final

import anyio

__all__ = [
    "LOCK_POLL_INTERVAL",
    "FileTooLargeError",
    "ensure_private_directory",
    "file_lock",
    "read_private_file",
    "user_cache_dir",
    "user_config_dir",
    "write_private_file",
]

_DIRECTORY_MODE: Final = 0o700
# Do not follow a symlink planted where a credential file should be.
_NOFOLLOW: Final = getattr(os, "O_NOFOLLOW", 0)
#: Seconds between two attempts at a lock another process holds.
LOCK_POLL_INTERVAL: Final = 0.02


class FileTooLargeError(OSError):
    """A file is longer than the reader allows."""


def _home(environ: Mapping[str, str]) -> Path:
    home = environ.get("HOME")
    return Path(home) if home else Path.home()


def _user_dir(
    environ: Mapping[str, str], xdg_variable: str, xdg_fallback: str, windows: str
) -> Path:
    if sys.platform == "win32":  # pragma: no cover - the CI runs on Linux
        base = environ.get(windows, "")
        if base:
            return Path(base) / "intelliauth"
    # The XDG base directory spec: a relative value is invalid and must be ignored.
    value = environ.get(xdg_variable, "")
    if value and Path(value).is_absolute():
        return Path(value) / "intelliauth"
    return _home(environ) / xdg_fallback / "intelliauth"


def user_config_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CONFIG_HOME/intelliauth`` or ``~/.config/intelliauth`` (``%APPDATA%`` on Windows)."""
    env = os.environ if environ is None else environ
    return _user_dir(env, "XDG_CONFIG_HOME", ".config", "APPDATA")


def user_cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CACHE_HOME/intelliauth`` or ``~/.cache/intelliauth`` (``%LOCALAPPDATA%``)."""
    env = os.environ if environ is None else environ
    return _user_dir(env, "XDG_CACHE_HOME", ".cache", "LOCALAPPDATA")


def ensure_private_directory(directory: Path) -> None:
    """Make ``directory`` (and its parents) if needed; the user's alone (mode 0700)."""
    directory.mkdir(mode=_DIRECTORY_MODE, parents=True, exist_ok=True)
    if sys.platform != "win32" and directory.stat().st_mode & 0o077:
        # An existing folder made by someone (or something) else: tighten it.
        os.chmod(directory, _DIRECTORY_MODE)


def read_private_file(path: Path, *, max_bytes: int) -> bytes | None:
    """The content of ``path``; None when there is no such file.

    Raises:
        FileTooLargeError: It is longer than ``max_bytes``.
        OSError: It can not be read (a symlink, a folder, no permission).
    """
    try:
        descriptor = os.open(path, os.O_RDONLY | _NOFOLLOW)
    except FileNotFoundError:
        return None
    with os.fdopen(descriptor, "rb") as file:
        content = file.read(max_bytes + 1)
    if len(content) > max_bytes:
        raise FileTooLargeError(f"{path} is longer than {max_bytes} bytes")
    return content


def write_private_file(path: Path, content: bytes) -> None:
    """Replace ``path`` with ``content`` atomically, in a private folder, file mode 0600."""
    ensure_private_directory(path.parent)
    # mkstemp creates the file with mode 0600, in the folder, so os.replace is atomic.
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def _try_lock(descriptor: int) -> bool:
    if sys.platform == "win32":  # pragma: no cover - the CI runs on Linux
        import msvcrt

        try:
            msvcrt.locking(descriptor, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _unlock(descriptor: int) -> None:
    if sys.platform == "win32":  # pragma: no cover - the CI runs on Linux
        import msvcrt

        os.lseek(descriptor, 0, os.SEEK_SET)
        msvcrt.locking(descriptor, msvcrt.LK_UNLCK, 1)
        return
    import fcntl

    fcntl.flock(descriptor, fcntl.LOCK_UN)


@contextlib.asynccontextmanager
async def file_lock(path: Path) -> AsyncIterator[None]:
    """Hold an exclusive lock on ``path`` (created 0600) for the block, across processes.

    The lock belongs to this open file: two tasks of one process exclude each other too,
    and a process that dies releases it.
    """
    ensure_private_directory(path.parent)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT | _NOFOLLOW, 0o600)
    try:
        # Another process holds it: no event can tell us when it lets go, so poll.
        while not _try_lock(descriptor):  # noqa: ASYNC110
            await anyio.sleep(LOCK_POLL_INTERVAL)
        try:
            yield
        finally:
            _unlock(descriptor)
    finally:
        os.close(descriptor)
