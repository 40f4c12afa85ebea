"""One secure-URL rule (``_urls.py``): https, or http on loopback, for every URL given a secret."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from intelliauth_ext._auth._token_endpoint import validate_token_url
from intelliauth_ext._client import validate_tenant_url
from intelliauth_ext._discovery import ProviderMetadata
from intelliauth_ext._errors import InsecureURLError
from intelliauth_ext._urls import is_loopback, require_secure_url
from intelliauth_ext._verification import TokenVerifier

SECURE = [
    "https://acme.intelliauth.test",
    "https://acme.intelliauth.test:8443/base",
    "http://127.0.0.1:8080",
    "http://127.9.9.9",
    "http://[::1]:9000",
    "http://localhost:3000",
    "http://app.localhost",
]
INSECURE = [
    "http://acme.intelliauth.test",
    "http://10.0.0.1",
    "http://localhost.evil.test",
    "ftp://acme.intelliauth.test",
    "ws://127.0.0.1",
    "acme.intelliauth.test",
]


@pytest.mark.parametrize("url", SECURE)
def test_https_and_loopback_http_are_accepted(url: str) -> None:
    """https:// anywhere and http:// on 127.0.0.0/8, ::1 and localhost pass, parsed."""
    assert require_secure_url(url, "tenant URL") == httpx.URL(url)


@pytest.mark.parametrize("url", INSECURE)
def test_anything_else_is_an_insecure_url_error(url: str) -> None:
    """Another scheme, or http to a host that is not loopback, is an InsecureURLError."""
    with pytest.raises(InsecureURLError, match="the token URL must start with https://"):
        require_secure_url(url, "token URL")


def test_the_message_never_shows_credentials() -> None:
    """The refused URL is quoted with its userinfo and secret parameters redacted."""
    with pytest.raises(InsecureURLError) as info:
        require_secure_url("http://user:hunter2@idp.test/x?client_secret=s3cr3t", "issuer URL")
    message = str(info.value)
    assert "idp.test" in message
    assert "hunter2" not in message
    assert "s3cr3t" not in message


@pytest.mark.parametrize("url", ["https://", "https:///path", "https://idp.test:port"])
def test_no_host_or_an_invalid_url_is_a_value_error(url: str) -> None:
    """No host, or a URL httpx can not parse: a ValueError naming what the URL is for."""
    with pytest.raises(ValueError, match="redirect URI"):
        require_secure_url(url, "redirect URI")


def test_loopback_names() -> None:
    """Loopback is 127.0.0.0/8, ::1, localhost and *.localhost (RFC 6761), nothing else."""
    assert all(is_loopback(host) for host in ["127.0.0.1", "[::1]", "LOCALHOST", "a.localhost"])
    assert not any(is_loopback(host) for host in ["", "10.0.0.1", "localhost.evil.test"])


def _metadata_endpoint(url: str) -> object:
    return ProviderMetadata.from_dict({"issuer": "https://i.test", "jwks_uri": url}).require(
        "jwks_uri"
    )


#: Every place that takes a URL it sends credentials or tokens to.
CHECKS: dict[str, Callable[[str], object]] = {
    "tenant URL": validate_tenant_url,
    "token URL": validate_token_url,
    "issuer URL": TokenVerifier,
    "metadata endpoint": _metadata_endpoint,
}


@pytest.mark.parametrize("check", CHECKS.values(), ids=CHECKS.keys())
def test_every_check_applies_the_one_rule(check: Callable[[str], object]) -> None:
    """Tenant, token, issuer and discovered URLs all accept and refuse the same URLs."""
    for url in SECURE:
        check(url)
    for url in INSECURE:
        with pytest.raises(InsecureURLError):
            check(url)
