"""The contract's bodies: `{data, meta}` successes, the error envelope and RFC 6749 errors."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from starlette.responses import JSONResponse, Response
from starlette.types import Scope

from ._request_id import request_id_of

# Default HTTP status of each ErrorCode of the contract (the error code index).
STATUS_OF_ERROR: Final[Mapping[str, int]] = {
    "invalid_request": 400,
    "validation_failed": 422,
    "unauthenticated": 401,
    "invalid_token": 401,
    "permission_denied": 403,
    "not_found": 404,
    "conflict": 409,
    "already_exists": 409,
    "mfa_required": 403,
    "invalid_credentials": 401,
    "invalid_mfa_code": 401,
    "flow_expired": 400,
    "account_locked": 403,
    "rate_limited": 429,
    "internal_error": 500,
    "service_unavailable": 503,
}

NO_STORE: Final[Mapping[str, str]] = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class ApiError(Exception):
    """An `/api/v1` failure, rendered as the error envelope by the dispatcher."""

    def __init__(
        self,
        error: str,
        message: str,
        *,
        details: Mapping[str, Any] | None = None,
        status: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        if error not in STATUS_OF_ERROR:
            raise ValueError(f"{error!r} is not an ErrorCode of the contract")
        self.error = error
        self.message = message
        self.details: dict[str, Any] = dict(details or {})
        self.status = status if status is not None else STATUS_OF_ERROR[error]
        self.headers: dict[str, str] = dict(headers or {})


def not_found(kind: str, resource_id: str) -> ApiError:
    """Return the 404 for a missing record of ``kind`` (``user``, ``group``...)."""
    return ApiError("not_found", f"No {kind} with id {resource_id}.", details={"id": resource_id})


class OAuthError(Exception):
    """An `/oauth2` failure, rendered as an RFC 6749 section 5.2 body."""

    def __init__(
        self,
        error: str,
        description: str,
        *,
        status: int = 400,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status
        self.headers: dict[str, str] = dict(headers or {})


def data_response(
    data: Any,
    *,
    status: int = 200,
    meta: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """Return a `{data, meta}` success response."""
    return JSONResponse({"data": data, "meta": dict(meta or {})}, status, headers=headers)


def list_response(items: Sequence[Any], next_cursor: str | None) -> JSONResponse:
    """Return a list envelope: `{data: [...], meta: {next_cursor}}` (null on the last page)."""
    return JSONResponse({"data": list(items), "meta": {"next_cursor": next_cursor}})


def no_content() -> Response:
    """Return an empty 204."""
    return Response(status_code=204)


def error_response(scope: Scope, error: ApiError) -> JSONResponse:
    """Render ``error`` as `{error, message, details, request_id}`."""
    body = {
        "error": error.error,
        "message": error.message,
        "details": error.details,
        "request_id": request_id_of(scope),
    }
    return JSONResponse(body, error.status, headers=error.headers)


def oauth_error_response(error: OAuthError) -> JSONResponse:
    """Render ``error`` as `{error, error_description}` with no-store caching (RFC 6749 5.2)."""
    body = {"error": error.error, "error_description": error.description}
    return JSONResponse(body, error.status, headers={**NO_STORE, **error.headers})
