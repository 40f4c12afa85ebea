"""One web worker of the sign-in tests: starts a sign-in, or completes one, on a RedisFlowStore.

Usage:
    python redis_flow_worker.py start REDIS_URL ISSUER CLIENT_ID REDIRECT_URI PREFIX
        prints {"url": ..., "state": ...}
    python redis_flow_worker.py complete REDIS_URL ISSUER CLIENT_ID REDIRECT_URI PREFIX
        prints "ready", reads the callback URL on stdin, completes the sign-in and prints
        {"signed_in": <ID token subject>} or {"refused": <exception class>, "check": ...}
The store's secret comes from FLOW_STORE_SECRET, as a deployment would pass it.
"""

from __future__ import annotations

import json
import os
import sys

import anyio
import anyio.to_thread

from intelliauth_ext import AuthorizationCodeFlow, IntelliAuthError, RedisFlowStore


async def main(
    command: str, redis_url: str, issuer: str, client_id: str, redirect: str, prefix: str
) -> None:
    store = RedisFlowStore(redis_url, secret=os.environ["FLOW_STORE_SECRET"], prefix=prefix)
    flow = AuthorizationCodeFlow(
        issuer, client_id, redirect, ["openid", "email", "offline_access"], flow_store=store
    )
    await flow.metadata()  # discovery before the start signal
    if command == "start":
        request = await flow.start(prompt="login")  # the login page, as a person would
        print(json.dumps({"url": request.url, "state": request.state}), flush=True)
    else:
        print("ready", flush=True)
        callback = (await anyio.to_thread.run_sync(sys.stdin.readline)).strip()
        try:
            tokens = await flow.complete(callback)
            assert tokens.id_token is not None
            verified = await flow.verifier.verify_id_token(tokens.id_token, audience=client_id)
            print(json.dumps({"signed_in": verified.subject}), flush=True)
        except IntelliAuthError as exc:
            print(
                json.dumps({"refused": type(exc).__name__, "check": getattr(exc, "check", None)}),
                flush=True,
            )
    await store.aclose()


if __name__ == "__main__":
    anyio.run(main, *sys.argv[1:7])
