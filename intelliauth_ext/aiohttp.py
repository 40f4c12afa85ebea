"""aiohttp integration, public (``pip install "intelliauth[aiohttp]"``).

::

    from aiohttp import web
    from intelliauth_ext.aiohttp import INTELLIAUTH_CLIENT, VERIFIED_TOKEN
    from intelliauth_ext.aiohttp import intelliauth_context, require_token

    routes = web.RouteTableDef()


    @routes.get("/users")
    @require_token(["users:read"])
    async def users(request: web.Request) -> web.Response:
        client = request.app[INTELLIAUTH_CLIENT]
        caller = request[VERIFIED_TOKEN].subject
        return web.json_response([user.email async for user in client.users.list()])


    app = web.Application()
    app.cleanup_ctx.append(intelliauth_context(audience="https://api.acme.dev"))
    app.add_routes(routes)

- ``intelliauth_context(...)``: a cleanup context giving the app one ``IntelliAuth``
  client (``app[INTELLIAUTH_CLIENT]``), closed when the app stops, and its
  ``Integration`` (``request.config_dict[INTELLIAUTH_INTEGRATION]``): ``sign_in_flow(...)``
  on the context's ``flow_store`` and ``session_auth(session_id, ...)`` on its
  ``token_set_store`` (``RedisFlowStore`` and ``RedisTokenSetStore`` with several workers).
- ``@require_token(scopes)``: the handler runs only for a verified bearer token, found
  at ``request[VERIFIED_TOKEN]``; otherwise 401, 403, 400 or 503 with
  ``WWW-Authenticate`` as RFC 6750 says.
- ``token_middleware(scopes, public=...)``: the same for every route of an app or
  sub-app (``web.Application(middlewares=[token_middleware(["users:read"])])``), except
  the ``public`` paths.
- ``await webhook_event(request, secrets)``: a verified delivery's typed event, or
  ``web.HTTPBadRequest``.
"""

from __future__ import annotations

import functools
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from typing import Any, Final, TypeAlias

from aiohttp import web

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
    "INTELLIAUTH_CLIENT",
    "INTELLIAUTH_INTEGRATION",
    "VERIFIED_TOKEN",
    "Clock",
    "Handler",
    "Integration",
    "WebhookSecrets",
    "intelliauth_context",
    "require_token",
    "token_middleware",
    "webhook_event",
]

#: The app's client: ``request.app[INTELLIAUTH_CLIENT]`` (or ``request.config_dict[...]``).
INTELLIAUTH_CLIENT: Final = web.AppKey("intelliauth_client", IntelliAuth)
#: The verified bearer token of a request that passed ``require_token``.
VERIFIED_TOKEN: Final = web.RequestKey("intelliauth_verified_token", VerifiedToken)
#: The app's ``Integration`` (client, guard, flow store, token-set store).
INTELLIAUTH_INTEGRATION: Final = web.AppKey("intelliauth_integration", Integration)
_INTEGRATION: Final = INTELLIAUTH_INTEGRATION

Handler: TypeAlias = Callable[[web.Request], Awaitable[web.StreamResponse]]

_REFUSALS: Final[Mapping[int, type[web.HTTPError]]] = {
    400: web.HTTPBadRequest,
    401: web.HTTPUnauthorized,
    403: web.HTTPForbidden,
    503: web.HTTPServiceUnavailable,
}


def intelliauth_context(
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
) -> Callable[[web.Application], AsyncIterator[None]]:
    """A cleanup context giving the app one ``IntelliAuth`` client, closed at shutdown.

    Add it with ``app.cleanup_ctx.append(intelliauth_context(...))``.

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
        The cleanup context.
    """

    async def context(app: web.Application) -> AsyncIterator[None]:
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
            app[_INTEGRATION] = integration
            app[INTELLIAUTH_CLIENT] = integration.client
            yield

    return context


def _integration(request: web.Request) -> Integration:
    # config_dict looks through the parent apps too, so sub-apps share the client.
    found = request.config_dict.get(_INTEGRATION)
    if found is None:
        raise RuntimeError(
            "no IntelliAuth client for this app: add "
            "app.cleanup_ctx.append(intelliauth_context(...))"
        )
    return found


def _json_error(
    status_code: int, body: Mapping[str, str], headers: Mapping[str, str]
) -> web.HTTPError:
    """The aiohttp exception that answers ``status_code`` with a JSON body."""
    return _REFUSALS[status_code](
        headers=dict(headers), text=json.dumps(body), content_type="application/json"
    )


def require_token(scopes: Iterable[str] = ()) -> Callable[[Handler], Handler]:
    """Decorate a handler so that it runs only for a verified bearer token.

    The token (checked with the app's cached key set, or by introspection, for the
    context's ``audience``) is put at ``request[VERIFIED_TOKEN]``.

    Args:
        scopes: Scopes the token must all carry (a list, or one space-separated string).

    Returns:
        The decorator. The wrapped handler raises 401 with ``WWW-Authenticate: Bearer``
        (``error="invalid_token"`` when a token was sent, no error when none was), 403
        ``insufficient_scope`` with ``scope="..."``, 400 ``invalid_request`` for a
        malformed header, 503 when the tenant's keys can not be fetched.
    """
    required = normalise_scopes(scopes)

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def protected(request: web.Request) -> web.StreamResponse:
            await _authenticate(request, required)
            return await handler(request)

        return protected

    return decorate


def token_middleware(
    scopes: Iterable[str] = (), *, public: Iterable[str] = ()
) -> Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]:
    """A middleware requiring a verified bearer token on every route of its app.

    Refusals are those of ``require_token``; the token is at ``request[VERIFIED_TOKEN]``.

    Args:
        scopes: Scopes the token must all carry (a list, or one space-separated string).
        public: Paths served without a token (a health check, a webhook receiver, which
            authenticates by its signature instead).
    """
    required = normalise_scopes(scopes)
    open_paths = frozenset(public)

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path not in open_paths:
            await _authenticate(request, required)
        return await handler(request)

    return middleware


async def _authenticate(request: web.Request, required: tuple[str, ...]) -> None:
    """Verify the request's bearer token and keep it at ``request[VERIFIED_TOKEN]``."""
    guard = _integration(request).guard
    try:
        proofs = request.headers.getall("DPoP", [])
        token = await guard.authenticate(
            request.headers.getall("Authorization", []),
            required,
            dpop=proofs,
            method=request.method,
            # Only a proof is checked against the URL: a Bearer request does not build it.
            url=str(request.url) if proofs else None,
        )
    except BearerTokenError as exc:
        raise _json_error(exc.status_code, exc.body(), exc.headers) from exc
    request[VERIFIED_TOKEN] = token


async def webhook_event(
    request: web.Request,
    secrets: WebhookSecrets,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
) -> WebhookEvent:
    """Verify the request as a webhook delivery and return its typed event.

    The signature is checked over the raw body; the time comes from the context's
    ``clock`` when the app has one.

    Args:
        request: The delivery.
        secrets: The subscription's signing secret, several during a rotation, or a
            function returning the current ones (called for each delivery).
        tolerance: How many seconds the signature's time may be off (replays).

    Raises:
        web.HTTPBadRequest: With ``{"error": "invalid_webhook", "check": ...}``: the
            delivery must not be trusted.
    """
    found = request.config_dict.get(_INTEGRATION)
    clock = found.clock if found is not None else None
    payload = await request.read()  # the raw bytes: parsed JSON would not verify
    try:
        return verify_delivery(payload, request.headers, secrets, tolerance=tolerance, clock=clock)
    except WebhookVerificationError as exc:
        body = {"error": "invalid_webhook", "check": exc.check}
        raise _json_error(400, body, {}) from exc
