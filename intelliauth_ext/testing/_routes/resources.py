"""ReBAC resources, their relation tuples, and permission checks that follow them."""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response

from .._envelopes import ApiError, data_response, no_content, not_found
from .._ids import new_id
from .._rebac import PermissionChecker, subject_key, subject_type
from .._routing import Context, OperationRouter
from .._tenant import Record, Tenant

router = OperationRouter()

_MAX_ATTRIBUTE_KEYS = 50
_MAX_ATTRIBUTE_BYTES = 16 * 1024


def _require_resource(ctx: Context) -> Record:
    resource_id = ctx.path("resource_id")
    resource = ctx.sandbox.tenant.resources.get(resource_id)
    if resource is None:
        raise not_found("resource", resource_id)
    return resource


def _check_attributes(attributes: Any) -> dict[str, Any]:
    if attributes is None:
        return {}
    size = len(json.dumps(attributes, separators=(",", ":")).encode())
    if len(attributes) > _MAX_ATTRIBUTE_KEYS or size > _MAX_ATTRIBUTE_BYTES:
        raise ApiError(
            "validation_failed",
            "attributes hold at most 50 keys and 16 KiB.",
            details={"field": "attributes"},
        )
    return dict(attributes)


_SUBJECT_IDS = {"user": "user_id", "group_members": "group_id", "resource": "resource_id"}


def render_subject(subject: Any, field: str = "subject") -> Record:
    """Return a request's RelationSubject as the contract shapes it.

    The discriminator is checked here too: a schema validator may let a ``kind`` it cannot
    map through to the handler.

    Raises:
        ApiError: ``validation_failed`` for a subject of no known kind.
    """
    kind = subject.get("kind") if isinstance(subject, dict) else None
    id_field = next((f for k, f in _SUBJECT_IDS.items() if k == kind), None)
    if id_field is None or not isinstance(subject.get(id_field), str):
        raise ApiError(
            "validation_failed",
            "subject.kind must be user, group_members or resource, with its id.",
            details={"field": field},
        )
    rendered: Record = {"kind": kind, id_field: subject[id_field]}
    if kind == "resource":
        relation = subject.get("relation")
        rendered["relation"] = relation if isinstance(relation, str) else None
    return rendered


@router.operation("listResources")
async def list_resources(ctx: Context) -> Response:
    """Newest first; filters ``type`` and ``external_id``."""
    type_name = ctx.query("type")
    external_id = ctx.query("external_id")
    entries = ctx.sandbox.tenant.resources.sequenced(
        lambda r: (
            (not type_name or r["type"] == type_name)
            and (external_id is None or r["external_id"] == external_id)
        )
    )
    return ctx.page(entries, filters={"type": type_name, "external_id": external_id})


@router.operation("createResource")
async def create_resource(ctx: Context) -> Response:
    """Register a resource (201): 422 for an unknown type, 409 for a taken external id."""
    tenant = ctx.sandbox.tenant
    body = ctx.json()
    type_name = body["type"]
    if type_name not in tenant.resource_types:
        raise ApiError(
            "validation_failed", f"No resource type named {type_name}.", details={"field": "type"}
        )
    external_id = body.get("external_id")
    if external_id is not None and tenant.resources.find(
        lambda r: r["type"] == type_name and r["external_id"] == external_id
    ):
        raise ApiError(
            "already_exists",
            f"A {type_name} with external_id {external_id} exists already.",
            details={"field": "external_id"},
        )
    now = tenant.clock.isoformat()
    resource: Record = {
        "id": new_id("res"),
        "type": type_name,
        "external_id": external_id,
        "display_name": body.get("display_name"),
        "attributes": _check_attributes(body.get("attributes")),
        "created_at": now,
        "updated_at": now,
    }
    tenant.resources.add(resource["id"], resource)
    return data_response(
        resource,
        status=201,
        headers={"Location": f"{ctx.sandbox.url}/api/v1/resources/{resource['id']}"},
    )


@router.operation("getResource")
async def get_resource(ctx: Context) -> Response:
    """One resource by id."""
    return data_response(_require_resource(ctx))


@router.operation("deleteResource")
async def delete_resource(ctx: Context) -> Response:
    """Delete a resource, its tuples and every tuple naming it as the subject (204)."""
    tenant = ctx.sandbox.tenant
    resource = _require_resource(ctx)
    tenant.resources.remove(resource["id"])
    for entry in list(tenant.relations.values()):
        subject = entry["subject"]
        if entry["resource_id"] == resource["id"] or (
            subject["kind"] == "resource" and subject["resource_id"] == resource["id"]
        ):
            tenant.relations.remove(entry["id"])
    return no_content()


# ---------------------------------------------------------------- relation tuples
@router.operation("listResourceRelations")
async def list_resource_relations(ctx: Context) -> Response:
    """The tuples written on the resource, oldest first; optional ``relation`` filter."""
    resource = _require_resource(ctx)
    relation = ctx.query("relation")
    entries = ctx.sandbox.tenant.relations.sequenced(
        lambda entry: (
            entry["resource_id"] == resource["id"]
            and (not relation or entry["relation"] == relation)
        ),
        newest_first=False,
    )
    return ctx.page(entries, filters={"relation": relation}, descending=False)


def _allowed_subject(tenant: Tenant, resource: Record, relation: str, subject: Record) -> None:
    definition = tenant.resource_types.get(resource["type"])
    spec = next((r for r in (definition or {}).get("relations", []) if r["name"] == relation), None)
    if spec is None:
        raise ApiError(
            "validation_failed",
            f"Resource type {resource['type']} has no relation {relation!r}.",
            details={"field": "relation"},
        )
    kind = subject_type(tenant, subject)
    if kind is None:
        raise ApiError(
            "validation_failed",
            "The subject names a user, group or resource that does not exist.",
            details={"field": "subject"},
        )
    if kind not in spec["allowed_subjects"]:
        raise ApiError(
            "validation_failed",
            f"{relation!r} accepts {', '.join(spec['allowed_subjects'])}, not {kind}.",
            details={"field": "subject", "allowed_subjects": spec["allowed_subjects"]},
        )


@router.operation("createResourceRelation")
async def create_resource_relation(ctx: Context) -> Response:
    """Write ``resource#relation@subject`` (201); a duplicate is 409 ``already_exists``."""
    tenant = ctx.sandbox.tenant
    resource = _require_resource(ctx)
    body = ctx.json()
    relation = body["relation"]
    subject = render_subject(body["subject"])
    _allowed_subject(tenant, resource, relation, subject)
    wanted = subject_key(subject)
    duplicate = tenant.relations.find(
        lambda entry: (
            entry["resource_id"] == resource["id"]
            and entry["relation"] == relation
            and subject_key(entry["subject"]) == wanted
        )
    )
    if duplicate is not None:
        raise ApiError(
            "already_exists",
            "This relation tuple exists already.",
            details={"id": duplicate["id"]},
        )
    entry: Record = {
        "id": new_id("rel"),
        "resource_id": resource["id"],
        "relation": relation,
        "subject": subject,
        "created_at": tenant.clock.isoformat(),
    }
    tenant.relations.add(entry["id"], entry)
    return data_response(entry, status=201)


@router.operation("deleteResourceRelation")
async def delete_resource_relation(ctx: Context) -> Response:
    """Delete one tuple of the resource (204); checks stop seeing it at once."""
    tenant = ctx.sandbox.tenant
    resource = _require_resource(ctx)
    relation_id = ctx.path("relation_id")
    entry = tenant.relations.get(relation_id)
    if entry is None or entry["resource_id"] != resource["id"]:
        raise not_found("relation", relation_id)
    tenant.relations.remove(relation_id)
    return no_content()


# ---------------------------------------------------------------- checks
def _answer(checker: PermissionChecker, check: Record, index: int | None = None) -> Record:
    at = {"index": index} if index is not None else {}
    resource = checker.tenant.resources.get(check["resource_id"])
    if resource is None:
        raise ApiError(
            "not_found",
            f"No resource with id {check['resource_id']}.",
            details={"id": check["resource_id"], **at},
        )
    permission = check["permission"]
    if not checker.defines(resource, permission):
        raise ApiError(
            "validation_failed",
            f"Resource type {resource['type']} defines no permission or relation {permission!r}.",
            details={"field": "permission", **at},
        )
    try:
        subject = render_subject(check.get("subject"))
    except ApiError as exc:
        exc.details.update(at)
        raise
    return {
        "resource_id": resource["id"],
        "permission": permission,
        "subject": subject,
        "allowed": checker.check(resource["id"], permission, subject),
    }


@router.operation("checkPermission")
async def check_permission(ctx: Context) -> Response:
    """Follow tuples, group membership, usersets and arrows; a denial is ``allowed: false``."""
    return data_response(_answer(PermissionChecker(ctx.sandbox.tenant), ctx.json()))


@router.operation("batchCheckPermissions")
async def batch_check_permissions(ctx: Context) -> Response:
    """Answer every check in order; one bad check fails the batch with ``details.index``."""
    checker = PermissionChecker(ctx.sandbox.tenant)
    checks = ctx.json()["checks"]
    results = [_answer(checker, check, index) for index, check in enumerate(checks)]
    return data_response({"results": results})


__all__ = ["render_subject", "router"]
