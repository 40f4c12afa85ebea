"""The spec-bump job (.github/workflows/spec-bump.yml) and the make targets it is made of.

The workflow runs one target, ``make update-spec``; running that here would fetch, generate
the full client and run the whole suite. So the workflow and the Makefile are read to pin
which steps they run, and the steps themselves run on local files: fetching a spec from a
file, ``make generate`` (client, bundles, changelog entry) and ``make check-breaking``.
"""

from __future__ import annotations

import copy
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from ruamel.yaml import YAML

from codegen import REPO_ROOT, fetch

WORKFLOW = REPO_ROOT / ".github" / "workflows" / "spec-bump.yml"
MAKEFILE = REPO_ROOT / "Makefile"
MINI_SPEC = Path(__file__).parent / "fixtures" / "mini.openapi.yaml"


def _recipe(target: str) -> list[str]:
    """The commands of a Makefile target (continuation lines joined)."""
    text = MAKEFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    match = re.search(rf"^{re.escape(target)}:.*\n((?:\t.*\n)+)", text, re.MULTILINE)
    assert match, target
    return [" ".join(line.split()) for line in match.group(1).splitlines()]


def _workflow_steps() -> list[dict[str, Any]]:
    workflow = YAML(typ="safe").load(WORKFLOW.read_text(encoding="utf-8"))  # YAML 1.2: `on`
    assert set(workflow["on"]) == {"schedule", "workflow_dispatch"}
    steps: list[dict[str, Any]] = workflow["jobs"]["spec-bump"]["steps"]
    return steps


def test_the_workflow_runs_update_spec_and_nothing_else_that_makes() -> None:
    """Every make call of the workflow: update-spec, plus installing for the acknowledgement."""
    calls = [
        line.split()[1:]
        for step in _workflow_steps()
        for line in str(step.get("run", "")).splitlines()
        if line.strip().startswith("make ")
    ]
    assert calls == [["install", "install-node"], ["update-spec", 'SPEC_URL="$SPEC_URL"']]


def test_the_workflow_commits_with_the_changelog_entry() -> None:
    """The pull request's commit message and body are the entry `make generate` wrote."""
    steps = _workflow_steps()
    env = YAML(typ="safe").load(WORKFLOW.read_text(encoding="utf-8"))["jobs"]["spec-bump"]["env"]
    entry_default = re.search(r"^CHANGELOG_ENTRY \?= (.+)$", MAKEFILE.read_text(), re.MULTILINE)
    assert entry_default is not None
    assert env["ENTRY"] == entry_default.group(1)
    pull_request = next(s for s in steps if "create-pull-request" in str(s.get("uses")))
    options = pull_request["with"]
    assert options["body-path"] == env["ENTRY"]
    assert options["commit-message"] == "${{ steps.entry.outputs.message }}"
    assert set(options["add-paths"].split()) == {"openapi/**", "intelliauth_client/**"}
    assert pull_request["if"] == "steps.entry.outputs.changed == 'true'"
    acknowledge = next(s for s in steps if s.get("name") == "Acknowledge the breaking changes")
    assert "python -m codegen.changelog acknowledge" in acknowledge["run"]
    assert "--ack openapi/breaking-changes-ack.yaml" in acknowledge["run"]


def test_update_spec_fetches_generates_checks_and_tests() -> None:
    """`make update-spec`: fetch (URL or file), generate, check-breaking, then every test."""
    assert _recipe("update-spec")[1:] == [
        '$(BIN)/python -m codegen.fetch --url "$(or $(SPEC_FILE),$(SPEC_URL))" --dest $(SPEC)',
        "$(MAKE) --no-print-directory generate",
        "$(MAKE) --no-print-directory check-breaking",
        "$(MAKE) --no-print-directory test",
    ]
    generate = _recipe("generate")
    assert [command.split()[2] for command in generate] == [
        "codegen",
        "codegen.bundles",
        "codegen.changelog",
    ]
    assert " record " in generate[2]
    assert _recipe("check-breaking")[0].startswith("$(BIN)/python -m codegen.changelog check ")


def test_fetch_takes_a_local_file_and_a_file_url(tmp_path: Path) -> None:
    """The fetch step reads `SPEC_FILE=path` or `file://` the way it downloads a URL."""
    dest = tmp_path / "openapi" / "spec.yaml"
    assert fetch.main(["--url", str(MINI_SPEC), "--dest", str(dest)]) == 0
    assert dest.read_bytes() == MINI_SPEC.read_bytes()
    bumped = tmp_path / "bumped spec.yaml"
    bumped.write_text(MINI_SPEC.read_text().replace("0.0.1-test", "0.0.2-test"))
    assert fetch.fetch(bumped.as_uri(), dest) is True
    assert "0.0.2-test" in dest.read_text()
    with pytest.raises(fetch.FetchError, match="could not read"):
        fetch.fetch(str(tmp_path / "missing.yaml"), dest)


def bump(document: dict[str, Any]) -> dict[str, Any]:
    """getUser renamed fetchUser, deleteUser removed, User.department added."""
    bumped = copy.deepcopy(document)
    bumped["info"]["version"] = "0.0.2-test"
    item = bumped["paths"]["/api/v1/users/{user_id}"]
    item["get"]["operationId"] = "fetchUser"
    del item["delete"]
    bumped["components"]["schemas"]["User"]["properties"]["department"] = {"type": "string"}
    return bumped


def _make(*arguments: str) -> subprocess.CompletedProcess[str]:
    # -o: the venv and node_modules are there; do not let make refresh them mid-test.
    return subprocess.run(
        ["make", "--no-print-directory", "-o", "install", "-o", "install-node", *arguments],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.timeout(300)
def test_a_breaking_bump_is_recorded_and_held_until_acknowledged(tmp_path: Path) -> None:
    """`make generate` prints and records the entry (rename and removal breaking);
    `make check-breaking` fails until the ack file lists them, then passes."""
    spec_dir = tmp_path / "openapi"
    spec_dir.mkdir()
    spec = spec_dir / "intelliauth.openapi.yaml"
    spec.write_text(yaml.safe_dump(bump(yaml.safe_load(MINI_SPEC.read_text())), sort_keys=False))
    entry = tmp_path / "entry.md"
    variables = [f"SPEC={spec}", f"BASELINE={MINI_SPEC}"]

    generated = _make("generate", *variables, f"OUT={tmp_path / 'pkg'}", f"CHANGELOG_ENTRY={entry}")
    assert generated.returncode == 0, generated.stderr
    assert "Breaking for SDK users (2):" in generated.stdout
    assert "- Operation removed: `users.delete` (deleteUser" in generated.stdout
    assert "- Operation renamed: `users.get` (getUser) is now `users.fetch`" in generated.stdout
    assert "- Field added: `User.department` (string)." in generated.stdout
    recorded = (spec_dir / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "## 0.0.2-test (from 0.0.1-test)" in recorded
    assert entry.read_text(encoding="utf-8") in recorded
    assert (tmp_path / "pkg" / "facade.py").exists()

    held = _make("check-breaking", *variables)
    assert held.returncode != 0
    assert "2 breaking change(s) of the contract are not acknowledged" in held.stderr
    ack_lines = held.stderr[held.stderr.index('version: "0.0.2-test"') :]
    # make prints "make:" at the top level and "make[1]:" under another make (make test).
    (spec_dir / "breaking-changes-ack.yaml").write_text(
        re.split(r"^make(?:\[\d+\])?:", ack_lines, flags=re.M)[0]
    )

    passed = _make("check-breaking", *variables)
    assert passed.returncode == 0, passed.stderr
    assert "no unacknowledged breaking change (2 acknowledged)" in passed.stdout
