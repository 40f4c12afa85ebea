"""Webhooks, public: ``verify`` a delivery's signature and get its typed event; ``sign`` one.

In a receiver::

    from intelliauth_ext import webhooks

    try:
        event = webhooks.verify(await request.body(), request.headers, secret)
    except webhooks.WebhookVerificationError:
        return Response(status_code=400)
    match event:
        case UserCreatedEvent():
            ...
"""

from intelliauth_ext._errors import WebhookVerificationError
from intelliauth_ext._webhooks import (
    DEFAULT_TOLERANCE,
    EVENT_ID_HEADER,
    EVENT_TYPE_HEADER,
    SIGNATURE_HEADER,
    UnknownWebhookEvent,
    WebhookEvent,
    sign,
    verify,
)

__all__ = [
    "DEFAULT_TOLERANCE",
    "EVENT_ID_HEADER",
    "EVENT_TYPE_HEADER",
    "SIGNATURE_HEADER",
    "UnknownWebhookEvent",
    "WebhookEvent",
    "WebhookVerificationError",
    "sign",
    "verify",
]
