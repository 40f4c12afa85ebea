"""Tests for intelliauth_ext._telemetry: spans, events and traceparent, over a real server."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import opentelemetry.trace as trace_api
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from opentelemetry.util._once import Once

from intelliauth_ext import APIConnectionError, NotFoundError, _telemetry
from intelliauth_ext._client import IntelliAuth

from .doubles import USER
from .servers import LocalServer

SECRET = "cs_live_SUPERSECRET_telemetry"
TOKEN = "at_TOKEN_VALUE_telemetry"
REQUEST_ID = "req_telemetry_1"


def _reset_global_provider() -> None:
    # opentelemetry-api lets a process set its tracer provider once; its own test utilities
    # (opentelemetry.test.globals_test.reset_trace_globals) reset these two the same way.
    trace_api._TRACER_PROVIDER = None
    trace_api._TRACER_PROVIDER_SET_ONCE = Once()


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    """A configured SDK: a global tracer provider exporting to memory, removed afterwards."""
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    _reset_global_provider()
    trace_api.set_tracer_provider(provider)
    yield memory
    provider.shutdown()
    _reset_global_provider()


@pytest.fixture
def unconfigured() -> Iterator[None]:
    """No tracer provider configured (the API's proxy provider), whatever ran before."""
    _reset_global_provider()
    yield
    _reset_global_provider()


def _serve_api(server: LocalServer, user_statuses: list[int]) -> None:
    """A token endpoint and GET /api/v1/users/usr_01 answering ``user_statuses`` in turn."""
    server.json_route(
        "POST",
        "/oauth2/token",
        200,
        {"access_token": TOKEN, "token_type": "Bearer", "expires_in": 3600},
    )
    statuses = iter(user_statuses)

    def user_route(handler: Any, body: bytes) -> tuple[int, dict[str, str], bytes]:
        status = next(statuses)
        headers = {"X-Request-Id": REQUEST_ID}
        if status == 200:
            return status, headers, json.dumps({"data": USER, "meta": {}}).encode()
        return status, headers, json.dumps({"error": "x", "message": TOKEN}).encode()

    server.routes[("GET", "/api/v1/users/usr_01")] = user_route


def _client(server: LocalServer) -> IntelliAuth:
    return IntelliAuth(server.url, client_id="app_1", client_secret=SECRET, max_retries=2)


def _traceparent(headers: dict[str, str]) -> tuple[str, str]:
    """The trace id and parent span id of a request's ``traceparent`` header."""
    value = {name.lower(): item for name, item in headers.items()}["traceparent"]
    version, trace_id, span_id, flags = value.split("-")
    assert version == "00"
    assert int(flags, 16) & 1
    return trace_id, span_id


def _spans(exporter: InMemorySpanExporter, name: str) -> list[ReadableSpan]:
    return [span for span in exporter.get_finished_spans() if span.name == name]


def _assert_no_secret(exporter: InMemorySpanExporter) -> None:
    """No attribute or event attribute of any span holds the secret or the token."""
    for span in exporter.get_finished_spans():
        values = [*(span.attributes or {}).values()]
        for event in span.events:
            values.extend((event.attributes or {}).values())
        values.append(span.name)
        values.append(span.status.description or "")
        for value in values:
            assert SECRET not in str(value)
            assert TOKEN not in str(value)


@pytest.mark.anyio
async def test_get_user_is_a_client_span_with_http_attributes_and_the_server_gets_its_trace(
    local_server: LocalServer, exporter: InMemorySpanExporter
) -> None:
    """users.get: a getUser CLIENT span with semconv attributes; the server gets its trace."""
    _serve_api(local_server, [200])
    tracer = trace_api.get_tracer("test")
    async with _client(local_server) as client:
        with tracer.start_as_current_span("handler") as parent:
            await client.users.get("usr_01")
    trace_id = format(parent.get_span_context().trace_id, "032x")

    (span,) = _spans(exporter, "getUser")
    assert span.kind is SpanKind.CLIENT
    assert span.parent is not None
    assert span.parent.span_id == parent.get_span_context().span_id
    attributes = dict(span.attributes or {})
    port = int(local_server.url.rsplit(":", 1)[1])
    assert attributes == {
        "http.request.method": "GET",
        "url.template": "/api/v1/users/{user_id}",
        "url.full": f"{local_server.url}/api/v1/users/usr_01",
        "server.address": "127.0.0.1",
        "server.port": port,
        "http.response.status_code": 200,
        "intelliauth.operation_id": "getUser",
        "intelliauth.request_id": REQUEST_ID,
        "intelliauth.retry_count": 0,
    }
    assert span.status.status_code is StatusCode.UNSET

    # The token request: its own span, a child of the operation's, with the grant type.
    (token_span,) = _spans(exporter, "oauth2.token")
    assert token_span.kind is SpanKind.CLIENT
    assert token_span.parent is not None
    assert token_span.parent.span_id == span.context.span_id
    assert token_span.attributes is not None
    assert token_span.attributes["intelliauth.oauth2.grant_type"] == "client_credentials"
    assert token_span.attributes["http.response.status_code"] == 200

    # What the server received: the active trace, with the span that sent each request.
    token_request, user_request = local_server.requests
    assert token_request[:2] == ("POST", "/oauth2/token")
    assert _traceparent(token_request[2]) == (trace_id, format(token_span.context.span_id, "016x"))
    assert _traceparent(user_request[2]) == (trace_id, format(span.context.span_id, "016x"))
    _assert_no_secret(exporter)


@pytest.mark.anyio
async def test_a_retry_and_a_401_replay_are_span_events(
    local_server: LocalServer, exporter: InMemorySpanExporter
) -> None:
    """A 503 then a 401 then a 200: one retry event, one replay event, retry_count 1."""
    _serve_api(local_server, [503, 401, 200])
    async with _client(local_server) as client:
        await client.users.get("usr_01")

    (span,) = _spans(exporter, "getUser")
    assert span.attributes is not None
    assert span.attributes["intelliauth.retry_count"] == 1
    assert span.attributes["http.response.status_code"] == 200
    events = [(event.name, dict(event.attributes or {})) for event in span.events]
    assert events[0][0] == "intelliauth.retry"
    assert events[0][1]["intelliauth.retry.attempt"] == 1
    assert events[0][1]["intelliauth.retry.reason"] == "503"
    assert events[1] == ("intelliauth.auth_replay", {"http.response.status_code": 401})
    # The 401 made the token manager fetch a new token: two token spans, both children.
    token_spans = _spans(exporter, "oauth2.token")
    assert len(token_spans) == 2
    assert all(
        t.parent is not None and t.parent.span_id == span.context.span_id for t in token_spans
    )
    # Every request the server got carried the trace context.
    assert all("traceparent" in {k.lower() for k in r[2]} for r in local_server.requests)
    _assert_no_secret(exporter)


@pytest.mark.anyio
async def test_a_status_error_sets_error_type_and_the_request_id(
    local_server: LocalServer, exporter: InMemorySpanExporter
) -> None:
    """A 404: error.type "404", status ERROR, the request id; the body's text nowhere."""
    _serve_api(local_server, [404])
    async with _client(local_server) as client:
        with pytest.raises(NotFoundError):
            await client.users.get("usr_01")
    (span,) = _spans(exporter, "getUser")
    assert span.attributes is not None
    assert span.attributes["error.type"] == "404"
    assert span.attributes["http.response.status_code"] == 404
    assert span.attributes["intelliauth.request_id"] == REQUEST_ID
    assert span.status.status_code is StatusCode.ERROR
    assert not span.events  # no exception event: its message could quote the body
    _assert_no_secret(exporter)


@pytest.mark.anyio
async def test_a_failed_token_request_is_an_error_span_without_the_secret(
    local_server: LocalServer, exporter: InMemorySpanExporter
) -> None:
    """A token endpoint answering 401 invalid_client: oauth2.token has error.type 401."""
    local_server.json_route(
        "POST", "/oauth2/token", 401, {"error": "invalid_client", "error_description": SECRET}
    )
    async with _client(local_server) as client:
        with pytest.raises(Exception, match="invalid_client"):
            await client.users.get("usr_01")
    (token_span,) = _spans(exporter, "oauth2.token")
    assert token_span.attributes is not None
    assert token_span.attributes["error.type"] == "401"
    (span,) = _spans(exporter, "getUser")
    assert span.attributes is not None
    assert span.attributes["error.type"] == "401"
    _assert_no_secret(exporter)


@pytest.mark.anyio
async def test_a_connection_error_names_the_exception_class(
    exporter: InMemorySpanExporter,
) -> None:
    """Nothing listening: error.type is the exception's class, retries are events."""
    server = LocalServer()  # bound, never started: connections are refused or hang up
    url = server.url
    server._server.server_close()
    async with IntelliAuth(url, auth=None, max_retries=1) as client:
        with pytest.raises(APIConnectionError):
            await client.users.get("usr_01")
    (span,) = _spans(exporter, "getUser")
    assert span.attributes is not None
    assert span.attributes["error.type"] in {"APIConnectionError", "APITimeoutError"}
    assert "http.response.status_code" not in span.attributes
    assert span.attributes["intelliauth.retry_count"] == 1
    assert [event.name for event in span.events] == ["intelliauth.retry"]


@pytest.mark.anyio
async def test_each_page_of_a_list_is_a_span(
    local_server: LocalServer, exporter: InMemorySpanExporter
) -> None:
    """async for over two pages: two listUsers spans, url.template without the query."""
    local_server.json_route(
        "POST", "/oauth2/token", 200, {"access_token": TOKEN, "expires_in": 3600}
    )

    def list_route(handler: Any, body: bytes) -> tuple[int, dict[str, str], bytes]:
        second = "cursor=c2" in handler.path
        page = {"data": [USER], "meta": {"next_cursor": None if second else "c2"}}
        return 200, {}, json.dumps(page).encode()

    local_server.routes[("GET", "/api/v1/users")] = list_route
    async with _client(local_server) as client:
        assert len([user async for user in client.users.list(limit=1)]) == 2
    spans = _spans(exporter, "listUsers")
    assert len(spans) == 2
    assert {(s.attributes or {})["url.template"] for s in spans} == {"/api/v1/users"}


@pytest.mark.anyio
async def test_without_a_configured_provider_no_span_is_made_but_an_active_trace_propagates(
    local_server: LocalServer, unconfigured: None
) -> None:
    """The API's proxy provider: no span; an active remote span context still propagates."""
    _serve_api(local_server, [200, 200])
    async with _client(local_server) as client:
        await client.users.get("usr_01")
        assert _telemetry.start_operation(_operation(), _url(), {}) is None
        remote = trace_api.SpanContext(
            trace_id=0x0AF7651916CD43DD8448EB211C80319C,
            span_id=0xB7AD6B7169203331,
            is_remote=True,
            trace_flags=trace_api.TraceFlags(1),
        )
        with trace_api.use_span(trace_api.NonRecordingSpan(remote)):
            await client.users.get("usr_01")
    _token, first, second = local_server.requests
    assert "traceparent" not in {name.lower() for name in first[2]}
    assert _traceparent(second[2]) == ("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331")


def _operation() -> Any:
    from intelliauth_client.facade import OPERATIONS

    return OPERATIONS["getUser"]


def _url() -> Any:
    import httpx

    return httpx.URL("https://acme.intelliauth.test/api/v1/users/usr_01")


@pytest.mark.anyio
async def test_without_opentelemetry_installed_calls_work_and_send_no_traceparent(
    local_server: LocalServer, monkeypatch: pytest.MonkeyPatch, exporter: InMemorySpanExporter
) -> None:
    """opentelemetry not importable (even with a provider set before): no span, no header."""
    monkeypatch.setitem(sys.modules, "opentelemetry", None)
    monkeypatch.setitem(sys.modules, "opentelemetry.trace", None)
    monkeypatch.setattr(_telemetry, "_trace", _telemetry._NOT_LOADED)
    _serve_api(local_server, [200])
    async with _client(local_server) as client:
        await client.users.get("usr_01")
    assert _telemetry._trace is None
    assert exporter.get_finished_spans() == ()
    assert all("traceparent" not in {k.lower() for k in r[2]} for r in local_server.requests)


def test_url_full_redacts_secret_query_values() -> None:
    """url.full hides a secret query value (as the logs do) and keeps a plain URL as is."""
    secret_url = httpx.URL(f"https://acme.intelliauth.test/cb?code={TOKEN}&state=s&access_token=x")
    full = _telemetry._server_attributes(secret_url)["url.full"]
    assert TOKEN not in full
    assert "access_token=x" not in full
    assert full.startswith("https://acme.intelliauth.test/cb?")
    plain = _telemetry._server_attributes(httpx.URL("http://127.0.0.1:8080/api/v1/users"))
    assert plain == {
        "server.address": "127.0.0.1",
        "server.port": 8080,
        "url.full": "http://127.0.0.1:8080/api/v1/users",
    }
    assert _telemetry._server_attributes(httpx.URL("https://a.test/x"))["server.port"] == 443


@pytest.mark.anyio
async def test_discovery_and_userinfo_requests_carry_the_active_trace(
    local_server: LocalServer, exporter: InMemorySpanExporter
) -> None:
    """fetch_provider_metadata and fetch_userinfo send the caller's traceparent."""
    from intelliauth_ext import fetch_provider_metadata, fetch_userinfo

    local_server.json_route(
        "GET",
        "/.well-known/openid-configuration",
        200,
        {"issuer": local_server.url, "userinfo_endpoint": f"{local_server.url}/userinfo"},
    )
    local_server.json_route("GET", "/userinfo", 200, {"sub": "u1"})
    with trace_api.get_tracer("test").start_as_current_span("handler") as parent:
        metadata = await fetch_provider_metadata(local_server.url)
        await fetch_userinfo(metadata, TOKEN)
    context = parent.get_span_context()
    expected = (format(context.trace_id, "032x"), format(context.span_id, "016x"))
    assert len(local_server.requests) == 3  # two discovery documents, one UserInfo
    for _, _, headers, _ in local_server.requests:
        assert _traceparent(headers) == expected
    _assert_no_secret(exporter)
