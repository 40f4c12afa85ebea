"""A spec bump, simulated: new operation, new enum value, new field; old code keeps working."""

from __future__ import annotations

import asyncio
import copy
import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from codegen.generator import build_package

MINI_SPEC = Path(__file__).parent / "fixtures" / "mini.openapi.yaml"
OLD_USER = {
    "id": "usr_2",
    "email": "grace@example.com",
    "status": "suspended",
    "created_at": "2024-05-02T10:00:00+02:00",
}


def bump(document: dict[str, Any]) -> dict[str, Any]:
    """The next spec version: suspendUser, status `locked`, and User.department."""
    bumped = copy.deepcopy(document)
    bumped["info"]["version"] = "0.0.2-test"
    bumped["components"]["schemas"]["UserStatus"]["enum"].append("locked")
    bumped["components"]["schemas"]["User"]["properties"]["department"] = {"type": "string"}
    bumped["paths"]["/api/v1/users/{user_id}/suspend"] = {
        "parameters": [{"$ref": "#/components/parameters/UserId"}],
        "post": {
            "operationId": "suspendUser",
            "tags": ["users"],
            "summary": "Suspend a user",
            "description": "Suspends a user until reactivated.",
            "security": [{"oauth2": ["users:write"]}],
            "responses": {
                "200": {
                    "description": "The suspended user.",
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/UserEnvelope"}
                        }
                    },
                }
            },
        },
    }
    return bumped


@pytest.fixture(scope="module")
def bumped_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The package generated from the bumped copy of the test spec, as `bumped_client`."""
    root = tmp_path_factory.mktemp("bumped")
    spec = root / "bumped.openapi.yaml"
    spec.write_text(yaml.safe_dump(bump(yaml.safe_load(MINI_SPEC.read_text())), sort_keys=False))
    build_package(spec, root / "bumped_client")
    sys.path.insert(0, str(root))
    yield importlib.import_module("bumped_client")
    sys.path.remove(str(root))
    for name in [m for m in sys.modules if m.split(".")[0] == "bumped_client"]:
        del sys.modules[name]


def test_new_operation_appears_on_the_facade(bumped_client: ModuleType) -> None:
    """suspendUser becomes users.suspend, with its entry in OPERATIONS."""
    from bumped_client.facade import OPERATIONS, UsersResource

    assert OPERATIONS["suspendUser"].path == "/api/v1/users/{user_id}/suspend"
    assert OPERATIONS["suspendUser"].envelope
    assert UsersResource.suspend.__doc__ is not None
    assert UsersResource.suspend.__doc__.startswith("Suspend a user.")


def test_old_methods_keep_their_names(mini_client: ModuleType, bumped_client: ModuleType) -> None:
    """Every method of the old facade still exists, under the same name, after the bump."""
    import bumped_client.facade as new
    import mini_client.facade as old

    for name in [
        "UsersResource",
        "GroupsResource",
        "FederationResource",
        "MeResource",
        "Oauth2Resource",
    ]:
        old_methods = {m for m in vars(getattr(old, name)) if not m.startswith("_")}
        new_methods = {m for m in vars(getattr(new, name)) if not m.startswith("_")}
        assert old_methods <= new_methods, name
    assert set(old.OPERATIONS) < set(new.OPERATIONS)


def test_old_examples_parse_with_the_new_client(bumped_client: ModuleType) -> None:
    """A payload written against the old spec parses and round-trips with the new client."""
    from bumped_client.models.user_envelope import UserEnvelope

    document = {"data": OLD_USER, "meta": {"request_id": "req_2"}}
    assert UserEnvelope.from_dict(document).to_dict() == document


def test_new_payloads_parse_with_the_old_client(mini_client: ModuleType) -> None:
    """The old client reads a new server's answer: new enum value and new field survive."""
    from mini_client.models.user_envelope import UserEnvelope

    document = {"data": {**OLD_USER, "status": "locked", "department": "R&D"}, "meta": {}}
    envelope = UserEnvelope.from_dict(document)
    assert envelope.data.status == "locked"
    assert envelope.data.additional_properties == {"department": "R&D"}
    assert envelope.to_dict() == document


def test_new_client_knows_the_new_value_and_field(bumped_client: ModuleType) -> None:
    """After the bump the value is a member and the field an attribute."""
    from bumped_client.models.user import User
    from bumped_client.models.user_status import UserStatus

    user = User.from_dict({**OLD_USER, "status": "locked", "department": "R&D"})
    assert user.status is UserStatus.LOCKED
    assert user.department == "R&D"


def test_old_call_sites_work_against_the_new_facade(bumped_client: ModuleType) -> None:
    """Code written against the old facade (users.get) runs unchanged on the new one."""
    from bumped_client.facade import Resources
    from bumped_client.models.user_envelope import UserEnvelope

    class Invoker:
        async def call(self, operation: Any, options: Any = None, /, **kwargs: Any) -> Any:
            return UserEnvelope.from_dict({"data": OLD_USER, "meta": {}})

        def paginate(self, operation: Any, options: Any = None, /, **kwargs: Any) -> Any:
            raise NotImplementedError

    user = asyncio.run(Resources(Invoker()).users.get("usr_2"))
    assert user.email == "grace@example.com"
