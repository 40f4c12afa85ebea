"""A canned IntelliAuth API on loopback for the benchmarks: raw asyncio HTTP/1.1, keep-alive.

Usage: ``python bench_server.py`` prints ``port <n>`` once it listens on 127.0.0.1.

Routes (bodies are built once, so the server costs little CPU per request):

- ``POST /oauth2/token``: a client-credentials token response (``tok_<n>``), after
  ``token_delay`` seconds (asyncio timer: other connections are served meanwhile);
  ``token_type`` ``DPoP`` when the request carries a ``DPoP`` proof (not checked).
- ``GET /api/v1/users/<id>``: the envelope of one contract-valid ``User``.
- ``GET /api/v1/users?limit=<k>&cursor=p<i>``: page ``i`` of ``PAGES`` pages of ``k`` users,
  ``meta.next_cursor`` the next page's cursor, null on the last page.
- ``POST /oauth2/refresh``: a rotating refresh-token grant with reuse detection, like
  IntelliAuth's: ``rt-<n>`` is good once (answered ``at-<n+1>`` / ``rt-<n+1>`` after
  ``token_delay``); a reused one revokes the family (``invalid_grant`` from then on).
- ``GET /_stats``: ``{"token_requests": n, "token_windows": [[received, answered], ...],
  "refresh_requests": n, "invalid_grants": n}`` with ``time.monotonic()`` stamps (one
  clock for every process on Linux).
- ``POST /_reset?token_delay=<s>``: zero the counters, set the token delay, and start a
  new token family at ``rt-0``.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any, Final
from urllib.parse import parse_qs

PAGES: Final = 100
USER_ID: Final = "usr_01"


def user(user_id: str) -> dict[str, Any]:
    """A ``User`` that satisfies the schema of openapi/intelliauth.openapi.yaml."""
    return {
        "id": user_id,
        "email": f"{user_id}@example.com",
        "email_verified": True,
        "name": "Ada Lovelace",
        "given_name": "Ada",
        "family_name": "Lovelace",
        "status": "active",
        "mfa_enrolled": False,
        "created_at": "2026-01-02T03:04:05Z",
        "updated_at": "2026-01-02T03:04:05Z",
        "last_sign_in_at": None,
    }


def response(status: int, body: bytes, reason: str = "OK") -> bytes:
    """A complete HTTP/1.1 response with a JSON body."""
    head = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nX-Request-Id: req_bench\r\n\r\n"
    )
    return head.encode() + body


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


USER_RESPONSE: Final = response(200, _json({"data": user(USER_ID), "meta": {}}))
NOT_FOUND: Final = response(404, _json({"error": "not_found", "message": "no route"}), "Not Found")


class State:
    """Counters and settings shared by every connection."""

    def __init__(self) -> None:
        self.token_delay = 0.0
        self.token_requests = 0
        self.token_windows: list[list[float]] = []
        self.pages: dict[tuple[int, int], bytes] = {}
        self.refresh_requests = 0
        self.invalid_grants = 0
        self.generation = 0  # rt-<generation> is the one valid refresh token
        self.revoked = False

    def refresh(self, body: bytes) -> bytes:
        """A rotating refresh grant with reuse detection (the family dies on reuse)."""
        self.refresh_requests += 1
        form = parse_qs(body.decode())
        sent = form.get("refresh_token", [""])[0]
        if self.revoked or sent != f"rt-{self.generation}":
            self.revoked = True
            self.invalid_grants += 1
            return response(400, _json({"error": "invalid_grant"}), "Bad Request")
        self.generation += 1
        return response(
            200,
            _json(
                {
                    "access_token": f"at-{self.generation}",
                    "token_type": "Bearer",
                    "expires_in": 3600,
                    "refresh_token": f"rt-{self.generation}",
                }
            ),
        )

    def page(self, limit: int, index: int) -> bytes:
        key = (limit, index)
        cached = self.pages.get(key)
        if cached is None:
            users = [user(f"usr_{index:03d}x{item:04d}") for item in range(limit)]
            next_cursor = f"p{index + 1}" if index + 1 < PAGES else None
            cached = response(200, _json({"data": users, "meta": {"next_cursor": next_cursor}}))
            self.pages[key] = cached
        return cached


class Connection(asyncio.Protocol):
    """One keep-alive connection: parses requests, answers each with canned bytes."""

    def __init__(self, state: State) -> None:
        self._state = state
        self._buffer = b""
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while True:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self._buffer[:end]
            length = 0
            lower = head.lower()
            at = lower.find(b"\r\ncontent-length:")
            if at >= 0:
                stop = lower.find(b"\r\n", at + 2)
                length = int(lower[at + 17 : stop if stop >= 0 else None])
            if len(self._buffer) < end + 4 + length:
                return
            content = self._buffer[end + 4 : end + 4 + length]
            self._buffer = self._buffer[end + 4 + length :]
            method, target = head.split(b" ", 2)[:2]
            self._answer(method, target.decode(), content, dpop=b"\r\ndpop:" in lower)

    def _answer(
        self, method: bytes, target: str, content: bytes = b"", *, dpop: bool = False
    ) -> None:
        transport = self._transport
        assert transport is not None
        path, _, query = target.partition("?")
        state = self._state
        if path.startswith("/api/v1/users/"):
            transport.write(USER_RESPONSE)
        elif path == "/api/v1/users":
            params = parse_qs(query)
            limit = int(params.get("limit", ["50"])[0])
            cursor = params.get("cursor", ["p0"])[0]
            transport.write(state.page(limit, int(cursor[1:])))
        elif path == "/oauth2/token" and method == b"POST":
            state.token_requests += 1
            body = response(
                200,
                _json(
                    {
                        "access_token": f"tok_{state.token_requests}",
                        # A token request with a DPoP proof gets a DPoP-bound token (RFC
                        # 9449 section 5); proofs are not checked: the client's CPU is measured.
                        "token_type": "DPoP" if dpop else "Bearer",
                        "expires_in": 3600,
                    }
                ),
            )
            window = [time.monotonic(), 0.0]
            state.token_windows.append(window)

            def send() -> None:
                window[1] = time.monotonic()
                if not transport.is_closing():
                    transport.write(body)

            if state.token_delay > 0:
                asyncio.get_running_loop().call_later(state.token_delay, send)
            else:
                send()
        elif path == "/oauth2/refresh" and method == b"POST":
            answer = state.refresh(content)  # decided on arrival, sent after the delay
            if state.token_delay > 0:
                asyncio.get_running_loop().call_later(
                    state.token_delay,
                    lambda: None if transport.is_closing() else transport.write(answer),
                )
            else:
                transport.write(answer)
        elif path == "/_stats":
            stats = {
                "token_requests": state.token_requests,
                "token_windows": state.token_windows,
                "refresh_requests": state.refresh_requests,
                "invalid_grants": state.invalid_grants,
            }
            transport.write(response(200, _json(stats)))
        elif path == "/_reset":
            params = parse_qs(query)
            state.token_delay = float(params.get("token_delay", ["0"])[0])
            state.token_requests = 0
            state.token_windows = []
            state.refresh_requests = state.invalid_grants = state.generation = 0
            state.revoked = False
            transport.write(response(200, b"{}"))
        else:
            transport.write(NOT_FOUND)


async def serve() -> None:
    """Listen on 127.0.0.1 (a free port), print it, serve until killed."""
    state = State()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Connection(state), "127.0.0.1", 0, backlog=4096)
    port = server.sockets[0].getsockname()[1]
    print(f"port {port}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        sys.exit(0)
