"""A canned IntelliAuth API on loopback for the benchmarks: raw asyncio HTTP/1.1, keep-alive.

Usage: ``python bench_server.py`` prints ``port <n>`` once it listens on 127.0.0.1.

Routes (bodies are built once, so the server costs little CPU per request):

- ``POST /oauth2/token``: a client-credentials token response (``tok_<n>``), after
  ``token_delay`` seconds (asyncio timer: other connections are served meanwhile);
  ``token_type`` ``DPoP`` when the request carries a ``DPoP`` proof (not checked).
- ``GET /api/v1/users/<id>``: the envelope of one contract-valid ``User``.
- ``GET /api/v1/users?limit=<k>&cursor=p<i>``: page ``i`` of ``PAGES`` pages of ``k`` users
  (or as many as the last ``/_reset`` said), ``meta.next_cursor`` the next page's cursor,
  null on the last page.
- ``POST /api/v1/resources/permissions/check``: one allowed ``PermissionCheckResult``.
- ``POST /api/v1/resources/permissions/batch-check``: as many results as the body has
  checks (counted, not parsed: each check's object carries one ``"permission"`` key).
- ``POST /oauth2/token``: a client-credentials token (``token_type: DPoP`` when the request
  carries a DPoP proof), answered after ``token_delay``.
- ``POST /oauth2/refresh``: a rotating refresh-token grant with reuse detection, like
  IntelliAuth's: ``rt-<n>`` is good once (answered ``at-<n+1>`` / ``rt-<n+1>`` after
  ``token_delay``); a reused one revokes the family (``invalid_grant`` from then on).
- ``GET /.well-known/openid-configuration`` and ``GET /jwks``: this server as an issuer
  (``http://127.0.0.1:<port>``) with one RSA signing key, generated at the first request.
- ``GET /_signing_key``: that key's private JWK, for the token verification scenario to
  mint tokens with (a throwaway key for loopback benchmarks, nothing else).
- ``GET /_pin?cpus=0,1``: pin this server to those CPUs (``os.sched_setaffinity``).
- ``GET /_stats``: ``{"token_requests": n, "token_windows": [[received, answered], ...],
  "refresh_requests": n, "invalid_grants": n}`` with ``time.monotonic()`` stamps (one
  clock for every process on Linux).
- ``POST /_reset?token_delay=<s>&pages=<n>``: zero the counters, set the token delay and
  the number of pages of the user list (``PAGES`` when not given), and start a new token
  family at ``rt-0``.
"""

from __future__ import annotations

import asyncio
import json
import os
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
RESOURCE_ID: Final = "res_01JA1B2C3D4E5F6G7H8J9K0M1N"
SUBJECT: Final = {"kind": "user", "user_id": "usr_01HZX3K9QW7E5R2T8Y6U4I0O1P"}


def permission_result(permission: str = "view") -> dict[str, Any]:
    """A ``PermissionCheckResult`` that satisfies the contract."""
    return {
        "resource_id": RESOURCE_ID,
        "permission": permission,
        "subject": SUBJECT,
        "allowed": True,
    }


CHECK_RESPONSE: Final = response(200, _json({"data": permission_result(), "meta": {}}))
NOT_FOUND: Final = response(404, _json({"error": "not_found", "message": "no route"}), "Not Found")


class State:
    """Counters and settings shared by every connection."""

    def __init__(self) -> None:
        self.token_delay = 0.0
        self.token_requests = 0
        self.token_windows: list[list[float]] = []
        self.pages: dict[tuple[int, int], bytes] = {}  # the users array of each page
        self.page_count = PAGES
        self.batches: dict[int, bytes] = {}
        self.issuer = ""
        self._key: Any = None
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
        # The users of page i are those of page i % PAGES: a million users in pages of 100
        # (``/_reset?pages=10000``) cost the server 100 pages of memory, not 10,000.
        key = (limit, index % PAGES)
        users = self.pages.get(key)
        if users is None:
            users = _json([user(f"usr_{key[1]:03d}x{item:04d}") for item in range(limit)])
            self.pages[key] = users
        next_cursor = f"p{index + 1}" if index + 1 < self.page_count else None
        meta = _json({"next_cursor": next_cursor})
        return response(200, b'{"data":' + users + b',"meta":' + meta + b"}")

    def batch(self, count: int) -> bytes:
        cached = self.batches.get(count)
        if cached is None:
            results = [permission_result() for _ in range(count)]
            cached = response(200, _json({"data": {"results": results}, "meta": {}}))
            self.batches[count] = cached
        return cached

    def signing_key(self) -> Any:
        if self._key is None:
            from joserfc.jwk import RSAKey

            self._key = RSAKey.generate_key(2048, {"kid": "bench-1", "use": "sig", "alg": "RS256"})
        return self._key

    def discovery(self) -> bytes:
        return response(
            200,
            _json(
                {
                    "issuer": self.issuer,
                    "jwks_uri": f"{self.issuer}/jwks",
                    "token_endpoint": f"{self.issuer}/oauth2/token",
                    "id_token_signing_alg_values_supported": ["RS256"],
                }
            ),
        )


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
            body = self._buffer[end + 4 : end + 4 + length]
            self._buffer = self._buffer[end + 4 + length :]
            method, target = head.split(b" ", 2)[:2]
            self._answer(method, target.decode(), body, dpop=b"\r\ndpop:" in lower)

    def _answer(self, method: bytes, target: str, body: bytes, *, dpop: bool = False) -> None:
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
        elif path == "/api/v1/resources/permissions/check":
            transport.write(CHECK_RESPONSE)
        elif path == "/api/v1/resources/permissions/batch-check":
            transport.write(state.batch(body.count(b'"permission"')))
        elif path == "/.well-known/openid-configuration":
            transport.write(state.discovery())
        elif path == "/jwks":
            transport.write(response(200, _json({"keys": [state.signing_key().as_dict()]})))
        elif path == "/_signing_key":
            transport.write(response(200, _json(state.signing_key().as_dict(private=True))))
        elif path == "/oauth2/token" and method == b"POST":
            state.token_requests += 1
            answer = response(
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
                    transport.write(answer)

            if state.token_delay > 0:
                asyncio.get_running_loop().call_later(state.token_delay, send)
            else:
                send()
        elif path == "/oauth2/refresh" and method == b"POST":
            answer = state.refresh(body)  # decided on arrival, sent after the delay
            if state.token_delay > 0:
                asyncio.get_running_loop().call_later(
                    state.token_delay,
                    lambda: None if transport.is_closing() else transport.write(answer),
                )
            else:
                transport.write(answer)
        elif path == "/_pin":
            cpus = {int(cpu) for cpu in parse_qs(query)["cpus"][0].split(",")}
            os.sched_setaffinity(0, cpus)
            transport.write(response(200, b"{}"))
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
            state.page_count = int(params.get("pages", [str(PAGES)])[0])
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
    state.issuer = f"http://127.0.0.1:{port}"
    print(f"port {port}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        sys.exit(0)
