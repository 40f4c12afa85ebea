"""``make demo``'s job: examples/quickstart.py, narrated, and safe on a tenant in use.

It runs to the end against the embedded sandbox; against a tenant that already has 1,600
users it lists only its own (a few pages), and it leaves the tenant as it found it, also
when Ctrl-C stops it half-way.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from intelliauth_ext.testing import Sandbox

QUICKSTART = Path(__file__).resolve().parents[2] / "examples" / "quickstart.py"
REDIRECT_URI = "http://127.0.0.1:8976/callback"  # the quickstart's


def _environment(**variables: str) -> dict[str, str]:
    """This process's environment without INTELLIAUTH_*, plus ``variables``."""
    kept = {k: v for k, v in os.environ.items() if not k.startswith("INTELLIAUTH_")}
    return {**kept, **variables}


def _tenant_state(sandbox: Sandbox) -> dict[str, object]:
    """What the quickstart may create on a tenant, counted (ids for what existed before)."""
    tenant = sandbox.tenant
    return {
        "users": len(tenant.users),
        "groups": len(tenant.groups),
        "memberships": len(tenant.memberships),
        "resource_types": len(tenant.resource_types),
        "resources": len(tenant.resources),
        "relations": len(tenant.relations),
        "clients": sorted(tenant.clients),
        "webhooks": len(sandbox.webhooks.subscriptions),
        "sessions": len(tenant.sessions),
    }


@pytest.fixture
def busy_tenant(intelliauth_sandbox: Sandbox) -> tuple[Sandbox, dict[str, str]]:
    """A served sandbox with 1,600 users, and the variables that point the quickstart at it."""
    for number in range(1600):
        intelliauth_sandbox.add_user(f"employee{number:04d}@example.com")
    public = intelliauth_sandbox.add_client(
        name="Quickstart SPA", public=True, redirect_uris=(REDIRECT_URI,)
    )
    return (
        intelliauth_sandbox,
        _environment(
            INTELLIAUTH_TENANT_URL=intelliauth_sandbox.url,
            INTELLIAUTH_CLIENT_ID=intelliauth_sandbox.client_id,
            INTELLIAUTH_CLIENT_SECRET=intelliauth_sandbox.client_secret,
            INTELLIAUTH_PUBLIC_CLIENT_ID=public.client_id,
        ),
    )


def test_the_quickstart_runs_every_step() -> None:
    """Each step prints what it did; the outcomes are the ones the flows must give."""
    result = subprocess.run(
        [sys.executable, str(QUICKSTART)],
        capture_output=True,
        text=True,
        timeout=120,
        env=_environment(),
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    steps = re.findall(r"^(\d)\. ", out, flags=re.MULTILINE)
    assert steps == [str(n) for n in range(1, 10)]
    tag = re.search(r"only what it names (quickstart-\d+-[0-9a-f]{4}):", out)
    assert tag is not None, out
    assert "the same token from the cache (True)" in out
    assert "has 3 members" in out
    assert "5 users in 3 pages" in out
    assert re.search(r"\(a member of the group\) view the document\? True", out)
    assert re.search(r"\(not a member\) view the document\? False", out)
    assert "the old secret is refused: invalid_client" in out
    assert "the signature checks out" in out
    assert "a tampered copy is refused" in out
    assert "ID token verified" in out
    assert "introspected again: active=False" in out
    assert f"signed in as {tag[1]}.mfa@example.com" in out
    removed = re.findall(r"^   removed (.+)$", out, flags=re.MULTILINE)
    assert len(removed) == 14  # 7 users, a group, 2 types, 2 resources, an app, a webhook
    for what in removed:  # each named with this run's tag, or by the id the tenant gave it
        assert tag[1] in what or tag[1].replace("-", "_") in what or re.search(r" (res|whk)_", what)
    assert out.rstrip().endswith("Done.")
    assert "skipped" not in out
    assert "could NOT remove" not in out


def test_on_a_busy_tenant_it_reads_only_its_own_and_leaves_nothing(
    busy_tenant: tuple[Sandbox, dict[str, str]],
) -> None:
    """With 1,600 users it pages through its own 5 only, and leaves the tenant as it was."""
    sandbox, environment = busy_tenant
    before = _tenant_state(sandbox)
    result = subprocess.run(
        [sys.executable, str(QUICKSTART)],
        capture_output=True,
        text=True,
        timeout=120,
        env=environment,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert len(re.findall(r"^   page \d+: ", out, flags=re.MULTILINE)) == 3
    assert "5 users in 3 pages" in out
    assert "employee" not in out
    assert "ID token verified" in out  # the sign-in ran (and was signed out)
    assert "introspected again: active=False" in out
    assert "could NOT remove" not in out
    assert _tenant_state(sandbox) == before
    # The listings it made were capped and filtered: never the whole user list.
    list_calls = sum(sandbox.served.statuses("listUsers").values())
    assert list_calls <= 8


@pytest.mark.parametrize(
    "after",
    [
        pytest.param("5. ", id="after-the-resources"),
        pytest.param("8. ", id="after-the-sign-in"),
    ],
)
def test_ctrl_c_half_way_still_deletes_what_it_created(
    after: str, busy_tenant: tuple[Sandbox, dict[str, str]]
) -> None:
    """SIGINT half-way (at a step's heading): all it created is deleted, exit status 130."""
    sandbox, environment = busy_tenant
    before = _tenant_state(sandbox)
    users_before = len(sandbox.tenant.users)
    process = subprocess.Popen(
        [sys.executable, "-u", str(QUICKSTART)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
    )
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        lines.append(line)
        if line.startswith(after):
            break
    assert len(sandbox.tenant.users) > users_before  # it had created something
    process.send_signal(signal.SIGINT)
    rest, stderr = process.communicate(timeout=60)
    out = "".join(lines) + rest
    assert process.returncode == 130, out + stderr
    assert stderr.strip().endswith("Interrupted.")
    assert "Traceback" not in stderr
    assert "Cleaning up what this run created" in out
    assert "could NOT remove" not in out
    assert "Done." not in out
    assert _tenant_state(sandbox) == before
