"""What a route handler is given, and how a routes module collects its handlers.

A handler is ``async def handler(ctx: Context) -> Response``. The dispatcher has already
authenticated the bearer token (scopes from the spec's ``security``), validated the request
against the contract and resolved idempotency before the handler runs; a handler raises
:class:`~intelliauth_ext.testing._envelopes.ApiError` (or ``OAuthError`` under /oauth2)
for a failure and returns a response built with the ``_envelopes`` helpers.

``ctx.sandbox`` is typed by the ``SandboxState`` protocol, not by the ``Sandbox`` class:
the sandbox imports the routes to serve them, so the routes must not import it back.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qsl

import attrs
from starlette.requests import Request
from starlette.responses import Response

from ._envelopes import ApiError, list_response
from ._pagination import listing_key, paginate, parse_limit
from ._spec import SpecOperation

if TYPE_CHECKING:
    from ._clock import SandboxClock
    from ._idempotency import IdempotencyStore
    from ._oauth import AuthorizationServer
    from ._outbox import Outbox
    from ._pagination import CursorCodec
    from ._served import ServedLog
    from ._spec import Contract
    from ._tenant import Record, Tenant
    from ._tokens import TokenSigner
    from ._validation import Validator, ViolationLog
    from ._webhooks import WebhookHub

__all__ = ["Context", "Handler", "OperationRouter", "SandboxState"]


class SandboxState(Protocol):
    """The sandbox as its routes and its dispatcher see it; ``Sandbox`` implements it."""

    @property
    def url(self) -> str:
        """The tenant URL (the issuer)."""
        ...

    @property
    def contract(self) -> Contract:
        """The OpenAPI contract served."""
        ...

    @property
    def clock(self) -> SandboxClock:
        """The sandbox's time, which tests move forward."""
        ...

    @property
    def tenant(self) -> Tenant:
        """Every record of the tenant."""
        ...

    @property
    def signer(self) -> TokenSigner:
        """Signs and verifies the sandbox's JWTs."""
        ...

    @property
    def oauth(self) -> AuthorizationServer:
        """Client authentication, grants, sessions' tokens, revocation, introspection."""
        ...

    @property
    def cursors(self) -> CursorCodec:
        """Signs and reads pagination cursors."""
        ...

    @property
    def idempotency(self) -> IdempotencyStore:
        """Remembered outcomes by ``Idempotency-Key``."""
        ...

    @property
    def outbox(self) -> Outbox:
        """The SMS and email messages "sent" (one-time codes), for tests to read."""
        ...

    @property
    def webhooks(self) -> WebhookHub:
        """Subscriptions, events and their deliveries."""
        ...

    @property
    def validator(self) -> Validator | None:
        """Checks messages against the contract (None when validation is off)."""
        ...

    @property
    def violation_log(self) -> ViolationLog:
        """Where contract violations go."""
        ...

    @property
    def served(self) -> ServedLog:
        """Which operations were answered, with which statuses."""
        ...

    @property
    def strict_requests(self) -> bool:
        """Whether a request that breaks the contract is a violation too."""
        ...

    @property
    def auto_approve(self) -> bool:
        """Whether ``/oauth2/authorize`` signs a user in without the login page."""
        ...

    @property
    def test_user(self) -> Record:
        """The ready test user."""
        ...

    def handler(self, operation_id: str) -> Handler | None:
        """The handler serving ``operation_id`` (None when not implemented)."""
        ...


@attrs.define
class Context:
    """One request as a handler sees it."""

    request: Request
    sandbox: SandboxState
    operation: SpecOperation
    body: bytes
    claims: dict[str, Any] | None = None

    def path(self, name: str) -> str:
        """Return the path parameter ``name``."""
        return str(self.request.path_params[name])

    def query(self, name: str) -> str | None:
        """Return the query parameter ``name`` (None when absent)."""
        return self.request.query_params.get(name)

    def json(self) -> dict[str, Any]:
        """Return the JSON object body.

        Raises:
            ApiError: ``invalid_request`` when the body is not a JSON object.
        """
        try:
            parsed = json.loads(self.body or b"null")
        except ValueError as exc:
            raise ApiError("invalid_request", "The body is not valid JSON.") from exc
        if not isinstance(parsed, dict):
            raise ApiError("invalid_request", "The body must be a JSON object.")
        return parsed

    def form(self) -> dict[str, str]:
        """Return the form-encoded body (the last value of a repeated field wins)."""
        return dict(parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True))

    @property
    def subject(self) -> str:
        """The token's subject: a user id for user tokens, the client id otherwise."""
        return str((self.claims or {}).get("sub", ""))

    @property
    def client_id(self) -> str:
        """The client the token was issued to."""
        return str((self.claims or {}).get("client_id", ""))

    def user_id(self) -> str:
        """Return the signed-in user's id.

        Raises:
            ApiError: ``permission_denied`` for a client (machine) token.
        """
        if self.subject == self.client_id or self.subject not in self.sandbox.tenant.users:
            raise ApiError(
                "permission_denied",
                "This operation needs a user's token, not a client's.",
                details={"reason": "user_token_required"},
            )
        return self.subject

    def page(
        self,
        entries: Sequence[tuple[int, Any]],
        *,
        filters: Mapping[str, Any] | None = None,
        render: Callable[[Any], Any] = lambda record: record,
        descending: bool = True,
    ) -> Response:
        """Return one page of ``entries`` (``(sequence, record)`` in listing order) as a list
        envelope, honouring the ``cursor`` and ``limit`` query parameters.

        ``descending``: the listing runs newest (or highest key) first; False for a listing
        in ascending order of its keys (oldest, or A, first).
        """
        limit = parse_limit(self.query("limit"))
        listing = listing_key(
            self.operation.operation_id, {**(filters or {}), **self.request.path_params}
        )
        items, next_cursor = paginate(
            self.sandbox.cursors,
            listing,
            entries,
            cursor=self.query("cursor"),
            limit=limit,
            descending=descending,
        )
        return list_response([render(item) for item in items], next_cursor)


Handler = Callable[[Context], Awaitable[Response]]


class OperationRouter:
    """Collects one module's handlers by operationId."""

    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}

    def operation(self, operation_id: str) -> Callable[[Handler], Handler]:
        """Register the decorated coroutine as the handler of ``operation_id``."""

        def register(handler: Handler) -> Handler:
            if operation_id in self._handlers:
                raise ValueError(f"two handlers for {operation_id}")
            self._handlers[operation_id] = handler
            return handler

        return register

    def __iter__(self) -> Iterator[tuple[str, Handler]]:
        return iter(self._handlers.items())
