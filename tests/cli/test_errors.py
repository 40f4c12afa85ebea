"""How commands end when something goes wrong: one line, a status, a hint; -v for more."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from intelliauth_ext.cli._context import CliContext
from intelliauth_ext.cli._main import EXIT_BROKEN_PIPE
from intelliauth_ext.testing import Sandbox

from .conftest import Invoke


def _closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.mark.parametrize("command", [("token",), ("users", "list")])
def test_a_tenant_that_can_not_be_reached_is_named(
    command: tuple[str, ...], invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refused connection is one line naming the URL tried, exit status 1."""
    url = f"http://127.0.0.1:{_closed_port()}"
    monkeypatch.setenv("INTELLIAUTH_TENANT_URL", url)
    result = invoke(*command)
    assert result.exit_code == 1
    [line] = result.stderr.splitlines()
    assert line.startswith("Error: ")
    assert f" {url}/" in line  # the token request's URL, or the API call's around it
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("suffix", ["/api/v1", "/oauth2", "/oauth2/token/"])
def test_a_tenant_url_with_an_endpoint_path_gets_a_hint(
    suffix: str, invoke: Invoke, intelliauth_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A tenant URL ending in /api/v1 or /oauth2 fails with a hint naming the root URL."""
    monkeypatch.setenv("INTELLIAUTH_TENANT_URL", intelliauth_sandbox.url + suffix)
    result = invoke("users", "list")
    assert result.exit_code == 1
    [line] = result.stderr.splitlines()
    assert f"hint: the tenant URL {intelliauth_sandbox.url}{suffix} ends in" in line
    assert f"give the tenant's root, {intelliauth_sandbox.url};" in line


def test_an_unknown_status_is_refused_by_the_option(
    invoke: Invoke, intelliauth_sandbox: Sandbox
) -> None:
    """--status takes the contract's statuses only: a typo is a usage error, no request sent."""
    result = invoke("users", "list", "--status", "bogus")
    assert result.exit_code == 2
    assert "'bogus' is not one of 'active', 'deprovisioned', 'locked'" in result.stderr
    assert intelliauth_sandbox.served.statuses("listUsers") == {}


def test_an_unexpected_error_is_one_line_and_v_shows_its_traceback(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure the command did not expect is one line, exit 1; ``-v`` adds the traceback."""

    def broken(self: CliContext, **options: object) -> None:
        raise RuntimeError("the disk is on fire")

    monkeypatch.setattr(CliContext, "token_manager", broken)
    quiet = invoke("token")
    assert quiet.exit_code == 1
    assert quiet.stderr.splitlines() == [
        "Error: RuntimeError: the disk is on fire (intelliauth -v shows the traceback)"
    ]
    loud = invoke("-v", "token")
    assert loud.exit_code == 1
    assert loud.stderr.startswith("Traceback (most recent call last):")
    assert loud.stderr.splitlines()[-1] == "Error: RuntimeError: the disk is on fire"


def test_v_shows_the_traceback_of_an_sdk_error(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An SDK error stays one line; under -v its traceback comes first."""
    monkeypatch.setenv("INTELLIAUTH_TENANT_URL", f"http://127.0.0.1:{_closed_port()}")
    result = invoke("-v", "token")
    assert result.exit_code == 1
    assert "Traceback (most recent call last):" in result.stderr
    assert result.stderr.splitlines()[-1].startswith("Error: could not reach POST http://")


def test_a_closed_stdout_ends_quietly_with_the_sigpipe_status(
    cli_env: dict[str, str], intelliauth_sandbox: Sandbox
) -> None:
    """``users list | head -1``: no message, status 141 as for ``seq 100000 | head -1``."""
    for number in range(250):  # three pages: the writes after the first line hit a closed pipe
        intelliauth_sandbox.add_user(f"piped{number}@example.com")
    process = subprocess.Popen(
        [sys.executable, "-m", "intelliauth_ext.cli", "users", "list", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, **cli_env},
    )
    assert process.stdout is not None
    assert process.stderr is not None
    first = process.stdout.readline()
    process.stdout.close()  # what head does after its line
    stderr = process.stderr.read()
    process.stderr.close()
    assert process.wait(timeout=60) == EXIT_BROKEN_PIPE
    assert first.startswith(b'{"id": "usr_')
    assert stderr == b""
