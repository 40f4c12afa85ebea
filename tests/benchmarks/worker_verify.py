"""Token verification measurements in a fresh process; prints its result as one JSON line.

Usage: ``python worker_verify.py <measurement> <json arguments>`` (as ``bench_worker.py``),
run by ``scenario_verify.py``. A ``cpus`` argument pins the process to those CPUs.

- ``mint``: tokens signed with the bench server's key, written to a JSON file.
- ``verify``: CPU per verification, in-process: ``TokenVerifier.verify_access_token``
  (``sdk``) and the floor, a hand-written check with joserfc on a cached key (``floor``),
  alternating on the same tokens; distinct tokens, or one again and again (``same``).
- ``serve``: a FastAPI app under uvicorn whose route depends on ``require_token``
  (``sdk``) or on the hand-written dependency (``floor``); prints ``ready`` and serves
  until terminated.
- ``load``: requests/s against such an app, from this separate process (aiohttp).
"""

# No ``from __future__ import annotations``: FastAPI reads the routes' annotations at run
# time, and closures' string annotations could not be resolved.
import asyncio
import gc
import json
import os
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.request import urlopen

AUDIENCE = "https://api.bench.test"
SCOPE = "users:read"
CLIENT_ID = "bench-client"
CLIENT_SECRET = "bench-secret"  # a fixture value for the canned server


def _signing_key(base: str) -> Any:
    from joserfc.jwk import RSAKey

    with urlopen(f"{base}/_signing_key") as answer:  # noqa: S310 - loopback
        return RSAKey.import_key(json.loads(answer.read()))


async def mint(args: dict[str, Any]) -> dict[str, Any]:
    """``count`` distinct access tokens (``typ: at+jwt``, RS256) for the bench issuer."""
    from joserfc import jwt

    base: str = args["base"]
    key = _signing_key(base)
    now = int(time.time())
    header = {"alg": "RS256", "typ": "at+jwt", "kid": key.kid}
    tokens = [
        jwt.encode(
            header,
            {
                "iss": base,
                "aud": AUDIENCE,
                "sub": f"usr_{number:06d}",
                "client_id": CLIENT_ID,
                "scope": f"openid {SCOPE} users:write",
                "iat": now,
                "exp": now + 4 * 3600,
                "jti": f"jti-{number}",
            },
            key,
            algorithms=["RS256"],
        )
        for number in range(args["count"])
    ]
    _write_tokens(args["path"], tokens)
    return {"count": len(tokens)}


def _write_tokens(path: str, tokens: list[str]) -> None:
    Path(path).write_text(json.dumps(tokens), encoding="utf-8")


def _read_tokens(path: str, *, same: bool) -> list[str]:
    """The minted tokens; with ``same``, as many copies of the first one."""
    tokens: list[str] = json.loads(Path(path).read_text(encoding="utf-8"))
    return [tokens[0]] * len(tokens) if same else tokens


def floor_checker(base: str) -> Callable[[str], dict[str, Any]]:
    """The hand-written floor: joserfc's decode and claim checks on a cached key.

    The same checks as ``verify_access_token(..., required_scopes=[SCOPE],
    require_at_jwt_type=True)``: RS256 only, ``typ`` at+jwt, ``iss``, ``aud``, ``exp``
    (and ``nbf``/``iat`` with the same 30 s leeway), and the scope.
    """
    import httpx
    from joserfc import jwt
    from joserfc.errors import JoseError
    from joserfc.jwk import KeySet

    keys = KeySet.import_key_set(httpx.get(f"{base}/jwks").json())
    key = keys.keys[0]
    claims_registry = jwt.JWTClaimsRegistry(
        leeway=30,
        iss={"essential": True, "value": base},
        aud={"essential": True, "value": AUDIENCE},
        exp={"essential": True},
    )

    def check(value: str) -> dict[str, Any]:
        try:
            token = jwt.decode(value, key, algorithms=["RS256"])
            if token.header.get("typ") != "at+jwt":
                raise ValueError("typ")
            claims_registry.validate(token.claims)
        except JoseError as exc:
            raise ValueError(str(exc)) from exc
        if SCOPE not in str(token.claims.get("scope", "")).split():
            raise PermissionError(SCOPE)
        return token.claims

    return check


async def verify(args: dict[str, Any]) -> dict[str, Any]:
    """Microseconds of CPU per verification, SDK and floor alternating in this one process.

    The tokens of ``path`` after ``warmup`` are cut in blocks of ``block``; each block is
    verified by the SDK, then by the floor (or the other way round, every other block),
    so both see the same tokens in the same interpreter and a busy moment hits both. With
    ``same``, every token is the first one (the SDK's cache of verified tokens answers).
    """
    base: str = args["base"]
    tokens = _read_tokens(args["path"], same=bool(args.get("same")))
    warmup, block = args["warmup"], args["block"]
    from intelliauth_ext import TokenVerifier

    verifier = TokenVerifier(base)
    check = floor_checker(base)

    async def sdk_verify(token: str) -> Any:
        return await verifier.verify_access_token(
            token, audience=AUDIENCE, required_scopes=[SCOPE], require_at_jwt_type=True
        )

    async def floor_verify(token: str) -> Any:  # async, as a FastAPI dependency is
        return check(token)

    runners: dict[str, Callable[[str], Awaitable[Any]]] = {
        "sdk": sdk_verify,
        "floor": floor_verify,
    }
    for run in runners.values():
        for token in tokens[:warmup]:
            await run(token)
    us: dict[str, list[float]] = {name: [] for name in runners}
    names = list(runners)
    measured = tokens[warmup:]
    gc.collect()
    for number, start in enumerate(range(0, len(measured) - block + 1, block)):
        batch = measured[start : start + block]
        for name in names if number % 2 == 0 else reversed(names):
            run = runners[name]
            started = time.process_time()
            for token in batch:
                await run(token)
            us[name].append((time.process_time() - started) / len(batch) * 1e6)
    return {"us": us}


def build_app(base: str, variant: str) -> Any:
    """The FastAPI app: ``GET /me`` returns the token's subject, behind either dependency."""
    from typing import Annotated

    from fastapi import Depends, FastAPI, HTTPException, Request

    if variant == "sdk":
        from intelliauth_ext import VerifiedToken
        from intelliauth_ext.fastapi import intelliauth_lifespan, require_token

        app = FastAPI(
            lifespan=intelliauth_lifespan(
                base, audience=AUDIENCE, client_id=CLIENT_ID, client_secret=CLIENT_SECRET
            )
        )

        @app.get("/me")
        async def sdk_me(
            token: Annotated[VerifiedToken, Depends(require_token([SCOPE]))],
        ) -> dict[str, Any]:
            return {"sub": token.subject}

        return app

    check = floor_checker(base)

    async def floor_token(request: Request) -> dict[str, Any]:
        authorization = request.headers.get("authorization", "")
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() != "bearer" or not value:
            raise HTTPException(401, headers={"WWW-Authenticate": "Bearer"})
        try:
            return check(value.strip())
        except PermissionError as exc:
            raise HTTPException(403) from exc
        except ValueError as exc:
            raise HTTPException(401) from exc

    app = FastAPI()

    @app.get("/me")
    async def floor_me(claims: Annotated[dict[str, Any], Depends(floor_token)]) -> dict[str, Any]:
        return {"sub": claims.get("sub")}

    return app


async def serve(args: dict[str, Any]) -> dict[str, Any]:
    """Serve the app on ``port`` until terminated; ``ready`` on stdout once listening."""
    import uvicorn

    config = uvicorn.Config(
        build_app(args["base"], args["variant"]),
        host="127.0.0.1",
        port=args["port"],
        log_level="warning",
        access_log=False,
        loop="asyncio",
        http="h11" if args.get("h11") else "auto",
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn has no event to wait for
        await asyncio.sleep(0.01)
    print("ready", flush=True)
    await task
    return {}


async def load(args: dict[str, Any]) -> dict[str, Any]:
    """Requests/s of each app of ``urls``, in alternating bursts of the same tokens.

    Bursts alternate between the apps (and which goes first), so that a busy moment on a
    shared machine lands on both; each burst sends ``burst`` requests, ``in_flight`` at a
    time, a token of its own per request (the same tokens for each app).
    """
    import aiohttp

    urls: dict[str, str] = args["urls"]
    tokens = _read_tokens(args["path"], same=bool(args.get("same")))
    warmup, burst, in_flight = args["warmup"], args["burst"], args["in_flight"]
    bursts = min(args["bursts"], (len(tokens) - warmup) // burst)
    failures = 0
    rps: dict[str, list[float]] = {name: [] for name in urls}
    async with aiohttp.ClientSession() as session:

        async def run(url: str, batch: list[str]) -> float:
            nonlocal failures
            queue = iter(batch)

            async def one_at_a_time() -> None:
                nonlocal failures
                for token in queue:
                    async with session.get(
                        url, headers={"Authorization": f"Bearer {token}"}
                    ) as response:
                        await response.read()
                        if response.status != 200:
                            failures += 1

            started = time.perf_counter()
            await asyncio.gather(*(one_at_a_time() for _ in range(in_flight)))
            return len(batch) / (time.perf_counter() - started)

        for url in urls.values():
            await run(url, tokens[:warmup])
        names = list(urls)
        for number in range(bursts):
            batch = tokens[warmup + number * burst : warmup + (number + 1) * burst]
            for name in names if number % 2 == 0 else reversed(names):
                rps[name].append(await run(urls[name], batch))
    if failures:
        raise RuntimeError(f"{failures} requests were refused")
    return {"rps": rps}


MEASUREMENTS: dict[str, Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]] = {
    "mint": mint,
    "verify": verify,
    "serve": serve,
    "load": load,
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
