"""Tests for intelliauth_ext._pagination: pages, paginators and paginate().

paginate() runs on the committed generated package's list function, models and Response.
"""

from __future__ import annotations

from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

import anyio
import httpx
import pytest
import respx
from hypothesis import given, settings
from hypothesis import strategies as st

from intelliauth_client.api.users import list_users
from intelliauth_client.client import AuthenticatedClient
from intelliauth_client.models.list_meta import ListMeta
from intelliauth_client.models.user import User
from intelliauth_client.models.user_list import UserList
from intelliauth_client.types import UNSET, Response
from intelliauth_ext import InternalServerError, NotFoundError
from intelliauth_ext._errors import PaginationError
from intelliauth_ext._pagination import (
    MAX_EMPTY_PAGES,
    AsyncPaginator,
    Page,
    paginate,
    split_list_envelope,
)

from .doubles import TENANT

pytestmark = pytest.mark.anyio

USER = {
    "id": "usr_1",
    "email": "a@example.com",
    "email_verified": True,
    "name": "Ada",
    "status": "active",
    "created_at": "2026-01-02T03:04:05+00:00",
    "updated_at": "2026-01-02T03:04:05+00:00",
}

PAGES: dict[str | None, tuple[list[int], str | None]] = {
    None: ([1, 2, 3], "c2"),
    "c2": ([4, 5, 6], "c3"),
    "c3": ([7, 8], None),
}


class FakeServer:
    """Pages keyed by cursor; counts fetches."""

    def __init__(self, pages: dict[str | None, tuple[list[int], str | None]] = PAGES) -> None:
        self.pages = pages
        self.cursors: list[str | None] = []

    async def fetch(self, cursor: str | None) -> tuple[Sequence[int], str | None]:
        self.cursors.append(cursor)
        return self.pages[cursor]


async def test_awaiting_gives_the_first_page() -> None:
    """Awaiting a paginator fetches and returns the first page only."""
    server = FakeServer()
    page = await AsyncPaginator(server.fetch)
    assert isinstance(page, Page)
    assert list(page.items) == [1, 2, 3]
    assert page.next_cursor == "c2"
    assert page.has_next_page()
    assert server.cursors == [None]


async def test_next_page_follows_the_cursor_to_the_end() -> None:
    """next_page() follows next_cursor; the last page has no next page."""
    server = FakeServer()
    page = await AsyncPaginator(server.fetch)
    second = await page.next_page()
    third = await second.next_page()
    assert list(third.items) == [7, 8]
    assert not third.has_next_page()
    with pytest.raises(PaginationError, match="last page"):
        await third.next_page()
    assert server.cursors == [None, "c2", "c3"]


async def test_iteration_yields_every_item_of_three_pages_once() -> None:
    """async for over a paginator yields every item of every page exactly once."""
    server = FakeServer()
    items = [item async for item in AsyncPaginator(server.fetch)]
    assert items == [1, 2, 3, 4, 5, 6, 7, 8]
    assert server.cursors == [None, "c2", "c3"]


async def test_pages_iterates_pages() -> None:
    """pages() yields each page once, in order, and stops on a null cursor."""
    server = FakeServer()
    pages = [list(page.items) async for page in AsyncPaginator(server.fetch).pages()]
    assert pages == [[1, 2, 3], [4, 5, 6], [7, 8]]


async def test_each_iteration_starts_again() -> None:
    """Iterating a paginator twice fetches from the first page twice."""
    server = FakeServer()
    paginator = AsyncPaginator(server.fetch)
    first = [item async for item in paginator]
    second = [item async for item in paginator]
    assert first == second
    assert server.cursors == [None, "c2", "c3", None, "c2", "c3"]


async def test_max_items_caps_items_and_fetches() -> None:
    """max_items stops the iteration and fetches no page beyond the cap."""
    server = FakeServer()
    items = [item async for item in AsyncPaginator(server.fetch, max_items=4)]
    assert items == [1, 2, 3, 4]
    assert server.cursors == [None, "c2"]


async def test_max_items_truncates_pages_and_first_page() -> None:
    """max_items also trims pages() and the awaited first page."""
    server = FakeServer()
    paginator = AsyncPaginator(server.fetch).with_max_items(2)
    assert paginator.max_items == 2
    pages = [list(page.items) async for page in paginator.pages()]
    assert pages == [[1, 2]]
    assert list((await paginator).items) == [1, 2]


async def test_max_items_zero_fetches_nothing() -> None:
    """max_items=0 yields nothing and sends nothing."""
    server = FakeServer()
    assert [item async for item in AsyncPaginator(server.fetch, max_items=0)] == []
    assert server.cursors == []
    with pytest.raises(ValueError, match="max_items"):
        AsyncPaginator(server.fetch, max_items=-1)


async def test_start_cursor() -> None:
    """A start cursor begins the iteration at that page."""
    server = FakeServer()
    items = [item async for item in AsyncPaginator(server.fetch, start_cursor="c3")]
    assert items == [7, 8]


async def test_repeated_cursor_fails_instead_of_looping() -> None:
    """A server that sends a cursor it already sent raises PaginationError."""
    looping = FakeServer({None: ([1], "a"), "a": ([2], "b"), "b": ([3], "a")})
    with pytest.raises(PaginationError, match="'a' twice"):
        _ = [item async for item in AsyncPaginator(looping.fetch)]
    assert looping.cursors == [None, "a", "b"]


async def test_same_cursor_twice_in_a_row_fails() -> None:
    """A page whose next_cursor is the cursor that fetched it raises PaginationError."""
    stuck = FakeServer({None: ([1], "a"), "a": ([2], "a")})
    page = await AsyncPaginator(stuck.fetch)
    with pytest.raises(PaginationError):
        await page.next_page()


def test_split_list_envelope_reads_models_and_dicts() -> None:
    """Items and next cursor are read from generated models and plain dicts alike."""
    user = User.from_dict(USER)
    assert split_list_envelope(UserList([user], ListMeta("n"))) == ([user], "n")
    assert split_list_envelope(UserList([user], ListMeta(None))) == ([user], None)
    assert split_list_envelope({"data": [1], "meta": {"next_cursor": UNSET}}) == ([1], None)
    assert split_list_envelope({"data": [1], "meta": {"next_cursor": None}}) == ([1], None)
    assert split_list_envelope({"data": [1]}) == ([1], None)
    assert split_list_envelope({"data": "text"}) is None
    assert split_list_envelope({"data": [1], "meta": {"next_cursor": 5}}) is None
    assert split_list_envelope(None) is None


def _user_pages(request: httpx.Request) -> httpx.Response:
    """The users of PAGES, one page per cursor, as the list endpoint answers."""
    numbers, next_cursor = PAGES[request.url.params.get("cursor")]
    users = [{**USER, "id": f"usr_{n}", "email": f"{n}@example.com"} for n in numbers]
    return httpx.Response(200, json={"data": users, "meta": {"next_cursor": next_cursor}})


async def test_paginate_works_on_a_generated_asyncio_function(router: respx.MockRouter) -> None:
    """paginate() pages through a generated `asyncio` list function, passing its kwargs."""
    route = router.get("/api/v1/users").mock(side_effect=_user_pages)
    async with AuthenticatedClient(base_url=TENANT, token="tok") as client:
        ids = [u.id async for u in paginate(list_users.asyncio, client=client, limit=3)]
    assert ids == [f"usr_{n}" for n in range(1, 9)]
    requests = [call.request for call in route.calls]
    assert [r.url.params.get("limit") for r in requests] == ["3", "3", "3"]
    assert [r.url.params.get("cursor") for r in requests] == [None, "c2", "c3"]
    assert all(r.headers["Authorization"] == "Bearer tok" for r in requests)


def detailed(status: int, parsed: Any, content: bytes = b"") -> Response[Any]:
    """A generated ``asyncio_detailed`` result."""
    return Response(
        status_code=HTTPStatus(status),
        content=content,
        headers={"X-Request-Id": "req_9"},
        parsed=parsed,
    )


async def test_paginate_works_on_asyncio_detailed_and_maps_errors() -> None:
    """paginate() unwraps `asyncio_detailed` responses and raises mapped errors for non-2xx."""

    async def ok(**kwargs: Any) -> Response[Any]:
        return detailed(200, {"data": [1, 2], "meta": {"next_cursor": None}})

    assert [item async for item in paginate(ok)] == [1, 2]

    async def missing(**kwargs: Any) -> Response[Any]:
        return detailed(404, None, b'{"error":"not_found","message":"gone"}')

    with pytest.raises(NotFoundError) as info:
        await paginate(missing)
    assert info.value.request_id == "req_9"


async def test_paginate_refuses_a_non_list_result() -> None:
    """paginate() over a function that returns no list envelope raises PaginationError."""

    async def not_a_list(**kwargs: Any) -> Any:
        return {"data": {"id": "x"}}

    with pytest.raises(PaginationError, match="list envelope"):
        await paginate(not_a_list)


async def test_paginate_takes_a_start_cursor_and_max_items() -> None:
    """paginate(cursor=..., max_items=...) starts at the cursor and stops at the cap."""
    server = FakeServer()

    async def fetch(*, cursor: str | None = None) -> dict[str, Any]:
        numbers, next_cursor = await server.fetch(cursor)
        return {"data": list(numbers), "meta": {"next_cursor": next_cursor}}

    items = [item async for item in paginate(fetch, cursor="c2", max_items=4)]
    assert items == [4, 5, 6, 7]


def test_page_repr_hides_the_fetcher() -> None:
    """A page's repr shows its items and cursor only."""

    async def fetch(cursor: str | None) -> tuple[list[int], str | None]:
        return [], None

    page: Page[int] = Page(items=[1], next_cursor="n", fetch=fetch)
    assert repr(page) == "Page(items=[1], next_cursor='n')"
    assert len(page) == 1


async def test_page_error_response_is_not_httpx_error() -> None:
    """A 5xx detailed response is an InternalServerError carrying the body's start."""

    async def failing(**kwargs: Any) -> Response[Any]:
        return detailed(503, None, b"<html>down</html>")

    with pytest.raises(InternalServerError) as info:
        await paginate(failing)
    assert info.value.status_code == 503
    assert "down" in info.value.message


# -- ends on hostile servers, O(1) per page ------------------------------------------------


async def test_empty_pages_with_cursors_stop_after_max_empty_pages() -> None:
    """The MAX_EMPTY_PAGES-th empty page in a row with a next cursor raises PaginationError."""
    fetched: list[str | None] = []

    async def empty(cursor: str | None) -> tuple[Sequence[int], str | None]:
        fetched.append(cursor)
        return [], f"c{len(fetched)}"

    with pytest.raises(PaginationError, match="empty pages in a row"):
        _ = [item async for item in AsyncPaginator(empty).with_max_items(5)]
    assert len(fetched) == MAX_EMPTY_PAGES
    # One empty page is a page like any other: awaiting the paginator returns it.
    assert list((await AsyncPaginator(empty)).items) == []


async def test_an_empty_last_page_and_runs_below_the_bound_are_fine() -> None:
    """Empty pages followed by items, or an empty last page, end normally."""
    pages: dict[str | None, tuple[list[int], str | None]] = {}
    cursor: str | None = None
    for n in range(MAX_EMPTY_PAGES - 1):  # the longest run that is followed
        pages[cursor], cursor = ([], f"e{n}"), f"e{n}"
    pages[cursor] = ([1], "last")
    pages["last"] = ([], None)
    server = FakeServer(pages)
    assert [item async for item in AsyncPaginator(server.fetch)] == [1]
    assert len(server.cursors) == MAX_EMPTY_PAGES + 1


async def test_next_page_twice_on_one_page_fetches_the_same_page_twice() -> None:
    """next_page() on an earlier page again works, and cycles are still found on each path."""
    server = FakeServer({None: ([1], "a"), "a": ([2], "b"), "b": ([3], "c"), "c": ([4], "a")})
    first = await AsyncPaginator(server.fetch)
    second = await first.next_page()
    again = await first.next_page()
    assert list(again.items) == list(second.items) == [2]
    third = await second.next_page()
    assert third.next_cursor == "c"
    with pytest.raises(PaginationError, match="'a' twice"):
        await (await again.next_page()).next_page()
    # The server now answers page "a" with a fresh cursor: the branch from `first` is new.
    server.pages["a"] = ([9], "z")
    server.pages["z"] = ([10], None)
    branch = await first.next_page()
    assert list((await branch.next_page()).items) == [10]
    with pytest.raises(PaginationError, match="'a' twice"):  # the old path still holds "a"
        await third.next_page()


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_cursor_tracking_matches_a_set_per_page(data: st.DataObject) -> None:
    """Whatever order next_page() is called in, a repeat is found exactly when the cursor
    is on the page's own path (the old frozenset-per-page rule), and empty runs likewise."""
    alphabet = st.sampled_from(["a", "b", "c", "d", "e", None])
    answers: list[tuple[list[int], str | None]] = []

    async def fetch(cursor: str | None) -> tuple[Sequence[int], str | None]:
        return answers.pop()

    async def run() -> None:
        first_answer = ([0], data.draw(alphabet))
        answers.append(first_answer)
        page = await AsyncPaginator(fetch)
        # Each model page: (the page, the cursors on its path, its run of empty pages).
        model: list[tuple[Page[int], frozenset[str], int]] = [(page, frozenset(), 0)]
        for _ in range(data.draw(st.integers(0, 25))):
            open_pages = [entry for entry in model if entry[0].next_cursor is not None]
            if not open_pages:
                return
            parent, path, run_length = data.draw(st.sampled_from(open_pages))
            empty = data.draw(st.booleans())
            next_cursor = data.draw(alphabet)
            answers.append(([] if empty else [1], next_cursor))
            assert parent.next_cursor is not None
            own_path = path | {parent.next_cursor}
            new_run = run_length + 1 if empty and next_cursor is not None else 0
            repeated = next_cursor is not None and next_cursor in own_path
            if repeated or new_run >= MAX_EMPTY_PAGES:
                with pytest.raises(PaginationError):
                    await parent.next_page()
                continue
            model.append((await parent.next_page(), own_path, new_run))

    anyio.run(run)
