"""What a web app built on the SDK holds for its lifetime, whatever its framework.

One ``Integration`` per app: the ``IntelliAuth`` client (one connection pool and one
cached machine token for every request), the ``TokenGuard`` that checks incoming bearer
tokens (one cached key set), and the clock both use. ``open_integration`` creates it when
the app starts and closes the client when it stops; ``intelliauth_ext.fastapi`` and
``intelliauth_ext.aiohttp`` hook it into each framework's lifetime.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any, TypeAlias

import attrs

from intelliauth_ext._bearer import TokenGuard
from intelliauth_ext._client import IntelliAuth
from intelliauth_ext._clock import Clock, SystemClock
from intelliauth_ext._verification import DEFAULT_LEEWAY
from intelliauth_ext._webhooks import DEFAULT_TOLERANCE, WebhookEvent, verify

__all__ = ["Integration", "WebhookSecrets", "open_integration", "verify_delivery"]

WebhookSecrets: TypeAlias = str | Sequence[str] | Callable[[], str | Sequence[str]]
"""A signing secret, several during a rotation, or a function returning the current ones."""


@attrs.frozen
class Integration:
    """An app's IntelliAuth state.

    Attributes:
        client: The app's client.
        guard: Checks incoming bearer tokens.
        clock: Wall time for token expiry and webhook timestamps.
    """

    client: IntelliAuth
    guard: TokenGuard
    clock: Clock


@contextlib.asynccontextmanager
async def open_integration(
    tenant_url: str | None = None,
    *,
    audience: str | None = None,
    introspection: bool = False,
    realm: str | None = None,
    clock: Clock | None = None,
    leeway: float = DEFAULT_LEEWAY,
    environ: Mapping[str, str] | None = None,
    **client_options: Any,
) -> AsyncIterator[Integration]:
    """Create an app's client and token guard, and close the client at the end.

    Args:
        tenant_url: The tenant; None reads the ``INTELLIAUTH_*`` variables, as
            ``IntelliAuth()`` does (``client_options`` win over them).
        audience: This API's identifier, which protected routes demand in ``aud``.
        introspection: Check tokens by introspection (RFC 7662) instead of as JWTs.
        realm: The ``realm`` of ``WWW-Authenticate`` challenges.
        clock: Wall and monotonic time, for tests (e.g. the sandbox's clock).
        leeway: Seconds of clock skew tolerated on token times.
        environ: Where ``IntelliAuth()`` reads; ``os.environ`` by default.
        **client_options: Keyword arguments of ``IntelliAuth``.
    """
    client = IntelliAuth(tenant_url, environ=environ, **client_options)
    async with client:
        guard = TokenGuard(
            client,
            audience=audience,
            introspection=introspection,
            realm=realm,
            clock=clock,
            leeway=leeway,
        )
        yield Integration(client, guard, clock if clock is not None else SystemClock())


def verify_delivery(
    payload: bytes,
    headers: Mapping[str, str],
    secrets: WebhookSecrets,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    clock: Clock | None = None,
) -> WebhookEvent:
    """``webhooks.verify`` with the secrets looked up now and the time from ``clock``.

    Raises:
        WebhookVerificationError: The delivery must not be trusted.
    """
    current = secrets() if callable(secrets) else secrets
    now = (clock if clock is not None else SystemClock()).time()
    return verify(payload, headers, current, tolerance=tolerance, now=now)
