"""CacheKey and InMemoryTokenCache: what names a token, sharing, compare-and-delete."""

from __future__ import annotations

from collections.abc import Iterator

import anyio
import attrs
import pytest
import respx

from intelliauth_ext._auth import (
    AccessToken,
    CacheKey,
    ClientCredentials,
    InMemoryTokenCache,
    RedisTokenCache,
    TokenCache,
)

from .auth_fakes import TOKEN_URL, FakeClock, TokenEndpoint

pytestmark = pytest.mark.anyio


def key(**overrides: object) -> CacheKey:
    fields: dict[str, object] = {
        "token_url": TOKEN_URL,
        "client_id": "c",
        "client_secret": "secret-one",
        "audience": "https://api",
        "scopes": ("b", "a"),
    }
    fields.update(overrides)
    return CacheKey.for_client(**fields)  # type: ignore[arg-type]


def token(value: str = "t", *, expires_at: float = 2e9, lifetime: float = 3600) -> AccessToken:
    return AccessToken(access_token=value, expires_at=expires_at, lifetime=lifetime)


def test_key_is_stable_and_scope_order_free() -> None:
    """The same settings give the same key and digest; scope order and repeats do not matter."""
    assert key() == key(scopes=["a", "b", "a"])
    assert key().digest() == key(scopes=("a", "b")).digest()
    assert key().scopes == ("a", "b")


@pytest.mark.parametrize(
    "change",
    [
        {"token_url": "https://other/token"},
        {"client_id": "d"},
        {"audience": None},
        {"scopes": ("a",)},
        {"client_secret": "secret-two"},
        {"extra_params": {"resource": "urn:x"}},
    ],
)
def test_key_distinguishes_what_changes_the_token(change: dict[str, object]) -> None:
    """URL, client, audience, scopes, secret and extra params each give another key."""
    assert key(**change) != key()
    assert key(**change).digest() != key().digest()


def test_key_never_holds_the_secret() -> None:
    """Neither the key's fields, its repr nor its digest contain the secret."""
    cache_key = key(client_secret="hunter2-very-secret")
    assert "hunter2" not in repr(cache_key)
    assert "hunter2" not in str(attrs.asdict(cache_key))
    for value in (cache_key.secret_fingerprint, cache_key.params_fingerprint, cache_key.digest()):
        assert "hunter2" not in value
    assert len(cache_key.secret_fingerprint) == 64


def test_caches_satisfy_the_protocol() -> None:
    """Both caches are TokenCaches (runtime-checkable protocol)."""
    assert isinstance(InMemoryTokenCache(), TokenCache)
    assert issubclass(RedisTokenCache, TokenCache)


def test_access_token_round_trips_and_rejects_garbage() -> None:
    """as_dict/from_dict round-trip; a malformed stored dict reads as None."""
    original = AccessToken(access_token="t", expires_at=5.0, lifetime=3.0, scope="a b")
    assert AccessToken.from_dict(original.as_dict()) == original
    for bad in (
        {},
        {"access_token": "t"},
        {"access_token": "t", "expires_at": "1", "lifetime": 3},
        {"access_token": "t", "expires_at": 1, "lifetime": 0},
        {"access_token": "t t", "expires_at": 1, "lifetime": 3},
        {"access_token": 5, "expires_at": 1, "lifetime": 3},
        {"access_token": "t", "expires_at": True, "lifetime": 3},
    ):
        assert AccessToken.from_dict(bad) is None


async def test_discard_only_removes_the_same_token() -> None:
    """discard is compare-and-delete: a newer token under the key survives."""
    cache = InMemoryTokenCache()
    await cache.set(key(), token("new"))
    await cache.discard(key(), token("old"))
    assert (await cache.get(key())) == token("new")
    await cache.discard(key(), token("new"))
    assert await cache.get(key()) is None


async def test_get_or_fetch_is_single_flight_per_key() -> None:
    """Concurrent get_or_fetch calls for one key run one fetch; other keys are independent."""
    cache = InMemoryTokenCache()
    gate = anyio.Event()
    fetches: list[str] = []

    def fetcher(name: str):  # type: ignore[no-untyped-def]
        async def fetch() -> AccessToken:
            fetches.append(name)
            await gate.wait()
            return token(name)

        return fetch

    results: list[str] = []

    async def call(cache_key: CacheKey, name: str) -> None:
        results.append(
            (await cache.get_or_fetch(cache_key, fetcher(name), lambda t: True)).access_token
        )

    async with anyio.create_task_group() as tg:
        for index in range(50):
            tg.start_soon(call, key(), f"a{index}")
        tg.start_soon(call, key(client_id="other"), "b")
        await anyio.wait_all_tasks_blocked()
        gate.set()
    assert len(fetches) == 2  # one fetch per key (trio starts tasks in any order)
    assert "b" in fetches
    leader = next(name for name in fetches if name != "b")
    assert results.count(leader) == 50


async def test_cancelled_fetch_leaves_the_old_entry() -> None:
    """A fetch cancelled mid-way stores nothing: the previous entry is still there."""
    cache = InMemoryTokenCache()
    await cache.set(key(), token("old"))

    async def never() -> AccessToken:
        await anyio.sleep_forever()
        raise AssertionError

    with anyio.move_on_after(0):
        await cache.get_or_fetch(key(), never, lambda t: False)
    assert (await cache.get(key())) == token("old")


async def test_failed_fetch_leaves_the_old_entry() -> None:
    """A fetch that raises stores nothing."""
    cache = InMemoryTokenCache()
    await cache.set(key(), token("old"))

    async def boom() -> AccessToken:
        raise RuntimeError("no")

    with pytest.raises(RuntimeError):
        await cache.get_or_fetch(key(), boom, lambda t: False)
    assert (await cache.get(key())) == token("old")


@pytest.fixture
def endpoint() -> Iterator[TokenEndpoint]:
    endpoint = TokenEndpoint()
    with respx.mock() as router:
        router.post(TOKEN_URL).mock(side_effect=endpoint)
        yield endpoint


async def test_managers_sharing_a_cache_share_tokens(endpoint: TokenEndpoint) -> None:
    """Two managers with one InMemoryTokenCache and the same credentials fetch once."""
    cache = InMemoryTokenCache()
    clock = FakeClock()
    first = ClientCredentials(TOKEN_URL, "c", "s", cache=cache, clock=clock)
    second = ClientCredentials(TOKEN_URL, "c", "s", cache=cache, clock=clock)
    other = ClientCredentials(TOKEN_URL, "c", "wrong", cache=cache, clock=clock)
    assert (await first.get_token()).access_token == "tok-1"
    assert (await second.get_token()).access_token == "tok-1"
    assert (await other.get_token()).access_token == "tok-2"  # another secret, another key
    assert endpoint.count == 2


async def test_a_rejected_token_in_a_shared_cache_is_not_reused(endpoint: TokenEndpoint) -> None:
    """After invalidate(), the cache's copy of that token is refused and replaced."""
    cache = InMemoryTokenCache()
    clock = FakeClock()
    first = ClientCredentials(TOKEN_URL, "c", "s", cache=cache, clock=clock)
    second = ClientCredentials(TOKEN_URL, "c", "s", cache=cache, clock=clock)
    await first.get_token()
    await second.get_token()
    clock.advance(100)
    second.invalidate()
    assert (await second.get_token()).access_token == "tok-2"
    assert (await cache.get(second.cache_key)) is not None
    assert (await cache.get(second.cache_key)).access_token == "tok-2"  # type: ignore[union-attr]
    clock.advance(3440)  # first's tok-1 is due; the cache offers tok-2, which is fresh
    assert (await first.get_token()).access_token == "tok-2"
    assert endpoint.count == 2
