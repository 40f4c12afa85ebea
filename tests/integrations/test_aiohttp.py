"""examples/aiohttp_app.py on a real aiohttp server, against a sandbox served on loopback."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Any

import attrs
import httpx
import pytest
from aiohttp import web

from intelliauth_client.models.user_create import UserCreate
from intelliauth_client.models.user_created_event import UserCreatedEvent
from intelliauth_ext import IntelliAuth
from intelliauth_ext.testing import Sandbox

from .helpers import (
    AUDIENCE,
    HOOK_PATH,
    HOOKS_ORIGIN,
    DeliveryRecorder,
    SandboxTime,
    bearer,
    challenge,
    delivery_headers,
    jwks_unavailable,
    load_example,
    mint_token,
    subscribe,
)

pytestmark = pytest.mark.anyio
example = load_example("aiohttp_app")


@contextlib.asynccontextmanager
async def serve(app: web.Application) -> AsyncIterator[str]:
    """Run an aiohttp app (cleanup contexts included) on a free loopback port; yield its URL."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@attrs.frozen
class Service:
    """The example service, running."""

    url: str
    inbox: Any  # the example's Inbox: the webhook events it acted on


@pytest.fixture
async def service(sandbox: Sandbox, admin: IntelliAuth) -> AsyncIterator[Service]:
    """The service with the sandbox's client, its webhook secret and the sandbox's time."""
    app = example.create_app(
        audience=AUDIENCE,
        webhook_secrets=[await subscribe(admin)],
        clock=SandboxTime(sandbox),
        tenant_url=sandbox.url,
        client_id=sandbox.client_id,
        client_secret=sandbox.client_secret,
    )
    async with serve(app) as url:
        sandbox.webhooks.connect_to(HOOKS_ORIGIN, url)
        yield Service(url, app[example.INBOX])


async def test_a_token_with_the_scope_lists_users(
    service: Service, sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    """A sandbox token for the API's audience with users:read gets the users, via the client."""
    token = await mint_token(sandbox, http, "users:read")
    response = await http.get(f"{service.url}/users", headers=bearer(token))
    assert response.status_code == 200, response.text
    assert response.json() == {"caller": sandbox.client_id, "users": ["ada@example.com"]}


async def test_no_token_is_challenged_without_an_error(
    service: Service, http: httpx.AsyncClient
) -> None:
    """No token: 401 and a Bearer challenge with realm and scope but no error (RFC 6750 3.1)."""
    response = await http.get(f"{service.url}/users")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="directory", scope="users:read"'


async def test_an_expired_token_is_an_invalid_token(
    service: Service, sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    """A token past its lifetime (and the 30 s leeway) on the sandbox clock: 401 invalid_token."""
    token = await mint_token(sandbox, http, "users:read")
    sandbox.clock.advance(3600 + 31)
    response = await http.get(f"{service.url}/users", headers=bearer(token))
    assert response.status_code == 401
    params = challenge(response)
    assert params["error"] == "invalid_token"
    assert params["error_description"] == "The access token expired"
    assert response.json()["error"] == "invalid_token"


async def test_a_token_for_another_audience_is_an_invalid_token(
    service: Service, sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    """A genuine token minted for another API: 401 invalid_token, not accepted."""
    token = await mint_token(sandbox, http, "users:read", audience="https://other.example.test")
    response = await http.get(f"{service.url}/users", headers=bearer(token))
    assert response.status_code == 401
    assert challenge(response) == {
        "realm": "directory",
        "error": "invalid_token",
        "error_description": "The access token is not meant for this API",
    }


async def test_a_token_without_the_scope_is_insufficient_scope(
    service: Service, sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    """A valid token lacking users:read: 403 insufficient_scope naming the scope needed."""
    token = await mint_token(sandbox, http, "groups:read")
    response = await http.get(f"{service.url}/users", headers=bearer(token))
    assert response.status_code == 403
    params = challenge(response)
    assert (params["error"], params["scope"]) == ("insufficient_scope", "users:read")


async def test_keys_that_can_not_be_fetched_answer_503(
    sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    """A tenant that can not be reached for its keys: 503, the caller's token is not blamed."""
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    app = example.create_app(audience=AUDIENCE, tenant_url=f"http://127.0.0.1:{closed_port}")
    token = await mint_token(sandbox, http, "users:read")
    async with serve(app) as url:
        response = await http.get(f"{url}/users", headers=bearer(token))
    assert response.status_code == 503
    assert "www-authenticate" not in response.headers
    assert response.json()["error"] == "temporarily_unavailable"


async def test_a_key_set_that_can_not_be_fetched_answers_503(
    service: Service, sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    """The tenant's JWKS answering 503: the API answers 503 too, then recovers with the keys."""
    token = await mint_token(sandbox, http, "users:read")
    working = sandbox.handler("getJwks")
    assert working is not None
    sandbox.override("getJwks", jwks_unavailable)
    down = await http.get(f"{service.url}/users", headers=bearer(token))
    sandbox.override("getJwks", working)
    back = await http.get(f"{service.url}/users", headers=bearer(token))
    assert down.status_code == 503
    assert "www-authenticate" not in down.headers
    assert down.json()["error"] == "temporarily_unavailable"
    assert back.status_code == 200, back.text


async def test_a_signed_delivery_reaches_the_handler(
    service: Service, sandbox: Sandbox, admin: IntelliAuth
) -> None:
    """The sandbox's signed user.created delivery is verified and handed to the handler."""
    created = await admin.users.create(UserCreate(email="grace@example.com"))
    (delivery,) = await sandbox.deliver_webhooks()
    assert (delivery["status"], delivery["response_status_code"]) == ("succeeded", 204)
    (event,) = service.inbox.events
    assert isinstance(event, UserCreatedEvent)
    assert (event.data.user.id, event.data.user.email) == (created.id, "grace@example.com")


async def test_a_tampered_delivery_is_refused(
    service: Service,
    sandbox: Sandbox,
    admin: IntelliAuth,
    recorder: DeliveryRecorder,
    http: httpx.AsyncClient,
) -> None:
    """A genuine delivery with its body changed fails the signature check: 400, not handled."""
    await admin.users.create(UserCreate(email="grace@example.com"))
    await sandbox.deliver_webhooks()
    (genuine,) = recorder.sent
    forged = genuine.content.replace(b"grace@example.com", b"mallory@example.com")
    response = await http.post(
        f"{service.url}{HOOK_PATH}", content=forged, headers=delivery_headers(genuine)
    )
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_webhook", "check": "signature"}
    assert len(service.inbox.events) == 1


async def test_a_replayed_delivery_is_refused(
    service: Service,
    sandbox: Sandbox,
    admin: IntelliAuth,
    recorder: DeliveryRecorder,
    http: httpx.AsyncClient,
) -> None:
    """The same signed bytes sent again after the 300 s tolerance: 400 on the timestamp."""
    await admin.users.create(UserCreate(email="grace@example.com"))
    await sandbox.deliver_webhooks()
    (genuine,) = recorder.sent
    sandbox.clock.advance(301)
    response = await http.post(
        f"{service.url}{HOOK_PATH}", content=genuine.content, headers=delivery_headers(genuine)
    )
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_webhook", "check": "timestamp"}


async def test_the_middleware_protects_every_route_but_the_public_ones(
    sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    """token_middleware: 401 without a token, 200 with one, public paths open to all."""
    from intelliauth_ext.aiohttp import VERIFIED_TOKEN, intelliauth_context, token_middleware

    async def who(request: web.Request) -> web.Response:
        return web.json_response({"caller": request[VERIFIED_TOKEN].subject})

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app = web.Application(middlewares=[token_middleware(["users:read"], public=["/health"])])
    app.cleanup_ctx.append(
        intelliauth_context(
            sandbox.url,
            audience=AUDIENCE,
            clock=SandboxTime(sandbox),
            client_id=sandbox.client_id,
            client_secret=sandbox.client_secret,
        )
    )
    app.router.add_get("/who", who)
    app.router.add_get("/health", health)
    async with serve(app) as url:
        missing = await http.get(f"{url}/who")
        token = await mint_token(sandbox, http, "users:read")
        allowed = await http.get(f"{url}/who", headers=bearer(token))
        narrow = await mint_token(sandbox, http, "groups:read")
        refused = await http.get(f"{url}/who", headers=bearer(narrow))
        public = await http.get(f"{url}/health")
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"].startswith("Bearer")
    assert (allowed.status_code, allowed.json()) == (200, {"caller": sandbox.client_id})
    assert refused.status_code == 403
    assert 'error="insufficient_scope"' in refused.headers["www-authenticate"]
    assert public.json() == {"ok": True}
