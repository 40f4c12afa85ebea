"""One-time codes of SMS and email factors: where they go, sending them, checking them.

A code is six random digits, sent to the factor's phone number or address through the
:class:`~intelliauth_ext.testing._outbox.Outbox`, valid once and until it expires. As the
contract's ``MfaChallenge`` says, asking again re-sends at most once every 30 seconds: a
second request within that time gets the code already sent.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping
from typing import Any, Final

import attrs

from ._clock import SandboxClock, rfc3339
from ._outbox import Outbox, OutboxMessage, Purpose

__all__ = ["RESEND_SECONDS", "OneTimeCodes", "SentCode", "mask_destination"]

#: The shortest time between two codes sent to one factor (the contract's MfaChallenge).
RESEND_SECONDS: Final = 30
_DIGITS: Final = 6


def mask_destination(channel: str, destination: str) -> str:
    """The factor's ``hint``: ``+91******5678`` for a phone, ``a***@cymmetri.com`` for mail."""
    if channel == "email":
        local, _, domain = destination.partition("@")
        return f"{local[:1]}***@{domain}"
    return f"{destination[:3]}{'*' * max(len(destination) - 7, 0)}{destination[-4:]}"


@attrs.frozen
class SentCode:
    """The code last sent to a factor, and until when it is accepted."""

    code: str = attrs.field(repr=False)
    purpose: Purpose
    sent_at: float
    expires_at: float


@attrs.define
class OneTimeCodes:
    """The destinations of the tenant's SMS and email factors, and the codes sent to them."""

    destinations: dict[str, str] = attrs.field(factory=dict)  # factor id -> number / address
    sent: dict[str, SentCode] = attrs.field(factory=dict)  # factor id -> its live code

    def destination_taken(self, factor_ids: list[str], destination: str) -> bool:
        """Whether one of ``factor_ids`` already sends to ``destination``."""
        wanted = destination.casefold()
        return any(self.destinations.get(f, "").casefold() == wanted for f in factor_ids)

    def forget(self, factor_id: str) -> None:
        """Drop a deleted factor's destination and code."""
        self.destinations.pop(factor_id, None)
        self.sent.pop(factor_id, None)

    def send(
        self,
        factor: Mapping[str, Any],
        *,
        purpose: Purpose,
        expires_at: float,
        clock: SandboxClock,
        outbox: Outbox,
    ) -> SentCode:
        """Send a new code to the factor (through ``outbox``) unless one went out just now.

        Returns:
            The live code: the new one, or the one sent less than ``RESEND_SECONDS`` ago.
        """
        now = clock.now()
        previous = self.sent.get(factor["id"])
        if (
            previous is not None
            and previous.purpose == purpose
            and previous.expires_at > now
            and now - previous.sent_at < RESEND_SECONDS
        ):
            return previous
        code = f"{secrets.randbelow(10**_DIGITS):0{_DIGITS}d}"
        sent = SentCode(code=code, purpose=purpose, sent_at=now, expires_at=expires_at)
        self.sent[factor["id"]] = sent
        outbox.send(
            OutboxMessage(
                channel="sms" if factor["type"] == "sms" else "email",
                to=self.destinations[factor["id"]],
                code=code,
                purpose=purpose,
                user_id=factor["user_id"],
                factor_id=factor["id"],
                sent_at=rfc3339(now),
            )
        )
        return sent

    def check(self, factor_id: str, code: str, *, purpose: Purpose, clock: SandboxClock) -> bool:
        """Whether ``code`` is the factor's live code for ``purpose``; a right code is spent."""
        sent = self.sent.get(factor_id)
        if sent is None or sent.purpose != purpose or sent.expires_at <= clock.now():
            return False
        if not hmac.compare_digest(sent.code.encode(), code.encode()):
            return False
        del self.sent[factor_id]  # a code works once
        return True
