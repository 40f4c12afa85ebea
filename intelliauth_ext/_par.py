"""Pushed authorization requests (RFC 9126): the request goes to the provider, not the URL.

The client POSTs the authorization parameters to the provider's
``pushed_authorization_request_endpoint``, authenticated like any of its requests
(``client_secret_*``, ``private_key_jwt``; with a DPoP proof when the client binds its
tokens, RFC 9449 section 10.1), and gets back a ``request_uri`` and its lifetime
``expires_in`` (section 2.2). The browser is then sent with ``client_id`` and
``request_uri`` only (section 4), so nothing in the URL can be read or changed on the way.

Answers: a 2xx must be a JSON object with a non-empty ``request_uri`` string and a
positive ``expires_in`` number (else ``APIResponseValidationError``); an error answer
raises ``token_error``'s exception (the ``OAuthError`` of its RFC 6749 code, e.g.
``invalid_request``; ``RateLimitError`` / ``InternalServerError`` after the retries). A
``use_dpop_nonce`` answer is retried once with the nonce (``TokenEndpointClient.post``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import attrs
import httpx

from intelliauth_ext._auth._token_endpoint import TokenEndpointClient, token_error
from intelliauth_ext._errors import APIResponseValidationError, error_from_transport
from intelliauth_ext._json import json_object
from intelliauth_ext._shown import shown

if TYPE_CHECKING:
    from collections.abc import Mapping

    from intelliauth_ext._auth._client_auth import ClientAuth
    from intelliauth_ext._dpop import DPoPKey

__all__ = ["PushedRequest", "push_authorization_request"]

#: Timeout of each push attempt on a client the push makes itself.
_HTTP_TIMEOUT: Final = httpx.Timeout(10.0)
#: Longest ``request_uri`` kept: it goes into a URL the browser is sent to.
_MAX_REQUEST_URI_CHARS: Final = 2048


@attrs.frozen
class PushedRequest:
    """The provider's answer to a pushed authorization request (RFC 9126 section 2.2).

    Attributes:
        request_uri: The reference to the pushed request, for the authorization URL.
        expires_in: Seconds it stays usable.
    """

    request_uri: str
    expires_in: float


def _pushed_request(response: httpx.Response) -> PushedRequest:
    body = json_object(response.content)
    if body is None:
        raise APIResponseValidationError(
            "the pushed authorization response is not a JSON object", response=response
        )
    request_uri = body.get("request_uri")
    expires_in = body.get("expires_in")
    if not isinstance(request_uri, str) or not request_uri:
        raise APIResponseValidationError(
            "the pushed authorization response has no request_uri string", response=response
        )
    if len(request_uri) > _MAX_REQUEST_URI_CHARS or not request_uri.isprintable():
        raise APIResponseValidationError(
            f"the pushed authorization response's request_uri {shown(request_uri)} can not "
            "go into a URL",
            response=response,
        )
    if (
        isinstance(expires_in, bool)
        or not isinstance(expires_in, int | float)
        or not expires_in > 0
        or expires_in != expires_in
    ):
        raise APIResponseValidationError(
            "the pushed authorization response has no positive expires_in", response=response
        )
    return PushedRequest(request_uri=request_uri, expires_in=float(expires_in))


async def push_authorization_request(
    endpoint_url: str,
    params: Mapping[str, str],
    *,
    client: ClientAuth,
    dpop: DPoPKey | None,
    assertion_audience: str,
    http_client: httpx.AsyncClient | None,
) -> PushedRequest:
    """Push ``params`` to the PAR endpoint as ``client``; the ``request_uri`` it returns.

    Args:
        endpoint_url: The ``pushed_authorization_request_endpoint``.
        params: The authorization request's parameters.
        client: The client's credentials.
        dpop: The DPoP key tokens will be bound to (its proof goes with the push).
        assertion_audience: The ``aud`` of a client assertion when ``client`` sets none
            (the issuer: RFC 9126 section 2 has every server accept it).
        http_client: The client to send on; a short-lived one when None.

    Raises:
        OAuthError: The provider refused the request (its RFC 6749 code).
        InternalServerError: It still answered 5xx after the retries (``RateLimitError``
            for 429).
        APIConnectionError: It could not be reached.
        APIResponseValidationError: A 2xx answer without a usable ``request_uri`` or
            ``expires_in``.
    """
    endpoint = TokenEndpointClient(http_client, timeout=_HTTP_TIMEOUT)
    try:
        response = await endpoint.post(
            endpoint_url,
            params,
            client=client,
            dpop=dpop,
            assertion_audience=assertion_audience,
        )
    except httpx.RequestError as exc:
        raise error_from_transport(exc, httpx.Request("POST", endpoint_url)) from exc
    finally:
        await endpoint.aclose()
    if not response.is_success:
        raise token_error(response)
    return _pushed_request(response)
