"""Hand-written test doubles that are no generator output: the tenant URL and bearer auths."""

from __future__ import annotations

from collections.abc import Generator

import httpx

TENANT = "https://acme.intelliauth.test"


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
