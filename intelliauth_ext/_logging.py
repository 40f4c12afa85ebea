"""The ``intelliauth`` logger, its one line per request, and the redaction every log goes through.

``INTELLIAUTH_LOG=debug`` (or ``info``) turns the logger on with a stderr handler; any
other logging set-up of your own works as usual (``logging.getLogger("intelliauth")``).

Whatever is logged passes through ``redact``: ``Authorization``, ``Proxy-Authorization``,
``Cookie`` and ``Set-Cookie`` headers, the form, JSON and query fields named in
``SECRET_FIELDS``, and the query and form fields named in ``SECRET_PARAMS`` (an
authorization ``code``, a ``token``, with or without a ``state`` beside it) are replaced by
``[REDACTED]``; a ``Location`` header keeps its scheme, host and path and loses its query
and fragment (a redirect to a callback carries the code there, an implicit grant the
tokens).

``install_redaction_filters`` puts the same redaction on every logger the SDK's traffic can
reach, whichever transport sends it (``THIRD_PARTY_LOGGERS``): ``httpx`` (its INFO line
has the full URL), ``httpcore.*`` (its DEBUG lines print response headers, a 302's
``Location`` with its ``code=`` included), ``hpack`` (HTTP/2 header tables), ``aiohttp.*``
and the access logs of the servers the integrations run in (``uvicorn.access``,
``aiohttp.access``: a callback's request line carries its code). The client, the token
managers and the browser flow install it when they are built, so it is in place for a
caller's own ``http_client`` too. A logging filter acts on the records of the logger it is
attached to (not on those its children propagate), hence the list of exact names.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

import httpx

__all__ = [
    "LOCATION_HEADERS",
    "REDACTED",
    "SECRET_FIELDS",
    "SECRET_HEADERS",
    "SECRET_PARAMS",
    "THIRD_PARTY_LOGGERS",
    "RedactingFilter",
    "configure_from_env",
    "install_redaction_filters",
    "log_attempt",
    "logger",
    "redact",
    "redact_headers",
    "redact_location",
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
#: Query and form fields that are credentials too, but as JSON members are not always
#: (``"code": "not_found"`` is an error code): an authorization code (RFC 6749 4.1.2), a
#: revoked or introspected ``token`` (RFC 7009, 7662), a JWT ``assertion`` (RFC 7523), token
#: exchange's tokens (RFC 8693) and a device code (RFC 8628).
SECRET_PARAMS: Final = SECRET_FIELDS | frozenset(
    {"code", "token", "assertion", "subject_token", "actor_token", "device_code"}
)
#: Headers whose value is a URL that may carry a code or tokens in its query or fragment.
LOCATION_HEADERS: Final = frozenset({"location", "content-location"})
#: The loggers the redacting filter is attached to, by exact name (see the module doc).
THIRD_PARTY_LOGGERS: Final = (
    "httpx",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
    "hpack.hpack",
    "hpack.table",
    "aiohttp.access",
    "aiohttp.client",
    "aiohttp.internal",
    "aiohttp.server",
    "aiohttp.web",
    "aiohttp.websocket",
    "uvicorn.access",
)

_FIELDS = "|".join(sorted(SECRET_FIELDS))
_PARAMS = "|".join(sorted(SECRET_PARAMS))
# field=value in a query string or form body (stops at &, whitespace or a quote), and
# field="value" as in a WWW-Authenticate auth-param. `\b` keeps `error_code=` and
# `code_challenge=` out: neither is a credential.
_FORM_FIELD = re.compile(rf"""(?i)\b({_PARAMS})=("[^"]*"|'[^']*'|[^&#\s'"]*)""")
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
# A Location header as a pair in a repr, (b'Location', b'https://app/cb?code=...'), or as a
# line, Location: https://...: the part from the first ? or # on is the secret one.
_LOCATION_PAIR = re.compile(
    r"""(?i)(\(b?["'](?:content-)?location["'],\s*b?(["']))((?:\\.|(?!\2)[^?#])*)"""
    r"""[?#](?:\\.|(?!\2).)*(?=\2)"""
)
_LOCATION_LINE = re.compile(r"(?im)^((?:content-)?location\s*:\s*[^?#\s]*)[?#]\S*")


def redact_text(text: str) -> str:
    """``text`` with every secret field value, header value and credential replaced."""
    text = _HEADER_PAIR.sub(lambda m: f"{m.group(1)}'{REDACTED}'", text)
    text = _HEADER_LINE.sub(lambda m: f"{m.group(1)}{REDACTED}", text)
    text = _LOCATION_PAIR.sub(lambda m: f"{m.group(1)}{m.group(3)}?{REDACTED}", text)
    text = _LOCATION_LINE.sub(lambda m: f"{m.group(1)}?{REDACTED}", text)
    text = _JSON_FIELD.sub(lambda m: f"{m.group(1)}{m.group(3)}{REDACTED}{m.group(3)}", text)
    text = _FORM_FIELD.sub(lambda m: f"{m.group(1)}={REDACTED}", text)
    return _AUTH_SCHEME.sub(lambda m: f"{m.group(1)} {REDACTED}", text)


def redact_location(url: str) -> str:
    """A redirect target without its query and fragment (where codes and tokens travel)."""
    cut = min((index for index in (url.find("?"), url.find("#")) if index >= 0), default=-1)
    return url if cut < 0 else f"{url[:cut]}?{REDACTED}"


def _redact_header(name: str, value: str) -> str:
    lowered = name.lower()
    if lowered in SECRET_HEADERS:
        return REDACTED
    if lowered in LOCATION_HEADERS:
        return redact_location(value)
    return redact_text(value)


def redact_headers(headers: httpx.Headers | Mapping[str, str]) -> dict[str, str]:
    """The headers as a dict: credentials and cookies replaced, ``Location`` cut at its query."""
    items = headers.multi_items() if isinstance(headers, httpx.Headers) else headers.items()
    return {name: _redact_header(name, value) for name, value in items}


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
            else redact_location(item)
            if isinstance(key, str) and key.lower() in LOCATION_HEADERS and isinstance(item, str)
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


def _redact_arg(value: object) -> object:
    """A log-call argument with its secrets redacted (text and URLs; others as they are)."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, httpx.URL):
        return redact_url(value)
    return value


class RedactingFilter(logging.Filter):
    """A logging filter that redacts the fully formatted message of every record.

    When redacting the string arguments one by one is enough, the record keeps its
    ``msg`` and ``args`` (formatters that read the arguments, as uvicorn's access log
    does, still find them); otherwise the record becomes its redacted message.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_text(message)
        if redacted != message:
            args = record.args
            if isinstance(args, tuple):
                record.args = tuple(_redact_arg(arg) for arg in args)
            elif isinstance(args, Mapping):
                record.args = {key: _redact_arg(arg) for key, arg in args.items()}
            if not args or not _formats_as(record, redacted):
                record.msg, record.args = redacted, None
        return True


def _formats_as(record: logging.LogRecord, expected: str) -> bool:
    """Whether ``record``'s message, formatted with its (redacted) arguments, is ``expected``."""
    try:
        return record.getMessage() == expected
    except (TypeError, ValueError):  # an argument redacted into a str where %d wants a number
        return False


_FILTER: Final = RedactingFilter()


def install_redaction_filters() -> None:
    """Attach the redacting filter to ``intelliauth`` and ``THIRD_PARTY_LOGGERS`` (once each).

    Idempotent and cheap: the client, the token managers' endpoint client and the browser
    flow call it when they are built. A logger that does not exist yet is created, so the
    library that later asks for it by name gets it with the filter on.
    """
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
