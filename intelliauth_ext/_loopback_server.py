"""A one-shot HTTP server on the loopback interface that catches one sign-in callback.

A native app (RFC 8252) receives the authorization response on ``http://127.0.0.1:<port>``
(section 7.3): it listens on a loopback address only (never on every interface, section
8.3), on a port the system picks, and the redirect URI it sends carries that port.

``CallbackListener`` answers every request but one with a short page: a request for
another path (a browser's ``/favicon.ico``) with 404, a method other than GET with 405,
and a callback whose ``state`` is not the one this sign-in sent with 400 (another tab,
a stale link, a forged request from a page the user visits), and it keeps waiting. The
callback carrying the right state is held open, unanswered, and handed to the caller,
who closes the listener, completes the sign-in and then answers it with
``CallbackRequest.respond``, so that the page the browser shows says what happened.

Every request is read with a bound on its size (``MAX_REQUEST_HEAD``) and on its time
(``REQUEST_READ_TIMEOUT``): a browser's idle speculative connection or a slow client
holds one task, never the listener.
"""

from __future__ import annotations

import contextlib
import hmac
import html
from collections.abc import Callable
from typing import Final

import anyio
import anyio.abc
import attrs
import httpx

__all__ = [
    "MAX_REQUEST_HEAD",
    "REQUEST_READ_TIMEOUT",
    "CallbackListener",
    "CallbackRequest",
    "LoopbackRedirect",
    "page",
]

#: The most bytes of a request line and headers read (a callback URL is a few hundred).
MAX_REQUEST_HEAD: Final = 16 * 1024
#: Seconds a connection may take to send its request head.
REQUEST_READ_TIMEOUT: Final = 10.0
_LOOPBACK_HOSTS: Final = {"127.0.0.1": "127.0.0.1", "localhost": "127.0.0.1", "::1": "::1"}
_REASONS: Final = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    503: "Service Unavailable",
}


@attrs.frozen
class LoopbackRedirect:
    """A loopback redirect URI (RFC 8252 section 7.3) and where to listen for it.

    Attributes:
        redirect_uri: The registered URI, e.g. ``http://127.0.0.1/callback``.
        bind_host: The address to listen on: ``127.0.0.1``, or ``::1`` for ``[::1]``.
        path: The callback's path.
        port: The port the URI names, or None.
    """

    redirect_uri: str
    bind_host: str
    path: str
    port: int | None

    @classmethod
    def parse(cls, redirect_uri: str) -> LoopbackRedirect:
        """Check that ``redirect_uri`` is an ``http`` loopback URI, and read it.

        Raises:
            ValueError: Not ``http://127.0.0.1``, ``http://[::1]`` or ``http://localhost``.
        """
        url = httpx.URL(redirect_uri)
        bind_host = _LOOPBACK_HOSTS.get(url.host)
        if url.scheme != "http" or bind_host is None:
            raise ValueError(
                "a browser sign-in needs a loopback redirect URI such as "
                f"http://127.0.0.1/callback (RFC 8252 section 7.3), not {redirect_uri!r}"
            )
        return cls(redirect_uri, bind_host, url.path or "/", url.port)

    def with_port(self, port: int) -> str:
        """The redirect URI to send: the registered one with the port listened on."""
        return str(httpx.URL(self.redirect_uri).copy_with(port=port))


def page(title: str, message: str) -> bytes:
    """A minimal HTML page (both texts escaped)."""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head>"
        f"<body><h1>{html.escape(title)}</h1><p>{html.escape(message)}</p></body></html>"
    ).encode()


def _response(status: int, body: bytes) -> bytes:
    head = (
        f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\n"
        "Content-Type: text/html; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\n"
        # The callback URL carries the code: no cache keeps it, no Referer repeats it.
        "Cache-Control: no-store\r\n"
        "Referrer-Policy: no-referrer\r\n"
        "X-Content-Type-Options: nosniff\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


class _BadRequest(Exception):
    pass


async def _read_head(stream: anyio.abc.ByteStream) -> bytes:
    """The request line and headers, at most ``MAX_REQUEST_HEAD`` bytes."""
    buffer = b""
    while b"\r\n\r\n" not in buffer and b"\n\n" not in buffer:
        if len(buffer) > MAX_REQUEST_HEAD:
            raise _BadRequest("request head too large")
        try:
            chunk = await stream.receive(4096)
        except (anyio.EndOfStream, anyio.BrokenResourceError) as exc:
            raise _BadRequest("connection closed") from exc
        buffer += chunk
    return buffer


@attrs.define
class CallbackRequest:
    """The callback with the right state: its URL, and the browser's connection to answer."""

    url: str
    _stream: anyio.abc.ByteStream = attrs.field(alias="stream", repr=False)

    async def respond(self, status: int, body: bytes) -> None:
        """Answer the browser and close the connection (a browser gone already is fine)."""
        with anyio.move_on_after(REQUEST_READ_TIMEOUT):
            with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
                await self._stream.send(_response(status, body))
        await anyio.aclose_forcefully(self._stream)


class CallbackListener:
    """Listens on a loopback port until the callback with ``state`` arrives.

    Args:
        listener: The TCP listener (``anyio.create_tcp_listener`` on a loopback address).
        redirect: The redirect URI being listened for.
        state: The state of this sign-in; any other is answered 400.
    """

    def __init__(
        self, listener: anyio.abc.Listener[anyio.abc.SocketStream], redirect: LoopbackRedirect
    ) -> None:
        self._listener = listener
        self._redirect = redirect

    @property
    def port(self) -> int:
        """The port listened on."""
        return int(self._listener.extra(anyio.abc.SocketAttribute.local_port))  # noqa: S610

    async def aclose(self) -> None:
        """Stop listening: from now on a connection to the port is refused. Idempotent."""
        await self._listener.aclose()

    async def wait_for(self, state: str) -> CallbackRequest:
        """Serve until a GET of the callback path carries ``state``; that request, unanswered.

        Every other request is answered and closed; connections still being read when the
        callback arrives are closed unanswered.
        """
        found: list[CallbackRequest] = []
        async with anyio.create_task_group() as group:

            def accept(request: CallbackRequest) -> None:
                if not found:
                    found.append(request)
                    group.cancel_scope.cancel()

            async def serve(stream: anyio.abc.SocketStream) -> None:
                await self._handle(stream, state, accept)

            await self._listener.serve(serve, task_group=group)
        return found[0]  # serve() only ends when accept() cancelled it

    async def _handle(
        self,
        stream: anyio.abc.SocketStream,
        state: str,
        accept: Callable[[CallbackRequest], None],
    ) -> None:
        handed_over = False
        try:
            with anyio.fail_after(REQUEST_READ_TIMEOUT):
                head = await _read_head(stream)
                status, message = self._check(head, state)
                if status == 200:
                    target = head.split(b" ", 2)[1].decode("ascii")
                    url = str(httpx.URL(self._redirect.redirect_uri).join(target))
                    handed_over = True
                    accept(CallbackRequest(url, stream=stream))
                    return
                await stream.send(_response(status, page("Sign-in", message)))
        except (_BadRequest, TimeoutError, anyio.BrokenResourceError, OSError):
            pass
        finally:
            if not handed_over:
                await anyio.aclose_forcefully(stream)

    def _check(self, head: bytes, state: str) -> tuple[int, str]:
        """The status and message for a request head; 200 for the awaited callback."""
        try:
            request_line = head.split(b"\n", 1)[0].decode("ascii").strip()
            method, target, _version = request_line.split(" ")
            url = httpx.URL(target)
        except (UnicodeDecodeError, ValueError, httpx.InvalidURL):
            return 400, "This is not a request this application understands."
        if url.path != self._redirect.path or url.host:
            return 404, "Nothing here: this address only receives a sign-in."
        if method != "GET":
            return 405, "A sign-in comes back with GET."
        states = url.params.get_list("state")
        if len(states) != 1 or not hmac.compare_digest(
            states[0].encode("utf-8"), state.encode("utf-8")
        ):
            # RFC 6749 section 10.12: not the sign-in this application started.
            return 400, "This is not the sign-in this application started; nothing was done."
        return 200, ""
