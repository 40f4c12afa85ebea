"""RedisTokenCache against a real redis-server: storage, locking, degradation, a fleet of 8."""

from __future__ import annotations

import http.server
import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import respx
from redis.asyncio import Redis

from intelliauth_ext import DPoPKey
from intelliauth_ext._auth import AccessToken, CacheKey, ClientCredentials, RedisTokenCache

from .auth_fakes import TOKEN_URL, TokenEndpoint
from .redis_server import free_port

pytestmark = pytest.mark.anyio

WORKER = Path(__file__).with_name("redis_fleet_worker.py")
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def anyio_backend() -> str:
    """redis.asyncio runs on asyncio only (the trio case is tested for its clear error)."""
    return "asyncio"


def key(client_id: str = "c") -> CacheKey:
    return CacheKey.for_client(token_url=TOKEN_URL, client_id=client_id, client_secret="s")


def token(value: str = "t", lifetime: float = 3600) -> AccessToken:
    return AccessToken(access_token=value, expires_at=time.time() + lifetime, lifetime=lifetime)


async def test_round_trip_with_ttl(redis: Redis, prefix: str) -> None:
    """A stored token reads back equal, under a hashed key, with the lifetime as TTL."""
    cache = RedisTokenCache(redis, prefix=prefix)
    stored = token("abc", lifetime=120)
    await cache.set(key(), stored)
    assert await cache.get(key()) == stored
    assert await cache.get(key("other")) is None
    names = [name.decode() async for name in redis.scan_iter(match=f"{prefix}*")]
    assert names == [f"{prefix}{key().digest()}"]
    assert 119_000 < await redis.pttl(names[0]) <= 120_000
    raw = await redis.get(names[0])
    assert raw is not None
    assert json.loads(raw)["expires_at"] == stored.expires_at  # wall-clock epoch


async def test_unreadable_entry_reads_as_missing(redis: Redis, prefix: str) -> None:
    """A corrupted or foreign value under the key is treated as no token."""
    cache = RedisTokenCache(redis, prefix=prefix)
    for junk in (b"not json", b"[1,2]", b'{"access_token": 5}', b"\xff\xfe"):
        await redis.set(f"{prefix}{key().digest()}", junk)
        assert await cache.get(key()) is None


async def test_discard_is_compare_and_delete(redis: Redis, prefix: str) -> None:
    """discard deletes only when the stored token is the one that failed."""
    cache = RedisTokenCache(redis, prefix=prefix)
    await cache.set(key(), token("new"))
    await cache.discard(key(), token("old"))
    assert (await cache.get(key())) is not None
    await cache.discard(key(), token("new"))
    assert await cache.get(key()) is None


async def test_concurrent_caches_fetch_once(redis_url: str, prefix: str) -> None:
    """Eight cache instances (as eight processes would) racing for one key fetch once."""
    caches = [RedisTokenCache(redis_url, prefix=prefix) for _ in range(8)]
    fetches = 0
    gate = anyio.Event()
    started = anyio.Event()

    async def fetch() -> AccessToken:
        nonlocal fetches
        fetches += 1
        started.set()
        await gate.wait()
        return token("shared")

    results: list[str] = []

    async def call(cache: RedisTokenCache) -> None:
        results.append((await cache.get_or_fetch(key(), fetch, lambda t: True)).access_token)

    async with anyio.create_task_group() as tg:
        for cache in caches:
            tg.start_soon(call, cache)
        with anyio.fail_after(5):
            await started.wait()
        await anyio.sleep(0.1)  # the others are polling Redis now (real time: real processes)
        gate.set()
    for cache in caches:
        await cache.aclose()
    assert fetches == 1
    assert results == ["shared"] * 8


async def test_crashed_lock_holder_blocks_only_until_the_lock_expires(
    redis: Redis, prefix: str
) -> None:
    """A lock left by a dead process expires after lock_timeout and a waiter takes over."""
    cache = RedisTokenCache(redis, prefix=prefix, lock_timeout=0.3, poll_interval=0.01)
    await redis.set(f"{prefix}{key().digest()}:lock", "dead-process", px=300)
    started = time.monotonic()

    async def fetch() -> AccessToken:
        return token("after-crash")

    with anyio.fail_after(5):
        got = await cache.get_or_fetch(key(), fetch, lambda t: True)
    assert got.access_token == "after-crash"
    assert 0.2 < time.monotonic() - started < 3


async def test_cancelled_holder_releases_the_lock(redis: Redis, prefix: str) -> None:
    """Cancelling the process that holds the lock releases it and stores nothing."""
    cache = RedisTokenCache(redis, prefix=prefix)
    entered = anyio.Event()

    async def hang() -> AccessToken:
        entered.set()
        await anyio.sleep_forever()
        raise AssertionError

    async with anyio.create_task_group() as tg:
        tg.start_soon(cache.get_or_fetch, key(), hang, lambda t: True)
        await entered.wait()
        assert await redis.exists(f"{prefix}{key().digest()}:lock")
        tg.cancel_scope.cancel()
    assert not await redis.exists(f"{prefix}{key().digest()}:lock")
    assert await cache.get(key()) is None


async def test_lock_release_never_deletes_another_holders_lock(redis: Redis, prefix: str) -> None:
    """If our lock expired and another process took it, our release leaves theirs alone."""
    cache = RedisTokenCache(redis, prefix=prefix, lock_timeout=0.05)
    lock = f"{prefix}{key().digest()}:lock"

    async def slow_fetch() -> AccessToken:
        await anyio.sleep(0.15)  # our lock expires meanwhile ...
        await redis.set(lock, "someone-else", px=10_000)  # ... and another takes it
        return token("mine")

    await cache.get_or_fetch(key(), slow_fetch, lambda t: True)
    assert await redis.get(lock) == b"someone-else"


async def test_unreachable_redis_degrades_to_a_local_fetch(prefix: str) -> None:
    """With Redis down, get_or_fetch logs and fetches for this process instead of failing."""
    cache = RedisTokenCache(f"redis://127.0.0.1:{free_port()}/0", prefix=prefix)

    async def fetch() -> AccessToken:
        return token("local")

    assert (await cache.get_or_fetch(key(), fetch, lambda t: True)).access_token == "local"
    await cache.aclose()


@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_trio_gets_a_clear_error(redis_url: str) -> None:
    """On trio, RedisTokenCache says it needs asyncio instead of failing obscurely."""
    cache = RedisTokenCache(redis_url)
    with pytest.raises(RuntimeError, match="asyncio backend"):
        await cache.get(key())


async def test_manager_with_redis_cache_single_flight(redis_url: str, prefix: str) -> None:
    """ClientCredentials over RedisTokenCache: 2 managers x 100 concurrent calls, 1 request."""
    endpoint = TokenEndpoint()
    endpoint.gate = anyio.Event()
    caches = [RedisTokenCache(redis_url, prefix=prefix) for _ in range(2)]
    managers = [ClientCredentials(TOKEN_URL, "c", "s", cache=cache) for cache in caches]
    with respx.mock() as router:  # mocks httpx only: Redis traffic is real
        router.post(TOKEN_URL).mock(side_effect=endpoint)
        tokens: list[str] = []

        async def call(manager: ClientCredentials) -> None:
            tokens.append((await manager.get_token()).access_token)

        async with anyio.create_task_group() as tg:
            for manager in managers:
                for _ in range(100):
                    tg.start_soon(call, manager)
            with anyio.fail_after(5):
                await endpoint.received.wait()
            await anyio.sleep(0.1)  # the other manager is polling Redis now
            endpoint.gate.set()
    for cache in caches:
        await cache.aclose()
    assert endpoint.count == 1
    assert tokens == ["tok-1"] * 200


class _CountingTokenServer:
    """A real HTTP token endpoint on loopback, in a thread, counting token requests."""

    def __init__(self, delay: float) -> None:
        self.count = 0
        self._lock = threading.Lock()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                with server._lock:
                    server.count += 1
                    number = server.count
                time.sleep(delay)  # a slow endpoint: every process is waiting meanwhile
                body = json.dumps(
                    {"access_token": f"fleet-{number}", "token_type": "Bearer", "expires_in": 3600}
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/oauth/token"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> _CountingTokenServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.mark.slow
def test_fleet_of_eight_processes_makes_one_token_request(redis_url: str, prefix: str) -> None:
    """8 real processes x 100 concurrent first calls, one Redis: ONE token request in total."""
    with _CountingTokenServer(delay=0.3) as server:
        workers = [
            subprocess.Popen(
                [sys.executable, str(WORKER), redis_url, server.url, prefix, "100"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                cwd=REPO,
            )
            for _ in range(8)
        ]
        try:
            for worker in workers:
                assert worker.stdout is not None
                line = worker.stdout.readline().strip()
                assert line == "ready", worker.stderr.read() if worker.stderr else line
            for worker in workers:  # all start together
                assert worker.stdin is not None
                worker.stdin.write("go\n")
                worker.stdin.flush()
            outputs = [worker.communicate(timeout=60) for worker in workers]
        finally:
            for worker in workers:
                if worker.poll() is None:
                    worker.kill()
                    worker.wait()
        tokens: list[str] = []
        for worker, (stdout, stderr) in zip(workers, outputs, strict=True):
            assert worker.returncode == 0, stderr
            tokens.extend(json.loads(stdout.strip().splitlines()[-1]))
        assert server.count == 1
        assert tokens == ["fleet-1"] * 800


async def test_dpop_keys_never_share_a_token_in_redis(redis_url: str, prefix: str) -> None:
    """Managers of one client on one Redis cache: a token per DPoP key, shared per key."""

    def bound(request: httpx.Request) -> httpx.Response:
        endpoint.requests.append(request)
        body = {"access_token": endpoint.next_token(), "token_type": "DPoP", "expires_in": 3600}
        return httpx.Response(200, json=body)

    endpoint = TokenEndpoint()
    first_key, second_key = DPoPKey.generate(), DPoPKey.generate()
    cache = RedisTokenCache(redis_url, prefix=prefix)
    managers = [
        ClientCredentials(TOKEN_URL, "c", "s", cache=cache, dpop=key)
        for key in (first_key, second_key, first_key)
    ]
    with respx.mock() as router:  # mocks httpx only: Redis traffic is real
        router.post(TOKEN_URL).mock(side_effect=bound)
        tokens = [(await manager.get_token()).access_token for manager in managers]
    assert tokens[0] != tokens[1]
    assert tokens[2] == tokens[0]
    assert endpoint.count == 2
    assert all("DPoP" in request.headers for request in endpoint.requests)
    await cache.aclose()
