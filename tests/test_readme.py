"""The README's examples: every python block compiles, and the self-contained ones run."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from intelliauth_ext import webhooks

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", README, flags=re.DOTALL)


def section(title: str) -> str:
    """The text of the README's ``## title`` section, up to the next ``## `` heading."""
    return README.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def python_blocks(title: str) -> list[str]:
    """The python code blocks of one README section."""
    return re.findall(r"```python\n(.*?)```", section(title), flags=re.DOTALL)


def test_the_first_screen_shows_the_two_commands() -> None:
    """make demo and make test are the first commands a reader sees."""
    first_block = README.split("```console\n", 1)[1].split("```", 1)[0]
    assert first_block.splitlines()[0].startswith("make demo")
    assert first_block.splitlines()[1].startswith("make test")


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_every_python_block_compiles(index: int) -> None:
    """Each python block is valid Python (snippets may use top-level await)."""
    compile(BLOCKS[index], f"README block {index}", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)


def test_the_mfa_example_runs_against_the_sandbox(capsys: pytest.CaptureFixture[str]) -> None:
    """The MFA sign-in example runs as written, against the embedded sandbox."""
    (block,) = python_blocks("MFA sign-in")
    exec(compile(block, "README MFA block", "exec"), {"__name__": "__main__"})  # noqa: S102
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "['totp']"
    assert lines[1].startswith("grace@example.com TokenSet(access_token='[REDACTED]'")
    assert lines[2] == "False"  # the revoked refresh token took its access token with it


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_the_webhook_receiver_example_accepts_and_refuses(
    anyio_backend: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The receiver accepts a signed delivery, and refuses a tampered or unsigned one."""
    monkeypatch.setenv("INTELLIAUTH_WEBHOOK_SECRETS", "whsec_old,whsec_new")
    (block,) = python_blocks("Receiving webhooks")
    namespace: dict[str, Any] = {"__name__": "readme_webhooks"}
    exec(compile(block, "README webhooks block", "exec"), namespace)  # noqa: S102
    spec = yaml.safe_load((ROOT / "openapi" / "intelliauth.openapi.yaml").read_text())
    examples = spec["webhooks"]["user.created"]["post"]["requestBody"]["content"][
        "application/json"
    ]["examples"]
    body = json.dumps(next(iter(examples.values()))["value"]).encode()
    transport = httpx.ASGITransport(app=namespace["app"])
    async with httpx.AsyncClient(transport=transport, base_url="http://receiver") as http:
        signed = {webhooks.SIGNATURE_HEADER: webhooks.sign(body, "whsec_new")}
        accepted = await http.post("/hooks/intelliauth", content=body, headers=signed)
        tampered = await http.post("/hooks/intelliauth", content=body + b" ", headers=signed)
        unsigned = await http.post("/hooks/intelliauth", content=body)
    assert accepted.status_code == 204
    assert capsys.readouterr().out.strip() == "welcome anita@cymmetri.com"
    assert (tampered.status_code, tampered.text) == (400, "refused: signature")
    assert (unsigned.status_code, unsigned.text) == (400, "refused: header")
