"""Webhook subscriptions, secret rotation, the delivery log, redelivery and test events.

The state and the sender live in :mod:`intelliauth_ext.testing._webhooks`; other routes
announce what happened with ``ctx.sandbox.webhooks.publish``, a no-op while nobody is
subscribed.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from .._envelopes import ApiError, data_response, no_content, not_found
from .._routing import Context, OperationRouter, SandboxState
from .._tenant import Record

router = OperationRouter()
_WRITABLE = ("url", "description", "event_types", "status")


def _require_webhook(ctx: Context) -> Record:
    webhook_id = ctx.path("webhook_id")
    webhook = ctx.sandbox.webhooks.subscriptions.get(webhook_id)
    if webhook is None:
        raise not_found("webhook", webhook_id)
    return webhook


def _require_delivery(ctx: Context, webhook: Record) -> Record:
    delivery_id = ctx.path("delivery_id")
    delivery = ctx.sandbox.webhooks.deliveries.get(delivery_id)
    if delivery is None or delivery["webhook_id"] != webhook["id"]:
        raise not_found("delivery", delivery_id)
    return delivery


@router.operation("listWebhooks")
async def list_webhooks(ctx: Context) -> Response:
    """Newest first; optional ``status`` filter; secrets never shown."""
    status = ctx.query("status")
    entries = ctx.sandbox.webhooks.subscriptions.sequenced(
        lambda webhook: status is None or webhook["status"] == status
    )
    return ctx.page(entries, filters={"status": status})


@router.operation("createWebhook")
async def create_webhook(ctx: Context) -> Response:
    """Create an active subscription (201); the only response showing the signing secret."""
    body = ctx.json()
    webhook = ctx.sandbox.webhooks.create(
        body["url"], body.get("description"), list(body["event_types"])
    )
    return data_response(
        webhook,
        status=201,
        headers={"Location": f"{ctx.sandbox.url}/api/v1/webhooks/{webhook['id']}"},
    )


@router.operation("getWebhook")
async def get_webhook(ctx: Context) -> Response:
    """One subscription by id, without its secret."""
    return data_response(_require_webhook(ctx))


@router.operation("updateWebhook")
async def update_webhook(ctx: Context) -> Response:
    """PATCH semantics; ``status: disabled`` is the platform's to set (422)."""
    webhook = _require_webhook(ctx)
    body = ctx.json()
    if body.get("status") == "disabled":
        raise ApiError(
            "validation_failed",
            "status may only be set to active or paused.",
            details={"field": "status"},
        )
    changes = {key: body[key] for key in _WRITABLE if key in body}
    return data_response(ctx.sandbox.webhooks.update(webhook["id"], changes))


@router.operation("deleteWebhook")
async def delete_webhook(ctx: Context) -> Response:
    """Delete the subscription and its delivery log (204)."""
    ctx.sandbox.webhooks.delete(_require_webhook(ctx)["id"])
    return no_content()


@router.operation("rotateWebhookSecret")
async def rotate_webhook_secret(ctx: Context) -> Response:
    """Issue a new secret; during ``grace_period_seconds`` deliveries carry both signatures."""
    webhook = _require_webhook(ctx)
    body = ctx.json() if ctx.body.strip() else {}
    grace = body.get("grace_period_seconds", 0)
    return data_response(ctx.sandbox.webhooks.rotate(webhook["id"], int(grace)))


@router.operation("listWebhookDeliveries")
async def list_webhook_deliveries(ctx: Context) -> Response:
    """The last 30 days of deliveries, newest first; filters ``status`` and ``event_type``."""
    webhook = _require_webhook(ctx)
    status, event_type = ctx.query("status"), ctx.query("event_type")
    entries = [
        (sequence, delivery)
        for sequence, delivery in ctx.sandbox.webhooks.recent_deliveries(webhook["id"])
        if (status is None or delivery["status"] == status)
        and (event_type is None or delivery["event_type"] == event_type)
    ]
    return ctx.page(entries, filters={"status": status, "event_type": event_type})


@router.operation("getWebhookDelivery")
async def get_webhook_delivery(ctx: Context) -> Response:
    """One delivery with the outcome of its latest attempt."""
    return data_response(_require_delivery(ctx, _require_webhook(ctx)))


@router.operation("redeliverWebhookDelivery")
async def redeliver_webhook_delivery(ctx: Context) -> Response:
    """Queue a new delivery of the same event (202, ``pending``); 409 while paused."""
    webhook = _require_webhook(ctx)
    delivery = _require_delivery(ctx, webhook)
    if webhook["status"] == "paused":
        raise ApiError(
            "conflict",
            "The subscription is paused; resume it before redelivering.",
            details={"status": "paused"},
        )
    queued = ctx.sandbox.webhooks.queue(
        webhook["id"], delivery["event_id"], delivery["event_type"], test=delivery["test"]
    )
    return data_response(queued, status=202)


def _sample_data(sandbox: SandboxState, event_type: str) -> Any:
    """The contract's example data for ``event_type`` (the test event's payload)."""
    try:
        post = sandbox.contract.document["webhooks"][event_type]["post"]
        examples = post["requestBody"]["content"]["application/json"]["examples"]
        return next(iter(examples.values()))["value"]["data"]
    except (KeyError, TypeError, StopIteration):
        return {}


@router.operation("sendTestWebhook")
async def send_test_webhook(ctx: Context) -> Response:
    """Send a synthetic event now and return the test delivery with its outcome."""
    webhook = _require_webhook(ctx)
    event_type = str(ctx.json()["event_type"])
    delivery = await ctx.sandbox.webhooks.send_test(
        webhook["id"], event_type, _sample_data(ctx.sandbox, event_type)
    )
    return data_response(delivery)


__all__ = ["router"]
