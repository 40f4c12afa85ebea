"""The contract changelog (codegen/contract_diff.py, codegen/changelog.py).

One bump of the test spec with a change of every kind is diffed once; each test pins how one
kind is named and classified for SDK users.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from codegen import changelog
from codegen.contract_diff import Change, contract_changes
from codegen.spec import normalise

MINI_SPEC = Path(__file__).parent / "fixtures" / "mini.openapi.yaml"


def _mini() -> dict[str, Any]:
    return normalise(yaml.safe_load(MINI_SPEC.read_text(encoding="utf-8")))


def kitchen_sink(document: dict[str, Any]) -> dict[str, Any]:
    """A bump with one change of every kind the changelog names."""
    bumped = copy.deepcopy(document)
    bumped["info"]["version"] = "0.0.2-test"
    bumped["info"]["description"] = "Reworded."
    paths, schemas = bumped["paths"], bumped["components"]["schemas"]
    user_item = paths["/api/v1/users/{user_id}"]
    user_item["get"]["operationId"] = "fetchUser"  # renamed
    del user_item["delete"]  # removed
    paths["/api/v1/users"]["get"]["deprecated"] = True
    listing = paths["/api/v1/users"]["get"]["parameters"]
    listing.append({"name": "org", "in": "query", "required": True, "schema": {"type": "string"}})
    listing.append({"name": "sort", "in": "query", "schema": {"type": "string"}})
    listing[3]["schema"] = {"type": "integer"}  # q retyped
    groups = paths.pop("/api/v1/users/{user_id}/groups")  # path parameter camelCased
    groups["parameters"] = [
        {"name": "userId", "in": "path", "required": True, "schema": {"type": "string"}}
    ]
    paths["/api/v1/users/{userId}/groups"] = groups
    paths["/api/v1/badges"] = {
        "get": {
            "operationId": "listBadges",
            "tags": ["users"],
            "responses": {"204": {"description": "None."}},
        }
    }
    schemas["User"]["properties"]["department"] = {"type": "string"}
    schemas["User"]["properties"]["email"]["deprecated"] = True
    schemas["User"]["properties"]["x-internal"] = {"type": "string"}  # an extension: ignored
    del schemas["User"]["properties"]["display_name"]
    schemas["User"]["required"].remove("created_at")
    schemas["Group"]["properties"]["name"] = {"type": "integer"}
    schemas["UserStatus"]["enum"] = ["active", "suspended", "locked"]
    schemas["UserCreate"]["required"].append("display_name")
    schemas["UserCreate"]["properties"]["display_name"]["description"] = "Shown name."
    schemas["Member"] = schemas.pop("GroupMemberAdd")  # renamed (same content)
    paths["/api/v1/groups/{group_id}/members"]["post"]["requestBody"]["content"][
        "application/json"
    ]["schema"] = {"$ref": "#/components/schemas/Member"}
    schemas["Team"] = {"type": "object", "properties": {"id": {"type": "string"}}}
    return bumped


@pytest.fixture(scope="module")
def changes() -> dict[str, Change]:
    """The kitchen-sink bump's changes, by key."""
    found, _ = contract_changes(_mini(), kitchen_sink(_mini()))
    return {change.key: change for change in found}


@pytest.mark.parametrize(
    ("key", "breaking", "text"),
    [
        (
            "renamed operation getUser -> fetchUser",
            True,
            "Operation renamed: `users.get` (getUser) is now `users.fetch` (fetchUser), "
            "GET /api/v1/users/{user_id}.",
        ),
        (
            "removed operation deleteUser",
            True,
            "Operation removed: `users.delete` (deleteUser, DELETE /api/v1/users/{user_id}).",
        ),
        (
            "added operation listBadges",
            False,
            "Operation added: `users.list_badges` (listBadges, GET /api/v1/badges).",
        ),
        (
            "deprecated operation listUsers",
            False,
            "Deprecated: `users.list` (listUsers, GET /api/v1/users).",
        ),
        ("added field User.department", False, "Field added: `User.department` (string)."),
        ("removed field User.display_name", True, "Field removed: `User.display_name`."),
        (
            "retyped Group.name",
            True,
            "Type changed: `Group.name` was string, is integer.",
        ),
        ("deprecated field User.email", False, "Deprecated: `User.email`."),
        (
            "optional field User.created_at",
            True,
            "Field now optional: `User.created_at` (its type gains `Unset`).",
        ),
        (
            "required field UserCreate.display_name",
            True,
            "Field now required: `UserCreate.display_name`.",
        ),
        ("added enum value UserStatus locked", False, "Enum value added: `UserStatus` `locked`."),
        (
            "removed enum value UserStatus deprovisioned",
            True,
            "Enum value removed: `UserStatus` `deprovisioned`.",
        ),
        (
            "renamed model GroupMemberAdd -> Member",
            True,
            "Model renamed (as far as can be told): `GroupMemberAdd` is now `Member`.",
        ),
        ("added model Team", False, "Model added: `Team`."),
        (
            "added parameter listUsers.org",
            True,
            "Required query parameter added to `users.list` (listUsers, GET /api/v1/users): `org`.",
        ),
        (
            "added parameter listUsers.sort",
            False,
            "Optional query parameter added to `users.list` (listUsers, GET /api/v1/users): "
            "`sort`.",
        ),
        (
            "retyped parameter listUsers.q",
            True,
            "Parameter `q` of `users.list` (listUsers, GET /api/v1/users) was string, is integer.",
        ),
        (
            "renamed parameter listUserGroups.user_id -> userId",
            False,
            "Path parameter renamed in `users.list_groups` (listUserGroups, GET "
            "/api/v1/users/{userId}/groups): `user_id` is now `userId` (the argument stays "
            "`user_id`).",
        ),
    ],
)
def test_each_change_is_named_and_classified(
    changes: dict[str, Change], key: str, breaking: bool, text: str
) -> None:
    """Every kind of change gets its sentence, its key and its class for SDK users."""
    assert key in changes, sorted(changes)
    assert (changes[key].breaking, changes[key].text) == (breaking, text)


def test_nothing_else_is_reported(changes: dict[str, Change]) -> None:
    """Extensions, descriptions and changes seen through a $ref add no line of their own."""
    assert not [key for key in changes if "x-internal" in key]
    assert not [key for key in changes if key.startswith(("changed ", "retyped users."))]
    assert len(changes) == 18, sorted(changes)


def test_documentation_only_changes_are_counted() -> None:
    """A reworded description is a documentation change, not an additive one."""
    before = _mini()
    after = copy.deepcopy(before)
    after["components"]["schemas"]["User"]["properties"]["email"]["description"] = "Mail."
    found, documentation = contract_changes(before, after)
    assert (found, documentation) == ([], 1)


def test_a_reference_replaced_is_one_retype() -> None:
    """A response whose $ref becomes an inline schema is one breaking change, not many."""
    before = _mini()
    after = copy.deepcopy(before)
    response = after["paths"]["/api/v1/users/{user_id}"]["get"]["responses"]["200"]
    response["content"]["application/json"]["schema"] = {
        "type": "object",
        "properties": {"data": {"$ref": "#/components/schemas/User"}},
    }
    found, _ = contract_changes(before, after)
    assert [(c.breaking, c.key) for c in found] == [(True, "retyped getUser response 200")]


# -- the entry, the file, the acknowledgements ------------------------------------------------


def test_entry_lists_breaking_changes_first() -> None:
    """The entry: version heading, baseline marker, breaking list, additive list."""
    before, after = _mini(), kitchen_sink(_mini())
    found, documentation = contract_changes(before, after)
    entry = changelog.render_entry(before, after, found, documentation)
    lines = entry.splitlines()
    assert lines[0] == "## 0.0.2-test (from 0.0.1-test)"
    assert lines[2].startswith("<!-- contract: ")
    assert "Breaking for SDK users (10):" in lines
    assert "Additive (8):" in lines
    assert lines.index("Breaking for SDK users (10):") < lines.index("Additive (8):")
    assert entry.endswith("Documentation: descriptions or examples changed in 2 place(s).\n")


def _entry(old: str, new: str, text: str) -> str:
    return f"## {text}\n\n<!-- contract: {old} -> {new} -->\n\nAdditive (1):\n\n- {text}.\n"


def test_record_puts_entries_newest_first_and_replaces_one_from_the_same_baseline(
    tmp_path: Path,
) -> None:
    """A second generation from the same committed spec replaces its entry; a new baseline
    adds one above."""
    path = tmp_path / "CHANGELOG.md"
    assert changelog.record(path, _entry("a" * 12, "b" * 12, "first"))
    assert changelog.record(path, _entry("a" * 12, "c" * 12, "first, edited"))
    assert not changelog.record(path, _entry("a" * 12, "c" * 12, "first, edited"))
    assert changelog.record(path, _entry("c" * 12, "d" * 12, "second"))
    text = path.read_text(encoding="utf-8")
    assert text.startswith(changelog.CHANGELOG_TITLE)
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    assert headings == ["## second", "## first, edited"]


def test_acknowledgements_hold_for_their_version_only(tmp_path: Path) -> None:
    """The ack file's list counts for the version it names, and round-trips."""
    ack = tmp_path / "ack.yaml"
    assert changelog.acknowledged(ack, "1.0") == set()
    changelog.write_ack(ack, "1.0", ["removed operation deleteUser"])
    assert changelog.acknowledged(ack, "1.0") == {"removed operation deleteUser"}
    assert changelog.acknowledged(ack, "1.1") == set()
    ack.write_text("acknowledged: nope\n", encoding="utf-8")
    with pytest.raises(changelog.ChangelogError, match="acknowledged"):
        changelog.acknowledged(ack, "1.0")


def test_an_unchanged_spec_records_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Generating the committed spec writes no entry (and removes a stale entry file)."""
    entry = tmp_path / "entry.md"
    entry.write_text("stale\n", encoding="utf-8")
    arguments = [
        "record",
        "--spec",
        str(MINI_SPEC),
        "--baseline",
        str(MINI_SPEC),
        "--changelog",
        str(tmp_path / "CHANGELOG.md"),
        "--entry",
        str(entry),
    ]
    assert changelog.main(arguments) == 0
    assert "no entry" in capsys.readouterr().out
    assert not entry.exists()
    assert not (tmp_path / "CHANGELOG.md").exists()


def test_a_missing_baseline_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A baseline that cannot be read fails with one GenerationError line."""
    arguments = ["check", "--spec", str(MINI_SPEC), "--baseline", str(tmp_path / "none.yaml")]
    assert changelog.main([*arguments, "--ack", str(tmp_path / "ack.yaml")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("GenerationError: ")
    assert err.count("\n") == 1
