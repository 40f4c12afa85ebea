"""Configuration: the INTELLIAUTH_* variables or a profile of profiles.toml, secrets never shown."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from intelliauth_ext.cli._config import ConfigError, load_settings
from intelliauth_ext.testing import Sandbox

from .conftest import Invoke


def _write_profiles(home: Path, text: str) -> Path:
    path = home / ".config" / "intelliauth" / "profiles.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.chmod(path, 0o600)
    return path


def _clear_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("INTELLIAUTH_TENANT_URL", "INTELLIAUTH_CLIENT_ID", "INTELLIAUTH_CLIENT_SECRET"):
        monkeypatch.delenv(name)


def test_named_profile_is_used(
    invoke: Invoke, intelliauth_sandbox: Sandbox, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--profile NAME`` reads the tenant and credentials from profiles.toml."""
    _clear_environment(monkeypatch)
    _write_profiles(
        home,
        f'[ci]\ntenant_url = "{intelliauth_sandbox.url}"\n'
        f'client_id = "{intelliauth_sandbox.client_id}"\n'
        f'client_secret = "{intelliauth_sandbox.client_secret}"\nscopes = ["users:read"]\n',
    )
    result = invoke("--profile", "ci", "users", "list", "--json")
    assert result.exit_code == 0, result.stderr
    assert "ada@example.com" in result.stdout


def test_default_profile_and_secret_from_the_environment(
    invoke: Invoke, intelliauth_sandbox: Sandbox, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without variables the [default] profile is used; a key it leaves out comes from the env."""
    _clear_environment(monkeypatch)
    _write_profiles(
        home,
        f'[default]\ntenant_url = "{intelliauth_sandbox.url}"\n'
        f'client_id = "{intelliauth_sandbox.client_id}"\n',
    )
    assert invoke("token").exit_code == 1  # no secret anywhere yet
    monkeypatch.setenv("INTELLIAUTH_CLIENT_SECRET", intelliauth_sandbox.client_secret)
    result = invoke("token")
    assert result.exit_code == 0, result.stderr


def test_missing_configuration_is_one_line(invoke: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    """No variables and no profile: a one-line hint and exit status 1."""
    _clear_environment(monkeypatch)
    result = invoke("users", "list")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: no tenant configured: set INTELLIAUTH_TENANT_URL")
    assert len(result.stderr.strip().splitlines()) == 1


def test_unknown_profile_names_no_secret(
    invoke: Invoke, intelliauth_sandbox: Sandbox, home: Path
) -> None:
    """An unknown profile, or an unknown key, is reported without any value of the file."""
    _write_profiles(
        home, f'[ci]\ntenant_url = "http://127.0.0.1:1"\nclient_sekret = "{"s" * 30}"\n'
    )
    missing = invoke("--profile", "nope", "token")
    assert missing.exit_code == 1
    assert "no profile 'nope'" in missing.stderr
    typo = invoke("--profile", "ci", "token")
    assert typo.exit_code == 1
    assert "unknown keys client_sekret" in typo.stderr
    assert "s" * 30 not in typo.output


def test_plain_http_tenant_is_refused(invoke: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    """A tenant URL that is plain http and not loopback is refused before any request."""
    monkeypatch.setenv("INTELLIAUTH_TENANT_URL", "http://tenant.example.com")
    result = invoke("token")
    assert result.exit_code == 1
    assert "https://" in result.stderr
    assert "Traceback" not in result.output


def test_help_never_shows_a_secret(invoke: Invoke, intelliauth_sandbox: Sandbox) -> None:
    """No ``--help`` page shows the configured secrets, as defaults or otherwise."""
    pages = [
        (),
        ("token",),
        ("users",),
        ("users", "list"),
        ("users", "import"),
        ("webhooks", "verify"),
        ("sandbox",),
    ]
    for page in pages:
        result = invoke(*page, "--help")
        assert result.exit_code == 0
        assert intelliauth_sandbox.client_secret not in result.output


def test_settings_repr_hides_the_secret(tmp_path: Path) -> None:
    """``Settings`` never shows the client secret in its repr."""
    settings = load_settings(
        environ={
            "INTELLIAUTH_TENANT_URL": "https://acme.intelliauth.io",
            "INTELLIAUTH_CLIENT_ID": "app_1",
            "INTELLIAUTH_CLIENT_SECRET": "very-secret",
            "INTELLIAUTH_SCOPES": "users:read,groups:read",
        },
        path=tmp_path / "none.toml",
    )
    assert settings.scopes == ("groups:read", "users:read")  # sorted: scopes are a set
    assert "very-secret" not in repr(settings)


def test_invalid_toml_is_a_config_error(tmp_path: Path) -> None:
    """A malformed profiles file is a ``ConfigError`` naming the file, not a crash."""
    path = tmp_path / "profiles.toml"
    path.write_text('[ci\nclient_secret = "abc"\n')
    with pytest.raises(ConfigError, match="is not valid TOML"):
        load_settings("ci", environ={}, path=path)
