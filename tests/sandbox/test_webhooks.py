"""Sandbox webhooks: subscriptions, signed deliveries to a real loopback receiver, retries,
secret rotation, events from the users and groups routes, the delivery log and its pages."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import anyio
import attrs
import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from intelliauth_client.models import (
    BreachIncidentOpenedEvent,
    GroupMemberAddedEvent,
    GroupMemberRemovedEvent,
    UserCreatedEvent,
    UserDeletedEvent,
    UserUpdatedEvent,
)
from intelliauth_ext.testing import ContractViolation, Sandbox
from intelliauth_ext.testing._webhooks import RETRY_DELAYS
from intelliauth_ext.webhooks import (
    SIGNATURE_HEADER,
    WebhookVerificationError,
    verify,
)

from .conftest import TokenFactory
from .helpers import bearer

pytestmark = pytest.mark.anyio

HOOK_ORIGIN = "https://hooks.example.test"
HOOK_URL = f"{HOOK_ORIGIN}/intelliauth"
ALL_EVENTS = [
    "user.created",
    "user.updated",
    "user.deleted",
    "group.member_added",
    "group.member_removed",
    "application.secret_rotated",
    "security.breach_incident_opened",
]
BREACH = {
    "incident_id": "inc_01JD8F0H2K4M6P8R0T2V4X6Z8B",
    "kind": "credential_stuffing",
    "severity": "high",
    "title": "Credential stuffing against 42 accounts",
    "summary": "Force a password reset for the affected users.",
    "affected_user_ids": ["usr_01HZX3K9QW7E5R2T8Y6U4I0O1P"],
    "affected_user_count": 42,
    "opened_at": "2025-03-21T03:12:00Z",
    "console_url": "https://tenant.example.test/admin/security/incidents/inc_1",
}


@attrs.define
class Receiver:
    """A loopback HTTP endpoint that records what it receives and answers ``status``."""

    url: str = ""
    status: int = 204
    received: list[tuple[Headers, bytes]] = attrs.field(factory=list)
    arrived: anyio.Event = attrs.field(factory=anyio.Event)

    @property
    def last(self) -> tuple[Headers, bytes]:
        return self.received[-1]


@contextlib.asynccontextmanager
async def serve_receiver() -> AsyncIterator[Receiver]:
    """Run a Starlette receiver with uvicorn on 127.0.0.1, a free port, for the block."""
    receiver = Receiver()

    async def hook(request: Request) -> Response:
        receiver.received.append((Headers(raw=list(request.headers.raw)), await request.body()))
        receiver.arrived.set()
        return PlainTextResponse("ok", receiver.status)

    app = Starlette(routes=[Route("/intelliauth", hook, methods=["POST"])])
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(server.serve)
        try:
            with anyio.fail_after(10):
                while not server.started:
                    if server.should_exit:
                        raise RuntimeError("the receiver could not listen")
                    await anyio.sleep(0.005)
            port = server.servers[0].sockets[0].getsockname()[1]
            receiver.url = f"http://127.0.0.1:{port}"
            yield receiver
        finally:
            server.should_exit = True


@pytest.fixture
async def receiver(sandbox: Sandbox) -> AsyncIterator[Receiver]:
    """A loopback receiver; the sandbox sends HOOK_ORIGIN deliveries to it."""
    async with serve_receiver() as running:
        sandbox.webhooks.connect_to(HOOK_ORIGIN, running.url)
        yield running


@pytest.fixture
async def auth(token: TokenFactory) -> dict[str, str]:
    """Bearer headers of an every-scope client token."""
    return bearer(await token())


async def _subscribe(
    http: httpx.AsyncClient,
    auth: dict[str, str],
    event_types: list[str] | None = None,
    url: str = HOOK_URL,
) -> dict[str, Any]:
    response = await http.post(
        "/api/v1/webhooks",
        json={"url": url, "description": "test", "event_types": event_types or ALL_EVENTS},
        headers=auth,
    )
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def _signatures(headers: Headers) -> list[str]:
    return [e for e in headers[SIGNATURE_HEADER].split(",") if e.startswith("v1=")]


async def test_create_shows_the_secret_once(http: httpx.AsyncClient, auth: dict[str, str]) -> None:
    """createWebhook returns signing_secret; get and list never do."""
    webhook = await _subscribe(http, auth)
    assert webhook["signing_secret"].startswith("whsec_")
    assert webhook["status"] == "active"
    fetched = (await http.get(f"/api/v1/webhooks/{webhook['id']}", headers=auth)).json()["data"]
    assert "signing_secret" not in fetched
    assert fetched["event_types"] == ALL_EVENTS
    listed = (await http.get("/api/v1/webhooks", headers=auth)).json()["data"]
    assert [w["id"] for w in listed] == [webhook["id"]]
    assert "signing_secret" not in listed[0]


async def test_contract_requires_https_urls(http: httpx.AsyncClient, auth: dict[str, str]) -> None:
    """A plain-http URL is refused by the contract (422), hence connect_to for loopback."""
    response = await http.post(
        "/api/v1/webhooks",
        json={"url": "http://127.0.0.1:9/hook", "event_types": ["user.created"]},
        headers=auth,
    )
    assert response.status_code == 422


async def test_test_event_reaches_a_loopback_receiver_signed(
    http: httpx.AsyncClient, auth: dict[str, str], receiver: Receiver
) -> None:
    """sendTestWebhook POSTs at once; the receiver's copy verifies with the secret."""
    webhook = await _subscribe(http, auth)
    response = await http.post(
        f"/api/v1/webhooks/{webhook['id']}/test", json={"event_type": "user.created"}, headers=auth
    )
    assert response.status_code == 200, response.text
    delivery = response.json()["data"]
    assert delivery["test"] is True
    assert delivery["status"] == "succeeded"
    assert delivery["attempt_count"] == 1
    assert delivery["response_status_code"] == 204
    assert delivery["next_attempt_at"] is None

    headers, body = receiver.last
    assert headers["content-type"] == "application/json"
    assert headers["intelliauth-event-id"] == delivery["event_id"]
    assert headers["intelliauth-event-type"] == "user.created"
    event = verify(body, headers, webhook["signing_secret"])
    assert isinstance(event, UserCreatedEvent)
    assert event.id == delivery["event_id"]


async def test_a_user_created_through_the_api_is_delivered(
    sandbox: Sandbox, http: httpx.AsyncClient, auth: dict[str, str], receiver: Receiver
) -> None:
    """createUser queues a user.created delivery; deliver_webhooks sends it, the log shows it."""
    webhook = await _subscribe(http, auth)
    created = await http.post(
        "/api/v1/users", json={"email": "grace@example.com", "name": "Grace"}, headers=auth
    )
    assert created.status_code == 201
    assert receiver.received == []  # nothing is sent until the sandbox delivers

    attempted = await sandbox.deliver_webhooks()
    assert len(attempted) == 1
    headers, body = receiver.last
    event = verify(body, headers, webhook["signing_secret"])
    assert isinstance(event, UserCreatedEvent)
    assert event.data.user.email == "grace@example.com"
    assert event.data.user.id == created.json()["data"]["id"]

    deliveries = await http.get(f"/api/v1/webhooks/{webhook['id']}/deliveries", headers=auth)
    assert deliveries.status_code == 200
    [delivery] = deliveries.json()["data"]
    assert delivery["event_type"] == "user.created"
    assert delivery["status"] == "succeeded"
    assert delivery["response_status_code"] == 204
    assert delivery["event_id"] == event.id
    one = await http.get(
        f"/api/v1/webhooks/{webhook['id']}/deliveries/{delivery['id']}", headers=auth
    )
    assert one.json()["data"] == delivery
    assert await sandbox.deliver_webhooks() == []  # nothing left to send


async def test_user_updates_and_deletes_are_delivered(
    sandbox: Sandbox, http: httpx.AsyncClient, auth: dict[str, str], receiver: Receiver
) -> None:
    """updateUser sends user.updated with changed_fields; deleteUser sends user.deleted."""
    webhook = await _subscribe(http, auth, ["user.updated", "user.deleted"])
    user_id = sandbox.add_user("lin@example.com", name="Lin")["id"]
    await http.patch(f"/api/v1/users/{user_id}", json={"name": "Lin Chen"}, headers=auth)
    await http.delete(f"/api/v1/users/{user_id}", headers=auth)
    await sandbox.deliver_webhooks()

    events = [
        verify(body, headers, webhook["signing_secret"]) for headers, body in receiver.received
    ]
    updated, deleted = events
    assert isinstance(updated, UserUpdatedEvent)
    assert updated.data.changed_fields == ["name"]
    assert updated.data.user.name == "Lin Chen"
    assert isinstance(deleted, UserDeletedEvent)
    assert deleted.data.user_id == user_id
    assert deleted.data.email == "lin@example.com"


async def test_group_membership_changes_are_delivered(
    sandbox: Sandbox, http: httpx.AsyncClient, auth: dict[str, str], receiver: Receiver
) -> None:
    """addGroupMember and removeGroupMember send group.member_added / _removed."""
    webhook = await _subscribe(http, auth, ["group.member_added", "group.member_removed"])
    group = (await http.post("/api/v1/groups", json={"name": "Finance"}, headers=auth)).json()
    group_id = group["data"]["id"]
    user_id = sandbox.test_user["id"]
    added = await http.post(
        f"/api/v1/groups/{group_id}/members", json={"user_id": user_id}, headers=auth
    )
    assert added.status_code == 201
    removed = await http.delete(f"/api/v1/groups/{group_id}/members/{user_id}", headers=auth)
    assert removed.status_code == 204
    await sandbox.deliver_webhooks()

    events = [
        verify(body, headers, webhook["signing_secret"]) for headers, body in receiver.received
    ]
    assert [type(e) for e in events] == [GroupMemberAddedEvent, GroupMemberRemovedEvent]
    for event in events:
        assert isinstance(event, GroupMemberAddedEvent | GroupMemberRemovedEvent)
        assert (event.data.group_id, event.data.group_name) == (group_id, "Finance")
        assert event.data.user_id == user_id


async def test_a_bulk_import_sends_user_created_per_created_row(
    sandbox: Sandbox, http: httpx.AsyncClient, auth: dict[str, str], receiver: Receiver
) -> None:
    """importUsers sends user.created for each row it creates, user.updated for an upsert."""
    webhook = await _subscribe(http, auth, ["user.created", "user.updated"])
    sandbox.add_user("old@example.com", name="Old")
    rows = [{"email": "new1@example.com"}, {"email": "new2@example.com"}]
    rows.append({"email": "old@example.com", "name": "Renamed"})
    accepted = await http.post(
        "/api/v1/users/imports", json={"users": rows, "mode": "upsert"}, headers=auth
    )
    job = accepted.json()["data"]
    while job["status"] != "completed":
        job = (await http.get(f"/api/v1/users/imports/{job['id']}", headers=auth)).json()["data"]
    await sandbox.deliver_webhooks()

    events = [
        verify(body, headers, webhook["signing_secret"]) for headers, body in receiver.received
    ]
    created = [e.data.user.email for e in events if isinstance(e, UserCreatedEvent)]
    updated = [e for e in events if isinstance(e, UserUpdatedEvent)]
    assert created == ["new1@example.com", "new2@example.com"]
    assert [(e.data.user.email, e.data.changed_fields) for e in updated] == [
        ("old@example.com", ["name"])
    ]


async def test_deleting_a_user_or_a_group_removes_members_with_events(
    sandbox: Sandbox, http: httpx.AsyncClient, auth: dict[str, str], receiver: Receiver
) -> None:
    """deleteUser and deleteGroup send group.member_removed for every membership they end."""
    webhook = await _subscribe(http, auth, ["group.member_removed", "user.deleted"])
    groups = []
    for name in ("Finance", "Audit"):
        created = await http.post("/api/v1/groups", json={"name": name}, headers=auth)
        groups.append(created.json()["data"]["id"])
    leaving = sandbox.add_user("leaving@example.com")["id"]
    staying = sandbox.add_user("staying@example.com")["id"]
    for group_id in groups:
        for user_id in (leaving, staying):
            member = {"user_id": user_id}
            await http.post(f"/api/v1/groups/{group_id}/members", json=member, headers=auth)

    assert (await http.delete(f"/api/v1/users/{leaving}", headers=auth)).status_code == 204
    assert (await http.delete(f"/api/v1/groups/{groups[1]}", headers=auth)).status_code == 204
    await sandbox.deliver_webhooks()

    events = [
        verify(body, headers, webhook["signing_secret"]) for headers, body in receiver.received
    ]
    removed = [
        (e.data.group_id, e.data.group_name, e.data.user_id)
        for e in events
        if isinstance(e, GroupMemberRemovedEvent)
    ]
    assert removed == [
        (groups[0], "Finance", leaving),
        (groups[1], "Audit", leaving),
        (groups[1], "Audit", staying),
    ]
    assert [type(e) for e in events][2] is UserDeletedEvent  # after the user left its groups
    members = await http.get(f"/api/v1/groups/{groups[0]}/members", headers=auth)
    assert [m["user_id"] for m in members.json()["data"]] == [staying]


async def test_breach_incident_from_emit_event(
    sandbox: Sandbox, http: httpx.AsyncClient, auth: dict[str, str], receiver: Receiver
) -> None:
    """sandbox.emit_event opens a security.breach_incident_opened event like the platform."""
    webhook = await _subscribe(http, auth, ["security.breach_incident_opened"])
    event = sandbox.emit_event("security.breach_incident_opened", BREACH)
    assert event["id"].startswith("evt_")
    rotated = {
        "application_id": "app_01J9ZQ4M6T8W2X3Y4Z5A6B7C8D",
        "client_id": "3f8a1c9e27b64d0e9a5b",
        "rotated_at": "2025-03-05T12:00:00Z",
        "previous_secret_expires_at": None,
    }
    sandbox.emit_event("application.secret_rotated", rotated)  # not subscribed: no delivery
    [delivery] = await sandbox.deliver_webhooks()
    assert delivery["event_id"] == event["id"]
    headers, body = receiver.last
    parsed = verify(body, headers, webhook["signing_secret"])
    assert isinstance(parsed, BreachIncidentOpenedEvent)
    assert parsed.data.affected_user_count == 42


def test_emitted_events_must_match_the_contract(sandbox: Sandbox) -> None:
    """emit_event checks data against the event's schema, and refuses unknown types."""
    with pytest.raises(ContractViolation, match="affected_user_count"):
        sandbox.emit_event("security.breach_incident_opened", {**BREACH, "affected_user_count": -1})
    sandbox.violation_log.violations.clear()
    with pytest.raises(ValueError, match="not a webhook event type"):
        sandbox.emit_event("user.renamed", {})


async def test_rotation_with_a_grace_period_signs_with_both_secrets(
    sandbox: Sandbox, http: httpx.AsyncClient, auth: dict[str, str], receiver: Receiver
) -> None:
    """During the grace period a delivery carries v1=<new>,v1=<old>; after it, only <new>."""
    webhook = await _subscribe(http, auth, ["security.breach_incident_opened"])
    old_secret = webhook["signing_secret"]
    rotated = await http.post(
        f"/api/v1/webhooks/{webhook['id']}/rotate-secret",
        json={"grace_period_seconds": 3600},
        headers=auth,
    )
    assert rotated.status_code == 200, rotated.text
    secret = rotated.json()["data"]
    new_secret = secret["signing_secret"]
    assert new_secret != old_secret
    assert secret["previous_secret_expires_at"] is not None

    sandbox.emit_event("security.breach_incident_opened", BREACH)
    await sandbox.deliver_webhooks()
    headers, body = receiver.last
    assert len(_signatures(headers)) == 2
    for key in (old_secret, new_secret):
        assert isinstance(verify(body, headers, key), BreachIncidentOpenedEvent)

    sandbox.clock.advance(3601)
    sandbox.emit_event("security.breach_incident_opened", BREACH)
    await sandbox.deliver_webhooks()
    headers, body = receiver.last
    assert len(_signatures(headers)) == 1
    now = sandbox.clock.now()
    assert verify(body, headers, new_secret, now=now)
    with pytest.raises(WebhookVerificationError) as caught:
        verify(body, headers, old_secret, now=now)
    assert caught.value.check == "signature"


async def test_rotation_without_a_body_drops_the_old_secret_at_once(
    sandbox: Sandbox, http: httpx.AsyncClient, auth: dict[str, str], receiver: Receiver
) -> None:
    """The body is optional; the default grace period is 0: one signature, the new one."""
    webhook = await _subscribe(http, auth, ["security.breach_incident_opened"])
    rotated = await http.post(f"/api/v1/webhooks/{webhook['id']}/rotate-secret", headers=auth)
    assert rotated.status_code == 200, rotated.text
    assert rotated.json()["data"]["previous_secret_expires_at"] is None
    sandbox.emit_event("security.breach_incident_opened", BREACH)
    await sandbox.deliver_webhooks()
    headers, body = receiver.last
    assert len(_signatures(headers)) == 1
    assert verify(body, headers, rotated.json()["data"]["signing_secret"])
    with pytest.raises(WebhookVerificationError):
        verify(body, headers, webhook["signing_secret"])


async def test_failed_attempts_are_retried_on_the_schedule(
    sandbox: Sandbox, http: httpx.AsyncClient, auth: dict[str, str], receiver: Receiver
) -> None:
    """A 500 leaves the delivery pending until 1 min later; the retry keeps the event id."""
    webhook = await _subscribe(http, auth, ["security.breach_incident_opened"])
    receiver.status = 500
    sandbox.emit_event("security.breach_incident_opened", BREACH)
    [first] = await sandbox.deliver_webhooks()
    assert first["status"] == "pending"
    assert first["attempt_count"] == 1
    assert first["response_status_code"] == 500
    assert first["response_body_excerpt"] == "ok"
    assert first["next_attempt_at"] is not None
    assert await sandbox.deliver_webhooks() == []  # not due yet

    receiver.status = 200
    sandbox.clock.advance(60)
    [second] = await sandbox.deliver_webhooks()
    assert second["id"] == first["id"]
    assert (second["status"], second["attempt_count"]) == ("succeeded", 2)
    ids = {headers["intelliauth-event-id"] for headers, _ in receiver.received}
    assert ids == {first["event_id"]}
    failed = await http.get(
        f"/api/v1/webhooks/{webhook['id']}/deliveries", params={"status": "pending"}, headers=auth
    )
    assert failed.json()["data"] == []


async def test_eight_failed_attempts_fail_the_delivery(
    sandbox: Sandbox, http: httpx.AsyncClient, auth: dict[str, str], token: TokenFactory
) -> None:
    """With no listener every attempt is connection_refused; the 8th fails the delivery."""
    sandbox.webhooks.connect_to(HOOK_ORIGIN, "http://127.0.0.1:1")
    webhook = await _subscribe(http, auth, ["security.breach_incident_opened"])
    sandbox.emit_event("security.breach_incident_opened", BREACH)
    delivery: dict[str, Any] = {}
    for delay in (*RETRY_DELAYS, 0):
        [delivery] = await sandbox.deliver_webhooks()
        sandbox.clock.advance(delay)
    assert delivery["status"] == "failed"
    assert delivery["attempt_count"] == 8
    assert delivery["error"] == "connection_refused"
    assert delivery["response_status_code"] is None
    assert delivery["next_attempt_at"] is None
    assert await sandbox.deliver_webhooks() == []
    path = f"/api/v1/webhooks/{webhook['id']}"
    auth = bearer(await token())  # the first token expired while the clock moved
    assert (await http.get(path, headers=auth)).json()["data"]["status"] == "active"

    # Failing for 3 days in a row disables the subscription.
    sandbox.clock.advance(2 * 24 * 3600)
    sandbox.emit_event("security.breach_incident_opened", BREACH)
    [last] = await sandbox.deliver_webhooks()
    assert last["status"] == "failed"
    auth = bearer(await token())
    assert (await http.get(path, headers=auth)).json()["data"]["status"] == "disabled"


async def test_redeliver_sends_the_same_event_again(
    sandbox: Sandbox, http: httpx.AsyncClient, auth: dict[str, str], receiver: Receiver
) -> None:
    """redeliverWebhookDelivery queues a new pending delivery of the same event (202)."""
    webhook = await _subscribe(http, auth, ["security.breach_incident_opened"])
    sandbox.emit_event("security.breach_incident_opened", BREACH)
    [original] = await sandbox.deliver_webhooks()
    response = await http.post(
        f"/api/v1/webhooks/{webhook['id']}/deliveries/{original['id']}/redeliver", headers=auth
    )
    assert response.status_code == 202, response.text
    queued = response.json()["data"]
    assert queued["id"] != original["id"]
    assert queued["event_id"] == original["event_id"]
    assert (queued["status"], queued["attempt_count"]) == ("pending", 0)
    [sent] = await sandbox.deliver_webhooks()
    assert sent["status"] == "succeeded"
    first, second = receiver.received
    assert first[1] == second[1]  # the same body, freshly signed
    assert verify(second[1], second[0], webhook["signing_secret"])


async def test_paused_subscriptions_record_nothing_and_refuse_redelivery(
    sandbox: Sandbox, http: httpx.AsyncClient, auth: dict[str, str], receiver: Receiver
) -> None:
    """status=paused: no deliveries, redeliver is 409; disabled can not be set (422)."""
    webhook = await _subscribe(http, auth, ["security.breach_incident_opened"])
    sandbox.emit_event("security.breach_incident_opened", BREACH)
    [original] = await sandbox.deliver_webhooks()
    path = f"/api/v1/webhooks/{webhook['id']}"
    paused = await http.patch(path, json={"status": "paused"}, headers=auth)
    assert paused.json()["data"]["status"] == "paused"
    sandbox.emit_event("security.breach_incident_opened", BREACH)
    assert await sandbox.deliver_webhooks() == []
    redeliver = await http.post(f"{path}/deliveries/{original['id']}/redeliver", headers=auth)
    assert redeliver.status_code == 409
    assert redeliver.json()["error"] == "conflict"
    disabled = await http.patch(path, json={"status": "disabled"}, headers=auth)
    assert disabled.status_code == 422
    resumed = await http.patch(path, json={"status": "active"}, headers=auth)
    assert resumed.json()["data"]["status"] == "active"
    assert len(receiver.received) == 1


async def test_delete_removes_the_subscription_and_its_log(
    sandbox: Sandbox, http: httpx.AsyncClient, auth: dict[str, str], receiver: Receiver
) -> None:
    """deleteWebhook is a 204; the subscription and its deliveries are then 404."""
    webhook = await _subscribe(http, auth, ["security.breach_incident_opened"])
    sandbox.emit_event("security.breach_incident_opened", BREACH)
    [delivery] = await sandbox.deliver_webhooks()
    path = f"/api/v1/webhooks/{webhook['id']}"
    assert (await http.delete(path, headers=auth)).status_code == 204
    assert (await http.get(path, headers=auth)).status_code == 404
    gone = await http.get(f"{path}/deliveries/{delivery['id']}", headers=auth)
    assert gone.status_code == 404
    assert len(sandbox.webhooks.deliveries) == 0


async def test_webhooks_and_deliveries_are_paginated(
    sandbox: Sandbox, http: httpx.AsyncClient, auth: dict[str, str], receiver: Receiver
) -> None:
    """Both listings are newest first, in pages of `limit`, joined by next_cursor; filters apply."""
    created = [await _subscribe(http, auth, ["security.breach_incident_opened"]) for _ in range(3)]
    first = (await http.get("/api/v1/webhooks", params={"limit": 2}, headers=auth)).json()
    assert [w["id"] for w in first["data"]] == [created[2]["id"], created[1]["id"]]
    cursor = first["meta"]["next_cursor"]
    assert cursor
    second = (
        await http.get("/api/v1/webhooks", params={"limit": 2, "cursor": cursor}, headers=auth)
    ).json()
    assert [w["id"] for w in second["data"]] == [created[0]["id"]]
    assert second["meta"]["next_cursor"] is None

    webhook_id = created[0]["id"]
    events = [sandbox.emit_event("security.breach_incident_opened", BREACH) for _ in range(3)]
    await sandbox.deliver_webhooks()
    path = f"/api/v1/webhooks/{webhook_id}/deliveries"
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await http.get(path, params=params, headers=auth)).json()
        seen.extend(d["event_id"] for d in page["data"])
        cursor = page["meta"]["next_cursor"]
        if cursor is None:
            break
    assert seen == [e["id"] for e in reversed(events)]

    by_type = await http.get(path, params={"event_type": "user.created"}, headers=auth)
    assert by_type.json()["data"] == []
    by_status = await http.get(path, params={"status": "succeeded"}, headers=auth)
    assert len(by_status.json()["data"]) == 3


async def test_unknown_ids_are_404(http: httpx.AsyncClient, auth: dict[str, str]) -> None:
    """Well-formed ids that do not exist are not_found for every webhook route."""
    missing = "/api/v1/webhooks/whk_01JC5E7G9J1L3N5Q7S9U1W3Y5A"
    for response in (
        await http.get(missing, headers=auth),
        await http.patch(missing, json={"status": "paused"}, headers=auth),
        await http.delete(missing, headers=auth),
        await http.post(f"{missing}/rotate-secret", headers=auth),
        await http.get(f"{missing}/deliveries", headers=auth),
        await http.post(f"{missing}/test", json={"event_type": "user.created"}, headers=auth),
    ):
        assert response.status_code == 404
        assert response.json()["error"] == "not_found"


async def test_an_injected_client_carries_the_deliveries(token: TokenFactory) -> None:
    """Sandbox(webhook_client=...) sends through that client (here an httpx.MockTransport)."""
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(202, text="queued")

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as sender:
        sandbox = Sandbox(webhook_client=sender)
        async with sandbox.http_client() as http:
            tokens = await http.post(
                "/oauth2/token",
                data={"grant_type": "client_credentials"},
                auth=(sandbox.client_id, sandbox.client_secret),
            )
            auth = bearer(tokens.json()["access_token"])
            webhook = await _subscribe(http, auth, ["user.created"])
            await http.post("/api/v1/users", json={"email": "kay@example.com"}, headers=auth)
            [delivery] = await sandbox.deliver_webhooks()
        sandbox.check_violations()
    assert delivery["response_status_code"] == 202
    assert delivery["response_body_excerpt"] == "queued"
    [request] = seen
    assert str(request.url) == HOOK_URL
    assert isinstance(
        verify(request.content, request.headers, webhook["signing_secret"]), UserCreatedEvent
    )


async def test_a_served_sandbox_delivers_in_the_background() -> None:
    """Sandbox.serve(background_webhooks=True) sends deliveries without being asked."""
    async with serve_receiver() as receiver, Sandbox.serve(background_webhooks=True) as sandbox:
        sandbox.webhooks.connect_to(HOOK_ORIGIN, receiver.url)
        async with httpx.AsyncClient(base_url=sandbox.url) as http:
            tokens = await http.post(
                "/oauth2/token",
                data={"grant_type": "client_credentials"},
                auth=(sandbox.client_id, sandbox.client_secret),
            )
            auth = bearer(tokens.json()["access_token"])
            webhook = await _subscribe(http, auth, ["user.created"])
            await http.post("/api/v1/users", json={"email": "bo@example.com"}, headers=auth)
            with anyio.fail_after(5):
                await receiver.arrived.wait()
            await sandbox.deliver_webhooks()  # waits for the attempt in flight to be recorded
        headers, body = receiver.last
        assert isinstance(verify(body, headers, webhook["signing_secret"]), UserCreatedEvent)
        [delivery] = sandbox.webhooks.deliveries.values()
        assert delivery["status"] == "succeeded"
