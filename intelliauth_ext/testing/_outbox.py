"""The sandbox's outbox: the SMS and email messages a tenant would have sent.

A tenant sends a one-time code to an SMS or email factor when it is enrolled and when a
sign-in challenges it. The sandbox sends nothing anywhere: it appends each message here,
where a test (``sandbox.outbox``, the ``intelliauth_outbox`` fixture), the demo or a
person (``GET /_sandbox/outbox``) reads the code the user would have received.

The served sandbox writes from its server thread while a test reads from another, so
the messages are kept behind a lock.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any, Literal

import attrs

__all__ = ["Outbox", "OutboxMessage"]

Channel = Literal["sms", "email"]
Purpose = Literal["mfa_challenge", "mfa_enrollment"]


@attrs.frozen
class OutboxMessage:
    """One message the sandbox "sent": a one-time code to a phone number or an address.

    Attributes:
        channel: ``sms`` or ``email``.
        to: The phone number (E.164) or email address it went to.
        code: The one-time code in it.
        purpose: ``mfa_challenge`` (a sign-in's second step) or ``mfa_enrollment`` (the
            first code of a new factor).
        user_id: The user it was sent for.
        factor_id: The SMS or email factor the code belongs to.
        sent_at: When it was sent (RFC 3339, on the sandbox clock).
    """

    channel: Channel
    to: str
    code: str
    purpose: Purpose
    user_id: str
    factor_id: str
    sent_at: str

    @property
    def text(self) -> str:
        """The message as the user would read it."""
        return f"Your IntelliAuth verification code is {self.code}."

    def as_dict(self) -> dict[str, Any]:
        """The message as JSON (what ``GET /_sandbox/outbox`` lists)."""
        return {**attrs.asdict(self), "text": self.text}


class Outbox:
    """Every message sent so far, oldest first; ``latest()`` finds the one a test wants."""

    def __init__(self) -> None:
        self._messages: list[OutboxMessage] = []
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<Outbox {len(self)} messages>"

    def __len__(self) -> int:
        with self._lock:
            return len(self._messages)

    def __iter__(self) -> Iterator[OutboxMessage]:
        return iter(self.messages())

    def send(self, message: OutboxMessage) -> None:
        """Keep ``message`` (what a tenant would hand to its SMS or email provider)."""
        with self._lock:
            self._messages.append(message)

    def messages(self, *, to: str | None = None) -> list[OutboxMessage]:
        """The messages sent, oldest first; only those sent to ``to`` when given.

        Args:
            to: A phone number or an email address (compared case-insensitively).
        """
        with self._lock:
            sent = list(self._messages)
        if to is None:
            return sent
        wanted = to.casefold()
        return [message for message in sent if message.to.casefold() == wanted]

    def latest(self, *, to: str | None = None) -> OutboxMessage:
        """The last message sent (to ``to``, when given).

        Raises:
            LookupError: Nothing was sent (to ``to``).
        """
        sent = self.messages(to=to)
        if not sent:
            raise LookupError("the outbox is empty" + (f" for {to}" if to is not None else ""))
        return sent[-1]

    def latest_code(self, *, to: str | None = None) -> str:
        """The code of the last message sent (to ``to``, when given).

        Raises:
            LookupError: Nothing was sent (to ``to``).
        """
        return self.latest(to=to).code

    def clear(self) -> None:
        """Forget every message."""
        with self._lock:
            self._messages.clear()
