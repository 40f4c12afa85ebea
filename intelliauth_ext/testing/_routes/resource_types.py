"""ReBAC resource types: the schema that relations and permission checks follow."""

from __future__ import annotations

from starlette.responses import Response

from .._envelopes import ApiError, data_response, no_content
from .._rebac import RESERVED_TYPE_NAMES, references_to, validate_type_definition
from .._routing import Context, OperationRouter
from .._tenant import Record

router = OperationRouter()

_NAME_ALPHABET = "0123456789_abcdefghijklmnopqrstuvwxyz"  # in code-point order
_NAME_WIDTH = 63


def name_rank(name: str) -> int:
    """Return an integer that orders slugs as their names sort, so a listing by name can
    anchor its cursors on it as other listings anchor on sequence numbers."""
    rank = 0
    for position in range(_NAME_WIDTH):
        char = name[position] if position < len(name) else None
        rank = rank * (len(_NAME_ALPHABET) + 1) + (
            _NAME_ALPHABET.index(char) + 1 if char is not None else 0
        )
    return rank


def _definitions(body: Record, field: str) -> list[Record]:
    return [
        {
            "name": item["name"],
            "description": item.get("description"),
            **(
                {"allowed_subjects": list(item["allowed_subjects"])}
                if field == "relations"
                else {"expression": item["expression"]}
            ),
        }
        for item in body.get(field) or []
    ]


def _require_type(ctx: Context) -> Record:
    name = ctx.path("resource_type_name")
    definition = ctx.sandbox.tenant.resource_types.get(name)
    if definition is None:
        raise ApiError("not_found", f"No resource type named {name}.", details={"name": name})
    return definition


@router.operation("listResourceTypes")
async def list_resource_types(ctx: Context) -> Response:
    """Ordered by name."""
    entries = sorted(
        ((name_rank(t["name"]), t) for t in ctx.sandbox.tenant.resource_types.values()),
        key=lambda entry: entry[0],
    )
    return ctx.page(entries, descending=False)


@router.operation("createResourceType")
async def create_resource_type(ctx: Context) -> Response:
    """Define a type (201): 409 ``already_exists`` for a taken name, 422 for a bad schema."""
    tenant = ctx.sandbox.tenant
    body = ctx.json()
    name = body["name"]
    if name in RESERVED_TYPE_NAMES:
        raise ApiError(
            "validation_failed", f"{name!r} is a reserved type name.", details={"field": "name"}
        )
    if name in tenant.resource_types:
        raise ApiError(
            "already_exists",
            f"A resource type named {name} exists already.",
            details={"field": "name"},
        )
    now = tenant.clock.isoformat()
    definition: Record = {
        "name": name,
        "description": body.get("description"),
        "relations": _definitions(body, "relations"),
        "permissions": _definitions(body, "permissions"),
        "created_at": now,
        "updated_at": now,
    }
    validate_type_definition(tenant, definition)
    tenant.resource_types.add(name, definition)
    return data_response(
        definition,
        status=201,
        headers={"Location": f"{ctx.sandbox.url}/api/v1/resource-types/{name}"},
    )


@router.operation("getResourceType")
async def get_resource_type(ctx: Context) -> Response:
    """One type by name."""
    return data_response(_require_type(ctx))


@router.operation("updateResourceType")
async def update_resource_type(ctx: Context) -> Response:
    """Replace the description, relations or permissions present.

    Dropping a relation that tuples use, or a name another type refers to, is a 409
    ``conflict``; a schema that no longer validates is a 422.
    """
    tenant = ctx.sandbox.tenant
    current = _require_type(ctx)
    body = ctx.json()
    changed: Record = {**current, "updated_at": tenant.clock.isoformat()}
    if "description" in body:
        changed["description"] = body["description"]
    for field in ("relations", "permissions"):
        if field in body:
            changed[field] = _definitions(body, field)
    validate_type_definition(tenant, changed)
    kept_relations = {r["name"] for r in changed["relations"]}
    dropped = {r["name"] for r in current["relations"]} - kept_relations
    for entry in tenant.relations.values():
        resource = tenant.resources.get(entry["resource_id"])
        if entry["relation"] in dropped and resource and resource["type"] == current["name"]:
            raise ApiError(
                "conflict",
                f"Relation {entry['relation']!r} is still used by relation tuples.",
                details={"relation": entry["relation"]},
            )
    kept_names = kept_relations | {p["name"] for p in changed["permissions"]}
    for other, name in references_to(tenant, current["name"]):
        if name and name not in kept_names:
            raise ApiError(
                "conflict",
                f"Resource type {other!r} refers to {current['name']}#{name}.",
                details={"referenced_by": other, "name": name},
            )
    tenant.resource_types.replace(current["name"], changed)
    return data_response(changed)


@router.operation("deleteResourceType")
async def delete_resource_type(ctx: Context) -> Response:
    """Delete a type with no resources that no other type refers to (otherwise 409)."""
    tenant = ctx.sandbox.tenant
    definition = _require_type(ctx)
    name = definition["name"]
    if tenant.resources.find(lambda resource: resource["type"] == name) is not None:
        raise ApiError("conflict", f"Resources of type {name} still exist.", details={"name": name})
    references = references_to(tenant, name)
    if references:
        raise ApiError(
            "conflict",
            f"Resource type {references[0][0]!r} refers to {name}.",
            details={"name": name, "referenced_by": sorted({other for other, _ in references})},
        )
    tenant.resource_types.remove(name)
    return no_content()


__all__ = ["name_rank", "router"]
