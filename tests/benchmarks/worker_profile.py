"""Where a call's CPU goes: a cProfile of the SDK's hot paths, for a missed target's note.

Usage: ``python worker_profile.py <measurement> <json arguments>`` (as
``bench_worker.py``); run by the scenarios whose target was missed. The profile uses
``time.process_time`` (CPU, not wall time), so time the scheduler gives the server does
not show up in ``socket.send``; cProfile's own overhead inflates every Python call, so the
shares, not the microseconds, are the figures.
"""

from __future__ import annotations

import asyncio
import cProfile
import json
import os
import pstats
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bench_worker import CLIENT_ID, CLIENT_SECRET, run_concurrently

#: The checkout's folder, cut from the paths of the profile's functions.
_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))) + "/"

#: Where a function's cost is charged: the first of these its file path contains.
GROUPS = (
    ("intelliauth_client", "generated client"),
    ("intelliauth_ext/_transports", "intelliauth_ext transports"),
    ("intelliauth_ext/_auth", "intelliauth_ext auth"),
    ("intelliauth_ext/_invoker", "intelliauth_ext invoker"),
    ("intelliauth_ext", "intelliauth_ext other"),
    ("httpx", "httpx (Request, Response, Headers)"),
    ("aiohttp", "aiohttp"),
    ("yarl", "aiohttp"),
    ("multidict", "aiohttp"),
    ("msgspec", "msgspec"),
    ("asyncio", "asyncio event loop"),
)


def _group(filename: str) -> str:
    for marker, name in GROUPS:
        if marker in filename:
            return name
    return "other (builtins, json, stdlib)"


async def calls(args: dict[str, Any]) -> dict[str, Any]:
    """Profile ``requests`` calls of ``operation`` (``users.get`` or ``check_permission``)."""
    from intelliauth_ext import IntelliAuth

    base: str = args["base"]
    async with IntelliAuth(base, client_id=CLIENT_ID, client_secret=CLIENT_SECRET) as sdk:
        request: Callable[[], Awaitable[Any]]
        if args["operation"] == "check_permission":
            from intelliauth_client.models import PermissionCheckRequest, UserSubject

            async def check() -> Any:
                body = PermissionCheckRequest(
                    resource_id="res_01JA1B2C3D4E5F6G7H8J9K0M1N",
                    permission="view",
                    subject=UserSubject(user_id="usr_01HZX3K9QW7E5R2T8Y6U4I0O1P"),
                )
                return await sdk.resources.check_permission(body)

            request = check
        else:

            async def get_user() -> Any:
                return await sdk.users.get("usr_01")

            request = get_user
        await run_concurrently(request, args["warmup"], 20)
        profile = cProfile.Profile(time.process_time)
        profile.enable()
        await run_concurrently(request, args["requests"], 20)
        profile.disable()
    stats = pstats.Stats(profile)
    total = 0.0
    groups: dict[str, float] = {}
    functions: list[tuple[float, str]] = []
    for (filename, line, name), (_, _, own, cumulative, _) in stats.stats.items():  # type: ignore[attr-defined]
        total += own
        groups[_group(filename)] = groups.get(_group(filename), 0.0) + own
        if "intelliauth" in filename or "httpx" in filename:
            where = filename.split("site-packages/")[-1].removeprefix(_REPO)
            functions.append((cumulative, f"{where}:{line}({name})"))
    functions.sort(reverse=True)
    return {
        "groups": {name: own / total for name, own in sorted(groups.items(), key=lambda i: -i[1])},
        "top": [(name, cumulative / total) for cumulative, name in functions[:12]],
    }


def describe(result: dict[str, Any]) -> str:
    """The profile as one sentence for the report's notes."""
    groups = ", ".join(f"{name} {share:.0%}" for name, share in result["groups"].items())
    top = "; ".join(f"{name} {share:.0%}" for name, share in result["top"])
    return f"own CPU by package: {groups}. Cumulative, SDK and httpx functions: {top}."


MEASUREMENTS: dict[str, Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]] = {
    "calls": calls,
}


def main() -> None:
    """Run the named measurement and print its JSON result as the last stdout line."""
    name, raw = sys.argv[1], sys.argv[2]
    arguments = json.loads(raw)
    if arguments.get("cpus") is not None:
        os.sched_setaffinity(0, set(arguments["cpus"]))
    result = asyncio.run(MEASUREMENTS[name](arguments))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
