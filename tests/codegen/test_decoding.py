"""The generated models' typed decoding (``intelliauth_client/_decoding.py``), in memory."""

from __future__ import annotations

import json
from typing import Any, Final

import msgspec
import pytest

from intelliauth_client.models.group_list import GroupList
from intelliauth_client.models.relation_list import RelationList
from intelliauth_client.models.user import User
from intelliauth_client.models.user_list import UserList

USER: Final = {
    "id": "usr_1",
    "email": "ada@example.com",
    "email_verified": True,
    "name": "Ada",
    "status": "active",
    "created_at": "2026-01-02T03:04:05+00:00",
    "updated_at": "2026-01-02T03:04:05+00:00",
    "metadata": {"plan": "pro"},
}


def body(value: Any) -> bytes:
    return json.dumps(value).encode()


@pytest.mark.parametrize(
    "document",
    [
        {"data": [USER, USER], "meta": {"next_cursor": "c"}},
        {"data": [USER, {**USER, "nickname": "a"}], "meta": {"next_cursor": None, "total": 2}},
        {"data": [{**USER, "x": {"y": [1, 2**70]}}], "meta": {"next_cursor": None}},
    ],
    ids=["known fields only", "unknown fields at two levels", "an unknown nested value"],
)
def test_from_json_builds_what_from_dict_builds(document: dict[str, Any]) -> None:
    """Both decoding paths give models equal to from_dict's, unknown fields included."""
    decoded = UserList.from_json(body(document))
    assert decoded == UserList.from_dict(document)
    assert decoded.to_dict() == UserList.from_dict(document).to_dict()
    for user, raw in zip(decoded.data, document["data"], strict=True):
        assert user.additional_properties == {k: v for k, v in raw.items() if k not in USER}
    assert decoded.meta.additional_properties == {
        k: v for k, v in document["meta"].items() if k != "next_cursor"
    }


def test_unknown_fields_in_a_list_nested_in_an_envelope_reach_their_model() -> None:
    """The second path puts each object's unknown members on that object's model."""
    group = {
        "id": "grp_1",
        "name": "a",
        "description": None,
        "member_count": 1,
        "created_at": "2026-01-02T03:04:05Z",
        "updated_at": "2026-01-02T03:04:05Z",
    }
    document = {
        "data": [group, {**group, "id": "grp_2", "color": "red"}],
        "meta": {"next_cursor": None},
    }
    groups = GroupList.from_json(body(document)).data
    assert [g.additional_properties for g in groups] == [{}, {"color": "red"}]


def test_a_model_msgspec_can_not_decode_is_built_by_from_dict() -> None:
    """A oneOf of models (a relation's subject) is parsed by from_dict, as before."""
    relation = {
        "id": "rel_1",
        "resource_type": "doc",
        "resource_id": "d1",
        "relation": "viewer",
        "subject": {"kind": "user", "user_id": "usr_1"},
        "created_at": "2026-01-02T03:04:05Z",
    }
    document = {"data": [relation], "meta": {"next_cursor": None}}
    assert RelationList.from_json(body(document)) == RelationList.from_dict(document)


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"email": None}, "$.email"),
        ({"created_at": "2026-01-02T03:04:05"}, "$.created_at"),
        ({"metadata": "pro"}, "$.metadata"),
        ({"status": 3}, "$.status"),
    ],
)
def test_a_value_against_the_contract_names_its_path(change: dict[str, Any], path: str) -> None:
    """msgspec's ValidationError ends with the path, with or without unknown fields."""
    for extra in ({}, {"nickname": "a"}):
        with pytest.raises(msgspec.ValidationError) as info:
            User.from_json(body({**USER, **change, **extra}))
        assert str(info.value).endswith(f" - at `{path}`")
