"""OpenTelemetry for the SDK's requests: spans, span events, and the W3C trace context.

Optional (``pip install "intelliauth[otel]"``) and through ``opentelemetry-api`` only: the
SDK never configures a tracer provider, the application does. What it produces once one
is configured:

* one ``CLIENT`` span per operation call, named after the operationId (``getUser``), with
  the attributes of OpenTelemetry's HTTP client semantic conventions
  (``http.request.method``, ``server.address``, ``server.port``, ``url.full`` with secret
  query values redacted, ``url.template``, ``http.response.status_code``, ``error.type``)
  and the SDK's own (``intelliauth.operation_id``, ``intelliauth.request_id``,
  ``intelliauth.retry_count``);
* one ``CLIENT`` span ``oauth2.token`` per token request (grant, revocation or
  introspection) with its ``intelliauth.oauth2.grant_type``; a token request made while
  an operation waits for its token is that operation's child;
* a span event per retry (``intelliauth.retry``) and per request the auth flow replays
  after a 401 (``intelliauth.auth_replay``);
* the W3C ``traceparent`` (through the globally configured propagator,
  ``opentelemetry.propagate.inject``) on every request, so the platform's traces join
  the caller's.

No attribute or event carries a header, a body, a message of an exception (a body preview
may hold a token) or a query value that ``_logging`` calls secret.

Cost: the ``opentelemetry`` package is imported on the first request, never at
``import intelliauth_ext``. Without it, each call pays one global lookup. With it and no
tracer provider configured (``opentelemetry.trace`` hands out its proxy provider), each
call pays a provider check and a context lookup: no span is made, and a trace context
is still propagated when one is active (a span extracted from an incoming request, say).
``make bench`` scenario ``otel`` measures both against a process where the package can
not be imported.
"""

from __future__ import annotations

import types
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any, Final, Protocol
from urllib.parse import parse_qs

import httpx

if TYPE_CHECKING:
    from contextvars import Token

    from opentelemetry.context import Context
    from opentelemetry.trace import Span, Tracer

__all__ = [
    "TracedCall",
    "propagate_context",
    "record_replay",
    "record_retry",
    "start_operation",
    "start_token_request",
]

INSTRUMENTATION_NAME: Final = "intelliauth"
#: The semantic conventions version the attribute names follow.
SCHEMA_URL: Final = "https://opentelemetry.io/schemas/1.26.0"
TOKEN_SPAN_NAME: Final = "oauth2.token"  # noqa: S105 - a span name
RETRY_EVENT: Final = "intelliauth.retry"
REPLAY_EVENT: Final = "intelliauth.auth_replay"

_REQUEST_ID_HEADER: Final = "x-request-id"
_DEFAULT_PORTS: Final = {"https": 443, "http": 80}


class _Operation(Protocol):
    @property
    def operation_id(self) -> str: ...
    @property
    def method(self) -> str: ...
    @property
    def path(self) -> str: ...


class _NotLoaded:
    """The state before the first request tried to import ``opentelemetry``."""


_NOT_LOADED: Final = _NotLoaded()
#: ``opentelemetry.trace``, None when it can not be imported, or not tried yet.
_trace: types.ModuleType | _NotLoaded | None = _NOT_LOADED
#: The tracer of the provider it came from (a test may set another provider).
_tracer_of: tuple[object, Tracer] | None = None
#: Whether ``opentelemetry.trace`` keeps its global provider in ``_TRACER_PROVIDER``.
_provider_global = False


def _no_context() -> Context | None:
    return None


#: ``opentelemetry.context.get_current`` once loaded (looked up once: an import statement
#: on every call would cost more than the rest of the unconfigured path).
_current_context: Callable[[], Context | None] = _no_context


def _trace_api() -> types.ModuleType | None:
    """``opentelemetry.trace``, imported on first use; None when it is not installed."""
    global _trace, _provider_global, _current_context
    if isinstance(_trace, _NotLoaded):
        try:
            import opentelemetry.trace as trace_api
            from opentelemetry.context import get_current
        except ImportError:
            _trace = None
        else:
            _current_context = get_current
            # A provider named by OTEL_PYTHON_TRACER_PROVIDER is loaded by this first call.
            trace_api.get_tracer_provider()
            _provider_global = hasattr(trace_api, "_TRACER_PROVIDER")
            _trace = trace_api
    return _trace


def _tracer(trace: types.ModuleType) -> Tracer | None:
    """The SDK's tracer, or None while no tracer provider is configured."""
    global _tracer_of
    if _provider_global:
        # The API's own global, read directly: get_tracer_provider() looks up an
        # environment variable on every call while none is set (microseconds per call,
        # the whole cost of an unconfigured OpenTelemetry here).
        provider = trace._TRACER_PROVIDER
        if provider is None:
            return None
    else:  # pragma: no cover - an opentelemetry-api without that global
        provider = trace.get_tracer_provider()
        if isinstance(provider, trace.ProxyTracerProvider):
            return None
    if _tracer_of is None or _tracer_of[0] is not provider:
        from importlib import metadata

        try:
            version = metadata.version("intelliauth")
        except metadata.PackageNotFoundError:  # pragma: no cover - running from a checkout
            version = "0"
        tracer: Tracer = provider.get_tracer(INSTRUMENTATION_NAME, version, schema_url=SCHEMA_URL)
        _tracer_of = (provider, tracer)
    return _tracer_of[1]


def _inject(headers: MutableMapping[str, str], context: Context | None = None) -> None:
    """Write the trace context (``traceparent`` ...) into ``headers``."""
    from opentelemetry import propagate

    propagate.inject(headers, context=context)


def _propagate_only(trace: types.ModuleType, headers: MutableMapping[str, str]) -> None:
    """No span of ours: propagate the active trace context, if there is one."""
    context = _current_context()
    # An empty context (the usual case without a configured SDK) has no span: skip the
    # span lookup.
    if context and trace.get_current_span(context).get_span_context().is_valid:
        _inject(headers, context)


def _server_attributes(url: httpx.URL) -> dict[str, Any]:
    if url.query or url.userinfo:  # where a secret can be: redacted as in the logs
        from intelliauth_ext._logging import redact_url

        full = redact_url(url)
    else:
        full = str(url)
    return {
        "server.address": url.host,
        "server.port": url.port or _DEFAULT_PORTS.get(url.scheme, 443),
        "url.full": full,
    }


class TracedCall:
    """One request's span (an operation call or a token request), current while it runs.

    Made by ``start_operation`` or ``start_token_request``, which attach it to the
    OpenTelemetry context; ``run`` awaits the call, records its outcome, ends the span and
    detaches it.
    """

    __slots__ = ("_span", "_token")

    def __init__(self, span: Span, token: Token[Context]) -> None:
        self._span = span
        self._token = token

    @property
    def span(self) -> Span:
        """The OpenTelemetry span."""
        return self._span

    async def run(self, sending: Awaitable[httpx.Response]) -> httpx.Response:
        """Await ``sending``, recording its response or failure on the span.

        Raises:
            BaseException: Whatever ``sending`` raises, unchanged.
        """
        from opentelemetry import context as context_api

        span = self._span
        try:
            response = await sending
        except BaseException as exc:
            self._failed(exc)
            raise
        else:
            self._answered(response)
            return response
        finally:
            span.end()
            context_api.detach(self._token)

    def _answered(self, response: httpx.Response) -> None:
        span = self._span
        status = response.status_code
        span.set_attribute("http.response.status_code", status)
        request_id = response.headers.get(_REQUEST_ID_HEADER)
        if request_id:
            span.set_attribute("intelliauth.request_id", request_id)
        if status >= 400:  # a token request's final failure is returned, not raised
            self._error(str(status))

    def _failed(self, exc: BaseException) -> None:
        span = self._span
        status = getattr(exc, "status_code", None)
        if isinstance(status, int):
            span.set_attribute("http.response.status_code", status)
        request_id = getattr(exc, "request_id", None)
        if request_id is None:
            response = getattr(exc, "response", None)
            if isinstance(response, httpx.Response):
                request_id = response.headers.get(_REQUEST_ID_HEADER)
        if isinstance(request_id, str) and request_id:
            span.set_attribute("intelliauth.request_id", request_id)
        # The semantic conventions' error.type: the status of an HTTP error, else the
        # exception's class (never its message: it may quote a response body).
        self._error(str(status) if isinstance(status, int) else type(exc).__qualname__)

    def _error(self, error_type: str) -> None:
        from opentelemetry.trace import Status, StatusCode

        self._span.set_attribute("error.type", error_type)
        self._span.set_status(Status(StatusCode.ERROR, error_type))


def _start(
    trace: types.ModuleType,
    tracer: Tracer,
    name: str,
    attributes: dict[str, Any],
    headers: MutableMapping[str, str],
) -> TracedCall:
    from opentelemetry import context as context_api

    span = tracer.start_span(
        name,
        kind=trace.SpanKind.CLIENT,
        attributes=attributes,
        # Recorded by TracedCall, without the exception's message.
        record_exception=False,
        set_status_on_exception=False,
    )
    context = trace.set_span_in_context(span)
    token = context_api.attach(context)
    _inject(headers, context)
    return TracedCall(span, token)


def start_operation(
    operation: _Operation, url: httpx.URL, headers: MutableMapping[str, str]
) -> TracedCall | None:
    """Start the span of one operation call, and put its trace context in ``headers``.

    Args:
        operation: The generated facade's ``Operation``.
        url: The request URL (its query included).
        headers: The request's headers, sent on every attempt: ``traceparent`` is added.

    Returns:
        The call to ``run``; None when no tracer provider is configured (the active trace
        context, if any, is still written into ``headers``) or OpenTelemetry is missing.
    """
    trace = _trace if not isinstance(_trace, _NotLoaded) else _trace_api()
    if trace is None:
        return None
    tracer = _tracer(trace)
    if tracer is None:
        _propagate_only(trace, headers)
        return None
    attributes = _server_attributes(url)
    attributes["http.request.method"] = operation.method
    attributes["url.template"] = operation.path
    attributes["intelliauth.operation_id"] = operation.operation_id
    attributes["intelliauth.retry_count"] = 0
    return _start(trace, tracer, operation.operation_id, attributes, headers)


def _grant_type(request: httpx.Request) -> str | None:
    """The ``grant_type`` of a form-encoded token request; None for another body."""
    try:
        content = request.content
    except httpx.RequestNotRead:
        return None
    try:
        values = parse_qs(content.decode("ascii"), max_num_fields=64).get("grant_type")
    except (UnicodeDecodeError, ValueError):
        return None
    return values[0] if values else None


def start_token_request(request: httpx.Request) -> TracedCall | None:
    """Start the ``oauth2.token`` span of a token request, and put its context in the headers.

    Returns:
        The call to ``run``; None as for ``start_operation``.
    """
    trace = _trace if not isinstance(_trace, _NotLoaded) else _trace_api()
    if trace is None:
        return None
    tracer = _tracer(trace)
    if tracer is None:
        _propagate_only(trace, request.headers)
        return None
    attributes = _server_attributes(request.url)
    attributes["http.request.method"] = request.method
    attributes["intelliauth.retry_count"] = 0
    grant_type = _grant_type(request)
    if grant_type is not None:
        attributes["intelliauth.oauth2.grant_type"] = grant_type
    return _start(trace, tracer, TOKEN_SPAN_NAME, attributes, request.headers)


def propagate_context(headers: MutableMapping[str, str]) -> None:
    """Write the active trace context into ``headers``, for a request without a span of its own.

    Discovery and UserInfo requests join the caller's trace this way; nothing is written
    when OpenTelemetry is missing or no trace is active.
    """
    trace = _trace if not isinstance(_trace, _NotLoaded) else _trace_api()
    if trace is not None:
        _propagate_only(trace, headers)


def _current_recording_span() -> Span | None:
    trace = _trace
    if trace is None or isinstance(trace, _NotLoaded):
        return None
    span: Span = trace.get_current_span()
    return span if span.is_recording() else None


def record_retry(attempt: int, reason: int | str, delay: float) -> None:
    """Add a retry event to the current span, and count it in ``intelliauth.retry_count``.

    Args:
        attempt: The number of the retry about to be made (1 for the first).
        reason: The status or exception class name of the attempt that failed.
        delay: Seconds waited before the retry.
    """
    span = _current_recording_span()
    if span is None:
        return
    span.set_attribute("intelliauth.retry_count", attempt)
    span.add_event(
        RETRY_EVENT,
        {
            "intelliauth.retry.attempt": attempt,
            "intelliauth.retry.reason": str(reason),
            "intelliauth.retry.delay_s": delay,
        },
    )


def record_replay(status_code: int) -> None:
    """Add an event to the current span: the auth flow resends a request after ``status_code``."""
    span = _current_recording_span()
    if span is not None:
        span.add_event(REPLAY_EVENT, {"http.response.status_code": status_code})
