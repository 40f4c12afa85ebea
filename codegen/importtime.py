"""``python -m codegen.importtime``: the client's import cost next to httpx's, side by side.

Runs fresh interpreters with ``python -X importtime`` (alternating, after a warm-up run that
fills the bytecode caches) and compares the medians of

- ``import httpx``, and
- ``import intelliauth_client`` then one endpoint module (by default
  ``intelliauth_client.api.users.get_user``),

where each figure is the cumulative time of the top-level import lines for that package
(everything they pull in, httpx included for the client). Prints both and their ratio; with
``--max-ratio`` the exit code says whether the ratio stayed under it.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from collections.abc import Sequence

_DEFAULT_ENDPOINT = "intelliauth_client.api.users.get_user"


def import_microseconds(statement: str, packages: Sequence[str], python: str) -> int:
    """Cumulative import time (µs) of `statement`'s top-level imports from `packages`."""
    result = subprocess.run(  # noqa: S603 (our own interpreter and a fixed statement)
        [python, "-X", "importtime", "-c", statement],
        capture_output=True,
        text=True,
        check=True,
    )
    total = 0
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = line.removeprefix("import time:").split("|")
        if name.startswith("  ") or not cumulative.strip().isdigit():
            continue  # nested, or the header line
        module = name.strip()
        if any(module == package or module.startswith(package + ".") for package in packages):
            total += int(cumulative)
    return total


def measure(endpoint: str, runs: int, python: str) -> tuple[float, float]:
    """Median milliseconds for (httpx, the client plus `endpoint`)."""
    httpx_statement = "import httpx"
    client_statement = f"import intelliauth_client; import {endpoint}"
    import_microseconds(client_statement, ["intelliauth_client"], python)  # warm the caches
    import_microseconds(httpx_statement, ["httpx"], python)
    httpx_times: list[int] = []
    client_times: list[int] = []
    for _ in range(runs):
        httpx_times.append(import_microseconds(httpx_statement, ["httpx"], python))
        client_times.append(import_microseconds(client_statement, ["intelliauth_client"], python))
    return statistics.median(httpx_times) / 1000, statistics.median(client_times) / 1000


def main(argv: list[str] | None = None) -> int:
    """Measure and print; returns 1 when ``--max-ratio`` is given and exceeded."""
    parser = argparse.ArgumentParser(prog="python -m codegen.importtime", description=__doc__)
    parser.add_argument("--endpoint", default=_DEFAULT_ENDPOINT, help="the endpoint module")
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--python", default=sys.executable, help="the interpreter to measure")
    parser.add_argument("--max-ratio", type=float, default=None)
    arguments = parser.parse_args(argv)
    httpx_ms, client_ms = measure(arguments.endpoint, arguments.runs, arguments.python)
    ratio = client_ms / httpx_ms
    client_label = f"import intelliauth_client; import {arguments.endpoint}"
    width = max(len(client_label), len("import httpx"))
    print(f"{'import httpx':<{width}}  {httpx_ms:7.1f} ms (median of {arguments.runs} runs)")
    print(f"{client_label:<{width}}  {client_ms:7.1f} ms")
    print(f"{'ratio':<{width}}  {ratio:7.2f}")
    if arguments.max_ratio is not None and ratio >= arguments.max_ratio:
        print(f"ratio {ratio:.2f} is not under {arguments.max_ratio}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
