"""Groups as the routes serve them: what the groups and users routes share.

The API view of a group, and the data of a ``group.member_added`` / ``group.member_removed``
event (removing a member, deleting the group and deleting the user all send the latter).
"""

from __future__ import annotations

from ._tenant import Record, Tenant

__all__ = ["member_change", "render_group"]


def render_group(tenant: Tenant, group: Record) -> Record:
    """Return the API view of a group (with its member count)."""
    count = sum(1 for m in tenant.memberships.values() if m["group_id"] == group["id"])
    return {**group, "member_count": count}


def member_change(group: Record, user_id: str, *, changed_at: str) -> Record:
    """Return the data of a group membership event (``GroupMemberEventData``)."""
    return {
        "group_id": group["id"],
        "group_name": group["name"],
        "user_id": user_id,
        "changed_at": changed_at,
    }
