"""The runtime side of the facade seam: build, send, retry, map errors, parse.

``Invoker`` implements the ``Invoker`` protocol of ``intelliauth_client.facade`` (see
docs/design/facade.md): the generated resource classes hand it an ``Operation`` and the
endpoint function's keyword arguments, and it does everything else.

Where retries sit: in ``Invoker.send``, around the sender's ``send(request, auth)``
(``httpx.AsyncClient.send``, or the direct path for the SDK's own client: see
``_transports``). Each attempt therefore runs the whole auth flow again: a retry that waited
out a ``Retry-After`` carries a token that is valid *now* (the token manager refreshes
one that expired while we slept), and the flow's own "401, refresh once, resend" stays
inside one attempt instead of being counted as a retry. Retrying in a transport wrapper
would resend the first attempt's ``Authorization`` header as is, and would not exist at
all for a user-supplied ``http_client`` whose transport we do not own.
"""

from __future__ import annotations

import asyncio
import copy
import importlib
import logging
import re
import sys
import time
import types
import uuid
from collections.abc import Collection, Coroutine, Mapping
from typing import Any, Final, Protocol

import anyio
import httpx
import msgspec

from intelliauth_client.errors import UnexpectedStatus
from intelliauth_ext import _retries, _telemetry
from intelliauth_ext._auth._token_endpoint import oauth_error_code, token_error
from intelliauth_ext._errors import (
    REQUEST_ID_HEADER,
    APIResponseValidationError,
    ResponseTooLargeError,
    cut_message,
    error_from_response,
    error_from_transport,
)
from intelliauth_ext._inputs import accept_inputs
from intelliauth_ext._logging import log_attempt, logger, redact_text
from intelliauth_ext._pagination import (
    AsyncPaginator,
    FetchedPage,
    Page,
    cursor_not_sendable,
    split_list_envelope,
)
from intelliauth_ext._raw_response import RawResponse
from intelliauth_ext._request_options import RequestOptionsLike, merge_request_options
from intelliauth_ext._timeouts import attempt_deadline
from intelliauth_ext._transports import (
    DEFAULT_MAX_RESPONSE_BYTES,
    MAX_AUTH_RESPONSE_BYTES,
    ClientSender,
    DirectSender,
    Sender,
    absolute_url,
    current_async_library,
)

__all__ = ["IDEMPOTENCY_KEY_HEADER", "Invoker", "OperationLike"]

IDEMPOTENCY_KEY_HEADER: Final = "Idempotency-Key"

# What the generated `_parse_response` reads from its `client` argument: an undocumented
# 2xx status then raises `errors.UnexpectedStatus` instead of returning None.
_PARSE_CONTEXT: Final = types.SimpleNamespace(raise_on_unexpected_status=True)


class OperationLike(Protocol):
    """The fields of the generated ``facade.Operation`` that the runtime reads."""

    @property
    def operation_id(self) -> str: ...
    @property
    def method(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def module(self) -> str: ...
    @property
    def paginated(self) -> bool: ...
    @property
    def idempotency_key(self) -> bool: ...
    @property
    def redirects(self) -> tuple[int, ...]: ...
    @property
    def oauth_errors(self) -> bool: ...
    @property
    def inputs(self) -> tuple[str, ...]: ...
    @property
    def unwrap(self) -> bool: ...


class Invoker:
    """Sends operations of the generated facade with auth, retries, timeouts and logging.

    Args:
        http_client: The client that sends (ours or the user's); never closed here.
        auth: Applied to every request; None to use ``http_client``'s own auth.
        base_url: The tenant URL every operation path is appended to.
        timeout: Per-phase timeouts for every attempt.
        max_retries: Retries after the first attempt (0 disables retrying).
        headers: Headers added to every request (the caller's per-call headers win).
        direct: ``http_client`` is the SDK's own: requests go straight to its transport
            (``_transports.DirectSender``), not through ``AsyncClient.send``
            (``ClientSender``). Chosen here, once, for the invoker's life.
        max_response_bytes: The most decoded bytes read from a response body; an
            operation with RFC 6749 errors (token, revocation, introspection ...) reads at
            most ``MAX_AUTH_RESPONSE_BYTES`` (1 MiB) whatever this says.
    """

    def __init__(
        self,
        *,
        http_client: httpx.AsyncClient,
        auth: httpx.Auth | None,
        base_url: httpx.URL,
        timeout: httpx.Timeout,
        max_retries: int,
        headers: httpx.Headers,
        direct: bool = False,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        if max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {max_retries}")
        if isinstance(max_response_bytes, bool) or max_response_bytes < 1:
            raise ValueError(f"max_response_bytes must be >= 1, got {max_response_bytes}")
        self._http = http_client
        self._auth = auth
        self._base = str(base_url).rstrip("/")
        self._sender: Sender = (
            DirectSender(http_client, timeout=timeout) if direct else ClientSender(http_client)
        )
        self._client_headers: list[tuple[bytes, bytes]] | None = None
        self._merged_headers = httpx.Headers()
        self._timeout = timeout
        self._deadline = attempt_deadline(timeout)
        self._max_retries = max_retries
        self._headers = headers
        self._max_response_bytes = max_response_bytes
        self._max_auth_response_bytes = min(max_response_bytes, MAX_AUTH_RESPONSE_BYTES)

    @property
    def timeout(self) -> httpx.Timeout:
        """The per-phase timeouts of every attempt."""
        return self._timeout

    @property
    def max_retries(self) -> int:
        """How many times a failed attempt may be repeated."""
        return self._max_retries

    @property
    def max_response_bytes(self) -> int:
        """The most decoded bytes read from an API call's response body."""
        return self._max_response_bytes

    def with_auth(self, auth: httpx.Auth | None) -> Invoker:
        """A copy that authenticates its requests with ``auth``; all else is this invoker's.

        For an operation the contract authenticates otherwise than the client's token (the
        revocation and introspection endpoints take the client's own credentials). The
        copy shares the HTTP client, timeouts, retries and headers.
        """
        invoker = copy.copy(self)
        invoker._auth = auth
        return invoker

    async def call(
        self,
        operation: OperationLike,
        options: RequestOptionsLike | None = None,
        /,
        **kwargs: Any,
    ) -> Any:
        """Send ``operation`` and return what its ``_parse_response`` gives for the 2xx answer.

        ``options``: the call's ``extra_headers``, ``extra_query``, ``extra_body`` and
        ``timeout`` (``_request_options``). A body given as a mapping and an enum given as
        its value are converted first (``_inputs``).

        Raises:
            APIStatusError: A non-2xx answer.
            OAuthError: A non-2xx answer of an operation whose contract says its errors are
                RFC 6749 errors (``operation.oauth_errors``), but for a 429 or 5xx, which
                raises ``RateLimitError`` or ``InternalServerError`` (``token_error``).
            APIConnectionError: No answer, after the retries.
            APIResponseValidationError: A 2xx answer that does not parse.
            RequestValidationError: A mapping or enum value that does not fit the contract.
        """
        module = _endpoint_module(operation)
        if operation.inputs:
            kwargs = accept_inputs(operation, kwargs)
        return _parse(
            module, await self._send_operation(module, operation, kwargs, options), operation
        )

    async def call_with_raw_response(
        self,
        operation: OperationLike,
        options: RequestOptionsLike | None = None,
        /,
        **kwargs: Any,
    ) -> RawResponse[Any]:
        """Send ``operation`` as ``call`` does; the response, ``parse()`` giving ``call``'s result.

        The body is parsed on the first ``parse()`` (unwrapped from its ``{data, meta}``
        envelope when ``operation.unwrap``), so headers can be read from an answer that
        does not parse.
        """
        module = _endpoint_module(operation)
        if operation.inputs:
            kwargs = accept_inputs(operation, kwargs)
        response = await self._send_operation(module, operation, kwargs, options)
        unwrap = operation.unwrap

        def parse(response: httpx.Response) -> Any:
            parsed = _parse(module, response, operation)
            return parsed.data if unwrap else parsed

        return RawResponse(response, parse)

    async def first_page_with_raw_response(
        self,
        operation: OperationLike,
        options: RequestOptionsLike | None = None,
        /,
        **kwargs: Any,
    ) -> RawResponse[Page[Any]]:
        """Fetch a paginated operation's first page; its response, ``parse()`` giving the page."""
        page = await self.paginate(operation, options, **kwargs).first_page()
        if page.http_response is None:  # pragma: no cover - this invoker's pages keep theirs
            raise AssertionError("the first page has no response")
        return RawResponse(page.http_response, lambda _response: page)

    async def call_raw(self, operation: OperationLike, /, **kwargs: Any) -> httpx.Response:
        """Send ``operation`` as ``call`` does, and return the 2xx response unparsed.

        For a caller that reads the body with rules of its own (RFC 7662 introspection
        answers, whose checks ``_token_endpoints`` owns).

        Raises:
            APIStatusError: A non-2xx answer (``OAuthError`` when ``operation.oauth_errors``).
            APIConnectionError: No answer, after the retries.
        """
        return await self._send_operation(_endpoint_module(operation), operation, kwargs)

    def _send_operation(
        self,
        module: Any,
        operation: OperationLike,
        kwargs: Mapping[str, Any],
        options: RequestOptionsLike | None = None,
    ) -> Coroutine[Any, Any, httpx.Response]:
        # Not async itself: the caller awaits send's coroutine, one frame fewer per call.
        return self.send(
            module._get_kwargs(**kwargs),
            options=options,
            add_idempotency_key=operation.idempotency_key,
            accept=operation.redirects,
            oauth_errors=operation.oauth_errors,
            operation=operation,
        )

    def paginate(
        self,
        operation: OperationLike,
        options: RequestOptionsLike | None = None,
        /,
        **kwargs: Any,
    ) -> AsyncPaginator[Any]:
        """A paginator over a paginated operation; ``cursor=`` is where it starts.

        ``options`` and plain inputs as for ``call``, applied to every page.
        """
        if operation.inputs:
            kwargs = accept_inputs(operation, kwargs)
        start_cursor = kwargs.pop("cursor", None)
        # The generated UNSET is falsy: "no cursor" either way.
        start = start_cursor if isinstance(start_cursor, str) and start_cursor else None

        async def fetch(cursor: str | None) -> FetchedPage[Any]:
            call_kwargs = dict(kwargs)
            if cursor is not None:
                call_kwargs["cursor"] = cursor
            module = _endpoint_module(operation)
            try:
                response = await self.send(
                    module._get_kwargs(**call_kwargs),
                    options=options,
                    oauth_errors=operation.oauth_errors,
                    operation=operation,
                )
            except httpx.InvalidURL as exc:  # raised while building the URL, before sending
                if cursor is None:
                    raise
                raise cursor_not_sendable(cursor, exc) from exc
            envelope = _parse(module, response, operation)
            split = split_list_envelope(envelope)
            if split is None:
                raise APIResponseValidationError(
                    f"{operation.method} {operation.path} did not return a list envelope "
                    f"with data and meta.next_cursor (got {type(envelope).__name__})",
                    response=response,
                    operation=operation.operation_id,
                )
            return (*split, response)

        return AsyncPaginator(fetch, start_cursor=start)

    def prepare(
        self, request_kwargs: Mapping[str, Any], *, add_idempotency_key: bool = False
    ) -> dict[str, Any]:
        """Arguments of ``httpx.AsyncClient.build_request`` for a ``_get_kwargs`` output.

        The tenant URL is prefixed, the default headers merged, and, when asked and the
        caller gave none, an ``Idempotency-Key`` added: one key per call, chosen before the
        first attempt, so every retry carries it.
        """
        kwargs = dict(request_kwargs)
        method = str(kwargs.pop("method")).upper()
        path = str(kwargs.pop("url"))
        if not path.startswith("/"):
            raise ValueError(f"operation paths are relative to the tenant URL, got {path!r}")
        headers = self._default_headers().copy()
        extra = kwargs.pop("headers", None)
        if extra:
            headers.update(extra)
        if add_idempotency_key and IDEMPOTENCY_KEY_HEADER not in headers:
            headers[IDEMPOTENCY_KEY_HEADER] = str(uuid.uuid4())
        url = self._base + path
        params = kwargs.pop("params", None)
        if params:
            # One parse of the whole URL: httpx would parse it, then again with the query.
            # Not cached: a query (a cursor, a filter) rarely repeats.
            parsed_url = httpx.URL(f"{url}?{httpx.QueryParams(params)}")
        else:
            parsed_url = absolute_url(url)
        return {
            **kwargs,
            "method": method,
            "url": parsed_url,
            "headers": headers,
            "timeout": self._timeout,
        }

    def _default_headers(self) -> httpx.Headers:
        """The client's headers with this invoker's on top, rebuilt when the client's change."""
        client_headers = self._http.headers.raw
        if client_headers != self._client_headers:
            merged = httpx.Headers(self._http.headers)
            merged.update(self._headers)
            self._merged_headers, self._client_headers = merged, client_headers
        return self._merged_headers

    async def send(
        self,
        request_kwargs: Mapping[str, Any],
        *,
        add_idempotency_key: bool = False,
        accept: Collection[int] = (),
        oauth_errors: bool = False,
        options: RequestOptionsLike | None = None,
        operation: OperationLike | None = None,
    ) -> httpx.Response:
        """Send a request built from ``_get_kwargs`` output, retrying per ``_retries``.

        Each attempt sends a fresh ``httpx.Request`` built from the same arguments (the
        auth flow writes its header into the request it is given). Redirects are never
        followed; ``accept`` lists the 3xx statuses the operation documents as answers.
        ``oauth_errors``: the endpoint is a token endpoint (a grant, a revocation, an
        introspection): it is retried and its failures mapped as the token managers' are
        (``_auth/_token_endpoint``: ``should_retry(..., token_request=True)``, whatever the
        method, with the body's RFC 6749 code, and ``token_error``: a 429 or 5xx raises
        ``RateLimitError`` or ``InternalServerError``, any other status its ``OAuthError``).
        ``options``: per-call headers, query, body and timeout (``_request_options``).
        ``operation``: the call's span, when OpenTelemetry is configured (``_telemetry``).

        Returns:
            The 2xx (or accepted) response, its body read.

        Raises:
            APIStatusError: A non-2xx answer (``OAuthError`` with ``oauth_errors``).
            APIConnectionError: No answer, after the retries.
            ResponseTooLargeError: A body over the limit (not retried: the same request
                would get the same answer).
        """
        call_timeout = None
        if options is not None:
            request_kwargs, call_timeout = merge_request_options(
                request_kwargs, options, default_timeout=self._timeout
            )
        prepared = self.prepare(request_kwargs, add_idempotency_key=add_idempotency_key)
        if call_timeout is not None:
            prepared["timeout"] = call_timeout
        call = (
            _telemetry.start_operation(operation, prepared["url"], prepared["headers"])
            if operation is not None
            else None
        )
        attempts = self._attempts(prepared, accept=accept, oauth_errors=oauth_errors)
        return await (attempts if call is None else call.run(attempts))

    async def _attempts(
        self, prepared: dict[str, Any], *, accept: Collection[int], oauth_errors: bool
    ) -> httpx.Response:
        """``send``'s attempts of one prepared request: retries, errors (see ``send``)."""
        max_bytes = self._max_auth_response_bytes if oauth_errors else self._max_response_bytes
        timeout = prepared["timeout"]
        deadline = self._deadline if timeout is self._timeout else attempt_deadline(timeout)
        has_key = IDEMPOTENCY_KEY_HEADER in prepared["headers"]
        max_attempts = self._max_retries + 1
        for attempt in range(1, max_attempts + 1):
            request = self._sender.build_request(prepared)
            started = time.perf_counter()
            try:
                response = await self._send_once(request, max_bytes, deadline)
            except ResponseTooLargeError:
                _log(request, "ResponseTooLargeError", attempt, max_attempts, started)
                raise
            except (httpx.TransportError, TimeoutError) as exc:
                _log(request, type(exc).__name__, attempt, max_attempts, started)
                retryable = _retries.should_retry(
                    request.method, exc, has_idempotency_key=has_key, token_request=oauth_errors
                )
                if attempt < max_attempts and retryable:
                    await self._wait(request, attempt, _retries.retry_delay(attempt), exc)
                    continue
                raise error_from_transport(exc, request) from exc
            except httpx.RequestError as exc:  # decoding errors, too many redirects
                _log(request, type(exc).__name__, attempt, max_attempts, started)
                raise error_from_transport(exc, request) from exc

            _log(request, response, attempt, max_attempts, started)
            if response.is_success or response.status_code in accept:
                return response
            retryable = _retries.should_retry(
                request.method,
                response.status_code,
                has_idempotency_key=has_key,
                token_request=oauth_errors,
                oauth_error=oauth_error_code(response) if oauth_errors else None,
            )
            if attempt < max_attempts and retryable:
                server_wait = _retries.server_requested_wait(response.headers)
                if server_wait is None or server_wait <= _retries.MAX_SERVER_WAIT:
                    delay = _retries.retry_delay(attempt, server_wait=server_wait)
                    await self._wait(request, attempt, delay, response.status_code)
                    continue
                logger.debug(
                    "not retrying %s %s: the server asked for %.0f s (cap %.0f s)",
                    request.method,
                    redact_text(request.url.path),
                    server_wait,
                    _retries.MAX_SERVER_WAIT,
                )
            if oauth_errors:
                # The token managers' rule (``_token_endpoint``): a 429 or 5xx is an outage.
                raise token_error(response)
            raise error_from_response(response, oauth=False)
        raise AssertionError("unreachable: the last attempt returns or raises")  # pragma: no cover

    async def _send_once(
        self, request: httpx.Request, max_bytes: int, deadline: float | None
    ) -> httpx.Response:
        # The deadline covers auth, send and body read; both scopes raise TimeoutError when
        # it passes. On asyncio, asyncio.timeout does that for less CPU than anyio's cancel
        # scope (a cost paid on every request); fail_after(None) is a no-op scope.
        if deadline is not None and current_async_library() == "asyncio":
            async with asyncio.timeout(deadline):
                return await self._sender.send(request, self._auth, max_bytes=max_bytes)
        with anyio.fail_after(deadline):
            return await self._sender.send(request, self._auth, max_bytes=max_bytes)

    async def _wait(
        self, request: httpx.Request, attempt: int, delay: float, cause: int | BaseException
    ) -> None:
        reason = cause if isinstance(cause, int) else type(cause).__name__
        _telemetry.record_retry(attempt, reason, delay)
        logger.debug(
            "retrying %s %s after %s in %.2f s (retry %d of %d)",
            request.method,
            redact_text(request.url.path),
            reason,
            delay,
            attempt,
            self._max_retries,
        )
        await _retries.sleep_before_retry(delay)


def _endpoint_module(operation: OperationLike) -> Any:
    """The generated endpoint module of ``operation``, imported on first use."""
    return sys.modules.get(operation.module) or importlib.import_module(operation.module)


# The end of a msgspec.ValidationError message: where in the body the check failed.
_AT_PATH: Final = re.compile(r" - at `(\$[^`]*)`\Z")
# A missing required field is reported at its object's path; the field is named before.
_MISSING_FIELD: Final = re.compile(r"\AObject missing required field `([^`]*)`")


def _field_path(error: msgspec.ValidationError) -> tuple[str, str]:
    """The path of the value ``error`` is about (``$.data[3].email``), and what is wrong."""
    message = str(error)
    at = _AT_PATH.search(message)
    path = at.group(1) if at else "$"
    problem = message[: at.start()] if at else message
    missing = _MISSING_FIELD.match(problem)
    if missing:
        path = f"{path}.{missing.group(1)}"
    return path, problem


def _parse(module: Any, response: httpx.Response, operation: OperationLike) -> Any:
    """Parse a 2xx response with the generated parser; any failure is a validation error.

    The generated parser decodes a model body with msgspec, which checks every value
    against the contract (``intelliauth_client/_decoding.py``); its ``ValidationError``
    names the path of the value, which the error carries as ``field``. A parse failure is
    chained as the cause: its traceback shows where parsing stopped. ``UnexpectedStatus``
    (a 2xx the operation does not document) is not chained, nor kept as the context: its
    message is the raw body, for a token endpoint the tokens, which every traceback and
    ``logger.exception`` would print. The body stays on ``exc.response`` for those who ask.
    """
    cause: Exception | None
    field: str | None = None
    try:
        return module._parse_response(client=_PARSE_CONTEXT, response=response)
    except UnexpectedStatus:
        cause, detail = None, "a status the contract does not document"
    except msgspec.ValidationError as exc:
        field, problem = _field_path(exc)
        cause, detail = exc, f"at {field}: " + cut_message(redact_text(problem))
    except Exception as exc:
        cause, detail = exc, cut_message(redact_text(f"{type(exc).__name__}: {exc}"))
    # Raised here, outside the except clauses, so that no exception is its context.
    raise APIResponseValidationError(
        f"the {response.status_code} response to {response.request.method} "
        f"{response.request.url.path} ({operation.operation_id}) does not match the "
        f"contract ({detail})",
        response=response,
        field=field,
        operation=operation.operation_id,
    ) from cause


def _log(
    request: httpx.Request,
    outcome: httpx.Response | str,
    attempt: int,
    max_attempts: int,
    started: float,
) -> None:
    """Log one attempt; ``outcome`` is the response or the name of the exception."""
    if not logger.isEnabledFor(logging.DEBUG):  # the usual case: skip the header lookup
        return
    if isinstance(outcome, httpx.Response):
        status: int | str = outcome.status_code
        request_id = outcome.headers.get(REQUEST_ID_HEADER)
    else:
        status, request_id = outcome, None
    log_attempt(
        method=request.method,
        url=request.url,
        status=status,
        request_id=request_id,
        attempt=attempt,
        max_attempts=max_attempts,
        elapsed_seconds=time.perf_counter() - started,
    )
