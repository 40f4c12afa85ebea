"""RedisFlowStore against a real redis-server, and sign-ins split across real processes."""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import anyio
import httpx
import pytest
from redis.asyncio import Redis

from intelliauth_ext import PendingAuthorization, RedisFlowStore
from intelliauth_ext.testing import TEST_USER_EMAIL, TEST_USER_PASSWORD, Sandbox
from intelliauth_ext.testing._threaded import serve_in_thread

pytestmark = pytest.mark.anyio

WORKER = Path(__file__).with_name("redis_flow_worker.py")
REPO = Path(__file__).resolve().parents[2]
SECRET = "flow-store-secret-of-the-test-app-0123456789"
CALLBACK = "http://localhost:8000/callback"


@pytest.fixture
def anyio_backend() -> str:
    """redis.asyncio runs on asyncio only."""
    return "asyncio"


def pending(state: str = "state-1", ttl: float = 600) -> PendingAuthorization:
    return PendingAuthorization(
        state=state,
        nonce="nonce-value-1",
        code_verifier="v" * 64,
        redirect_uri=CALLBACK,
        expires_at=time.time() + ttl,
    )


async def the_key(redis: Redis, prefix: str) -> str:
    (key,) = await redis.keys(f"{prefix}*")
    return str(key.decode())


async def test_save_and_take_once_with_the_sign_ins_ttl(redis: Redis, prefix: str) -> None:
    """A round trip; a second take finds nothing; the key expires with the sign-in."""
    store = RedisFlowStore(redis, secret=SECRET, prefix=prefix)
    await store.save(pending(ttl=120))
    key = await the_key(redis, prefix)
    assert "state-1" not in key  # hashed
    assert 110_000 < await redis.pttl(key) <= 120_000
    taken = await store.take("state-1")
    assert taken is not None
    assert (taken.state, taken.nonce, taken.code_verifier, taken.redirect_uri) == (
        "state-1",
        "nonce-value-1",
        "v" * 64,
        CALLBACK,
    )
    assert await store.take("state-1") is None
    assert await redis.keys(f"{prefix}*") == []


async def test_no_secret_is_stored_in_clear_text(redis: Redis, prefix: str) -> None:
    """Redis holds ciphertext: neither the verifier, the nonce nor the state appear."""
    store = RedisFlowStore(redis, secret=SECRET, prefix=prefix)
    await store.save(pending())
    raw: bytes = await redis.get(await the_key(redis, prefix))
    for secret in (b"v" * 64, b"nonce-value-1", b"state-1"):
        assert secret not in raw
    assert SECRET not in repr(store)


async def test_a_client_that_decodes_responses_works_too(redis_url: str, prefix: str) -> None:
    """Sealed values are text, so a ``decode_responses=True`` client reads them."""
    client = Redis.from_url(redis_url, decode_responses=True)
    store = RedisFlowStore(client, secret=SECRET, prefix=prefix)
    await store.save(pending())
    assert await store.take("state-1") is not None
    await client.aclose()


async def test_a_foreign_tampered_or_moved_value_is_refused(redis: Redis, prefix: str) -> None:
    """Another secret, an altered value, a value moved under another state: None, no raise."""
    store = RedisFlowStore(redis, secret=SECRET, prefix=prefix)
    other = RedisFlowStore(redis, secret="x" * 32, prefix=prefix)
    await other.save(pending())
    assert await store.take("state-1") is None  # sealed with another app's secret

    await store.save(pending())
    key = await the_key(redis, prefix)
    raw: bytes = await redis.get(key)
    flipped = raw[:20] + (b"A" if raw[20:21] != b"A" else b"B") + raw[21:]
    await redis.set(key, flipped)
    assert await store.take("state-1") is None

    await store.save(pending("state-2"))
    moved: bytes = await redis.getdel(await the_key(redis, prefix))
    await redis.set(store._key("state-3"), moved)
    assert await store.take("state-3") is None  # bound to state-2's key

    for junk in (b"not base64 !", b"", b"A" * 40, b"x" * 100_000):
        await redis.set(store._key("state-4"), junk)
        assert await store.take("state-4") is None


async def test_a_rotated_secret_still_opens_sign_ins_in_progress(redis: Redis, prefix: str) -> None:
    """secret=[new, old]: sign-ins sealed with the old secret complete."""
    old = RedisFlowStore(redis, secret=SECRET, prefix=prefix)
    await old.save(pending())
    rotated = RedisFlowStore(redis, secret=["n" * 32, SECRET], prefix=prefix)
    assert await rotated.take("state-1") is not None


def test_a_short_secret_is_refused() -> None:
    """A secret under 32 bytes (or none) is a ValueError at construction."""
    with pytest.raises(ValueError, match="32 bytes"):
        RedisFlowStore("redis://127.0.0.1:1/0", secret="short")
    with pytest.raises(ValueError, match="at least one"):
        RedisFlowStore("redis://127.0.0.1:1/0", secret=[])


async def test_concurrent_takes_of_one_state_succeed_once(redis_url: str, prefix: str) -> None:
    """Twenty stores on their own connections take one state at once: one gets it."""
    stores = [RedisFlowStore(redis_url, secret=SECRET, prefix=prefix) for _ in range(20)]
    await stores[0].save(pending())
    results: list[PendingAuthorization | None] = []

    async def take(store: RedisFlowStore) -> None:
        results.append(await store.take("state-1"))

    async with anyio.create_task_group() as group:
        for store in stores:
            group.start_soon(take, store)
    assert sum(result is not None for result in results) == 1
    for store in stores:
        await store.aclose()


# -- real processes -----------------------------------------------------------------


def worker(
    command: str, redis_url: str, sandbox: Sandbox, client_id: str, prefix: str
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(WORKER), command, redis_url, sandbox.url, client_id, CALLBACK, prefix],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env={**os.environ, "FLOW_STORE_SECRET": SECRET},
    )


def answer(process: subprocess.Popen[str]) -> dict[str, str]:
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line, process.stderr.read() if process.stderr else "no answer"
    result: dict[str, str] = json.loads(line)
    return result


def finish(process: subprocess.Popen[str]) -> None:
    try:
        process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def sign_in_at_the_provider(authorization_url: str, sandbox: Sandbox) -> str:
    """What the browser does: the login page, the user's password; the callback URL."""
    with httpx.Client(trust_env=False) as browser:
        page = browser.get(authorization_url, follow_redirects=True)
        form = {
            name: html.unescape(value)
            for name, value in re.findall(
                r'type="hidden" name="([^"]+)" value="([^"]*)"', page.text
            )
        }
        form.update(email=TEST_USER_EMAIL, password=TEST_USER_PASSWORD)
        approved = browser.post(f"{sandbox.url}/_sandbox/login", data=form)
    callback = approved.headers["location"]
    assert callback.startswith(CALLBACK)
    return str(callback)


@pytest.mark.slow
@pytest.mark.parametrize("completers", [1, 2], ids=["another-process", "two-at-once"])
def test_a_sign_in_started_in_one_process_completes_in_another(
    redis_url: str, prefix: str, completers: int
) -> None:
    """Process A starts the sign-in; the callback lands on process B and completes. With
    two processes handed the same callback at once, exactly one signs the user in and
    the other is refused as a replay."""
    with serve_in_thread() as sandbox:
        client = sandbox.add_client(name="web", public=True, redirect_uris=(CALLBACK,))
        starter = worker("start", redis_url, sandbox, client.client_id, prefix)
        started = answer(starter)
        finish(starter)
        callback = sign_in_at_the_provider(started["url"], sandbox)
        assert f"state={started['state']}" in callback
        processes = [
            worker("complete", redis_url, sandbox, client.client_id, prefix)
            for _ in range(completers)
        ]
        try:
            for process in processes:
                assert process.stdout is not None
                assert process.stdout.readline().strip() == "ready", (
                    process.stderr and process.stderr.read()
                )
            for process in processes:  # both at once
                assert process.stdin is not None
                process.stdin.write(callback + "\n")
                process.stdin.flush()
            results = [answer(process) for process in processes]
        finally:
            for process in processes:
                finish(process)
        signed_in = [result for result in results if "signed_in" in result]
        refused = [result for result in results if "refused" in result]
        assert [result["signed_in"] for result in signed_in] == [sandbox.test_user["id"]]
        assert refused == [{"refused": "InvalidCallbackError", "check": "replay"}] * (
            completers - 1
        )
