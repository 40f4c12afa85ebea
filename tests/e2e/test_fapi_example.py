"""``make demo``'s second part: examples/fapi.py runs to the end and shows each guarantee."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "fapi.py"


def test_the_fapi_example_runs_and_narrates_each_guarantee() -> None:
    """Exit 0; a nonce retry, a pushed request, a bound token, and a stolen one refused."""
    result = subprocess.run(
        [sys.executable, str(EXAMPLE)], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "token requests: {400: 1, 200: 1}" in out  # use_dpop_nonce, then the retry
    browser_line = next(line for line in out.splitlines() if "browser goes to:" in line)
    assert "request_uri=" in browser_line
    assert "redirect_uri" not in browser_line  # the request itself was pushed
    assert "token_type DPoP, bound to" in out
    assert "with the key: 200" in out
    assert "sent as Bearer: 401" in out
    assert "-----BEGIN" not in out + result.stderr  # the private key is never printed
    assert out.rstrip().endswith("Done.")
