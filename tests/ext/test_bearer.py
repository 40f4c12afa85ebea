"""The resource server's side of RFC 6750: challenges, and reading the Authorization header."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from intelliauth_ext._bearer import BearerTokenError, TokenGuard, bearer_challenge


def guard() -> TokenGuard:
    """A guard for a tenant that is never contacted (only the header is read)."""
    client: Any = SimpleNamespace(
        tenant_url=httpx.URL("https://acme.intelliauth.io"), http_client=None
    )
    return TokenGuard(client, audience="https://api.acme.dev", realm="api")


def test_a_challenge_without_parameters_is_the_bare_scheme() -> None:
    """No realm, error or scope: just `Bearer` (RFC 7235 allows a challenge without params)."""
    assert bearer_challenge() == "Bearer"


def test_a_challenge_lists_realm_error_description_and_scope_in_order() -> None:
    """The attributes come in RFC 6750's order, each a quoted string; scopes space-separated."""
    value = bearer_challenge(
        realm="api", error="insufficient_scope", description="Needs more", scopes=["a", "b"]
    )
    assert value == (
        'Bearer realm="api", error="insufficient_scope", '
        'error_description="Needs more", scope="a b"'
    )


def test_a_description_can_not_break_out_of_its_quotes() -> None:
    """Quotes, backslashes and control characters in a description become '?'."""
    value = bearer_challenge(error="invalid_token", description='bad "x"\\\r\nSet-Cookie: y')
    assert value == 'Bearer error="invalid_token", error_description="bad ?x????Set-Cookie: y"'


def test_no_description_without_an_error() -> None:
    """error_description accompanies an error only (RFC 6750 section 3)."""
    assert bearer_challenge(realm="api", description="ignored") == 'Bearer realm="api"'


@pytest.mark.parametrize("values", [[], [""], ["Basic dXNlcjpwYXNz"], ["Token abc"]])
def test_no_bearer_credentials_is_401_without_an_error(values: list[str]) -> None:
    """No header, or another scheme: 401 with a challenge and no error code (RFC 6750 3.1)."""
    with pytest.raises(BearerTokenError) as caught:
        guard().bearer_token(values, ["users:read"])
    assert (caught.value.status_code, caught.value.error) == (401, None)
    assert caught.value.headers == {"WWW-Authenticate": 'Bearer realm="api", scope="users:read"'}


@pytest.mark.parametrize(
    "values",
    [
        ["Bearer"],
        ["Bearer a b"],
        ["Bearer é"],
        ["Bearer a", "Bearer b"],
        ["Bearer ="],  # padding alone
        ["Bearer a=b"],  # "=" only at the end
        ["Bearer a,b"],
        ["Bearer a\x00b"],
        ["Bearer abc\u00a0def"],
    ],
)
def test_a_malformed_header_is_400_invalid_request(values: list[str]) -> None:
    """An empty or non-b64token token, or two Authorization headers: 400 invalid_request."""
    with pytest.raises(BearerTokenError) as caught:
        guard().bearer_token(values)
    assert (caught.value.status_code, caught.value.error) == (400, "invalid_request")


def test_the_scheme_is_case_insensitive() -> None:
    """`bearer` and `BEARER` are the Bearer scheme (RFC 7235 section 2.1)."""
    assert guard().bearer_token(["bearer abc.def-ghi_"]) == "abc.def-ghi_"
    assert guard().bearer_token(["  BEARER  a/b+c==  "]) == "a/b+c=="
    assert guard().bearer_token(["Bearer ~Az09-._~+/="]) == "~Az09-._~+/="
