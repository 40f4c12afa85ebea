"""Idempotency keys: a create replayed with the same key returns the first result and status.

Keys are scoped to the caller (token subject) and the operation, remembered for 24 hours,
and bound to a fingerprint of the request: the same key with a different request is a 409
``conflict``, as is a second request while the first with that key is still running.
Outcomes that a retry should be allowed to change (429 and 5xx) are not remembered.
"""

from __future__ import annotations

import hashlib

import attrs
from starlette.responses import Response

from ._clock import SandboxClock
from ._envelopes import ApiError

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
TTL_SECONDS = 24 * 3600
_KEPT_HEADERS = ("content-type", "location")


@attrs.frozen
class _Outcome:
    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...]


@attrs.define
class _Entry:
    fingerprint: str
    created_at: float
    outcome: _Outcome | None = None  # None while the first request is in flight


def fingerprint(method: str, path: str, query: str, body: bytes) -> str:
    """Return a digest of what makes two requests the same request."""
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), query.encode(), body):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


@attrs.define
class IdempotencyStore:
    """Remembered outcomes by (caller, operation, key)."""

    _clock: SandboxClock
    _entries: dict[tuple[str, str, str], _Entry] = attrs.field(factory=dict)

    def begin(self, key: tuple[str, str, str], request_fingerprint: str) -> Response | None:
        """Start a request under ``key``: return the remembered response to replay, or None
        after reserving the key for this request.

        Raises:
            ApiError: ``conflict`` when the key belongs to a different request, or to one
                still in flight.
        """
        now = self._clock.now()
        entry = self._entries.get(key)
        if entry is not None and now - entry.created_at > TTL_SECONDS:
            entry = None
        if entry is None:
            self._entries[key] = _Entry(request_fingerprint, now)
            return None
        if entry.fingerprint != request_fingerprint:
            raise ApiError(
                "conflict",
                "This Idempotency-Key was used with a different request.",
                details={"idempotency_key": key[2]},
            )
        if entry.outcome is None:
            raise ApiError(
                "conflict",
                "A request with this Idempotency-Key is still in progress.",
                details={"idempotency_key": key[2]},
            )
        outcome = entry.outcome
        response = Response(outcome.body, outcome.status)
        response.headers.update(dict(outcome.headers))
        response.headers[REPLAYED_HEADER] = "true"
        return response

    def finish(self, key: tuple[str, str, str], response: Response) -> None:
        """Remember ``response`` for ``key`` (or forget the key, for 429 and 5xx)."""
        entry = self._entries.get(key)
        if entry is None:
            return
        if response.status_code == 429 or response.status_code >= 500:
            del self._entries[key]
            return
        kept = tuple((k, v) for k, v in response.headers.items() if k.lower() in _KEPT_HEADERS)
        entry.outcome = _Outcome(response.status_code, bytes(response.body), kept)

    def abandon(self, key: tuple[str, str, str]) -> None:
        """Forget ``key`` (the request failed before producing a response)."""
        self._entries.pop(key, None)
