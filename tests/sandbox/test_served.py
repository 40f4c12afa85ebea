"""The sandbox served over a real loopback socket by uvicorn."""

from __future__ import annotations

import socket

import httpx
import pytest

from intelliauth_ext.testing import Sandbox

pytestmark = pytest.mark.anyio


async def test_serve_on_a_free_loopback_port() -> None:
    """Sandbox.serve() binds 127.0.0.1 on a free port; its URL is the issuer and works."""
    async with Sandbox.serve() as sandbox:
        assert sandbox.url.startswith("http://127.0.0.1:")
        async with httpx.AsyncClient(base_url=sandbox.url) as http:
            discovery = (await http.get("/.well-known/openid-configuration")).json()
            assert discovery["issuer"] == sandbox.url
            token = await http.post(
                "/oauth2/token",
                data={"grant_type": "client_credentials"},
                auth=(sandbox.client_id, sandbox.client_secret),
            )
            assert token.status_code == 200
            users = await http.get(
                "/api/v1/users",
                headers={"Authorization": f"Bearer {token.json()['access_token']}"},
            )
            assert users.status_code == 200
            assert users.headers["x-request-id"].startswith("req_")
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient() as http:
            await http.get(f"{sandbox.url}/.well-known/jwks.json")


def test_command_line_prints_a_ready_client_and_stops_on_ctrl_c() -> None:
    """`python -m intelliauth_ext.testing --port 0` prints URL and credentials; SIGINT exits 0."""
    import signal
    import subprocess
    import sys

    process = subprocess.Popen(
        [sys.executable, "-m", "intelliauth_ext.testing", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(4)]
        values = dict(line.strip().split("=", 1) for line in lines[1:])
        url = values["INTELLIAUTH_TENANT_URL"]
        token = httpx.post(
            f"{url}/oauth2/token",
            data={"grant_type": "client_credentials"},
            auth=(values["INTELLIAUTH_CLIENT_ID"], values["INTELLIAUTH_CLIENT_SECRET"]),
        )
        assert token.status_code == 200
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


def test_command_line_fapi_prints_the_fapi_client_and_its_key() -> None:
    """`--fapi --dpop-nonces`: PAR required, and the FAPI client's id and PEM printed."""
    import signal
    import subprocess
    import sys

    from joserfc.jwk import ECKey

    process = subprocess.Popen(
        [sys.executable, "-m", "intelliauth_ext.testing", "--port", "0", "--fapi", "--dpop-nonces"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(8)]
        url = lines[1].strip().split("=", 1)[1]
        assert lines[6].startswith("INTELLIAUTH_FAPI_CLIENT_ID=")
        assert lines[7].startswith("FAPI client private key")
        pem = ""
        while "END PRIVATE KEY" not in pem:
            pem += process.stdout.readline()
        assert ECKey.import_key(pem).is_private
        metadata = httpx.get(f"{url}/.well-known/openid-configuration").json()
        assert metadata["require_pushed_authorization_requests"] is True
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


async def test_serving_on_a_busy_port_raises_one_clear_error() -> None:
    """Sandbox.serve on a taken port raises OSError naming the address, not uvicorn's exit."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(OSError, match=rf"can not listen on 127\.0\.0\.1:{port}: address"):
            async with Sandbox.serve(port=port):
                pass
