"""From an HTTP request to a handler: bearer auth and scopes, request validation, idempotency.

Order of checks, as a server would make them: authenticate (401; a DPoP-bound token needs
``Authorization: DPoP`` and a valid proof, checked by the SDK's own
``_dpop_proof_check``, RFC 9449 section 7), authorize by scope
(403 ``permission_denied`` with ``details.required_scope``), validate the request against
the contract (400/422), then replay or reserve the ``Idempotency-Key``, then the handler.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from intelliauth_ext._dpop_proof_check import dpop_proof_of, dpop_refusal
from intelliauth_ext._errors import TokenValidationError

from ._envelopes import ApiError, OAuthError, error_response, oauth_error_response
from ._idempotency import HEADER as IDEMPOTENCY_HEADER
from ._idempotency import fingerprint
from ._oauth import split_scope
from ._routing import Context, SandboxState
from ._spec import SpecOperation
from ._tokens import InvalidToken
from ._validation import ContractViolation


def _is_oauth(operation: SpecOperation) -> bool:
    return operation.path.startswith(("/oauth2", "/.well-known"))


def _unauthenticated(operation: SpecOperation, error: str, message: str) -> Exception:
    realm = 'Bearer realm="intelliauth"'
    challenge = realm if error == "unauthenticated" else f'{realm}, error="invalid_token"'
    if _is_oauth(operation):
        # RFC 6750 section 3.1 for the userinfo endpoint.
        return OAuthError(
            "invalid_token", message, status=401, headers={"WWW-Authenticate": challenge}
        )
    return ApiError(error, message, headers={"WWW-Authenticate": challenge})


def authenticate(
    sandbox: SandboxState, operation: SpecOperation, request: Request
) -> dict[str, Any] | None:
    """Return the verified claims of the request's bearer token (None when optional and absent).

    Raises:
        ApiError: 401 ``unauthenticated`` / ``invalid_token``, or 403 ``permission_denied``
            naming the missing scope (``OAuthError`` equivalents under /oauth2).
    """
    if not operation.bearer:
        return None
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() not in ("bearer", "dpop") or not token.strip():
        if operation.anonymous_allowed:
            return None
        raise _unauthenticated(operation, "unauthenticated", "A bearer access token is required.")
    try:
        claims = sandbox.oauth.access_claims(token.strip())
    except InvalidToken as exc:
        raise _unauthenticated(
            operation, "invalid_token", f"The access token is not valid: {exc}."
        ) from exc
    checker = sandbox.oauth.fapi.dpop
    try:
        checker.check_binding(
            claims,
            token.strip(),
            proof=dpop_proof_of([header], request.headers.getlist("dpop")),
            method=request.method,
            url=str(request.url),
        )
    except TokenValidationError as exc:
        # The challenge carries RFC 9449's code; the body keeps the contract's invalid_token.
        _, headers = dpop_refusal(exc, checker, realm="intelliauth")
        message = f"The DPoP proof is not valid: {exc.message}."
        if _is_oauth(operation):
            raise OAuthError("invalid_token", message, status=401, headers=headers) from exc
        raise ApiError("invalid_token", message, headers=headers) from exc
    granted = set(split_scope(str(claims.get("scope", ""))))
    if operation.scope_alternatives and not any(
        granted.issuperset(alternative) for alternative in operation.scope_alternatives
    ):
        missing = next(s for s in operation.required_scopes if s not in granted)
        if _is_oauth(operation):
            raise OAuthError(
                "insufficient_scope",
                f"The token lacks the {missing} scope.",
                status=403,
                headers={
                    "WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{missing}"'
                },
            )
        raise ApiError(
            "permission_denied",
            f"The token lacks the {missing} scope.",
            details={"required_scope": missing},
        )
    return claims


def _check_request(
    sandbox: SandboxState, operation: SpecOperation, request: Request, body: bytes
) -> None:
    validator = sandbox.validator
    if validator is None:
        return
    problems, where = validator.request_problems(
        validator.openapi_request(request, body, operation.path, request.path_params)
    )
    if not problems:
        return
    if sandbox.strict_requests:
        sandbox.violation_log.report(
            ContractViolation("request", request.method, request.url.path, None, problems)
        )
    if operation.operation_id == "authorize":
        # Once client_id and redirect_uri check out, RFC 6749 4.1.2.1 wants the error
        # redirected to the client: the handler does that with these problems.
        request.scope["state"]["contract_problems"] = problems
        return
    if _is_oauth(operation):
        raise OAuthError("invalid_request", "; ".join(problems))
    # Answer with the most specific status the operation documents: a malformed id is a
    # 404, a bad body a 422, anything else a 400.
    preferences = {"path": ("404", "400", "422"), "body": ("422", "400")}.get(where, ("400", "422"))
    status = next((s for s in preferences if s in operation.statuses), "400")
    code = {"404": "not_found", "422": "validation_failed"}.get(status, "invalid_request")
    raise ApiError(
        code,
        "The request does not match the contract.",
        details={"errors": problems},
        status=int(status),
    )


def endpoint_for(
    sandbox: SandboxState, operation: SpecOperation
) -> Callable[[Request], Awaitable[Response]]:
    """Return the Starlette endpoint serving ``operation``."""

    async def endpoint(request: Request) -> Response:
        response = await _serve(request)
        sandbox.served.record(operation.operation_id, response.status_code)
        return response

    async def _serve(request: Request) -> Response:
        request.scope.setdefault("state", {})["path_pattern"] = operation.path
        handler = sandbox.handler(operation.operation_id)
        try:
            if handler is None:
                request.scope["state"]["unimplemented"] = True
                raise ApiError(
                    "internal_error",
                    f"The sandbox does not implement {operation.operation_id} yet.",
                    status=501,
                )
            body = await request.body()
            claims = authenticate(sandbox, operation, request)
            _check_request(sandbox, operation, request, body)
            context = Context(request, sandbox, operation, body, claims)
            key = request.headers.get(IDEMPOTENCY_HEADER)
            if not (operation.accepts_idempotency_key and key):
                return await handler(context)
            scoped_key = (str((claims or {}).get("sub", "")), operation.operation_id, key)
            replay = sandbox.idempotency.begin(
                scoped_key, fingerprint(request.method, request.url.path, request.url.query, body)
            )
            if replay is not None:
                return replay
            try:
                response = await handler(context)
            except ApiError as exc:
                sandbox.idempotency.finish(scoped_key, error_response(request.scope, exc))
                raise
            except BaseException:
                sandbox.idempotency.abandon(scoped_key)
                raise
            sandbox.idempotency.finish(scoped_key, response)
            return response
        except ApiError as exc:
            return error_response(request.scope, exc)
        except OAuthError as exc:
            return oauth_error_response(exc)

    endpoint.__name__ = operation.operation_id
    return endpoint
