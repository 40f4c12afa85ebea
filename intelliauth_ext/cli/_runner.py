"""Running a command's async body, and turning every failure into one line.

An ``IntelliAuthError`` (and a configuration error) is the user's to fix, not a bug: it
becomes ``Error: <Class>: <message>`` on stderr and exit status 1, never a traceback. The
SDK's messages never quote secrets, so they can be shown as they are. An error the command
did not expect is one line too; ``intelliauth -v`` adds the traceback (see ``_main``).

A tenant URL that ends in ``/api/v1`` or ``/oauth2`` (pasted from an endpoint) makes every
request miss; its errors get a hint naming the root URL to use instead.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Final, TypeVar

import anyio
import click
import httpx

from intelliauth_ext import IntelliAuthError
from intelliauth_ext.cli._config import ConfigError

__all__ = ["CliError", "describe", "run", "tenant_url_hint", "to_cli_error"]

T = TypeVar("T")

#: Paths of the API and the OAuth endpoints, which a tenant URL must not end with.
_ENDPOINT_SUFFIXES: Final = ("/api/v1", "/oauth2/token", "/oauth2")


class CliError(click.ClickException):
    """A failure shown as one line on stderr, with exit status 1."""

    exit_code = 1


def describe(exc: BaseException) -> str:
    """A one-line description of ``exc``: its class and message."""
    message = " ".join(str(exc).split()) or "(no message)"
    if isinstance(exc, ConfigError):
        return message
    return f"{type(exc).__name__}: {message}"


def _innermost(exc: BaseException) -> BaseException:
    """The one exception a task group wrapped, or ``exc`` itself."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


def _request_of(exc: httpx.TransportError) -> str:
    """``METHOD URL`` of the request that failed (no query: it may carry filters)."""
    try:
        request = exc.request
    except RuntimeError:  # httpx raises it when the error carries no request
        return "the tenant"
    return f"{request.method} {request.url.copy_with(query=None)}"


def to_cli_error(exc: BaseException, *, verbose: bool = False) -> CliError:
    """The one-line error for ``exc``: what failed and, for a connection, where.

    Args:
        exc: The failure.
        verbose: The traceback is shown already (``-v``): do not point to ``-v``.
    """
    inner = _innermost(exc)
    if isinstance(inner, IntelliAuthError | ConfigError):
        return CliError(describe(inner))
    if isinstance(inner, httpx.TransportError):
        # A token request that never got an answer surfaces as httpx's own error.
        return CliError(f"could not reach {_request_of(inner)}: {describe(inner)}")
    if verbose:
        return CliError(describe(inner))
    return CliError(f"{describe(inner)} (intelliauth -v shows the traceback)")


def tenant_url_hint(tenant_url: str) -> str | None:
    """A hint when ``tenant_url`` ends in an endpoint's path, else None."""
    path = httpx.URL(tenant_url).path.rstrip("/")
    for suffix in _ENDPOINT_SUFFIXES:
        if path.endswith(suffix):
            root = tenant_url.rstrip("/")[: -len(suffix)]
            return (
                f"the tenant URL {tenant_url} ends in {suffix}: give the tenant's root, "
                f"{root}; the SDK adds {suffix} itself"
            )
    return None


def run(function: Callable[[], Awaitable[T]]) -> T:
    """Run ``function()`` on asyncio and return its result.

    Raises:
        CliError: The SDK raised an ``IntelliAuthError``, the configuration is wrong, or
            the tenant could not be reached.
    """
    try:
        return anyio.run(function)
    except Exception as exc:
        inner = _innermost(exc)
        if isinstance(inner, IntelliAuthError | ConfigError | httpx.TransportError):
            raise to_cli_error(inner) from inner
        if inner is not exc:
            raise inner from exc  # one exception, not a task group's wrapper
        raise
