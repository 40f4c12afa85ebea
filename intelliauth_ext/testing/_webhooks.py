"""Webhook subscriptions, their signing secrets, events and deliveries, really POSTed.

An event (:meth:`WebhookHub.publish`) queues one ``pending`` delivery per ``active``
subscription of its type. Nothing is sent until someone awaits
:meth:`WebhookHub.deliver_due` (``Sandbox.deliver_webhooks()``), which makes one attempt
of every delivery that is due, so tests decide when the network is used. A failed attempt
is retried on the contract's schedule, counted on the sandbox clock: after 1 min, 5 min,
30 min, 2 h, 6 h, 12 h and 24 h, 8 attempts in all, then the delivery is ``failed``; a
subscription failing for 3 days in a row becomes ``disabled``. Test deliveries
(sendTestWebhook) are sent at once and never retried.

Each attempt is signed afresh, at the sandbox clock's time, with every valid secret
(the current one first, then rotated ones still in their grace period), by
:func:`intelliauth_ext.webhooks.sign`.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any, Final

import anyio
import attrs
import httpx

from intelliauth_ext.webhooks import EVENT_ID_HEADER, EVENT_TYPE_HEADER, SIGNATURE_HEADER, sign

from ._clock import SandboxClock, parse_rfc3339, rfc3339
from ._ids import new_id
from ._store import Collection
from ._validation import ContractViolation, ViolationLog

Record = dict[str, Any]

EVENT_TYPES: Final = (
    "user.created",
    "user.updated",
    "user.deleted",
    "group.member_added",
    "group.member_removed",
    "application.secret_rotated",
    "security.breach_incident_opened",
)
MAX_ATTEMPTS: Final = 8
# Seconds between attempt n and n + 1 (the contract's createWebhook description).
RETRY_DELAYS: Final = (60, 300, 1800, 7200, 21600, 43200, 86400)
DISABLE_AFTER: Final = 3 * 24 * 3600
DELIVERY_TIMEOUT: Final = 10.0
DELIVERY_RETENTION: Final = 30 * 24 * 3600
_EXCERPT_BYTES: Final = 1024
_USER_AGENT: Final = "IntelliAuth-Webhooks/sandbox"


def new_signing_secret() -> str:
    """Return a fresh ``whsec_...`` secret (32 URL-safe characters after the prefix)."""
    return "whsec_" + secrets.token_urlsafe(24)


@attrs.define
class _SigningKey:
    secret: str
    expires_at: float | None = None  # None: the current secret

    def __repr__(self) -> str:
        return f"_SigningKey(expires_at={self.expires_at!r})"  # never the secret


def _attempt_error(exc: httpx.TransportError) -> str:
    """The delivery's ``error`` for an attempt that got no response."""
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    text = str(exc).lower()
    if "ssl" in text or "certificate" in text or "tls" in text:
        return "tls_error"
    if isinstance(exc, httpx.ConnectError):
        return "connection_refused"
    return "connection_error"


def _existing(collection: Collection[Record], record_id: str) -> Record:
    record = collection.get(record_id)
    if record is None:
        raise KeyError(f"no {collection.kind} {record_id}")
    return record


def event_checker(document: Mapping[str, Any]) -> Callable[[Record], list[str]]:
    """Return a function listing how an event breaks its schema in the spec's ``webhooks``.

    Each event type's schema is the request body of its entry in the top-level
    ``webhooks`` section, checked with formats (date-time, uri ...) as OpenAPI 3.1 does.
    """
    from openapi_schema_validator import OAS31Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    base = "urn:intelliauth:contract"
    registry: Registry[Any] = Registry().with_resource(
        base, Resource.from_contents(dict(document), default_specification=DRAFT202012)
    )
    validators: dict[str, Any] = {}
    for event_type, item in dict(document.get("webhooks") or {}).items():
        schema = item["post"]["requestBody"]["content"]["application/json"]["schema"]
        ref = schema.get("$ref", "")
        target = {"$ref": base + ref} if ref.startswith("#") else schema
        validators[event_type] = OAS31Validator(
            target, registry=registry, format_checker=OAS31Validator.FORMAT_CHECKER
        )

    def problems(event: Record) -> list[str]:
        validator = validators.get(str(event.get("type")))
        if validator is None:
            return [f"the contract has no webhook {event.get('type')!r}"]
        return [
            f"event body: at {error.json_path}: {error.message}"
            for error in validator.iter_errors(event)
        ]

    return problems


def _excerpt(content: bytes) -> str:
    text = content[:_EXCERPT_BYTES].decode("utf-8", "replace")
    return text[:_EXCERPT_BYTES]


@attrs.define
class WebhookHub:
    """The sandbox's webhook state and its sender.

    Args:
        clock: The sandbox clock (signing times, retry schedule, grace periods).
        http: The client deliveries are POSTed with; by default a fresh
            ``httpx.AsyncClient`` per batch (10 s timeout, no proxies from the environment).
            Inject one to send through a ``MockTransport`` or an ASGI receiver.
        contract: The spec document; when given, every published event is checked
            against its schema in ``webhooks`` and a mismatch reported to ``violations``.
        violations: Where contract violations go (raised there when so configured).
    """

    clock: SandboxClock
    http: httpx.AsyncClient | None = None
    contract: Mapping[str, Any] | None = None
    violations: ViolationLog | None = None
    subscriptions: Collection[Record] = attrs.field(factory=lambda: Collection("webhook"))
    deliveries: Collection[Record] = attrs.field(factory=lambda: Collection("delivery"))
    events: dict[str, bytes] = attrs.field(factory=dict)  # event id -> the exact body
    _keys: dict[str, list[_SigningKey]] = attrs.field(factory=dict)  # newest first
    _failing_since: dict[str, float] = attrs.field(factory=dict)
    _routes: dict[str, str] = attrs.field(factory=dict)
    _in_flight: dict[str, anyio.Event] = attrs.field(factory=dict)
    _checker: Callable[[Record], list[str]] | None = None

    def __repr__(self) -> str:
        return (
            f"<WebhookHub {len(self.subscriptions)} subscriptions, "
            f"{len(self.deliveries)} deliveries>"
        )

    # ---------------------------------------------------------------- routing
    def connect_to(self, origin: str, target: str) -> None:
        """Send deliveries for ``origin`` (``https://hooks.example.com``) to ``target``.

        Subscription URLs must be ``https://`` by contract; this points one at a local
        receiver (``http://127.0.0.1:8123``) the way ``curl --connect-to`` would, keeping
        the path and query.
        """
        self._routes[origin.rstrip("/")] = target.rstrip("/")

    def _resolve(self, url: str) -> str:
        parsed = httpx.URL(url)
        origin = f"{parsed.scheme}://{parsed.netloc.decode('ascii')}"
        target = self._routes.get(origin)
        return url if target is None else target + url[len(origin) :]

    # ---------------------------------------------------------------- subscriptions
    def create(self, url: str, description: str | None, event_types: list[str]) -> Record:
        """Store a new ``active`` subscription and return it with its ``signing_secret``."""
        now = self.clock.isoformat()
        webhook: Record = {
            "id": new_id("whk"),
            "url": url,
            "description": description,
            "event_types": list(event_types),
            "status": "active",
            "secret_rotated_at": now,
            "created_at": now,
            "updated_at": now,
        }
        self.subscriptions.add(webhook["id"], webhook)
        secret = new_signing_secret()
        self._keys[webhook["id"]] = [_SigningKey(secret)]
        return {**webhook, "signing_secret": secret}

    def update(self, webhook_id: str, changes: Mapping[str, Any]) -> Record:
        """Apply PATCH ``changes``; pausing cancels pending deliveries, resuming skips them."""
        webhook = _existing(self.subscriptions, webhook_id)
        updated = {**webhook, **changes, "updated_at": self.clock.isoformat()}
        if updated["status"] != webhook["status"]:
            self._cancel_pending(webhook_id)
            self._failing_since.pop(webhook_id, None)
        return self.subscriptions.replace(webhook_id, updated)

    def delete(self, webhook_id: str) -> None:
        """Remove a subscription, its secrets and its delivery log."""
        self.subscriptions.remove(webhook_id)
        self._keys.pop(webhook_id, None)
        self._failing_since.pop(webhook_id, None)
        for delivery in [d for d in self.deliveries.values() if d["webhook_id"] == webhook_id]:
            self.deliveries.remove(delivery["id"])

    def rotate(self, webhook_id: str, grace_period_seconds: int) -> Record:
        """Issue a new secret; the old one keeps signing for the grace period (0: dropped)."""
        now = self.clock.now()
        keys = self.valid_keys(webhook_id)
        current, older = keys[0], keys[1:]
        expires_at = now + grace_period_seconds if grace_period_seconds > 0 else None
        secret = new_signing_secret()
        kept = [_SigningKey(current.secret, expires_at)] if expires_at is not None else []
        self._keys[webhook_id] = [_SigningKey(secret), *kept, *older]
        issued = rfc3339(now)
        webhook = _existing(self.subscriptions, webhook_id)
        self.subscriptions.replace(
            webhook_id, {**webhook, "secret_rotated_at": issued, "updated_at": issued}
        )
        return {
            "webhook_id": webhook_id,
            "signing_secret": secret,
            "created_at": issued,
            "previous_secret_expires_at": rfc3339(expires_at) if expires_at else None,
        }

    def valid_keys(self, webhook_id: str) -> list[_SigningKey]:
        """The current key, then rotated keys whose grace period has not ended."""
        now = self.clock.now()
        keys = [
            key
            for key in self._keys.get(webhook_id, [])
            if key.expires_at is None or key.expires_at > now
        ]
        self._keys[webhook_id] = keys
        return keys

    def valid_secrets(self, webhook_id: str) -> list[str]:
        """The secrets a delivery to ``webhook_id`` is signed with now, newest first."""
        return [key.secret for key in self.valid_keys(webhook_id)]

    # ---------------------------------------------------------------- events
    def publish(self, event_type: str, data: Mapping[str, Any]) -> Record:
        """Record an event and queue a delivery to each active subscription of its type.

        What the routes call when something happened (a user created, a member added, a
        secret rotated), and ``Sandbox.emit_event``; nothing is sent before
        :meth:`deliver_due`.

        Returns:
            The event envelope ``{id, type, created_at, data}``.

        Raises:
            ValueError: ``event_type`` is not one the contract defines.
            ContractViolation: the event does not match its schema (when checking).
        """
        if event_type not in EVENT_TYPES:
            raise ValueError(f"{event_type!r} is not a webhook event type of the contract")
        event = self._new_event(event_type, data)
        self._check(event)
        for webhook in self.subscriptions.values():
            if webhook["status"] == "active" and event_type in webhook["event_types"]:
                self.queue(webhook["id"], event["id"], event_type)
        return event

    def _check(self, event: Record) -> None:
        if self.contract is None or self.violations is None:
            return
        if self._checker is None:
            self._checker = event_checker(self.contract)
        problems = self._checker(event)
        if problems:
            violation = ContractViolation("webhook", "POST", event["type"], None, problems)
            self.violations.report(violation)

    def _new_event(self, event_type: str, data: Mapping[str, Any]) -> Record:
        event: Record = {
            "id": new_id("evt"),
            "type": event_type,
            "created_at": self.clock.isoformat(),
            "data": dict(data),
        }
        self.events[event["id"]] = json.dumps(event, separators=(",", ":")).encode()
        return event

    def queue(
        self, webhook_id: str, event_id: str, event_type: str, *, test: bool = False
    ) -> Record:
        """Add a ``pending`` delivery of a recorded event, due now."""
        now = self.clock.isoformat()
        delivery: Record = {
            "id": new_id("dlv"),
            "webhook_id": webhook_id,
            "event_id": event_id,
            "event_type": event_type,
            "status": "pending",
            "test": test,
            "attempt_count": 0,
            "response_status_code": None,
            "response_body_excerpt": None,
            "error": None,
            "duration_ms": None,
            "created_at": now,
            "last_attempt_at": None,
            "next_attempt_at": now,
        }
        return self.deliveries.add(delivery["id"], delivery)

    def recent_deliveries(self, webhook_id: str) -> list[tuple[int, Record]]:
        """The subscription's deliveries of the last 30 days, newest first."""
        cutoff = self.clock.now() - DELIVERY_RETENTION
        return self.deliveries.sequenced(
            lambda d: d["webhook_id"] == webhook_id and parse_rfc3339(d["created_at"]) >= cutoff
        )

    def _cancel_pending(self, webhook_id: str) -> None:
        for delivery in list(self.deliveries.values()):
            if delivery["webhook_id"] == webhook_id and delivery["status"] == "pending":
                self.deliveries.replace(
                    delivery["id"], {**delivery, "status": "failed", "next_attempt_at": None}
                )

    # ---------------------------------------------------------------- sending
    def _due(self) -> list[Record]:
        now = self.clock.now()
        due = []
        for delivery in self.deliveries.values():
            webhook = self.subscriptions.get(delivery["webhook_id"])
            if (
                delivery["status"] == "pending"
                and delivery["id"] not in self._in_flight
                and webhook is not None
                and webhook["status"] != "paused"
                and parse_rfc3339(delivery["next_attempt_at"]) <= now
            ):
                due.append(delivery)
        return due

    async def deliver_due(self) -> list[Record]:
        """Make one attempt of every pending delivery that is due, oldest first.

        Also waits for attempts another task has in flight, so when it returns nothing is
        being sent. Returns the deliveries attempted by this call, as they ended.
        """
        attempted = []
        due = self._due()
        if due:
            async with self._client() as http:
                for delivery in due:
                    attempted.append(await self.attempt(delivery["id"], http=http))
        for in_flight in list(self._in_flight.values()):
            await in_flight.wait()
        return attempted

    async def run(self, *, interval: float = 0.05) -> None:
        """Deliver due deliveries forever (a served sandbox's background task)."""
        while True:
            await self.deliver_due()
            await anyio.sleep(interval)

    def _client(self) -> contextlib.AbstractAsyncContextManager[httpx.AsyncClient]:
        if self.http is not None:
            return contextlib.nullcontext(self.http)
        return httpx.AsyncClient(timeout=DELIVERY_TIMEOUT, trust_env=False)

    async def send_test(self, webhook_id: str, event_type: str, data: Mapping[str, Any]) -> Record:
        """Send a synthetic event now, whatever the subscription's status; no retries."""
        event = self._new_event(event_type, data)
        delivery = self.queue(webhook_id, event["id"], event_type, test=True)
        async with self._client() as http:
            return await self.attempt(delivery["id"], http=http)

    async def attempt(self, delivery_id: str, *, http: httpx.AsyncClient) -> Record:
        """POST the delivery's event once, freshly signed, and record the outcome."""
        done = anyio.Event()
        self._in_flight[delivery_id] = done
        try:
            return await self._attempt(delivery_id, http)
        finally:
            del self._in_flight[delivery_id]
            done.set()

    async def _attempt(self, delivery_id: str, http: httpx.AsyncClient) -> Record:
        delivery = _existing(self.deliveries, delivery_id)
        webhook = _existing(self.subscriptions, delivery["webhook_id"])
        body = self.events[delivery["event_id"]]
        headers = {
            "Content-Type": "application/json",
            "User-Agent": _USER_AGENT,
            SIGNATURE_HEADER: sign(
                body, self.valid_secrets(webhook["id"]), timestamp=int(self.clock.now())
            ),
            EVENT_ID_HEADER: delivery["event_id"],
            EVENT_TYPE_HEADER: delivery["event_type"],
        }
        attempted_at = self.clock.now()
        started = time.perf_counter()
        status_code: int | None = None
        excerpt: str | None = None
        error: str | None = None
        try:
            response = await http.post(
                self._resolve(webhook["url"]),
                content=body,
                headers=headers,
                timeout=DELIVERY_TIMEOUT,
                follow_redirects=False,
            )
            status_code, excerpt = response.status_code, _excerpt(response.content)
        except httpx.TransportError as exc:
            error = _attempt_error(exc)
        duration_ms = max(0, round((time.perf_counter() - started) * 1000))

        succeeded = status_code is not None and 200 <= status_code < 300
        attempts = delivery["attempt_count"] + 1
        if succeeded:
            status, next_attempt = "succeeded", None
        elif delivery["test"] or attempts >= MAX_ATTEMPTS:
            status, next_attempt = "failed", None
        else:
            status, next_attempt = "pending", attempted_at + RETRY_DELAYS[attempts - 1]
        if not delivery["test"]:
            self._track_health(webhook["id"], succeeded, attempted_at)
        current = self.deliveries.get(delivery_id)
        if current is None:  # the subscription was deleted meanwhile
            return delivery
        ended = {
            **current,
            "status": status if current["status"] == "pending" else current["status"],
            "attempt_count": attempts,
            "response_status_code": status_code,
            "response_body_excerpt": excerpt,
            "error": error,
            "duration_ms": duration_ms,
            "last_attempt_at": rfc3339(attempted_at),
            "next_attempt_at": rfc3339(next_attempt) if next_attempt is not None else None,
        }
        if ended["status"] != "pending":
            ended["next_attempt_at"] = None
        return self.deliveries.replace(delivery_id, ended)

    def _track_health(self, webhook_id: str, succeeded: bool, at: float) -> None:
        """Disable a subscription after 3 days of consecutive failed attempts."""
        if succeeded:
            self._failing_since.pop(webhook_id, None)
            return
        since = self._failing_since.setdefault(webhook_id, at)
        webhook = self.subscriptions.get(webhook_id)
        if webhook is not None and webhook["status"] == "active" and at - since >= DISABLE_AFTER:
            self.update(webhook_id, {"status": "disabled"})
