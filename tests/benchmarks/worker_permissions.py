"""Permission check measurements in a fresh process; prints its result as one JSON line.

Usage: ``python worker_permissions.py <measurement> <json arguments>`` (as
``bench_worker.py``), run by ``scenario_permissions.py``. A ``cpus`` argument pins the
process to those CPUs.

- ``check``: CPU per ``resources.check_permission`` (``kind: single``) or per
  ``resources.batch_check_permissions`` of ``batch`` checks (``kind: batch``), cached
  token, for the SDK (``sdk``) or the same POST and ``json.loads`` by hand (``aiohttp``,
  ``httpx``).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from bench_worker import CLIENT_ID, CLIENT_SECRET, STATIC_HEADERS, cpu_per_call

RESOURCE_ID = "res_01JA1B2C3D4E5F6G7H8J9K0M1N"
USER_ID = "usr_01HZX3K9QW7E5R2T8Y6U4I0O1P"
PERMISSIONS = ("view", "edit", "delete", "share")


def _raw_check(index: int) -> dict[str, Any]:
    return {
        "resource_id": RESOURCE_ID,
        "permission": PERMISSIONS[index % len(PERMISSIONS)],
        "subject": {"kind": "user", "user_id": USER_ID},
    }


async def check(args: dict[str, Any]) -> dict[str, Any]:
    """Microseconds of this process's CPU per check (or per batch), ``in_flight`` at a time."""
    base: str = args["base"]
    target: str = args["client"]
    batch: int = args["batch"]
    single = args["kind"] == "single"
    total, in_flight, warmup = args["requests"], args["in_flight"], args["warmup"]
    path = "/api/v1/resources/permissions/" + ("check" if single else "batch-check")
    url = base + path
    request: Callable[[], Awaitable[Any]]

    if target == "sdk":
        from intelliauth_client.models import (
            BatchPermissionCheckRequest,
            PermissionCheckRequest,
            UserSubject,
        )
        from intelliauth_ext import IntelliAuth

        def check_request(index: int) -> PermissionCheckRequest:
            return PermissionCheckRequest(
                resource_id=RESOURCE_ID,
                permission=PERMISSIONS[index % len(PERMISSIONS)],
                subject=UserSubject(user_id=USER_ID),
            )

        async with IntelliAuth(base, client_id=CLIENT_ID, client_secret=CLIENT_SECRET) as sdk:
            resources = sdk.resources

            async def sdk_single() -> Any:
                result = await resources.check_permission(check_request(0))
                assert result.allowed is True
                return result

            async def sdk_batch() -> Any:
                body = BatchPermissionCheckRequest(
                    checks=[check_request(index) for index in range(batch)]
                )
                result = await resources.batch_check_permissions(body)
                assert len(result.results) == batch
                return result

            request = sdk_single if single else sdk_batch
            return {"us": await cpu_per_call(request, total, in_flight, warmup)}

    def raw_body() -> bytes:
        # Built per call, as the SDK builds its request model per call.
        if single:
            return json.dumps(_raw_check(0)).encode()
        return json.dumps({"checks": [_raw_check(index) for index in range(batch)]}).encode()

    def raw_answer(document: Any) -> Any:
        data = document["data"]
        if single:
            assert data["allowed"] is True
        else:
            assert len(data["results"]) == batch
        return data

    headers = {**STATIC_HEADERS, "Content-Type": "application/json"}
    if target == "aiohttp":
        import aiohttp

        async with aiohttp.ClientSession() as session:

            async def aiohttp_request() -> Any:
                async with session.post(url, data=raw_body(), headers=headers) as response:
                    response.raise_for_status()
                    return raw_answer(json.loads(await response.read()))

            return {"us": await cpu_per_call(aiohttp_request, total, in_flight, warmup)}

    if target == "httpx":
        import httpx

        async with httpx.AsyncClient(headers=headers) as client:

            async def httpx_request() -> Any:
                response = await client.post(url, content=raw_body())
                response.raise_for_status()
                return raw_answer(json.loads(response.content))

            return {"us": await cpu_per_call(httpx_request, total, in_flight, warmup)}
    raise ValueError(f"unknown client {target!r}")


MEASUREMENTS: dict[str, Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]] = {
    "check": check,
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
