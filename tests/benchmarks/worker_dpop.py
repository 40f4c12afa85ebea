"""DPoP measurements in a fresh process; prints the result as one JSON line.

Usage: ``python worker_dpop.py <measurement> <json arguments>`` (the argv/JSON convention
of ``bench_worker.py``, whose timing helpers it uses). CPU figures are this process's own
user+sys time (``time.process_time``) around the measured loop only.

- ``get_user``: CPU per ``users.get`` of an ``IntelliAuth`` client with a cached token,
  ``mode`` ``bearer`` (client credentials) or ``dpop`` (the same, with an ES256
  ``DPoPKey``: each request signs a proof);
- ``proof``: CPU per ``DPoPKey.proof`` (one signature, with ``ath``) for each algorithm.
"""

from __future__ import annotations

import asyncio
import gc
import json
import sys
import time
from typing import Any

from bench_worker import CLIENT_ID, CLIENT_SECRET, cpu_per_call


async def get_user(args: dict[str, Any]) -> dict[str, Any]:
    """CPU per ``users.get`` with a Bearer or a DPoP-bound token (cached)."""
    from intelliauth_ext import DPoPKey, IntelliAuth

    dpop = DPoPKey.generate("ES256") if args["mode"] == "dpop" else None
    async with IntelliAuth(
        args["base"], client_id=CLIENT_ID, client_secret=CLIENT_SECRET, dpop=dpop
    ) as sdk:

        async def request() -> Any:
            return await sdk.users.get("usr_01")

        us = await cpu_per_call(request, args["requests"], args["in_flight"], args["warmup"])
    return {"us": us}


async def proof(args: dict[str, Any]) -> dict[str, Any]:
    """CPU per proof (a signature over the claims, ``ath`` included) for each algorithm."""
    from intelliauth_ext import DPoPKey

    result: dict[str, float] = {}
    for alg in args["algorithms"]:
        key = DPoPKey.generate(alg)
        for _ in range(50):
            key.proof("GET", "http://127.0.0.1/api/v1/users/usr_01", access_token="tok_1")
        gc.collect()
        started = time.process_time()
        for _ in range(args["proofs"]):
            key.proof("GET", "http://127.0.0.1/api/v1/users/usr_01", access_token="tok_1")
        result[alg] = (time.process_time() - started) / args["proofs"] * 1e6
    return {"us": result}


MEASUREMENTS = {"get_user": get_user, "proof": proof}


def main() -> None:
    """Run the named measurement and print its JSON result as the last stdout line."""
    name, raw = sys.argv[1], sys.argv[2]
    result = asyncio.run(MEASUREMENTS[name](json.loads(raw)))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
