"""The ``intelliauth`` logger, its one line per request, and the redaction every log goes through.

``INTELLIAUTH_LOG=debug`` (or ``info``) turns the logger on with a stderr handler; any
other logging set-up of your own works as usual (``logging.getLogger("intelliauth")``).

Whatever is logged passes through ``redact``: ``Authorization``, ``Proxy-Authorization``,
``Cookie`` and ``Set-Cookie`` headers, and the form, JSON and query fields named in
``SECRET_FIELDS``, are replaced by ``[REDACTED]``. ``install_redaction_filters`` puts the
same redaction on the ``httpx`` and ``httpcore`` loggers, whose lines carry full URLs
(query strings included) and response headers.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

import httpx

__all__ = [
    "REDACTED",
    "SECRET_FIELDS",
    "SECRET_HEADERS",
    "RedactingFilter",
    "configure_from_env",
    "install_redaction_filters",
    "log_attempt",
    "logger",
    "redact",
    "redact_headers",
    "redact_text",
    "redact_url",
]

logger: Final = logging.getLogger("intelliauth")

REDACTED: Final = "[REDACTED]"
SECRET_HEADERS: Final = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"}
)
SECRET_FIELDS: Final = frozenset(
    {
        "client_secret",
        "client_assertion",
        "refresh_token",
        "code_verifier",
        "password",
        "access_token",
        "id_token",
    }
)
THIRD_PARTY_LOGGERS: Final = (
    "httpx",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
)

_FIELDS = "|".join(sorted(SECRET_FIELDS))
# field=value in a query string or form body (stops at &, whitespace or a quote), and
# field="value" as in a WWW-Authenticate auth-param.
_FORM_FIELD = re.compile(rf"""(?i)\b({_FIELDS})=("[^"]*"|'[^']*'|[^&\s'"]*)""")
# "field": "value" in JSON, and 'field': 'value' in a Python repr.
_JSON_FIELD = re.compile(rf"""(?i)(["']({_FIELDS})["']\s*:\s*)(["'])(?:\\.|(?!\3).)*\3""")
# Credentials after an auth scheme, wherever they appear (a repr of headers, an error).
# (A token68 must end there: `Bearer error="..."` is an auth-param, not a credential.)
_AUTH_SCHEME = re.compile(
    r'(?i)\b(bearer|basic|dpop)\s+[A-Za-z0-9\-._~+/]+=*(?![A-Za-z0-9\-._~+/="])'
)
# A header pair in a repr: (b'Authorization', b'...') or ('set-cookie', '...').
_HEADER_PAIR = re.compile(
    r"""(?i)(\(b?["'](?:authorization|proxy-authorization|cookie|set-cookie|x-api-key)["'],\s*)"""
    r"""b?(["'])(?:\\.|(?!\2).)*\2"""
)
# Authorization: ... / Cookie: ... as a line of text.
_HEADER_LINE = re.compile(
    r"(?im)^((?:authorization|proxy-authorization|cookie|set-cookie|x-api-key)\s*:\s*).*$"
)


def redact_text(text: str) -> str:
    """``text`` with every secret field value, header value and credential replaced."""
    text = _HEADER_PAIR.sub(lambda m: f"{m.group(1)}'{REDACTED}'", text)
    text = _HEADER_LINE.sub(lambda m: f"{m.group(1)}{REDACTED}", text)
    text = _JSON_FIELD.sub(lambda m: f"{m.group(1)}{m.group(3)}{REDACTED}{m.group(3)}", text)
    text = _FORM_FIELD.sub(lambda m: f"{m.group(1)}={REDACTED}", text)
    return _AUTH_SCHEME.sub(lambda m: f"{m.group(1)} {REDACTED}", text)


def redact_headers(headers: httpx.Headers | Mapping[str, str]) -> dict[str, str]:
    """The headers as a dict, with credential and cookie headers replaced."""
    items = headers.multi_items() if isinstance(headers, httpx.Headers) else headers.items()
    return {
        name: REDACTED if name.lower() in SECRET_HEADERS else redact_text(value)
        for name, value in items
    }


def redact_url(url: httpx.URL | str) -> str:
    """The URL as text, with secret query parameters and any userinfo replaced."""
    parsed = httpx.URL(url) if isinstance(url, str) else url
    if parsed.userinfo:
        parsed = parsed.copy_with(username=REDACTED, password=None)
    return redact_text(str(parsed))


def redact(value: Any) -> Any:
    """A copy of ``value`` safe to log: headers, URLs, mappings, sequences and text."""
    if isinstance(value, httpx.Headers):
        return redact_headers(value)
    if isinstance(value, httpx.URL):
        return redact_url(value)
    if isinstance(value, Mapping):
        return {
            key: REDACTED
            if isinstance(key, str)
            and (key.lower() in SECRET_FIELDS or key.lower() in SECRET_HEADERS)
            else redact(item)
            for key, item in value.items()
        }
    if isinstance(value, bytes | bytearray):
        return redact_text(bytes(value).decode("utf-8", "replace"))
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Sequence):
        return [redact(item) for item in value]
    return value


class RedactingFilter(logging.Filter):
    """A logging filter that redacts the fully formatted message of every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_text(message)
        if redacted != message:
            record.msg = redacted
            record.args = None
        return True


_FILTER: Final = RedactingFilter()


def install_redaction_filters() -> None:
    """Attach the redacting filter to ``intelliauth``, ``httpx`` and ``httpcore.*`` (once)."""
    for name in (logger.name, *THIRD_PARTY_LOGGERS):
        target = logging.getLogger(name)
        if _FILTER not in target.filters:
            target.addFilter(_FILTER)


def configure_from_env(environ: Mapping[str, str] | None = None) -> None:
    """Turn the ``intelliauth`` logger on when ``INTELLIAUTH_LOG`` is ``debug`` or ``info``.

    Adds one stderr handler (only once) and sets the level; does nothing otherwise.
    """
    env = os.environ if environ is None else environ
    level_name = env.get("INTELLIAUTH_LOG", "").strip().lower()
    level = {"debug": logging.DEBUG, "info": logging.INFO}.get(level_name)
    if level is None:
        return
    logger.setLevel(level)
    if not any(getattr(handler, "_intelliauth", False) for handler in logger.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("[%(asctime)s %(levelname)s %(name)s] %(message)s"))
        handler._intelliauth = True  # type: ignore[attr-defined]
        logger.addHandler(handler)


def log_attempt(
    *,
    method: str,
    url: httpx.URL,
    status: int | str,
    request_id: str | None,
    attempt: int,
    max_attempts: int,
    elapsed_seconds: float,
) -> None:
    """Log one attempt of one request at DEBUG: method, path, status, request id, attempt, time.

    Only the path is logged, never the query string or a header.
    """
    if not logger.isEnabledFor(logging.DEBUG):
        return
    logger.debug(
        "%s %s -> %s request_id=%s attempt=%d/%d elapsed_ms=%.1f",
        method,
        redact_text(url.path),
        status,
        request_id or "-",
        attempt,
        max_attempts,
        elapsed_seconds * 1000.0,
    )
