"""Family 3, secrets: a full flow at DEBUG, with every repr, vars() and traceback captured.

One test per transport (the default aiohttp one, httpx's own, a caller's ``http_client``)
runs, against the sandbox served on a real loopback socket: client credentials, API calls,
a 401 and its replay, a 404, an undocumented 2xx whose body holds tokens, a PKCE sign-in
with ``AuthorizationCodeFlow`` (the browser's hop included), a refresh, password sign-ins
(one with the MFA branch, after a TOTP enrolment), and a revocation. Every logger is at
DEBUG; every log record (formatted with its arguments), the ``repr``/``str`` and ``vars()``
of every public object (walked into the SDK objects they hold) and the formatted traceback
(with its chain) of every exception are kept. Not one of the secrets met on the way may
appear in any of it: the client secret, every access, refresh and ID token and code the
tenant issued, the PKCE verifier, the passwords, the application and webhook secrets made
during the flow, the TOTP seed and the MFA flow id. Any signed JWT counts as a leak too.

The guards this pins: the generated models' redacting ``repr`` (contract marks
``x-sensitive``), the log filter (``_logging.install_redaction_filters``: httpcore prints
the authorize redirect's ``Location`` with its ``code=``), ``Secret`` around the secrets
held by the client, the token managers and the flow (``vars(client)``), and no raw body
chained to an exception (``_invoker._parse``).
"""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import attrs
import httpx
import pytest
from starlette.responses import Response

from intelliauth_client.models.application_create import ApplicationCreate
from intelliauth_client.models.application_type import ApplicationType
from intelliauth_client.models.grant_type import GrantType
from intelliauth_client.models.mfa_factor_verify_request import MfaFactorVerifyRequest
from intelliauth_client.models.sign_in_request import SignInRequest
from intelliauth_client.models.token_request import TokenRequest
from intelliauth_client.models.totp_enroll_request import TotpEnrollRequest
from intelliauth_client.models.user_create import UserCreate
from intelliauth_client.models.webhook_create import WebhookCreate
from intelliauth_client.models.webhook_event_type import WebhookEventType
from intelliauth_ext import (
    APIResponseValidationError,
    AuthorizationCodeFlow,
    IntelliAuth,
    InvalidCallbackError,
    InvalidGrantError,
    MfaChallenge,
    NotFoundError,
    RefreshingAuth,
    SignedIn,
    StaticToken,
)
from intelliauth_ext.testing import TEST_USER_EMAIL, TEST_USER_PASSWORD, Sandbox
from intelliauth_ext.testing._oauth import AuthorizationServer
from intelliauth_ext.testing._threaded import serve_in_thread
from intelliauth_ext.testing._totp import totp

pytestmark = pytest.mark.anyio

REDIRECT_URI = "http://127.0.0.1:51234/callback"  # any loopback port matches (RFC 8252 7.3)
MFA_EMAIL = "grace@example.com"
MFA_PASSWORD = "correct horse battery staple 42"
#: Any token the sandbox signs (access and ID tokens are JWTs): none may show, known or not.
SIGNED_JWT = re.compile(r"eyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]{16,}")
#: Secrets shorter than this (a 6-digit TOTP code) would match by chance; they are not searched.
MIN_SECRET_CHARS = 12


@pytest.fixture
def anyio_backend() -> str:
    """The default transport is aiohttp, which runs on asyncio only."""
    return "asyncio"


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """The sandbox served on 127.0.0.1 in a thread, contract validation on."""
    with serve_in_thread(validate=True) as served:
        yield served


class Evidence:
    """Every text a secret could leak into, each with where it came from."""

    def __init__(self) -> None:
        self.texts: list[tuple[str, str]] = []

    def add(self, source: str, text: str) -> None:
        """Keep ``text``."""
        self.texts.append((source, text))

    def objects(self, label: str, *values: object) -> None:
        """``repr``, ``str`` and ``vars()`` of each value and of the SDK objects it holds."""
        for index, value in enumerate(values):
            self._walk(f"{label}[{index}]", value, depth=0, seen=set())

    def _walk(self, label: str, value: object, *, depth: int, seen: set[int]) -> None:
        if id(value) in seen or depth > 4:
            return
        seen.add(id(value))
        self.add(f"repr({label})", repr(value))
        self.add(f"str({label})", str(value))
        state = getattr(value, "__dict__", None)
        children: list[tuple[str, object]]
        if isinstance(state, dict):
            self.add(f"vars({label})", repr(state))
            children = list(state.items())
        elif attrs.has(cls := type(value)):  # a slotted attrs value: its fields, not vars()
            children = [(field.name, getattr(value, field.name)) for field in attrs.fields(cls)]
        else:
            return
        for name, child in children:
            if _is_sdk_object(child):
                self._walk(f"{label}.{name}", child, depth=depth + 1, seen=seen)

    def exception(self, label: str, exc: BaseException) -> None:
        """Its ``repr``, ``str``, ``vars()`` and formatted traceback, its chain included."""
        self.add(f"traceback({label})", "".join(traceback.format_exception(exc)))
        self.objects(label, exc)

    def leaks(self, secrets: dict[str, str]) -> list[str]:
        """Where each secret, or any signed JWT, shows up."""
        found = []
        for source, text in self.texts:
            for name, secret in secrets.items():
                if secret in text:
                    at = text.index(secret)
                    found.append(f"{name} in {source}: ...{text[max(0, at - 80) : at]}<HERE>")
            for match in SIGNED_JWT.finditer(text):
                before = text[max(0, match.start() - 80) : match.start()]
                found.append(f"a signed JWT in {source}: ...{before}<HERE>")
        return found


def _is_sdk_object(value: object) -> bool:
    module = type(value).__module__
    return module.startswith(("intelliauth_ext", "intelliauth_client"))


class _Capture(logging.Handler):
    """Keeps every record, formatted with its arguments (and its exception, if any)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.records: list[tuple[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append((record.name, self.format(record)))


@contextmanager
def every_logger_at_debug() -> Iterator[_Capture]:
    """Root and every existing logger at DEBUG and enabled, all records captured; restored."""
    root = logging.getLogger()
    existing = [
        item
        for item in logging.root.manager.loggerDict.values()
        if isinstance(item, logging.Logger)
    ]
    saved = [(item, item.level, item.disabled) for item in [root, *existing]]
    capture = _Capture()
    for item, _, _ in saved:
        item.setLevel(logging.DEBUG)
        item.disabled = False
    # A logger that does not propagate (uvicorn's access log) gets the handler itself.
    islands = [item for item in existing if not item.propagate]
    root.addHandler(capture)
    for item in islands:
        item.addHandler(capture)
    try:
        yield capture
    finally:
        root.removeHandler(capture)
        for item in islands:
            item.removeHandler(capture)
        for item, level, disabled in saved:
            item.setLevel(level)
            item.disabled = disabled


@attrs.define
class Issued:
    """Every token and code the tenant issued during the test."""

    values: list[tuple[str, str]] = attrs.Factory(list)
    client_credentials: int = 0


@pytest.fixture
def issued(monkeypatch: pytest.MonkeyPatch) -> Issued:
    """Records what the sandbox's authorization server issues (tokens, codes)."""
    record = Issued()
    issue, create_code = AuthorizationServer.issue, AuthorizationServer.create_code

    def recording_issue(self: AuthorizationServer, *args: Any, **kwargs: Any) -> dict[str, Any]:
        response = issue(self, *args, **kwargs)
        if kwargs.get("user_id") is None:
            record.client_credentials += 1
        for kind in ("access_token", "refresh_token", "id_token"):
            if isinstance(response.get(kind), str):
                record.values.append((kind, response[kind]))
        return response

    def recording_create_code(self: AuthorizationServer, *args: Any, **kwargs: Any) -> str:
        code = create_code(self, *args, **kwargs)
        record.values.append(("authorization code", code))
        return code

    monkeypatch.setattr(AuthorizationServer, "issue", recording_issue)
    monkeypatch.setattr(AuthorizationServer, "create_code", recording_create_code)
    return record


TRANSPORTS = ["aiohttp", "httpx", "http_client"]


@pytest.fixture(params=TRANSPORTS)
async def client_options(
    request: pytest.FixtureRequest,
) -> AsyncIterator[Callable[[], dict[str, Any]]]:
    """Keyword arguments that make an ``IntelliAuth`` send through the transport under test."""
    transport = str(request.param)
    caller_client = httpx.AsyncClient(timeout=10) if transport == "http_client" else None

    def options() -> dict[str, Any]:
        if transport == "httpx":
            return {"transport": httpx.AsyncHTTPTransport()}
        if caller_client is not None:
            return {"http_client": caller_client}
        return {}

    yield options
    if caller_client is not None:
        await caller_client.aclose()


def _undocumented_status(
    handler: Callable[[Any], Awaitable[Response]],
) -> Callable[[Any], Awaitable[Response]]:
    """``handler``, answering with a status the contract does not document (203)."""

    async def answer_203(context: Any) -> Response:
        response = await handler(context)
        response.status_code = 203  # the body is the real token response
        return response

    return answer_203


async def test_a_full_flow_leaks_no_secret(
    sandbox: Sandbox,
    issued: Issued,
    client_options: Callable[[], dict[str, Any]],
    request: pytest.FixtureRequest,
) -> None:
    """Nothing logged, shown or raised during a whole flow holds a secret, on any transport."""
    transport = request.node.callspec.params["client_options"]
    evidence = Evidence()
    secrets: dict[str, str] = {
        "client secret": sandbox.client_secret,
        "test user password": TEST_USER_PASSWORD,
        "MFA user password": MFA_PASSWORD,
    }
    caller_client: httpx.AsyncClient | None = client_options().get("http_client")
    token_url = f"{sandbox.url}/oauth2/token"

    with every_logger_at_debug() as log:
        client = IntelliAuth(
            sandbox.url,
            client_id=sandbox.client_id,
            client_secret=sandbox.client_secret,
            **client_options(),
        )
        async with client:
            # Client credentials and API calls, with secrets in the answers.
            user = await client.users.create(UserCreate(email="eve@example.com"))
            fetched = await client.users.get(user.id)
            listed = [item async for item in client.users.list(limit=2)]
            application = await client.applications.create(
                ApplicationCreate(name="Exporter", type_=ApplicationType.MACHINE_TO_MACHINE)
            )
            rotated = await client.applications.rotate_secret(application.id)
            webhook = await client.webhooks.create(
                WebhookCreate(
                    url="https://hooks.example.test/in", event_types=[WebhookEventType.USER_CREATED]
                )
            )
            rotated_webhook = await client.webhooks.rotate_secret(webhook.id)
            assert application.client_secret
            assert rotated.client_secret
            secrets["application secret"] = application.client_secret
            secrets["rotated application secret"] = rotated.client_secret
            secrets["webhook secret"] = webhook.signing_secret
            secrets["rotated webhook secret"] = rotated_webhook.signing_secret
            if transport == "aiohttp":
                inner = getattr(client.http_client._transport, "inner", None)
                assert type(inner).__name__ == "AiohttpTransport", "not the aiohttp transport"

            # A 401 and its replay: the tenant revokes every access token it issued, the client
            # still holds its own, the API refuses it, the client gets a new one and resends.
            for access_token in sandbox.tenant.access_tokens.values():
                access_token.revoked = True
            replayed = await client.users.get(user.id)
            assert issued.client_credentials == 2, "no 401 replay happened"
            assert 401 in sandbox.served.statuses("getUser")

            # An error.
            with pytest.raises(NotFoundError) as not_found:
                await client.users.get("usr_missing")
            evidence.exception("404", not_found.value)

            # The raw token operation: once as documented, once answered with an undocumented
            # 203 whose body is a real token response (its chained cause would print it).
            raw_request = TokenRequest(
                grant_type=GrantType.CLIENT_CREDENTIALS,
                client_id=sandbox.client_id,
                client_secret=sandbox.client_secret,
            )
            token_response = await client.oauth2.request_token(raw_request)
            handler = sandbox.handler("requestToken")
            assert handler is not None
            sandbox.override("requestToken", _undocumented_status(handler))
            validator, sandbox.validator = sandbox.validator, None
            try:
                with pytest.raises(APIResponseValidationError) as undocumented:
                    await client.oauth2.request_token(raw_request)
            finally:
                sandbox.override("requestToken", handler)
                sandbox.validator = validator
            assert b"access_token" in undocumented.value.response.content
            evidence.exception("undocumented 2xx", undocumented.value)

            # PKCE sign-in: start, the browser's hop to the authorize endpoint, the callback.
            flow = AuthorizationCodeFlow(
                sandbox.url,
                sandbox.client_id,
                REDIRECT_URI,
                ["openid", "profile", "email", "offline_access"],
                client_secret=sandbox.client_secret,
                http_client=caller_client,
            )
            started = await flow.start()
            secrets["PKCE code verifier"] = started.code_verifier
            evidence.objects("started flow", flow, started)
            browser = caller_client or httpx.AsyncClient()
            try:
                redirect = await browser.get(started.url)
            finally:
                if caller_client is None:
                    await browser.aclose()
            assert redirect.status_code == 302
            callback = redirect.headers["location"]
            assert "code=" in callback
            tokens = await flow.complete(callback, expected_state=started.state)
            with pytest.raises(InvalidCallbackError) as replay:
                await flow.complete(callback, expected_state=started.state)
            evidence.exception("replayed callback", replay.value)

            # Refresh, and an API call on the refreshing auth.
            refreshing = RefreshingAuth(
                tokens,
                token_url=token_url,
                client_id=sandbox.client_id,
                client_secret=sandbox.client_secret,
                http_client=caller_client,
            )
            refreshed = await refreshing.refresh()
            assert refreshed.refresh_token is not None
            async with IntelliAuth(sandbox.url, auth=refreshing, **client_options()) as as_user:
                profile = await as_user.me.get_profile()

            # Password sign-ins: the raw operation, the helper, and the MFA branch.
            raw_sign_in = SignInRequest(
                client_id=sandbox.client_id, email=TEST_USER_EMAIL, password=TEST_USER_PASSWORD
            )
            raw_signed_in = await client.auth.sign_in(raw_sign_in)
            signed_in = await client.auth.sign_in_with_password(TEST_USER_EMAIL, TEST_USER_PASSWORD)
            assert isinstance(signed_in, SignedIn)
            sandbox.add_user(MFA_EMAIL, password=MFA_PASSWORD)
            first = await client.auth.sign_in_with_password(MFA_EMAIL, MFA_PASSWORD)
            assert isinstance(first, SignedIn)
            as_grace = IntelliAuth(
                sandbox.url, auth=StaticToken(first.tokens.access_token), **client_options()
            )
            async with as_grace:
                enrollment = await as_grace.me.enroll_mfa_factor(TotpEnrollRequest(name="Phone"))
                assert enrollment.secret
                assert enrollment.otpauth_uri
                secrets["TOTP seed"] = enrollment.secret
                secrets["otpauth URI"] = enrollment.otpauth_uri
                verify = MfaFactorVerifyRequest(code=totp(enrollment.secret, sandbox.clock.now()))
                factor = await as_grace.me.verify_mfa_factor_enrollment(
                    enrollment.factor.id, verify
                )
                evidence.objects("MFA user's client", as_grace, enrollment, verify, factor)
            sandbox.clock.advance(30)  # the next TOTP step: a code is accepted once
            challenge = await client.auth.sign_in_with_password(MFA_EMAIL, MFA_PASSWORD)
            assert isinstance(challenge, MfaChallenge)
            secrets["MFA flow id"] = challenge.mfa_flow_id
            evidence.objects("MFA challenge", challenge)
            signed_in_mfa = await challenge.verify(totp(enrollment.secret, sandbox.clock.now()))

            # Revocation: the refresh token dies, and the next refresh says so.
            await client.revoke(refreshed.refresh_token, token_type_hint="refresh_token")
            introspection = await client.introspect(refreshed.access_token)
            with pytest.raises(InvalidGrantError) as revoked:
                await refreshing.refresh()
            evidence.exception("refresh after revocation", revoked.value)

            evidence.objects(
                "after the flow",
                client,
                client.with_options(max_retries=0),
                flow,
                started,
                tokens,
                refreshing,
                refreshed,
                signed_in,
                signed_in_mfa,
                raw_request,
                raw_sign_in,
                raw_signed_in,
                token_response,
                user,
                fetched,
                listed,
                replayed,
                application,
                rotated,
                webhook,
                rotated_webhook,
                profile,
                introspection,
            )
            await refreshing.aclose()

    for name, text in log.records:
        evidence.add(f"log record of {name}", text)
    secrets.update(
        (f"{kind} #{number}", value) for number, (kind, value) in enumerate(issued.values)
    )
    searched = {name: value for name, value in secrets.items() if len(value) >= MIN_SECRET_CHARS}
    assert {"PKCE code verifier", "TOTP seed", "MFA flow id"} <= set(searched)
    assert any(name.startswith("authorization code") for name in searched)
    assert any(name.startswith("refresh_token") for name in searched)
    # The flow did log, on every logger that carries traffic for this transport.
    names = {name for name, _ in log.records}
    assert "intelliauth" in names
    assert "httpcore.http11" in names, "the browser's hop (httpx) logs its headers"
    assert any("/callback?" in text for _, text in log.records), "the redirect was not logged"
    if transport != "aiohttp":
        assert "httpx" in names

    leaks = evidence.leaks(searched)
    assert not leaks, f"{len(leaks)} leaks:\n" + "\n".join(leaks[:20])
