"""Where the command line finds its tenant and credentials: the environment or a profile.

Two sources, the same names:

* the variables ``IntelliAuth()`` reads: ``INTELLIAUTH_TENANT_URL``,
  ``INTELLIAUTH_CLIENT_ID``, ``INTELLIAUTH_CLIENT_SECRET``, ``INTELLIAUTH_AUDIENCE`` and
  ``INTELLIAUTH_SCOPES`` (space- or comma-separated);
* a profile of ``profiles.toml`` in the user's config folder
  (``$XDG_CONFIG_HOME/intelliauth`` or ``~/.config/intelliauth``), one table per profile
  with the keys ``tenant_url``, ``client_id``, ``client_secret``, ``audience`` and
  ``scopes`` (a string or a list of strings).

Which one: a profile named with ``--profile`` (or ``INTELLIAUTH_PROFILE``); without a
name, the environment when ``INTELLIAUTH_TENANT_URL`` is set, else the ``default``
profile if the file has one. The environment fills in the keys a profile leaves out, so a
secret can stay out of the file. Error messages name variables, keys and files, never values.
"""

from __future__ import annotations

import os
import stat
import sys
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final

import attrs

from intelliauth_ext._private_files import user_cache_dir, user_config_dir
from intelliauth_ext._scopes import normalise_scopes

__all__ = [
    "DEFAULT_PROFILE",
    "ENV_PROFILE",
    "ConfigError",
    "Settings",
    "load_settings",
    "profiles_path",
    "user_cache_dir",
]

ENV_PROFILE: Final = "INTELLIAUTH_PROFILE"
DEFAULT_PROFILE: Final = "default"

#: Profile keys and the environment variables of ``IntelliAuth()`` they mirror.
_ENV_NAMES: Final[Mapping[str, str]] = {
    "tenant_url": "INTELLIAUTH_TENANT_URL",
    "client_id": "INTELLIAUTH_CLIENT_ID",
    "client_secret": "INTELLIAUTH_CLIENT_SECRET",
    "audience": "INTELLIAUTH_AUDIENCE",
    "scopes": "INTELLIAUTH_SCOPES",
}


class ConfigError(Exception):
    """The configuration is missing or malformed (the message never quotes a value)."""


def profiles_path(environ: Mapping[str, str] | None = None) -> Path:
    """``profiles.toml`` in ``$XDG_CONFIG_HOME/intelliauth`` (``~/.config/intelliauth``)."""
    return user_config_dir(environ) / "profiles.toml"


def _scope_tuple(value: object, where: str) -> tuple[str, ...]:
    """``normalise_scopes`` for a config value, whose type is checked first."""
    if isinstance(value, str) or (
        isinstance(value, list) and all(isinstance(scope, str) for scope in value)
    ):
        return normalise_scopes(value)
    raise ConfigError(f"{where}: scopes must be a string or a list of strings")


@attrs.frozen(repr=False)
class Settings:
    """A tenant and the client to use it with; ``repr`` never shows the secret.

    Attributes:
        tenant_url: The tenant, e.g. ``https://acme.intelliauth.io``.
        client_id: The client id, if configured.
        client_secret: The client secret, if configured.
        audience: The audience to request tokens for, if any.
        scopes: The scopes to request tokens with (none: the client's default).
        source: Where the settings came from, for messages (``environment``, a profile).
        profile: The profile's name; None for the environment.
    """

    tenant_url: str
    client_id: str | None = None
    client_secret: str | None = None
    audience: str | None = None
    scopes: tuple[str, ...] = ()
    source: str = "environment"
    profile: str | None = None

    def __repr__(self) -> str:
        return (
            f"Settings(tenant_url={self.tenant_url!r}, client_id={self.client_id!r}, "
            f"client_secret={'[REDACTED]' if self.client_secret else None}, "
            f"audience={self.audience!r}, scopes={self.scopes!r}, source={self.source!r})"
        )

    def credentials(self) -> tuple[str, str]:
        """The client id and secret.

        Raises:
            ConfigError: Either is missing.
        """
        if not self.client_id or not self.client_secret:
            raise ConfigError(
                f"no client credentials in the {self.source}: set "
                f"{_ENV_NAMES['client_id']} and {_ENV_NAMES['client_secret']}, or "
                "client_id and client_secret in a profile"
            )
        return self.client_id, self.client_secret


def _read_profiles(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as file:
            document = tomllib.load(file)
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"can not read {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        # tomllib's message gives the line and column, not the text around it.
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    if sys.platform != "win32" and any(isinstance(t, dict) for t in document.values()):
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            # Like ssh: a file that may hold client secrets should be the user's alone.
            print(
                f"intelliauth: warning: {path} is readable by other users; chmod 600 it",
                file=sys.stderr,
            )
    return document


def _from_profile(table: object, name: str, path: Path) -> dict[str, Any]:
    where = f"profile {name!r} in {path}"
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: a profile must be a table ([{name}])")
    unknown = sorted(set(table) - set(_ENV_NAMES))
    if unknown:
        raise ConfigError(
            f"{where}: unknown keys {', '.join(unknown)} (known: {', '.join(_ENV_NAMES)})"
        )
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key == "scopes":
            values[key] = _scope_tuple(value, where)
        elif isinstance(value, str):
            if value.strip():
                values[key] = value.strip()
        else:
            raise ConfigError(f"{where}: {key} must be a string")
    return values


def _from_environment(environ: Mapping[str, str], keys: Iterable[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key in keys:
        value = environ.get(_ENV_NAMES[key], "").strip()
        if value:
            values[key] = _scope_tuple(value, "environment") if key == "scopes" else value
    return values


def load_settings(
    profile: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    path: Path | None = None,
) -> Settings:
    """The settings of ``profile``, or of the environment (see the module docstring).

    Args:
        profile: A profile name; None reads ``INTELLIAUTH_PROFILE``, then falls back.
        environ: Where to read variables from; ``os.environ`` by default.
        path: The profiles file; ``profiles_path()`` by default.

    Raises:
        ConfigError: No tenant URL anywhere, an unknown profile, or a malformed file.
    """
    env = os.environ if environ is None else environ
    file = profiles_path(env) if path is None else path
    name = profile or env.get(ENV_PROFILE, "").strip() or None
    if name is None and env.get(_ENV_NAMES["tenant_url"], "").strip():
        return Settings(**_from_environment(env, _ENV_NAMES))
    profiles = _read_profiles(file)
    if name is not None and name not in profiles:
        raise ConfigError(f"no profile {name!r} in {file}")
    if name is None:
        if DEFAULT_PROFILE not in profiles:
            raise ConfigError(
                f"no tenant configured: set {_ENV_NAMES['tenant_url']} (and "
                f"{_ENV_NAMES['client_id']}, {_ENV_NAMES['client_secret']}), or add a "
                f"[{DEFAULT_PROFILE}] profile to {file}, or pass --profile NAME"
            )
        name = DEFAULT_PROFILE
    values = _from_profile(profiles[name], name, file)
    # The environment fills in what the profile leaves out (a secret kept out of the file).
    values = {**_from_environment(env, set(_ENV_NAMES) - set(values)), **values}
    source = f"profile {name!r}"
    if "tenant_url" not in values:
        raise ConfigError(f"no tenant_url in the {source} (nor {_ENV_NAMES['tenant_url']})")
    return Settings(source=source, profile=name, **values)
