"""RedisTokenSetStore against a real redis-server: storage, sealing, the lease, and real fleets."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import pytest
from redis.asyncio import Redis

from intelliauth_ext import (
    InvalidGrantError,
    RedisTokenSetStore,
    RefreshingAuth,
    TokenSet,
    TokenStoreError,
    TokenStoreUnavailableError,
)
from intelliauth_ext._token_set_store import same_tokens

from .redis_server import free_port
from .rotating_token_server import RotatingTokenServer, Stall

pytestmark = pytest.mark.anyio

WORKER = Path(__file__).with_name("redis_session_worker.py")
REPO = Path(__file__).resolve().parents[2]
SESSION = "sess_4f1c0e"
SECRET = "s" * 32


@pytest.fixture
def anyio_backend() -> str:
    """redis.asyncio runs on asyncio only (the trio case is tested for its clear error)."""
    return "asyncio"


def tokens(number: int = 0, *, expires_at: float | None = None) -> TokenSet:
    return TokenSet(
        access_token=f"at-{number}",
        refresh_token=f"rt-{number}",
        expires_at=time.time() + 3600 if expires_at is None else expires_at,
    )


class Refresher:
    """A ``RefreshOnce`` that counts its calls and may wait, fail, or meddle."""

    def __init__(self, *, delay: float = 0.0, error: Exception | None = None) -> None:
        self.calls: list[TokenSet] = []
        self.delay = delay
        self.error = error

    async def __call__(self, current: TokenSet) -> TokenSet:
        self.calls.append(current)
        await anyio.sleep(self.delay)
        if self.error is not None:
            raise self.error
        return tokens(int(current.access_token.split("-")[1]) + 1)


async def only_key(redis: Redis, prefix: str, *, lease: bool = False) -> str:
    keys = sorted(key.decode() for key in await redis.keys(f"{prefix}*"))
    return next(key for key in keys if key.endswith(":lease") == lease)


# -- storage --------------------------------------------------------------------------


async def test_save_load_delete_under_a_hashed_key(redis: Redis, prefix: str) -> None:
    """A round trip; the key is a hash of the session id (a credential), never the id."""
    store = RedisTokenSetStore(redis, prefix=prefix)
    assert await store.load(SESSION) is None
    await store.save(SESSION, tokens(3))
    loaded = await store.load(SESSION)
    assert loaded is not None
    assert same_tokens(loaded, tokens(3))
    key = await only_key(redis, prefix)
    assert SESSION not in key
    assert key.startswith(prefix + "{")  # braces: the lease shares its Redis Cluster slot
    assert key.endswith("}")
    await store.delete(SESSION)
    await store.delete(SESSION)  # no error when gone
    assert await store.load(SESSION) is None


async def test_ttl_is_set_on_every_write(redis: Redis, prefix: str) -> None:
    """With ttl=, a session Redis no longer hears about expires on its own."""
    store = RedisTokenSetStore(redis, prefix=prefix, ttl=120)
    await store.save(SESSION, tokens(0, expires_at=time.time() - 1))
    key = await only_key(redis, prefix)
    assert 110_000 < await redis.pttl(key) <= 120_000
    await redis.persist(key)
    await store.refresh(SESSION, tokens(0), Refresher())
    assert 110_000 < await redis.pttl(key) <= 120_000


async def test_a_sealed_store_keeps_no_token_in_clear_text(redis: Redis, prefix: str) -> None:
    """With secret=, Redis holds AES-GCM ciphertext; the store reads it back."""
    store = RedisTokenSetStore(redis, prefix=prefix, secret=SECRET)
    await store.save(SESSION, tokens(5))
    raw = await redis.get(await only_key(redis, prefix))
    assert b"at-5" not in raw
    assert b"rt-5" not in raw
    loaded = await store.load(SESSION)
    assert loaded is not None
    assert same_tokens(loaded, tokens(5))
    assert "sealed" in repr(store)
    assert SECRET not in repr(store)


async def test_a_value_sealed_elsewhere_or_altered_is_refused(redis: Redis, prefix: str) -> None:
    """Another secret, a flipped byte, a value moved to another key: TokenStoreError."""
    store = RedisTokenSetStore(redis, prefix=prefix, secret=SECRET)
    await store.save(SESSION, tokens(1))
    key = await only_key(redis, prefix)
    other = RedisTokenSetStore(redis, prefix=prefix, secret="o" * 32)
    with pytest.raises(TokenStoreError, match="does not open"):
        await other.load(SESSION)
    raw: bytes = await redis.get(key)
    await redis.set(key, raw[:-2] + (b"A" if raw[-2:-1] != b"A" else b"B") + raw[-1:])
    with pytest.raises(TokenStoreError, match="does not open"):
        await store.load(SESSION)
    await store.save("another-session", tokens(2))
    moved: bytes = await redis.get(store._value_key("another-session"))
    await redis.set(key, moved)
    with pytest.raises(TokenStoreError, match="does not open"):
        await store.load(SESSION)
    rotated = RedisTokenSetStore(redis, prefix=prefix, secret=["n" * 32, SECRET])
    assert await rotated.load("another-session") is not None  # the old secret still opens


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[1, 2]",
        b'{"refresh_token": "rt"}',
        b"{" * 100_000,
        json.dumps({"access_token": "a" * 70_000}).encode(),
        b"\xff\xfe",
    ],
    ids=["not-json", "array", "no-access-token", "nested", "oversized", "not-utf8"],
)
async def test_a_corrupt_value_is_a_token_store_error(
    redis: Redis, prefix: str, raw: bytes
) -> None:
    """Whatever the key holds, load and refresh raise TokenStoreError, never a parser error."""
    store = RedisTokenSetStore(redis, prefix=prefix)
    await redis.set(store._value_key(SESSION), raw)
    with pytest.raises(TokenStoreError) as caught:
        await store.load(SESSION)
    assert caught.value.__cause__ is None or not isinstance(caught.value.__cause__, ValueError)
    refresher = Refresher()
    with pytest.raises(TokenStoreError):
        await store.refresh(SESSION, tokens(0), refresher)
    assert refresher.calls == []


def test_bad_options_are_refused() -> None:
    """A lease under a second, a short secret, a ttl that is not positive: ValueError."""
    with pytest.raises(ValueError, match="lease_seconds"):
        RedisTokenSetStore("redis://127.0.0.1:1/0", lease_seconds=0.5)
    with pytest.raises(ValueError, match="32 bytes"):
        RedisTokenSetStore("redis://127.0.0.1:1/0", secret="short")
    with pytest.raises(ValueError, match="ttl"):
        RedisTokenSetStore("redis://127.0.0.1:1/0", ttl=0)


@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_trio_gets_a_clear_error(redis_url: str) -> None:
    """On trio, the store says it needs asyncio instead of failing obscurely."""
    store = RedisTokenSetStore(redis_url)
    with pytest.raises(RuntimeError, match="asyncio backend"):
        await store.load(SESSION)


# -- the lease ------------------------------------------------------------------------


async def test_a_newer_stored_set_is_adopted_without_refreshing(redis: Redis, prefix: str) -> None:
    """Another holder stored a newer set: refresh returns it and spends nothing."""
    store = RedisTokenSetStore(redis, prefix=prefix)
    await store.save(SESSION, tokens(4))
    refresher = Refresher()
    fresh = await store.refresh(SESSION, tokens(3), refresher)
    assert same_tokens(fresh, tokens(4))
    assert refresher.calls == []


async def test_holders_on_separate_connections_refresh_once(
    redis_url: str, redis: Redis, prefix: str
) -> None:
    """Twelve stores (twelve connections) x 5 concurrent refreshes: one refresh, one result."""
    stores = [RedisTokenSetStore(redis_url, prefix=prefix) for _ in range(12)]
    await stores[0].save(SESSION, tokens(0))
    refresher = Refresher(delay=0.2)
    results: list[TokenSet] = []

    async def refresh(store: RedisTokenSetStore) -> None:
        results.append(await store.refresh(SESSION, tokens(0), refresher))

    async with anyio.create_task_group() as group:
        for store in stores:
            for _ in range(5):
                group.start_soon(refresh, store)
    assert len(refresher.calls) == 1
    assert {token_set.access_token for token_set in results} == {"at-1"}
    assert await redis.keys(f"{prefix}*:lease") == []  # released
    for store in stores:
        await store.aclose()


async def test_a_dead_holders_lease_delays_the_others_at_most_its_lifetime(
    redis: Redis, prefix: str
) -> None:
    """A lease nobody releases (its holder died): the next holder leads once it expires."""
    store = RedisTokenSetStore(redis, prefix=prefix, lease_seconds=1.5)
    await store.save(SESSION, tokens(0))
    await redis.set(store._value_key(SESSION) + ":lease", "dead-holder", px=1500)
    refresher = Refresher()
    started = time.monotonic()
    fresh = await store.refresh(SESSION, tokens(0), refresher)
    waited = time.monotonic() - started
    assert same_tokens(fresh, tokens(1))
    assert len(refresher.calls) == 1
    assert 1.3 < waited < 1.5 + 1.0


async def test_a_holder_that_lost_its_lease_writes_nothing(redis: Redis, prefix: str) -> None:
    """The fenced write: a leader whose lease passed to another never overwrites the value."""
    store = RedisTokenSetStore(redis, prefix=prefix)
    await store.save(SESSION, tokens(0))
    lease_key = store._value_key(SESSION) + ":lease"

    async def meddle(current: TokenSet) -> TokenSet:
        # Our lease expired meanwhile, another holder took it and stored a newer set.
        await redis.set(lease_key, "another-holder", px=10_000)
        await redis.set(store._value_key(SESSION), json.dumps(tokens(7).as_dict()))
        return tokens(1)

    with pytest.raises(TokenStoreError, match="lease ran out"):
        await store.refresh(SESSION, tokens(0), meddle)
    stored = await store.load(SESSION)
    assert stored is not None
    assert same_tokens(stored, tokens(7))
    assert await redis.get(lease_key) == b"another-holder"  # not ours: not released


async def test_a_refresh_slower_than_the_lease_allows_is_abandoned(
    redis: Redis, prefix: str
) -> None:
    """The exchange ends within 80 % of the lease, so it can not overlap the next holder's."""
    store = RedisTokenSetStore(redis, prefix=prefix, lease_seconds=1.0)
    await store.save(SESSION, tokens(0))
    started = time.monotonic()
    with pytest.raises(TokenStoreError, match="abandoned"):
        await store.refresh(SESSION, tokens(0), Refresher(delay=5))
    assert time.monotonic() - started < 1.0
    assert await redis.keys(f"{prefix}*:lease") == []
    stored = await store.load(SESSION)
    assert stored is not None
    assert same_tokens(stored, tokens(0))


async def test_waiting_is_bounded_by_the_lease(redis: Redis, prefix: str) -> None:
    """A lease held longer than this store's lease_seconds (plus a second) is an error."""
    store = RedisTokenSetStore(redis, prefix=prefix, lease_seconds=1.0)
    await store.save(SESSION, tokens(0))
    await redis.set(store._value_key(SESSION) + ":lease", "stuck", px=30_000)
    started = time.monotonic()
    with pytest.raises(TokenStoreError, match="longer than 1 s"):
        await store.refresh(SESSION, tokens(0), Refresher())
    assert 1.9 < time.monotonic() - started < 3.0


async def test_a_failed_refresh_releases_the_lease(redis: Redis, prefix: str) -> None:
    """The refresh's own error reaches the caller; the lease is released at once."""
    store = RedisTokenSetStore(redis, prefix=prefix)
    await store.save(SESSION, tokens(0))
    error = InvalidGrantError("invalid_grant", "revoked")
    with pytest.raises(InvalidGrantError):
        await store.refresh(SESSION, tokens(0), Refresher(error=error))
    assert await redis.keys(f"{prefix}*:lease") == []


# -- Redis unavailable ----------------------------------------------------------------


async def test_unreachable_redis_is_a_documented_error_and_nothing_is_refreshed() -> None:
    """No silent fallback: load, save, refresh and RefreshingAuth raise the store's error."""
    store = RedisTokenSetStore(f"redis://127.0.0.1:{free_port()}/0")
    with pytest.raises(TokenStoreUnavailableError, match="unavailable: ConnectionError"):
        await store.load(SESSION)
    with pytest.raises(TokenStoreUnavailableError):
        await store.save(SESSION, tokens(0))
    refresher = Refresher()
    with pytest.raises(TokenStoreUnavailableError):
        await store.refresh(SESSION, tokens(0), refresher)
    assert refresher.calls == []
    with RotatingTokenServer().running() as server:
        auth = RefreshingAuth(
            tokens(0, expires_at=time.time() - 10),
            token_url=server.token_url,
            client_id="web-app",
            store=store,
            store_key=SESSION,
        )
        with pytest.raises(TokenStoreUnavailableError):
            await auth.get_token_set()
        await auth.aclose()
        assert server.refresh_requests == 0
    assert isinstance(TokenStoreUnavailableError("x"), TokenStoreError)
    await store.aclose()


# -- real fleets ----------------------------------------------------------------------


class Fleet:
    """Worker processes serving one session (redis_session_worker.py)."""

    def __init__(
        self, count: int, redis_url: str, server: RotatingTokenServer, prefix: str, **options: Any
    ) -> None:
        calls = str(options.get("calls", 50))
        lease = str(options.get("lease", 10.0))
        self.processes = [
            subprocess.Popen(
                [
                    sys.executable,
                    str(WORKER),
                    redis_url,
                    server.token_url,
                    server.api_url,
                    prefix,
                    SESSION,
                    calls,
                    lease,
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                cwd=REPO,
            )
            for _ in range(count)
        ]
        for process in self.processes:
            assert process.stdout is not None
            line = process.stdout.readline().strip()
            assert line == "ready", process.stderr.read() if process.stderr else line

    def go(self, processes: list[subprocess.Popen[str]] | None = None) -> None:
        for process in processes or self.processes:
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()

    def results(self, processes: list[subprocess.Popen[str]] | None = None) -> list[Any]:
        answers = []
        for process in processes or self.processes:
            assert process.stdout is not None
            line = process.stdout.readline()
            assert line, process.stderr.read() if process.stderr else "no answer"
            answers.append(json.loads(line))
        return answers

    def close(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                assert process.stdin is not None
                try:
                    process.stdin.write("quit\n")
                    process.stdin.flush()
                    process.wait(timeout=10)
                except (OSError, subprocess.TimeoutExpired):
                    process.kill()
                    process.wait()
            for stream in (process.stdin, process.stdout, process.stderr):
                if stream is not None:
                    stream.close()


async def expire_session(redis: Redis, prefix: str, server: RotatingTokenServer) -> None:
    """Store the server's current tokens, expired: every holder must refresh before calling."""
    store = RedisTokenSetStore(redis, prefix=prefix)
    await store.save(SESSION, TokenSet.from_dict(server.session(time.time() - 10)))


@pytest.mark.slow
async def test_eight_processes_refresh_one_expired_session_once_per_expiry(
    redis_url: str, redis: Redis, prefix: str
) -> None:
    """8 processes x 50 concurrent calls on one expired session, 20 rounds, against a server
    that revokes the family on reuse: one refresh per expiry, no invalid_grant, 8000 x 200."""
    rounds, workers, calls = 20, 8, 50
    with RotatingTokenServer().running() as server:
        fleet = Fleet(workers, redis_url, server, prefix, calls=calls)
        try:
            longest_waits: list[float] = []
            for number in range(rounds):
                await expire_session(redis, prefix, server)
                before = server.refresh_requests
                fleet.go()
                results = await anyio.to_thread.run_sync(fleet.results)
                assert server.refresh_requests - before == 1, f"round {number}"
                assert [result["statuses"] for result in results] == [{"200": calls}] * workers
                leaders = [result for result in results if result["refreshes"]]
                assert len(leaders) == 1
                longest_waits.append(
                    max(result["longest"] for result in results if not result["refreshes"])
                )
        finally:
            fleet.close()
        assert server.refresh_requests == rounds
        assert server.invalid_grants == 0
        assert not server.revoked
        assert server.api_ok == rounds * workers * calls
        print(
            f"\nfleet: {rounds} expiries, {server.refresh_requests / rounds:.2f} refresh "
            f"requests per expiry, longest non-leader wait {max(longest_waits) * 1000:.0f} ms "
            f"(median of rounds {sorted(longest_waits)[rounds // 2] * 1000:.0f} ms)"
        )


@pytest.mark.slow
@pytest.mark.parametrize("stall", ["before_rotating", "after_rotating"])
async def test_a_lease_holder_killed_mid_refresh(
    redis_url: str, redis: Redis, prefix: str, stall: Stall
) -> None:
    """SIGKILL the process refreshing (its request hangs at the server): the others take
    over within the lease. Not rotated yet: the session survives. Rotated: the new
    refresh token died with the holder, and every other holder raises InvalidGrantError
    (cleanly: no other error, no half-written value)."""
    lease = 2.0
    with RotatingTokenServer().running() as server:
        await expire_session(redis, prefix, server)
        server.stall = stall
        leader = Fleet(1, redis_url, server, prefix, calls=5, lease=lease)
        others = Fleet(7, redis_url, server, prefix, calls=20, lease=lease)
        try:
            leader.go()
            assert await anyio.to_thread.run_sync(server.stalled.wait, 10)
            (lease_key,) = await redis.keys(f"{prefix}*:lease")
            lease_ends_at = time.time() + await redis.pttl(lease_key) / 1000
            others.go()
            await anyio.sleep(0.2)  # they are all waiting on the lease now
            killed_at = time.time()
            os.kill(leader.processes[0].pid, signal.SIGKILL)
            leader.processes[0].wait()
            results = await anyio.to_thread.run_sync(others.results)
        finally:
            server.release.set()
            leader.close()
            others.close()
        recovery = max(result["finished_at"] for result in results) - killed_at
        takeover = server.refresh_times[1] - lease_ends_at
        # Safety: nobody spent the refresh token again before the dead holder's lease ran
        # out. Liveness: no waiter gave up (each waits on one holder at most its lease plus
        # a second, else TokenStoreError: the statuses below show none), and the fleet was
        # done soon after the lease ran out; the generous bound is for a loaded machine
        # (eight Python processes on shared cores), the figure is printed.
        assert takeover > -0.05
        assert recovery < (lease_ends_at - killed_at) + 15.0
        statuses = [result["statuses"] for result in results]
        if stall == "before_rotating":
            assert statuses == [{"200": 20}] * 7
            assert server.refresh_requests == 2  # the killed one, and one takeover
            assert server.invalid_grants == 0
            stored = await RedisTokenSetStore(redis, prefix=prefix).load(SESSION)
            assert stored is not None
            assert stored.refresh_token == server.valid_refresh
        else:
            assert statuses == [{"InvalidGrantError": 20}] * 7
            assert server.invalid_grants >= 1
            assert server.revoked
            stored = await RedisTokenSetStore(redis, prefix=prefix).load(SESSION)
            assert stored is not None
            assert stored.refresh_token == "rt-0"  # the old set, whole: nothing half-written
        print(
            f"\nkilled leader ({stall}, lease {lease:g} s): the others were done "
            f"{recovery:.2f} s after the kill, {recovery - (lease_ends_at - killed_at):.2f} s "
            f"after the lease expired (takeover request {takeover:+.2f} s after it)"
        )
