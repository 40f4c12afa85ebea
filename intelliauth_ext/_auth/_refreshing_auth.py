"""``RefreshingAuth``: keeps a user's ``TokenSet`` fresh with its refresh token (RFC 6749
section 6), as an ``httpx.Auth``.

Refresh timing is that of ``ClientCredentials``: ``min(refresh_margin, lifetime / 2)``
seconds before expiry, on the monotonic clock from when the token set was adopted (its
``expires_at`` is wall-clock Unix time because a token set outlives the process).

Rotation. Many servers issue a new refresh token with each refresh and revoke the old
one. The new one is kept (the old one only when the response has none, RFC 6749 section
6) and handed to ``on_token_update`` so the application can persist it. Two rules make
sure a rotated refresh token is never lost:

* one refresh at a time (``SingleFlight``): two concurrent refreshes with the same
  refresh token would make a rotating server revoke the whole family;
* the refresh exchange (and the hook) runs in a task of its own, bounded by
  ``refresh_timeout``, that the caller's cancellation does not reach (a detached
  ``SingleFlight``): a response cut off after the server rotated would leave us with a
  revoked refresh token and nothing to replace it. Callers wait for it within their own
  deadlines; ``aclose()`` cancels it.

``on_token_update`` errors are not swallowed: the call that triggered the refresh raises
it; the new tokens are in use regardless and the hook is called again with them on the
next call, until it succeeds.

Sharing. With ``store=`` and ``store_key=`` (a ``TokenSetStore``) the session's tokens live
in the store: they are loaded on first use, and every refresh goes through
``store.refresh``, which lets one holder of the key spend the refresh token and hands the
others what it stored. Every process (or run of a tool) that serves the session then
refreshes it once per expiry, however many of them see it expire. The store is the source
of truth: a ``token_set`` given as well only fills an empty key, and ``update`` writes to
the store on the next call.

A refresh token that is rejected raises ``InvalidGrantError``: the user must sign in
again. Every later call raises it too, at once, until ``update`` is given a new token set.
Rejected means ``invalid_grant`` (revoked, expired, reused), and also a 400 or 401 whose
body is not an RFC 6749 error at all (empty, HTML, another JSON shape): real servers
answer a dead refresh token that way, and the only way on is to sign in again. A 401 with
an RFC 6749 body keeps its code (``invalid_client``: the client's credentials are wrong,
not the session).

DPoP (RFC 9449). A token set whose ``token_type`` is ``DPoP`` needs ``dpop=``, the key it
is bound to: API requests carry ``Authorization: DPoP <token>`` and a proof with ``ath``,
a resource server's ``use_dpop_nonce`` 401 is answered once with its nonce, and each
refresh request carries a proof by the same key (a refresh token issued to a public
client is bound to it, section 5). A refresh answered with a Bearer token is refused
unless ``allow_bearer_downgrade=True``.

Transient failures (429, 5xx, ``temporarily_unavailable``, connection errors) are retried
as ``_token_endpoint`` says, ``max_retries`` times within ``refresh_timeout``; after that
a 5xx raises ``InternalServerError`` and a 429 ``RateLimitError``, and the session is kept:
the next call refreshes again.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Generator
from typing import Final

import anyio
import attrs
import httpx

from intelliauth_ext._auth._access_token import checked_token_set
from intelliauth_ext._auth._client_auth import ClientAuth, ClientAuthMethodName
from intelliauth_ext._auth._client_credentials import replayable
from intelliauth_ext._auth._token_endpoint import (
    DEFAULT_TOKEN_RETRIES,
    TokenEndpointClient,
    oauth_error_code,
    token_error,
    validate_token_url,
)
from intelliauth_ext._clock import Clock, SystemClock
from intelliauth_ext._dpop import DPoPKey, is_nonce_challenge
from intelliauth_ext._errors import APIStatusError, InvalidGrantError, OAuthError
from intelliauth_ext._signing_key import PrivateKeyInput
from intelliauth_ext._single_flight import SingleFlight
from intelliauth_ext._token_set import TokenSet
from intelliauth_ext._token_set_store import TokenSetStore, same_tokens

__all__ = ["RefreshingAuth", "TokenUpdateHook"]

logger: Final = logging.getLogger("intelliauth")

TokenUpdateHook = Callable[[TokenSet], Awaitable[None]]

#: Longest wait between two failed background refreshes.
_MAX_BACKGROUND_BACKOFF: Final = 60.0


@attrs.frozen
class _Held:
    token_set: TokenSet
    refresh_at: float  # on the monotonic clock


class RefreshingAuth(httpx.Auth):
    """An ``httpx.Auth`` that refreshes a user's tokens before they expire.

    Args:
        token_set: The tokens from sign-in (``AuthorizationCodeFlow.complete``, or a
            ``TokenSet.from_dict`` of what you persisted); it must hold a refresh token.
            None with a ``store``: they are loaded from it on first use.
        token_url: The token endpoint.
        client_id: The client id.
        client_secret: The client secret of a confidential client; None for a public one.
        auth_method: Client authentication (default ``client_secret_post``,
            ``private_key_jwt`` with a ``private_key``, or ``none`` without either); see
            ``CLIENT_AUTH_METHODS``.
        private_key: The client's ``private_key_jwt`` key (a PEM, a JWK or a
            ``SigningKey``); never logged nor shown by ``repr``.
        key_id: The ``kid`` header of the client's assertions.
        assertion_audience: The ``aud`` of the client's assertions; ``token_url`` by
            default.
        dpop: The ``DPoPKey`` the tokens are bound to (needed for a ``DPoP`` token set).
        allow_bearer_downgrade: With ``dpop``, accept a Bearer token from a refresh.
        on_token_update: Awaited with each new token set (persist the rotated refresh
            token here).
        refresh_margin: Refresh this many seconds before expiry (at most half the lifetime).
        default_lifetime: The lifetime assumed when a token set has no ``expires_at``.
        refresh_timeout: Longest a refresh exchange (its retries and the hook included)
            may take; it goes on for that long even when its caller gives up.
        http_client: Send refresh requests on this client instead of one of its own.
        clock: The time source (tests pass a fake one).
        max_retries: Retries of a refresh request that failed transiently (2 by default).
        store: Keep the tokens in this ``TokenSetStore`` and refresh through it, so that
            every process serving the session refreshes it once per expiry.
        store_key: The session's key in ``store`` (a session id, a profile name).

    Raises:
        ValueError: A token set without a refresh token, neither a token set nor a store,
            a store without a key, an unknown ``auth_method``, a secret method without a
            secret (or ``private_key_jwt`` without a key), a ``DPoP`` token set without
            ``dpop``, or a negative margin, lifetime or ``max_retries``.
        InsecureURLError: ``token_url`` is plain ``http://`` to a host that is not loopback.
    """

    def __init__(
        self,
        token_set: TokenSet | None = None,
        *,
        token_url: str | httpx.URL,
        client_id: str,
        client_secret: str | None = None,
        auth_method: ClientAuthMethodName | None = None,
        private_key: PrivateKeyInput | None = None,
        key_id: str | None = None,
        assertion_audience: str | None = None,
        dpop: DPoPKey | None = None,
        allow_bearer_downgrade: bool = False,
        on_token_update: TokenUpdateHook | None = None,
        refresh_margin: float = 60.0,
        default_lifetime: float = 3600.0,
        refresh_timeout: float = 30.0,
        http_client: httpx.AsyncClient | None = None,
        clock: Clock | None = None,
        max_retries: int = DEFAULT_TOKEN_RETRIES,
        store: TokenSetStore | None = None,
        store_key: str | None = None,
    ) -> None:
        if store is None and token_set is None:
            raise ValueError("RefreshingAuth needs a token_set, or a store to load it from")
        if (store is None) != (store_key is None) or store_key == "":
            raise ValueError("store and store_key go together (store_key not empty)")
        client = ClientAuth.create(
            client_id=client_id,
            client_secret=client_secret,
            private_key=private_key,
            key_id=key_id,
            auth_method=auth_method,
            assertion_audience=assertion_audience,
        )
        if dpop is not None and not isinstance(dpop, DPoPKey):
            raise TypeError(f"dpop must be a DPoPKey, not {type(dpop).__name__}")
        if dpop is None and token_set is not None and _is_dpop_bound(token_set):
            raise ValueError("a DPoP-bound token set needs dpop=, the DPoPKey it is bound to")
        if refresh_margin < 0 or default_lifetime <= 0 or refresh_timeout <= 0:
            raise ValueError(
                "need refresh_margin >= 0, default_lifetime > 0 and refresh_timeout > 0"
            )
        self._token_url = validate_token_url(token_url)
        self._client_id = client_id
        self._client = client  # its Secret / SigningKey: vars() and repr show neither
        self._auth_method = client.method
        self._dpop = dpop
        self._allow_bearer_downgrade = allow_bearer_downgrade
        self._on_token_update = on_token_update
        self._refresh_margin = float(refresh_margin)
        self._default_lifetime = float(default_lifetime)
        self._refresh_timeout = float(refresh_timeout)
        self._endpoint = TokenEndpointClient(http_client, max_retries=max_retries)
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._flight: SingleFlight[TokenSet] = SingleFlight(
            detached=True, timeout=self._refresh_timeout, what="the token refresh"
        )
        self._revoked = False
        self._unsaved: TokenSet | None = None
        self._store = store
        self._store_key = store_key or ""
        # With a store: a token set to write to it before anything else (a seed for an
        # empty key, or what ``update`` was given); None once written.
        self._unstored: TokenSet | None = None
        self._held: _Held | None = None
        self._issued: TokenSet | None = None  # what this object's last refresh request got
        if token_set is not None:
            _require_refresh_token(token_set)
            if store is None:
                self._held = self._adopt(token_set)
            else:
                self._unstored = token_set

    # -- public API ------------------------------------------------------------------

    @property
    def token_set(self) -> TokenSet:
        """The current token set (not refreshed by reading it).

        Raises:
            RuntimeError: A store's token set has not been loaded yet (``await
                get_token_set()`` loads it).
        """
        if self._held is None:
            if self._unstored is not None:
                return self._unstored
            raise RuntimeError("the token set is not loaded yet; await get_token_set() first")
        return self._held.token_set

    @property
    def refreshes(self) -> int:
        """How many refresh requests have been sent, retries included (for metrics)."""
        return self._endpoint.requests_sent

    async def get_token_set(self) -> TokenSet:
        """The current token set, refreshed first when it is due.

        Raises:
            InvalidGrantError: The refresh token was rejected (``invalid_grant``, or a 400
                or 401 without an RFC 6749 body); the user must sign in again.
            OAuthError: The token endpoint refused otherwise, or sent an unusable answer.
            InternalServerError: It still answered 5xx after the retries.
            RateLimitError: It still answered 429 after the retries.
            httpx.TransportError: It could not be reached, after the retries.
            TimeoutError: The refresh took longer than ``refresh_timeout``.
            RuntimeError: ``aclose()`` was called while the refresh was under way.
        """
        if self._revoked:
            raise _sign_in_again()
        held = self._held
        if (
            held is not None
            and self._unsaved is None
            and self._unstored is None
            and self._clock.monotonic() < held.refresh_at
        ):
            return held.token_set
        return await self._flight.run(self._obtain)

    async def refresh(self) -> TokenSet:
        """Refresh now, whether due or not (joining a refresh already under way)."""
        if self._revoked:
            raise _sign_in_again()
        if self._held is None:  # a store's tokens, not loaded yet: load, then refresh
            await self._flight.run(self._obtain)
        if not self._flight.in_flight and self._held is not None:
            self._held = attrs.evolve(self._held, refresh_at=float("-inf"))
        return await self._flight.run(self._obtain)

    def update(self, token_set: TokenSet) -> None:
        """Replace the tokens (after the user signed in again); a store gets them on next use."""
        self._held = self._adopt(_require_refresh_token(token_set))
        self._revoked = False
        self._unsaved = None
        if self._store is not None:
            self._unstored = token_set

    @contextlib.asynccontextmanager
    async def background_refresh(self) -> AsyncIterator[RefreshingAuth]:
        """Refresh in a background task while the block runs (for long-lived sessions).

        The task wakes when the token is due and refreshes it, so requests never wait for
        a refresh. Failures are logged and retried with a doubling wait (up to a minute);
        a rejected refresh token (``invalid_grant``) ends the task and the next request
        raises ``InvalidGrantError``. Leaving the block cancels the task.
        """
        async with anyio.create_task_group() as task_group:
            task_group.start_soon(self._refresh_in_background)
            try:
                yield self
            finally:
                task_group.cancel_scope.cancel()

    async def aclose(self) -> None:
        """Cancel a refresh under way, then close the HTTP client made for refreshes.

        Idempotent. A client given as ``http_client`` stays open.
        """
        await self._flight.aclose()
        await self._endpoint.aclose()

    # -- httpx.Auth ------------------------------------------------------------------

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        """Not supported: refreshing is async (it waits on anyio primitives)."""
        raise RuntimeError("RefreshingAuth works with httpx.AsyncClient only")

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        """Send ``request`` with the access token; on a 401 refresh and replay it once.

        A DPoP-bound token goes with a proof; a resource server's ``use_dpop_nonce``
        challenge is answered once with a proof carrying its nonce.
        """
        token_set = await self.get_token_set()
        response = yield self._authorize(request, token_set)
        if self._dpop is not None:
            self._dpop.learn_nonce(response)
            if is_nonce_challenge(response) and replayable(request):
                response = yield self._authorize(request, token_set)
                self._dpop.learn_nonce(response)
        if response.status_code != 401 or not replayable(request):
            return
        if self.token_set.access_token == token_set.access_token:
            token_set = await self.refresh()
        else:  # a newer token is held already: the 401 was for an older one
            token_set = await self.get_token_set()
        yield self._authorize(request, token_set)

    # -- internals -------------------------------------------------------------------

    def _authorize(self, request: httpx.Request, token_set: TokenSet) -> httpx.Request:
        """``request`` with ``token_set``'s access token (and a fresh DPoP proof)."""
        if self._dpop is not None and _is_dpop_bound(token_set):
            self._dpop.sign_request(request, access_token=token_set.access_token)
        else:
            request.headers["Authorization"] = f"Bearer {token_set.access_token}"
            request.headers.pop("DPoP", None)
        return request

    def _adopt(self, token_set: TokenSet, *, just_issued: bool = False) -> _Held:
        """Hold ``token_set``, its refresh deadline moved onto the monotonic clock.

        A stored token set may well be expired already (refreshed on first use); one just
        issued with no positive lifetime (``expires_in: 0``, or clocks that disagree) gets
        ``default_lifetime`` instead, or every call would refresh again.
        """
        if token_set.expires_at is None:
            lifetime = self._default_lifetime
        else:
            lifetime = token_set.expires_at - self._clock.time()
            if just_issued and lifetime <= 0:
                lifetime = self._default_lifetime
        margin = max(0.0, min(self._refresh_margin, lifetime / 2))
        return _Held(token_set=token_set, refresh_at=self._clock.monotonic() + lifetime - margin)

    async def _obtain(self) -> TokenSet:
        """Run by the detached flight: load or store, refresh when due, run a pending hook."""
        if self._revoked:
            raise _sign_in_again()
        if self._store is not None:
            await self._sync_store(self._store)
        held = self._held
        assert held is not None  # adopted above, or at construction without a store
        if self._clock.monotonic() >= held.refresh_at:
            await self._exchange(held.token_set)
        unsaved = self._unsaved
        if unsaved is not None and self._on_token_update is not None:
            await self._on_token_update(unsaved)
        self._unsaved = None
        assert self._held is not None
        return self._held.token_set

    async def _sync_store(self, store: TokenSetStore) -> None:
        """Write a pending token set to the store, or load the store's on first use."""
        unstored = self._unstored
        if unstored is not None and self._held is not None:  # ``update`` was called
            await store.save(self._store_key, unstored)
        elif self._held is None:
            stored = await store.load(self._store_key)
            if stored is None and unstored is None:
                raise InvalidGrantError(
                    "invalid_grant",
                    "no token set is stored for this session; the user must sign in",
                )
            if stored is None:
                assert unstored is not None
                await store.save(self._store_key, unstored)
                stored = unstored
            self._held = self._adopt(_require_refresh_token(stored))
        self._unstored = None

    async def _exchange(self, current: TokenSet) -> None:
        """Refresh ``current``, through the store when there is one; hold the result."""
        if self._store is None:
            fresh = await self._refresh_once(current)
        else:
            fresh = await self._store.refresh(self._store_key, current, self._refresh_once)
        if self._issued is not None and same_tokens(fresh, self._issued):
            self._held = self._adopt(fresh, just_issued=True)
            self._unsaved = fresh
        else:  # another holder refreshed: adopt what it stored (its hook ran there)
            self._held = self._adopt(_require_refresh_token(fresh))
        self._issued = None

    async def _refresh_once(self, current: TokenSet) -> TokenSet:
        """One refresh request with ``current``'s refresh token; the new token set."""
        assert current.refresh_token is not None  # checked on adoption
        response = await self._endpoint.post(
            self._token_url,
            {"grant_type": "refresh_token", "refresh_token": current.refresh_token},
            client=self._client,
            dpop=self._dpop,
        )
        try:
            if not response.is_success:
                raise _refresh_error(response)
            issued = checked_token_set(
                response,
                now=self._clock.time(),
                dpop=self._dpop is not None,
                allow_bearer_downgrade=self._allow_bearer_downgrade,
            )
        except InvalidGrantError:
            self._revoked = True
            raise
        # RFC 6749 section 6: without a new refresh token the old one stays valid.
        refreshed = attrs.evolve(
            issued,
            refresh_token=issued.refresh_token or current.refresh_token,
            id_token=issued.id_token or current.id_token,
            scope=issued.scope or current.scope,
        )
        self._issued = refreshed
        return refreshed

    async def _refresh_in_background(self) -> None:
        failures = 0
        while True:
            held = self._held
            if failures:
                wait = min(2.0**failures, _MAX_BACKGROUND_BACKOFF)
            elif held is None:
                wait = 0.0  # a store's tokens: load them now
            else:
                wait = max(0.0, held.refresh_at - self._clock.monotonic())
            await self._clock.sleep(wait)
            try:
                await self.get_token_set()
            except InvalidGrantError:
                logger.warning("background refresh stopped: the refresh token was rejected")
                return
            except Exception as exc:
                failures += 1
                logger.warning(
                    "background refresh failed (%s); retrying in %.0f s",
                    type(exc).__name__,
                    min(2.0**failures, _MAX_BACKGROUND_BACKOFF),
                )
            else:
                failures = 0

    def _shown_token_set(self) -> str:
        if self._held is not None:
            return repr(self._held.token_set)
        return repr(self._unstored) if self._unstored is not None else "<in the store>"

    def __repr__(self) -> str:
        return (
            f"RefreshingAuth(token_url={str(self._token_url)!r}, client_id={self._client_id!r}, "
            f"auth_method={self._auth_method!r}, token_set={self._shown_token_set()}"
            + (f", dpop={self._dpop!r})" if self._dpop is not None else ")")
        )


def _is_dpop_bound(token_set: TokenSet) -> bool:
    return token_set.token_type.strip().lower() == "dpop"


def _require_refresh_token(token_set: TokenSet) -> TokenSet:
    if not token_set.refresh_token:
        raise ValueError(
            "the token set has no refresh token (ask for offline_access?); "
            "RefreshingAuth needs one to refresh"
        )
    return token_set


def _refresh_error(response: httpx.Response) -> APIStatusError | OAuthError:
    """The exception for a failed refresh answer (after its retries).

    A 400 or 401 without an RFC 6749 error body is how some servers say the refresh token
    is dead: ``InvalidGrantError``, so that the caller's "sign in again" branch runs.
    Everything else is ``token_error``'s (a 401 ``invalid_client`` stays one).
    """
    if response.status_code in (400, 401) and oauth_error_code(response) is None:
        return InvalidGrantError(
            "invalid_grant",
            f"the token endpoint refused the refresh token with HTTP {response.status_code} "
            "and no RFC 6749 error body; the user must sign in again",
            status_code=response.status_code,
            response=response,
        )
    return token_error(response)


def _sign_in_again() -> InvalidGrantError:
    return InvalidGrantError(
        "invalid_grant", "the refresh token was rejected earlier; the user must sign in again"
    )
