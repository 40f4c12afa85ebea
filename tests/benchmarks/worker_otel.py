"""Scenario ``otel``'s measurement in a fresh process; prints its result as one JSON line.

Usage: ``python worker_otel.py get_user <json arguments>``, with ``"otel"`` in the
arguments one of:

* ``"blocked"``: ``opentelemetry`` can not be imported (``sys.modules`` says so before the
  SDK is imported), as in an install without the ``otel`` extra;
* ``"unconfigured"``: ``opentelemetry-api`` importable, no tracer provider set (the SDK
  imports it on its first request, during the warm-up);
* ``"configured"``: an OpenTelemetry SDK tracer provider with a batch processor and an
  exporter that drops what it is given (every call makes two spans' worth of work).

The CPU figure is ``bench_worker.cpu_per_call``'s: this process's user+sys time around
the measured requests only.
"""

from __future__ import annotations

import asyncio
import json
import sys
import types
from collections.abc import Awaitable, Callable, Sequence
from typing import Any


def _configure_tracing() -> None:
    from opentelemetry import trace
    from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        SpanExporter,
        SpanExportResult,
    )

    class Discard(SpanExporter):
        """Exports nowhere: the cost measured is the spans', not a collector's."""

        def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(Discard()))
    trace.set_tracer_provider(provider)


async def get_user(args: dict[str, Any]) -> dict[str, Any]:
    """CPU per ``users.get`` (cached token) in the OpenTelemetry mode ``args["otel"]``."""
    mode: str = args["otel"]
    if mode == "blocked":
        sys.modules["opentelemetry"] = None  # type: ignore[assignment]
    elif mode == "configured":
        _configure_tracing()
    elif mode != "unconfigured":
        raise ValueError(f"unknown otel mode {mode!r}")

    from bench_worker import CLIENT_ID, CLIENT_SECRET, cpu_per_call

    from intelliauth_ext import IntelliAuth, _telemetry

    base: str = args["base"]
    async with IntelliAuth(base, client_id=CLIENT_ID, client_secret=CLIENT_SECRET) as sdk:

        async def sdk_request() -> Any:
            return await sdk.users.get("usr_01")

        us = await cpu_per_call(sdk_request, args["requests"], args["in_flight"], args["warmup"])
    # Whether the SDK imported opentelemetry (a module) or found it missing (None).
    return {"us": us, "otel_loaded": isinstance(_telemetry._trace, types.ModuleType)}


MEASUREMENTS: dict[str, Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]] = {
    "get_user": get_user,
}


def main() -> None:
    """Run the named measurement and print its JSON result as the last stdout line."""
    name, raw = sys.argv[1], sys.argv[2]
    result = asyncio.run(MEASUREMENTS[name](json.loads(raw)))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
