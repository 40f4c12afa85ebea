"""``intelliauth login``, ``whoami``, ``logout``, and the commands acting as the signed-in user.

Every command runs as a real process with an isolated home folder. ``login --no-browser``
prints the authorization URL on stderr; the test reads it there and plays the browser (the
sandbox approves at once), which lands on the command's loopback server. The sessions are
kept in the keyring (keyrings.alt's file backend, chosen with ``PYTHON_KEYRING_BACKEND``)
or, with keyring's ``fail`` backend, in the user-only file.
"""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import attrs
import httpx
import pytest
from keyrings.alt.file import PlaintextKeyring  # type: ignore[import-untyped]

from intelliauth_ext import (
    FileTokenSetStore,
    InvalidGrantError,
    KeyringTokenSetStore,
    TokenSet,
    refresh_tokens,
)
from intelliauth_ext.testing import TEST_USER_EMAIL, Sandbox

BACKENDS = {
    "keyring": "keyrings.alt.file.PlaintextKeyring",
    "file": "keyring.backends.fail.Keyring",
}


def _cli_command() -> list[str]:
    script = Path(sys.executable).with_name("intelliauth")
    return [str(script)] if script.exists() else [sys.executable, "-m", "intelliauth_ext.cli"]


@attrs.frozen
class Native:
    """A public client of the sandbox and the environment of commands that use it."""

    sandbox: Sandbox
    client_id: str
    home: Path
    kind: str
    env: dict[str, str]

    @property
    def key(self) -> str:
        return f"environment:{self.client_id}@{self.sandbox.url}"

    def store(self) -> FileTokenSetStore | KeyringTokenSetStore:
        """The store the commands use, opened in this process."""
        if self.kind == "file":
            return FileTokenSetStore(self.home / ".config" / "intelliauth" / "tokens")
        backend = PlaintextKeyring()
        backend.file_path = str(self.home / ".local/share/python_keyring/keyring_pass.cfg")
        return KeyringTokenSetStore(backend=backend, lock_directory=self.home / "locks")

    def run(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*_cli_command(), *args],
            capture_output=True,
            text=True,
            env={**self.env, **env},
            timeout=60,
            check=False,
        )

    def login(
        self, *args: str, callback: str = "follow"
    ) -> tuple[subprocess.CompletedProcess[str], str]:
        """Run ``login --no-browser``, answer its URL as ``callback`` says; the run, the URL."""
        process = subprocess.Popen(
            [*_cli_command(), "login", "--no-browser", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.env,
        )
        assert process.stderr is not None
        first = process.stderr.readline()
        prefix = "Open this URL in a browser to sign in: "
        assert first.startswith(prefix), first
        url = first[len(prefix) :].strip()
        params = httpx.URL(url).params
        with httpx.Client(trust_env=False, timeout=30) as browser:
            if callback == "follow":
                assert browser.get(url, follow_redirects=True).status_code == 200
            elif callback == "deny":
                denied = httpx.URL(params["redirect_uri"]).copy_merge_params(
                    {"error": "access_denied", "state": params["state"], "iss": self.sandbox.url}
                )
                assert browser.get(denied).status_code == 400
        stdout, stderr = process.communicate(timeout=60)
        completed = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
        return completed, params["redirect_uri"]


@pytest.fixture(params=sorted(BACKENDS))
def native(
    request: pytest.FixtureRequest,
    isolated_env: dict[str, str],
    intelliauth_sandbox: Sandbox,
    home: Path,
) -> Native:
    """A public client with a loopback redirect; commands with the keyring or the file."""
    client = intelliauth_sandbox.add_client(name="intelliauth CLI", public=True)
    env = {
        **os.environ,
        **isolated_env,
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "PYTHON_KEYRING_BACKEND": BACKENDS[request.param],
        "INTELLIAUTH_TENANT_URL": intelliauth_sandbox.url,
        "INTELLIAUTH_CLIENT_ID": client.client_id,
    }
    return Native(intelliauth_sandbox, client.client_id, home, request.param, env)


def assert_refused(url: str) -> None:
    parsed = httpx.URL(url)
    with socket.socket() as probe, pytest.raises(ConnectionRefusedError):
        probe.connect((parsed.host, parsed.port or 80))


@pytest.mark.anyio
@pytest.mark.slow
async def test_login_whoami_users_token_logout(native: Native) -> None:
    """The shell session of the README: login, whoami, users list, token, logout."""
    login, redirect_uri = native.login("--scopes", "users:read")
    assert login.returncode == 0, login.stderr
    user_id = str(native.sandbox.test_user["id"])
    assert login.stderr.splitlines()[-1] == f"Signed in as {TEST_USER_EMAIL} ({user_id})"
    assert login.stdout == ""
    assert_refused(redirect_uri)

    stored = await native.store().load(native.key)
    assert stored is not None
    assert stored.refresh_token
    if native.kind == "file":
        path = native.store().path_for(native.key)  # type: ignore[union-attr]
        assert path.name.startswith("environment_")
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    else:
        assert not (native.home / ".config" / "intelliauth" / "tokens").exists()

    whoami = native.run("whoami")
    assert (whoami.returncode, whoami.stdout) == (0, f"{TEST_USER_EMAIL} {user_id}\n")
    users = native.run("users", "list", "--json")
    assert users.returncode == 0, users.stderr
    assert TEST_USER_EMAIL in users.stdout
    token = native.run("token")
    assert token.stdout.strip() == stored.access_token  # the user's own, still fresh

    logout = native.run("logout")
    assert logout.returncode == 0, logout.stderr
    assert logout.stderr == "Signed out; the refresh token is revoked.\n"
    assert await native.store().load(native.key) is None
    with pytest.raises(InvalidGrantError):  # RFC 7009: revoked at the tenant, not only here
        await refresh_tokens(
            f"{native.sandbox.url}/oauth2/token",
            stored.refresh_token,
            client_id=native.client_id,
            auth_method="none",
        )
    after = native.run("whoami")
    assert after.returncode == 1
    assert after.stderr == (
        "Error: not signed in: run `intelliauth login` (or configure a client secret "
        "to act as the client itself)\n"
    )
    again = native.run("logout")
    assert (again.returncode, again.stderr) == (0, "Not signed in; nothing to do.\n")


@pytest.mark.anyio
async def test_an_expired_session_is_refreshed_once_by_two_commands(native: Native) -> None:
    """Two ``intelliauth token`` runs at once on an expired session: one refresh, one token."""
    login, _ = native.login()
    assert login.returncode == 0, login.stderr
    store = native.store()
    signed_in = await store.load(native.key)
    assert signed_in is not None
    await store.save(native.key, attrs.evolve(signed_in, expires_at=time.time() - 10))
    before = sum(native.sandbox.served.statuses("requestToken").values())
    runs = [
        subprocess.Popen(  # noqa: ASYNC220 - two runs at once, waited for below
            [*_cli_command(), "token"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=native.env,
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=60) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    tokens = {stdout.strip() for stdout, _ in outputs}
    assert len(tokens) == 1
    assert tokens != {signed_in.access_token}
    assert sum(native.sandbox.served.statuses("requestToken").values()) - before == 1
    refreshed = await store.load(native.key)
    assert isinstance(refreshed, TokenSet)
    assert refreshed.refresh_token != signed_in.refresh_token  # the rotation was written back


def test_login_timeout_is_one_line_and_closes_the_port(native: Native) -> None:
    """Nobody comes back: one ``SignInTimeoutError`` line, status 1, the port closed."""
    login, redirect_uri = native.login("--timeout", "1", callback="none")
    assert login.returncode == 1
    lines = login.stderr.splitlines()
    assert lines[-1].startswith("Error: SignInTimeoutError: no sign-in came back within 1s")
    assert "Traceback" not in login.stderr
    assert_refused(redirect_uri)


def test_login_refused_by_the_user(native: Native) -> None:
    """``error=access_denied``: one ``AccessDeniedError`` line, status 1, nothing stored."""
    login, redirect_uri = native.login(callback="deny")
    assert login.returncode == 1
    assert login.stderr.splitlines()[-1].startswith("Error: AccessDeniedError: access_denied")
    assert_refused(redirect_uri)
    assert native.run("whoami").returncode == 1


def test_login_with_a_client_secret_is_refused(native: Native) -> None:
    """A confidential client acts as itself: login says to unset the secret, one line."""
    result = native.run("login", INTELLIAUTH_CLIENT_SECRET="not-for-login-123")
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert "unset INTELLIAUTH_CLIENT_SECRET" in line
    assert "not-for-login-123" not in line


@pytest.mark.anyio
async def test_a_corrupt_session_is_one_line_and_login_repairs_it(native: Native) -> None:
    """A stored session that is not one: whoami fails in one line; logout, then login, work."""
    if native.kind == "file":
        path = native.store().path_for(native.key)  # type: ignore[union-attr]
        path.parent.mkdir(parents=True)
        path.write_text("{truncated")
    else:
        native.store().backend.set_password("intelliauth", native.key, "{truncated")  # type: ignore[union-attr]
    whoami = native.run("whoami")
    assert whoami.returncode == 1
    [line] = whoami.stderr.splitlines()
    assert line.startswith("Error: TokenStoreError: ")
    assert "does not hold a token set" in line
    assert native.run("logout").stderr == "Not signed in; nothing to do.\n"
    login, _ = native.login()
    assert login.returncode == 0, login.stderr
    assert native.run("whoami").returncode == 0


@pytest.mark.anyio
async def test_logout_when_the_tenant_is_unreachable_still_forgets(native: Native) -> None:
    """Revocation fails: the session is deleted all the same, and one line says so (status 1)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    key = f"environment:{native.client_id}@{closed}"
    await native.store().save(key, TokenSet(access_token="a-123", refresh_token="r-456"))
    result = native.run("logout", INTELLIAUTH_TENANT_URL=closed)
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert line.startswith("Error: signed out here, but the refresh token was not revoked: ")
    assert "r-456" not in line
    assert await native.store().load(key) is None
