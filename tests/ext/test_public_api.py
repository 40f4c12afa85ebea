"""The package root: a curated, sorted __all__, lazy imports that resolve, no heavy imports."""

from __future__ import annotations

import subprocess
import sys

import pytest

import intelliauth_ext


def test_every_public_name_resolves() -> None:
    """Every name in __all__ is an attribute of the package (lazy ones included)."""
    for name in intelliauth_ext.__all__:
        assert getattr(intelliauth_ext, name) is not None, name


def test_all_is_pinned() -> None:
    """__all__ has no duplicates and lists exactly the lazy names plus the exceptions."""
    names = intelliauth_ext.__all__
    assert len(names) == len(set(names))
    lazy = set(intelliauth_ext._LAZY)
    exceptions = {
        name
        for name in names
        if isinstance(getattr(intelliauth_ext, name), type)
        and issubclass(getattr(intelliauth_ext, name), intelliauth_ext.IntelliAuthError)
    }
    assert set(names) == lazy | exceptions
    assert "IntelliAuth" in names
    assert "ClientCredentials" in names


def test_lazy_names_are_the_implementations() -> None:
    """A lazily imported name is the object of its private module, not a copy."""
    from intelliauth_ext._client import IntelliAuth
    from intelliauth_ext._redis_flow_store import RedisFlowStore
    from intelliauth_ext._redis_token_set_store import RedisTokenSetStore
    from intelliauth_ext._sign_in import MfaChallenge

    assert intelliauth_ext.IntelliAuth is IntelliAuth
    assert intelliauth_ext.MfaChallenge is MfaChallenge
    assert intelliauth_ext.RedisFlowStore is RedisFlowStore
    assert intelliauth_ext.RedisTokenSetStore is RedisTokenSetStore
    assert issubclass(intelliauth_ext.TokenStoreUnavailableError, intelliauth_ext.TokenStoreError)
    from intelliauth_ext._native_token_stores import FileTokenSetStore, KeyringTokenSetStore

    assert intelliauth_ext.FileTokenSetStore is FileTokenSetStore
    assert intelliauth_ext.KeyringTokenSetStore is KeyringTokenSetStore
    assert "TokenVerifier" in dir(intelliauth_ext)


def test_unknown_attribute_is_an_attribute_error() -> None:
    """A name the package does not export raises AttributeError, as for any module."""
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = intelliauth_ext.no_such_name  # type: ignore[attr-defined]


def test_import_stays_light() -> None:
    """Importing the package imports neither the client, the JOSE library nor the facade."""
    code = (
        "import sys, intelliauth_ext\n"
        "heavy = [m for m in ('intelliauth_ext._client', 'intelliauth_ext._verification',"
        " 'intelliauth_ext._discovery', 'joserfc', 'intelliauth_client.facade', 'aiohttp')"
        " if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


def test_importing_the_client_defers_what_a_client_object_needs() -> None:
    """``from intelliauth_ext import IntelliAuth`` imports httpx and the client class only.

    The invoker, the transports, the log redaction, anyio, attrs and ``importlib.metadata``
    load when the first client is built, so the import costs about what ``import httpx``
    costs (make bench, scenario 5).
    """
    code = (
        "import sys\n"
        "from intelliauth_ext import IntelliAuth\n"
        "deferred = [m for m in ('intelliauth_ext._invoker', 'intelliauth_ext._transports',"
        " 'intelliauth_ext._pagination', 'intelliauth_ext._auth', 'intelliauth_ext._logging',"
        " 'intelliauth_client.facade', 'anyio', 'attrs', 'importlib.metadata')"
        " if m in sys.modules]\n"
        "print(','.join(deferred))\n"
        "client = IntelliAuth('https://tenant.example', client_id='id', client_secret='s')\n"
        "print(all(m in sys.modules for m in ('intelliauth_ext._invoker', 'anyio')))\n"
        "import asyncio\n"
        "asyncio.run(client.aclose())"
    )
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.split("\n")[:2] == ["", "True"]
