"""The documentation site builds with ``mkdocs build --strict`` (no warnings)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_mkdocs_build_strict_passes(tmp_path: Path) -> None:
    """``mkdocs build --strict`` succeeds, with the README sections and API reference in."""
    site = tmp_path / "site"
    completed = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        timeout=110,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    retries = (site / "retries" / "index.html").read_text(encoding="utf-8")
    assert "Retry-After" in retries  # the README section was included
    reference = (site / "reference" / "intelliauth_ext" / "index.html").read_text(encoding="utf-8")
    assert 'id="intelliauth_ext.ClientCredentials"' in reference
    assert (site / "benchmarks.png").exists()
    assert (site / "cli" / "index.html").exists()
