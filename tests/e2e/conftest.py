"""A real OpenID Provider for the end-to-end tests: node ``oidc-provider`` on loopback.

The session fixture starts tests/oidc_provider/server.mjs on an ephemeral 127.0.0.1 port,
waits until it prints its issuer and answers discovery, keeps its stdout and stderr in a
log file (printed when it fails to start), and stops it at the end of the session.
The tests are skipped, with the reason, only where ``node`` is not installed; a missing
``oidc-provider`` package is a failure that says to run ``make install-node``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import attrs
import httpx
import pytest
from joserfc.jwk import ECKey

REPO_ROOT = Path(__file__).resolve().parents[2]
SERVER_SCRIPT = REPO_ROOT / "tests" / "oidc_provider" / "server.mjs"
STARTUP_TIMEOUT = 30.0
#: The private_key_jwt key of the provider's ``fapi-client``: made here, its public half
#: handed to the server in ``FAPI_CLIENT_JWKS``.
FAPI_CLIENT_KEY = ECKey.generate_key("P-256", parameters={"kid": "fapi-e2e", "alg": "ES256"})


@attrs.frozen
class OidcProviderServer:
    """The running provider: its issuer, the API audience it issues JWTs for, its log."""

    issuer: str
    api_audience: str
    redirect_uri: str
    log_path: Path

    def log(self) -> str:
        """Everything the server wrote so far."""
        return self.log_path.read_text(errors="replace")


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Every end-to-end test runs on asyncio and on trio."""
    return str(request.param)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@pytest.fixture(scope="session")
def oidc_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcProviderServer]:
    """Start oidc-provider on a free loopback port for the whole session."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the oidc-provider end-to-end tests need Node.js")
    if not (REPO_ROOT / "node_modules" / "oidc-provider").is_dir():
        pytest.fail("node_modules/oidc-provider is missing: run `make install-node` (npm ci)")

    log_path = tmp_path_factory.mktemp("oidc-provider") / "server.log"
    stdout_path = log_path.with_name("stdout.log")
    with log_path.open("wb") as stderr_file, stdout_path.open("wb") as stdout_file:
        process = subprocess.Popen(
            [node, str(SERVER_SCRIPT)],
            cwd=REPO_ROOT,
            stdout=stdout_file,
            stderr=stderr_file,
            env={
                **os.environ,
                "NODE_ENV": "test",
                "FAPI_CLIENT_JWKS": json.dumps({"keys": [FAPI_CLIENT_KEY.as_dict(private=False)]}),
            },
        )
    try:
        server = _wait_until_listening(process, stdout_path, log_path)
        yield server
    finally:
        _stop(process)


def _wait_until_listening(
    process: subprocess.Popen[bytes], stdout_path: Path, log_path: Path
) -> OidcProviderServer:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        first_line = stdout_path.read_text(errors="replace").partition("\n")[0]
        if first_line.endswith("}"):
            info = json.loads(first_line)
            server = OidcProviderServer(
                issuer=info["issuer"],
                api_audience=info["apiAudience"],
                redirect_uri=info["redirectUri"],
                log_path=log_path,
            )
            try:
                response = httpx.get(f"{server.issuer}/.well-known/openid-configuration")
            except httpx.TransportError:
                pass
            else:
                if response.status_code == 200:
                    return server
        time.sleep(0.05)
    _stop(process)
    output = stdout_path.read_text(errors="replace") + log_path.read_text(errors="replace")
    pytest.fail(
        f"oidc-provider did not start within {STARTUP_TIMEOUT:.0f}s "
        f"(exit code {process.returncode}); its output:\n{output}"
    )
