"""Route handlers, one module per resource, each keyed by the contract's operationId.

This package only assembles them. What a handler is given (``Context``) and how a module
collects its handlers (``OperationRouter``) live in ``testing/_routing.py``; what several
resources share lives beside the data it serves (``_users``, ``_groups``, ``_sign_in``,
``_authorize``, the webhook hub's ``publish``, the authorization server's
``end_session``). A routes module imports those leaf modules, never another routes module
nor this package, so no two modules import each other.

``login.py`` is not a resource: it serves the sandbox's own sign-in page (``login_routes``).
"""

from __future__ import annotations

from .._routing import Handler
from . import (
    applications,
    auth,
    federation,
    groups,
    me,
    oauth2,
    resource_types,
    resources,
    users,
    webauthn,
    webhooks,
)

__all__ = ["all_handlers"]

_RESOURCE_MODULES = (
    oauth2,
    auth,
    me,
    users,
    groups,
    applications,
    resource_types,
    resources,
    federation,
    webhooks,
    webauthn,
)


def all_handlers() -> dict[str, Handler]:
    """Return every resource module's handlers by operationId.

    Raises:
        ValueError: Two modules handle the same operationId.
    """
    handlers: dict[str, Handler] = {}
    for module in _RESOURCE_MODULES:
        for operation_id, handler in module.router:
            if operation_id in handlers:
                raise ValueError(f"two handlers for {operation_id}")
            handlers[operation_id] = handler
    return handlers
