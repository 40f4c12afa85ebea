"""A FastAPI service on IntelliAuth: a route that lists users through the client, protected
by a scope, and a receiver for the platform's signed webhooks.

Against a sandbox tenant (or your own: set the same variables)::

    python -m intelliauth_ext.testing --port 8765   # export the INTELLIAUTH_* lines it prints
    export API_AUDIENCE=https://api.example.test INTELLIAUTH_WEBHOOK_SECRETS=whsec_...
    uvicorn examples.fastapi_app:app --port 8000
    TOKEN=$(curl -s -u "$INTELLIAUTH_CLIENT_ID:$INTELLIAUTH_CLIENT_SECRET" \\
        -d grant_type=client_credentials -d scope=users:read -d audience="$API_AUDIENCE" \\
        "$INTELLIAUTH_TENANT_URL/oauth2/token" | jq -r .access_token)
    curl -H "Authorization: Bearer $TOKEN" localhost:8000/users
"""

# No ``from __future__ import annotations``: FastAPI reads the handlers' annotations.

import logging
import os
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Response

from intelliauth_client.models.breach_incident_opened_event import BreachIncidentOpenedEvent
from intelliauth_client.models.user_created_event import UserCreatedEvent
from intelliauth_ext import VerifiedToken
from intelliauth_ext.fastapi import (
    Clock,
    IntelliAuthClient,
    WebhookSecrets,
    intelliauth_lifespan,
    require_token,
    webhook_event,
)
from intelliauth_ext.webhooks import WebhookEvent

logger = logging.getLogger("fastapi_app")


def secrets_from_env() -> list[str]:
    """The webhook signing secrets, read at each delivery (a rotation needs no restart)."""
    return [s for s in os.environ.get("INTELLIAUTH_WEBHOOK_SECRETS", "").split(",") if s]


@dataclass
class Inbox:
    """The webhook events this service acted on (a real one would queue work)."""

    events: list[WebhookEvent] = field(default_factory=list)

    def accept(self, event: WebhookEvent) -> bool:
        """Keep a new event; False for a redelivery of one already handled (same id)."""
        if any(seen.id == event.id for seen in self.events):
            return False
        self.events.append(event)
        return True


def create_app(
    *,
    audience: str,
    webhook_secrets: WebhookSecrets = secrets_from_env,
    clock: Clock | None = None,
    **client_options: Any,
) -> FastAPI:
    """The service; the client comes from ``INTELLIAUTH_*`` or ``client_options``.

    Args:
        audience: This API's identifier, which callers' tokens must carry in ``aud``.
        webhook_secrets: The webhook subscription's signing secret(s).
        clock: Time for token expiry and webhook timestamps (tests pass the sandbox's).
        **client_options: ``tenant_url``, ``IntelliAuth`` options and other options of
            ``intelliauth_lifespan`` (``introspection=True``).
    """
    inbox = Inbox()
    app = FastAPI(
        title="Directory API",
        lifespan=intelliauth_lifespan(
            audience=audience, realm="directory", clock=clock, **client_options
        ),
    )
    app.state.inbox = inbox

    @app.get("/users")
    async def list_users(
        client: IntelliAuthClient,
        token: Annotated[VerifiedToken, Depends(require_token(["users:read"]))],
    ) -> dict[str, Any]:
        """The first page of the tenant's users, for a caller allowed to read users."""
        page = await client.users.list(limit=20)
        return {"caller": token.subject, "users": [user.email for user in page.items]}

    @app.post("/hooks/intelliauth", status_code=204)
    async def receive_webhook(
        event: Annotated[WebhookEvent, Depends(webhook_event(webhook_secrets))],
    ) -> Response:
        """Act on a verified delivery; answer 2xx fast, the platform retries otherwise."""
        if inbox.accept(event):
            match event:
                case UserCreatedEvent():
                    logger.info("welcome %s", event.data.user.email)
                case BreachIncidentOpenedEvent():
                    logger.warning("incident %s", event.data.incident_id)
                case _:
                    logger.info("ignored %s", event.type_)
        return Response(status_code=204)

    return app


app = create_app(audience=os.environ.get("API_AUDIENCE", "https://api.example.test"))
