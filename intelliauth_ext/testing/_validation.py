"""Contract validation: every request and response checked against the spec (openapi-core).

Responses are the sandbox's own output, so a response the contract does not allow is a
:class:`ContractViolation`: raised out of the ASGI app (in process, ``httpx.ASGITransport``
re-raises it inside the test that sent the request) and recorded on the sandbox, whose
``check_violations()`` (run when ``Sandbox.serve()`` exits and by the pytest fixture)
raises it again for a served sandbox, where uvicorn turns the exception into a 500.

Requests are the client's: one the contract does not allow is answered as a server would,
400 ``invalid_request`` or 422 ``validation_failed`` with the problems in ``details``;
with ``strict_requests`` it is also a violation, so an SDK that sends what the spec does
not describe fails its test even when it swallows the 4xx.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs
from jsonschema_path import SchemaPath
from openapi_core.datatypes import RequestParameters
from openapi_core.templating.paths.exceptions import PathError
from openapi_core.validation.request.exceptions import (
    MissingRequestBody,
    RequestBodyValidationError,
    SecurityValidationError,
)
from openapi_core.validation.request.validators import (
    V31RequestBodyValidator,
    V31RequestParametersValidator,
)
from openapi_core.validation.response.validators import V31ResponseValidator
from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from werkzeug.datastructures import ImmutableMultiDict

from ._request_id import HEADER as REQUEST_ID_HEADER
from ._request_id import request_id_of
from ._spec import Contract


class ContractViolation(AssertionError):
    """The sandbox sent (or, when strict, received) a message the contract does not allow."""

    def __init__(self, kind: str, method: str, path: str, status: int | None, problems: list[str]):
        self.kind = kind
        self.method = method
        self.path = path
        self.status = status
        self.problems = problems
        where = f"{method} {path}" + (f" -> {status}" if status is not None else "")
        listing = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(f"{kind} breaks the contract: {where}\n{listing}")


@attrs.frozen
class _OpenAPIRequest:
    """A request as openapi-core's ``Request`` protocol wants it."""

    host_url: str
    path: str
    method: str
    body: bytes | None
    content_type: str
    parameters: RequestParameters
    path_pattern: str | None = None


@attrs.frozen
class _OpenAPIResponse:
    """A captured response as openapi-core's ``Response`` protocol wants it."""

    status_code: int
    content_type: str
    headers: Mapping[str, Any]
    data: bytes | None


def _text(error: BaseException) -> str:
    """``str(error)``, which for some openapi-core errors decodes the raw body and can fail."""
    try:
        return str(error)
    except Exception:  # e.g. UnicodeDecodeError on a body that is not UTF-8
        return f"{type(error).__name__} (the value is not readable text)"


def _describe(error: BaseException) -> list[str]:
    """Flatten an openapi-core error and its schema errors into readable lines."""
    cause = error.__cause__
    schema_errors: Iterable[Any] = (
        getattr(cause, "schema_errors", None) or getattr(error, "schema_errors", None) or []
    )
    # The body errors' own str() repeats the whole value; name the part instead.
    prefix = {"InvalidRequestBody": "request body", "InvalidData": "response body"}.get(
        type(error).__name__
    ) or _text(error)
    lines = []
    for schema_error in schema_errors:
        location = getattr(schema_error, "json_path", "$")
        lines.append(f"{prefix}: at {location}: {getattr(schema_error, 'message', schema_error)}")
    if not lines:
        lines.append(_text(error) + (f" ({_text(cause)})" if cause is not None else ""))
    return lines


class Validator:
    """Validates requests and responses of one contract."""

    def __init__(self, contract: Contract) -> None:
        spec = SchemaPath.from_dict(contract.validation_document())
        self._parameters = V31RequestParametersValidator(spec)
        self._body = V31RequestBodyValidator(spec)
        self._response = V31ResponseValidator(spec)

    @staticmethod
    def openapi_request(
        request: Request,
        body: bytes,
        path_pattern: str | None,
        path_params: Mapping[str, Any] | None = None,
    ) -> Any:
        """Wrap a Starlette request and its body for openapi-core."""
        return _OpenAPIRequest(
            host_url=str(request.base_url),
            path=request.url.path,
            method=request.method.lower(),
            body=body,
            content_type=request.headers.get("content-type", "application/octet-stream"),
            parameters=RequestParameters(
                query=ImmutableMultiDict(list(request.query_params.multi_items())),
                header=request.headers,
                cookie=ImmutableMultiDict(list(request.cookies.items())),
                path=dict(path_params or {}),
            ),
            path_pattern=path_pattern,
        )

    def request_problems(self, openapi_request: Any) -> tuple[list[str], str]:
        """Return (problems, where the first is: "path", "query", "header", "body") for a
        request. Security is not checked here: the sandbox authenticates bearer tokens
        itself and answers 401/403."""
        problems: list[str] = []
        where = ""
        errors: list[Exception] = list(self._parameters.iter_errors(openapi_request))
        unhashable_discriminator = False
        try:
            errors.extend(self._body.iter_errors(openapi_request))
        except TypeError:
            # openapi-schema-validator looks a oneOf discriminator's value up in a dict: a
            # list or object there (`"kind": [null]`) crashes it instead of failing it.
            unhashable_discriminator = True
        for error in errors:
            if isinstance(error, SecurityValidationError | PathError):
                continue
            if type(error) is MissingRequestBody:
                continue  # an optional body left out; a required one is MissingRequiredRequestBody
            if not where:
                where = (
                    "body"
                    if isinstance(error, RequestBodyValidationError)
                    else str(getattr(error, "location", "query"))
                )
            problems.extend(_describe(error))
        if unhashable_discriminator:
            where = where or "body"
            problems.append("request body: a discriminator property holds no schema's value")
        return problems, where

    def response_problems(self, openapi_request: Any, response: Any) -> list[str]:
        """Return what is wrong with a response (empty when it follows the contract)."""
        problems: list[str] = []
        for error in self._response.iter_errors(openapi_request, response):
            if isinstance(error, PathError):
                continue  # not a contract path (a 404 for an unknown URL, a 405)
            problems.extend(_describe(error))
        return problems


@attrs.define
class ViolationLog:
    """Violations seen so far, and whether to raise them where they happen."""

    raise_immediately: bool = True
    violations: list[ContractViolation] = attrs.field(factory=list)

    def report(self, violation: ContractViolation) -> None:
        """Record ``violation`` and raise it when configured to."""
        self.violations.append(violation)
        if self.raise_immediately:
            raise violation

    def check(self) -> None:
        """Raise the first recorded violation (all of them listed) and forget them all.

        Raises:
            ContractViolation: at least one violation was recorded.
        """
        if not self.violations:
            return
        found, self.violations = self.violations, []
        if len(found) == 1:
            raise found[0]
        problems = [
            f"{v.kind}: {v.method} {v.path} -> {v.status}: {p}" for v in found for p in v.problems
        ]
        raise ContractViolation(
            f"{len(found)} messages", found[0].method, found[0].path, None, problems
        )


class ResponseValidationMiddleware:
    """Buffers each response under a contract path and validates it before it is sent.

    The operation the router matched (``scope["state"]["path_pattern"]``) pins the path
    template; responses sent before routing (injected faults) are matched by openapi-core.
    Paths outside the contract (the sandbox's own ``/_sandbox`` pages) are not checked.
    """

    def __init__(
        self, app: ASGIApp, *, validator: Callable[[], Validator | None], log: ViolationLog
    ) -> None:
        self.app = app
        self._validator = validator
        self._log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        validator = self._validator()
        if scope["type"] != "http" or validator is None or scope["path"].startswith("/_sandbox"):
            await self.app(scope, receive, send)
            return

        chunks: list[bytes] = []
        body_done = False

        async def buffered_receive() -> Message:
            nonlocal body_done
            message = await receive()
            if message["type"] == "http.request":
                chunks.append(message.get("body", b""))
                body_done = not message.get("more_body", False)
            return message

        start: Message | None = None
        body = bytearray()

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                body.extend(message.get("body", b""))

        await self.app(scope, buffered_receive, capture)
        if start is None:
            return
        headers = MutableHeaders(raw=list(start.get("headers", [])))
        # The outer RequestIdMiddleware adds the header on the way out; validate with it.
        headers[REQUEST_ID_HEADER] = request_id_of(scope)
        request = Request(scope)
        state = scope.get("state") or {}
        openapi_request = validator.openapi_request(
            request, b"".join(chunks) if body_done else b"", state.get("path_pattern")
        )
        response = _OpenAPIResponse(
            status_code=int(start["status"]),
            content_type=headers.get("content-type", ""),
            headers=Headers(raw=headers.raw),
            data=bytes(body),
        )
        # A 501 for an operation the sandbox does not implement yet is a gap in the
        # sandbox, reported by its own message, not a contract violation; so are the
        # FAPI answers (_fapi.py) that only RFC 9449 and RFC 9126 define.
        unimplemented = bool(state.get("unimplemented")) or bool(state.get("beyond_contract"))
        problems = [] if unimplemented else validator.response_problems(openapi_request, response)
        if problems:
            self._log.report(
                ContractViolation(
                    "response", scope["method"], scope["path"], response.status_code, problems
                )
            )
        await send(start)
        await send({"type": "http.response.body", "body": bytes(body), "more_body": False})
