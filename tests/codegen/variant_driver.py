"""Calls each generated variant's new operations through ``IntelliAuth`` (a subprocess).

``python tests/codegen/variant_driver.py PLAN.json`` reads a list of
``{"variant", "package_dir", "calls": [...]}`` (see tests/codegen/variants.py for `Call`),
and prints one JSON list of ``{"variant", "call", "ok", "detail"}``.

Each variant's package is imported as ``intelliauth_client`` (through a symlink put first
on ``sys.path``, the previous one forgotten), which is what ``IntelliAuth`` imports: the
hand-written runtime drives the generated facade exactly as it drives the committed one.
The loopback server answers with the call's canned replies, in order, and records requests.
"""

from __future__ import annotations

import asyncio
import base64
import http.server
import io
import json
import sys
import tempfile
import threading
import traceback
import warnings
from collections import deque
from pathlib import Path
from typing import Any


class _Server(http.server.ThreadingHTTPServer):
    replies: deque[dict[str, Any]]
    requests: list[dict[str, Any]]


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.requests.append(
            {"line": f"{self.command} {self.path}", "body": body.decode("utf-8", "replace")}
        )
        reply = self.server.replies.popleft() if self.server.replies else {"status": 599}
        content = (
            base64.b64decode(reply["content"])
            if reply.get("content") is not None
            else (json.dumps(reply["json"]).encode() if reply.get("json") is not None else b"")
        )
        self.send_response(reply["status"])
        if content:
            self.send_header("Content-Type", reply.get("content_type", "application/json"))
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass


def _forget_generated() -> None:
    for name in list(sys.modules):
        if name.split(".")[0] == "intelliauth_client" or name == "intelliauth_ext._sign_in":
            del sys.modules[name]


async def _run_variant(
    plan: dict[str, Any], server: _Server, base_url: str
) -> list[dict[str, Any]]:
    alias = Path(tempfile.mkdtemp(prefix="variant-alias-"))
    (alias / "intelliauth_client").symlink_to(Path(plan["package_dir"]), target_is_directory=True)
    _forget_generated()
    sys.path.insert(0, str(alias))
    results: list[dict[str, Any]] = []
    try:
        from intelliauth_client import models  # the variant's
        from intelliauth_client.types import File
        from intelliauth_ext import IntelliAuth

        client = IntelliAuth(base_url, max_retries=0)
        try:
            for index, call in enumerate(plan["calls"]):
                results.append(
                    await _run_call(plan["variant"], index, call, client, models, File, server)
                )
        finally:
            await client.aclose()
    finally:
        sys.path.remove(str(alias))
        _forget_generated()
    return results


async def _run_call(
    variant: str,
    index: int,
    call: dict[str, Any],
    client: Any,
    models: Any,
    file_class: Any,
    server: _Server,
) -> dict[str, Any]:
    def outcome(ok: bool, detail: str = "") -> dict[str, Any]:
        return {"variant": variant, "call": index, "ok": ok, "detail": detail}

    server.replies = deque(call["replies"])
    server.requests = []
    source = f"async def _call(client, models, File, io):\n    return ({call['source']})\n"
    namespace: dict[str, Any] = {}
    exec(compile(source, f"<{variant} call {index}>", "exec"), namespace)  # noqa: S102
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = await namespace["_call"](client, models, file_class, io)
        except Exception:
            return outcome(False, traceback.format_exc(limit=6))
    deprecations = [w for w in caught if issubclass(w.category, DeprecationWarning)]
    if bool(deprecations) != call["warns"]:
        shown = [str(w.message) for w in deprecations]
        return outcome(False, f"expected a DeprecationWarning: {call['warns']}, got {shown}")
    seen = [request["line"] for request in server.requests]
    if seen != call["requests"]:
        return outcome(False, f"requests {seen} != expected {call['requests']}")
    if call["request_body"] is not None and call["request_body"] not in server.requests[-1]["body"]:
        return outcome(False, f"request body {server.requests[-1]['body'][:300]!r}")
    scope = {"models": models, "File": file_class, "result": result}
    if not eval(call["check"], scope):  # noqa: S307 - the corpus's own expressions
        return outcome(False, f"check {call['check']!r} failed on {result!r}")
    return outcome(True)


async def _main(plans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    server = _Server(("127.0.0.1", 0), _Handler)
    server.replies, server.requests = deque(), []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base_url = f"http://127.0.0.1:{server.server_address[1]}"
    results: list[dict[str, Any]] = []
    try:
        for plan in plans:
            try:
                results += await _run_variant(plan, server, base_url)
            except Exception:
                results.append(
                    {
                        "variant": plan["variant"],
                        "call": -1,
                        "ok": False,
                        "detail": traceback.format_exc(limit=8),
                    }
                )
    finally:
        server.shutdown()
        server.server_close()
    return results


if __name__ == "__main__":
    plans = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    print(json.dumps(asyncio.run(_main(plans))))
