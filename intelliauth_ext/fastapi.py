"""FastAPI integration, public (``pip install "intelliauth[fastapi]"``).

::

    from typing import Annotated

    from fastapi import Depends, FastAPI
    from intelliauth_ext import VerifiedToken
    from intelliauth_ext.fastapi import IntelliAuthClient, intelliauth_lifespan, require_token

    app = FastAPI(lifespan=intelliauth_lifespan(audience="https://api.acme.dev"))


    @app.get("/users")
    async def users(
        client: IntelliAuthClient,
        token: Annotated[VerifiedToken, Depends(require_token(["users:read"]))],
    ) -> list[str]:
        return [user.email async for user in client.users.list()]

- ``intelliauth_lifespan(...)``: one ``IntelliAuth`` client per app, created at startup
  (from ``INTELLIAUTH_*`` variables, or the arguments) and closed at shutdown.
- ``IntelliAuthClient`` (``Depends(get_client)``): that client, in a handler.
- ``IntelliAuthIntegration`` (``Depends(get_integration)``): the app's ``Integration``:
  ``sign_in_flow(...)`` for browser sign-in on the lifespan's ``flow_store``, and
  ``session_auth(session_id, ...)`` for a user's tokens in its ``token_set_store``
  (``RedisFlowStore`` and ``RedisTokenSetStore`` when the app runs several workers).
- ``require_token(scopes)``: the caller's bearer token, verified; 401, 403, 400 or 503
  with ``WWW-Authenticate`` as RFC 6750 says otherwise.
- ``webhook_event(secrets)``: a verified webhook delivery's typed event; 400 otherwise.

This module imports FastAPI; ``import intelliauth_ext`` never does.
"""

# No ``from __future__ import annotations``: FastAPI reads the dependencies' annotations
# at run time, and closures' string annotations could not be resolved.

import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Mapping
from typing import Annotated, Any, Final, TypeAlias

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPBearer
from starlette.applications import Starlette

from intelliauth_ext._bearer import BearerTokenError
from intelliauth_ext._client import IntelliAuth
from intelliauth_ext._clock import Clock
from intelliauth_ext._dpop_proof_check import DPoPProofChecker
from intelliauth_ext._errors import WebhookVerificationError
from intelliauth_ext._flow_store import FlowStore
from intelliauth_ext._integration import (
    Integration,
    WebhookSecrets,
    open_integration,
    verify_delivery,
)
from intelliauth_ext._scopes import normalise_scopes
from intelliauth_ext._token_set_store import TokenSetStore
from intelliauth_ext._verification import DEFAULT_LEEWAY, VerifiedToken
from intelliauth_ext._webhooks import DEFAULT_TOLERANCE, WebhookEvent

__all__ = [
    "STATE_KEY",
    "Clock",
    "Integration",
    "IntelliAuthClient",
    "IntelliAuthIntegration",
    "Lifespan",
    "WebhookSecrets",
    "get_client",
    "get_integration",
    "intelliauth_lifespan",
    "require_token",
    "webhook_event",
]

#: Where the app's IntelliAuth state lives, in ``app.state`` and the lifespan state.
STATE_KEY: Final = "intelliauth"

# The bearer scheme as the OpenAPI document describes it (_TokenDependency). TokenGuard
# reads the header itself, as it tells a missing token from a malformed one and answers
# with RFC 6750's attributes.
_BEARER_DESCRIPTION: Final = "An IntelliAuth access token"

Lifespan: TypeAlias = Callable[[Starlette], contextlib.AbstractAsyncContextManager[dict[str, Any]]]
"""What ``intelliauth_lifespan`` returns: ``FastAPI(lifespan=...)`` takes it."""


def intelliauth_lifespan(
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
) -> Lifespan:
    """A lifespan that gives the app one ``IntelliAuth`` client, closed at shutdown.

    Pass it as ``FastAPI(lifespan=...)``, or enter it in your own lifespan with
    ``async with intelliauth_lifespan(...)(app) as state:`` and ``yield state``.

    Args:
        tenant_url: The tenant; None configures the client from ``INTELLIAUTH_*``
            variables (as ``IntelliAuth()`` does; ``client_options`` win).
        audience: This API's identifier: ``require_token`` demands it in ``aud``.
        introspection: Check tokens by asking the tenant (RFC 7662), which also catches
            revoked ones, instead of verifying JWTs with the cached key set.
        realm: The ``realm`` of ``WWW-Authenticate`` challenges.
        clock: Wall and monotonic time for token expiry and webhook timestamps, for
            tests (any object with ``time()`` and ``monotonic()``).
        leeway: Seconds of clock skew tolerated on token times.
        dpop_checker: Checks the proofs of DPoP-bound tokens (window, replay cache,
            server nonces: ``DPoPProofChecker``); a default one when None.
        environ: Where the variables are read; ``os.environ`` by default.
        flow_store: Where started sign-ins wait for their callback; in memory by
            default (one process only: with several workers, a ``RedisFlowStore``).
        token_set_store: Where signed-in sessions' tokens live; in memory by default
            (with several workers, a ``RedisTokenSetStore``).
        **client_options: Other keyword arguments of ``IntelliAuth``.

    Returns:
        The lifespan function.
    """

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        async with open_integration(
            tenant_url,
            audience=audience,
            introspection=introspection,
            realm=realm,
            clock=clock,
            leeway=leeway,
            dpop_checker=dpop_checker,
            environ=environ,
            flow_store=flow_store,
            token_set_store=token_set_store,
            **client_options,
        ) as integration:
            # app.state for the app itself; the lifespan state also reaches mounted apps.
            setattr(app.state, STATE_KEY, integration)
            try:
                yield {STATE_KEY: integration}
            finally:
                delattr(app.state, STATE_KEY)

    return lifespan


def _find_integration(request: Request) -> Integration | None:
    # The lifespan state is the scope's "state" mapping (what request.state wraps, read
    # here without making the State wrapper on every request); else the app's state.
    state = request.scope.get("state")
    found = state.get(STATE_KEY) if isinstance(state, Mapping) else None
    if found is None:
        found = getattr(request.app.state, STATE_KEY, None)
    return found if isinstance(found, Integration) else None


def _integration(request: Request) -> Integration:
    found = _find_integration(request)
    if found is None:
        raise RuntimeError(
            "no IntelliAuth client for this app: create it with "
            "FastAPI(lifespan=intelliauth_lifespan(...))"
        )
    return found


def get_client(request: Request) -> IntelliAuth:
    """The app's ``IntelliAuth`` client (a dependency).

    Raises:
        RuntimeError: The app was not started with ``intelliauth_lifespan``.
    """
    return _integration(request).client


IntelliAuthClient: TypeAlias = Annotated[IntelliAuth, Depends(get_client)]
"""A handler parameter annotated with this receives the app's client."""


def get_integration(request: Request) -> Integration:
    """The app's ``Integration``: client, guard, flow store and token-set store (a dependency).

    Raises:
        RuntimeError: The app was not started with ``intelliauth_lifespan``.
    """
    return _integration(request)


IntelliAuthIntegration: TypeAlias = Annotated[Integration, Depends(get_integration)]
"""A handler parameter annotated with this receives the app's ``Integration``."""


def require_token(
    scopes: Iterable[str] = (),
) -> Callable[..., Coroutine[Any, Any, VerifiedToken]]:
    """A dependency that verifies the request's bearer token and returns it.

    ``token: Annotated[VerifiedToken, Depends(require_token(["users:read"]))]``; the
    token is checked with the app's cached key set (or by introspection), for the
    lifespan's ``audience``.

    Args:
        scopes: Scopes the token must all carry (a list, or one space-separated string).

    Returns:
        The dependency. It raises ``HTTPException``: 401 with ``WWW-Authenticate:
        Bearer`` (``error="invalid_token"`` when a token was sent, no error when none
        was), 403 ``insufficient_scope`` with ``scope="..."``, 400 ``invalid_request``
        for a malformed header, 503 when the tenant's keys can not be fetched.
    """
    return _TokenDependency(normalise_scopes(scopes))


class _TokenDependency(HTTPBearer):
    """``require_token``'s dependency: an ``HTTPBearer`` that verifies the token itself.

    An ``HTTPBearer`` so that FastAPI declares the bearer scheme in the OpenAPI document
    (as ``HTTPBearer`` with the same name and description); one dependency that both
    declares and verifies, not a verifying one that depends on a declaring one: FastAPI
    resolves each dependency of each request, a cost the hand-written floor does not pay.
    """

    def __init__(self, required: tuple[str, ...]) -> None:
        super().__init__(
            auto_error=False, scheme_name="HTTPBearer", description=_BEARER_DESCRIPTION
        )
        self._required = required

    async def __call__(self, request: Request) -> VerifiedToken:  # type: ignore[override]
        guard = _integration(request).guard
        try:
            proofs = request.headers.getlist("dpop")
            return await guard.authenticate(
                request.headers.getlist("authorization"),
                self._required,
                dpop=proofs,
                method=request.method,
                # Only a proof is checked against the URL: a Bearer request does not build it.
                url=str(request.url) if proofs else None,
            )
        except BearerTokenError as exc:
            raise HTTPException(exc.status_code, detail=exc.body(), headers=exc.headers) from exc


def webhook_event(
    secrets: WebhookSecrets,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
) -> Callable[[Request], Coroutine[Any, Any, WebhookEvent]]:
    """A dependency that verifies a webhook delivery and returns its typed event.

    ``event: Annotated[WebhookEvent, Depends(webhook_event(secrets))]``. The signature
    is checked over the raw body; the time comes from the lifespan's ``clock`` when the
    app has one.

    Args:
        secrets: The subscription's signing secret, several during a rotation, or a
            function returning the current ones (called for each delivery).
        tolerance: How many seconds the signature's time may be off (replays).

    Returns:
        The dependency. It raises ``HTTPException`` 400 with ``{"error":
        "invalid_webhook", "check": ...}`` for a delivery that must not be trusted.
    """

    async def verified_event(request: Request) -> WebhookEvent:
        found = _find_integration(request)  # the app's clock, if it has one
        clock = found.clock if found is not None else None
        payload = await request.body()  # the raw bytes: parsed JSON would not verify
        try:
            return verify_delivery(
                payload, request.headers, secrets, tolerance=tolerance, clock=clock
            )
        except WebhookVerificationError as exc:
            detail = {"error": "invalid_webhook", "check": exc.check}
            raise HTTPException(400, detail=detail) from exc

    return verified_event
