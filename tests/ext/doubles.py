"""Hand-written test doubles that are no generator output: the tenant URL, a user, bearer auths."""

from __future__ import annotations

from collections.abc import Generator

import httpx

TENANT = "https://acme.intelliauth.test"

#: A user as the contract's ``User`` schema has it, as the API would answer.
USER = {
    "id": "usr_01",
    "email": "ada@example.com",
    "email_verified": True,
    "name": "Ada Lovelace",
    "status": "active",
    "created_at": "2026-01-02T03:04:05+00:00",
    "updated_at": "2026-01-02T03:04:05+00:00",
}


class StaticBearer(httpx.Auth):
    """A static bearer token, counting how often its flow ran."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.flows = 0

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        self.flows += 1
        request.headers["Authorization"] = f"Bearer {self.token}"
        yield request

    def __repr__(self) -> str:
        return "StaticBearer(token=***)"


class RotatingBearer(httpx.Auth):
    """A new token on every flow: shows whether a retry re-ran the auth flow."""

    def __init__(self) -> None:
        self.flows = 0

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        self.flows += 1
        request.headers["Authorization"] = f"Bearer token-{self.flows}"
        yield request
