"""Decoding a response body that must be a JSON object, without letting a parser error out."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["json_object"]


def json_object(content: bytes | str) -> dict[str, Any] | None:
    """``content`` decoded as a JSON object, or None when it is not one.

    Not JSON, not UTF-8, absurdly nested (``RecursionError``) or another JSON value: each
    is None, so that callers raise their own documented error and no parser exception
    reaches a user.
    """
    try:
        document = json.loads(content)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    return document if isinstance(document, dict) else None
