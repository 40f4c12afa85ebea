"""Route handlers, one module per resource, each keyed by the contract's operationId.

A handler is ``async def handler(ctx: Context) -> Response``. The dispatcher has already
authenticated the bearer token (scopes from the spec's ``security``), validated the request
against the contract and resolved idempotency before the handler runs; a handler raises
:class:`~intelliauth_ext.testing._envelopes.ApiError` (or ``OAuthError`` under /oauth2)
for a failure and returns a response built with the ``_envelopes`` helpers.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import attrs
from starlette.requests import Request
from starlette.responses import Response

from .._envelopes import ApiError, list_response
from .._pagination import listing_key, paginate, parse_limit
from .._spec import SpecOperation

if TYPE_CHECKING:
    from .._sandbox import Sandbox


@attrs.define
class Context:
    """One request as a handler sees it."""

    request: Request
    sandbox: Sandbox
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
        entries: list[tuple[int, Any]],
        *,
        filters: Mapping[str, Any] | None = None,
        render: Callable[[Any], Any] = lambda record: record,
    ) -> Response:
        """Return one page of ``entries`` (``(sequence, record)`` in listing order) as a list
        envelope, honouring the ``cursor`` and ``limit`` query parameters."""
        limit = parse_limit(self.query("limit"))
        listing = listing_key(
            self.operation.operation_id, {**(filters or {}), **self.request.path_params}
        )
        items, next_cursor = paginate(
            self.sandbox.cursors, listing, entries, cursor=self.query("cursor"), limit=limit
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


def all_handlers() -> dict[str, Handler]:
    """Return every resource module's handlers by operationId."""
    from . import (
        applications,
        auth,
        federation,
        groups,
        me,
        oauth2,
        resource_types,
        resources,
        users,
        webauthn,
        webhooks,
    )

    handlers: dict[str, Handler] = {}
    for module in (
        oauth2,
        auth,
        me,
        users,
        groups,
        applications,
        resource_types,
        resources,
        federation,
        webhooks,
        webauthn,
    ):
        for operation_id, handler in module.router:
            if operation_id in handlers:
                raise ValueError(f"two handlers for {operation_id}")
            handlers[operation_id] = handler
    return handlers
