"""One process of the fleet test: waits for "go", then makes 100 concurrent first calls.

Usage: python redis_fleet_worker.py REDIS_URL TOKEN_URL PREFIX CONCURRENCY
Prints "ready", waits for a line on stdin, then prints the JSON list of tokens it got.
"""

from __future__ import annotations

import json
import sys

import anyio
import anyio.to_thread

from intelliauth_ext._auth import ClientCredentials, RedisTokenCache


async def main(redis_url: str, token_url: str, prefix: str, concurrency: int) -> None:
    cache = RedisTokenCache(redis_url, prefix=prefix)
    manager = ClientCredentials(token_url, "fleet-client", "fleet-secret", cache=cache)
    await cache.get(manager.cache_key)  # connect before the start signal
    print("ready", flush=True)
    await anyio.to_thread.run_sync(sys.stdin.readline)
    tokens: list[str] = []

    async def call() -> None:
        tokens.append((await manager.get_token()).access_token)

    async with anyio.create_task_group() as task_group:
        for _ in range(concurrency):
            task_group.start_soon(call)
    print(json.dumps(tokens), flush=True)
    await manager.aclose()
    await cache.aclose()


if __name__ == "__main__":
    redis_url, token_url, prefix, concurrency = sys.argv[1:5]
    anyio.run(main, redis_url, token_url, prefix, int(concurrency))
