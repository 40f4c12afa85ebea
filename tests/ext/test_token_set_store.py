"""RefreshingAuth with a TokenSetStore: load on first use, seed, update, one refresh per expiry."""

from __future__ import annotations

from collections.abc import Iterator

import anyio
import pytest
import respx

from intelliauth_ext._auth import RefreshingAuth
from intelliauth_ext._errors import InvalidGrantError
from intelliauth_ext._token_set import TokenSet
from intelliauth_ext._token_set_store import InMemoryTokenSetStore, TokenSetStore, same_tokens

from .auth_fakes import TOKEN_URL, WALL_START, FakeClock, RotatingServer

pytestmark = pytest.mark.anyio

SESSION = "session-1"


@pytest.fixture
def server() -> RotatingServer:
    return RotatingServer()


@pytest.fixture
def mock(server: RotatingServer) -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        router.post(TOKEN_URL).mock(side_effect=server)
        yield router


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def signed_in(expires_in: float = 3600) -> TokenSet:
    return TokenSet(access_token="at-0", refresh_token="rt-0", expires_at=WALL_START + expires_in)


def holder(
    store: TokenSetStore, clock: FakeClock, token_set: TokenSet | None = None, **options: object
) -> RefreshingAuth:
    """One holder of the session: a worker process, in miniature."""
    return RefreshingAuth(
        token_set,
        token_url=TOKEN_URL,
        client_id="web-app",
        client_secret="app-secret",
        clock=clock,
        store=store,
        store_key=SESSION,
        **options,  # type: ignore[arg-type]
    )


async def test_tokens_are_loaded_from_the_store_on_first_use(
    mock: respx.MockRouter, server: RotatingServer, clock: FakeClock
) -> None:
    store = InMemoryTokenSetStore()
    await store.save(SESSION, signed_in())
    auth = holder(store, clock)
    with pytest.raises(RuntimeError, match="not loaded"):
        _ = auth.token_set
    assert (await auth.get_token_set()).access_token == "at-0"
    assert auth.token_set.access_token == "at-0"
    assert server.requests == []


async def test_an_empty_store_without_a_token_set_means_sign_in(
    mock: respx.MockRouter, clock: FakeClock
) -> None:
    auth = holder(InMemoryTokenSetStore(), clock)
    with pytest.raises(InvalidGrantError, match="must sign in"):
        await auth.get_token_set()


async def test_a_given_token_set_seeds_an_empty_key_and_the_store_wins_otherwise(
    mock: respx.MockRouter, clock: FakeClock
) -> None:
    store = InMemoryTokenSetStore()
    seeded = holder(store, clock, signed_in())
    await seeded.get_token_set()
    stored = await store.load(SESSION)
    assert stored is not None
    assert stored.access_token == "at-0"
    newer = TokenSet(access_token="at-9", refresh_token="rt-9", expires_at=WALL_START + 3600)
    await store.save(SESSION, newer)
    late = holder(store, clock, signed_in())
    assert (await late.get_token_set()).access_token == "at-9"


async def test_update_writes_the_new_sign_in_to_the_store(
    mock: respx.MockRouter, clock: FakeClock
) -> None:
    store = InMemoryTokenSetStore()
    auth = holder(store, clock, signed_in())
    await auth.get_token_set()
    again = TokenSet(access_token="at-new", refresh_token="rt-new", expires_at=WALL_START + 3600)
    auth.update(again)
    assert (await auth.get_token_set()).access_token == "at-new"
    stored = await store.load(SESSION)
    assert stored is not None
    assert same_tokens(stored, again)


async def test_many_holders_of_one_expired_session_refresh_once(
    mock: respx.MockRouter, server: RotatingServer, clock: FakeClock
) -> None:
    """Eight holders x 20 calls on an expired session, against a server with reuse
    detection: one refresh request, no invalid_grant, everyone ends on the new tokens, and
    only the holder that refreshed runs its on_token_update hook."""
    store = InMemoryTokenSetStore()
    await store.save(SESSION, signed_in(expires_in=-10))
    updates: list[TokenSet] = []

    async def persist(token_set: TokenSet) -> None:
        updates.append(token_set)

    holders = [holder(store, clock, on_token_update=persist) for _ in range(8)]
    results: list[TokenSet] = []

    async def call(auth: RefreshingAuth) -> None:
        results.append(await auth.get_token_set())

    async with anyio.create_task_group() as group:
        for auth in holders:
            for _ in range(20):
                group.start_soon(call, auth)
    assert len(server.requests) == 1
    assert not server.revoked
    assert {token_set.access_token for token_set in results} == {"at-1"}
    assert [token_set.refresh_token for token_set in updates] == ["rt-1"]
    stored = await store.load(SESSION)
    assert stored is not None
    assert stored.refresh_token == "rt-1"


async def test_a_holder_that_missed_a_rotation_adopts_it_instead_of_reusing(
    mock: respx.MockRouter, server: RotatingServer, clock: FakeClock
) -> None:
    """Holder B still holds rt-0 after A rotated it: B's refresh adopts A's tokens."""
    store = InMemoryTokenSetStore()
    await store.save(SESSION, signed_in(expires_in=100))
    first, second = holder(store, clock), holder(store, clock)
    await first.get_token_set()
    await second.get_token_set()
    clock.advance(100)
    assert (await first.get_token_set()).refresh_token == "rt-1"
    assert (await second.get_token_set()).refresh_token == "rt-1"
    assert len(server.requests) == 1
    assert not server.revoked
    # The next expiry is refreshed once more, by whichever holder comes first.
    clock.advance(3600)
    assert (await second.get_token_set()).refresh_token == "rt-2"
    assert (await first.get_token_set()).refresh_token == "rt-2"
    assert len(server.requests) == 2
    assert not server.revoked


async def test_without_a_store_two_holders_race_and_lose_the_family(
    mock: respx.MockRouter, server: RotatingServer, clock: FakeClock
) -> None:
    """What the store prevents: two in-memory holders of one session both refresh."""
    a = RefreshingAuth(signed_in(-10), token_url=TOKEN_URL, client_id="web-app", clock=clock)
    b = RefreshingAuth(signed_in(-10), token_url=TOKEN_URL, client_id="web-app", clock=clock)
    await a.get_token_set()
    with pytest.raises(InvalidGrantError):
        await b.get_token_set()
    assert server.revoked


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({}, "needs a token_set, or a store"),
        ({"store": InMemoryTokenSetStore()}, "store and store_key go together"),
        ({"store_key": "k", "token_set": signed_in()}, "store and store_key go together"),
        ({"store": InMemoryTokenSetStore(), "store_key": ""}, "store and store_key"),
    ],
)
def test_store_arguments_are_checked(arguments: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RefreshingAuth(token_url=TOKEN_URL, client_id="web-app", **arguments)  # type: ignore[arg-type]


def test_repr_shows_no_token_and_says_where_they_are(clock: FakeClock) -> None:
    auth = holder(InMemoryTokenSetStore(), clock)
    assert "<in the store>" in repr(auth)
    seeded = holder(InMemoryTokenSetStore(), clock, signed_in())
    assert "rt-0" not in repr(seeded)
    assert "at-0" not in repr(seeded)
