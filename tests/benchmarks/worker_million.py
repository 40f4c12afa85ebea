"""Streaming a million users in a fresh process; prints its result as one JSON line.

Usage: ``python worker_million.py stream <json arguments>`` (as ``bench_worker.py``), run
by ``scenario_million.py``: ``async for`` over ``users.list(limit=100)`` to the end of
the list, resident memory sampled along the way.
"""

from __future__ import annotations

import asyncio
import gc
import json
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bench_worker import CLIENT_ID, CLIENT_SECRET


async def stream(args: dict[str, Any]) -> dict[str, Any]:
    """RSS (MB) after the first ``warm`` users and every ``every`` users after; the count."""
    import psutil

    from intelliauth_ext import IntelliAuth

    process = psutil.Process()
    warm, every = args["warm"], args["every"]
    checkpoints: list[tuple[int, float]] = []
    count = 0
    started = time.process_time()
    async with IntelliAuth(args["base"], client_id=CLIENT_ID, client_secret=CLIENT_SECRET) as sdk:
        async for _user in sdk.users.list(limit=100):
            count += 1
            if count == warm or (count > warm and count % every == 0):
                gc.collect()
                checkpoints.append((count, process.memory_info().rss / 2**20))
    cpu = time.process_time() - started
    gc.collect()
    checkpoints.append((count, process.memory_info().rss / 2**20))
    return {"count": count, "checkpoints": checkpoints, "cpu_s": cpu}


MEASUREMENTS: dict[str, Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]] = {
    "stream": stream,
}


def main() -> None:
    """Run the named measurement and print its JSON result as the last stdout line."""
    name, raw = sys.argv[1], sys.argv[2]
    result = asyncio.run(MEASUREMENTS[name](json.loads(raw)))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
