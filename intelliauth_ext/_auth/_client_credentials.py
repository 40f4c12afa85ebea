"""``ClientCredentials``: the OAuth 2.0 client-credentials grant (RFC 6749 section 4.4) as
an ``httpx.Auth`` that caches its token and refreshes it before expiry.

Refresh timing. A token of lifetime ``L`` is refreshed ``min(refresh_margin, L / 2)``
seconds before it expires, measured on the monotonic clock from the moment this manager
adopted it, so a wall-clock jump (NTP, a suspended laptop's clock catching up) neither
makes a good token look expired nor an expired one look good. Half the lifetime caps the
margin so a 60-second token is not refreshed on every call. How a lifetime is read from a
token response (``expires_in``, ``expires_at``, neither) is in ``_access_token``.

Concurrency. However many requests need a token at once, one token fetch is in flight
(``SingleFlight``, detached): it runs in a task of its own, bounded by ``token_timeout``
(30 s), and every caller waits for it on an ``anyio.Event`` within its own deadline and
gets its token, or its error. A caller that gives up (its timeout, a client that went
away) leaves the fetch running for the others and for the next caller, so a token
endpoint that hangs receives one request per ``token_timeout``, not one per caller.
``aclose()`` cancels a fetch under way. A fetch that fails or times out stores nothing;
the next caller fetches anew.

Failures. The token request is retried as ``_token_endpoint`` says (429, 5xx,
``temporarily_unavailable``, connection errors; ``max_retries`` times, within
``token_timeout``); a 400 or 401 is final at once. Once the retries are over, a 429
raises ``RateLimitError``, a 5xx ``InternalServerError``, any other failure the
``OAuthError`` of its RFC 6749 code (``InvalidClientError`` ...).

DPoP (RFC 9449). Given ``dpop=`` a ``DPoPKey``, the token request carries a proof and
asks for a DPoP-bound token; each API request then carries ``Authorization: DPoP
<token>`` and a ``DPoP`` proof with ``ath`` (section 7.1). A resource server's 401 with
``WWW-Authenticate: DPoP error="use_dpop_nonce"`` and a ``DPoP-Nonce`` is answered by
sending the request once more with a proof carrying the nonce (section 9); the token is
not thrown away for it. A Bearer token issued instead is refused (``OAuthError``
``unsupported_token_type``) unless ``allow_bearer_downgrade=True``.

401 handling (RFC 6750 section 3.1). When the API answers 401, the token that was sent is
invalidated only if it is still the current one (a late 401 for an older token must not
throw away the token that replaced it), a token is obtained, and the request is replayed
once. A second 401 is returned as is: the runtime client raises ``AuthenticationError``.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import AsyncGenerator, Generator, Iterable, Mapping
from types import TracebackType
from typing import Final

import attrs
import httpx

from intelliauth_ext._auth._access_token import AccessToken, access_token_from_response
from intelliauth_ext._auth._cache import CacheKey, TokenCache
from intelliauth_ext._auth._client_auth import ClientAuth, ClientAuthMethodName
from intelliauth_ext._auth._memory_cache import InMemoryTokenCache
from intelliauth_ext._auth._token_endpoint import (
    DEFAULT_TOKEN_RETRIES,
    TokenEndpointClient,
    token_error,
    validate_token_url,
)
from intelliauth_ext._clock import Clock, SystemClock
from intelliauth_ext._dpop import DPoPKey, is_nonce_challenge
from intelliauth_ext._scopes import normalise_scopes
from intelliauth_ext._secret import Secret
from intelliauth_ext._signing_key import PrivateKeyInput
from intelliauth_ext._single_flight import SingleFlight

__all__ = ["ClientCredentials"]

logger: Final = logging.getLogger("intelliauth")

#: Parameters the manager sets itself; ``extra_params`` may not override them.
_RESERVED_PARAMS: Final = frozenset(
    {
        "grant_type",
        "client_id",
        "client_secret",
        "client_assertion",
        "client_assertion_type",
        "scope",
        "audience",
    }
)


@attrs.frozen
class _Held:
    """The token in use, with its refresh deadline on this process's monotonic clock."""

    token: AccessToken
    refresh_at: float


def replayable(request: httpx.Request) -> bool:
    """Whether ``request``'s body can be sent again (bytes, form or JSON, not a stream)."""
    return isinstance(request.stream, httpx.ByteStream)


class ClientCredentials(httpx.Auth):
    """Client-credentials tokens for any ``httpx.AsyncClient``, cached and refreshed.

    Args:
        token_url: The token endpoint (``https://``; ``http://`` on loopback only).
        client_id: The client id.
        client_secret: The client secret; never logged nor shown by ``repr``. None with
            ``private_key``.
        audience: The ``audience`` parameter (Auth0-style APIs), if any.
        scopes: Scopes to request (a string or an iterable); sent sorted and without
            repeats (``normalise_scopes``).
        auth_method: How the client authenticates: ``client_secret_post`` (form fields,
            the default with a secret), ``client_secret_basic`` (HTTP Basic),
            ``client_secret_json`` (a JSON body), ``client_secret_jwt`` (an HS256
            assertion) or ``private_key_jwt`` (the default with a ``private_key``).
        private_key: The client's private key for ``private_key_jwt`` (RFC 7523): a PEM, a
            JWK (dict or JSON) or a ``SigningKey``; never logged nor shown by ``repr``.
        key_id: The ``kid`` header of the client's assertions (the key's id at the
            provider).
        assertion_audience: The ``aud`` of the client's assertions; ``token_url`` by
            default (FAPI 2.0 providers may want their issuer).
        dpop: A ``DPoPKey``: ask for DPoP-bound tokens and send them with proofs.
        allow_bearer_downgrade: With ``dpop``, accept a Bearer token from a provider
            that does not bind tokens (refused by default).
        extra_params: More token-request parameters (``resource``, say).
        refresh_margin: Refresh this many seconds before expiry (at most half the lifetime).
        default_lifetime: The lifetime assumed when a token response gives none.
        cache: Where tokens are shared (``InMemoryTokenCache`` of its own by default;
            ``RedisTokenCache`` for a fleet).
        http_client: Send token requests on this client (never closed here) instead of
            one of the manager's own.
        clock: The time source (tests pass a fake one).
        max_retries: Retries of a token request that failed transiently (2 by default;
            ``IntelliAuth`` passes its own ``max_retries``).
        token_timeout: Longest a token fetch may take in all, retries included; it goes
            on for that long even when the caller that started it gives up.

    Raises:
        InsecureURLError: ``token_url`` is plain ``http://`` to a host that is not loopback.
        ValueError: An empty id, no secret nor key, a key or secret the ``auth_method``
            does not use, an unknown ``auth_method``, an ``extra_params``
            key the manager sets itself, a negative margin, lifetime or ``max_retries``,
            or a ``token_timeout`` that is not positive.
    """

    def __init__(
        self,
        token_url: str | httpx.URL,
        client_id: str,
        client_secret: str | None = None,
        *,
        audience: str | None = None,
        scopes: Iterable[str] | str = (),
        auth_method: ClientAuthMethodName | None = None,
        private_key: PrivateKeyInput | None = None,
        key_id: str | None = None,
        assertion_audience: str | None = None,
        dpop: DPoPKey | None = None,
        allow_bearer_downgrade: bool = False,
        extra_params: Mapping[str, str] | None = None,
        refresh_margin: float = 60.0,
        default_lifetime: float = 3600.0,
        cache: TokenCache | None = None,
        http_client: httpx.AsyncClient | None = None,
        clock: Clock | None = None,
        max_retries: int = DEFAULT_TOKEN_RETRIES,
        token_timeout: float = 30.0,
    ) -> None:
        if not client_id:
            raise ValueError("client_id must not be empty")
        if not client_secret and private_key is None:
            raise ValueError("client_secret must not be empty (or pass private_key=)")
        if auth_method == "none":
            raise ValueError("the client-credentials grant needs client authentication")
        if dpop is not None and not isinstance(dpop, DPoPKey):
            raise TypeError(f"dpop must be a DPoPKey, not {type(dpop).__name__}")
        client = ClientAuth.create(
            client_id=client_id,
            client_secret=client_secret,
            private_key=private_key,
            key_id=key_id,
            auth_method=auth_method,
            assertion_audience=assertion_audience,
        )
        extra = dict(extra_params or {})
        reserved = sorted(_RESERVED_PARAMS.intersection(extra))
        if reserved:
            raise ValueError(f"extra_params may not set {', '.join(reserved)}; use the arguments")
        if refresh_margin < 0:
            raise ValueError(f"refresh_margin must be >= 0, got {refresh_margin}")
        if default_lifetime <= 0:
            raise ValueError(f"default_lifetime must be > 0, got {default_lifetime}")
        if not token_timeout > 0:
            raise ValueError(f"token_timeout must be > 0, got {token_timeout}")

        self._token_url = validate_token_url(token_url)
        self._client_id = client_id
        self._client = client  # its Secret / SigningKey: vars() and repr show neither
        self._dpop = dpop
        self._allow_bearer_downgrade = allow_bearer_downgrade
        self._audience = audience
        self._scopes = normalise_scopes(scopes)
        self._auth_method = client.method
        self._extra_params = extra
        self._refresh_margin = float(refresh_margin)
        self._default_lifetime = float(default_lifetime)
        self._cache: TokenCache = cache if cache is not None else InMemoryTokenCache()
        self._endpoint = TokenEndpointClient(http_client, max_retries=max_retries)
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._key = CacheKey.for_client(
            token_url=str(self._token_url),
            client_id=client_id,
            client_secret=client_secret,
            private_key=client.private_key,
            audience=audience,
            scopes=self._scopes,
            extra_params=extra,
            dpop_jkt=dpop.jkt if dpop is not None else None,
        )
        self._held: _Held | None = None
        self._rejected: Secret | None = None  # the access token the API refused
        self._flight: SingleFlight[AccessToken] = SingleFlight(
            detached=True, timeout=token_timeout, what="the token request"
        )

    # -- public API ------------------------------------------------------------------

    @property
    def token_url(self) -> str:
        """The token endpoint."""
        return str(self._token_url)

    @property
    def client_id(self) -> str:
        """The client id."""
        return self._client_id

    @property
    def audience(self) -> str | None:
        """The requested audience."""
        return self._audience

    @property
    def scopes(self) -> tuple[str, ...]:
        """The requested scopes."""
        return self._scopes

    @property
    def dpop(self) -> DPoPKey | None:
        """The DPoP key tokens are bound to, or None."""
        return self._dpop

    @property
    def cache_key(self) -> CacheKey:
        """The key this manager's token has in its cache."""
        return self._key

    @property
    def token_requests(self) -> int:
        """How many token requests this manager has sent, retries included (for metrics)."""
        return self._endpoint.requests_sent

    async def get_token(self) -> AccessToken:
        """The current access token, fetched or refreshed first when due.

        Returns:
            A token that is not yet within its refresh margin.

        Raises:
            OAuthError: The token endpoint refused (``InvalidClientError`` for a wrong
                secret, ...) or answered with something that is not a usable token.
            InternalServerError: It still answered 5xx after the retries.
            RateLimitError: It still answered 429 after the retries.
            httpx.TransportError: It could not be reached, after the retries.
            TimeoutError: The fetch took longer than ``token_timeout``.
            RuntimeError: ``aclose()`` was called while the fetch was under way.
        """
        held = self._held
        if held is not None and self._clock.monotonic() < held.refresh_at:
            return held.token
        return await self._flight.run(self._obtain)

    def invalidate(self) -> None:
        """Forget the current token: the next call fetches a new one.

        The token is also refused if a shared cache still offers it (it is replaced there
        by the next fetch).
        """
        held, self._held = self._held, None
        if held is not None:
            self._rejected = Secret(held.token.access_token)

    async def aclose(self) -> None:
        """Cancel a token fetch under way, then close the manager's own HTTP client.

        Idempotent. A client given as ``http_client`` stays open.
        """
        await self._flight.aclose()
        await self._endpoint.aclose()

    async def __aenter__(self) -> ClientCredentials:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -- httpx.Auth ------------------------------------------------------------------

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        """Not supported: the token manager is async (it waits on anyio primitives)."""
        raise RuntimeError(
            "ClientCredentials works with httpx.AsyncClient only; for a synchronous "
            "httpx.Client fetch a token yourself and use StaticToken"
        )

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        """Send ``request`` with the token; on a 401 get a new token and replay it once.

        A DPoP-bound token goes with a proof; a resource server's ``use_dpop_nonce``
        challenge is answered once with a proof carrying its nonce.
        """
        token = await self.get_token()
        response = yield self._authorize(request, token)
        if self._dpop is not None:
            self._dpop.learn_nonce(response)
            if token.is_dpop and is_nonce_challenge(response) and replayable(request):
                response = yield self._authorize(request, token)
                self._dpop.learn_nonce(response)
        if response.status_code != 401 or not replayable(request):
            return
        token = await self._after_rejection(token)
        yield self._authorize(request, token)

    # -- internals -------------------------------------------------------------------

    def _authorize(self, request: httpx.Request, token: AccessToken) -> httpx.Request:
        """``request`` with ``token``'s ``Authorization`` (and a fresh DPoP proof)."""
        request.headers["Authorization"] = token.authorization
        if token.is_dpop and self._dpop is not None:
            self._dpop.sign_request(request, access_token=token.access_token)
        else:
            request.headers.pop("DPoP", None)
        return request

    async def _after_rejection(self, failed: AccessToken) -> AccessToken:
        """A token to replay with, after the API rejected ``failed`` with a 401."""
        held = self._held
        if held is not None and hmac.compare_digest(
            held.token.access_token.encode(), failed.access_token.encode()
        ):
            self.invalidate()
            await self._cache.discard(self._key, failed)
        # else: a newer token is held already, or a refresh is under way: use that one.
        return await self.get_token()

    def _usable(self, token: AccessToken) -> bool:
        if self._rejected is not None and self._rejected == Secret(token.access_token):
            return False
        return token.is_fresh(refresh_margin=self._refresh_margin, now=self._clock.time())

    async def _obtain(self) -> AccessToken:
        """Run by the single flight's leader: the cache's token or a new one, then held."""
        held = self._held
        if held is not None and self._clock.monotonic() < held.refresh_at:
            return held.token
        # The held token is due by our monotonic clock; a shared cache judges tokens by the
        # wall clock, which may have jumped back: never let it hand that token back to us.
        due = held.token.access_token if held is not None else None

        def usable(token: AccessToken) -> bool:
            return token.access_token != due and self._usable(token)

        token = await self._cache.get_or_fetch(self._key, self._fetch, usable)
        # No await from here on: the held token changes all at once or not at all.
        remaining = token.expires_at - self._clock.time()
        refresh_in = remaining - token.refresh_margin(self._refresh_margin)
        self._held = _Held(token=token, refresh_at=self._clock.monotonic() + refresh_in)
        self._rejected = None
        return token

    async def _fetch(self) -> AccessToken:
        """One token request (RFC 6749 section 4.4.2), its response checked."""
        params: dict[str, str] = {"grant_type": "client_credentials"}
        if self._scopes:
            params["scope"] = " ".join(self._scopes)
        if self._audience is not None:
            params["audience"] = self._audience
        params.update(self._extra_params)
        response = await self._endpoint.post(
            self._token_url, params, client=self._client, dpop=self._dpop
        )
        if not response.is_success:
            raise token_error(response)
        token = access_token_from_response(
            response,
            clock=self._clock,
            default_lifetime=self._default_lifetime,
            dpop=self._dpop is not None,
            allow_bearer_downgrade=self._allow_bearer_downgrade,
        )
        logger.debug(
            "new client-credentials token for client %s: lifetime %.0f s%s",
            self._client_id,
            token.lifetime,
            "" if token.lifetime_from_server else " (assumed: the response gave none)",
        )
        return token

    def _credential_repr(self) -> str:
        if self._client.private_key is not None:
            return f"private_key={self._client.private_key!r}"
        return "client_secret='[REDACTED]'"

    def __repr__(self) -> str:
        return (
            f"ClientCredentials(token_url={self.token_url!r}, client_id={self._client_id!r}, "
            f"{self._credential_repr()}, audience={self._audience!r}, "
            f"scopes={self._scopes!r}, auth_method={self._auth_method!r}"
            + (f", dpop={self._dpop!r})" if self._dpop is not None else ")")
        )
