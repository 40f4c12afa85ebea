"""Every exception the SDK raises, and the one door from a failed exchange to one of them.

The tree::

    IntelliAuthError
    ├── APIConnectionError                 the request never got a response
    │   └── APITimeoutError                 ... because a timeout ran out
    ├── APIStatusError                      a non-2xx response (.status_code, .code, .request_id)
    │   ├── BadRequestError                 400
    │   ├── AuthenticationError             401
    │   ├── PermissionDeniedError           403
    │   ├── NotFoundError                   404
    │   ├── ConflictError                   409
    │   ├── UnprocessableEntityError        422
    │   ├── RateLimitError                  429 (.retry_after)
    │   └── InternalServerError             5xx
    ├── APIResponseValidationError          a 2xx body that does not match the contract
    │   └── ResponseTooLargeError           a body over the size limit, any status (.max_bytes)
    ├── PaginationError                     a list that can not be paged (repeated cursor)
    ├── ConfigurationError (also ValueError) a setting missing from the environment (.variable)
    ├── InsecureURLError (also ValueError)  a tenant URL that is not https:// nor loopback
    ├── RequestValidationError (also ValueError)  an argument that does not fit the contract
    ├── OAuthError                          an RFC 6749 error (.error, .error_description)
    │   ├── InvalidRequestError             invalid_request
    │   ├── InvalidClientError              invalid_client
    │   ├── InvalidGrantError               invalid_grant (re-login needed)
    │   ├── UnauthorizedClientError         unauthorized_client
    │   ├── UnsupportedGrantTypeError       unsupported_grant_type
    │   ├── InvalidScopeError               invalid_scope
    │   ├── AccessDeniedError               access_denied
    │   └── InvalidCallbackError            a sign-in callback failed a check (.check): state ...
    ├── SignInTimeoutError (also TimeoutError)  a browser sign-in did not come back in time
    ├── TokenStoreError                     a token-set store failed: unreadable value, lost lease
    │   └── TokenStoreUnavailableError      ... because the store (Redis) could not be reached
    ├── TokenValidationError                a JWT failed a verification check (.check)
    └── WebhookVerificationError            a webhook delivery failed a check (.check)

Two functions turn a failed exchange into an exception, and no other code does:
``error_from_response`` (a response that is not a success: an ``APIStatusError`` or an
``OAuthError``) and ``error_from_transport`` (an attempt that got no response: an
``APIConnectionError``). Both are total: any status, any body (not JSON, not UTF-8,
nested past the recursion limit, megabytes long) and any exception give an exception
object back, never a raise.

Status errors are picked by HTTP status, not by the envelope's ``error`` code, so a
proxy's HTML 502 page maps as well as a well-formed envelope does; the code is kept
on ``.code`` for callers that branch on it (the platform's advice: branch on ``error``,
never on message text). Whether a response carries RFC 6749 errors instead is the
caller's to say (``oauth=``): for an operation of the generated facade it is the
contract's ``Operation.oauth_errors``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, Literal, overload

import httpx

from intelliauth_ext._json import json_object
from intelliauth_ext._retries import parse_retry_after

__all__ = [
    "APIConnectionError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AccessDeniedError",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "ConflictError",
    "InsecureURLError",
    "IntelliAuthError",
    "InternalServerError",
    "InvalidCallbackError",
    "InvalidClientError",
    "InvalidGrantError",
    "InvalidRequestError",
    "InvalidScopeError",
    "NotFoundError",
    "OAuthError",
    "PaginationError",
    "PermissionDeniedError",
    "RateLimitError",
    "RequestValidationError",
    "ResponseTooLargeError",
    "SignInTimeoutError",
    "TokenStoreError",
    "TokenStoreUnavailableError",
    "TokenValidationError",
    "UnauthorizedClientError",
    "UnprocessableEntityError",
    "UnsupportedGrantTypeError",
    "WebhookVerificationError",
    "cut_message",
    "error_from_response",
    "error_from_transport",
    "oauth_error_from_fields",
]

REQUEST_ID_HEADER: Final = "x-request-id"
#: A body longer than this is not decoded as JSON to build an exception: it is reported by
#: its first bytes (an error envelope is a few hundred bytes; 50 MB is a proxy's mistake).
MAX_ERROR_BODY_BYTES: Final = 1024 * 1024
#: Every text an exception message takes from a response or an exception is cut to this.
MAX_MESSAGE_CHARS: Final = 300
_BODY_PREVIEW_BYTES: Final = 200
_URL_CHARS: Final = 200


class IntelliAuthError(Exception):
    """The root of every exception the SDK raises on purpose."""


class APIConnectionError(IntelliAuthError):
    """The request was sent (or tried) but no response came back."""

    def __init__(self, message: str = "Connection error.", *, request: httpx.Request) -> None:
        super().__init__(message)
        self.message = message
        self.request = request


class APITimeoutError(APIConnectionError):
    """A connect, read, write or pool timeout ran out."""

    def __init__(self, *, request: httpx.Request, message: str = "Request timed out.") -> None:
        super().__init__(message, request=request)


class APIStatusError(IntelliAuthError):
    """The server answered with a non-2xx status.

    Attributes:
        status_code: The HTTP status.
        code: The error envelope's ``error`` code (``None`` when the body had none).
        message: The envelope's ``message``, or a summary of a body that was not one.
        details: The envelope's ``details`` object (empty when absent).
        request_id: The envelope's ``request_id`` or the ``X-Request-Id`` header.
        response: The raw response.
    """

    def __init__(
        self,
        message: str,
        *,
        response: httpx.Response,
        code: str | None = None,
        details: Mapping[str, Any] | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.response = response
        self.status_code = response.status_code
        self.code = code
        self.details: Mapping[str, Any] = details if details is not None else {}
        self.request_id = request_id

    def __str__(self) -> str:
        parts = [f"{self.status_code}"]
        if self.code:
            parts.append(self.code)
        text = f"[{' '.join(parts)}] {self.message}"
        if self.request_id:
            text += f" (request_id={self.request_id})"
        return text


class BadRequestError(APIStatusError):
    """400: the request was malformed."""


class AuthenticationError(APIStatusError):
    """401: the token is missing, expired or revoked, even after one refresh."""


class PermissionDeniedError(APIStatusError):
    """403: the token lacks a scope or the caller lacks a permission."""


class NotFoundError(APIStatusError):
    """404: no such resource."""


class ConflictError(APIStatusError):
    """409: the request conflicts with the resource's current state."""


class UnprocessableEntityError(APIStatusError):
    """422: the body was well-formed but failed validation."""


class RateLimitError(APIStatusError):
    """429: too many requests.

    Attributes:
        retry_after: Seconds the server asked us to wait, when it said.
    """

    def __init__(
        self,
        message: str,
        *,
        response: httpx.Response,
        code: str | None = None,
        details: Mapping[str, Any] | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(
            message, response=response, code=code, details=details, request_id=request_id
        )
        self.retry_after = retry_after


class InternalServerError(APIStatusError):
    """5xx: the server (or a proxy in front of it) failed."""


class APIResponseValidationError(IntelliAuthError):
    """A 2xx response whose body does not match the contract.

    Attributes:
        field: The path of the offending value in the body (``$.data[3].email``), when the
            check that failed names one; None otherwise (a body that is not JSON, a list
            operation's answer that is not a list envelope, a status the contract does not
            document).
        operation: The operation whose answer it is (its ``operationId``, ``listUsers``),
            when known.
    """

    def __init__(
        self,
        message: str,
        *,
        response: httpx.Response,
        field: str | None = None,
        operation: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.response = response
        self.status_code = response.status_code
        self.request_id = response.headers.get(REQUEST_ID_HEADER)
        self.field = field
        self.operation = operation


class ResponseTooLargeError(APIResponseValidationError):
    """A response body larger than the limit; reading stopped there, whatever the status.

    The limit counts decoded bytes (a compressed body is measured as it is inflated), so
    a small gzip bomb stops as early as a large plain body. A validation error, not a
    connection error: the server did answer, the same request would get the same answer,
    so it is not retried. ``IntelliAuth(max_response_bytes=...)`` sets the limit of API
    calls; the body is not kept (``response.content`` raises ``httpx.ResponseNotRead``).

    Attributes:
        max_bytes: The limit the body went past.
    """

    def __init__(self, message: str, *, response: httpx.Response, max_bytes: int) -> None:
        super().__init__(message, response=response)
        self.max_bytes = max_bytes


class PaginationError(IntelliAuthError):
    """A list can not be paged: the server repeated a cursor, or there is no next page."""


class ConfigurationError(IntelliAuthError, ValueError):
    """A client built from the environment misses a setting, or has half of a pair.

    Attributes:
        variable: The environment variable to set, e.g. ``INTELLIAUTH_TENANT_URL``.
    """

    def __init__(self, message: str, *, variable: str) -> None:
        super().__init__(message)
        self.message = message
        self.variable = variable


class InsecureURLError(IntelliAuthError, ValueError):
    """A URL that would send credentials in clear text: not ``https://`` and not loopback."""


class RequestValidationError(IntelliAuthError, ValueError):
    """An argument (a body given as a mapping, an enum given as a string) does not fit the
    contract; raised before anything is sent.

    Attributes:
        field: Where the problem is, as a path from the argument: ``"body.email"``,
            ``"body.members[2].role"``, ``"status"``.
    """

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class OAuthError(IntelliAuthError):
    """An OAuth 2.0 error (RFC 6749 section 5.2, or an ``error=`` redirect, section 4.1.2.1).

    Attributes:
        error: The RFC 6749 error code, e.g. ``invalid_grant``.
        error_description: The server's human-readable text, if any.
        error_uri: A page about the error, if any.
        status_code: The HTTP status, when the error came in a response.
    """

    def __init__(
        self,
        error: str,
        error_description: str | None = None,
        error_uri: str | None = None,
        *,
        status_code: int | None = None,
        response: httpx.Response | None = None,
    ) -> None:
        message = error if not error_description else f"{error}: {error_description}"
        super().__init__(message)
        self.error = error
        self.error_description = error_description
        self.error_uri = error_uri
        self.status_code = status_code
        self.response = response


class InvalidRequestError(OAuthError):
    """``invalid_request``: a parameter is missing, repeated or malformed."""


class InvalidClientError(OAuthError):
    """``invalid_client``: client authentication failed (wrong id, secret or method)."""


class InvalidGrantError(OAuthError):
    """``invalid_grant``: the code, refresh token or credentials are invalid, expired or revoked."""


class UnauthorizedClientError(OAuthError):
    """``unauthorized_client``: this client may not use this grant type."""


class UnsupportedGrantTypeError(OAuthError):
    """``unsupported_grant_type``: the server does not support this grant type."""


class InvalidScopeError(OAuthError):
    """``invalid_scope``: a requested scope is invalid, unknown or exceeds the grant."""


class AccessDeniedError(OAuthError):
    """``access_denied``: the resource owner or the server refused the request."""


class InvalidCallbackError(OAuthError):
    """An authorization callback (RFC 6749 section 4.1.2) that must not be trusted.

    The sign-in has to start over. ``error`` is ``invalid_callback``.

    Attributes:
        check: Which check failed: ``state`` (missing, or not the one this browser
            session started), ``replay`` (unknown, or already used), ``expiry`` (the sign-in
            took longer than the state's lifetime), ``issuer`` (RFC 9207 ``iss`` mismatch),
            ``code`` (no code) or ``format`` (a parameter given twice, or a callback URL
            that can not be parsed). The state is checked before ``error=`` is read.
    """

    def __init__(self, check: str, message: str) -> None:
        super().__init__("invalid_callback", message)
        self.check = check
        self.message = message


class SignInTimeoutError(IntelliAuthError, TimeoutError):
    """A browser sign-in did not come back within its timeout.

    The user closed the browser or the tab, walked away, or the authorization page could
    not reach the loopback address; nothing was exchanged, and the sign-in must start over.
    """


class TokenStoreError(IntelliAuthError):
    """A token-set store could not do its part; the session's tokens are unchanged.

    Raised for a stored value that can not be read (corrupt, truncated, too large, sealed
    with another key: signing in again overwrites it), for a refresh whose lease ran out
    before its result could be stored, and, as ``TokenStoreUnavailableError``, when the
    store can not be reached. The message names where (a file, a keyring entry), never a
    token or what the value holds.
    """


class TokenStoreUnavailableError(TokenStoreError):
    """The token-set store (Redis) could not be reached; no refresh was made without it.

    Refreshing alone would race the other holders of the session against a rotating
    server, so the call fails instead; retry it once the store is back.
    """


class TokenValidationError(IntelliAuthError):
    """A token failed verification.

    Attributes:
        check: Which check failed: ``signature``, ``algorithm``, ``issuer``, ``audience``,
            ``expiry``, ``not_before``, ``issued_at``, ``nonce``, ``at_hash``, ``c_hash``,
            ``scope``, ``key``, ``type`` or ``format``.
    """

    def __init__(self, check: str, message: str) -> None:
        super().__init__(f"{check}: {message}")
        self.check = check
        self.message = message


class WebhookVerificationError(IntelliAuthError):
    """A webhook delivery that must not be trusted; answer it with a 4xx.

    The message never contains a signing secret.

    Attributes:
        check: Which check failed: ``header`` (the signature header is missing, repeated
            or malformed), ``signature`` (no ``v1`` entry matches any secret),
            ``timestamp`` (``t`` is outside the tolerance: a replay or a skewed clock)
            or ``payload`` (the body is not JSON, or not an event envelope).
    """

    def __init__(self, check: str, message: str) -> None:
        super().__init__(f"{check}: {message}")
        self.check = check
        self.message = message


_STATUS_ERRORS: Final[Mapping[int, type[APIStatusError]]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}

_OAUTH_ERRORS: Final[Mapping[str, type[OAuthError]]] = {
    "invalid_request": InvalidRequestError,
    "invalid_client": InvalidClientError,
    "invalid_grant": InvalidGrantError,
    "unauthorized_client": UnauthorizedClientError,
    "unsupported_grant_type": UnsupportedGrantTypeError,
    "invalid_scope": InvalidScopeError,
    "access_denied": AccessDeniedError,
}


def cut_message(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """``text`` cut to ``limit`` characters (an ellipsis marks the cut): server text in messages."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _content(response: httpx.Response) -> bytes:
    """The body, or nothing for a streamed response whose body was never read."""
    try:
        return response.content
    except httpx.ResponseNotRead:
        return b""


def _error_body(content: bytes) -> Mapping[str, Any] | None:
    """The body as a JSON object; None when it is not one or too long to be an error body."""
    if not content or len(content) > MAX_ERROR_BODY_BYTES:
        return None
    return json_object(content)


def _optional_str(body: Mapping[str, Any], key: str) -> str | None:
    value = body.get(key)
    return cut_message(value) if isinstance(value, str) and value else None


def _body_preview(content: bytes) -> str:
    text = content[:_BODY_PREVIEW_BYTES].decode("utf-8", "replace")
    text = " ".join(text.split())
    return text if text else "<empty body>"


def _request_id_header(response: httpx.Response) -> str | None:
    value = response.headers.get(REQUEST_ID_HEADER)
    return cut_message(value) if value else None


def _status_error(response: httpx.Response, content: bytes) -> APIStatusError:
    """The ``APIStatusError`` subclass of ``response``'s status, filled from its body."""
    status = response.status_code
    error_class = _STATUS_ERRORS.get(status)
    if error_class is None:
        error_class = InternalServerError if status >= 500 else APIStatusError

    body = _error_body(content)
    header_request_id = _request_id_header(response)
    code: str | None = None
    details: Mapping[str, Any] | None = None
    request_id = header_request_id
    if body is not None:
        code = _optional_str(body, "error")
        message = (
            _optional_str(body, "message")
            or _optional_str(body, "error_description")
            or _body_preview(content)
        )
        raw_details = body.get("details")
        details = raw_details if isinstance(raw_details, dict) else None
        request_id = _optional_str(body, "request_id") or header_request_id
    else:
        reason = cut_message(response.reason_phrase or "error", _BODY_PREVIEW_BYTES)
        message = f"HTTP {status} {reason}; body: {_body_preview(content)}"

    if error_class is RateLimitError:
        return RateLimitError(
            message,
            response=response,
            code=code,
            details=details,
            request_id=request_id,
            retry_after=parse_retry_after(response.headers),
        )
    return error_class(
        message, response=response, code=code, details=details, request_id=request_id
    )


def oauth_error_from_fields(
    error: str,
    error_description: str | None = None,
    error_uri: str | None = None,
    *,
    status_code: int | None = None,
    response: httpx.Response | None = None,
) -> OAuthError:
    """The ``OAuthError`` subclass for an RFC 6749 error code (the base class if unknown).

    For an error that did not come as an error response: an ``error=`` redirect to the
    callback (RFC 6749 section 4.1.2.1), or an ``error`` in a 2xx token response. A
    response that failed goes to ``error_from_response(response, oauth=True)``. Each
    text is cut to ``MAX_MESSAGE_CHARS``: it comes from whoever sent the response or
    the redirect.
    """
    error_class = _OAUTH_ERRORS.get(error, OAuthError)
    return error_class(
        cut_message(error),
        cut_message(error_description) if error_description is not None else None,
        cut_message(error_uri) if error_uri is not None else None,
        status_code=status_code,
        response=response,
    )


def _oauth_error(response: httpx.Response, content: bytes) -> OAuthError:
    """The ``OAuthError`` of a failed token, revocation, introspection ... response.

    A body that is not an RFC 6749 error object still yields an ``OAuthError``: a 401
    becomes ``invalid_client`` (RFC 6749 section 5.2), a 5xx ``server_error``, anything
    else ``invalid_request``, with the start of the body in the description.
    """
    status = response.status_code
    body = _error_body(content)
    error = _optional_str(body, "error") if body is not None else None
    if error is not None and body is not None:
        return oauth_error_from_fields(
            error,
            _optional_str(body, "error_description"),
            _optional_str(body, "error_uri"),
            status_code=status,
            response=response,
        )
    if status == 401:
        fallback = "invalid_client"
    elif status >= 500:
        fallback = "server_error"
    else:
        fallback = "invalid_request"
    description = f"HTTP {status} without an RFC 6749 error body: {_body_preview(content)}"
    return oauth_error_from_fields(fallback, description, status_code=status, response=response)


@overload
def error_from_response(response: httpx.Response, *, oauth: Literal[False]) -> APIStatusError: ...
@overload
def error_from_response(response: httpx.Response, *, oauth: Literal[True]) -> OAuthError: ...
@overload
def error_from_response(
    response: httpx.Response, *, oauth: bool
) -> APIStatusError | OAuthError: ...
def error_from_response(response: httpx.Response, *, oauth: bool) -> APIStatusError | OAuthError:
    """The exception for a response that is not a success; the only place that is decided.

    Works on any body: the platform's error envelope, an RFC 6749 error body, a proxy's
    HTML page, nothing at all, invalid UTF-8, JSON nested past the recursion limit, or a
    body of many megabytes (only the first ``MAX_ERROR_BODY_BYTES`` are ever decoded as
    JSON, and every text taken from the body is cut to ``MAX_MESSAGE_CHARS``). Never
    raises. The whole response stays on the exception's ``response``.

    Args:
        response: The response, its body read (an unread streamed body counts as empty).
        oauth: The endpoint answers with RFC 6749 section 5.2 errors (the generated
            ``Operation.oauth_errors``): map the body's ``error`` code to an ``OAuthError``
            subclass. Otherwise map the status to an ``APIStatusError`` subclass.

    Returns:
        The exception to raise (``raise error_from_response(...) from ...`` where a cause
        exists).
    """
    content = _content(response)
    if oauth:
        return _oauth_error(response, content)
    return _status_error(response, content)


def _exception_text(exc: BaseException) -> str:
    # _logging (its redaction patterns) loads with the first client, not with the
    # exceptions: `import intelliauth_ext` should cost little more than `import httpx`.
    from intelliauth_ext._logging import redact_text

    try:
        text = str(exc)
    except Exception:  # a broken __str__ must not hide the failure it describes
        text = ""
    return cut_message(redact_text(text)) or type(exc).__name__


def error_from_transport(exc: BaseException, request: httpx.Request) -> APIConnectionError:
    """The exception for an attempt that got no response; the only place that is decided.

    ``httpx.TimeoutException`` and ``TimeoutError`` (an overall deadline) become
    ``APITimeoutError``; anything else ``APIConnectionError``. The message names the
    method, the URL (secrets in its query and userinfo redacted) and the cause (redacted,
    cut to ``MAX_MESSAGE_CHARS``); it never holds a credential. Never raises.

    Args:
        exc: What the attempt raised (an ``httpx.RequestError``, a ``TimeoutError`` ...).
        request: The request that was being sent.

    Returns:
        The exception to raise ``from exc``.
    """
    from intelliauth_ext._logging import redact_url  # see _exception_text

    try:
        target = cut_message(f"{request.method} {redact_url(request.url)}", _URL_CHARS)
    except Exception:  # a request object that can not even be shown
        target = "the request"
    if isinstance(exc, httpx.TimeoutException | TimeoutError):
        return APITimeoutError(
            request=request,
            message=f"Request timed out: {target} ({type(exc).__name__})",
        )
    return APIConnectionError(
        f"Connection error: {target}: {_exception_text(exc)}", request=request
    )
