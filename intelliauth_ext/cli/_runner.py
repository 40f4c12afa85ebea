"""Running a command's async body, and turning every expected failure into one line.

An ``IntelliAuthError`` (and a configuration error) is the user's to fix, not a bug: it
becomes ``Error: <Class>: <message>`` on stderr and exit status 1, never a traceback. The
SDK's messages never quote secrets, so they can be shown as they are.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio
import click
import httpx

from intelliauth_ext import IntelliAuthError
from intelliauth_ext.cli._config import ConfigError

__all__ = ["CliError", "describe", "run"]

T = TypeVar("T")


class CliError(click.ClickException):
    """A failure shown as one line on stderr, with exit status 1."""

    exit_code = 1


def describe(exc: BaseException) -> str:
    """A one-line description of ``exc``: its class and message."""
    message = " ".join(str(exc).split()) or "(no message)"
    if isinstance(exc, ConfigError):
        return message
    return f"{type(exc).__name__}: {message}"


def run(function: Callable[[], Awaitable[T]]) -> T:
    """Run ``function()`` on asyncio and return its result.

    Raises:
        CliError: The SDK raised an ``IntelliAuthError``, the configuration is wrong, or
            a token endpoint could not be reached.
    """
    try:
        return anyio.run(function)
    except (IntelliAuthError, ConfigError) as exc:
        raise CliError(describe(exc)) from None
    except httpx.TransportError as exc:
        # A token request that never got an answer surfaces as httpx's own error.
        raise CliError(f"could not reach the tenant: {describe(exc)}") from None
