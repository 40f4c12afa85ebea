"""Test doubles for the token managers: a controllable clock and a scriptable token endpoint."""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

import anyio
import httpx

TOKEN_URL = "https://auth.example.test/oauth/token"
API_URL = "https://api.example.test"

#: A plausible wall-clock "now" (2023-11-14) for the fake clock.
WALL_START = 1_700_000_000.0


class FakeClock:
    """A ``Clock`` that moves only when told to; ``sleep`` waits for ``advance``."""

    def __init__(self, *, wall: float = WALL_START, monotonic: float = 5_000.0) -> None:
        self._wall = wall
        self._monotonic = monotonic
        self._sleepers: list[tuple[float, anyio.Event]] = []

    def monotonic(self) -> float:
        return self._monotonic

    def time(self) -> float:
        return self._wall

    async def sleep(self, seconds: float) -> None:
        deadline = self._monotonic + seconds
        if seconds <= 0:
            await anyio.lowlevel.checkpoint()
            return
        event = anyio.Event()
        self._sleepers.append((deadline, event))
        await event.wait()

    @property
    def sleepers(self) -> int:
        """How many tasks are asleep on this clock."""
        return len(self._sleepers)

    def advance(self, seconds: float) -> None:
        """Both clocks move on; sleepers whose time has come are woken."""
        self._monotonic += seconds
        self._wall += seconds
        due = [
            (deadline, event) for deadline, event in self._sleepers if deadline <= self._monotonic
        ]
        self._sleepers = [item for item in self._sleepers if item not in due]
        for _, event in due:
            event.set()

    def jump_wall(self, seconds: float) -> None:
        """Only the wall clock moves (NTP, an operator): monotonic time is unaffected."""
        self._wall += seconds


def token_body(token: str, **fields: Any) -> dict[str, Any]:
    return {"access_token": token, "token_type": "Bearer", **fields}


class TokenEndpoint:
    """A respx side effect playing a token endpoint.

    By default it issues ``tok-1``, ``tok-2``, ... with ``expires_in`` seconds; queue
    other answers with ``then``. Set ``gate`` to hold requests until it is set.
    """

    def __init__(self, *, expires_in: float | None = 3600) -> None:
        self.requests: list[httpx.Request] = []
        self.issued = 0
        self.expires_in = expires_in
        self.gate: anyio.Event | None = None
        self.received = anyio.Event()  # set by the first request
        self._queue: deque[httpx.Response | Callable[[httpx.Request], httpx.Response]] = deque()

    def then(self, *responses: httpx.Response | Callable[[httpx.Request], httpx.Response]) -> None:
        self._queue.extend(responses)

    @property
    def count(self) -> int:
        return len(self.requests)

    def next_token(self) -> str:
        self.issued += 1
        return f"tok-{self.issued}"

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.received.set()
        if self.gate is not None:
            await self.gate.wait()
        if self._queue:
            answer = self._queue.popleft()
            return answer if isinstance(answer, httpx.Response) else answer(request)
        body = token_body(self.next_token())
        if self.expires_in is not None:
            body["expires_in"] = self.expires_in
        return httpx.Response(200, json=body)

    def form(self, index: int = -1) -> dict[str, str]:
        """The form body of a recorded request."""
        from urllib.parse import parse_qsl

        return dict(parse_qsl(self.requests[index].content.decode()))

    def json(self, index: int = -1) -> Any:
        return json.loads(self.requests[index].content)


class Api:
    """A respx side effect playing an API that accepts some tokens and 401s the rest."""

    def __init__(self) -> None:
        self.accepted: set[str] = set()
        self.requests: list[httpx.Request] = []
        self.gate: anyio.Event | None = None
        self.gate_first_only = True

    def bearer(self, index: int = -1) -> str:
        return self.requests[index].headers["Authorization"].removeprefix("Bearer ")

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if self.gate is not None and (len(self.requests) == 1 or not self.gate_first_only):
            await self.gate.wait()
        if token in self.accepted:
            return httpx.Response(200, json={"data": {"ok": True}})
        return httpx.Response(
            401,
            json={"error": "invalid_token", "message": "token expired"},
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )


class RotatingServer:
    """A token endpoint that rotates refresh tokens and revokes the family on reuse."""

    def __init__(self, *, expires_in: int = 3600, rotate: bool = True) -> None:
        self.expires_in = expires_in
        self.rotate = rotate
        self.valid_refresh = "rt-0"
        self.generation = 0
        self.requests: list[httpx.Request] = []
        self.gate: anyio.Event | None = None
        self.revoked = False

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.gate is not None:
            await self.gate.wait()
        if request.headers["content-type"] == "application/json":
            form = json.loads(request.content)
        else:
            form = dict(parse_qsl(request.content.decode()))
        if form.get("grant_type") != "refresh_token":
            return httpx.Response(400, json={"error": "unsupported_grant_type"})
        if self.revoked or form.get("refresh_token") != self.valid_refresh:
            self.revoked = True  # reuse of a rotated token revokes the family
            return httpx.Response(
                400, json={"error": "invalid_grant", "error_description": "refresh token revoked"}
            )
        self.generation += 1
        body: dict[str, object] = {
            "access_token": f"at-{self.generation}",
            "token_type": "bearer",
            "expires_in": self.expires_in,
        }
        if self.rotate:
            self.valid_refresh = f"rt-{self.generation}"
            body["refresh_token"] = self.valid_refresh
        return httpx.Response(200, json=body)
