"""Webhook deliveries: the ``IntelliAuth-Signature`` scheme, checked and produced.

A delivery is a ``POST`` whose header ``IntelliAuth-Signature: t=<unix seconds>,v1=<hex>``
carries the lowercase hex HMAC-SHA256 of ``"<t>.<raw body>"``, keyed with the whole
``whsec_...`` signing secret as UTF-8 bytes. While a rotated secret is in its grace period
the header carries one ``v1`` entry per valid secret; a delivery is genuine when any entry
matches any secret the receiver holds. :func:`verify` checks, in this order: the header's
shape, the signature (in constant time), the timestamp (``|now - t| <= tolerance``, which
stops replays), then the body (JSON, an event envelope) and returns the typed event.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import math
import re
import string
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, TypeAlias

import attrs

from intelliauth_client.models import (
    ApplicationSecretRotatedEvent,
    BreachIncidentOpenedEvent,
    GroupMemberAddedEvent,
    GroupMemberRemovedEvent,
    UserCreatedEvent,
    UserDeletedEvent,
    UserUpdatedEvent,
)
from intelliauth_ext._errors import WebhookVerificationError
from intelliauth_ext._json import json_object

__all__ = [
    "DEFAULT_TOLERANCE",
    "EVENT_ID_HEADER",
    "EVENT_TYPE_HEADER",
    "SIGNATURE_HEADER",
    "UnknownWebhookEvent",
    "WebhookEvent",
    "sign",
    "verify",
]

SIGNATURE_HEADER: Final = "IntelliAuth-Signature"
EVENT_ID_HEADER: Final = "IntelliAuth-Event-Id"
EVENT_TYPE_HEADER: Final = "IntelliAuth-Event-Type"
# The contract's recommended replay window, in seconds.
DEFAULT_TOLERANCE: Final = 300.0

# Twelve digits reach the year 33658: enough, and it keeps int() away from huge strings.
_MAX_TIMESTAMP_DIGITS: Final = 12
_SIGNATURE_HEX_DIGITS: Final = 64
_HEX_DIGITS: Final = frozenset(string.hexdigits)
# Another signature scheme (v0, v2 ...) is skipped, so a platform that adds one later
# does not break receivers that only know v1.
_OTHER_SCHEME: Final = re.compile(r"v[0-9]{1,3}")


@attrs.frozen
class UnknownWebhookEvent:
    """An event of a type this SDK does not know yet: the envelope, with ``data`` as sent.

    Attributes:
        id: The event's id (``evt_...``), the same on every retry.
        type_: The event's type, e.g. ``"user.renamed"``.
        created_at: When the event happened.
        data: The event's data object, untouched.
    """

    id: str
    type_: str
    created_at: datetime.datetime
    data: Mapping[str, Any]


WebhookEvent: TypeAlias = (
    UserCreatedEvent
    | UserUpdatedEvent
    | UserDeletedEvent
    | GroupMemberAddedEvent
    | GroupMemberRemovedEvent
    | ApplicationSecretRotatedEvent
    | BreachIncidentOpenedEvent
    | UnknownWebhookEvent
)
"""Any event :func:`verify` returns; each member has ``id``, ``type_``, ``created_at``, ``data``."""

_EVENT_PARSERS: Final[Mapping[str, Callable[[Mapping[str, Any]], WebhookEvent]]] = {
    "user.created": UserCreatedEvent.from_dict,
    "user.updated": UserUpdatedEvent.from_dict,
    "user.deleted": UserDeletedEvent.from_dict,
    "group.member_added": GroupMemberAddedEvent.from_dict,
    "group.member_removed": GroupMemberRemovedEvent.from_dict,
    "application.secret_rotated": ApplicationSecretRotatedEvent.from_dict,
    "security.breach_incident_opened": BreachIncidentOpenedEvent.from_dict,
}


def _secrets_of(secret: str | Sequence[str]) -> tuple[str, ...]:
    """The secrets as a non-empty tuple of non-empty strings (a caller's mistake raises)."""
    secrets = (secret,) if isinstance(secret, str) else tuple(secret)
    if not secrets:
        raise ValueError("give at least one signing secret")
    for candidate in secrets:
        if not isinstance(candidate, str):
            raise TypeError(f"a signing secret must be a str, not {type(candidate).__name__}")
        if not candidate:
            raise ValueError("a signing secret must not be empty")
    return secrets


def _signature(secret: str, timestamp: int, payload: bytes) -> str:
    """The lowercase hex HMAC-SHA256 of ``"<timestamp>.<payload>"`` keyed with ``secret``."""
    signed = str(timestamp).encode("ascii") + b"." + payload
    return hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


def _header_values(headers: Mapping[str, str], name: str) -> list[str]:
    """Every value of header ``name``, looked up case-insensitively.

    Multi-value header types (httpx ``get_list``, Starlette and Werkzeug ``getlist``,
    aiohttp ``getall``) are asked for all values, so a repeated header is seen as such.
    """
    for method_name in ("get_list", "getlist", "getall"):
        method = getattr(headers, method_name, None)
        if callable(method):
            try:
                values = method(name)
            except KeyError:
                values = []
            return [value if isinstance(value, str) else str(value) for value in values]
    wanted = name.casefold()
    return [
        value if isinstance(value, str) else str(value)
        for key, value in headers.items()
        if isinstance(key, str) and key.casefold() == wanted
    ]


def _header_failure(message: str) -> WebhookVerificationError:
    return WebhookVerificationError("header", message)


def _parse_signature_header(value: str) -> tuple[int, list[str]]:
    """Return ``(t, [v1 signatures])`` from an ``IntelliAuth-Signature`` value.

    Raises:
        WebhookVerificationError: ``header``, when ``t`` is missing, repeated or not a
            decimal number, a ``v1`` is not 64 hex digits, there is no ``v1``, or an
            entry is not ``key=value``.
    """
    timestamp: int | None = None
    signatures: list[str] = []
    for entry in value.split(","):
        key, equals, text = entry.partition("=")
        key, text = key.strip(), text.strip()
        if not equals:
            raise _header_failure(f"an entry of the {SIGNATURE_HEADER} header is not key=value")
        if key == "t":
            if timestamp is not None:
                raise _header_failure(f"the {SIGNATURE_HEADER} header has two t= entries")
            if not (text.isascii() and text.isdigit()) or len(text) > _MAX_TIMESTAMP_DIGITS:
                raise _header_failure("t= is not a decimal Unix time")
            timestamp = int(text)
        elif key == "v1":
            if len(text) != _SIGNATURE_HEX_DIGITS or not _HEX_DIGITS.issuperset(text):
                raise _header_failure("a v1= signature is not 64 hexadecimal digits")
            signatures.append(text.lower())
        elif not _OTHER_SCHEME.fullmatch(key):
            raise _header_failure(f"the {SIGNATURE_HEADER} header has an unknown entry")
    if timestamp is None:
        raise _header_failure(f"the {SIGNATURE_HEADER} header has no t= timestamp")
    if not signatures:
        raise _header_failure(f"the {SIGNATURE_HEADER} header has no v1= signature")
    return timestamp, signatures


def _payload_failure(message: str) -> WebhookVerificationError:
    return WebhookVerificationError("payload", message)


def _parse_event(payload: bytes) -> WebhookEvent:
    """The event in a (verified) body: a generated model, or an ``UnknownWebhookEvent``.

    Raises:
        WebhookVerificationError: ``payload``, when the body is not a JSON object with
            ``id``, ``type``, ``created_at`` (RFC 3339) and ``data`` (an object), or does
            not match its type's schema.
    """
    body = json_object(payload)
    if body is None:
        raise _payload_failure("the body is not a JSON object")
    event_id, event_type = body.get("id"), body.get("type")
    created_at_text, data = body.get("created_at"), body.get("data")
    if not isinstance(event_id, str) or not event_id:
        raise _payload_failure("the event has no id")
    if not isinstance(event_type, str) or not event_type:
        raise _payload_failure("the event has no type")
    if not isinstance(data, dict):
        raise _payload_failure("the event's data is not an object")
    try:
        if not isinstance(created_at_text, str):
            raise TypeError("created_at is not a string")
        created_at = datetime.datetime.fromisoformat(created_at_text)
    except (TypeError, ValueError) as exc:
        raise _payload_failure("the event's created_at is not an RFC 3339 date-time") from exc
    if created_at.tzinfo is None:
        raise _payload_failure("the event's created_at has no UTC offset")

    parser = _EVENT_PARSERS.get(event_type)
    if parser is None:
        return UnknownWebhookEvent(id=event_id, type_=event_type, created_at=created_at, data=data)
    try:
        return parser(body)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise _payload_failure(
            f"the body does not match the {event_type} event schema ({type(exc).__name__}: {exc})"
        ) from exc


def _check_event_headers(headers: Mapping[str, str], event: WebhookEvent) -> None:
    """The unsigned id and type headers, when present, must agree with the signed body.

    A receiver that de-duplicates on ``IntelliAuth-Event-Id`` can then trust the header.
    """
    for name, expected in ((EVENT_ID_HEADER, event.id), (EVENT_TYPE_HEADER, event.type_)):
        values = _header_values(headers, name)
        if values and any(value.strip() != expected for value in values):
            raise _payload_failure(f"the {name} header does not match the signed body")


def verify(
    payload: bytes,
    headers: Mapping[str, str],
    secret: str | Sequence[str],
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> WebhookEvent:
    """Check a webhook delivery and return its event.

    Args:
        payload: The raw request body, exactly as received (before any JSON parsing).
        headers: The request headers (any mapping; names are matched case-insensitively,
            and a multi-value mapping such as ``httpx.Headers`` reveals a repeated header).
        secret: The subscription's signing secret, or several during a rotation: the
            delivery is accepted when any ``v1`` signature matches any of them.
        tolerance: How far, in seconds, ``t`` may be from ``now`` either way (replays
            and clock skew); the contract recommends 300.
        now: The current Unix time, for tests; defaults to ``time.time()``.

    Returns:
        The generated model of the event's type (``UserCreatedEvent`` ...), or an
        ``UnknownWebhookEvent`` for a type this SDK does not know.

    Raises:
        WebhookVerificationError: with ``.check`` ``header``, ``signature``,
            ``timestamp`` or ``payload``; its message never contains a secret.
        TypeError: ``payload`` is not bytes, or a secret is not a str.
        ValueError: no secret, an empty secret, or a negative tolerance.
    """
    if not isinstance(payload, bytes | bytearray | memoryview):
        raise TypeError("verify() needs the raw body as bytes, not a decoded or parsed body")
    body = bytes(payload)
    secrets = _secrets_of(secret)
    if math.isnan(tolerance) or tolerance < 0:
        raise ValueError("tolerance must be a non-negative number of seconds")

    values = _header_values(headers, SIGNATURE_HEADER)
    if not values:
        raise _header_failure(f"the {SIGNATURE_HEADER} header is missing")
    if len(values) > 1:
        raise _header_failure(f"the {SIGNATURE_HEADER} header appears {len(values)} times")
    timestamp, signatures = _parse_signature_header(values[0])

    # Compare every pair, without stopping early, so timing says nothing about which one.
    matched = False
    for candidate in secrets:
        expected = _signature(candidate, timestamp, body)
        for signature in signatures:
            matched |= hmac.compare_digest(expected, signature)
    if not matched:
        raise WebhookVerificationError(
            "signature", "no v1= signature matches the signing secret(s)"
        )

    current = time.time() if now is None else now
    skew = current - timestamp
    if abs(skew) > tolerance:
        where = "old" if skew > 0 else "in the future"
        raise WebhookVerificationError(
            "timestamp",
            f"the signature is {abs(skew):.0f} s {where}, beyond the tolerance of {tolerance:g} s",
        )

    event = _parse_event(body)
    _check_event_headers(headers, event)
    return event


def sign(payload: bytes, secret: str | Sequence[str], *, timestamp: int | None = None) -> str:
    """Return the ``IntelliAuth-Signature`` value for a body, as the platform signs it.

    Args:
        payload: The exact body bytes that will be sent.
        secret: The signing secret, or several (newest first during a rotation's grace
            period): one ``v1`` entry per secret, in the order given.
        timestamp: The Unix time to sign at; defaults to now.

    Returns:
        ``t=<timestamp>,v1=<hex>[,v1=<hex>...]``.

    Raises:
        TypeError: ``payload`` is not bytes, or a secret is not a str.
        ValueError: no secret, an empty secret, or a negative timestamp.
    """
    if not isinstance(payload, bytes | bytearray | memoryview):
        raise TypeError("sign() needs the body as bytes")
    body = bytes(payload)
    secrets = _secrets_of(secret)
    signed_at = int(time.time()) if timestamp is None else timestamp
    if isinstance(signed_at, bool) or not isinstance(signed_at, int) or signed_at < 0:
        raise ValueError("timestamp must be a non-negative integer Unix time")
    entries = [f"t={signed_at}"]
    entries.extend(f"v1={_signature(candidate, signed_at, body)}" for candidate in secrets)
    return ",".join(entries)
