"""Stand-ins for the generated package, mirroring docs/design/facade.md, for unit tests.

The fake endpoint modules behave like openapi-python-client 0.29.1 output: a
``_get_kwargs`` that builds the request and a ``_parse_response`` that parses the
documented statuses and raises ``UnexpectedStatus`` for others when asked to.
"""

from __future__ import annotations

import http.server
import json
import sys
import threading
import types
from collections.abc import Callable, Generator, Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

import attrs
import httpx

from intelliauth_ext._pagination import AsyncPaginator

TENANT = "https://acme.intelliauth.test"


class Unset:
    """The generator's UNSET type: falsy."""

    def __bool__(self) -> bool:
        return False


UNSET: Any = Unset()


class UnexpectedStatus(Exception):
    """The generator's errors.UnexpectedStatus."""


@attrs.define
class User:
    id: str
    email: str
    status: str
    additional_properties: dict[str, Any] = attrs.field(factory=dict)

    @classmethod
    def from_dict(cls, src: Mapping[str, Any]) -> User:
        data = dict(src)
        user = cls(id=data.pop("id"), email=data.pop("email"), status=data.pop("status"))
        if user.status not in ("active", "suspended"):
            raise ValueError(f"{user.status!r} is not a valid UserStatus")
        user.additional_properties = data
        return user


@attrs.define
class ListMeta:
    next_cursor: str | Unset | None = UNSET


@attrs.define
class UserEnvelope:
    data: User
    meta: dict[str, Any]


@attrs.define
class UserList:
    data: list[User]
    meta: ListMeta


def _parse_user_envelope(response: httpx.Response) -> UserEnvelope:
    body = response.json()
    return UserEnvelope(data=User.from_dict(body["data"]), meta=body.get("meta", {}))


def _parse_user_list(response: httpx.Response) -> UserList:
    body = response.json()
    meta = body["meta"]
    return UserList(
        data=[User.from_dict(item) for item in body["data"]],
        meta=ListMeta(next_cursor=meta.get("next_cursor", UNSET)),
    )


def _unexpected(client: Any, response: httpx.Response) -> None:
    if client.raise_on_unexpected_status:
        raise UnexpectedStatus(response.status_code, response.content)


def _module(name: str, **functions: Callable[..., Any]) -> types.ModuleType:
    module = types.ModuleType(name)
    for key, value in functions.items():
        setattr(module, key, value)
    sys.modules[name] = module
    return module


# -- endpoint modules -----------------------------------------------------------------


def _get_user_kwargs(user_id: str) -> dict[str, Any]:
    return {
        "method": "get",
        "url": "/api/v1/users/{user_id}".format(user_id=quote(user_id, safe="")),
    }


def _get_user_parse(*, client: Any, response: httpx.Response) -> UserEnvelope | None:
    if response.status_code == 200:
        return _parse_user_envelope(response)
    _unexpected(client, response)
    return None


def _list_users_kwargs(
    *, email: str | Unset = UNSET, cursor: str | Unset = UNSET, limit: int | Unset = UNSET
) -> dict[str, Any]:
    params = {"email": email, "cursor": cursor, "limit": limit}
    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}
    return {"method": "get", "url": "/api/v1/users", "params": params}


def _list_users_parse(*, client: Any, response: httpx.Response) -> UserList | None:
    if response.status_code == 200:
        return _parse_user_list(response)
    _unexpected(client, response)
    return None


def _create_user_kwargs(
    *, body: Mapping[str, Any], idempotency_key: str | Unset = UNSET
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(idempotency_key, Unset):
        headers["Idempotency-Key"] = idempotency_key
    headers["Content-Type"] = "application/json"
    return {"method": "post", "url": "/api/v1/users", "json": dict(body), "headers": headers}


def _create_user_parse(*, client: Any, response: httpx.Response) -> UserEnvelope | None:
    if response.status_code == 201:
        return _parse_user_envelope(response)
    _unexpected(client, response)
    return None


def _update_user_kwargs(user_id: str, *, body: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "method": "patch",
        "url": f"/api/v1/users/{quote(user_id, safe='')}",
        "json": dict(body),
    }


def _delete_user_kwargs(user_id: str) -> dict[str, Any]:
    return {"method": "delete", "url": f"/api/v1/users/{quote(user_id, safe='')}"}


def _delete_user_parse(*, client: Any, response: httpx.Response) -> None:
    if response.status_code == 204:
        return None
    _unexpected(client, response)
    return None


def _request_token_kwargs(*, body: Mapping[str, str]) -> dict[str, Any]:
    return {
        "method": "post",
        "url": "/oauth2/token",
        "data": dict(body),
        "headers": {"Content-Type": "application/x-www-form-urlencoded"},
    }


def _request_token_parse(*, client: Any, response: httpx.Response) -> dict[str, Any] | None:
    if response.status_code == 200:
        return dict(response.json())
    _unexpected(client, response)
    return None


def _get_status_kwargs() -> dict[str, Any]:
    return {"method": "get", "url": "/api/v1/status"}


def _get_status_parse(*, client: Any, response: httpx.Response) -> dict[str, Any] | None:
    if response.status_code == 200:
        return dict(response.json())
    _unexpected(client, response)
    return None


_PKG = "fake_intelliauth_api"
_module(_PKG)
_module(f"{_PKG}.get_user", _get_kwargs=_get_user_kwargs, _parse_response=_get_user_parse)
_module(f"{_PKG}.list_users", _get_kwargs=_list_users_kwargs, _parse_response=_list_users_parse)
_module(f"{_PKG}.create_user", _get_kwargs=_create_user_kwargs, _parse_response=_create_user_parse)
_module(f"{_PKG}.update_user", _get_kwargs=_update_user_kwargs, _parse_response=_get_user_parse)
_module(f"{_PKG}.delete_user", _get_kwargs=_delete_user_kwargs, _parse_response=_delete_user_parse)
_module(
    f"{_PKG}.request_token", _get_kwargs=_request_token_kwargs, _parse_response=_request_token_parse
)
_module(f"{_PKG}.get_status", _get_kwargs=_get_status_kwargs, _parse_response=_get_status_parse)


# -- facade ---------------------------------------------------------------------------


@attrs.frozen
class Operation:
    """Mirror of the generated facade.Operation."""

    operation_id: str
    method: str
    path: str
    tag: str
    module: str
    paginated: bool = False
    idempotency_key: bool = False
    envelope: bool = True
    scopes: tuple[str, ...] = ()
    redirects: tuple[int, ...] = ()


GET_USER = Operation("getUser", "GET", "/api/v1/users/{user_id}", "users", f"{_PKG}.get_user")
LIST_USERS = Operation(
    "listUsers", "GET", "/api/v1/users", "users", f"{_PKG}.list_users", paginated=True
)
CREATE_USER = Operation(
    "createUser", "POST", "/api/v1/users", "users", f"{_PKG}.create_user", idempotency_key=True
)
UPDATE_USER = Operation(
    "updateUser", "PATCH", "/api/v1/users/{user_id}", "users", f"{_PKG}.update_user"
)
DELETE_USER = Operation(
    "deleteUser",
    "DELETE",
    "/api/v1/users/{user_id}",
    "users",
    f"{_PKG}.delete_user",
    envelope=False,
)
REQUEST_TOKEN = Operation(
    "requestToken", "POST", "/oauth2/token", "oauth2", f"{_PKG}.request_token", envelope=False
)
GET_STATUS = Operation(
    "getStatus", "GET", "/api/v1/status", "status", f"{_PKG}.get_status", envelope=False
)


class UsersResource:
    """What the generator emits for the users tag."""

    def __init__(self, invoker: Any) -> None:
        self._invoker = invoker

    async def get(self, user_id: str) -> User:
        envelope = await self._invoker.call(GET_USER, user_id=user_id)
        return envelope.data  # type: ignore[no-any-return]

    def list(
        self, *, email: str | Unset = UNSET, limit: int | Unset = UNSET, cursor: str | Unset = UNSET
    ) -> AsyncPaginator[User]:
        return self._invoker.paginate(  # type: ignore[no-any-return]
            LIST_USERS, email=email, limit=limit, cursor=cursor
        )

    async def create(
        self, body: Mapping[str, Any], *, idempotency_key: str | Unset = UNSET
    ) -> User:
        envelope = await self._invoker.call(CREATE_USER, body=body, idempotency_key=idempotency_key)
        return envelope.data  # type: ignore[no-any-return]

    async def delete(self, user_id: str) -> None:
        await self._invoker.call(DELETE_USER, user_id=user_id)


class AuthResource:
    """What the generator emits for the auth tag (the client wraps it for sign_in)."""

    def __init__(self, invoker: Any) -> None:
        self._invoker = invoker


class Resources:
    def __init__(self, invoker: Any) -> None:
        self.users = UsersResource(invoker)
        self.auth = AuthResource(invoker)


fake_facade = types.ModuleType("intelliauth_client.facade")
fake_facade.Resources = Resources  # type: ignore[attr-defined]
fake_facade.Operation = Operation  # type: ignore[attr-defined]
fake_facade.AuthResource = AuthResource  # type: ignore[attr-defined]
fake_facade.Invoker = Any  # type: ignore[attr-defined]


# -- auth -----------------------------------------------------------------------------


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


class StandInClientCredentials(httpx.Auth):
    """Used only when intelliauth_ext._auth is not there yet: fetches a token in the flow."""

    requires_response_body = True

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        *,
        audience: str | None = None,
        scopes: tuple[str, ...] = (),
    ) -> None:
        self.token_url = token_url
        self.client_id = client_id
        self._client_secret = client_secret
        self.audience = audience
        self.scopes = scopes
        self._token: str | None = None

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self._token is None:
            form = {
                "grant_type": "client_credentials",
                "client_id": self.client_id,
                "client_secret": self._client_secret,
                "scope": " ".join(self.scopes),
            }
            if self.audience:
                form["audience"] = self.audience
            token_response = yield httpx.Request("POST", self.token_url, data=form)
            self._token = token_response.json()["access_token"]
        request.headers["Authorization"] = f"Bearer {self._token}"
        yield request

    def __repr__(self) -> str:
        return f"StandInClientCredentials(client_id={self.client_id!r})"


# -- a real HTTP server ---------------------------------------------------------------

Handler = Callable[
    [http.server.BaseHTTPRequestHandler, bytes], tuple[int, dict[str, str], bytes] | None
]


class LocalServer:
    """A threaded HTTP/1.1 server on 127.0.0.1 with a route table, for real-socket tests."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Handler] = {}
        self.release = threading.Event()
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []
        server = self

        class _Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path = self.path.split("?", 1)[0]
                server.requests.append((self.command, self.path, dict(self.headers), body))
                route = server.routes.get((self.command, path))
                headers: dict[str, str]
                if route is None:
                    status, headers, content = (
                        404,
                        {},
                        b'{"error":"not_found","message":"no route"}',
                    )
                else:
                    result = route(self, body)
                    if result is None:  # the route wrote the response itself
                        return
                    status, headers, content = result
                self.send_response(status)
                headers = {"Content-Type": "application/json", **headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class _Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that hung up mid-response is expected in these tests

        self._server = _Server(("127.0.0.1", 0), _Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def json_route(
        self,
        method: str,
        path: str,
        status: int,
        body: Any,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        content = json.dumps(body).encode()
        self.routes[(method, path)] = lambda handler, request_body: (
            status,
            dict(headers or {}),
            content,
        )

    def slow_route(self, method: str, path: str) -> None:
        def handler(
            h: http.server.BaseHTTPRequestHandler, body: bytes
        ) -> tuple[int, dict[str, str], bytes]:
            self.release.wait(10)
            return 200, {}, b'{"data": {}}'

        self.routes[(method, path)] = handler

    def trickle_route(self, method: str, path: str, *, size: int = 40, gap: float = 0.05) -> None:
        """A 200 whose body arrives one byte every `gap` seconds: no single read times out."""

        def handler(h: http.server.BaseHTTPRequestHandler, body: bytes) -> None:
            h.send_response(200)
            h.send_header("Content-Type", "text/plain")
            h.send_header("Content-Length", str(size))
            h.end_headers()
            h.wfile.flush()
            for _ in range(size):
                if self.release.wait(gap):
                    return
                h.wfile.write(b"x")
                h.wfile.flush()
            return None

        self.routes[(method, path)] = handler

    @contextmanager
    def running(self) -> Iterator[LocalServer]:
        self._thread.start()
        try:
            yield self
        finally:
            self.release.set()
            self._server.shutdown()
            self._server.server_close()
