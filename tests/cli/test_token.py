"""``intelliauth token``: a curl-ready token, cached in the user's cache folder."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from intelliauth_ext.testing import Sandbox

from .conftest import Invoke


def _token_requests(sandbox: Sandbox) -> int:
    return sum(sandbox.served.statuses("requestToken").values())


def _cache_files(home: Path) -> list[Path]:
    return sorted((home / ".cache" / "intelliauth").glob("*.json"))


def _cli_command() -> list[str]:
    script = Path(sys.executable).with_name("intelliauth")
    return [str(script)] if script.exists() else [sys.executable, "-m", "intelliauth_ext.cli"]


def test_token_in_a_subprocess_calls_the_api(
    intelliauth_sandbox: Sandbox, cli_env: dict[str, str]
) -> None:
    """The installed command prints a bare token that the API accepts as a Bearer token."""
    completed = subprocess.run(
        [*_cli_command(), "token"],
        capture_output=True,
        text=True,
        env={**os.environ, **cli_env},
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    token = completed.stdout.strip()
    assert completed.stdout == token + "\n"
    response = httpx.get(
        f"{intelliauth_sandbox.url}/api/v1/users", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200
    assert intelliauth_sandbox.client_secret not in completed.stdout + completed.stderr


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_token_in_a_curl_one_liner(intelliauth_sandbox: Sandbox, cli_env: dict[str, str]) -> None:
    """``curl -H "Authorization: Bearer $(intelliauth token)" .../api/v1/users`` lists users."""
    command = " ".join(_cli_command())
    completed = subprocess.run(
        [
            "sh",
            "-c",
            f'curl -sS --fail -H "Authorization: Bearer $({command} token)" '
            '"$INTELLIAUTH_TENANT_URL/api/v1/users?limit=1"',
        ],
        capture_output=True,
        text=True,
        env={**os.environ, **cli_env},
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "data" in json.loads(completed.stdout)


def test_second_call_uses_the_cached_token(
    invoke: Invoke, intelliauth_sandbox: Sandbox, home: Path
) -> None:
    """A second run prints the same token without a token request."""
    first = invoke("token")
    assert first.exit_code == 0, first.stderr
    assert _token_requests(intelliauth_sandbox) == 1
    second = invoke("token")
    assert second.exit_code == 0, second.stderr
    assert second.stdout == first.stdout
    assert _token_requests(intelliauth_sandbox) == 1


def test_cache_file_is_private_and_keyed_without_the_secret(
    invoke: Invoke, intelliauth_sandbox: Sandbox, home: Path
) -> None:
    """The cache folder is mode 0700, the token file 0600, neither names nor holds the secret."""
    assert invoke("token").exit_code == 0
    folder = home / ".cache" / "intelliauth"
    (cached,) = _cache_files(home)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(cached.stat().st_mode) == 0o600
    secret = intelliauth_sandbox.client_secret
    assert secret not in cached.name
    assert secret not in cached.read_text()
    assert all(secret not in path.name for path in folder.iterdir())


def test_token_due_for_refresh_is_fetched_again(
    invoke: Invoke, intelliauth_sandbox: Sandbox, home: Path
) -> None:
    """A cached token within its refresh margin is replaced by a new one."""
    first = invoke("token").stdout
    (cached,) = _cache_files(home)
    data = json.loads(cached.read_text())
    data["expires_at"] = time.time() + 5  # inside the 60 s refresh margin
    cached.write_text(json.dumps(data))
    second = invoke("token")
    assert second.exit_code == 0, second.stderr
    assert second.stdout != first
    assert _token_requests(intelliauth_sandbox) == 2
    assert json.loads(cached.read_text())["expires_at"] > time.time() + 600


def test_scopes_and_audience_get_their_own_cache_entry(
    invoke: Invoke, intelliauth_sandbox: Sandbox, home: Path
) -> None:
    """``--scope`` asks for a token with those scopes, cached apart from the default one."""
    assert invoke("token").exit_code == 0
    narrow = invoke("token", "--scope", "users:read", "--scope", "groups:read")
    assert narrow.exit_code == 0, narrow.stderr
    assert len(_cache_files(home)) == 2
    again = invoke("token", "--scope", "groups:read users:read")
    assert again.stdout == narrow.stdout
    assert _token_requests(intelliauth_sandbox) == 2
    response = httpx.get(
        f"{intelliauth_sandbox.url}/api/v1/users",
        headers={"Authorization": f"Bearer {narrow.stdout.strip()}"},
    )
    assert response.status_code == 200


def test_wrong_secret_is_one_line_without_the_secret(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refused client is one ``Error:`` line on stderr and exit status 1, never a traceback."""
    monkeypatch.setenv("INTELLIAUTH_CLIENT_SECRET", "wrong-secret-value-123")
    result = invoke("token")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("Error: InvalidClientError: invalid_client")
    assert len(result.stderr.strip().splitlines()) == 1
    assert "wrong-secret-value-123" not in result.output
    assert "Traceback" not in result.output
