"""``make demo``'s job: examples/quickstart.py runs to the end against the embedded sandbox."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

QUICKSTART = Path(__file__).resolve().parents[2] / "examples" / "quickstart.py"


def test_the_quickstart_runs_every_step() -> None:
    """Each step prints what it did; the outcomes are the ones the flows must give."""
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("INTELLIAUTH_")
    }
    result = subprocess.run(
        [sys.executable, str(QUICKSTART)],
        capture_output=True,
        text=True,
        timeout=120,
        env=environment,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    steps = re.findall(r"^(\d)\. ", out, flags=re.MULTILINE)
    assert steps == [str(n) for n in range(1, 9)]
    assert "the same token from the cache (True)" in out
    assert "has 3 members" in out
    assert re.search(r"\(a member of the group\) view the document\? True", out)
    assert re.search(r"\(not a member\) view the document\? False", out)
    assert "the old secret is refused: invalid_client" in out
    assert "the signature checks out" in out
    assert "a tampered copy is refused" in out
    assert "ID token verified" in out
    assert "introspected again: active=False" in out
    assert out.rstrip().endswith("Done.")
    assert "skipped" not in out
