"""Users: CRUD with filters, bulk import jobs that progress as they are polled, a user's groups."""

from __future__ import annotations

import math
from typing import Any

from starlette.responses import Response

from .._clock import parse_rfc3339
from .._envelopes import ApiError, data_response, no_content, not_found
from .._groups import member_change, render_group
from .._ids import new_id
from .._routing import Context, OperationRouter
from .._tenant import Record, hash_password
from .._users import new_user_record, render_user

router = OperationRouter()

USER_STATUSES = ("staged", "active", "suspended", "locked", "deprovisioned")
# Fields a client may set on create / update; everything else is the server's.
_WRITABLE = (
    "email",
    "email_verified",
    "name",
    "given_name",
    "family_name",
    "phone_number",
    "picture",
    "locale",
    "zoneinfo",
    "status",
    "metadata",
)
# An import job processes a third of its rows per poll: three polls after the 202 finish it.
_IMPORT_POLLS = 3


def _require_user(ctx: Context) -> Record:
    user_id = ctx.path("user_id")
    user = ctx.sandbox.tenant.users.get(user_id)
    if user is None:
        raise not_found("user", user_id)
    return user


@router.operation("listUsers")
async def list_users(ctx: Context) -> Response:
    """Newest first; filters email (exact, case-insensitive), status, q and created_after."""
    tenant = ctx.sandbox.tenant
    email = ctx.query("email")
    status = ctx.query("status")
    text = (ctx.query("q") or "").casefold()
    created_after_raw = ctx.query("created_after")
    try:
        created_after = parse_rfc3339(created_after_raw) if created_after_raw else None
    except ValueError as exc:
        raise ApiError(
            "invalid_request",
            "created_after must be an RFC 3339 date-time.",
            details={"parameter": "created_after"},
        ) from exc

    def matches(user: Record) -> bool:
        if email and str(user["email"]).casefold() != email.casefold():
            return False
        if status and user["status"] != status:
            return False
        if text and not any(text in str(user.get(f) or "").casefold() for f in ("email", "name")):
            return False
        return created_after is None or parse_rfc3339(user["created_at"]) > created_after

    filters = {"email": email, "status": status, "q": text, "created_after": created_after_raw}
    return ctx.page(
        tenant.users.sequenced(matches),
        filters=filters,
        render=lambda user: render_user(tenant, user),
    )


@router.operation("createUser")
async def create_user(ctx: Context) -> Response:
    """Create a user (201); an optional initial password is stored hashed."""
    body = ctx.json()
    tenant = ctx.sandbox.tenant
    user = new_user_record(tenant, {k: body[k] for k in _WRITABLE if k in body})
    password = body.get("password")
    if isinstance(password, str):
        tenant.passwords[user["id"]] = hash_password(password)
    ctx.sandbox.webhooks.publish("user.created", {"user": render_user(tenant, user)})
    return data_response(
        render_user(tenant, user),
        status=201,
        headers={"Location": f"{ctx.sandbox.url}/api/v1/users/{user['id']}"},
    )


@router.operation("getUser")
async def get_user(ctx: Context) -> Response:
    """One user by id."""
    return data_response(render_user(ctx.sandbox.tenant, _require_user(ctx)))


@router.operation("updateUser")
async def update_user(ctx: Context) -> Response:
    """PATCH semantics: only the fields present change."""
    tenant = ctx.sandbox.tenant
    user = _require_user(ctx)
    body = ctx.json()
    email = body.get("email")
    if email is not None and email != user["email"]:
        other = tenant.user_by_email(email)
        if other is not None and other["id"] != user["id"]:
            raise ApiError(
                "already_exists",
                f"A user with email {email} exists already.",
                details={"field": "email"},
            )
    if "status" in body and body["status"] not in {"active", "suspended"}:
        raise ApiError(
            "validation_failed",
            "status may only be set to active or suspended.",
            details={"field": "status"},
        )
    changed = {
        **user,
        **{k: body[k] for k in _WRITABLE if k in body},
        "updated_at": tenant.clock.isoformat(),
    }
    if email is not None and email != user["email"] and "email_verified" not in body:
        changed["email_verified"] = False  # a new address is unverified until proven
    tenant.users.replace(user["id"], changed)
    changed_fields = [k for k in changed if k != "updated_at" and changed[k] != user.get(k)]
    if changed_fields:
        data = {"user": render_user(tenant, changed), "changed_fields": changed_fields}
        ctx.sandbox.webhooks.publish("user.updated", data)
    return data_response(render_user(tenant, changed))


@router.operation("deleteUser")
async def delete_user(ctx: Context) -> Response:
    """Delete a user with their memberships, sessions, factors and password (204)."""
    tenant = ctx.sandbox.tenant
    user = _require_user(ctx)
    user_id = user["id"]
    now = tenant.clock.isoformat()
    # As a tenant does: the user leaves each group first (group.member_removed per group),
    # then is deleted (user.deleted).
    for membership in [m for m in tenant.memberships.values() if m["user_id"] == user_id]:
        group = tenant.groups.get(membership["group_id"])
        tenant.memberships.remove(membership["id"])
        if group is not None:
            ctx.sandbox.webhooks.publish(
                "group.member_removed", member_change(group, user_id, changed_at=now)
            )
    tenant.users.remove(user_id)
    tenant.passwords.pop(user_id, None)
    for collection in (tenant.sessions, tenant.factors):
        for record in [r for r in collection.values() if r.get("user_id") == user_id]:
            collection.remove(record["id"])
            if collection is tenant.factors:
                tenant.totp_secrets.pop(record["id"], None)
                tenant.one_time_codes.forget(record["id"])
    deleted = {"user_id": user_id, "email": user["email"], "deleted_at": now}
    ctx.sandbox.webhooks.publish("user.deleted", deleted)
    return no_content()


@router.operation("listUserGroups")
async def list_user_groups(ctx: Context) -> Response:
    """The groups a user belongs to, newest membership first."""
    tenant = ctx.sandbox.tenant
    user = _require_user(ctx)
    entries = [
        (sequence, tenant.groups.get(m["group_id"]))
        for sequence, m in tenant.memberships.sequenced(lambda m: m["user_id"] == user["id"])
    ]
    present = [(sequence, group) for sequence, group in entries if group is not None]
    return ctx.page(present, render=lambda group: render_group(tenant, group))


# ---------------------------------------------------------------- bulk import
@router.operation("importUsers")
async def import_users(ctx: Context) -> Response:
    """Accept a bulk import (202, ``queued``): the job advances each time it is polled."""
    tenant = ctx.sandbox.tenant
    body = ctx.json()
    rows = body.get("users")
    if not isinstance(rows, list) or not rows:
        raise ApiError(
            "validation_failed", "users must be a non-empty list.", details={"field": "users"}
        )
    mode = body.get("mode") or "create_only"
    job_id = new_id("imp")
    job: Record = {
        "id": job_id,
        "status": "queued",
        "mode": mode,
        "total_count": len(rows),
        "processed_count": 0,
        "created_count": 0,
        "updated_count": 0,
        "failed_count": 0,
        "errors": [],
        "error": None,
        "created_at": tenant.clock.isoformat(),
        "started_at": None,
        "completed_at": None,
    }
    tenant.imports.add(job_id, job)
    tenant.import_rows[job_id] = list(rows)
    location = f"/api/v1/users/imports/{job_id}"
    return data_response(job, status=202, headers={"Location": location})


def _import_row(ctx: Context, row: Any, mode: str) -> str:
    """Create (or, in upsert mode, update) one row's user; return "created" or "updated".

    Each row sends the event an API call would: ``user.created``, or ``user.updated``
    with the fields the upsert changed.
    """
    tenant = ctx.sandbox.tenant
    fields = {k: row[k] for k in _WRITABLE if isinstance(row, dict) and k in row}
    existing = tenant.user_by_email(str(fields.get("email", "")))
    if existing is not None and mode == "upsert":
        changed = {**existing, **fields, "updated_at": tenant.clock.isoformat()}
        tenant.users.replace(existing["id"], changed)
        user, outcome = changed, "updated"
        changed_fields = [k for k in fields if changed[k] != existing.get(k)]
        if changed_fields:
            data = {"user": render_user(tenant, changed), "changed_fields": changed_fields}
            ctx.sandbox.webhooks.publish("user.updated", data)
    else:
        user, outcome = new_user_record(tenant, fields), "created"
        ctx.sandbox.webhooks.publish("user.created", {"user": render_user(tenant, user)})
    if isinstance(row, dict) and isinstance(row.get("password"), str):
        tenant.passwords[user["id"]] = hash_password(row["password"])
    return outcome


def _advance_import(ctx: Context, job: Record) -> Record:
    """Process the next slice of the job's rows (a third of them per poll)."""
    tenant = ctx.sandbox.tenant
    if job["status"] in {"completed", "failed"}:
        return job
    rows = tenant.import_rows.get(job["id"], [])
    total = job["total_count"]
    start = job["processed_count"]
    stop = min(start + math.ceil(total / _IMPORT_POLLS), total)
    counts = {"created": job["created_count"], "updated": job["updated_count"]}
    errors = list(job["errors"])
    failed = job["failed_count"]
    for index in range(start, stop):
        try:
            counts[_import_row(ctx, rows[index], job["mode"])] += 1
        except ApiError as exc:
            failed += 1
            if len(errors) < 100:  # the contract keeps at most 100 row errors
                email = rows[index].get("email") if isinstance(rows[index], dict) else None
                errors.append(
                    {"index": index, "email": email, "error": exc.error, "message": exc.message}
                )
    now = tenant.clock.isoformat()
    done = stop >= total
    updated = {
        **job,
        "status": "completed" if done else "running",
        "processed_count": stop,
        "created_count": counts["created"],
        "updated_count": counts["updated"],
        "failed_count": failed,
        "errors": errors,
        "started_at": job["started_at"] or now,
        "completed_at": now if done else None,
    }
    if done:
        tenant.import_rows.pop(job["id"], None)
    return tenant.imports.replace(job["id"], updated)


@router.operation("getUserImport")
async def get_user_import(ctx: Context) -> Response:
    """The job's progress; each poll processes the next slice until it completes."""
    import_id = ctx.path("import_id")
    job = ctx.sandbox.tenant.imports.get(import_id)
    if job is None:
        raise not_found("user import", import_id)
    return data_response(_advance_import(ctx, job))


__all__ = ["USER_STATUSES", "router"]
