"""An aiohttp service on IntelliAuth: a route that lists users through the client, protected
by a scope, and a receiver for the platform's signed webhooks.

Against a sandbox tenant (or your own: set the same variables)::

    python -m intelliauth_ext.testing --port 8765   # export the INTELLIAUTH_* lines it prints
    export API_AUDIENCE=https://api.example.test INTELLIAUTH_WEBHOOK_SECRETS=whsec_...
    python examples/aiohttp_app.py                  # listens on 127.0.0.1:8080
    TOKEN=$(curl -s -u "$INTELLIAUTH_CLIENT_ID:$INTELLIAUTH_CLIENT_SECRET" \\
        -d grant_type=client_credentials -d scope=users:read -d audience="$API_AUDIENCE" \\
        "$INTELLIAUTH_TENANT_URL/oauth2/token" | jq -r .access_token)
    curl -H "Authorization: Bearer $TOKEN" localhost:8080/users
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Any, Final

from aiohttp import web

from intelliauth_client.models.breach_incident_opened_event import BreachIncidentOpenedEvent
from intelliauth_client.models.user_created_event import UserCreatedEvent
from intelliauth_ext.aiohttp import (
    INTELLIAUTH_CLIENT,
    VERIFIED_TOKEN,
    Clock,
    WebhookSecrets,
    intelliauth_context,
    require_token,
    webhook_event,
)
from intelliauth_ext.webhooks import WebhookEvent

logger = logging.getLogger("aiohttp_app")


def secrets_from_env() -> list[str]:
    """The webhook signing secrets, read at each delivery (a rotation needs no restart)."""
    return [s for s in os.environ.get("INTELLIAUTH_WEBHOOK_SECRETS", "").split(",") if s]


@dataclass
class Inbox:
    """The webhook side of the service: the signing secrets, and the events acted on."""

    secrets: WebhookSecrets
    events: list[WebhookEvent] = field(default_factory=list)

    def accept(self, event: WebhookEvent) -> bool:
        """Keep a new event; False for a redelivery of one already handled (same id)."""
        if any(seen.id == event.id for seen in self.events):
            return False
        self.events.append(event)
        return True


INBOX: Final = web.AppKey("inbox", Inbox)
routes = web.RouteTableDef()


@routes.get("/users")
@require_token(["users:read"])
async def list_users(request: web.Request) -> web.Response:
    """The first page of the tenant's users, for a caller allowed to read users."""
    page = await request.app[INTELLIAUTH_CLIENT].users.list(limit=20)
    caller = request[VERIFIED_TOKEN].subject
    return web.json_response({"caller": caller, "users": [user.email for user in page.items]})


@routes.post("/hooks/intelliauth")
async def receive_webhook(request: web.Request) -> web.Response:
    """Act on a verified delivery; answer 2xx fast, the platform retries otherwise."""
    inbox = request.app[INBOX]
    event = await webhook_event(request, inbox.secrets)
    if inbox.accept(event):
        match event:
            case UserCreatedEvent():
                logger.info("welcome %s", event.data.user.email)
            case BreachIncidentOpenedEvent():
                logger.warning("incident %s", event.data.incident_id)
            case _:
                logger.info("ignored %s", event.type_)
    return web.Response(status=204)


def create_app(
    *,
    audience: str,
    webhook_secrets: WebhookSecrets = secrets_from_env,
    clock: Clock | None = None,
    **client_options: Any,
) -> web.Application:
    """The service; the client comes from ``INTELLIAUTH_*`` or ``client_options``.

    Args:
        audience: This API's identifier, which callers' tokens must carry in ``aud``.
        webhook_secrets: The webhook subscription's signing secret(s).
        clock: Time for token expiry and webhook timestamps (tests pass the sandbox's).
        **client_options: ``tenant_url``, ``IntelliAuth`` options and other options of
            ``intelliauth_context`` (``introspection=True``).
    """
    app = web.Application()
    app.cleanup_ctx.append(
        intelliauth_context(audience=audience, realm="directory", clock=clock, **client_options)
    )
    app[INBOX] = Inbox(webhook_secrets)
    app.add_routes(routes)
    return app


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    web.run_app(
        create_app(audience=os.environ.get("API_AUDIENCE", "https://api.example.test")),
        host="127.0.0.1",
        port=8080,
    )
