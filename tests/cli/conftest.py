"""Fixtures for the command-line tests: a sandbox on loopback and an environment pointing at it."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from intelliauth_ext.cli import main
from intelliauth_ext.testing import Sandbox

#: Every variable the command line reads; tests start with none of them from the outside.
_CLI_VARIABLES = (
    "INTELLIAUTH_TENANT_URL",
    "INTELLIAUTH_CLIENT_ID",
    "INTELLIAUTH_CLIENT_SECRET",
    "INTELLIAUTH_AUDIENCE",
    "INTELLIAUTH_SCOPES",
    "INTELLIAUTH_PROFILE",
    "INTELLIAUTH_WEBHOOK_SECRETS",
    "INTELLIAUTH_LOG",
)


@pytest.fixture
def anyio_backend() -> str:
    """The command line runs on asyncio."""
    return "asyncio"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A fresh home folder, so no real profile or token cache is read or written."""
    folder = tmp_path / "home"
    folder.mkdir()
    return folder


@pytest.fixture
def isolated_env(home: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """No INTELLIAUTH_* variable from the outside; home, config and cache under ``home``."""
    for name in _CLI_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    env = {
        "HOME": str(home),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_CONFIG_HOME": str(home / ".config"),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
def cli_env(
    isolated_env: dict[str, str], intelliauth_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """The environment of a command run against the sandbox's confidential client."""
    env = {
        **isolated_env,
        "INTELLIAUTH_TENANT_URL": intelliauth_sandbox.url,
        "INTELLIAUTH_CLIENT_ID": intelliauth_sandbox.client_id,
        "INTELLIAUTH_CLIENT_SECRET": intelliauth_sandbox.client_secret,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
def invoke(cli_env: dict[str, str]) -> Invoke:
    """Run ``intelliauth ARGS`` in process against the sandbox, stdout and stderr apart."""
    return Invoke()


@pytest.fixture
def offline_invoke(isolated_env: dict[str, str]) -> Invoke:
    """Run ``intelliauth ARGS`` in process with no tenant configured (offline commands)."""
    return Invoke()


class Invoke:
    """Calls the command group the way a shell would, catching nothing but exit codes."""

    def __call__(self, *args: str, input: str | bytes | None = None) -> Result:
        """Run the command line with ``args`` and ``input`` on stdin."""
        runner = CliRunner()
        return runner.invoke(main, list(args), input=input, catch_exceptions=False)
