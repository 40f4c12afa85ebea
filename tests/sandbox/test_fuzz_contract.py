"""schemathesis against the sandbox: generated requests for every operation of the contract
find no server error, and no response that breaks the spec (status, headers, body)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import CHECKS

from intelliauth_ext.testing import Sandbox
from intelliauth_ext.testing._threaded import serve_in_thread

SPEC = Path(__file__).resolve().parents[2] / "openapi" / "intelliauth.openapi.yaml"
#: Examples per operation: bounded so the whole contract fuzzes in well under a minute.
MAX_EXAMPLES = 8
#: What must hold for every generated request, valid or not.
CHECK_NAMES = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
)

schema = schemathesis.openapi.from_path(SPEC)


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Sandbox, str]]:
    """One sandbox on a loopback port for the module, and an every-scope access token.

    Leaving the module raises any contract violation the sandbox recorded.
    """
    with serve_in_thread(validate=True) as sandbox:
        response = httpx.post(
            f"{sandbox.url}/oauth2/token",
            data={"grant_type": "client_credentials"},
            auth=(sandbox.client_id, sandbox.client_secret),
        )
        response.raise_for_status()
        yield sandbox, str(response.json()["access_token"])


def _checks() -> list[Any]:
    by_name = {check.__name__: check for check in CHECKS.get_all()}
    return [by_name[name] for name in CHECK_NAMES]


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_the_sandbox_keeps_the_contract(
    case: schemathesis.Case, served: tuple[Sandbox, str]
) -> None:
    """Any request the contract describes gets a documented, schema-valid answer."""
    sandbox, token = served
    case.call_and_validate(
        base_url=sandbox.url,
        headers={"Authorization": f"Bearer {token}"},
        checks=_checks(),
        excluded_checks=[check for check in CHECKS.get_all() if check.__name__ not in CHECK_NAMES],
    )
