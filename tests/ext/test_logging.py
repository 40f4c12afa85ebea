"""Tests for intelliauth_ext._logging: redaction, the per-request line, INTELLIAUTH_LOG."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from intelliauth_ext import AuthenticationError
from intelliauth_ext._client import IntelliAuth
from intelliauth_ext._logging import (
    REDACTED,
    configure_from_env,
    logger,
    redact,
    redact_headers,
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
