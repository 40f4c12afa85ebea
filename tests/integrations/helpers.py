"""What the FastAPI and aiohttp tests share: tokens, webhook subscriptions, challenges."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any, Final

import attrs
import httpx
from starlette.responses import JSONResponse, Response

from intelliauth_client.models.webhook_create import WebhookCreate
from intelliauth_client.models.webhook_event_type import WebhookEventType
from intelliauth_ext import IntelliAuth
from intelliauth_ext.testing import Sandbox

AUDIENCE: Final = "https://api.example.test"
HOOKS_ORIGIN: Final = "https://hooks.example.test"
HOOK_PATH: Final = "/hooks/intelliauth"
_PARAM: Final = re.compile(r'(\w+)="([^"]*)"')
_EXAMPLES: Final = Path(__file__).resolve().parents[2] / "examples"


def load_example(name: str) -> ModuleType:
    """Import ``examples/<name>.py`` (the folder is not a package)."""
    module_name = f"examples_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, _EXAMPLES / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


@attrs.define
class DeliveryRecorder:
    """An httpx client for the sandbox's webhook sender that keeps what it sends."""

    sent: list[httpx.Request] = attrs.field(factory=list)
    http: httpx.AsyncClient = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self.http = httpx.AsyncClient(
            timeout=10.0, trust_env=False, event_hooks={"request": [self._keep]}
        )

    async def _keep(self, request: httpx.Request) -> None:
        self.sent.append(request)


async def mint_token(
    sandbox: Sandbox, http: httpx.AsyncClient, *scopes: str, audience: str = AUDIENCE
) -> str:
    """A client-credentials access token of the sandbox's client, for ``audience``."""
    response = await http.post(
        f"{sandbox.url}/oauth2/token",
        data={"grant_type": "client_credentials", "scope": " ".join(scopes), "audience": audience},
        auth=(sandbox.client_id, sandbox.client_secret),
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


async def subscribe(admin: IntelliAuth) -> str:
    """Subscribe ``HOOKS_ORIGIN + HOOK_PATH`` to ``user.created``; return the signing secret."""
    subscription = await admin.webhooks.create(
        WebhookCreate(url=HOOKS_ORIGIN + HOOK_PATH, event_types=[WebhookEventType.USER_CREATED])
    )
    return subscription.signing_secret


def challenge(response: httpx.Response) -> dict[str, str]:
    """The parameters of a response's ``WWW-Authenticate: Bearer ...`` challenge."""
    value = response.headers["www-authenticate"]
    scheme, _, params = value.partition(" ")
    assert scheme == "Bearer"
    return dict(_PARAM.findall(params))


def bearer(token: str) -> dict[str, str]:
    """The ``Authorization`` header of a bearer token."""
    return {"Authorization": f"Bearer {token}"}


def delivery_headers(request: httpx.Request) -> dict[str, str]:
    """A recorded delivery's headers to send again (httpx sets host and length itself)."""
    return {
        name: value
        for name, value in request.headers.items()
        if name.lower() not in {"host", "content-length"}
    }


async def jwks_unavailable(ctx: Any) -> Response:
    """A getJwks handler for an outage: 503 ``temporarily_unavailable``, as the contract says."""
    body = {"error": "temporarily_unavailable", "error_description": "Down for maintenance."}
    return JSONResponse(body, status_code=503, headers={"Retry-After": "1"})
