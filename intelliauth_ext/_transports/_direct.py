"""``DirectSender``: sending through the SDK's own client's transport, not ``AsyncClient.send``.

When the SDK built the ``httpx.AsyncClient`` itself, much of what ``AsyncClient.send``
does per request is work the SDK does not need: merging a base URL and query string it
never set, a cookie jar round trip through ``urllib.request`` and ``email.message`` on
every response (an API authenticated by bearer tokens keeps no cookies), redirect
handling the SDK turns off, and three layers of body stream wrappers (docs/benchmarks.md
measures what that costs).

So for its own client the invoker builds the ``httpx.Request`` here and runs the
``httpx.Auth`` flow over the client's transport itself, as the httpx docs describe the
protocol: the flow yields a request, gets its response (body read) back, and may yield
another. Both seams stay httpx's: any ``httpx.Auth`` and any ``httpx`` transport work.
Event hooks on the client run where ``AsyncClient.send`` runs them (request hooks before
each request goes out, response hooks before its body is read), including hooks
installed after the client was built: the client is public as ``IntelliAuth.http_client``.
"""

from __future__ import annotations

import datetime
import functools
import json
import time
from collections.abc import Mapping
from typing import Any, Final

import httpx

from intelliauth_ext._transports._bounded import read_body
from intelliauth_ext._transports._sender import run_auth_flow

__all__ = ["DirectSender", "absolute_url"]

_URL_CACHE_SIZE: Final = 1024
# The arguments _plain_request builds from; any other (content, data, files, params,
# cookies) goes through httpx.Request itself.
_PLAIN_ARGUMENTS: Final = frozenset({"method", "url", "headers", "json"})
_METHODS_WITH_BODY: Final = frozenset({"POST", "PUT", "PATCH"})
# (method, netloc, body length, headers) -> the request's httpx.Headers; see _plain_request.
_HEADER_TEMPLATES: dict[tuple[Any, ...], httpx.Headers] = {}
_MAX_HEADER_TEMPLATES: Final = 256
# httpx._content.encode_json's options, to the byte; one encoder, not one per json.dumps.
_JSON_ENCODER: Final = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


@functools.lru_cache(maxsize=_URL_CACHE_SIZE)
def absolute_url(url: str) -> httpx.URL:
    """``httpx.URL(url)``, parsed once per distinct URL (``httpx.URL`` is immutable).

    Operation paths without a query repeat, and parsing is a measurable part of a
    request's CPU; yarl caches the same way under aiohttp.
    """
    return httpx.URL(url)


def _plain_request(arguments: Mapping[str, Any], extension: Any) -> httpx.Request | None:
    """The request of a call without a body or with a JSON one, built without detours.

    What ``httpx.Request(method, url, headers=..., json=...)`` builds, byte for byte
    (tests/ext/test_direct.py compares them): the body as httpx's ``encode_json`` writes
    it; ``Content-Length`` and ``Content-Type`` appended when missing, then ``Host`` (and
    ``Content-Length: 0`` for a POST, PUT or PATCH without a body) put first, as
    ``Request._prepare`` does. Not through ``_prepare`` itself, whose ``setdefault`` and
    ``in`` on ``httpx.Headers`` each re-scan every header: a sizeable part of a request's
    CPU. None for anything else (a URL or headers of other types): built the usual way.
    """
    url = arguments["url"]
    headers = arguments.get("headers")
    if type(url) is not httpx.URL or type(headers) is not httpx.Headers:
        return None
    method = str(arguments["method"]).upper()
    document = arguments.get("json")
    body = b"" if document is None else _JSON_ENCODER.encode(document).encode("utf-8")
    raw = headers.raw
    netloc = url.netloc
    # The headers depend on these alone; calls of one operation share them (but for the
    # Authorization header, which the auth flow writes later), so the normalised
    # httpx.Headers is made once and copied (a list copy) for each request.
    key = (method, netloc, None if document is None else len(body), tuple(raw))
    template = _HEADER_TEMPLATES.get(key)
    if template is None:
        template = httpx.Headers(_final_headers(method, netloc, raw, body, document is not None))
        if len(_HEADER_TEMPLATES) >= _MAX_HEADER_TEMPLATES:
            _HEADER_TEMPLATES.clear()  # per-call headers (an idempotency key): start over
        _HEADER_TEMPLATES[key] = template
    request = httpx.Request(
        method,
        url,
        headers=template,  # copied by Request
        stream=httpx.ByteStream(body),
        extensions={"timeout": extension},
    )
    request.read()  # as httpx.Request does for a body in memory: .content is there
    # The URL given, not Request's copy of it (httpx.URL is immutable): the transport can
    # then know the URL by identity (the aiohttp transport caches what it makes of it).
    request.url = url
    return request


def _final_headers(
    method: str, netloc: bytes, raw: list[tuple[bytes, bytes]], body: bytes, has_body: bool
) -> list[tuple[bytes, bytes]]:
    """The request's headers in httpx's order: ``Request._prepare``'s rules, spelled out."""
    names = {name.lower() for name, _ in raw}
    if has_body:
        appended = []
        if b"content-length" not in names:
            appended.append((b"Content-Length", str(len(body)).encode("ascii")))
        if b"content-type" not in names:
            appended.append((b"Content-Type", b"application/json"))
        raw = raw + appended
        names.add(b"content-length")
    first = []
    if b"host" not in names and netloc:
        first.append((b"Host", netloc))
    if (
        b"content-length" not in names
        and b"transfer-encoding" not in names
        and method in _METHODS_WITH_BODY
    ):
        first.append((b"Content-Length", b"0"))
    return first + raw


class DirectSender:
    """Sends through ``client``'s transport, running the auth flow and event hooks itself.

    Args:
        client: The SDK's own ``httpx.AsyncClient`` (no mounts, no base URL, redirects
            off); never closed here.
        timeout: The timeouts of every attempt (the invoker's).
    """

    def __init__(self, client: httpx.AsyncClient, *, timeout: httpx.Timeout) -> None:
        self._client = client
        self._timeout = timeout
        self._timeout_extension = timeout.as_dict()

    def build_request(self, prepared: Mapping[str, Any]) -> httpx.Request:
        """The ``httpx.Request`` that ``AsyncClient.build_request(**prepared)`` would build.

        Args:
            prepared: ``Invoker.prepare`` output: ``method``, the absolute ``url`` with its
                query, every header (the client's included), the ``timeout`` and
                ``_get_kwargs``'s body.
        """
        arguments = dict(prepared)
        timeout = arguments.pop("timeout", self._timeout)
        if timeout is self._timeout:  # the usual case: converted once, in __init__
            extension = self._timeout_extension
        else:
            extension = httpx.Timeout(timeout).as_dict()
        if arguments.keys() <= _PLAIN_ARGUMENTS:
            plain = _plain_request(arguments, extension)
            if plain is not None:
                return plain
        return httpx.Request(extensions={"timeout": extension}, **arguments)

    async def send(
        self, request: httpx.Request, auth: httpx.Auth | None, *, max_bytes: int
    ) -> httpx.Response:
        """Send ``request`` through ``auth``'s flow over the client's transport.

        Every response but the last is closed; every body is read (under ``max_bytes``), so
        the last one can be used after the connection went back to the pool.

        Raises:
            RuntimeError: The client is closed (as ``AsyncClient.send`` raises it).
            ResponseTooLargeError: A body longer than ``max_bytes``.
        """
        client = self._client
        if client.is_closed:  # as AsyncClient.send: a closed pool must not quietly reopen
            raise RuntimeError("Cannot send a request, as the client has been closed.")
        # _transport_for_url is what respx's httpx mocker patches: tests that mock the client
        # keep working. The SDK's own client has no mounts, so this is its one transport.
        transport = client._transport_for_url(request.url)
        if auth is None:
            return await _round_trip(client, transport, request, max_bytes)
        return await run_auth_flow(
            request, auth, lambda sent: _round_trip(client, transport, sent, max_bytes)
        )

    def __repr__(self) -> str:
        return "DirectSender()"


async def _round_trip(
    client: httpx.AsyncClient,
    transport: httpx.AsyncBaseTransport,
    request: httpx.Request,
    max_bytes: int,
) -> httpx.Response:
    """One request and its response, read, with the client's event hooks around it."""
    # Read on every request, not once: hooks may be added to the client at any time.
    hooks = client.event_hooks
    for hook in hooks["request"]:
        await hook(request)
    started = time.perf_counter()
    response = await transport.handle_async_request(request)
    response.request = request  # transports need not set it; AsyncClient.send does
    try:
        for hook in hooks["response"]:
            await hook(response)
        await read_body(response, max_bytes)
    finally:
        await response.aclose()
    response.elapsed = datetime.timedelta(seconds=time.perf_counter() - started)
    return response
