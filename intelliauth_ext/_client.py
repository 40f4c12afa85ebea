"""``IntelliAuth``: the one client object, built on the generated facade.

::

    async with IntelliAuth(tenant_url, client_id=..., client_secret=...) as client:
        user = await client.users.get("usr_01")
        async for u in client.users.list(limit=100):
            ...

``IntelliAuth()`` without a tenant URL reads its configuration from the environment
(``_environment_settings``): ``INTELLIAUTH_TENANT_URL``, ``INTELLIAUTH_CLIENT_ID``,
``INTELLIAUTH_CLIENT_SECRET``, ``INTELLIAUTH_AUDIENCE``, ``INTELLIAUTH_SCOPES``.

The client owns configuration (tenant URL, auth, timeout, retries, headers) and an
``httpx.AsyncClient``; the ``Invoker`` (``_invoker.py``) sends the facade's operations
with it. Resource attributes (``client.users``, ``client.groups``, ...) come from the
generated ``intelliauth_client.facade.Resources``, built on first use.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Literal

import httpx

from intelliauth_ext._retries import DEFAULT_MAX_RETRIES
from intelliauth_ext._scopes import normalise_scopes
from intelliauth_ext._secret import Secret
from intelliauth_ext._timeouts import DEFAULT_TIMEOUT, NOT_GIVEN, NotGiven, resolve_timeout
from intelliauth_ext._urls import require_secure_url

if TYPE_CHECKING:
    from typing import Self

    from intelliauth_client.facade import Resources
    from intelliauth_client.models.token_type_hint import TokenTypeHint
    from intelliauth_client.types import Unset
    from intelliauth_ext._dpop import DPoPKey
    from intelliauth_ext._invoker import Invoker
    from intelliauth_ext._sign_in import AuthResource
    from intelliauth_ext._signing_key import PrivateKeyInput, SigningKey
    from intelliauth_ext._token_endpoints import IntrospectionResult

    # Type checkers see every resource attribute of the generated facade on the client;
    # at run time the client subclasses nothing generated and forwards to a Resources.
    _ResourceAttributes = Resources
else:
    _ResourceAttributes = object

__all__ = ["IntelliAuth", "validate_tenant_url"]

ENV_TENANT_URL: Final = "INTELLIAUTH_TENANT_URL"
ENV_CLIENT_ID: Final = "INTELLIAUTH_CLIENT_ID"
ENV_CLIENT_SECRET: Final = "INTELLIAUTH_CLIENT_SECRET"  # noqa: S105 - a variable name
ENV_AUDIENCE: Final = "INTELLIAUTH_AUDIENCE"
ENV_SCOPES: Final = "INTELLIAUTH_SCOPES"


def _variable(environ: Mapping[str, str], name: str) -> str | None:
    """An environment variable, stripped; None when unset or blank."""
    value = environ.get(name, "").strip()
    return value or None


def _environment_settings(
    environ: Mapping[str, str],
    *,
    credentials_given: bool,
) -> dict[str, Any]:
    """The ``IntelliAuth`` arguments the ``INTELLIAUTH_*`` variables give.

    The tenant URL always; the client id and secret, audience and scopes only when the
    caller gave no credentials of its own (``credentials_given``: any of ``auth=``,
    ``client_id=``, ``client_secret=``): a credential is never half from the environment
    and half from the code.

    Raises:
        ConfigurationError: ``INTELLIAUTH_TENANT_URL`` is unset; or no credentials were
            given and ``INTELLIAUTH_CLIENT_ID`` or ``INTELLIAUTH_CLIENT_SECRET`` is unset
            (the error names the one missing).
    """
    from intelliauth_ext._errors import ConfigurationError

    tenant_url = _variable(environ, ENV_TENANT_URL)
    if tenant_url is None:
        raise ConfigurationError(
            f"no tenant URL: pass IntelliAuth(tenant_url) or set {ENV_TENANT_URL}",
            variable=ENV_TENANT_URL,
        )
    settings: dict[str, Any] = {"tenant_url": tenant_url}
    if credentials_given:
        return settings
    client_id = _variable(environ, ENV_CLIENT_ID)
    client_secret = _variable(environ, ENV_CLIENT_SECRET)
    for name, value, other in (
        (ENV_CLIENT_ID, client_id, ENV_CLIENT_SECRET),
        (ENV_CLIENT_SECRET, client_secret, ENV_CLIENT_ID),
    ):
        if value is None:
            raise ConfigurationError(
                f"no client credentials: {name} is not set"
                + (f" ({other} is)" if environ.get(other, "").strip() else "")
                + "; set it, pass client_id= and client_secret= or auth=, or auth=None "
                "for a client without credentials",
                variable=name,
            )
    settings["client_id"] = client_id
    settings["client_secret"] = client_secret
    audience = _variable(environ, ENV_AUDIENCE)
    if audience is not None:
        settings["audience"] = audience
    scopes = _variable(environ, ENV_SCOPES)
    if scopes is not None:
        settings["scopes"] = scopes
    return settings


def _user_agent() -> str:
    # Imported here, like the Invoker and the transports: none is needed to import the
    # client, and `from intelliauth_ext import IntelliAuth` should cost no more than
    # `import httpx` (make bench, scenario 5).
    from importlib import metadata

    try:
        version = metadata.version("intelliauth")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a checkout
        version = "0"
    return f"intelliauth-python/{version}"


def validate_tenant_url(tenant_url: str | httpx.URL) -> httpx.URL:
    """Check and normalise a tenant URL.

    Args:
        tenant_url: ``https://<tenant>.<domain>`` (a path prefix is allowed); ``http://``
            only for loopback hosts (127.0.0.0/8, ::1, localhost), for local sandboxes.

    Returns:
        The URL without a trailing slash.

    Raises:
        InsecureURLError: The URL is not ``https://`` and not loopback ``http://``.
        ValueError: The URL has no host, or has credentials, a query or a fragment.
    """
    from intelliauth_ext._logging import redact_url  # see _user_agent

    url = require_secure_url(tenant_url, "tenant URL")
    if url.userinfo:
        raise ValueError("the tenant URL must not carry credentials; use client_id/client_secret")
    if url.query or url.fragment:
        raise ValueError(f"the tenant URL must not have a query or fragment: {redact_url(url)!r}")
    return url.copy_with(path=url.path.rstrip("/") or "/")


def _response_limit(value: int | NotGiven, *, default: int) -> int:
    """``max_response_bytes`` checked: a whole number of bytes, at least 1."""
    if isinstance(value, NotGiven):
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"max_response_bytes must be an int, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"max_response_bytes must be >= 1, got {value}")
    return value


def _hint(token_type_hint: str | None) -> TokenTypeHint | Unset:
    """A ``token_type_hint`` as the generated request models take it."""
    from intelliauth_client.models.token_type_hint import TokenTypeHint
    from intelliauth_client.types import UNSET

    return UNSET if token_type_hint is None else TokenTypeHint(token_type_hint)


def _client_credentials(
    token_url: str,
    client_id: str,
    client_secret: str | None,
    *,
    audience: str | None,
    scopes: tuple[str, ...],
    max_retries: int,
    private_key: PrivateKeyInput | None = None,
    key_id: str | None = None,
    dpop: DPoPKey | None = None,
) -> httpx.Auth:
    """The client-credentials token manager of ``intelliauth_ext._auth``, imported lazily."""
    from intelliauth_ext._auth import ClientCredentials

    auth: httpx.Auth = ClientCredentials(
        token_url,
        client_id,
        client_secret,
        audience=audience,
        scopes=scopes,
        private_key=private_key,
        key_id=key_id,
        dpop=dpop,
        max_retries=max_retries,  # token requests follow the client's retry budget
    )
    return auth


class IntelliAuth(_ResourceAttributes):
    """The IntelliAuth API client: one object, every operation, safe defaults.

    Where the configuration comes from:

    * ``IntelliAuth(tenant_url, ...)``: from the arguments only; the environment is not
      read (credentials in the environment never go to a URL written in the code).
    * ``IntelliAuth()``: the tenant URL from ``INTELLIAUTH_TENANT_URL``; the credentials
      from the arguments when any of ``auth=``, ``client_id=``, ``client_secret=`` is
      given, otherwise from ``INTELLIAUTH_CLIENT_ID`` and ``INTELLIAUTH_CLIENT_SECRET``
      (both needed), with ``INTELLIAUTH_AUDIENCE`` and ``INTELLIAUTH_SCOPES``. An explicit
      argument always wins over its variable.

    Args:
        tenant_url: Your tenant, e.g. ``https://acme.intelliauth.io``; None (the default)
            reads ``INTELLIAUTH_TENANT_URL`` and the other variables, as above.
        client_id: With ``client_secret``: authenticate with the client-credentials grant.
        client_secret: The client's secret; never logged nor shown in ``repr``.
        private_key: With ``client_id``, instead of a secret: the client's private key for
            ``private_key_jwt`` (RFC 7523; a PEM, a JWK or a ``SigningKey``), used for
            tokens, ``revoke`` and ``introspect``; never logged nor shown in ``repr``.
        key_id: The ``kid`` header of the client's assertions.
        dpop: With ``client_id``: a ``DPoPKey`` to bind the tokens to (RFC 9449); every
            request then carries ``Authorization: DPoP`` and a proof.
        audience: The ``audience`` to request tokens for (client credentials only).
        scopes: The scopes to request (client credentials only).
        auth: Any ``httpx.Auth`` instead of client credentials (a token manager of
            ``intelliauth_ext``, or your own); None for a client without credentials,
            which ``IntelliAuth()`` otherwise refuses.
        http_client: Your own ``httpx.AsyncClient`` (proxies, certificates, mounts). It is
            not closed by ``aclose()``; ``auth`` is still applied to every request.
        transport: An ``httpx`` transport for the client's own ``AsyncClient``.
        timeout: Seconds, an ``httpx.Timeout``, or None for no limit; defaults to 30 s
            per attempt with 5 s to connect.
        max_retries: Retries of a failed attempt (see ``_retries``); 0 disables them.
        default_headers: Headers sent with every request.
        max_response_bytes: The most bytes read from a response body, counted decoded as
            it streams (a larger one raises ``ResponseTooLargeError``); defaults to 10 MiB.
            Token, revocation and introspection answers are capped at 1 MiB (or this, if
            smaller).
        environ: Where ``IntelliAuth()`` reads the variables; ``os.environ`` by default.

    Raises:
        ConfigurationError: ``IntelliAuth()`` and a variable it needs is unset (the
            error's ``.variable`` names it); a ``ValueError``.
        InsecureURLError: A tenant URL that is not https (except loopback hosts).
        ValueError: Conflicting or incomplete credentials.
    """

    if TYPE_CHECKING:
        #: ``client.auth``: the generated operations plus ``sign_in_with_password``.
        auth: AuthResource

    def __init__(
        self,
        tenant_url: str | httpx.URL | None = None,
        *,
        client_id: str | None = None,
        client_secret: str | None = None,
        private_key: PrivateKeyInput | None = None,
        key_id: str | None = None,
        dpop: DPoPKey | None = None,
        audience: str | None = None,
        scopes: Iterable[str] | str = (),
        auth: httpx.Auth | NotGiven | None = NOT_GIVEN,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float | httpx.Timeout | NotGiven | None = NOT_GIVEN,
        max_retries: int = DEFAULT_MAX_RETRIES,
        default_headers: Mapping[str, str] | None = None,
        max_response_bytes: int | NotGiven = NOT_GIVEN,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        # The transports and _logging (and the Invoker, in _make_invoker) load with the
        # first client, not with the module: see _user_agent.
        from intelliauth_ext._logging import configure_from_env, install_redaction_filters
        from intelliauth_ext._transports import DEFAULT_MAX_RESPONSE_BYTES, LazyDefaultTransport

        self._closed = True  # until the pool exists, so a failed __init__ does not warn
        self._owns_http_client = False
        self._sdk_pool = False
        configure_from_env()
        install_redaction_filters()

        if tenant_url is None:
            # NOT_GIVEN, not None, is "no auth= argument": auth=None is a choice.
            credentials_given = not isinstance(auth, NotGiven) or (
                client_id is not None or client_secret is not None
            )
            found = _environment_settings(
                os.environ if environ is None else environ,
                credentials_given=credentials_given,
            )
            tenant_url = found["tenant_url"]
            client_id = found.get("client_id", client_id)
            client_secret = found.get("client_secret", client_secret)
            if audience is None:
                audience = found.get("audience")
            if not normalise_scopes(scopes):
                scopes = found.get("scopes", scopes)
        if isinstance(auth, NotGiven):
            auth = None
        self._tenant_url = validate_tenant_url(tenant_url)
        scope_tuple = normalise_scopes(scopes)
        if http_client is not None and transport is not None:
            raise ValueError("pass either http_client= or transport=, not both")
        if auth is not None and (client_id is not None or client_secret is not None):
            raise ValueError("pass either auth= or client_id=/client_secret=, not both")
        if private_key is not None and client_secret is not None:
            raise ValueError("pass either client_secret= or private_key=, not both")
        if client_id is None and (private_key is not None or dpop is not None):
            raise ValueError("private_key= and dpop= apply to client_id= only; use auth=")
        if (client_id is None) != (client_secret is None and private_key is None):
            raise ValueError("client_id and client_secret must be given together")
        if client_id is None and (audience is not None or scope_tuple):
            raise ValueError("audience= and scopes= apply to client_id/client_secret only")
        if max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {max_retries}")
        self._max_response_bytes = _response_limit(
            max_response_bytes, default=DEFAULT_MAX_RESPONSE_BYTES
        )

        self._owns_auth = False
        signing_key: SigningKey | None = None
        if private_key is not None:
            from intelliauth_ext._signing_key import load_signing_key

            # Loaded once, into a SigningKey: no repr, vars() or traceback shows the key.
            signing_key = load_signing_key(private_key, key_id=key_id)
        if client_id is not None and (client_secret is not None or private_key is not None):
            from intelliauth_client.facade import OPERATIONS

            auth = _client_credentials(
                str(self._tenant_url).rstrip("/") + OPERATIONS["requestToken"].path,
                client_id,
                client_secret,
                audience=audience,
                scopes=scope_tuple,
                max_retries=max_retries,
                private_key=signing_key,
                dpop=dpop,
            )
            self._owns_auth = True
        self._auth = auth
        self._client_id = client_id
        # For revoke/introspect; a Secret, so that no repr, vars() or traceback shows it.
        self._client_secret = Secret(client_secret) if client_secret is not None else None
        self._private_key = signing_key  # for revoke/introspect (private_key_jwt)
        self._timeout = resolve_timeout(timeout, default=DEFAULT_TIMEOUT)
        self._max_retries = max_retries
        self._headers = httpx.Headers({"User-Agent": _user_agent()})
        self._headers.update(default_headers or {})

        if http_client is None:
            http_client = httpx.AsyncClient(
                transport=transport if transport is not None else LazyDefaultTransport(),
                timeout=self._timeout,
                follow_redirects=False,
            )
            self._owns_http_client = True
        # Whether the pool is one the SDK built (copies from with_options share it).
        self._sdk_pool = self._owns_http_client
        self._http_client = http_client
        self._is_copy = False
        self._resources: Resources | None = None
        self._invoker = self._make_invoker()
        self._closed = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **options: Any) -> IntelliAuth:
        """Deprecated: ``IntelliAuth()`` reads the same variables; use it.

        ``IntelliAuth.from_env(environ, **options)`` is ``IntelliAuth(environ=environ,
        **options)``, one code path; it only adds a ``DeprecationWarning``.

        Raises:
            ConfigurationError: A variable ``IntelliAuth()`` needs is unset.
        """
        warnings.warn(
            "IntelliAuth.from_env() is deprecated; IntelliAuth() reads the same "
            "INTELLIAUTH_* variables (IntelliAuth(environ=...) to read another mapping)",
            DeprecationWarning,
            stacklevel=2,
        )
        return cls(environ=environ, **options)

    def _make_invoker(self) -> Invoker:
        from intelliauth_ext._invoker import Invoker

        return Invoker(
            http_client=self._http_client,
            auth=self._auth,
            base_url=self._tenant_url,
            timeout=self._timeout,
            max_retries=self._max_retries,
            headers=self._headers,
            # Our own pool (shared by with_options copies): send straight to its transport.
            direct=self._sdk_pool,
            max_response_bytes=self._max_response_bytes,
        )

    # -- configuration ---------------------------------------------------------------

    @property
    def tenant_url(self) -> httpx.URL:
        """The tenant URL every request goes to."""
        return self._tenant_url

    @property
    def timeout(self) -> httpx.Timeout:
        """The timeouts of every attempt."""
        return self._timeout

    @property
    def max_retries(self) -> int:
        """How many times a failed attempt is repeated."""
        return self._max_retries

    @property
    def max_response_bytes(self) -> int:
        """The most bytes read from a response body."""
        return self._max_response_bytes

    @property
    def http_client(self) -> httpx.AsyncClient:
        """The ``httpx.AsyncClient`` requests go through (shared by ``with_options`` copies).

        When the SDK built it, requests go to its transport directly, not through
        ``AsyncClient.send`` (so its cookie jar is not used); event hooks installed on it,
        even later, still run for every request and response.
        """
        return self._http_client

    @property
    def invoker(self) -> Invoker:
        """The object that sends the facade's operations."""
        return self._invoker

    @property
    def is_closed(self) -> bool:
        """Whether ``aclose()`` was called."""
        return self._closed

    def with_options(
        self,
        *,
        timeout: float | httpx.Timeout | NotGiven | None = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        default_headers: Mapping[str, str] | None = None,
        max_response_bytes: int | NotGiven = NOT_GIVEN,
    ) -> Self:
        """A copy with other options, sharing this client's connection pool and auth.

        The copy does not own the pool: closing it does nothing, closing the original
        closes the pool for both.

        Args:
            timeout: The copy's timeout (``NOT_GIVEN``: keep this client's).
            max_retries: The copy's retries (``NOT_GIVEN``: keep this client's).
            default_headers: Headers added to this client's default headers.
            max_response_bytes: The copy's response size limit (``NOT_GIVEN``: keep this
                client's).
        """
        new_timeout = resolve_timeout(timeout, default=self._timeout)
        new_retries = self._max_retries if isinstance(max_retries, NotGiven) else max_retries
        if new_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {new_retries}")
        new_limit = _response_limit(max_response_bytes, default=self._max_response_bytes)
        headers = httpx.Headers(self._headers)
        headers.update(default_headers or {})
        copy = object.__new__(type(self))
        copy.__dict__.update(self.__dict__)
        copy._owns_http_client = False
        copy._owns_auth = False
        copy._timeout = new_timeout
        copy._max_retries = new_retries
        copy._max_response_bytes = new_limit
        copy._headers = headers
        copy._is_copy = True
        copy._resources = None
        copy._invoker = copy._make_invoker()
        return copy

    # -- resources -------------------------------------------------------------------

    def _facade(self) -> Resources:
        """The generated facade's resources, bound to this client (built on first use)."""
        if self._resources is None:
            from intelliauth_client.facade import Resources
            from intelliauth_ext._sign_in import AuthResource

            resources = Resources(self._invoker)
            # The hand-written auth resource adds sign_in_with_password(email, password)
            # with the MFA branch; every generated operation is unchanged.
            resources.auth = AuthResource(self._invoker, client_id=self._client_id)
            self._resources = resources
        return self._resources

    def __getattr__(self, name: str) -> Any:
        # Only reached for names not found normally: the facade's resource attributes
        # (``users``, ``groups``, ... and ``resources``, the ReBAC resources).
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._facade(), name)

    # -- token helpers -----------------------------------------------------------------

    def _client_authenticated(self, what: str) -> Invoker:
        """The invoker, authenticating as the client (``clientSecretBasic``, or
        ``private_key_jwt`` with a private key), not with a token."""
        if self._client_id is not None and self._private_key is not None:
            from intelliauth_client.facade import OPERATIONS
            from intelliauth_ext._auth._client_auth import ClientAuth, ClientFormAuth

            client = ClientAuth.create(client_id=self._client_id, private_key=self._private_key)
            token_url = str(self._tenant_url).rstrip("/") + OPERATIONS["requestToken"].path
            return self._invoker.with_auth(ClientFormAuth(client, assertion_audience=token_url))
        if self._client_id is None or self._client_secret is None:
            raise ValueError(f"{what} needs a client built with client_id and client_secret")
        from intelliauth_ext._auth._client_auth import ClientSecretBasicAuth

        return self._invoker.with_auth(
            ClientSecretBasicAuth(self._client_id, self._client_secret.reveal())
        )

    async def revoke(
        self,
        token: str,
        *,
        token_type_hint: Literal["access_token", "refresh_token"] | None = None,
    ) -> None:
        """Revoke an access or refresh token at the tenant (RFC 7009).

        Sends the generated ``revokeToken`` operation with this client's retries,
        timeouts, logging and transport, authenticated with the client's id and secret.
        (``client.oauth2.revoke_token(RevocationRequest(...))`` is the raw operation;
        ``intelliauth_ext.revoke_token(url, ...)`` revokes at any provider.)

        Raises:
            ValueError: The client has no client credentials to authenticate with.
            OAuthError: The tenant refused (``InvalidClientError``, ...).
            APIConnectionError: The tenant could not be reached.
        """
        from intelliauth_client.facade import OPERATIONS
        from intelliauth_client.models.revocation_request import RevocationRequest

        invoker = self._client_authenticated("revoke")
        body = RevocationRequest(token=token, token_type_hint=_hint(token_type_hint))
        await invoker.call(OPERATIONS["revokeToken"], body=body)

    async def introspect(
        self,
        token: str,
        *,
        token_type_hint: Literal["access_token", "refresh_token"] | None = None,
    ) -> IntrospectionResult:
        """Ask the tenant whether a token is active, and about it (RFC 7662).

        Sends the generated ``introspectToken`` operation as ``revoke`` sends its own.
        (``client.oauth2.introspect_token(...)`` is the raw operation;
        ``intelliauth_ext.introspect_token(url, ...)`` asks any provider.)

        Raises:
            ValueError: The client has no client credentials to authenticate with.
            OAuthError: The tenant refused, or answered with something that is not RFC 7662.
            APIConnectionError: The tenant could not be reached.
        """
        from intelliauth_client.facade import OPERATIONS
        from intelliauth_client.models.introspection_request import IntrospectionRequest
        from intelliauth_ext._token_endpoints import introspection_result

        invoker = self._client_authenticated("introspect")
        body = IntrospectionRequest(token=token, token_type_hint=_hint(token_type_hint))
        response = await invoker.call_raw(OPERATIONS["introspectToken"], body=body)
        return introspection_result(response)

    # -- lifecycle -------------------------------------------------------------------

    async def aclose(self) -> None:
        """Close the connection pool (when this client created it). Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        try:
            if self._owns_http_client:
                await self._http_client.aclose()
        finally:
            aclose_auth = getattr(self._auth, "aclose", None) if self._owns_auth else None
            if aclose_auth is not None:
                await aclose_auth()

    async def __aenter__(self) -> Self:
        if self._closed:
            raise RuntimeError("this IntelliAuth client is closed")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __del__(self) -> None:
        # __dict__ lookups: __init__ may have failed half-way, and __getattr__ must not run.
        state = self.__dict__
        if state.get("_owns_http_client") and not state.get("_closed", True):
            warnings.warn(
                f"{self!r} was garbage-collected without being closed; use "
                "'async with IntelliAuth(...)' or 'await client.aclose()'",
                ResourceWarning,
                stacklevel=1,
                source=self,
            )

    def __repr__(self) -> str:
        state = self.__dict__
        auth = state.get("_auth")
        parts = [repr(str(state.get("_tenant_url", "?")))]
        if state.get("_client_id") is not None:
            parts.append(f"client_id={state['_client_id']!r}")
        parts.append(f"auth={type(auth).__name__ if auth is not None else None}")
        timeout = state.get("_timeout")
        if isinstance(timeout, httpx.Timeout):
            parts.append(f"timeout={timeout.read}")
        parts.append(f"max_retries={state.get('_max_retries')}")
        if state.get("_closed"):
            parts.append("closed")
        return f"IntelliAuth({', '.join(parts)})"
