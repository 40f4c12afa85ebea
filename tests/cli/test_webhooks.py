"""``intelliauth webhooks verify``: signed deliveries accepted, tampered and stale ones refused."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from intelliauth_ext.webhooks import SIGNATURE_HEADER, sign

from .conftest import Invoke

SECRET = "whsec_cli_test_secret_0123456789"
EVENT_ID = "evt_01JE2A2B4C6D8E0F2G4H6J8K0M"


def _body() -> bytes:
    event = {
        "id": EVENT_ID,
        "type": "user.deleted",
        "created_at": "2025-03-20T16:45:00Z",
        "data": {
            "user_id": "usr_01HZX3K9QW7E5R2T8Y6U4I0O1P",
            "email": "ada@example.com",
            "deleted_at": "2025-03-20T16:45:00Z",
        },
    }
    return json.dumps(event, separators=(",", ":")).encode()


@pytest.fixture
def verify(offline_invoke: Invoke, monkeypatch: pytest.MonkeyPatch) -> Invoke:
    """The command line, offline (verifying needs no tenant), the secret in the environment."""
    monkeypatch.setenv("INTELLIAUTH_WEBHOOK_SECRETS", SECRET)
    return offline_invoke


def test_signed_body_is_accepted(verify: Invoke) -> None:
    """A correctly signed body prints its event type and id and exits 0."""
    body = _body()
    header = f"{SIGNATURE_HEADER}: {sign(body, SECRET)}"
    result = verify("webhooks", "verify", "--header", header, input=body)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"user.deleted {EVENT_ID}\n"
    assert SECRET not in result.output


def test_tampered_body_is_refused_with_the_check(verify: Invoke) -> None:
    """A body changed after signing exits 1 naming the ``signature`` check, secret unshown."""
    body = _body()
    header = f"{SIGNATURE_HEADER}: {sign(body, SECRET)}"
    tampered = body.replace(b"ada@", b"eve@")
    result = verify("webhooks", "verify", "-H", header, input=tampered)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("Error: refused: signature: ")
    assert SECRET not in result.output


def test_stale_signature_is_refused_beyond_the_tolerance(verify: Invoke) -> None:
    """A signature older than ``--tolerance`` seconds is a refused ``timestamp``."""
    body = _body()
    header = f"{SIGNATURE_HEADER}: {sign(body, SECRET, timestamp=int(time.time()) - 120)}"
    accepted = verify("webhooks", "verify", "-H", header, input=body)
    assert accepted.exit_code == 0
    refused = verify("webhooks", "verify", "-H", header, "--tolerance", "60", input=body)
    assert refused.exit_code == 1
    assert refused.stderr.startswith("Error: refused: timestamp: ")


def test_headers_file_and_secrets_from_the_environment(
    verify: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Headers come from a dump file, secrets from INTELLIAUTH_WEBHOOK_SECRETS (a rotation)."""
    body = _body()
    headers = tmp_path / "headers.txt"
    headers.write_text(
        "POST /hooks/intelliauth HTTP/1.1\n"
        "Content-Type: application/json\n"
        f"{SIGNATURE_HEADER}: {sign(body, SECRET)}\n"
        f"IntelliAuth-Event-Id: {EVENT_ID}\n"
    )
    monkeypatch.setenv("INTELLIAUTH_WEBHOOK_SECRETS", f"whsec_old_one,{SECRET}")
    result = verify("webhooks", "verify", "--headers-file", str(headers), input=body)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"user.deleted {EVENT_ID}\n"


def test_missing_signature_header_and_secret(
    verify: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No signature header is a refused ``header``; no secret at all is a usage error."""
    body = _body()
    refused = verify("webhooks", "verify", input=body)
    assert refused.exit_code == 1
    assert refused.stderr.startswith("Error: refused: header: ")
    malformed = verify("webhooks", "verify", "-H", "no colon", input=body)
    assert malformed.exit_code == 2
    assert "--header #1 is not a 'Name: value' header" in malformed.stderr
    monkeypatch.delenv("INTELLIAUTH_WEBHOOK_SECRETS")
    no_secret = verify("webhooks", "verify", "-H", "X-Other: 1", input=body)
    assert no_secret.exit_code == 2
    assert "INTELLIAUTH_WEBHOOK_SECRETS" in no_secret.stderr


def test_secrets_from_a_file(
    verify: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--secret-file holds one secret a line (a rotation's two); it wins over the variable."""
    monkeypatch.setenv("INTELLIAUTH_WEBHOOK_SECRETS", "whsec_not_this_one")
    secrets = tmp_path / "secrets"
    secrets.write_text(f"# the new secret, then the old\nwhsec_new_one\n\n{SECRET}\n")
    body = _body()
    header = f"{SIGNATURE_HEADER}: {sign(body, SECRET)}"
    result = verify("webhooks", "verify", "--secret-file", str(secrets), "-H", header, input=body)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"user.deleted {EVENT_ID}\n"


def test_a_secret_on_the_command_line_is_refused(verify: Invoke) -> None:
    """--secret is refused (exit 2) with the reason, never echoing the value; help omits it."""
    body = _body()
    header = f"{SIGNATURE_HEADER}: {sign(body, SECRET)}"
    result = verify("webhooks", "verify", "--secret", SECRET, "-H", header, input=body)
    assert result.exit_code == 2
    assert "visible to every user" in result.stderr
    assert "--secret-file" in result.stderr
    assert SECRET not in result.stdout + result.stderr
    helped = verify("webhooks", "verify", "--help")
    assert "--secret-file" in helped.stdout
    assert "--secret " not in helped.stdout
