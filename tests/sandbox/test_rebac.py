"""ReBAC: resource types, resources, relation tuples and checks that follow them."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from .conftest import TokenFactory
from .helpers import bearer

pytestmark = pytest.mark.anyio

FOLDER: dict[str, Any] = {
    "name": "folder",
    "description": "A folder of documents",
    "relations": [
        {"name": "editor", "description": None, "allowed_subjects": ["user", "group#member"]},
        {
            "name": "viewer",
            "description": None,
            "allowed_subjects": ["user", "group#member", "folder#viewer"],
        },
        {"name": "parent", "description": "Enclosing folder", "allowed_subjects": ["folder"]},
    ],
    "permissions": [
        {"name": "view", "description": None, "expression": "viewer or editor or parent->view"},
        {"name": "edit", "description": None, "expression": "editor or parent->edit"},
    ],
}
DOCUMENT: dict[str, Any] = {
    "name": "document",
    "description": "A shared document",
    "relations": [
        {"name": "owner", "description": None, "allowed_subjects": ["user"]},
        {"name": "banned", "description": None, "allowed_subjects": ["user"]},
        {
            "name": "viewer",
            "description": None,
            "allowed_subjects": ["user", "group#member", "folder#viewer"],
        },
        {"name": "parent", "description": None, "allowed_subjects": ["folder"]},
    ],
    "permissions": [
        {
            "name": "view",
            "description": None,
            "expression": "(viewer or owner or parent->view) but not banned",
        },
        {"name": "delete", "description": None, "expression": "owner and parent->edit"},
    ],
}


class Rebac:
    """A small client for the ReBAC endpoints, failing loudly on an unexpected status."""

    def __init__(self, http: httpx.AsyncClient, headers: dict[str, str]) -> None:
        self.http = http
        self.headers = headers

    async def post(self, url: str, body: Any, status: int = 201) -> Any:
        response = await self.http.post(url, json=body, headers=self.headers)
        assert response.status_code == status, response.text
        return response.json()

    async def schema(self) -> None:
        await self.post("/api/v1/resource-types", FOLDER)
        await self.post("/api/v1/resource-types", DOCUMENT)

    async def resource(self, type_name: str, **fields: Any) -> str:
        created = await self.post("/api/v1/resources", {"type": type_name, **fields})
        return str(created["data"]["id"])

    async def user(self, email: str) -> str:
        created = await self.post("/api/v1/users", {"email": email})
        return str(created["data"]["id"])

    async def relate(self, resource_id: str, relation: str, subject: dict[str, Any]) -> str:
        url = f"/api/v1/resources/{resource_id}/relations"
        created = await self.post(url, {"relation": relation, "subject": subject})
        return str(created["data"]["id"])

    async def allowed(self, resource_id: str, permission: str, user_id: str) -> bool:
        check = {
            "resource_id": resource_id,
            "permission": permission,
            "subject": {"kind": "user", "user_id": user_id},
        }
        answer = await self.post("/api/v1/resources/permissions/check", check, status=200)
        assert answer["data"]["subject"] == check["subject"]
        return bool(answer["data"]["allowed"])


@pytest.fixture
async def rebac(http: httpx.AsyncClient, token: TokenFactory) -> Rebac:
    """A Rebac client with an all-scopes token."""
    return Rebac(http, bearer(await token()))


def _user(user_id: str) -> dict[str, Any]:
    return {"kind": "user", "user_id": user_id}


def _resource(resource_id: str, relation: str | None = None) -> dict[str, Any]:
    return {"kind": "resource", "resource_id": resource_id, "relation": relation}


async def test_view_through_a_group_and_a_parent_folder(rebac: Rebac) -> None:
    """A group member with editor on a folder views its document until a link is removed."""
    await rebac.schema()
    folder = await rebac.resource("folder")
    document = await rebac.resource("document")
    ada = await rebac.user("ada.g@example.com")
    bob = await rebac.user("bob.g@example.com")
    group = (await rebac.post("/api/v1/groups", {"name": "Writers"}))["data"]["id"]
    await rebac.post(f"/api/v1/groups/{group}/members", {"user_id": ada})
    await rebac.relate(folder, "editor", {"kind": "group_members", "group_id": group})
    parent = await rebac.relate(document, "parent", _resource(folder))
    assert await rebac.allowed(document, "view", ada)
    assert not await rebac.allowed(document, "view", bob)
    removed = await rebac.http.delete(
        f"/api/v1/resources/{document}/relations/{parent}", headers=rebac.headers
    )
    assert removed.status_code == 204
    assert not await rebac.allowed(document, "view", ada)
    assert await rebac.allowed(folder, "edit", ada)


async def test_leaving_the_group_removes_the_permission(rebac: Rebac) -> None:
    """Group membership is read at check time: removing the member denies the check."""
    await rebac.schema()
    folder = await rebac.resource("folder")
    ada = await rebac.user("ada.l@example.com")
    group = (await rebac.post("/api/v1/groups", {"name": "Readers"}))["data"]["id"]
    await rebac.post(f"/api/v1/groups/{group}/members", {"user_id": ada})
    await rebac.relate(folder, "viewer", {"kind": "group_members", "group_id": group})
    assert await rebac.allowed(folder, "view", ada)
    await rebac.http.delete(f"/api/v1/groups/{group}/members/{ada}", headers=rebac.headers)
    assert not await rebac.allowed(folder, "view", ada)


async def test_a_userset_and_nested_folders(rebac: Rebac) -> None:
    """folder#viewer usersets and parent->view arrows chain through nested folders."""
    await rebac.schema()
    outer = await rebac.resource("folder")
    inner = await rebac.resource("folder")
    shared = await rebac.resource("folder")
    document = await rebac.resource("document")
    ada = await rebac.user("ada.n@example.com")
    await rebac.relate(outer, "viewer", _user(ada))
    await rebac.relate(inner, "parent", _resource(outer))
    await rebac.relate(document, "parent", _resource(inner))
    assert await rebac.allowed(document, "view", ada)
    # document#viewer@shared#viewer: whoever views `shared` (directly) views the document.
    other = await rebac.resource("document")
    await rebac.relate(other, "viewer", _resource(shared, "viewer"))
    assert not await rebac.allowed(other, "viewer", ada)
    await rebac.relate(shared, "viewer", _user(ada))
    assert await rebac.allowed(other, "viewer", ada)


async def test_a_parent_loop_terminates(rebac: Rebac) -> None:
    """Folders inside each other answer a check (denied) instead of recursing forever."""
    await rebac.schema()
    first = await rebac.resource("folder")
    second = await rebac.resource("folder")
    await rebac.relate(first, "parent", _resource(second))
    await rebac.relate(second, "parent", _resource(first))
    ada = await rebac.user("ada.loop@example.com")
    assert not await rebac.allowed(first, "view", ada)


async def test_exclusion_and_intersection(rebac: Rebac) -> None:
    """``but not`` removes a banned owner's view; ``and`` needs owner and parent edit."""
    await rebac.schema()
    folder = await rebac.resource("folder")
    document = await rebac.resource("document")
    ada = await rebac.user("ada.x@example.com")
    await rebac.relate(document, "owner", _user(ada))
    await rebac.relate(document, "parent", _resource(folder))
    assert await rebac.allowed(document, "view", ada)
    assert not await rebac.allowed(document, "delete", ada)
    await rebac.relate(folder, "editor", _user(ada))
    assert await rebac.allowed(document, "delete", ada)
    await rebac.relate(document, "banned", _user(ada))
    assert not await rebac.allowed(document, "view", ada)


async def test_batch_check_answers_in_order_and_names_the_bad_index(rebac: Rebac) -> None:
    """A batch answers each check in order; an unknown permission fails it with details.index."""
    await rebac.schema()
    document = await rebac.resource("document")
    ada = await rebac.user("ada.b@example.com")
    await rebac.relate(document, "owner", _user(ada))
    checks = [
        {"resource_id": document, "permission": p, "subject": _user(ada)}
        for p in ("view", "delete", "owner")
    ]
    answer = await rebac.post(
        "/api/v1/resources/permissions/batch-check", {"checks": checks}, status=200
    )
    assert [r["allowed"] for r in answer["data"]["results"]] == [True, False, True]
    bad = [*checks, {"resource_id": document, "permission": "publish", "subject": _user(ada)}]
    failed = await rebac.post(
        "/api/v1/resources/permissions/batch-check", {"checks": bad}, status=422
    )
    assert failed["details"]["index"] == 3


async def test_check_errors(rebac: Rebac) -> None:
    """An unknown resource is 404 not_found; a permission the type lacks is 422."""
    await rebac.schema()
    document = await rebac.resource("document")
    ada = await rebac.user("ada.e@example.com")
    missing = {
        "resource_id": "res_01JA1B2C3D4E5F6G7H8J9K0M1N",
        "permission": "view",
        "subject": _user(ada),
    }
    gone = await rebac.post("/api/v1/resources/permissions/check", missing, status=404)
    assert gone["error"] == "not_found"
    unknown = {"resource_id": document, "permission": "publish", "subject": _user(ada)}
    refused = await rebac.post("/api/v1/resources/permissions/check", unknown, status=422)
    assert refused["error"] == "validation_failed"


@pytest.mark.parametrize(
    ("permissions", "relations"),
    [
        pytest.param(
            [{"name": "a", "expression": "b"}, {"name": "b", "expression": "viewer and a"}],
            [],
            id="cycle",
        ),
        pytest.param([{"name": "view", "expression": "viewer or nobody"}], [], id="unknown-name"),
        pytest.param([{"name": "view", "expression": "viewer or"}], [], id="bad-grammar"),
        pytest.param([{"name": "view", "expression": "viewer->view"}], [], id="arrow-to-user"),
        pytest.param([], [{"name": "parent", "allowed_subjects": ["drive"]}], id="unknown-type"),
        pytest.param([{"name": "viewer", "expression": "viewer"}], [], id="name-clash"),
    ],
)
async def test_invalid_schemas_are_422(
    rebac: Rebac, permissions: list[dict[str, Any]], relations: list[dict[str, Any]]
) -> None:
    """Cycles, unknown names, bad grammar, arrows to nowhere and unknown types are 422."""
    body = {
        "name": "page",
        "relations": [{"name": "viewer", "allowed_subjects": ["user"]}, *relations],
        "permissions": [{"description": None, **p} for p in permissions],
    }
    body["relations"] = [{"description": None, **r} for r in body["relations"]]
    failed = await rebac.post("/api/v1/resource-types", body, status=422)
    assert failed["error"] == "validation_failed"


async def test_type_names_are_unique_and_reserved(rebac: Rebac) -> None:
    """A second type of the same name is 409 already_exists; ``user`` is reserved (422)."""
    await rebac.schema()
    again = await rebac.post("/api/v1/resource-types", FOLDER, status=409)
    assert again["error"] == "already_exists"
    reserved = await rebac.post("/api/v1/resource-types", {**FOLDER, "name": "user"}, status=422)
    assert reserved["error"] == "validation_failed"


async def test_relation_tuples_are_checked_against_the_type(rebac: Rebac) -> None:
    """A subject the relation does not allow is 422; a duplicate tuple is 409."""
    await rebac.schema()
    folder = await rebac.resource("folder")
    document = await rebac.resource("document")
    ada = await rebac.user("ada.t@example.com")
    url = f"/api/v1/resources/{document}/relations"
    wrong = {"relation": "owner", "subject": _resource(folder)}
    assert (await rebac.post(url, wrong, status=422))["error"] == "validation_failed"
    undefined = {"relation": "editor", "subject": _user(ada)}
    assert (await rebac.post(url, undefined, status=422))["error"] == "validation_failed"
    await rebac.relate(document, "owner", _user(ada))
    twice = await rebac.post(url, {"relation": "owner", "subject": _user(ada)}, status=409)
    assert twice["error"] == "already_exists"


async def test_types_in_use_cannot_lose_relations_or_be_deleted(rebac: Rebac) -> None:
    """Deleting a type with resources, or referenced by another, and dropping a used relation
    are 409 conflict; an unused type deletes."""
    await rebac.schema()
    document = await rebac.resource("document")
    ada = await rebac.user("ada.d@example.com")
    await rebac.relate(document, "owner", _user(ada))
    headers = rebac.headers
    referenced = await rebac.http.delete("/api/v1/resource-types/folder", headers=headers)
    assert (referenced.status_code, referenced.json()["error"]) == (409, "conflict")
    with_resources = await rebac.http.delete("/api/v1/resource-types/document", headers=headers)
    assert with_resources.status_code == 409
    drop_owner = {
        "relations": [r for r in DOCUMENT["relations"] if r["name"] != "owner"],
        "permissions": [p for p in DOCUMENT["permissions"] if p["name"] == "view"],
    }
    drop_owner["permissions"] = [
        {**p, "expression": "(viewer or parent->view) but not banned"}
        for p in drop_owner["permissions"]
    ]
    dropped = await rebac.http.patch(
        "/api/v1/resource-types/document", json=drop_owner, headers=headers
    )
    assert (dropped.status_code, dropped.json()["error"]) == (409, "conflict")
    await rebac.http.delete(f"/api/v1/resources/{document}", headers=headers)
    assert (
        await rebac.http.delete("/api/v1/resource-types/document", headers=headers)
    ).status_code == 204
    assert (
        await rebac.http.get("/api/v1/resource-types/document", headers=headers)
    ).status_code == 404


async def test_deleting_a_resource_deletes_tuples_naming_it(rebac: Rebac) -> None:
    """A deleted folder's parent tuples on documents go with it, and the folder is 404."""
    await rebac.schema()
    folder = await rebac.resource("folder")
    document = await rebac.resource("document")
    await rebac.relate(document, "parent", _resource(folder))
    headers = rebac.headers
    assert (
        await rebac.http.delete(f"/api/v1/resources/{folder}", headers=headers)
    ).status_code == 204
    listed = await rebac.http.get(f"/api/v1/resources/{document}/relations", headers=headers)
    assert listed.json()["data"] == []
    gone = await rebac.http.get(f"/api/v1/resources/{folder}", headers=headers)
    assert (gone.status_code, gone.json()["error"]) == (404, "not_found")


async def test_external_ids_are_unique_within_a_type(rebac: Rebac) -> None:
    """A taken external_id is 409; listing filters by type and external_id; no type is 422."""
    await rebac.schema()
    first = await rebac.resource("document", external_id="doc-1", attributes={"size": 3})
    taken = await rebac.post(
        "/api/v1/resources", {"type": "document", "external_id": "doc-1"}, status=409
    )
    assert taken["error"] == "already_exists"
    await rebac.resource("folder", external_id="doc-1")
    listed = await rebac.http.get(
        "/api/v1/resources",
        params={"type": "document", "external_id": "doc-1"},
        headers=rebac.headers,
    )
    assert [r["id"] for r in listed.json()["data"]] == [first]
    untyped = await rebac.post("/api/v1/resources", {"type": "drive"}, status=422)
    assert untyped["error"] == "validation_failed"


async def test_listings_page_in_their_documented_order(rebac: Rebac) -> None:
    """Types list by name and tuples oldest first, over 3 pages of 2 without repeats."""
    for name in ("delta", "alpha", "echo", "charlie", "bravo"):
        relations = [{"name": "viewer", "description": None, "allowed_subjects": ["user"]}]
        await rebac.post("/api/v1/resource-types", {"name": name, "relations": relations})

    async def walk(url: str) -> tuple[list[Any], int]:
        items: list[Any] = []
        cursor: str | None = None
        pages = 0
        while True:
            params: dict[str, str | int] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
            page = (await rebac.http.get(url, params=params, headers=rebac.headers)).json()
            pages += 1
            items.extend(page["data"])
            cursor = page["meta"]["next_cursor"]
            if cursor is None:
                return items, pages

    types, pages = await walk("/api/v1/resource-types")
    assert ([t["name"] for t in types], pages) == (
        ["alpha", "bravo", "charlie", "delta", "echo"],
        3,
    )
    resource = await rebac.resource("alpha")
    users = [await rebac.user(f"page{n}@example.com") for n in range(5)]
    for user_id in users:
        await rebac.relate(resource, "viewer", _user(user_id))
    tuples, pages = await walk(f"/api/v1/resources/{resource}/relations")
    assert ([t["subject"]["user_id"] for t in tuples], pages) == (users, 3)


async def test_a_subject_of_no_kind_is_422(rebac: Rebac) -> None:
    """A discriminator that is not a string (``"kind": [null]``) is 422, not a server error."""
    await rebac.schema()
    document = await rebac.resource("document")
    check = {"resource_id": document, "permission": "view", "subject": {"kind": [None]}}
    refused = await rebac.post("/api/v1/resources/permissions/check", check, status=422)
    assert refused["error"] == "validation_failed"
