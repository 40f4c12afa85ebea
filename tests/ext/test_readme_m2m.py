"""The README's machine-to-machine examples compile, and the non-Redis ones run as written."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import httpx
import pytest
import respx

README = Path(__file__).resolve().parents[2] / "README.md"
# From "## Machine-to-machine" through "## Sharing tokens across a fleet", up to the
# next flow's section.
SECTION = (
    README.read_text()
    .split("\n## Machine-to-machine\n", 1)[1]
    .split("\n## Browser sign-in with PKCE\n", 1)[0]
)
BLOCKS = re.findall(r"```python\n(.*?)```", SECTION, flags=re.DOTALL)


def run_block(index: int) -> None:
    """Run one README example as a script would."""
    code = compile(BLOCKS[index], f"README machine-to-machine block {index}", "exec")
    exec(code, {"__name__": "__main__"})  # noqa: S102 - the README's own example


@pytest.fixture(autouse=True)
def credentials_in_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The environment variables the examples read."""
    for variable in ("INTELLIAUTH", "INTERMEZZO", "INTIGRITI"):
        monkeypatch.setenv(f"{variable}_CLIENT_ID", "id")
        monkeypatch.setenv(f"{variable}_CLIENT_SECRET", "secret")
    monkeypatch.setenv("AUTHLETE_SERVICE_TOKEN", "svc")


def test_every_example_compiles() -> None:
    """Each python block of the M2M README section is valid Python."""
    assert len(BLOCKS) == 4
    for index, block in enumerate(BLOCKS):
        compile(block, f"README machine-to-machine block {index}", "exec")


def test_client_credentials_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    """The first example fetches a token once and calls the API with it."""
    with respx.mock() as router:
        token = router.post("https://acme.intelliauth.io/oauth2/token").respond(
            json={"access_token": "t", "token_type": "Bearer", "expires_in": 3600, "scope": "a"}
        )
        router.get("https://acme.intelliauth.io/api/v1/users").respond(json={"data": []})
        run_block(0)
    assert token.call_count == 1
    assert capsys.readouterr().out.startswith("200\n('a',)")


def test_provider_styles_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    """The second example's static token reaches the API."""
    with respx.mock() as router:
        router.get("https://us.authlete.com/api/service/get/list").respond(json={})
        run_block(1)
    assert capsys.readouterr().out == "200\n"


def test_refreshing_example_runs_and_persists_rotation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The third example refreshes an expired stored session and saves the rotated token."""
    monkeypatch.chdir(tmp_path)
    session = {"access_token": "old", "refresh_token": "rt-1", "expires_at": time.time() - 5}
    (tmp_path / "session.json").write_text(json.dumps(session))
    with respx.mock() as router:
        router.post("https://acme.intelliauth.io/oauth2/token").respond(
            json={"access_token": "new", "refresh_token": "rt-2", "expires_in": 3600}
        )
        router.get("https://acme.intelliauth.io/api/v1/me/profile").mock(
            side_effect=lambda request: httpx.Response(
                200, json={"auth": request.headers["authorization"]}
            )
        )
        run_block(2)
    assert "Bearer new" in capsys.readouterr().out
    assert json.loads((tmp_path / "session.json").read_text())["refresh_token"] == "rt-2"
