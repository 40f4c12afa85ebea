"""Sign-in for native apps (RFC 8252): the system browser and a loopback redirect.

``AuthorizationCodeFlow.sign_in_with_browser`` runs ``sign_in_with_browser`` here:

1. listen on the loopback address of the registered redirect URI, on ``port`` (0: one the
   system picks), and send the registered URI with that port (RFC 8252 section 7.3);
2. start the sign-in (state, nonce, PKCE: ``AuthorizationCodeFlow.start``) with that URI;
3. open the authorization URL: ``webbrowser.open`` in a worker thread (it may block while
   it starts a browser; when it finds none, the URL is printed on stderr), or the app's
   ``open_browser`` callable (a notebook prints the URL; an awaitable it returns runs
   beside the listener);
4. wait, at most ``timeout`` seconds, for the callback with this sign-in's state; every
   other request gets a short page and changes nothing (``_loopback_server``);
5. stop listening, complete the sign-in (the code exchange and the ID token checks), and
   only then answer the browser, with the success page or a failure page;
6. return the ``TokenSet``, or raise what failed.

The listener is closed on every way out (timeout, error, cancellation), so no port stays
open. A browser that was closed sends nothing: that is ``SignInTimeoutError`` too, as is
no browser at all.
"""

from __future__ import annotations

import copy
import inspect
import math
import sys
import webbrowser
from collections.abc import Callable
from typing import Final, Protocol

import anyio
import anyio.to_thread
import attrs

from intelliauth_ext._errors import OAuthError, SignInTimeoutError
from intelliauth_ext._loopback_server import (
    CallbackListener,
    CallbackRequest,
    LoopbackRedirect,
    page,
)
from intelliauth_ext._token_set import TokenSet

__all__ = ["DEFAULT_SIGN_IN_TIMEOUT", "BrowserSignInFlow", "OpenBrowser", "sign_in_with_browser"]

#: Seconds a browser sign-in may take before ``SignInTimeoutError``.
DEFAULT_SIGN_IN_TIMEOUT: Final = 300.0

#: Opens the authorization URL: returns nothing, a bool (False: it could not), or an
#: awaitable that runs while the sign-in waits.
OpenBrowser = Callable[[str], object]

#: Seconds an opener still running after the browser was answered may take to finish.
_OPENER_GRACE: Final = 5.0


class _StartedSignIn(Protocol):
    @property
    def url(self) -> str: ...

    @property
    def state(self) -> str: ...


class BrowserSignInFlow(Protocol):
    """What a browser sign-in needs of its flow (``AuthorizationCodeFlow`` has it)."""

    redirect_uri: str

    async def start(self, **extra_params: str) -> _StartedSignIn:
        """Begin a sign-in with ``redirect_uri``."""
        ...

    async def complete(self, callback: str, *, expected_state: str | None = None) -> TokenSet:
        """Finish it from the callback URL."""
        ...

    async def metadata(self) -> object:
        """Fetch (once) the provider's metadata."""
        ...


_SUCCESS_PAGE: Final = page(
    "Signed in", "You are signed in. You can close this window and go back to the application."
)

_INTERRUPTED_PAGE: Final = page(
    "Sign-in interrupted", "The application stopped before the sign-in completed."
)


def _failure_page(exc: BaseException) -> bytes:
    reason = exc.error if isinstance(exc, OAuthError) else type(exc).__name__
    return page(
        "Sign-in failed",
        f"The sign-in did not complete ({reason}). You can close this window; "
        "the application says more.",
    )


def _open_with_system_browser(url: str) -> None:
    """``webbrowser.open``, or the URL on stderr when there is no browser to open."""
    if not webbrowser.open(url):
        print(f"Open this URL in a browser to sign in: {url}", file=sys.stderr, flush=True)


@attrs.define
class _Opener:
    """Opens the URL in a task of its own; what it raised, and whether it is done."""

    open_browser: OpenBrowser | None
    done: anyio.Event = attrs.field(factory=anyio.Event)
    failure: Exception | None = None

    async def run(self, url: str, waiting: anyio.CancelScope) -> None:
        try:
            if self.open_browser is None:
                # Abandoned when the sign-in ends: a text-mode browser (lynx) may not return.
                await anyio.to_thread.run_sync(
                    _open_with_system_browser, url, abandon_on_cancel=True
                )
            else:
                result = self.open_browser(url)
                if inspect.isawaitable(result):
                    await result
        except Exception as exc:
            self.failure = exc
            waiting.cancel()  # nothing will come back: stop waiting for the browser
        finally:
            self.done.set()


async def sign_in_with_browser(
    flow: BrowserSignInFlow,
    *,
    open_browser: OpenBrowser | None = None,
    port: int = 0,
    timeout: float | None = DEFAULT_SIGN_IN_TIMEOUT,  # noqa: ASYNC109 - the browser's wait only
    success_page: str | None = None,
    extra_params: dict[str, str] | None = None,
) -> TokenSet:
    """Sign a user in through their browser and a loopback redirect; see the module docstring.

    Raises:
        ValueError: The flow's redirect URI is not an ``http`` loopback URI, or ``port``
            or ``timeout`` is out of range.
        OSError: ``port`` is taken.
        SignInTimeoutError: No callback with this sign-in's state within ``timeout``.
        AccessDeniedError: The user (or the provider) refused (``error=access_denied``);
            another ``OAuthError`` for another ``error=``, or a failed code exchange.
        InvalidCallbackError, TokenValidationError: As ``AuthorizationCodeFlow.complete``.
    """
    redirect = LoopbackRedirect.parse(flow.redirect_uri)
    if not 0 <= port <= 65535:
        raise ValueError(f"port must be 0 (any free port) to 65535, not {port}")
    if timeout is not None and timeout <= 0:
        raise ValueError("timeout must be positive (or None: no timeout)")
    listen_port = port or redirect.port or 0
    listener = CallbackListener(
        await anyio.create_tcp_listener(local_host=redirect.bind_host, local_port=listen_port),
        redirect,
    )
    opener = _Opener(open_browser)
    outcome: TokenSet | BaseException | None = None
    try:
        # A copy with the redirect URI of this port; it shares the flow store and verifier.
        this_sign_in = copy.copy(flow)
        this_sign_in.redirect_uri = redirect.with_port(listener.port)
        request = await this_sign_in.start(**(extra_params or {}))
        async with anyio.create_task_group() as group:
            with anyio.move_on_after(timeout if timeout is not None else math.inf) as waiting:
                group.start_soon(opener.run, request.url, waiting)
                callback: CallbackRequest | None = await listener.wait_for(request.state)
            if waiting.cancelled_caught:
                callback = None
            await listener.aclose()  # before the exchange: the port is closed from here on
            outcome = await _complete(this_sign_in, callback, request.state, success_page)
            # Let an opener that follows the redirect (a test's HTTP client) read its page.
            with anyio.move_on_after(_OPENER_GRACE):
                await opener.done.wait()
            group.cancel_scope.cancel()
    finally:
        with anyio.CancelScope(shield=True):
            await listener.aclose()
    if opener.failure is not None and not isinstance(outcome, TokenSet):
        raise opener.failure
    if outcome is None:
        raise SignInTimeoutError(
            f"no sign-in came back within {timeout:g}s (the browser was closed, "
            "or the page could not reach this machine's loopback address)"
        )
    if isinstance(outcome, BaseException):
        raise outcome
    await flow.metadata()  # the original flow knows the token endpoint (refreshing_auth)
    return outcome


async def _complete(
    flow: BrowserSignInFlow,
    callback: CallbackRequest | None,
    state: str,
    success_page: str | None,
) -> TokenSet | Exception | None:
    """Complete the sign-in from ``callback`` and answer the browser; the tokens or the error."""
    if callback is None:
        return None
    try:
        tokens = await flow.complete(callback.url, expected_state=state)
    except Exception as exc:
        with anyio.CancelScope(shield=True):
            await callback.respond(400, _failure_page(exc))
        return exc
    except BaseException:
        with anyio.CancelScope(shield=True):
            await callback.respond(503, _INTERRUPTED_PAGE)
        raise
    body = success_page.encode("utf-8") if success_page is not None else _SUCCESS_PAGE
    with anyio.CancelScope(shield=True):
        await callback.respond(200, body)
    return tokens
