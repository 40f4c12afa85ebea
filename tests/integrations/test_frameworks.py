"""The FastAPI and aiohttp example apps on real servers, against a sandbox served on loopback.

Every test runs once per framework (the ``app_driver`` fixture); what only one framework
has is in test_fastapi.py and test_aiohttp.py.
"""

from __future__ import annotations

import socket

import httpx
import pytest

from intelliauth_client.models.user_create import UserCreate
from intelliauth_client.models.user_created_event import UserCreatedEvent
from intelliauth_ext import IntelliAuth
from intelliauth_ext.testing import Sandbox

from .drivers import AppDriver, Service
from .helpers import (
    AUDIENCE,
    HOOK_PATH,
    DeliveryRecorder,
    bearer,
    challenge,
    delivery_headers,
    jwks_unavailable,
    mint_token,
)

pytestmark = pytest.mark.anyio


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
    assert service.driver.error_of(response)["error"] == "invalid_token"


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
    app_driver: AppDriver, sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    """A tenant that can not be reached for its keys: 503, the caller's token is not blamed."""
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    app = app_driver.create_app(audience=AUDIENCE, tenant_url=f"http://127.0.0.1:{closed_port}")
    token = await mint_token(sandbox, http, "users:read")
    async with app_driver.serve(app) as url:
        response = await http.get(f"{url}/users", headers=bearer(token))
    assert response.status_code == 503
    assert "www-authenticate" not in response.headers
    assert app_driver.error_of(response)["error"] == "temporarily_unavailable"


async def test_a_key_set_that_can_not_be_fetched_answers_503(
    service: Service, sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    """The tenant's JWKS answering 503: the API answers 503 too, then recovers with the keys.

    The failure is remembered for 1 s (the key set's backoff), on the app's clock.
    """
    token = await mint_token(sandbox, http, "users:read")
    working = sandbox.handler("getJwks")
    assert working is not None
    sandbox.override("getJwks", jwks_unavailable)
    down = await http.get(f"{service.url}/users", headers=bearer(token))
    sandbox.override("getJwks", working)
    still_down = await http.get(f"{service.url}/users", headers=bearer(token))
    sandbox.clock.advance(1)
    back = await http.get(f"{service.url}/users", headers=bearer(token))
    assert still_down.status_code == 503
    assert down.status_code == 503
    assert "www-authenticate" not in down.headers
    assert service.driver.error_of(down)["error"] == "temporarily_unavailable"
    assert back.status_code == 200, back.text


async def test_a_signed_delivery_reaches_the_handler(
    service: Service, sandbox: Sandbox, admin: IntelliAuth
) -> None:
    """The sandbox's signed user.created delivery is verified and handed to the handler."""
    created = await admin.users.create(UserCreate(email="grace@example.com"))
    (delivery,) = await sandbox.deliver_webhooks()
    assert (delivery["status"], delivery["response_status_code"]) == ("succeeded", 204)
    (event,) = service.events
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
    assert service.driver.error_of(response) == {"error": "invalid_webhook", "check": "signature"}
    assert len(service.events) == 1


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
    assert service.driver.error_of(response) == {"error": "invalid_webhook", "check": "timestamp"}
