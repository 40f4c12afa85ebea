"""What a web app built on the SDK holds for its lifetime, whatever its framework.

One ``Integration`` per app: the ``IntelliAuth`` client (one connection pool and one
cached machine token for every request), the ``TokenGuard`` that checks incoming bearer
tokens (one cached key set), the clock both use, and the two stores of user sign-in: the
``FlowStore`` where started sign-ins wait for their callback and the ``TokenSetStore``
that keeps each signed-in session's tokens. With several worker processes both must be
shared (``RedisFlowStore``, ``RedisTokenSetStore``): the callback lands on any worker,
and every worker serving a session must refresh it through the same lease.
``open_integration`` creates it when the app starts and closes the client when it stops;
``intelliauth_ext.fastapi`` and ``intelliauth_ext.aiohttp`` hook it into each framework's
lifetime.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from typing import Any, TypeAlias

import attrs

from intelliauth_ext._auth import RefreshingAuth
from intelliauth_ext._bearer import TokenGuard
from intelliauth_ext._client import IntelliAuth
from intelliauth_ext._clock import Clock, SystemClock
from intelliauth_ext._dpop_proof_check import DPoPProofChecker
from intelliauth_ext._flow import AuthorizationCodeFlow
from intelliauth_ext._flow_store import FlowStore, InMemoryFlowStore
from intelliauth_ext._scopes import normalise_scopes
from intelliauth_ext._token_set_store import InMemoryTokenSetStore, TokenSetStore
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
        flow_store: Where started sign-ins wait for their callback.
        token_set_store: Where signed-in sessions' tokens live (keyed by session id).
    """

    client: IntelliAuth
    guard: TokenGuard
    clock: Clock
    flow_store: FlowStore = attrs.field(factory=InMemoryFlowStore)
    token_set_store: TokenSetStore = attrs.field(factory=InMemoryTokenSetStore)
    _flows: dict[tuple[Any, ...], AuthorizationCodeFlow] = attrs.field(
        factory=dict, init=False, repr=False, eq=False
    )

    def sign_in_flow(
        self,
        redirect_uri: str,
        scopes: str | Iterable[str] = ("openid",),
        *,
        client_id: str,
        client_secret: str | None = None,
    ) -> AuthorizationCodeFlow:
        """The app's browser sign-in against its tenant, keeping sign-ins in ``flow_store``.

        Made once per set of arguments (its discovery and key set are cached), so call
        it in each handler.

        Args:
            redirect_uri: The app's callback URL, registered with the client.
            scopes: The scopes to ask for (``offline_access`` for a refresh token).
            client_id: The web app's client id (often not the machine client's).
            client_secret: Its secret for a confidential client; None for a public one.
        """
        key = (redirect_uri, normalise_scopes(scopes), client_id, client_secret)
        flow = self._flows.get(key)
        if flow is None:
            flow = AuthorizationCodeFlow(
                str(self.client.tenant_url),
                client_id,
                redirect_uri,
                scopes,
                client_secret=client_secret,
                flow_store=self.flow_store,
                clock=self.clock,
            )
            self._flows[key] = flow
        return flow

    def session_auth(
        self,
        session_id: str,
        *,
        client_id: str,
        client_secret: str | None = None,
        **options: Any,
    ) -> RefreshingAuth:
        """A ``RefreshingAuth`` for one signed-in session, its tokens in ``token_set_store``.

        Make one per request (and ``aclose`` it): the store is the source of truth, and
        every worker refreshes the session through its lease, once per expiry.

        Args:
            session_id: The session's key in the store (a random id kept in a cookie).
            client_id: The client the session's tokens were issued to.
            client_secret: Its secret for a confidential client; None for a public one.
            **options: Other keyword arguments of ``RefreshingAuth`` (``on_token_update``,
                ``refresh_margin``, ``refresh_timeout`` ...).
        """
        return RefreshingAuth(
            token_url=str(self.client.tenant_url).rstrip("/") + "/oauth2/token",
            client_id=client_id,
            client_secret=client_secret,
            store=self.token_set_store,
            store_key=session_id,
            clock=self.clock,
            **options,
        )


@contextlib.asynccontextmanager
async def open_integration(
    tenant_url: str | None = None,
    *,
    audience: str | None = None,
    introspection: bool = False,
    realm: str | None = None,
    clock: Clock | None = None,
    leeway: float = DEFAULT_LEEWAY,
    dpop_checker: DPoPProofChecker | None = None,
    environ: Mapping[str, str] | None = None,
    flow_store: FlowStore | None = None,
    token_set_store: TokenSetStore | None = None,
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
        dpop_checker: Checks the proofs of DPoP-bound tokens; a default one when None.
        flow_store: Where started sign-ins wait (an ``InMemoryFlowStore`` by default: one
            process only; ``RedisFlowStore`` for several workers). Its ``aclose``, if it
            has one, is awaited at the end.
        token_set_store: Where sessions' tokens live (an ``InMemoryTokenSetStore`` by
            default; ``RedisTokenSetStore`` for several workers); closed likewise.
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
            dpop_checker=dpop_checker,
        )
        app_clock: Clock = clock if clock is not None else SystemClock()
        try:
            yield Integration(
                client,
                guard,
                app_clock,
                flow_store=(
                    flow_store
                    if flow_store is not None
                    else InMemoryFlowStore(clock=app_clock.time)
                ),
                token_set_store=(
                    token_set_store if token_set_store is not None else InMemoryTokenSetStore()
                ),
            )
        finally:
            # The stores' own clients (made from a URL) close with the app; a client
            # given to a store is the application's, and its aclose leaves it open.
            for store in (flow_store, token_set_store):
                close = getattr(store, "aclose", None)
                if close is not None:
                    await close()


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
