"""Groups as the routes serve them: the API view the groups and users routes share."""

from __future__ import annotations

from ._tenant import Record, Tenant

__all__ = ["render_group"]


def render_group(tenant: Tenant, group: Record) -> Record:
    """Return the API view of a group (with its member count)."""
    count = sum(1 for m in tenant.memberships.values() if m["group_id"] == group["id"])
    return {**group, "member_count": count}
