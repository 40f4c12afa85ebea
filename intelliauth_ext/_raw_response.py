"""``RawResponse[T]``: a call's HTTP response, with its parsed result on demand.

What ``client.<resource>.with_raw_response.<method>(...)`` returns: the status, the
headers (``X-RateLimit-Remaining``, ``ETag``) and the server's request id of a successful
call, and ``parse()`` for exactly what the plain method returns. For a list operation the
response is the first page's, and ``parse()`` gives that page (``Page``), from which
``next_page()`` goes on. Non-2xx answers raise as the plain method does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

import httpx

from intelliauth_ext._errors import REQUEST_ID_HEADER

__all__ = ["RawResponse"]

T = TypeVar("T")

_NOT_PARSED = object()


class RawResponse(Generic[T]):
    """One call's HTTP response, and ``parse()`` for what the plain method returns.

    Args:
        http_response: The response, its body read.
        parse: Turns it into the plain method's result; run once, on the first ``parse()``.
    """

    __slots__ = ("_http_response", "_parse", "_parsed")

    def __init__(self, http_response: httpx.Response, parse: Callable[[httpx.Response], T]) -> None:
        self._http_response = http_response
        self._parse = parse
        self._parsed: object = _NOT_PARSED

    @property
    def http_response(self) -> httpx.Response:
        """The ``httpx.Response`` itself (its body already read)."""
        return self._http_response

    @property
    def status_code(self) -> int:
        """The HTTP status."""
        return self._http_response.status_code

    @property
    def headers(self) -> httpx.Headers:
        """The response headers (case-insensitive)."""
        return self._http_response.headers

    @property
    def request_id(self) -> str | None:
        """The server's ``X-Request-Id`` for this call, None when it sent none."""
        request_id: str | None = self._http_response.headers.get(REQUEST_ID_HEADER)
        return request_id

    def parse(self) -> T:
        """What the plain method returns for this response (parsed once, then kept).

        Raises:
            APIResponseValidationError: The body does not match the contract.
        """
        if self._parsed is _NOT_PARSED:
            self._parsed = self._parse(self._http_response)
        return self._parsed  # type: ignore[return-value]  # set from _parse just above

    def __repr__(self) -> str:
        return (
            f"<RawResponse [{self.status_code} {self._http_response.reason_phrase}] "
            f"request_id={self.request_id!r}>"
        )
