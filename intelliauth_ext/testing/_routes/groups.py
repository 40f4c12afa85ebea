"""Groups and membership."""

from __future__ import annotations

from starlette.responses import Response

from .._envelopes import ApiError, data_response, no_content, not_found
from .._groups import member_change, render_group
from .._ids import new_id
from .._routing import Context, OperationRouter
from .._tenant import Record, Tenant

router = OperationRouter()
_WRITABLE = ("name", "description")


def _require_group(ctx: Context) -> Record:
    group_id = ctx.path("group_id")
    group = ctx.sandbox.tenant.groups.get(group_id)
    if group is None:
        raise not_found("group", group_id)
    return group


def _check_name(tenant: Tenant, name: object, *, except_id: str | None = None) -> None:
    if not isinstance(name, str) or not name.strip():
        raise ApiError("validation_failed", "name is required.", details={"field": "name"})
    clash = tenant.groups.find(lambda g: g["name"].casefold() == name.casefold())
    if clash is not None and clash["id"] != except_id:
        raise ApiError(
            "already_exists", f"A group named {name} exists already.", details={"field": "name"}
        )


@router.operation("listGroups")
async def list_groups(ctx: Context) -> Response:
    """Newest first; optional free-text ``q`` on the name."""
    tenant = ctx.sandbox.tenant
    text = (ctx.query("q") or "").casefold()
    entries = tenant.groups.sequenced(lambda g: not text or text in g["name"].casefold())
    return ctx.page(entries, filters={"q": text}, render=lambda g: render_group(tenant, g))


@router.operation("createGroup")
async def create_group(ctx: Context) -> Response:
    """Create a group (201); names are unique, case-insensitively."""
    tenant = ctx.sandbox.tenant
    body = ctx.json()
    _check_name(tenant, body.get("name"))
    now = tenant.clock.isoformat()
    group: Record = {
        "id": new_id("grp"),
        "name": body["name"],
        "description": body.get("description"),
        "created_at": now,
        "updated_at": now,
    }
    tenant.groups.add(group["id"], group)
    return data_response(
        render_group(tenant, group),
        status=201,
        headers={"Location": f"{ctx.sandbox.url}/api/v1/groups/{group['id']}"},
    )


@router.operation("getGroup")
async def get_group(ctx: Context) -> Response:
    """One group by id."""
    return data_response(render_group(ctx.sandbox.tenant, _require_group(ctx)))


@router.operation("updateGroup")
async def update_group(ctx: Context) -> Response:
    """PATCH semantics."""
    tenant = ctx.sandbox.tenant
    group = _require_group(ctx)
    body = ctx.json()
    if "name" in body:
        _check_name(tenant, body["name"], except_id=group["id"])
    changed = {
        **group,
        **{k: body[k] for k in _WRITABLE if k in body},
        "updated_at": tenant.clock.isoformat(),
    }
    tenant.groups.replace(group["id"], changed)
    return data_response(render_group(tenant, changed))


@router.operation("deleteGroup")
async def delete_group(ctx: Context) -> Response:
    """Delete a group and its memberships (204); each member's removal is an event."""
    tenant = ctx.sandbox.tenant
    group = _require_group(ctx)
    now = tenant.clock.isoformat()
    for membership in [m for m in tenant.memberships.values() if m["group_id"] == group["id"]]:
        tenant.memberships.remove(membership["id"])
        if membership["user_id"] in tenant.users:
            _emit_membership(ctx, "group.member_removed", group, membership["user_id"], now)
    tenant.groups.remove(group["id"])
    return no_content()


def render_member(tenant: Tenant, membership: Record) -> Record | None:
    """Return a GroupMember (the user's id, email and name, and when they were added)."""
    user = tenant.users.get(membership["user_id"])
    if user is None:
        return None
    return {
        "user_id": user["id"],
        "email": user["email"],
        "name": user["name"],
        "added_at": membership["created_at"],
    }


def _emit_membership(
    ctx: Context, event_type: str, group: Record, user_id: str, changed_at: str
) -> None:
    ctx.sandbox.webhooks.publish(event_type, member_change(group, user_id, changed_at=changed_at))


@router.operation("listGroupMembers")
async def list_group_members(ctx: Context) -> Response:
    """The group's members, newest membership first."""
    tenant = ctx.sandbox.tenant
    group = _require_group(ctx)
    entries = tenant.memberships.sequenced(
        lambda m: m["group_id"] == group["id"] and m["user_id"] in tenant.users
    )
    return ctx.page(entries, render=lambda membership: render_member(tenant, membership))


@router.operation("addGroupMember")
async def add_group_member(ctx: Context) -> Response:
    """Add a user to the group (201 with the membership); a second add is a 409."""
    tenant = ctx.sandbox.tenant
    group = _require_group(ctx)
    user_id = ctx.json().get("user_id")
    if not isinstance(user_id, str) or tenant.users.get(user_id) is None:
        raise ApiError("not_found", f"No user with id {user_id}.", details={"id": user_id})
    if tenant.memberships.find(lambda m: m["group_id"] == group["id"] and m["user_id"] == user_id):
        raise ApiError(
            "already_exists",
            "The user is already a member of this group.",
            details={"user_id": user_id, "group_id": group["id"]},
        )
    membership: Record = {
        "id": new_id("mbr"),
        "group_id": group["id"],
        "user_id": user_id,
        "created_at": tenant.clock.isoformat(),
    }
    tenant.memberships.add(membership["id"], membership)
    _emit_membership(ctx, "group.member_added", group, user_id, membership["created_at"])
    return data_response(render_member(tenant, membership), status=201)


@router.operation("removeGroupMember")
async def remove_group_member(ctx: Context) -> Response:
    """Remove a user from the group (204); not a member is a 404."""
    tenant = ctx.sandbox.tenant
    group = _require_group(ctx)
    user_id = ctx.path("user_id")
    membership = tenant.memberships.find(
        lambda m: m["group_id"] == group["id"] and m["user_id"] == user_id
    )
    if membership is None:
        raise ApiError(
            "not_found",
            "The user is not a member of this group.",
            details={"user_id": user_id, "group_id": group["id"]},
        )
    tenant.memberships.remove(membership["id"])
    _emit_membership(ctx, "group.member_removed", group, user_id, tenant.clock.isoformat())
    return no_content()
