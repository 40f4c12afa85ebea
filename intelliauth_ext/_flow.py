"""``AuthorizationCodeFlow``: browser sign-in with the authorization code grant and PKCE.

::

    flow = AuthorizationCodeFlow("https://acme.intelliauth.io", client_id,
                                 "https://app.example.com/callback", ["openid", "email"])
    request = await flow.start()          # redirect the browser to request.url
    session["oauth_state"] = request.state
    ...
    tokens = await flow.complete(str(callback_url), expected_state=session.pop("oauth_state"))

``start`` makes a fresh ``state`` (CSRF, RFC 6749 section 10.12), ``nonce`` (OIDC Core
3.1.2.1) and PKCE pair (RFC 7636), and keeps them in a ``FlowStore``. ``complete`` refuses
a callback whose state is missing, not the one the browser session started (when the app
passes ``expected_state``), unknown, already used, or expired; checks the RFC 9207 ``iss``;
only then turns an ``error=`` callback into the matching ``OAuthError`` (anyone can send a
browser to the callback with ``error=access_denied&error_description=<any text>``: without
a state this flow issued, that is an ``InvalidCallbackError``, and the text is not
repeated); exchanges the code with the verifier; and verifies the ID token: nonce, and the
``at_hash`` / ``c_hash`` against the access token and the code when the token has them.

Banking-grade (FAPI 2.0) options:

* ``private_key=`` (and ``key_id=``): the client authenticates with ``private_key_jwt``
  (RFC 7523) at the token and PAR endpoints instead of a secret;
* ``dpop=`` a ``DPoPKey``: ``start`` sends ``dpop_jkt`` (RFC 9449 section 10), the code
  exchange carries a proof, and the tokens come back DPoP-bound (a Bearer answer is
  refused unless ``allow_bearer_downgrade=True``); use them with ``RefreshingAuth(...,
  dpop=the same key)``;
* ``par=True``, or the provider's ``require_pushed_authorization_requests``: ``start``
  pushes the request (RFC 9126, ``_par``) and the browser URL carries only ``client_id``
  and ``request_uri``; the pending sign-in expires no later than the ``request_uri``.
  ``par=False`` never pushes.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final, cast

import attrs
import httpx

from intelliauth_ext._auth._client_auth import ClientAuth, ClientAuthMethodName
from intelliauth_ext._clock import Clock, SystemClock
from intelliauth_ext._discovery import ProviderMetadata
from intelliauth_ext._dpop import DPoPKey
from intelliauth_ext._errors import (
    InvalidCallbackError,
    TokenValidationError,
    oauth_error_from_fields,
)
from intelliauth_ext._flow_store import FlowStore, InMemoryFlowStore, PendingAuthorization
from intelliauth_ext._par import push_authorization_request
from intelliauth_ext._pkce import PkcePair
from intelliauth_ext._scopes import normalise_scopes
from intelliauth_ext._secret import Secret
from intelliauth_ext._shown import shown
from intelliauth_ext._signing_key import PrivateKeyInput, load_signing_key
from intelliauth_ext._token_endpoints import request_token
from intelliauth_ext._token_set import TokenSet
from intelliauth_ext._urls import require_secure_url
from intelliauth_ext._verification import TokenVerifier

if TYPE_CHECKING:
    from intelliauth_ext._auth._client_auth import ClientAuthMethodName
    from intelliauth_ext._auth._refreshing_auth import RefreshingAuth
    from intelliauth_ext._browser_sign_in import OpenBrowser

__all__ = ["DEFAULT_STATE_TTL", "AuthorizationCodeFlow", "AuthorizationRequest"]

#: Seconds a started sign-in may take before its callback is refused.
DEFAULT_STATE_TTL: Final = 600.0
#: Parameters ``start`` sets itself; passing them as extras would undo a protection.
_RESERVED_PARAMS: Final = frozenset(
    {
        "response_type",
        "client_id",
        "redirect_uri",
        "scope",
        "state",
        "nonce",
        "code_challenge",
        "code_challenge_method",
        "dpop_jkt",
        "request_uri",
        "request",
    }
)
#: The callback parameters RFC 6749 section 3.1 forbids repeating (and RFC 9207 adds).
_SINGLE_VALUED: Final = ("code", "state", "error", "error_description", "error_uri", "iss")


@attrs.frozen
class AuthorizationRequest:
    """A started sign-in: where to send the browser and what to keep.

    ``state``, ``nonce`` and ``code_verifier`` are already in the flow's store; keep
    ``state`` in the user's session as well and pass it to ``complete(expected_state=...)``
    to bind the callback to that browser. ``repr`` hides the verifier and the nonce.

    Attributes:
        url: The authorization URL to redirect the browser to.
        state: The CSRF token (also in ``url``).
        nonce: The nonce the ID token must carry.
        code_verifier: The PKCE verifier (never sent to the browser).
        expires_at: Unix time after which the callback is refused.
    """

    url: str
    state: str
    nonce: str = attrs.field(repr=False)
    code_verifier: str = attrs.field(repr=False)
    expires_at: float


def _check_redirect_uri(redirect_uri: str) -> str:
    url = httpx.URL(redirect_uri)
    if url.fragment:
        raise ValueError("a redirect URI must not have a fragment (RFC 6749 section 3.1.2)")
    if url.scheme in ("http", "https"):
        require_secure_url(url, "redirect URI")
    elif not url.scheme:
        raise ValueError(f"the redirect URI is not absolute: {redirect_uri!r}")
    return redirect_uri


def _callback_params(callback: str | httpx.URL | Mapping[str, str]) -> dict[str, str]:
    if isinstance(callback, Mapping):
        items = [(str(key), value) for key, value in callback.items()]
    else:
        try:
            items = list(httpx.URL(str(callback)).params.multi_items())
        except httpx.InvalidURL as exc:  # over 64 KiB, or characters no URL may hold
            raise InvalidCallbackError("format", "the callback URL can not be parsed") from exc
    params: dict[str, str] = {}
    for key, value in items:
        if not isinstance(value, str):
            raise InvalidCallbackError("format", f"the callback parameter {key!r} is not a string")
        if key in params and key in _SINGLE_VALUED:
            raise InvalidCallbackError(
                "format", f"the callback repeats {key!r} (RFC 6749 section 3.1)"
            )
        params.setdefault(key, value)
    return params


def _same_secret(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


class AuthorizationCodeFlow:
    """Sign users in through the provider's login page (authorization code + PKCE).

    Args:
        issuer_or_metadata: The tenant/issuer URL (its discovery document is fetched on
            first use), or its metadata (a ``ProviderMetadata`` or the document as a dict).
        client_id: Your application's client id.
        redirect_uri: Where the provider sends the browser back; registered with it.
        scopes: The scopes to ask for, e.g. ``["openid", "email", "offline_access"]``;
            sent sorted and without repeats (``normalise_scopes``).
        client_secret: The secret of a confidential (server-side) client; None for a
            public client, which PKCE alone protects.
        auth_method: How to authenticate at the token endpoint: ``client_secret_basic``,
            ``client_secret_post``, ``client_secret_jwt``, ``private_key_jwt`` or
            ``none``; by default ``private_key_jwt`` with a ``private_key``, ``none``
            without a secret, else ``client_secret_basic`` unless the provider only lists
            ``client_secret_post``.
        private_key: The client's key for ``private_key_jwt`` (a PEM, a JWK or a
            ``SigningKey``); never logged nor shown by ``repr``.
        key_id: The ``kid`` header of the client's assertions.
        assertion_audience: The ``aud`` of the client's assertions: by default the token
            endpoint URL at the token endpoint and the issuer at the PAR endpoint.
        dpop: A ``DPoPKey``: bind the tokens to it (``dpop_jkt``, a proof on the code
            exchange and the push).
        par: Push the authorization request (RFC 9126); None (the default) pushes when
            the provider's metadata requires it.
        allow_bearer_downgrade: With ``dpop``, accept Bearer tokens from a provider that
            does not bind them.
        flow_store: Where pending sign-ins wait; an ``InMemoryFlowStore`` by default (one
            process only).
        http_client: The client for discovery, key set and token requests; short-lived
            ones when None.
        state_ttl: Seconds a started sign-in stays valid.
        verifier: The ID token verifier; one for the same provider by default.
        clock: Wall and monotonic time, for tests.

    Raises:
        InsecureURLError: The issuer or redirect URI is plain http on a non-loopback host.
        ValueError: An unknown ``auth_method``, a secret-based one without a secret,
            ``private_key_jwt`` without a key (or a key that can not sign), or a redirect
            URI with a fragment.
    """

    def __init__(
        self,
        issuer_or_metadata: str | httpx.URL | ProviderMetadata | Mapping[str, Any],
        client_id: str,
        redirect_uri: str,
        scopes: str | Iterable[str] = ("openid",),
        *,
        client_secret: str | None = None,
        auth_method: ClientAuthMethodName | None = None,
        private_key: PrivateKeyInput | None = None,
        key_id: str | None = None,
        assertion_audience: str | None = None,
        dpop: DPoPKey | None = None,
        par: bool | None = None,
        allow_bearer_downgrade: bool = False,
        flow_store: FlowStore | None = None,
        http_client: httpx.AsyncClient | None = None,
        state_ttl: float = DEFAULT_STATE_TTL,
        verifier: TokenVerifier | None = None,
        clock: Clock | None = None,
    ) -> None:
        if private_key is not None and auth_method is None:
            auth_method = "private_key_jwt"
        if auth_method is not None:
            # Checks the combination now (raises ValueError); the flow's ClientAuth is made
            # per request, as the default method may depend on the provider's metadata.
            ClientAuth.create(
                client_id=client_id or "-",
                client_secret=client_secret,
                private_key=private_key,
                key_id=key_id,
                auth_method=auth_method,
            )
        elif key_id is not None:
            raise ValueError("key_id names the private_key; pass private_key= too")
        if dpop is not None and not isinstance(dpop, DPoPKey):
            raise TypeError(f"dpop must be a DPoPKey, not {type(dpop).__name__}")
        if state_ttl <= 0:
            raise ValueError("state_ttl must be positive")
        self.client_id = client_id
        self.redirect_uri = _check_redirect_uri(redirect_uri)
        self.scopes = normalise_scopes(scopes)
        self._client_secret = Secret(client_secret) if client_secret else None
        self._auth_method = auth_method
        self._private_key = (
            load_signing_key(private_key, key_id=key_id) if private_key is not None else None
        )
        self._assertion_audience = assertion_audience
        self.dpop = dpop
        self.par = par
        self._allow_bearer_downgrade = allow_bearer_downgrade
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._store: FlowStore = (
            flow_store if flow_store is not None else InMemoryFlowStore(clock=self._clock.time)
        )
        self._http_client = http_client
        self._metadata: ProviderMetadata | None = None  # once fetched: refreshing_auth
        self.state_ttl = state_ttl
        self.verifier = (
            verifier
            if verifier is not None
            else TokenVerifier(issuer_or_metadata, http_client=http_client, clock=self._clock)
        )

    def __repr__(self) -> str:
        if self._private_key is not None:
            kind = f"private_key={self._private_key!r}"
        else:
            kind = "confidential" if self._client_secret else "public"
        extras = "".join(
            [
                f", dpop={self.dpop!r}" if self.dpop is not None else "",
                f", par={self.par!r}" if self.par is not None else "",
            ]
        )
        return (
            f"AuthorizationCodeFlow({self.verifier!r}, client_id={self.client_id!r}, {kind}, "
            f"scopes={self.scopes!r}{extras})"
        )

    async def metadata(self) -> ProviderMetadata:
        """The provider's metadata (fetched once)."""
        self._metadata = await self.verifier.metadata()
        return self._metadata

    async def _client(self) -> ClientAuth:
        """The client's credentials, with the method for this provider."""
        return ClientAuth.create(
            client_id=self.client_id,
            client_secret=self._client_secret.reveal() if self._client_secret else None,
            private_key=self._private_key,
            auth_method=await self._token_auth_method(),
            assertion_audience=self._assertion_audience,
        )

    async def _token_auth_method(self) -> str:
        return self._auth_method_for(await self.metadata())

    def _auth_method_for(self, metadata: ProviderMetadata) -> str:
        if self._auth_method is not None:
            return self._auth_method
        if not self._client_secret:
            return "none"
        supported = metadata.token_endpoint_auth_methods_supported
        if (
            supported
            and "client_secret_basic" not in supported
            and ("client_secret_post" in supported)
        ):
            return "client_secret_post"
        return "client_secret_basic"  # RFC 8414 section 2: the default when none listed

    async def sign_in_with_browser(
        self,
        *,
        open_browser: OpenBrowser | None = None,
        port: int = 0,
        timeout: float | None = 300.0,  # noqa: ASYNC109 - bounds the browser's wait only
        success_page: str | None = None,
        **extra_params: str,
    ) -> TokenSet:
        """Sign the user in through their browser, for a native app (RFC 8252).

        Listens on the loopback address of ``redirect_uri`` (``http://127.0.0.1/...`` or
        ``http://[::1]/...``), sends that URI with the port listened on, opens the
        authorization URL, waits for the callback with this sign-in's state (any other
        request is answered 400), answers the browser with a page it can close, stops
        listening and returns the tokens, ID token verified. Runs on asyncio (a notebook
        cell awaits it) and trio.

        Args:
            open_browser: Called with the authorization URL instead of ``webbrowser.open``
                (``print`` in a notebook or a remote shell); an awaitable it returns runs
                while the sign-in waits.
            port: The port to listen on; 0 (default) takes the redirect URI's port if it
                has one, else a free one.
            timeout: Seconds to wait for the browser to come back; None waits for ever.
            success_page: The HTML shown after a successful sign-in.
            **extra_params: More authorization parameters (``prompt``, ``login_hint`` ...).

        Raises:
            SignInTimeoutError: Nothing came back in time (a closed browser included).
            AccessDeniedError: The user refused (``error=access_denied``); another
                ``OAuthError`` for another error or a failed code exchange.
            ValueError: The redirect URI is not an ``http`` loopback URI.
            OSError: ``port`` is taken.
            InvalidCallbackError, TokenValidationError: As ``complete``.
        """
        from intelliauth_ext._browser_sign_in import sign_in_with_browser

        return await sign_in_with_browser(
            self,
            open_browser=open_browser,
            port=port,
            timeout=timeout,
            success_page=success_page,
            extra_params=extra_params,
        )

    def refreshing_auth(self, token_set: TokenSet | None = None, **options: Any) -> RefreshingAuth:
        """A ``RefreshingAuth`` that keeps ``token_set`` fresh at this provider, as this client.

        Call it after a sign-in (or ``await flow.metadata()``): the token endpoint comes
        from the provider's metadata.

        Args:
            token_set: The tokens of the sign-in; None with ``store=`` (loaded from it).
            **options: More ``RefreshingAuth`` arguments (``store``, ``store_key``,
                ``on_token_update``, ``refresh_margin`` ...); ``http_client`` defaults to
                this flow's.

        Raises:
            RuntimeError: The provider's metadata has not been fetched yet.
            ValueError: As ``RefreshingAuth``.
        """
        from intelliauth_ext._auth._refreshing_auth import RefreshingAuth

        metadata = self._metadata
        if metadata is None:
            raise RuntimeError("refreshing_auth needs the provider's metadata: sign in first")
        options.setdefault("http_client", self._http_client)
        options.setdefault("dpop", self.dpop)
        options.setdefault("allow_bearer_downgrade", self._allow_bearer_downgrade)
        return RefreshingAuth(
            token_set,
            token_url=metadata.require("token_endpoint"),
            client_id=self.client_id,
            client_secret=self._client_secret.reveal() if self._client_secret else None,
            private_key=self._private_key,
            assertion_audience=self._assertion_audience,
            auth_method=cast("ClientAuthMethodName", self._auth_method_for(metadata)),
            **options,
        )

    async def start(self, **extra_params: str) -> AuthorizationRequest:
        """Begin a sign-in: a fresh state, nonce and PKCE pair, saved in the flow store.

        Args:
            **extra_params: More authorization parameters, e.g. ``prompt="login"``,
                ``login_hint=...``, ``audience=...`` or ``resource=...``.

        Returns:
            The request: redirect the browser to ``.url``. Pushed (``par``), the URL
            carries only ``client_id`` and ``request_uri``, and ``expires_at`` is no later
            than the ``request_uri``'s expiry.

        Raises:
            ValueError: An extra parameter that the flow sets itself (``state``, ``nonce``,
                ``code_challenge``, ``redirect_uri``, ``dpop_jkt``, ``request_uri`` ...),
                or metadata the app gave has no ``authorization_endpoint`` (or no
                ``pushed_authorization_request_endpoint`` when pushing).
            OAuthError: The PAR endpoint refused the request (its RFC 6749 code).
            APIConnectionError, APIStatusError: Discovery failed (see ``TokenVerifier``).
            APIResponseValidationError, InsecureURLError: The discovery document is
                broken or hostile: no usable ``authorization_endpoint``, among others.
        """
        reserved = sorted(_RESERVED_PARAMS.intersection(extra_params))
        if reserved:
            raise ValueError(f"start() sets {', '.join(reserved)} itself")
        metadata = await self.metadata()
        endpoint = httpx.URL(metadata.require("authorization_endpoint"))
        pkce = PkcePair.generate()
        state = secrets.token_urlsafe(32)
        nonce = secrets.token_urlsafe(32)
        expires_at = self._clock.time() + self.state_ttl
        params: dict[str, str] = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": " ".join(self.scopes),
            "state": state,
            "nonce": nonce,
            "code_challenge": pkce.challenge,
            "code_challenge_method": pkce.method,
            **extra_params,
        }
        if self.dpop is not None:
            params["dpop_jkt"] = self.dpop.jkt  # RFC 9449 section 10: binds the code
        if self.par or (self.par is None and metadata.require_pushed_authorization_requests):
            pushed = await push_authorization_request(
                metadata.require("pushed_authorization_request_endpoint"),
                params,
                client=await self._client(),
                dpop=self.dpop,
                assertion_audience=metadata.issuer,
                http_client=self._http_client,
            )
            # RFC 9126 section 4: the browser carries the reference only.
            params = {"client_id": self.client_id, "request_uri": pushed.request_uri}
            expires_at = min(expires_at, self._clock.time() + pushed.expires_in)
        # RFC 6749 section 3.1: keep the endpoint's own query component.
        url = endpoint.copy_merge_params(params)
        await self._store.save(
            PendingAuthorization(
                state=state,
                nonce=nonce,
                code_verifier=pkce.verifier,
                redirect_uri=self.redirect_uri,
                expires_at=expires_at,
            )
        )
        return AuthorizationRequest(
            url=str(url),
            state=state,
            nonce=nonce,
            code_verifier=pkce.verifier,
            expires_at=expires_at,
        )

    async def complete(
        self,
        callback: str | httpx.URL | Mapping[str, str],
        *,
        expected_state: str | None = None,
    ) -> TokenSet:
        """Finish a sign-in from the callback: check it, exchange the code, verify the ID token.

        Args:
            callback: The full callback URL the browser arrived at, or its query parameters.
            expected_state: The state kept in this browser's session at ``start``; when
                given, a callback carrying any other state is refused, which stops an
                attacker from completing their own sign-in in the victim's browser.

        Returns:
            The tokens. With the ``openid`` scope, the ID token has been verified.

        Raises:
            InvalidCallbackError: The state is missing, foreign, unknown, reused or expired,
                the ``iss`` is another provider's, or the code is missing (``.check``).
                Checked before ``error=``: an error callback without a state this flow
                issued is one of these, not the error it claims.
            OAuthError: The provider answered with ``error=`` (the matching subclass, e.g.
                ``AccessDeniedError``; its text cut to a few hundred characters), or the
                token request failed (e.g. ``InvalidGrantError`` for a used or expired code).
            InternalServerError: The token endpoint still answered 5xx after the retries
                (``RateLimitError`` for 429; ``APIConnectionError`` when unreachable).
            TokenValidationError: The ID token failed a check (``.check``: ``nonce``,
                ``at_hash``, ``c_hash`` ...), or is missing although ``openid`` was asked
                for.
        """
        params = _callback_params(callback)
        state = params.get("state")

        # RFC 6749 section 10.12: nothing in a callback is believed, error= included,
        # before its state is known to be one this flow issued to this browser.
        if expected_state is not None and (
            state is None or not _same_secret(state, expected_state)
        ):
            raise InvalidCallbackError(
                "state", "the callback's state is not the one this browser session started"
            )
        if not state:
            raise InvalidCallbackError("state", "the callback has no state")
        pending = await self._store.take(state)  # consumed whatever follows: single use
        if pending is None:
            raise InvalidCallbackError(
                "replay", "the callback's state is unknown or was already used"
            )
        if not _same_secret(pending.state, state):  # a custom store returned another entry
            raise InvalidCallbackError("state", "the flow store returned a different sign-in")
        if self._clock.time() >= pending.expires_at:
            raise InvalidCallbackError(
                "expiry", f"the sign-in took longer than {self.state_ttl:.0f}s; start again"
            )

        metadata = await self.metadata()
        iss = params.get("iss")
        if iss is not None and iss != metadata.issuer:
            # RFC 9207 section 2.4: a response from another issuer (mix-up attack).
            raise InvalidCallbackError(
                "issuer",
                f"the callback comes from issuer {shown(iss)}, not {shown(metadata.issuer)}",
            )
        if iss is None and metadata.authorization_response_iss_parameter_supported:
            raise InvalidCallbackError(
                "issuer", "the provider sends iss in callbacks (RFC 9207) and this one has none"
            )

        error = params.get("error")
        if error is not None:
            # RFC 6749 section 4.1.2.1, for the sign-in this state started.
            raise oauth_error_from_fields(
                error, params.get("error_description"), params.get("error_uri")
            )
        code = params.get("code")
        if not code:
            raise InvalidCallbackError("code", "the callback has no code")

        client = await self._client()
        tokens = await request_token(
            metadata.require("token_endpoint"),
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": pending.redirect_uri,
                "code_verifier": pending.code_verifier,
            },
            client_id=self.client_id,
            client_secret=client.client_secret.reveal() if client.client_secret else None,
            auth_method=client.method,
            private_key=client.private_key,
            assertion_audience=client.assertion_audience,
            dpop=self.dpop,
            allow_bearer_downgrade=self._allow_bearer_downgrade,
            http_client=self._http_client,
            clock=self._clock.time,
        )
        if tokens.id_token is None:
            if "openid" in self.scopes:
                # OIDC Core 3.1.3.3: a successful OpenID token response carries an ID token.
                raise TokenValidationError("format", "the token response has no id_token")
            return tokens
        await self.verifier.verify_id_token(
            tokens.id_token,
            audience=self.client_id,
            nonce=pending.nonce,
            access_token=tokens.access_token,
            code=code,
        )
        return tokens
