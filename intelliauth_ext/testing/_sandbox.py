"""The sandbox tenant: state, the ASGI app over it, and a real server on a loopback port."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import uvicorn
from joserfc.jwk import ECKey
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp

from ._clock import SandboxClock
from ._dispatch import endpoint_for
from ._envelopes import ApiError, error_response
from ._fapi import FapiState
from ._faults import FaultMiddleware, Faults
from ._idempotency import IdempotencyStore
from ._ids import new_id
from ._oauth import AuthorizationServer
from ._one_time_codes import mask_destination
from ._outbox import Outbox
from ._pagination import CursorCodec
from ._request_id import RequestIdMiddleware
from ._routes import all_handlers
from ._routes.login import login_routes
from ._routes.par import par_routes
from ._routing import Handler
from ._served import ServedLog
from ._spec import Contract, SpecOperation, load_contract
from ._tenant import ALL_SCOPES, OAuthClient, Record, Tenant, hash_password
from ._tokens import TokenSigner
from ._totp import new_totp_secret, totp
from ._users import new_user_record, user_claims
from ._validation import ResponseValidationMiddleware, Validator, ViolationLog
from ._webhooks import WebhookHub

DEFAULT_ISSUER = "http://sandbox.intelliauth.local"
TEST_USER_EMAIL = "ada@example.com"
TEST_USER_PASSWORD = "correct horse battery staple"  # noqa: S105 - a published test password


def _listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port``, as uvicorn would bind it.

    Bound here rather than by uvicorn, which logs a failure and exits the process
    (``SystemExit`` inside a task group): a busy port must be one clear error.

    Raises:
        OSError: The address can not be bound (in use, not local, not permitted); the
            message names it.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        # As uvicorn: a restarted sandbox may take its port back from a closing one.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        reason = (exc.strerror or str(exc)).lower()
        raise OSError(exc.errno, f"the sandbox can not listen on {host}:{port}: {reason}") from None
    sock.set_inheritable(True)
    return sock


def _route_order(operation: SpecOperation) -> tuple[tuple[int, str], ...]:
    # Literal segments before parameters, so /resources/permissions/check is not read as
    # /resources/{resource_id}/...; Starlette takes the first route that matches.
    return tuple(
        (1, "") if segment.startswith("{") else (0, segment)
        for segment in operation.path.split("/")
    )


class Sandbox:
    """A local, in-memory IntelliAuth tenant speaking the contract.

    In process::

        sandbox = Sandbox()
        async with sandbox.http_client() as http:      # httpx over ASGITransport
            await http.post("/oauth2/token", data={...})

    On a real loopback port (asyncio; uvicorn needs it)::

        async with Sandbox.serve() as sandbox:
            print(sandbox.url, sandbox.client_id, sandbox.client_secret)

    Nothing leaves it: the one-time codes of SMS and email factors go to :attr:`outbox`
    (also served as JSON at ``GET /_sandbox/outbox``), so a test reads the code a user
    would have received (``sandbox.outbox.latest_code(to="ada@example.com")``).

    Args:
        spec: the OpenAPI file to serve (default: the vendored contract).
        validate: check every request and response against the contract; a response
            that breaks it raises :class:`ContractViolation` (see ``raise_violations``).
        strict_requests: also treat a request that breaks the contract as a violation
            (it is always answered with 400/422 when ``validate`` is on).
        raise_violations: raise a violation out of the ASGI app where it happens; when
            False it is only recorded, and :meth:`check_violations` raises it later.
        auto_approve: ``/oauth2/authorize`` signs in the ``login_hint`` user (or the
            test user) and redirects straight back, without the login page.
        issuer: the tenant URL in process; a served sandbox uses its real URL.
        webhook_client: the httpx client webhook deliveries are POSTed with (default: a
            fresh client per batch); see :attr:`webhooks` and :meth:`deliver_webhooks`.
        background_webhooks: when served, deliver due webhooks from a background task
            (the command line does); otherwise only :meth:`deliver_webhooks` sends them.
        fapi: a FAPI 2.0 tenant: every authorization request must be pushed (PAR, RFC
            9126), and :attr:`fapi_client` is an application that authenticates with
            ``private_key_jwt`` (its key: :attr:`fapi_private_key`) and gets DPoP-bound
            tokens only (RFC 9449). Off, the sandbox still accepts all three from clients
            registered for them (:meth:`add_client` with ``public_jwk``).
        dpop_nonces: demand server-provided DPoP nonces (RFC 9449 section 9) at the token
            endpoint and the API: a proof without the current nonce gets
            ``use_dpop_nonce`` and a ``DPoP-Nonce`` header.
    """

    def __init__(
        self,
        *,
        spec: Path | str | None = None,
        validate: bool = True,
        strict_requests: bool = False,
        raise_violations: bool = True,
        auto_approve: bool = True,
        issuer: str = DEFAULT_ISSUER,
        webhook_client: httpx.AsyncClient | None = None,
        background_webhooks: bool = False,
        fapi: bool = False,
        dpop_nonces: bool = False,
    ) -> None:
        self.contract: Contract = load_contract(spec)
        self.clock = SandboxClock()
        self.tenant = Tenant(clock=self.clock)
        self.signer = TokenSigner(issuer=issuer.rstrip("/"), clock=self.clock)
        fapi_state = FapiState(self.clock, require_par=fapi, dpop_nonces=dpop_nonces)
        self.oauth = AuthorizationServer(self.tenant, self.signer, self._user_claims, fapi_state)
        self.faults = Faults(self.clock)
        self.outbox = Outbox()
        self.cursors = CursorCodec()
        self.idempotency = IdempotencyStore(self.clock)
        self.violation_log = ViolationLog(raise_immediately=raise_violations)
        self.served = ServedLog()
        self.validator: Validator | None = Validator(self.contract) if validate else None
        self.strict_requests = strict_requests
        self.auto_approve = auto_approve
        self.webhooks = WebhookHub(
            self.clock,
            http=webhook_client,
            contract=self.contract.document if validate else None,
            violations=self.violation_log,
        )
        self.background_webhooks = background_webhooks
        self._handlers: dict[str, Handler] = all_handlers()
        self.admin_client: OAuthClient = self.tenant.add_client(name="Sandbox admin client")
        self.test_user: Record = self.add_user(
            TEST_USER_EMAIL, password=TEST_USER_PASSWORD, name="Ada Lovelace"
        )
        self.fapi_client: OAuthClient | None = None
        self._fapi_key: ECKey | None = None
        if fapi:
            self._fapi_key = ECKey.generate_key("P-256", parameters={"kid": "fapi-1"})
            self.fapi_client = self.add_client(
                name="Sandbox FAPI client",
                public_jwk=dict(self._fapi_key.as_dict(private=False)),
                require_dpop=True,
                require_par=True,
            )
        self.app: ASGIApp = self._build_app()
        # Set by serve(): fires when the server stops (Ctrl-C on the command line).
        self.server_stopped: anyio.Event | None = None

    def __repr__(self) -> str:
        return f"<Sandbox {self.url} client_id={self.client_id!r}>"

    @property
    def fapi_client_id(self) -> str:
        """The FAPI client's id (``private_key_jwt``, DPoP and PAR required of it).

        Raises:
            RuntimeError: the sandbox was not made with ``fapi=True``.
        """
        if self.fapi_client is None:
            raise RuntimeError("the sandbox has a FAPI client only with Sandbox(fapi=True)")
        return self.fapi_client.client_id

    @property
    def fapi_private_key(self) -> str:
        """The FAPI client's private key, PEM (ES256, ``kid`` ``fapi-1``): a test key.

        Raises:
            RuntimeError: the sandbox was not made with ``fapi=True``.
        """
        if self._fapi_key is None:
            raise RuntimeError("the sandbox has a FAPI client only with Sandbox(fapi=True)")
        return self._fapi_key.as_pem(private=True).decode("ascii")

    # ------------------------------------------------------------------ identity
    @property
    def url(self) -> str:
        """The tenant URL (the issuer): a real loopback URL once served."""
        return self.signer.issuer

    @property
    def client_id(self) -> str:
        """The ready confidential client's id (it may use every scope)."""
        return self.admin_client.client_id

    @property
    def client_secret(self) -> str:
        """The ready confidential client's secret."""
        assert self.admin_client.client_secret is not None
        return self.admin_client.client_secret

    # ------------------------------------------------------------------ seeding
    def add_client(
        self,
        *,
        name: str = "Test client",
        public: bool = False,
        scopes: tuple[str, ...] = ALL_SCOPES,
        redirect_uris: tuple[str, ...] = ("http://127.0.0.1/callback", "http://localhost/callback"),
        public_jwk: dict[str, Any] | None = None,
        require_dpop: bool = False,
        require_par: bool = False,
    ) -> OAuthClient:
        """Register another OAuth client (public clients have no secret and must use PKCE).

        Args:
            name: The application's name.
            public: A public client (no credentials).
            scopes: The scopes it may ask for.
            redirect_uris: Its registered redirect URIs.
            public_jwk: Its public key: it then authenticates with ``private_key_jwt``
                (RFC 7523) and has no secret.
            require_dpop: Its tokens must be DPoP-bound: token requests need a proof.
            require_par: Its authorization requests must be pushed (RFC 9126).
        """
        return self.tenant.add_client(
            name=name,
            public=public,
            scopes=scopes,
            redirect_uris=redirect_uris,
            public_jwk=public_jwk,
            require_dpop=require_dpop,
            require_par=require_par,
        )

    def add_user(
        self,
        email: str,
        *,
        password: str | None = None,
        name: str | None = None,
        status: str = "active",
        totp: bool = False,
        email_factor: bool = False,
        sms_factor: str | None = None,
    ) -> Record:
        """Create a user directly (no HTTP), with active second factors if asked.

        Args:
            email: The user's email address.
            password: A password to sign in with (none: the user can not sign in).
            name: The display name (default: the email's local part).
            status: The user's status.
            totp: Enrol a TOTP factor (its code: :meth:`totp_code`).
            email_factor: Enrol an email factor at ``email`` (codes go to :attr:`outbox`).
            sms_factor: Enrol an SMS factor for this E.164 phone number (codes go to
                :attr:`outbox`).
        """
        user = new_user_record(self.tenant, {"email": email, "name": name, "status": status})
        if password is not None:
            self.tenant.passwords[user["id"]] = hash_password(password)
        if totp:
            self.enroll_totp(user["id"])
        if email_factor:
            self.enroll_email(user["id"])
        if sms_factor is not None:
            self.enroll_sms(user["id"], sms_factor)
        return user

    def _add_factor(self, user_id: str, factor_type: str, name: str, hint: str | None) -> Record:
        factor_id = new_id("mfa")
        factor: Record = {
            "id": factor_id,
            "user_id": user_id,
            "type": factor_type,
            "status": "active",
            "name": name,
            "hint": hint,
            "created_at": self.clock.isoformat(),
            "last_used_at": None,
        }
        return self.tenant.factors.add(factor_id, factor)

    def enroll_totp(self, user_id: str) -> Record:
        """Give a user a verified TOTP factor and return the factor record."""
        factor = self._add_factor(user_id, "totp", "Authenticator app", None)
        self.tenant.totp_secrets[factor["id"]] = new_totp_secret()
        return factor

    def enroll_email(self, user_id: str, address: str | None = None) -> Record:
        """Give a user a verified email factor (default: their own address); return it.

        Its codes go to :attr:`outbox`.

        Raises:
            LookupError: No such user.
        """
        user = self.tenant.users.get(user_id)
        if user is None:
            raise LookupError(f"no user {user_id}")
        destination = address if address is not None else str(user["email"])
        factor = self._add_factor(user_id, "email", "Email", mask_destination("email", destination))
        self.tenant.one_time_codes.destinations[factor["id"]] = destination
        return factor

    def enroll_sms(self, user_id: str, phone_number: str) -> Record:
        """Give a user a verified SMS factor for an E.164 number; return it.

        Its codes go to :attr:`outbox`.

        Raises:
            LookupError: No such user.
        """
        if user_id not in self.tenant.users:
            raise LookupError(f"no user {user_id}")
        factor = self._add_factor(user_id, "sms", "Phone", mask_destination("sms", phone_number))
        self.tenant.one_time_codes.destinations[factor["id"]] = phone_number
        return factor

    def totp_code(self, user_id: str) -> str:
        """Return the current TOTP code of the user's (first) TOTP factor.

        Raises:
            LookupError: the user has no TOTP factor.
        """
        for factor in self.tenant.factors.values():
            if factor["user_id"] == user_id and factor["type"] == "totp":
                return totp(self.tenant.totp_secrets[factor["id"]], self.clock.now())
        raise LookupError(f"user {user_id} has no TOTP factor")

    def _user_claims(self, user_id: str, scope: tuple[str, ...]) -> dict[str, Any]:
        user = self.tenant.users.get(user_id)
        return user_claims(user, scope) if user is not None else {}

    # ------------------------------------------------------------------ webhooks
    def emit_event(self, event_type: str, data: dict[str, Any]) -> Record:
        """Publish an event (e.g. ``security.breach_incident_opened``) as the platform would.

        Queues a delivery to each active subscription of the type; returns the event
        envelope. Send them with :meth:`deliver_webhooks`.
        """
        return self.webhooks.publish(event_type, data)

    async def deliver_webhooks(self) -> list[Record]:
        """Attempt every webhook delivery that is due now; return those attempted.

        Retries become due as the sandbox clock advances (``sandbox.clock.advance``).
        """
        return await self.webhooks.deliver_due()

    # ------------------------------------------------------------------ handlers
    def handler(self, operation_id: str) -> Handler | None:
        """Return the handler serving ``operation_id`` (None when not implemented)."""
        return self._handlers.get(operation_id)

    def override(self, operation_id: str, handler: Handler) -> None:
        """Serve ``operation_id`` with ``handler`` instead (e.g. a deliberately broken one).

        Raises:
            KeyError: the contract has no such operation.
        """
        self.contract.operation(operation_id)
        self._handlers[operation_id] = handler

    @property
    def implemented_operations(self) -> frozenset[str]:
        """The operationIds of the contract this sandbox serves with real behaviour."""
        return frozenset(self._handlers) & frozenset(self.contract.operations)

    # ------------------------------------------------------------------ violations
    @property
    def violations(self) -> list[Any]:
        """Contract violations recorded so far (see :meth:`check_violations`)."""
        return list(self.violation_log.violations)

    def check_violations(self) -> None:
        """Raise :class:`ContractViolation` if any message broke the contract, then forget them."""
        self.violation_log.check()

    # ------------------------------------------------------------------ app
    def _build_app(self) -> ASGIApp:
        operations = sorted(self.contract.operations.values(), key=_route_order)
        routes: list[BaseRoute] = [
            Route(op.path, endpoint_for(self, op), methods=[op.method], name=op.operation_id)
            for op in operations
        ]
        routes.extend(login_routes(self))
        routes.extend(par_routes(self))

        async def http_error(request: Request, exc: Exception) -> Response:
            assert isinstance(exc, HTTPException)
            if request.url.path.startswith("/api/"):
                code = "not_found" if exc.status_code == 404 else "invalid_request"
                return error_response(
                    request.scope, ApiError(code, str(exc.detail), status=exc.status_code)
                )
            return PlainTextResponse(str(exc.detail), exc.status_code)

        async def health(request: Request) -> Response:
            return JSONResponse({"status": "ok", "issuer": self.url})

        async def outbox(request: Request) -> Response:
            # The HTTP view of the outbox, like a local mail catcher's: a test tenant's
            # codes, for a person or a demo in another process (?to= filters).
            sent = self.outbox.messages(to=request.query_params.get("to"))
            return JSONResponse({"messages": [message.as_dict() for message in sent]})

        routes.append(Route("/_sandbox/health", health))
        routes.append(Route("/_sandbox/outbox", outbox))
        starlette = Starlette(routes=routes, exception_handlers={HTTPException: http_error})
        faulted = FaultMiddleware(starlette, faults=lambda: self.faults)
        validated = ResponseValidationMiddleware(
            faulted, validator=lambda: self.validator, log=self.violation_log
        )
        return RequestIdMiddleware(validated)

    def http_client(self, **kwargs: Any) -> httpx.AsyncClient:
        """Return an httpx client talking to this sandbox in process (ASGITransport)."""
        kwargs.setdefault("base_url", self.url)
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), **kwargs)

    # ------------------------------------------------------------------ serving
    @classmethod
    @contextlib.asynccontextmanager
    async def serve(
        cls, *, host: str = "127.0.0.1", port: int = 0, **options: Any
    ) -> AsyncIterator[Sandbox]:
        """Run a sandbox on a loopback port for the duration of the block.

        Port 0 picks a free port; ``sandbox.url`` is the bound URL. Leaving the block stops
        the server and raises any contract violation recorded meanwhile. uvicorn runs on
        asyncio only.

        Raises:
            OSError: The port is in use (or the address is not a local one); the message
                names the address.
        """
        options.setdefault("raise_violations", False)
        listener = _listening_socket(host, port)
        try:
            sandbox = cls(**options)
        except BaseException:
            listener.close()
            raise
        config = uvicorn.Config(
            sandbox.app,
            host=host,
            port=port,
            log_level="warning",
            lifespan="off",
            access_log=False,
        )
        server = uvicorn.Server(config)
        stopped = anyio.Event()
        sandbox.server_stopped = stopped

        async def run() -> None:
            try:
                await server.serve(sockets=[listener])
            finally:
                listener.close()
                stopped.set()

        webhook_sender = anyio.CancelScope()

        async def deliver_webhooks() -> None:
            with webhook_sender:
                await sandbox.webhooks.run()

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(run)
            if sandbox.background_webhooks:
                tasks.start_soon(deliver_webhooks)
            try:
                with anyio.fail_after(10):
                    while not server.started:
                        if server.should_exit:
                            raise RuntimeError(f"the sandbox could not listen on {host}:{port}")
                        await anyio.sleep(0.005)
                bound = listener.getsockname()[1]
                url_host = f"[{host}]" if ":" in host else host
                sandbox.signer.issuer = f"http://{url_host}:{bound}"
                yield sandbox
            finally:
                server.should_exit = True
                webhook_sender.cancel()
        sandbox.check_violations()
