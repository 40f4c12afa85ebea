"""``intelliauth sandbox``: the local sandbox, started from the command line."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx

from .conftest import Invoke


def test_sandbox_command_serves_a_tenant(isolated_env: dict[str, str]) -> None:
    """``python -m intelliauth_ext.cli sandbox --port 0`` prints its variables and serves."""
    process = subprocess.Popen(
        [sys.executable, "-m", "intelliauth_ext.cli", "sandbox", "--port", "0", "--no-validate"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **isolated_env},
    )
    try:
        assert process.stdout is not None
        variables: dict[str, str] = {}
        for line in process.stdout:
            name, equals, value = line.strip().partition("=")
            if equals:
                variables[name] = value
            if "INTELLIAUTH_CLIENT_SECRET" in variables:
                break
        url = variables["INTELLIAUTH_TENANT_URL"]
        token = httpx.post(
            f"{url}/oauth2/token",
            data={"grant_type": "client_credentials"},
            auth=(variables["INTELLIAUTH_CLIENT_ID"], variables["INTELLIAUTH_CLIENT_SECRET"]),
        )
        assert token.status_code == 200
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)
    assert process.returncode == 0


def test_sandbox_help_lists_its_options(offline_invoke: Invoke) -> None:
    """The sandbox command documents its port, host and validation options."""
    result = offline_invoke("sandbox", "--help")
    assert result.exit_code == 0
    for option in ("--port", "--host", "--no-validate", "--login-page"):
        assert option in result.stdout


def test_module_entry_point_matches_the_console_script() -> None:
    """``pyproject.toml`` registers ``intelliauth`` as ``intelliauth_ext.cli:console_main``."""
    import tomllib

    pyproject = Path(__file__).parents[2] / "pyproject.toml"
    scripts = tomllib.loads(pyproject.read_text())["project"]["scripts"]
    assert scripts == {"intelliauth": "intelliauth_ext.cli:console_main"}


def test_a_busy_port_is_one_line(isolated_env: dict[str, str]) -> None:
    """A port already taken ends the command with one line naming it, exit status 1."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        completed = subprocess.run(
            [sys.executable, "-m", "intelliauth_ext.cli", "sandbox", "--port", str(port)],
            capture_output=True,
            text=True,
            env={**os.environ, **isolated_env},
            timeout=60,
            check=False,
        )
    assert completed.returncode == 1
    assert completed.stderr.splitlines() == [
        f"Error: the sandbox can not listen on 127.0.0.1:{port}: address already in use"
    ]
    assert completed.stdout == ""
