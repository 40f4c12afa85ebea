"""Tests for intelliauth_ext._logging: redaction, the per-request line, INTELLIAUTH_LOG."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from intelliauth_ext import AuthenticationError
from intelliauth_ext._auth import ClientCredentials
from intelliauth_ext._client import IntelliAuth
from intelliauth_ext._logging import (
    REDACTED,
    SECRET_PARAMS,
    THIRD_PARTY_LOGGERS,
    RedactingFilter,
    configure_from_env,
    install_redaction_filters,
    logger,
    redact,
    redact_headers,
    redact_location,
    redact_text,
    redact_url,
)

from .servers import LocalServer

SECRET = "cs_SUPERSECRET_value"
ACCESS = "at_ACCESS_TOKEN_value"
REFRESH = "rt_REFRESH_TOKEN_value"
ID_TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.SIGNATURE_value"
COOKIE = "sess_COOKIE_value"
PASSWORD = "hunter2_PASSWORD_value"
ALL_SECRETS = (SECRET, ACCESS, REFRESH, ID_TOKEN, COOKIE, PASSWORD)


@pytest.mark.parametrize(
    "field",
    [
        "client_secret",
        "client_assertion",
        "refresh_token",
        "code_verifier",
        "password",
        "access_token",
        "id_token",
    ],
)
def test_secret_fields_are_redacted_in_form_json_and_query(field: str) -> None:
    """Each secret field is redacted as form/query field, JSON member and Python repr."""
    texts = [
        f"grant_type=x&{field}=s3cr3t-value&scope=a",
        f'{{"{field}": "s3cr3t-value", "scope": "a"}}',
        f"{{'{field}': 's3cr3t-value'}}",
        f"https://t.test/cb?{field}=s3cr3t-value&state=1",
    ]
    for text in texts:
        redacted = redact_text(text)
        assert "s3cr3t-value" not in redacted
        assert REDACTED in redacted
    assert "scope=a" in redact_text(texts[0])


@pytest.mark.parametrize("field", sorted(SECRET_PARAMS - {"client_secret", "password"}))
def test_secret_params_are_redacted_in_query_and_form(field: str) -> None:
    """A code, token or assertion is redacted as a query or form field, state or not."""
    for text in (
        f"https://app.test/callback?{field}=s3cr3t-value",
        f"https://app.test/callback?state=abc&{field}=s3cr3t-value&iss=x",
        f"grant_type=x&{field}=s3cr3t-value",
        f"https://app.test/callback#{field}=s3cr3t-value&token_type=bearer",
    ):
        redacted = redact_text(text)
        assert "s3cr3t-value" not in redacted, text
        assert f"{field}={REDACTED}" in redacted


def test_names_that_only_contain_code_or_token_are_kept() -> None:
    """error_code=, code_challenge=, token_type_hint= and a JSON error code stay readable."""
    text = (
        "error_code=e1 code_challenge=c1 token_type_hint=refresh_token postal_code=p1 "
        '{"code": "not_found"}'
    )
    assert redact_text(text) == text


def test_location_headers_lose_their_query_and_fragment() -> None:
    """A redirect's code, state and tokens go; where it points (scheme, host, path) stays."""
    httpcore_line = (
        "receive_response_headers.complete return_value=(b'HTTP/1.1', 302, b'Found', "
        "[(b'Location', b'https://app.test/cb?code=c0de&state=st8&iss=x'), "
        "(b'Content-Length', b'0')])"
    )
    assert redact_text(httpcore_line) == httpcore_line.replace(
        "?code=c0de&state=st8&iss=x", f"?{REDACTED}"
    )
    line = redact_text("Location: https://app.test/cb#access_token=t0ken&state=st8")
    assert line == f"Location: https://app.test/cb?{REDACTED}"
    assert redact_text("(b'location', b'/api/v1/users/usr_1')") == (
        "(b'location', b'/api/v1/users/usr_1')"
    )
    assert redact_headers({"Location": "https://app.test/cb?code=c0de"}) == {
        "Location": f"https://app.test/cb?{REDACTED}"
    }
    assert redact({"location": "/cb#id_token=t0ken"}) == {"location": f"/cb?{REDACTED}"}
    assert redact_location("https://app.test/path") == "https://app.test/path"


def _record(msg: str, *args: Any) -> logging.LogRecord:
    return logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, msg, args, None)


def test_the_filter_keeps_the_arguments_when_redacting_them_is_enough() -> None:
    """An access-log record keeps its argument tuple (its formatter reads it), redacted."""
    record = _record('%s - "%s %s" %d', "127.0.0.1", "GET", "/callback?code=c0de&state=s", 200)
    assert RedactingFilter().filter(record)
    assert record.args == ("127.0.0.1", "GET", f"/callback?code={REDACTED}&state=s", 200)
    assert "c0de" not in record.getMessage()


def test_the_filter_falls_back_to_the_redacted_message() -> None:
    """An argument whose text is a secret only once formatted: the message is replaced."""
    url = httpx.URL("https://app.test/cb?code=c0de")
    record = _record("HTTP Request: %r", url)
    assert RedactingFilter().filter(record)
    assert record.args is None
    assert record.msg == f"HTTP Request: URL('https://app.test/cb?code={REDACTED}')"


@pytest.fixture
def no_redaction_filters() -> Iterator[None]:
    """The redaction filters removed for the test, and put back afterwards."""
    names = (logger.name, *THIRD_PARTY_LOGGERS)
    saved = {name: list(logging.getLogger(name).filters) for name in names}
    for name in names:
        for attached in list(logging.getLogger(name).filters):
            if isinstance(attached, RedactingFilter):
                logging.getLogger(name).removeFilter(attached)
    yield
    for name, filters in saved.items():
        logging.getLogger(name).filters[:] = filters


def _filtered(name: str) -> bool:
    return any(isinstance(f, RedactingFilter) for f in logging.getLogger(name).filters)


@pytest.mark.usefixtures("no_redaction_filters")
def test_filters_cover_every_logger_the_traffic_can_reach() -> None:
    """httpx, httpcore.*, hpack, aiohttp.*, uvicorn.access and intelliauth get the filter."""
    assert not _filtered("httpcore.http11")
    install_redaction_filters()
    install_redaction_filters()
    for name in (logger.name, *THIRD_PARTY_LOGGERS):
        filters = logging.getLogger(name).filters
        assert sum(isinstance(f, RedactingFilter) for f in filters) == 1, name
    assert {"httpx", "httpcore.http11", "aiohttp.client", "uvicorn.access"} <= set(
        THIRD_PARTY_LOGGERS
    )


@pytest.mark.usefixtures("no_redaction_filters")
def test_a_token_manager_alone_installs_the_filters() -> None:
    """Without any IntelliAuth client, building a token manager puts the filters in place."""
    ClientCredentials("https://t.test/oauth2/token", "cid", "cs")
    assert _filtered("httpcore.http11")
    assert _filtered("httpx")


def test_credentials_after_an_auth_scheme_are_redacted() -> None:
    """Bearer and Basic credentials are redacted wherever they appear."""
    text = redact_text("Authorization: Bearer abc.def-ghi and basic dXNlcjpwYXNz==")
    assert "abc.def" not in text
    assert "dXNlcjpwYXNz" not in text


def test_header_pairs_in_reprs_are_redacted() -> None:
    """httpcore-style header tuples with cookies or credentials are redacted."""
    text = redact_text(
        "return_value=(b'HTTP/1.1', 401, "
        "[(b'Set-Cookie', b'session=abc; Path=/'), (b'X-Request-Id', b'r1')])"
    )
    assert "session=abc" not in text
    assert "r1" in text


def test_redact_headers() -> None:
    """Authorization, Cookie and Set-Cookie header values are replaced; others kept."""
    headers = httpx.Headers(
        {"Authorization": "Bearer t", "Cookie": "a=b", "Set-Cookie": "c=d", "Accept": "json"}
    )
    assert redact_headers(headers) == {
        "authorization": REDACTED,
        "cookie": REDACTED,
        "set-cookie": REDACTED,
        "accept": "json",
    }


def test_redact_url_hides_userinfo_and_secret_params() -> None:
    """URLs lose userinfo and secret query values."""
    text = redact_url("https://user:pw@t.test/x?code_verifier=v&ok=1")
    assert "pw" not in text
    assert "code_verifier=v" not in text
    assert "ok=1" in text


def test_redact_nested_values() -> None:
    """redact() walks mappings and sequences; secret keys are replaced at any depth."""
    value: Any = {
        "grant": {"client_secret": "x", "scope": "a"},
        "tokens": [{"Access_Token": "y"}],
        "headers": httpx.Headers({"authorization": "Basic z"}),
        "raw": b"password=p",
        "n": 1,
    }
    assert redact(value) == {
        "grant": {"client_secret": REDACTED, "scope": "a"},
        "tokens": [{"Access_Token": REDACTED}],
        "headers": {"authorization": REDACTED},
        "raw": f"password={REDACTED}",
        "n": 1,
    }


@pytest.fixture
def restore_logger() -> Iterator[None]:
    level, handlers = logger.level, list(logger.handlers)
    yield
    logger.setLevel(level)
    logger.handlers[:] = handlers


@pytest.mark.usefixtures("restore_logger")
def test_intelliauth_log_debug_turns_the_logger_on() -> None:
    """INTELLIAUTH_LOG=debug sets DEBUG and adds one handler, however often it is read."""
    configure_from_env({"INTELLIAUTH_LOG": "debug"})
    configure_from_env({"INTELLIAUTH_LOG": "DEBUG"})
    assert logger.level == logging.DEBUG
    assert sum(getattr(h, "_intelliauth", False) for h in logger.handlers) == 1


@pytest.mark.usefixtures("restore_logger")
def test_without_intelliauth_log_nothing_changes() -> None:
    """Without INTELLIAUTH_LOG (or with an unknown value) the logger is left alone."""
    logger.setLevel(logging.NOTSET)
    configure_from_env({})
    configure_from_env({"INTELLIAUTH_LOG": "loud"})
    assert logger.level == logging.NOTSET


@pytest.mark.usefixtures("restore_logger")
def test_client_reads_intelliauth_log(monkeypatch: pytest.MonkeyPatch) -> None:
    """Building a client with INTELLIAUTH_LOG=debug in the environment enables DEBUG logs."""
    monkeypatch.setenv("INTELLIAUTH_LOG", "debug")
    client = IntelliAuth("https://acme.intelliauth.test")
    client._closed = True  # nothing was opened
    assert logger.isEnabledFor(logging.DEBUG)


@pytest.mark.anyio
@pytest.mark.parametrize("transport", ["httpx", "default"])
async def test_no_secret_in_any_log_line_of_a_full_flow(
    local_server: LocalServer,
    caplog: pytest.LogCaptureFixture,
    transport: str,
) -> None:
    """Token fetch, API calls and an error at DEBUG (httpx, httpcore too): no secret logged."""
    local_server.json_route(
        "POST",
        "/oauth2/token",
        200,
        {
            "access_token": ACCESS,
            "refresh_token": REFRESH,
            "id_token": ID_TOKEN,
            "token_type": "Bearer",
            "expires_in": 3600,
        },
        {"Set-Cookie": f"session={COOKIE}; HttpOnly"},
    )
    local_server.json_route(
        "GET",
        "/api/v1/users/usr_01",
        200,
        {"data": {"id": "usr_01"}, "meta": {}},
        {"X-Request-Id": "req_ok"},
    )
    local_server.json_route(
        "GET",
        "/api/v1/me/profile",
        401,
        {"error": "invalid_token", "message": "expired", "request_id": "req_401"},
        {
            "Set-Cookie": f"session={COOKIE}",
            "WWW-Authenticate": f'Bearer error="invalid_token", access_token="{ACCESS}"',
        },
    )
    caplog.set_level(logging.DEBUG)
    options: dict[str, Any] = (
        {"transport": httpx.AsyncHTTPTransport()} if transport == "httpx" else {}
    )
    async with IntelliAuth(
        local_server.url, client_id="cid", client_secret=SECRET, scopes=["users:read"], **options
    ) as client:
        await client.invoker.send({"method": "GET", "url": "/api/v1/users/usr_01"})
        await client.invoker.send(
            {
                "method": "GET",
                "url": "/api/v1/users/usr_01",
                "params": {"access_token": ACCESS, "password": PASSWORD},
            }
        )
        with pytest.raises(AuthenticationError) as info:
            await client.invoker.send({"method": "GET", "url": "/api/v1/me/profile"})
        logger.debug("client state: %r auth: %r", client, client._auth)
        logger.debug("error: %s", info.value)

    text = caplog.text
    # The flow did log: our per-attempt lines and, with httpx's transport, httpx's and httpcore's.
    assert "GET /api/v1/users/usr_01 -> 200 request_id=req_ok attempt=1/3" in text
    assert "GET /api/v1/me/profile -> 401" in text
    if transport == "httpx":
        assert any(r.name == "httpx" for r in caplog.records)
        assert any(r.name.startswith("httpcore") for r in caplog.records)
    for secret in ALL_SECRETS:
        assert secret not in text, f"{secret} was logged"
    server_seen = b"".join(body for _, _, _, body in local_server.requests)
    assert SECRET.encode() in server_seen or any(
        SECRET in h.get("Authorization", "") or "Basic" in h.get("Authorization", "")
        for _, _, h, _ in local_server.requests
    ), "the token request did not carry the client secret: the test would prove nothing"


@pytest.mark.anyio
@pytest.mark.parametrize("transport", ["default", "httpx", "http_client"])
async def test_a_redirect_carrying_a_code_is_logged_without_it(
    local_server: LocalServer, caplog: pytest.LogCaptureFixture, transport: str
) -> None:
    """httpcore's DEBUG line prints a 302's headers: its Location keeps no code or state."""
    local_server.json_route(
        "GET",
        "/oauth2/authorize",
        302,
        {},
        {"Location": "http://127.0.0.1:9/callback?code=c0de-SECRET&state=st8-SECRET"},
    )
    caplog.set_level(logging.DEBUG)
    http_client = httpx.AsyncClient() if transport == "http_client" else None
    options: dict[str, Any] = (
        {"transport": httpx.AsyncHTTPTransport()}
        if transport == "httpx"
        else {"http_client": http_client}
        if http_client is not None
        else {}
    )
    async with IntelliAuth(local_server.url, auth=httpx.BasicAuth("u", "p"), **options) as client:
        response = await client.invoker.send(
            {"method": "GET", "url": "/oauth2/authorize"}, accept=(302,)
        )
    if http_client is not None:
        await http_client.aclose()
    assert "c0de-SECRET" in response.headers["location"]  # the caller still gets it all
    if transport != "default":  # aiohttp logs no headers; httpx's transport does, via httpcore
        assert any(
            r.name == "httpcore.http11" and "/callback?" in r.getMessage() for r in caplog.records
        )
    assert "SECRET" not in caplog.text
