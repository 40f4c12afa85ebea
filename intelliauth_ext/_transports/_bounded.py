"""Reading a response body under a size limit, decompression included.

Every body the SDK reads goes through ``read_body`` (or ``send_bounded``, which sends with
``stream=True`` and then reads): API calls on either sender, token, revocation and
introspection requests, discovery documents and key sets. The limit counts *decoded*
bytes as they stream, so neither a large body nor a small compressed one that inflates
to gigabytes (a gzip bomb: 200 KB of gzip can hold 200 MB of zeros) is ever held whole:

- a declared ``Content-Length`` over the limit (no content coding) fails before reading;
- otherwise chunks are counted as they arrive and reading stops at the first byte past
  the limit; the connection is closed, not reused;
- a body a transport already read is only measured: the aiohttp transport reads an
  uncompressed body of known length up to 1 MiB itself (``BUFFERED_BODY_LIMIT``), so a
  limit below 1 MiB may cost up to 1 MiB before it is enforced;
- a compressed body reaches the decoder ``DECODE_SLICE_BYTES`` at a time, so one step
  inflates at most about 1 MiB (deflate's ratio is bounded near 1032:1) before it is
  counted. httpx's own decoders do the work, so every coding httpx reads is read the same
  way (brotli and zstd, when installed, have higher ratios; the cap still holds, a step
  may overshoot more).

The limits: ``DEFAULT_MAX_RESPONSE_BYTES`` (10 MiB) for API calls, configurable with
``IntelliAuth(max_response_bytes=...)``; ``MAX_AUTH_RESPONSE_BYTES`` (1 MiB) for the
token, revocation and introspection endpoints, discovery documents and key sets, whose
answers are a few KB.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Final

import httpx
from httpx._client import UseClientDefault  # the type of httpx.USE_CLIENT_DEFAULT

from intelliauth_ext._errors import ResponseTooLargeError
from intelliauth_ext._logging import redact_text

__all__ = [
    "DECODE_SLICE_BYTES",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "MAX_AUTH_RESPONSE_BYTES",
    "read_body",
    "send_bounded",
]

#: The limit of an API call's response body (decoded), unless the client sets another.
DEFAULT_MAX_RESPONSE_BYTES: Final = 10 * 1024 * 1024
#: The limit of a token, revocation, introspection, discovery or key set response body.
MAX_AUTH_RESPONSE_BYTES: Final = 1024 * 1024
#: Compressed bytes handed to the decoder at once: bounds what one step can inflate to.
DECODE_SLICE_BYTES: Final = 1024

_PATH_CHARS: Final = 200


class _Sliced(httpx.AsyncByteStream):
    """``stream``'s bytes in pieces of at most ``size`` (for the decoder's sake).

    An iterator class, not an async generator: stopping half-way (the limit) leaves no
    generator to be finalised by the garbage collector, which trio warns about.
    """

    def __init__(self, stream: httpx.AsyncByteStream, size: int) -> None:
        self._stream = stream
        self._size = size
        self._source: AsyncIterator[bytes] | None = None
        self._pending = memoryview(b"")

    def __aiter__(self) -> AsyncIterator[bytes]:
        self._source = self._stream.__aiter__()
        return self

    async def __anext__(self) -> bytes:
        if not self._pending:
            assert self._source is not None, "iterate with async for"
            chunk = await self._source.__anext__()
            if len(chunk) <= self._size:
                return chunk
            self._pending = memoryview(chunk)
        piece, self._pending = self._pending[: self._size], self._pending[self._size :]
        return bytes(piece)

    async def aclose(self) -> None:
        await self._stream.aclose()


def _too_large(response: httpx.Response, max_bytes: int) -> ResponseTooLargeError:
    request = response.request
    path = redact_text(request.url.path)[:_PATH_CHARS]
    return ResponseTooLargeError(
        f"the {response.status_code} response to {request.method} {path} is larger than "
        f"{max_bytes} bytes, the limit; reading stopped there",
        response=response,
        max_bytes=max_bytes,
    )


async def read_body(response: httpx.Response, max_bytes: int) -> bytes:
    """Read ``response``'s decoded body, failing as soon as it passes ``max_bytes``.

    Afterwards ``response.content`` holds the body, as after ``aread()``; the response is
    closed either way. A body some transport already read (a small one, or a test
    double's) is only measured.

    Args:
        response: A response whose body is not read yet (``send(..., stream=True)``, or a
            transport's), or already read.
        max_bytes: The most decoded bytes accepted.

    Returns:
        The body.

    Raises:
        ResponseTooLargeError: The body is longer than ``max_bytes``.
        httpx.StreamError, httpx.TransportError: Reading failed (as ``aread()`` raises).
    """
    # httpx's own attribute for a read body (what .content returns); looked up rather than
    # caught as ResponseNotRead, which costs a microsecond on every streamed response.
    content: bytes | None = getattr(response, "_content", None)
    if content is not None:
        if len(content) > max_bytes:
            raise _too_large(response, max_bytes)
        return content

    chunks: list[bytes] = []
    try:
        headers = response.headers
        if "content-encoding" not in headers:
            declared = headers.get("content-length")
            if declared is not None and declared.isdigit() and int(declared) > max_bytes:
                raise _too_large(response, max_bytes)
        elif isinstance(response.stream, httpx.AsyncByteStream):
            # The length of compressed bytes says nothing of what they inflate to: feed
            # the decoder small slices and count what comes out.
            response.stream = _Sliced(response.stream, DECODE_SLICE_BYTES)
        received = 0
        async for chunk in response.aiter_bytes():
            received += len(chunk)
            if received > max_bytes:
                raise _too_large(response, max_bytes)
            chunks.append(chunk)
    finally:
        # Done, or stopped half-way: a connection with unread bytes is closed, not reused.
        await response.aclose()
    content = b"".join(chunks)
    # What Response.aread() stores; set here because the bytes were read (and counted) here.
    response._content = content
    return content


async def send_bounded(
    client: httpx.AsyncClient,
    request: httpx.Request,
    *,
    max_bytes: int,
    auth: httpx.Auth | UseClientDefault | None = httpx.USE_CLIENT_DEFAULT,
    follow_redirects: bool | UseClientDefault = httpx.USE_CLIENT_DEFAULT,
) -> httpx.Response:
    """``client.send(request, auth=..., follow_redirects=...)``, its body read under a limit.

    Sends with ``stream=True`` and reads with ``read_body``: the body is counted as it
    arrives instead of being read whole by httpx first.

    Args:
        client: The client to send with.
        request: The request.
        max_bytes: The most decoded body bytes accepted.
        auth: As ``AsyncClient.send``'s: the client's own auth by default, None for none.
        follow_redirects: As ``AsyncClient.send``'s: the client's setting by default.

    Returns:
        The response, its body read.

    Raises:
        ResponseTooLargeError: The body is longer than ``max_bytes``.
        httpx.RequestError: As ``client.send`` raises it, while sending or reading.
    """
    response = await client.send(request, auth=auth, follow_redirects=follow_redirects, stream=True)
    await read_body(response, max_bytes)
    return response
