"""Cursor pagination: opaque, signed cursors anchored on the last record's sequence number.

A cursor is ``base64url(json) + "." + base64url(hmac)``: clients cannot read meaning into it
or forge one, and a cursor minted for one listing (an operation plus its filters) is refused
by another with ``invalid_request``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping, Sequence
from typing import Any, Final, TypeVar

import attrs

from ._envelopes import ApiError

T = TypeVar("T")

DEFAULT_LIMIT: Final = 50
MAX_LIMIT: Final = 200


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@attrs.define
class CursorCodec:
    """Mints and reads the cursors of one sandbox (its own HMAC key)."""

    _key: bytes = attrs.field(factory=lambda: secrets.token_bytes(32))

    def encode(self, listing: str, after: int) -> str:
        """Return the cursor of the page after sequence number ``after`` in ``listing``."""
        payload = _b64(json.dumps({"l": listing, "a": after}, separators=(",", ":")).encode())
        signature = _b64(hmac.new(self._key, payload.encode(), hashlib.sha256).digest()[:16])
        return f"{payload}.{signature}"

    def decode(self, listing: str, cursor: str) -> int:
        """Return the sequence number a cursor points after.

        Raises:
            ApiError: ``invalid_request`` when the cursor is malformed, forged, or minted for
                another listing (other filters, another operation).
        """
        try:
            payload, signature = cursor.split(".", 1)
            expected = _b64(hmac.new(self._key, payload.encode(), hashlib.sha256).digest()[:16])
            if not hmac.compare_digest(signature, expected):
                raise ValueError("bad signature")
            decoded = json.loads(_unb64(payload))
            if decoded["l"] != listing:
                raise ValueError("cursor of another listing")
            after = decoded["a"]
            if not isinstance(after, int):
                raise TypeError("bad position")
        except (ValueError, KeyError, TypeError) as exc:
            raise ApiError(
                "invalid_request",
                "The cursor is not valid for this listing; start again without a cursor.",
                details={"parameter": "cursor"},
            ) from exc
        return after


def listing_key(operation_id: str, filters: Mapping[str, Any]) -> str:
    """Return a short fingerprint of an operation plus its filters, bound into its cursors."""
    canonical = json.dumps(
        [operation_id, sorted((k, str(v)) for k, v in filters.items() if v is not None)]
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def parse_limit(raw: str | None) -> int:
    """Return the page size from the ``limit`` query parameter (1..200, default 50).

    Raises:
        ApiError: ``invalid_request`` when it is not an integer in range.
    """
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    try:
        limit = int(raw)
    except ValueError:
        limit = 0
    if not 1 <= limit <= MAX_LIMIT:
        raise ApiError(
            "invalid_request",
            f"limit must be an integer from 1 to {MAX_LIMIT}.",
            details={"parameter": "limit"},
        )
    return limit


def paginate(
    codec: CursorCodec,
    listing: str,
    entries: Sequence[tuple[int, T]],
    *,
    cursor: str | None,
    limit: int,
    descending: bool = True,
) -> tuple[list[T], str | None]:
    """Slice a listing (``(sequence, record)`` pairs in listing order) into one page.

    ``descending`` says the order (newest first by default); the cursor remembers the last
    sequence number served and the next page starts just past it, so records added or
    removed meanwhile neither repeat nor skip a page boundary.
    """
    start = 0
    if cursor:
        after = codec.decode(listing, cursor)
        start = next(
            (
                index
                for index, (sequence, _) in enumerate(entries)
                if (sequence < after if descending else sequence > after)
            ),
            len(entries),
        )
    window = entries[start : start + limit]
    more = start + limit < len(entries)
    next_cursor = codec.encode(listing, window[-1][0]) if more and window else None
    return [record for _, record in window], next_cursor
