"""The JSON and Postman bundles (codegen/bundles.py, codegen/postman.cjs)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from codegen import bundles
from codegen.spec import iter_operations, load_document

MINI_SPEC = Path(__file__).parent / "fixtures" / "mini.openapi.yaml"

needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")


@pytest.fixture(scope="module")
def mini_bundles() -> tuple[str, str]:
    """(JSON, Postman) texts for the test spec, built once."""
    return bundles.build_bundles(MINI_SPEC)


def _requests(items: list[Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for item in items:
        if "request" in item:
            found.append(item)
        found += _requests(item.get("item", []))
    return found


def test_json_bundle_is_the_same_document(mini_bundles: tuple[str, str]) -> None:
    """The JSON bundle is the YAML document, 2-space indented, with a trailing newline."""
    text, _ = mini_bundles
    assert json.loads(text) == load_document(MINI_SPEC)
    assert text.endswith("}\n")
    assert text.startswith('{\n  "openapi": "3.1.0",')


@needs_node
def test_postman_collection_has_one_request_per_operation(mini_bundles: tuple[str, str]) -> None:
    """One request per operation, in one folder per tag."""
    collection = json.loads(mini_bundles[1])
    assert collection["info"]["schema"].endswith("/v2.1.0/collection.json")
    operations = list(iter_operations(load_document(MINI_SPEC)))
    requests = _requests(collection["item"])
    assert len(requests) == len(operations)
    folders = {folder["name"]: len(folder["item"]) for folder in collection["item"]}
    assert folders == {"users": 5, "groups": 1, "federation": 1, "me": 1, "oauth2": 1}


@needs_node
def test_postman_collection_auth_and_variables(mini_bundles: tuple[str, str]) -> None:
    """Bearer auth on the collection, `{{tenant_url}}` on every request, none on public ones."""
    collection = json.loads(mini_bundles[1])
    assert collection["auth"]["type"] == "bearer"
    assert collection["auth"]["bearer"][0]["value"] == "{{access_token}}"
    variables = {v["key"]: v["value"] for v in collection["variable"]}
    assert variables["tenant_url"] == "https://{{tenant}}.intelliauth.local"
    assert variables["tenant"] == "acme"
    for item in _requests(collection["item"]):
        assert item["request"]["url"]["host"] == ["{{tenant_url}}"]
    token = next(i for i in _requests(collection["item"]) if i["name"] == "Request a token")
    assert token["request"]["auth"] == {"type": "noauth"}
    assert "{{baseUrl}}" not in mini_bundles[1]


@needs_node
def test_bundles_are_reproducible(mini_bundles: tuple[str, str]) -> None:
    """A second run gives the same bytes: no random ids, seeded fake values, pinned clock."""
    assert bundles.build_bundles(MINI_SPEC) == mini_bundles
    assert '"_postman_id"' not in mini_bundles[1]


@needs_node
def test_check_mode_detects_drift(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`--check` passes on fresh bundles and fails once the YAML changes."""
    spec = tmp_path / "mini.openapi.yaml"
    shutil.copy(MINI_SPEC, spec)
    assert bundles.main(["--spec", str(spec)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "mini.openapi.json",
        "mini.openapi.yaml",
        "mini.postman_collection.json",
    ]
    assert bundles.main(["--spec", str(spec), "--check"]) == 0
    spec.write_text(spec.read_text().replace("summary: Get a user", "summary: Fetch a user"))
    assert bundles.main(["--spec", str(spec), "--check"]) == 1
    assert "stale" in capsys.readouterr().err


@needs_node
def test_vendored_bundles_match_the_yaml(real_spec: Path) -> None:
    """openapi/intelliauth.openapi.json and the Postman collection are what the YAML gives."""
    assert bundles.main(["--spec", str(real_spec), "--check"]) == 0
