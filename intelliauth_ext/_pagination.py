"""Cursor pagination: ``Page[T]``, ``AsyncPaginator[T]`` and ``paginate()``.

Every list operation of the API takes ``cursor`` and ``limit`` and answers
``{"data": [...], "meta": {"next_cursor": "..." | null}}``. A paginator fetches pages
one by one, following ``next_cursor`` until it is null::

    page = await client.users.list(limit=10)      # the first page
    async for user in client.users.list():        # every user, page after page
        ...
    async for page in client.users.list().pages():
        ...

Two kinds of server would make that loop endless; the paginator raises
``PaginationError`` instead:

- one that sends a cursor it already sent on this path of pages (a cycle);
- one that answers ``MAX_EMPTY_PAGES`` (10) empty pages in a row, each with a fresh
  cursor: nothing is gained by following it, and ``max_items`` can not stop such a loop
  since no item ever counts towards it. Fewer empty pages in a row are followed (a
  filtered listing may skip over a stretch of non-matching items).

Both checks cost O(1) per page: the cursors of the pages followed so far are kept in one
shared ``_CursorTrail`` (a list and a dict), extended in place as iteration goes on,
copied only when ``next_page()`` is called on a page that is no longer the latest.

``AsyncPaginator`` and ``Page`` implement the generated facade's ``PaginatorProtocol`` and
``PageProtocol``, the types its list methods are annotated with (tests/typing checks it).

Each page keeps the HTTP response it came from when the fetcher gives it (the third
element of its result): ``page.headers`` and ``page.request_id`` (the server's
``X-Request-Id``) are that response's. ``with_raw_response`` of a list operation returns
the first page's response, whose ``parse()`` is the ``Page``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Mapping, Sequence
from typing import Any, Final, Generic, TypeVar

import attrs
import httpx

from intelliauth_ext._errors import REQUEST_ID_HEADER, PaginationError, error_from_response
from intelliauth_ext._shown import shown

__all__ = [
    "MAX_EMPTY_PAGES",
    "AsyncPaginator",
    "FetchedPage",
    "Page",
    "PageFetcher",
    "cursor_not_sendable",
    "paginate",
    "split_list_envelope",
]

T = TypeVar("T")

#: Empty pages in a row (each with a next cursor) after which paging stops with an error.
MAX_EMPTY_PAGES: Final = 10

FetchedPage = tuple[Sequence[T], str | None] | tuple[Sequence[T], str | None, httpx.Response]
"""What a fetcher returns: the items, the next cursor, and optionally the HTTP response."""

PageFetcher = Callable[[str | None], Awaitable[FetchedPage[T]]]
"""Fetches the page at a cursor (None for the first): its items, next cursor (and response)."""

_NO_HEADERS: Final = httpx.Headers()


class _CursorTrail:
    """The cursors followed to reach a page, oldest first; O(1) to extend and to look up.

    One trail is shared by every page of an iteration: page ``n`` owns its first
    ``length`` entries and reads nothing past them, so extending the trail for page
    ``n + 1`` leaves what page ``n`` sees unchanged. Only a page that is not the trail's
    last (``next_page()`` called again on an earlier page) gets a copy, of its own part.
    """

    __slots__ = ("cursors", "positions")

    def __init__(self, cursors: Sequence[str] = ()) -> None:
        self.cursors: list[str] = list(cursors)
        self.positions: dict[str, int] = {cursor: i for i, cursor in enumerate(self.cursors)}

    def extended(self, length: int, cursor: str) -> _CursorTrail:
        """A trail of this one's first ``length`` entries, then ``cursor``.

        This trail itself, extended in place, whenever that changes nothing an existing
        page reads (the usual case); otherwise a copy of the first ``length`` entries.
        """
        if len(self.cursors) == length:
            self.cursors.append(cursor)
            self.positions[cursor] = length
            return self
        if self.cursors[length] == cursor:  # the same next page fetched again
            return self
        trail = _CursorTrail(self.cursors[:length])
        trail.cursors.append(cursor)
        trail.positions[cursor] = length
        return trail

    def holds(self, length: int, cursor: str) -> bool:
        """Whether ``cursor`` is among the first ``length`` entries."""
        position = self.positions.get(cursor)
        return position is not None and position < length


@attrs.frozen
class Page(Generic[T]):
    """One page of a list: its items and the cursor of the next page.

    Attributes:
        items: The items of this page, in the server's order.
        next_cursor: The cursor of the next page, or None on the last page.
        http_response: The response the page came from (None when its fetcher gave none).
    """

    items: Sequence[T]
    next_cursor: str | None
    _fetch: PageFetcher[T] = attrs.field(alias="fetch", repr=False, eq=False)
    http_response: httpx.Response | None = attrs.field(default=None, repr=False, eq=False)
    # The cursors followed to reach this page: the first `_trail_length` of `_trail`.
    _trail: _CursorTrail = attrs.field(alias="trail", factory=_CursorTrail, repr=False, eq=False)
    _trail_length: int = attrs.field(alias="trail_length", default=0, repr=False, eq=False)
    # How many pages in a row, this one included, were empty with a next cursor.
    _empty_run: int = attrs.field(alias="empty_run", default=0, repr=False, eq=False)

    @property
    def headers(self) -> httpx.Headers:
        """The headers of the response this page came from (empty when unknown)."""
        return _NO_HEADERS if self.http_response is None else self.http_response.headers

    @property
    def request_id(self) -> str | None:
        """The server's ``X-Request-Id`` for this page's request, None when unknown."""
        request_id: str | None = self.headers.get(REQUEST_ID_HEADER)
        return request_id

    def has_next_page(self) -> bool:
        """Whether there is a page after this one."""
        return self.next_cursor is not None

    async def next_page(self) -> Page[T]:
        """Fetch the page after this one.

        Raises:
            PaginationError: On the last page, when the server repeats a cursor, or when
                this is the ``MAX_EMPTY_PAGES``-th empty page in a row with a next cursor.
        """
        if self.next_cursor is None:
            raise PaginationError("this is the last page; check has_next_page() first")
        return await _fetch_page(
            self._fetch,
            self.next_cursor,
            self._trail,
            self._trail_length,
            empty_run=self._empty_run,
        )

    def __len__(self) -> int:
        return len(self.items)


def cursor_not_sendable(cursor: str, exc: Exception) -> PaginationError:
    """The error for a next cursor that can not be put in a URL (httpx refuses 64 KiB+)."""
    return PaginationError(
        f"the server's next cursor ({len(cursor)} characters) can not be sent: "
        f"{type(exc).__name__}: {exc}"
    )


async def _fetch_page(
    fetch: PageFetcher[T],
    cursor: str | None,
    trail: _CursorTrail,
    trail_length: int,
    *,
    empty_run: int = 0,
) -> Page[T]:
    """Fetch the page at ``cursor``, reached by the first ``trail_length`` cursors of ``trail``.

    ``empty_run``: how many pages in a row before this one were empty with a next cursor.
    """
    if cursor is not None:
        trail = trail.extended(trail_length, cursor)
        trail_length += 1
    fetched = await fetch(cursor)
    items, next_cursor = fetched[0], fetched[1]
    http_response = fetched[2] if len(fetched) > 2 else None  # (items, cursor, response)
    if next_cursor is None:
        empty_run = 0
    else:
        if trail.holds(trail_length, next_cursor):
            raise PaginationError(
                f"the server returned the cursor {shown(next_cursor)} twice; "
                "stopping instead of looping over the same pages"
            )
        empty_run = empty_run + 1 if not items else 0
        if empty_run >= MAX_EMPTY_PAGES:
            raise PaginationError(
                f"the server answered {empty_run} empty pages in a row, each with a next "
                f"cursor; stopping instead of following cursors that yield nothing"
            )
    return Page(
        items=items,
        next_cursor=next_cursor,
        fetch=fetch,
        http_response=http_response,
        trail=trail,
        trail_length=trail_length,
        empty_run=empty_run,
    )


class _PageIterator(Generic[T]):
    """Iterates pages from ``start_cursor`` to the last one, or until ``max_items`` items."""

    def __init__(
        self, fetch: PageFetcher[T], start_cursor: str | None, max_items: int | None
    ) -> None:
        self._fetch = fetch
        self._start_cursor = start_cursor
        self._remaining = max_items
        self._page: Page[T] | None = None

    def __aiter__(self) -> _PageIterator[T]:
        return self

    async def __anext__(self) -> Page[T]:
        if self._remaining is not None and self._remaining <= 0:
            raise StopAsyncIteration
        if self._page is None:
            page = await _fetch_page(self._fetch, self._start_cursor, _CursorTrail(), 0)
        elif self._page.has_next_page():
            page = await self._page.next_page()
        else:
            raise StopAsyncIteration
        self._page = page
        if self._remaining is not None:
            if len(page.items) >= self._remaining:
                page = attrs.evolve(page, items=page.items[: self._remaining])
            self._remaining -= len(page.items)
        return page


class _ItemIterator(Generic[T]):
    """Iterates the items of every page in turn."""

    def __init__(self, pages: _PageIterator[T]) -> None:
        self._pages = pages
        self._items: Sequence[T] = ()
        self._index = 0

    def __aiter__(self) -> _ItemIterator[T]:
        return self

    async def __anext__(self) -> T:
        while self._index >= len(self._items):
            page = await self._pages.__anext__()
            self._items, self._index = page.items, 0
        item = self._items[self._index]
        self._index += 1
        return item


class AsyncPaginator(Generic[T]):
    """The result of a list call: await it for the first page, or iterate every item.

    Nothing is sent until it is awaited or iterated, and each iteration starts again from
    the first page.

    Args:
        fetch: Fetches one page at a cursor.
        start_cursor: The cursor of the first page to fetch (None: the beginning).
        max_items: Stop after this many items in total (None: no cap).
    """

    def __init__(
        self,
        fetch: PageFetcher[T],
        *,
        start_cursor: str | None = None,
        max_items: int | None = None,
    ) -> None:
        if max_items is not None and max_items < 0:
            raise ValueError(f"max_items must be >= 0, got {max_items}")
        self._fetch = fetch
        self._start_cursor = start_cursor
        self._max_items = max_items

    @property
    def max_items(self) -> int | None:
        """The cap on the number of items iterated, if any."""
        return self._max_items

    def with_max_items(self, max_items: int | None) -> AsyncPaginator[T]:
        """A copy of this paginator that stops after ``max_items`` items in total."""
        return AsyncPaginator(self._fetch, start_cursor=self._start_cursor, max_items=max_items)

    async def first_page(self) -> Page[T]:
        """Fetch the first page (what awaiting the paginator returns)."""
        page = await _fetch_page(self._fetch, self._start_cursor, _CursorTrail(), 0)
        if self._max_items is not None and len(page.items) > self._max_items:
            page = attrs.evolve(page, items=page.items[: self._max_items])
        return page

    def __await__(self) -> Generator[Any, None, Page[T]]:
        return self.first_page().__await__()

    def pages(self) -> AsyncIterator[Page[T]]:
        """Iterate the pages, from the first to the last (or to ``max_items`` items)."""
        return _PageIterator(self._fetch, self._start_cursor, self._max_items)

    def __aiter__(self) -> AsyncIterator[T]:
        return _ItemIterator(_PageIterator(self._fetch, self._start_cursor, self._max_items))

    def __repr__(self) -> str:
        return f"<AsyncPaginator start_cursor={self._start_cursor!r} max_items={self._max_items}>"


def _field(value: Any, name: str) -> Any:
    """``value.name`` for a model, ``value[name]`` for a mapping, else None."""
    if isinstance(value, Mapping):
        return value.get(name)
    return getattr(value, name, None)


def split_list_envelope(envelope: Any) -> tuple[Sequence[Any], str | None] | None:
    """``(items, next_cursor)`` from a list envelope (a model or a dict), or None if not one.

    ``next_cursor`` is None when it is null, absent or the generator's ``UNSET``.
    """
    items = _field(envelope, "data")
    if isinstance(items, str | bytes) or not isinstance(items, Sequence):
        return None
    next_cursor = _field(_field(envelope, "meta"), "next_cursor")
    if next_cursor is not None and not isinstance(next_cursor, str):
        # The generator's UNSET is falsy and not a str: a missing cursor.
        if next_cursor:
            return None
        next_cursor = None
    return items, (next_cursor or None)


def paginate(
    fn: Callable[..., Awaitable[Any]], /, *, max_items: int | None = None, **kwargs: Any
) -> AsyncPaginator[Any]:
    """A paginator over any generated list function (``asyncio`` or ``asyncio_detailed``).

    Args:
        fn: An async function that takes ``cursor=`` and returns a list envelope, or a
            generated ``Response`` whose ``parsed`` is one.
        max_items: Stop after this many items in total.
        **kwargs: Passed to ``fn`` on every call (``client=``, ``limit=``, filters);
            ``cursor=`` here is the cursor of the first page.

    Returns:
        An ``AsyncPaginator`` over the items of the ``data`` lists.

    Example::

        from intelliauth_client.api.users import list_users

        async for user in paginate(list_users.asyncio, client=generated_client, limit=100):
            print(user.email)
    """
    start_cursor = kwargs.pop("cursor", None) or None

    async def fetch(cursor: str | None) -> FetchedPage[Any]:
        call_kwargs = dict(kwargs)
        if cursor is not None:
            call_kwargs["cursor"] = cursor
        try:
            result = await fn(**call_kwargs)
        except httpx.InvalidURL as exc:
            if cursor is None:
                raise
            raise cursor_not_sendable(cursor, exc) from exc
        status_code = getattr(result, "status_code", None)
        response: httpx.Response | None = None
        if isinstance(status_code, int) and hasattr(result, "parsed"):
            if not 200 <= status_code < 300:
                raw = httpx.Response(
                    status_code,
                    headers=getattr(result, "headers", None),
                    content=getattr(result, "content", b""),
                )
                # A list operation's errors are the platform's envelope, never RFC 6749.
                raise error_from_response(raw, oauth=False)
            # A generated `Response`: its headers (its request id) go on the page.
            response = httpx.Response(status_code, headers=getattr(result, "headers", None))
            result = result.parsed
        split = split_list_envelope(result)
        if split is None:
            raise PaginationError(
                f"{getattr(fn, '__qualname__', fn)!r} did not return a list envelope "
                f"({{data: [...], meta: {{next_cursor}}}}), got {type(result).__name__}"
            )
        return split if response is None else (*split, response)

    return AsyncPaginator(fetch, start_cursor=start_cursor, max_items=max_items)
