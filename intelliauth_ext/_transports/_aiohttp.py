"""An ``httpx`` transport that sends through one ``aiohttp.ClientSession``.

Why our own and not ``httpx_aiohttp``'s: per small request that one spends about as much
CPU as aiohttp itself (a fresh ``ClientTimeout``, a header copy through ``httpx.Headers``
decoding, yarl re-quoting an already encoded URL, an async-generator body stream) and
maps every ``ClientConnectionError`` to ``ConnectTimeout``, so a server that drops a
request half-way looks as if it was never sent. Here:

- timeouts are built once per distinct ``httpx.Timeout``;
- the URL is handed to yarl as already encoded (httpx has percent-encoded it);
- a body of known length up to ``BUFFERED_BODY_LIMIT`` (the usual JSON answer) is read
  and handed over as bytes, without a stream wrapper (a compressed one as an unread
  ``httpx.ByteStream``, so that it is inflated under the reader's size limit, not here);
  anything else streams;
- aiohttp's errors map onto the httpx exceptions of the same meaning (table below), so
  retries and error mapping behave as on httpx's own transport.

aiohttp handles neither cookies nor decompression here: the ``httpx.AsyncClient`` above
does both, as it does for its own transport.
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import AsyncIterator, Iterator
from typing import Any, Final

import aiohttp
import httpx
import yarl
from aiohttp import client_exceptions as aiohttp_errors

from intelliauth_ext._transports._limits import DEFAULT_LIMITS

__all__ = ["BUFFERED_BODY_LIMIT", "AiohttpTransport"]

#: A body of known length up to this size is read before returning; others stream.
BUFFERED_BODY_LIMIT: Final = 1 << 20

# Most specific first: the first class an error is an instance of decides.
_ERROR_MAP: Final[tuple[tuple[type[BaseException], type[httpx.TransportError]], ...]] = (
    (aiohttp_errors.ConnectionTimeoutError, httpx.ConnectTimeout),
    (aiohttp_errors.SocketTimeoutError, httpx.ReadTimeout),
    (aiohttp_errors.ServerTimeoutError, httpx.ReadTimeout),
    (aiohttp_errors.ClientProxyConnectionError, httpx.ProxyError),
    (aiohttp_errors.ClientHttpProxyError, httpx.ProxyError),
    (aiohttp_errors.ClientConnectorError, httpx.ConnectError),
    (aiohttp_errors.ServerDisconnectedError, httpx.RemoteProtocolError),
    (aiohttp_errors.ClientPayloadError, httpx.ReadError),
    (aiohttp_errors.ClientResponseError, httpx.RemoteProtocolError),
    (aiohttp_errors.InvalidURL, httpx.UnsupportedProtocol),
    (aiohttp_errors.NonHttpUrlClientError, httpx.UnsupportedProtocol),
    (aiohttp_errors.ClientOSError, httpx.ReadError),
    (aiohttp_errors.ClientError, httpx.NetworkError),
)
_MAX_CACHED_URLS: Final = 256
_HTTP_11: Final = {"http_version": b"HTTP/1.1"}  # copied by each httpx.Response
_SKIPPED_AUTO_HEADERS: Final = frozenset({"Accept", "Accept-Encoding", "User-Agent"})


def map_error(exc: BaseException) -> httpx.TransportError | None:
    """The httpx exception that means what the aiohttp error ``exc`` means, if any."""
    for aiohttp_type, httpx_type in _ERROR_MAP:
        if isinstance(exc, aiohttp_type):
            return httpx_type(str(exc) or type(exc).__name__)
    return None


@contextlib.contextmanager
def _mapped_errors() -> Iterator[None]:
    try:
        yield
    except aiohttp.ClientError as exc:
        mapped = map_error(exc)
        if mapped is None:  # pragma: no cover - ClientError itself is in the table
            raise
        raise mapped from exc


class _AiohttpStream(httpx.AsyncByteStream):
    """The body of an answer without a length, or over ``BUFFERED_BODY_LIMIT``."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _mapped_errors():
            async for chunk in self._response.content.iter_any():
                yield chunk

    async def aclose(self) -> None:
        self._response.release()


class AiohttpTransport(httpx.AsyncBaseTransport):
    """Sends httpx requests through an aiohttp connection pool (asyncio only).

    Args:
        limits: ``max_connections`` and ``keepalive_expiry`` of the pool.
        verify: An ``ssl.SSLContext``, or False to skip certificate checks (tests only).
    """

    def __init__(
        self,
        *,
        limits: httpx.Limits = DEFAULT_LIMITS,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        self._limits = limits
        self._ssl: ssl.SSLContext | bool = httpx.create_ssl_context() if verify is True else verify
        self._session: aiohttp.ClientSession | None = None
        self._timeouts: dict[tuple[float | None, ...], aiohttp.ClientTimeout] = {}
        # id(httpx.URL) -> (that URL, its yarl.URL): the SDK's operation URLs are parsed
        # once and shared (_direct.absolute_url), so the same object comes back; holding
        # it keeps its id from being reused by another.
        self._urls: dict[int, tuple[httpx.URL, yarl.URL]] = {}

    def _open(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=self._limits.max_connections or 0,
            keepalive_timeout=self._limits.keepalive_expiry or 15.0,
            ssl=self._ssl,
        )
        return aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
            skip_auto_headers=_SKIPPED_AUTO_HEADERS,
            timeout=aiohttp.ClientTimeout(total=None),
        )

    def _timeout(self, timeout: dict[str, float | None] | None) -> aiohttp.ClientTimeout:
        # httpx's "pool" (waiting for a connection) is part of aiohttp's "connect".
        timeout = timeout or {}
        key = (timeout.get("connect"), timeout.get("read"), timeout.get("pool"))
        cached = self._timeouts.get(key)
        if cached is None:
            connect, read, pool = key
            cached = aiohttp.ClientTimeout(
                total=None,
                sock_connect=connect,
                sock_read=read,
                connect=None if pool is None or connect is None else pool + connect,
            )
            if len(self._timeouts) < 64:  # a few distinct timeouts per client in practice
                self._timeouts[key] = cached
        return cached

    def _yarl_url(self, url: httpx.URL) -> yarl.URL:
        """``url`` for aiohttp, as already encoded (httpx percent-encoded it), cached."""
        known = self._urls.get(id(url))
        if known is not None and known[0] is url:
            return known[1]
        converted = yarl.URL(str(url), encoded=True)
        if len(self._urls) >= _MAX_CACHED_URLS:
            self._urls.clear()  # URLs with queries rarely repeat: start over
        self._urls[id(url)] = (url, converted)
        return converted

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request``; a body of known length up to 1 MiB comes back already read."""
        session = self._session
        if session is None:
            session = self._session = self._open()
        data: Any
        try:
            data = request.content or None
        except httpx.RequestNotRead:
            data = request.stream
        # Names as the caller spelled them, as httpx's own transport sends them.
        encoding = request.headers.encoding
        headers = [
            (name.decode(encoding), value.decode(encoding)) for name, value in request.headers.raw
        ]
        if data is not None and not isinstance(data, bytes):
            # aiohttp chunks a streamed body itself.
            headers = [item for item in headers if item[0].lower() != "transfer-encoding"]
        # try/except, not _mapped_errors(): a context manager costs more, on every request.
        try:
            response = await session.request(
                request.method,
                self._yarl_url(request.url),
                headers=headers,
                data=data,
                allow_redirects=False,
                timeout=self._timeout(request.extensions.get("timeout")),
                server_hostname=request.extensions.get("sni_hostname"),
            )
            length = response.content_length
            if length is not None and length <= BUFFERED_BODY_LIMIT:
                content = await response.read()
                response.release()
                if "Content-Encoding" in response.headers:
                    # Handed over unread: httpx.Response(content=...) would inflate it at
                    # once, whatever it inflates to; the reader (_bounded) inflates it
                    # under the call's size limit.
                    return httpx.Response(
                        response.status,
                        headers=response.raw_headers,
                        stream=httpx.ByteStream(content),
                        request=request,
                        extensions={"http_version": b"HTTP/1.1"},
                    )
                answer = httpx.Response(
                    response.status,
                    headers=response.raw_headers,
                    stream=httpx.ByteStream(content),
                    request=request,
                    extensions=_HTTP_11,
                )
                # Read already: what Response(content=...) leaves (its read() sets these
                # three), without running the bytes through httpx's decoders once more.
                answer._content = content
                answer.is_stream_consumed = True
                answer.is_closed = True
                return answer
        except aiohttp.ClientError as exc:
            mapped = map_error(exc)
            if mapped is None:  # pragma: no cover - ClientError itself is in the table
                raise
            raise mapped from exc
        return httpx.Response(
            response.status,
            headers=response.raw_headers,
            stream=_AiohttpStream(response),
            request=request,
            extensions={"http_version": b"HTTP/1.1"},
        )

    async def aclose(self) -> None:
        """Close the pool; a later request opens a new one."""
        session, self._session = self._session, None
        if session is not None:
            await session.close()
