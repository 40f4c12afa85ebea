"""`X-Request-Id` on every response: echoed when the client sent a sane one, else minted."""

from __future__ import annotations

import re
from typing import Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._ids import ulid

HEADER = "X-Request-Id"
# The contract's request id format; anything else a client sends is replaced, not echoed.
_ACCEPTABLE = re.compile(r"^req_[0-9A-Za-z]{1,64}$")


def request_id_of(scope: Scope) -> str:
    """Return the id the middleware assigned to this request (``req_unknown`` outside it)."""
    state: dict[str, Any] = scope.get("state") or {}
    return str(state.get("request_id", "req_unknown"))


class RequestIdMiddleware:
    """Assign each HTTP request an id, expose it in the scope, and set it on the response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        offered = Headers(scope=scope).get(HEADER)
        request_id = offered if offered and _ACCEPTABLE.match(offered) else f"req_{ulid()}"
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[HEADER] = request_id
            await send(message)

        await self.app(scope, receive, send_with_id)
