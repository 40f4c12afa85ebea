"""Per-call options: ``extra_headers``, ``extra_query``, ``extra_body`` and ``timeout``.

Every facade method takes them keyword-only and hands them to the invoker as one
``RequestOptions`` (None when none was given, so that a call without them costs one
``is None`` test). They are merged into the endpoint's ``_get_kwargs`` output, so they
win over the client's defaults:

- ``extra_headers`` win over the client's default headers and the operation's own (its
  header parameters, ``Content-Type``), with two exceptions. ``Authorization`` is refused
  (``ValueError``): the SDK authenticates every call and would overwrite it, so a value
  given here would silently not be sent; use a client with other credentials. An
  ``Idempotency-Key`` given here counts as the caller's (the SDK then adds none, and
  every retry carries it), but one that contradicts ``idempotency_key=`` is refused.
- ``extra_query`` entries are added to the query, replacing a parameter of the same name.
- ``extra_body`` entries are added to the top level of a JSON (or form) object body,
  replacing a field of the same name; a body that is not an object refuses them.
- ``timeout`` replaces the client's for every attempt of this call: seconds (the connect
  phase capped at 5 s), an ``httpx.Timeout``, or None for no limit.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import httpx

from intelliauth_client.types import Unset
from intelliauth_ext._timeouts import NOT_GIVEN, resolve_timeout

__all__ = ["RequestOptionsLike", "merge_request_options"]

_IDEMPOTENCY_KEY = "idempotency-key"


class RequestOptionsLike(Protocol):
    """The fields of the generated ``facade.RequestOptions`` that the runtime reads."""

    @property
    def extra_headers(self) -> Mapping[str, str] | None: ...
    @property
    def extra_query(self) -> Mapping[str, Any] | None: ...
    @property
    def extra_body(self) -> Mapping[str, Any] | None: ...
    @property
    def timeout(self) -> Any: ...  # seconds, httpx.Timeout, None, or the generated UNSET


def merge_request_options(
    request_kwargs: Mapping[str, Any],
    options: RequestOptionsLike,
    *,
    default_timeout: httpx.Timeout,
) -> tuple[dict[str, Any], httpx.Timeout | None]:
    """``_get_kwargs`` output with ``options`` merged in, and the call's timeout.

    Returns:
        The merged arguments, and the ``httpx.Timeout`` of this call (None: the client's).

    Raises:
        ValueError: ``extra_headers`` sets ``Authorization`` or contradicts the operation's
            ``Idempotency-Key``; ``extra_body`` for a body that is not an object; a
            negative timeout.
    """
    kwargs = dict(request_kwargs)
    if options.extra_headers:
        headers = dict(kwargs.get("headers") or {})
        given = {name.lower(): value for name, value in headers.items()}
        for name, value in options.extra_headers.items():
            lowered = name.lower()
            if lowered == "authorization":
                raise ValueError(
                    "extra_headers may not set Authorization: the client authenticates every "
                    "call and would replace it; use a client with other credentials"
                )
            if lowered == _IDEMPOTENCY_KEY and given.get(lowered, value) != value:
                raise ValueError(
                    "extra_headers' Idempotency-Key contradicts idempotency_key=; give one"
                )
            headers = {key: val for key, val in headers.items() if key.lower() != lowered}
            headers[name] = value
        kwargs["headers"] = headers
    if options.extra_query:
        kwargs["params"] = {**(kwargs.get("params") or {}), **options.extra_query}
    if options.extra_body:
        field = "data" if "data" in kwargs else "json"
        body = kwargs.get(field)
        if body is not None and not isinstance(body, Mapping):
            raise ValueError(
                f"extra_body needs an object body; this call's body is a {type(body).__name__}"
            )
        kwargs[field] = {**(body or {}), **options.extra_body}
    timeout = options.timeout
    if timeout is NOT_GIVEN or isinstance(timeout, Unset):
        return kwargs, None
    return kwargs, resolve_timeout(timeout, default=default_timeout)
