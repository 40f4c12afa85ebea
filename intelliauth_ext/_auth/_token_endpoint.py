"""Talking to a token endpoint: URL checks, the HTTP client, retries, and failed answers.

Every request to a token endpoint (any grant, a revocation, an introspection) made by the
token managers and by the helpers of ``_token_endpoints`` goes through
``TokenEndpointClient.send``, which applies the retry policy of ``_retries`` as a token
request (``should_retry(..., token_request=True)``):

* retried, up to ``max_retries`` times (``DEFAULT_TOKEN_RETRIES``, 2, unless the owner
  says otherwise; ``IntelliAuth`` passes its own ``max_retries``): connection errors and
  timeouts, HTTP 408, 429, 500, 502, 503 and 504, and a body whose RFC 6749 ``error`` is
  ``temporarily_unavailable`` or ``server_error`` whatever the status;
* waiting the server's ``Retry-After`` (up to 60 s; a longer wait is not slept through)
  or the jittered exponential backoff of ``_retries``, and only while the caller's
  deadline (its anyio cancel scopes) leaves room for the wait: otherwise the last answer
  is final at once;
* final at once: every other answer, a 400 or 401 above all (a wrong secret does not
  become right, and repeating a grant can only burn a one-time code or trip refresh-token
  reuse detection).

What a failed answer raises once the retries are over (``token_error``): a 429 raises
``RateLimitError`` and a 5xx ``InternalServerError``, as an API call's would (``.code``
holds the body's RFC 6749 code, ``temporarily_unavailable`` say): an outage of the token
endpoint is an outage, and ``except InternalServerError`` catches it wherever it
happened. Any other status raises the ``OAuthError`` of the body's RFC 6749 code.

DPoP nonces (RFC 9449 section 8). ``TokenEndpointClient.post`` builds the request (a
fresh client assertion and DPoP proof) and, when the server answers 400
``use_dpop_nonce`` with a ``DPoP-Nonce`` header, builds it again with the nonce and
sends it once more; the nonce is remembered (by the DPoP key) for later requests.

Token requests never go through an auth flow (they would recurse), follow no redirect
(a redirected POST would resend the credentials), and have their answer read under
``MAX_AUTH_RESPONSE_BYTES`` (1 MiB; more raises ``ResponseTooLargeError``, not retried).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Final

import anyio
import httpx

from intelliauth_ext import _retries, _telemetry
from intelliauth_ext._errors import (
    MAX_ERROR_BODY_BYTES,
    APIStatusError,
    OAuthError,
    error_from_response,
)
from intelliauth_ext._json import json_object
from intelliauth_ext._logging import install_redaction_filters, logger
from intelliauth_ext._transports import MAX_AUTH_RESPONSE_BYTES, send_bounded
from intelliauth_ext._urls import require_secure_url

if TYPE_CHECKING:
    from intelliauth_ext._auth._client_auth import ClientAuth
    from intelliauth_ext._dpop import DPoPKey

__all__ = [
    "DEFAULT_TOKEN_RETRIES",
    "DEFAULT_TOKEN_TIMEOUT",
    "TokenEndpointClient",
    "oauth_error_code",
    "send_token_request",
    "token_error",
    "validate_token_url",
    "wants_dpop_nonce",
]

#: Timeout of each token request attempt on the manager's own HTTP client.
DEFAULT_TOKEN_TIMEOUT: Final = httpx.Timeout(30.0, connect=5.0)

#: Retries of a failed token request when the owner gives no ``max_retries``.
DEFAULT_TOKEN_RETRIES: Final = _retries.DEFAULT_MAX_RETRIES


def validate_token_url(url: str | httpx.URL) -> httpx.URL:
    """The token URL, checked: ``https://``, or ``http://`` on a loopback host only.

    Raises:
        InsecureURLError: A URL that would send the client secret in clear text.
        ValueError: A URL without a host, or with credentials in it.
    """
    parsed = require_secure_url(url, "token URL")
    if parsed.userinfo:
        raise ValueError("the token URL must not carry credentials")
    return parsed


def oauth_error_code(response: httpx.Response) -> str | None:
    """The RFC 6749 ``error`` code of ``response``'s body; None when it has none.

    A body that is not a JSON object (empty, HTML, too long to be an error body) or whose
    ``error`` is not a non-empty string has no code.
    """
    try:
        content = response.content
    except httpx.ResponseNotRead:
        return None
    if not content or len(content) > MAX_ERROR_BODY_BYTES:
        return None
    body = json_object(content)
    error = body.get("error") if body is not None else None
    return error if isinstance(error, str) and error else None


def wants_dpop_nonce(response: httpx.Response) -> bool:
    """Whether the token (or PAR) endpoint demands a DPoP nonce (RFC 9449 section 8).

    A 400 whose body's ``error`` is ``use_dpop_nonce``, with a ``DPoP-Nonce`` header to
    retry with.
    """
    return (
        response.status_code == 400
        and "dpop-nonce" in response.headers
        and oauth_error_code(response) == "use_dpop_nonce"
    )


def token_error(response: httpx.Response) -> APIStatusError | OAuthError:
    """The exception for a token endpoint's failed answer, once its retries are over.

    Returns:
        ``RateLimitError`` for a 429 and ``InternalServerError`` for a 5xx (``.code`` is
        the body's RFC 6749 code when it has one); for any other status the
        ``OAuthError`` subclass of the body's code (``invalid_client`` for a 401 without
        one, ``invalid_request`` for another 4xx without one).
    """
    status = response.status_code
    return error_from_response(response, oauth=not (status == 429 or status >= 500))


def _seconds_left() -> float:
    """Seconds until the caller's deadline (its innermost anyio cancel scopes); inf if none."""
    return anyio.current_effective_deadline() - anyio.current_time()


async def send_token_request(
    send: Callable[[httpx.Request], Awaitable[httpx.Response]],
    request: httpx.Request,
    *,
    max_retries: int,
) -> httpx.Response:
    """Send a token request with ``send``, retrying it as the module docstring says.

    The same request is sent again on each attempt: a token request's body is bytes.

    Args:
        send: Sends one attempt and returns the response, its body read.
        request: The token request.
        max_retries: Retries after the first attempt (0: none).

    Returns:
        The response that ended the retries: a success, a final failure, or the last
        retryable failure (the caller turns a failure into ``token_error``).

    Raises:
        httpx.TransportError: The last attempt got no response.
    """
    # The request's span (``oauth2.token``) and traceparent, when OpenTelemetry is configured.
    call = _telemetry.start_token_request(request)
    attempts = _send_with_retries(send, request, max_retries=max_retries)
    return await (attempts if call is None else call.run(attempts))


async def _send_with_retries(
    send: Callable[[httpx.Request], Awaitable[httpx.Response]],
    request: httpx.Request,
    *,
    max_retries: int,
) -> httpx.Response:
    """``send_token_request``'s attempts."""
    max_attempts = max_retries + 1
    for attempt in range(1, max_attempts + 1):
        try:
            response = await send(request)
        except httpx.TransportError as exc:
            retryable = _retries.should_retry(request.method, exc, token_request=True)
            if attempt == max_attempts or not retryable:
                raise
            delay = _retries.retry_delay(attempt)
            if not await _wait(request, attempt, max_retries, delay, type(exc).__name__):
                raise
            continue
        if response.is_success or attempt == max_attempts:
            return response
        retryable = _retries.should_retry(
            request.method,
            response.status_code,
            token_request=True,
            oauth_error=oauth_error_code(response),
        )
        if not retryable:
            return response
        server_wait = _retries.server_requested_wait(response.headers)
        if server_wait is not None and server_wait > _retries.MAX_SERVER_WAIT:
            return response  # not slept through: the caller decides (RateLimitError ...)
        delay = _retries.retry_delay(attempt, server_wait=server_wait)
        if not await _wait(request, attempt, max_retries, delay, str(response.status_code)):
            return response
    raise AssertionError("unreachable: the last attempt returns or raises")  # pragma: no cover


async def _wait(
    request: httpx.Request, attempt: int, max_retries: int, delay: float, reason: str
) -> bool:
    """Sleep ``delay`` before a retry; False, without sleeping, when the deadline is nearer."""
    if delay >= _seconds_left():
        logger.debug(
            "not retrying the token request to %s after %s: a %.2f s wait would pass the "
            "caller's deadline",
            request.url.host,
            reason,
            delay,
        )
        return False
    logger.debug(
        "retrying the token request to %s after %s in %.2f s (retry %d of %d)",
        request.url.host,
        reason,
        delay,
        attempt,
        max_retries,
    )
    _telemetry.record_retry(attempt, reason, delay)
    await _retries.sleep_before_retry(delay)
    return True


class TokenEndpointClient:
    """Sends token requests, with retries, on the given ``httpx.AsyncClient`` or its own.

    Its own client is made on first use and closed by ``aclose``; a given one is never
    closed here. Either way the request is sent with ``auth=None``, so an auth set on a
    shared client can not recurse into the token manager, and with the client's timeout
    (a bare ``httpx.Request`` carries none).

    Args:
        http_client: The client to send on; None to make one.
        max_retries: Retries of a failed token request (see the module docstring).
        timeout: The timeout of each attempt on the client this object makes.

    Raises:
        ValueError: A negative ``max_retries``.
    """

    def __init__(
        self,
        http_client: httpx.AsyncClient | None,
        *,
        max_retries: int = DEFAULT_TOKEN_RETRIES,
        timeout: httpx.Timeout = DEFAULT_TOKEN_TIMEOUT,
    ) -> None:
        if max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {max_retries}")
        # Token traffic may go through a caller's client and any transport: redact its logs.
        install_redaction_filters()
        self._given = http_client
        self._own: httpx.AsyncClient | None = None
        self._timeout = timeout
        self.max_retries = max_retries
        self.requests_sent = 0

    async def send(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` (body read, no redirects followed, no auth flow), with retries.

        Returns:
            The response that ended the retries, whatever its status.

        Raises:
            httpx.TransportError: The token endpoint could not be reached, after the
                retries (the runtime client maps it to ``APIConnectionError``).
            ResponseTooLargeError: A body over ``MAX_AUTH_RESPONSE_BYTES``.
        """
        return await send_token_request(self._send_once, request, max_retries=self.max_retries)

    async def post(
        self,
        url: str | httpx.URL,
        params: Mapping[str, str],
        *,
        client: ClientAuth,
        dpop: DPoPKey | None = None,
        assertion_audience: str | None = None,
    ) -> httpx.Response:
        """POST ``params`` to ``url`` as ``client`` (with a DPoP proof when ``dpop``).

        Retried as ``send`` retries; answered 400 ``use_dpop_nonce`` (RFC 9449 section
        8), rebuilt with the server's nonce (a new assertion and proof) and sent once more.

        Args:
            url: The token, PAR, revocation or introspection endpoint.
            params: The request's parameters.
            client: The client's credentials.
            dpop: The DPoP key to prove possession of.
            assertion_audience: The ``aud`` of a client assertion when ``client`` sets
                none; ``url`` by default.

        Returns:
            The response that ended the exchange, whatever its status.

        Raises:
            httpx.TransportError: As ``send``.
            ResponseTooLargeError: As ``send``.
        """
        request = client.request(url, params, dpop=dpop, assertion_audience=assertion_audience)
        response = await self.send(request)
        if dpop is None:
            return response
        dpop.learn_nonce(response)
        if not wants_dpop_nonce(response):
            return response
        logger.debug("the token endpoint at %s asked for a DPoP nonce: sending again", url)
        request = client.request(url, params, dpop=dpop, assertion_audience=assertion_audience)
        response = await self.send(request)
        dpop.learn_nonce(response)
        return response

    async def _send_once(self, request: httpx.Request) -> httpx.Response:
        client = self._given
        if client is None:
            if self._own is None:
                self._own = httpx.AsyncClient(timeout=self._timeout)
            client = self._own
        # A bare httpx.Request carries no timeout; give it the client's, as build_request would.
        request.extensions.setdefault("timeout", client.timeout.as_dict())
        self.requests_sent += 1
        return await send_bounded(
            client, request, max_bytes=MAX_AUTH_RESPONSE_BYTES, auth=None, follow_redirects=False
        )

    async def aclose(self) -> None:
        """Close the client this object made (idempotent); a given client stays open."""
        own, self._own = self._own, None
        if own is not None:
            await own.aclose()
