"""Why an API protected by the SDK answers 503: one WARNING per cause and interval.

When the tenant's keys or its introspection endpoint can not be had, the FastAPI and
aiohttp integrations answer 503 (the token may be fine, so it is not blamed). Their
operator needs the cause, but an outage fails every request: logging each one would
flood the log. So each cause (the exception's class, status, error code and the URL it
concerned, not its message, which carries request ids) is logged at WARNING the first
time, then at most once per ``interval`` with the number of 503s it caused meanwhile.
Lines go to the ``intelliauth`` logger, through its redaction, and quote only the SDK's
messages, which never hold a secret.
"""

from __future__ import annotations

import threading
from typing import Final

import httpx

from intelliauth_ext._clock import Clock, SystemClock
from intelliauth_ext._errors import IntelliAuthError
from intelliauth_ext._logging import logger, redact_text, redact_url

__all__ = ["DEFAULT_INTERVAL", "OutageLog"]

#: Seconds between two warnings about one cause.
DEFAULT_INTERVAL: Final = 60.0
#: The longest message quoted in a warning.
_MAX_MESSAGE: Final = 300


def _url_of(exc: IntelliAuthError) -> str | None:
    """The URL the failed exchange was for (no query), when the exception knows it."""
    request: httpx.Request | None = getattr(exc, "request", None)
    response: httpx.Response | None = getattr(exc, "response", None)
    if request is None and response is not None:
        try:
            request = response.request
        except RuntimeError:  # a response built without a request
            request = None
    if request is None:
        return None
    return f"{request.method} {redact_url(request.url.copy_with(query=None))}"


def cause_of(exc: IntelliAuthError) -> str:
    """What failed, without the per-request details: the key warnings are counted by."""
    parts = [type(exc).__name__]
    for attribute in ("status_code", "code", "error"):
        value = getattr(exc, attribute, None)
        if value is not None:
            parts.append(str(value))
    url = _url_of(exc)
    if url is not None:
        parts.append(f"on {url}")
    return " ".join(parts)


class OutageLog:
    """Logs the cause of 503 answers at WARNING, once per cause and ``interval``.

    Args:
        interval: Seconds before a cause already logged is logged again.
        clock: Its ``monotonic()`` spaces the warnings (for tests).
    """

    def __init__(self, *, interval: float = DEFAULT_INTERVAL, clock: Clock | None = None) -> None:
        self.interval = interval
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._logged_at: dict[str, float] = {}
        self._unlogged: dict[str, int] = {}
        self._lock = threading.Lock()  # apps may answer from several threads

    def __repr__(self) -> str:
        return f"OutageLog(interval={self.interval}, causes={len(self._logged_at)})"

    def record(self, exc: IntelliAuthError, *, answer: str = "503") -> None:
        """Note one request answered ``answer`` because of ``exc``; warn if it is time."""
        cause = cause_of(exc)
        now = self._clock.monotonic()
        with self._lock:
            last = self._logged_at.get(cause)
            if last is not None and now - last < self.interval:
                self._unlogged[cause] = self._unlogged.get(cause, 0) + 1
                return
            self._logged_at[cause] = now
            since = self._unlogged.pop(cause, 0)
        message = redact_text(" ".join(str(exc).split()))[:_MAX_MESSAGE]
        also = f" ({since} more since the last warning)" if since else ""
        logger.warning(
            "answering %s: the token can not be verified: %s: %s%s", answer, cause, message, also
        )
