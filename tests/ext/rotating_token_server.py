"""A real loopback token endpoint that rotates refresh tokens and revokes the family on reuse.

For the fleet tests of ``RedisTokenSetStore``: worker processes refresh one session
through it and call its API route. Like IntelliAuth, Auth0 or Okta with reuse detection,
a refresh token is good for one use; a second use revokes the whole family (every refresh
and access token of the session), so a fleet that refreshed twice is found out by the
next call. ``stall`` makes the next refresh hang, before or after rotating, until
``release`` (a leader killed mid-refresh).
"""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal
from urllib.parse import parse_qsl

from .servers import LocalServer

Stall = Literal["before_rotating", "after_rotating"]


class RotatingTokenServer:
    """``POST /oauth2/token`` (refresh grant, rotation, reuse detection), ``GET /api``."""

    def __init__(self, *, expires_in: int = 3600) -> None:
        self.expires_in = expires_in
        self.refresh_requests = 0
        self.refresh_times: list[float] = []  # time.time() of each refresh request
        self.invalid_grants = 0
        self.api_ok = 0
        self.api_refused = 0
        self.revoked = False
        self.generation = 0
        self.valid_refresh = "rt-0"
        self.valid_access = "at-0"
        self.stall: Stall | None = None
        self.stalled = threading.Event()  # set when a refresh request is hanging
        self.release = threading.Event()
        self._lock = threading.Lock()
        self._server = LocalServer()
        self._server.routes[("POST", "/oauth2/token")] = self._token
        self._server.routes[("GET", "/api")] = self._api

    @property
    def token_url(self) -> str:
        return f"{self._server.url}/oauth2/token"

    @property
    def api_url(self) -> str:
        return f"{self._server.url}/api"

    @contextmanager
    def running(self) -> Iterator[RotatingTokenServer]:
        with self._server.running():
            try:
                yield self
            finally:
                self.release.set()

    def session(self, expires_at: float) -> dict[str, object]:
        """The current tokens as ``TokenSet.as_dict`` would store them."""
        return {
            "access_token": self.valid_access,
            "token_type": "Bearer",
            "refresh_token": self.valid_refresh,
            "id_token": None,
            "scope": "",
            "expires_at": expires_at,
        }

    def _token(
        self, handler: http.server.BaseHTTPRequestHandler, body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        form = dict(parse_qsl(body.decode()))
        with self._lock:
            self.refresh_requests += 1
            self.refresh_times.append(time.time())
            stall, self.stall = self.stall, None
        if stall == "before_rotating":
            self.stalled.set()
            self.release.wait(60)  # the client is killed meanwhile: nothing rotates
            return 503, {}, b'{"error": "temporarily_unavailable"}'
        with self._lock:
            if self.revoked or form.get("refresh_token") != self.valid_refresh:
                self.revoked = True  # reuse of a rotated token revokes the family
                self.invalid_grants += 1
                return 400, {}, b'{"error": "invalid_grant", "error_description": "reused"}'
            self.generation += 1
            self.valid_refresh = f"rt-{self.generation}"
            self.valid_access = f"at-{self.generation}"
            answer = {
                "access_token": self.valid_access,
                "token_type": "Bearer",
                "expires_in": self.expires_in,
                "refresh_token": self.valid_refresh,
            }
        if stall == "after_rotating":
            self.stalled.set()
            self.release.wait(60)  # rotated; the answer never reaches the killed client
        return 200, {}, json.dumps(answer).encode()

    def _api(
        self, handler: http.server.BaseHTTPRequestHandler, body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        sent = handler.headers.get("Authorization", "")
        with self._lock:
            ok = not self.revoked and sent == f"Bearer {self.valid_access}"
            if ok:
                self.api_ok += 1
            else:
                self.api_refused += 1
        if ok:
            return 200, {}, b'{"ok": true}'
        return 401, {"WWW-Authenticate": 'Bearer error="invalid_token"'}, b"{}"
