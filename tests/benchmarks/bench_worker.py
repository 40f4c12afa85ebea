"""One benchmark measurement in a fresh process; prints its result as one JSON line.

Usage: ``python bench_worker.py <measurement> <json arguments>``. Run by
``run_benchmarks.py``; a ``cpus`` argument pins the process to those CPUs. Every CPU
figure is this process's own user+sys time (``time.process_time``) around the measured
loop only (imports and warm-up excluded).
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

CLIENT_ID = "bench-client"
CLIENT_SECRET = "bench-secret"  # a fixture value for the canned server
STATIC_HEADERS = {"Authorization": "Bearer tok_static"}

Request = Callable[[], Awaitable[Any]]


async def run_concurrently(request: Request, total: int, in_flight: int) -> None:
    """Send ``total`` requests with ``in_flight`` of them outstanding at any time."""
    remaining = total

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await request()

    await asyncio.gather(*(worker() for _ in range(in_flight)))


async def cpu_per_call(request: Request, total: int, in_flight: int, warmup: int) -> float:
    """Microseconds of this process's CPU per call of ``request``."""
    await run_concurrently(request, warmup, in_flight)
    gc.collect()
    started = time.process_time()
    await run_concurrently(request, total, in_flight)
    return (time.process_time() - started) / total * 1e6


# -- scenario 1: one users.get, cached token ---------------------------------------------


async def get_user(args: dict[str, Any]) -> dict[str, Any]:
    """CPU per ``users.get`` (or the same GET by hand) for one client library."""
    base: str = args["base"]
    target: str = args["client"]
    total, in_flight, warmup = args["requests"], args["in_flight"], args["warmup"]
    url = f"{base}/api/v1/users/usr_01"
    token_url = f"{base}/oauth2/token"

    if target == "sdk":
        from intelliauth_ext import IntelliAuth

        async with IntelliAuth(base, client_id=CLIENT_ID, client_secret=CLIENT_SECRET) as sdk:

            async def sdk_request() -> Any:
                return await sdk.users.get("usr_01")

            return {"us": await cpu_per_call(sdk_request, total, in_flight, warmup)}

    if target == "aiohttp":
        import aiohttp

        async with aiohttp.ClientSession() as session:

            async def aiohttp_request() -> Any:
                async with session.get(url, headers=STATIC_HEADERS) as response:
                    response.raise_for_status()
                    return json.loads(await response.read())

            return {"us": await cpu_per_call(aiohttp_request, total, in_flight, warmup)}

    client: httpx.AsyncClient
    if target == "httpx":
        client = httpx.AsyncClient(headers=STATIC_HEADERS)
    elif target == "httpx_aiohttp":
        from httpx_aiohttp import AiohttpTransport

        client = httpx.AsyncClient(headers=STATIC_HEADERS, transport=AiohttpTransport())
    elif target == "authlib":
        from authlib.integrations.httpx_client import AsyncOAuth2Client

        client = AsyncOAuth2Client(CLIENT_ID, CLIENT_SECRET, token_endpoint=token_url)
    elif target == "httpx_auth":
        import httpx_auth

        auth = httpx_auth.OAuth2ClientCredentials(token_url, CLIENT_ID, CLIENT_SECRET)
        client = httpx.AsyncClient(auth=auth)
    else:
        raise ValueError(f"unknown client {target!r}")

    async with client:
        if target == "authlib":
            await client.fetch_token(token_url, grant_type="client_credentials")

        async def httpx_request() -> Any:
            response = await client.get(url)
            response.raise_for_status()
            return response.json()

        return {"us": await cpu_per_call(httpx_request, total, in_flight, warmup)}


# -- scenario 2: users.list ----------------------------------------------------------------


def _raw_client() -> httpx.AsyncClient:
    """httpx over the SDK's default transport on asyncio (its aiohttp transport)."""
    from intelliauth_ext._transports._aiohttp import AiohttpTransport

    return httpx.AsyncClient(headers=STATIC_HEADERS, transport=AiohttpTransport())


async def list_page(args: dict[str, Any]) -> dict[str, Any]:
    """CPU per page of ``limit`` users: the SDK (models) or by hand (``response.json()``)."""
    base: str = args["base"]
    limit: int = args["limit"]
    total, warmup = args["requests"], args["warmup"]
    if args["client"] == "sdk":
        from intelliauth_ext import IntelliAuth

        async with IntelliAuth(base, client_id=CLIENT_ID, client_secret=CLIENT_SECRET) as sdk:

            async def sdk_page() -> Any:
                page = await sdk.users.list(limit=limit)
                assert len(page.items) == limit
                return page

            return {"us": await cpu_per_call(sdk_page, total, 1, warmup)}

    async with _raw_client() as client:

        async def raw_page() -> Any:
            response = await client.get(f"{base}/api/v1/users", params={"limit": limit})
            response.raise_for_status()
            body = response.json()
            assert len(body["data"]) == limit
            return body

        return {"us": await cpu_per_call(raw_page, total, 1, warmup)}


async def iterate_users(args: dict[str, Any]) -> dict[str, Any]:
    """CPU to iterate every user (100 pages of 100): the paginator or a hand-written loop."""
    base: str = args["base"]
    rounds: int = args["requests"]

    if args["client"] == "sdk":
        from intelliauth_ext import IntelliAuth

        async with IntelliAuth(base, client_id=CLIENT_ID, client_secret=CLIENT_SECRET) as sdk:

            async def sdk_all() -> Any:
                count = 0
                async for _user in sdk.users.list(limit=100):
                    count += 1
                assert count == 10_000, count

            return {"ms": await cpu_per_call(sdk_all, rounds, 1, 1) / 1000}

    async with _raw_client() as client:

        async def hand_loop() -> Any:
            count = 0
            params: dict[str, Any] = {"limit": 100}
            while True:
                response = await client.get(f"{base}/api/v1/users", params=params)
                response.raise_for_status()
                body = response.json()
                for _user in body["data"]:
                    count += 1
                next_cursor = body["meta"].get("next_cursor")
                if not next_cursor:
                    break
                params = {"limit": 100, "cursor": next_cursor}
            assert count == 10_000, count

        return {"ms": await cpu_per_call(hand_loop, rounds, 1, 1) / 1000}


# -- scenario 3: cold start ----------------------------------------------------------------


async def cold_start(args: dict[str, Any]) -> dict[str, Any]:
    """1,000 concurrent first calls while a ticker task measures event-loop lateness."""
    base: str = args["base"]
    concurrency: int = args["concurrency"]
    url = f"{base}/api/v1/users/usr_01"
    tick = 0.001
    samples: list[tuple[float, float]] = []  # (sleep started, woke up)
    stop = asyncio.Event()

    async def ticker() -> None:
        while not stop.is_set():
            started = time.monotonic()
            await asyncio.sleep(tick)
            samples.append((started, time.monotonic()))

    tick_task = asyncio.create_task(ticker())
    await asyncio.sleep(0.05)
    started = time.monotonic()
    if args["client"] == "sdk":
        from intelliauth_ext import IntelliAuth

        async with IntelliAuth(base, client_id=CLIENT_ID, client_secret=CLIENT_SECRET) as sdk:
            await asyncio.gather(*(sdk.users.get("usr_01") for _ in range(concurrency)))
    else:
        import httpx_auth

        auth = httpx_auth.OAuth2ClientCredentials(f"{base}/oauth2/token", CLIENT_ID, CLIENT_SECRET)
        async with httpx.AsyncClient(auth=auth, timeout=60) as client:
            responses = await asyncio.gather(*(client.get(url) for _ in range(concurrency)))
            assert all(r.status_code == 200 for r in responses)
    elapsed = time.monotonic() - started
    await asyncio.sleep(0.05)
    stop.set()
    await tick_task
    return {"samples": samples, "elapsed": elapsed}


# -- scenario 4: a fleet sharing a Redis cache -----------------------------------------------


async def fleet_member(args: dict[str, Any]) -> dict[str, Any]:
    """100 concurrent first calls in this process, after a "go" line on stdin."""
    from intelliauth_ext import IntelliAuth
    from intelliauth_ext._auth import ClientCredentials, RedisTokenCache

    base: str = args["base"]
    cache = None
    if args["redis_url"]:
        cache = RedisTokenCache(args["redis_url"], prefix=args["prefix"])
    manager = ClientCredentials(f"{base}/oauth2/token", CLIENT_ID, CLIENT_SECRET, cache=cache)
    if cache is not None:
        await cache.get(manager.cache_key)  # connect before the start signal
    async with IntelliAuth(base, auth=manager) as sdk:
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        await asyncio.gather(*(sdk.users.get("usr_01") for _ in range(args["concurrency"])))
    await manager.aclose()
    if cache is not None:
        await cache.aclose()
    return {"token_requests": manager.token_requests}


# -- scenario 7: soak ----------------------------------------------------------------------


def _open_fds() -> list[str]:
    """The targets of this process's open file descriptors (sockets, pipes, files)."""
    fds = []
    for name in os.listdir("/proc/self/fd"):
        try:
            fds.append(os.readlink(f"/proc/self/fd/{name}"))
        except OSError:
            continue  # the descriptor listdir itself used
    return sorted(fds)


async def soak(args: dict[str, Any]) -> dict[str, Any]:
    """RSS after the first ``warm`` and after ``total`` requests; fds before and after."""
    import psutil

    from intelliauth_ext import IntelliAuth

    base: str = args["base"]
    total, warm, in_flight = args["requests"], args["warm"], args["in_flight"]
    process = psutil.Process()
    import aiohttp  # noqa: F401 - imported before the fd census, as the client would

    fds_before = _open_fds()
    checkpoints: list[tuple[int, float]] = []
    sdk = IntelliAuth(base, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)

    async def request() -> Any:
        return await sdk.users.get("usr_01")

    done = 0
    step = warm
    while done < total:
        await run_concurrently(request, step, in_flight)
        done += step
        gc.collect()
        checkpoints.append((done, process.memory_info().rss / 2**20))
    fds_open = len(_open_fds())
    await sdk.aclose()
    await asyncio.sleep(0.1)  # let the event loop finish closing the sockets
    gc.collect()
    fds_after = _open_fds()
    leaked = [fd for fd in fds_after if fd not in fds_before]
    return {
        "checkpoints": checkpoints,
        "fds_before": len(fds_before),
        "fds_while_open": fds_open,
        "fds_after": len(fds_after),
        "leaked": leaked,
    }


async def parse_breakdown(args: dict[str, Any]) -> dict[str, Any]:
    """Where a page's parse goes: µs per item of a 100-user page, best of 9 repeats.

    No network: the bytes the server sends, parsed in this process. ``json_decode`` is
    ``json.loads`` of those bytes alone; ``typed`` is what the SDK does with them
    (``UserList.from_json``: msgspec decodes, validates and builds the models in one pass);
    ``unknown_fields`` the same for a page whose every user carries a field the contract
    does not describe (the second decoding path, which keeps it); ``from_dict`` the
    pre-msgspec way, ``UserList.from_dict(json.loads(...))``, which checks nothing.
    """
    import timeit

    from bench_server import user

    from intelliauth_client.models.user_list import UserList

    items = [user(f"usr_{i:05d}") for i in range(100)]
    body = json.dumps({"data": items, "meta": {"next_cursor": None}}).encode()
    newer = [{**item, "nickname": "ada"} for item in items]
    body_unknown = json.dumps({"data": newer, "meta": {"next_cursor": None}}).encode()
    assert UserList.from_json(body) == UserList.from_dict(json.loads(body))

    def per_item(run: Callable[[], object], number: int = 200) -> float:
        return min(timeit.repeat(run, number=number, repeat=9)) / number / 100 * 1e6

    return {
        "json_decode": per_item(lambda: json.loads(body)),
        "typed": per_item(lambda: UserList.from_json(body)),
        "unknown_fields": per_item(lambda: UserList.from_json(body_unknown)),
        "from_dict": per_item(lambda: UserList.from_dict(json.loads(body))),
    }


MEASUREMENTS: dict[str, Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]] = {
    "get_user": get_user,
    "list_page": list_page,
    "parse_breakdown": parse_breakdown,
    "iterate_users": iterate_users,
    "cold_start": cold_start,
    "fleet_member": fleet_member,
    "soak": soak,
}


def main() -> None:
    """Run the named measurement and print its JSON result as the last stdout line."""
    name, raw = sys.argv[1], sys.argv[2]
    arguments = json.loads(raw)
    if arguments.get("cpus") is not None:  # pinned, as the scenario's CPU layout says
        os.sched_setaffinity(0, set(arguments["cpus"]))
    result = asyncio.run(MEASUREMENTS[name](arguments))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
