"""A local IntelliAuth sandbox tenant for tests and demos (``pip install intelliauth[testing]``).

``Sandbox`` is an in-memory tenant speaking the contract (``openapi/intelliauth.openapi.yaml``)
as an ASGI app: use it in process through ``httpx.ASGITransport(app=sandbox.app)``, or on a
loopback port with ``async with Sandbox.serve() as sandbox``, or from the command line with
``python -m intelliauth_ext.testing --port 8765``. ``SoftAuthenticator`` is a software
passkey (WebAuthn) authenticator for testing the passkey ceremonies against it, and
``Outbox`` (``sandbox.outbox``) holds the SMS and email codes the sandbox "sends".

The names are imported on first use, so that the pytest plugin (``pytest_plugin``, loaded
in every pytest run of a project that installs ``intelliauth``) imports nothing of the
sandbox, nor its ``[testing]`` dependencies, until a test asks for a fixture.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from ._authenticator import SoftAuthenticator, SoftCredential
    from ._faults import Faults
    from ._outbox import Outbox, OutboxMessage
    from ._sandbox import TEST_USER_EMAIL, TEST_USER_PASSWORD, Sandbox
    from ._validation import ContractViolation

#: Where each public name lives.
_LAZY: Final[dict[str, str]] = {
    "TEST_USER_EMAIL": "._sandbox",
    "TEST_USER_PASSWORD": "._sandbox",
    "ContractViolation": "._validation",
    "Faults": "._faults",
    "Outbox": "._outbox",
    "OutboxMessage": "._outbox",
    "Sandbox": "._sandbox",
    "SoftAuthenticator": "._authenticator",
    "SoftCredential": "._authenticator",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    # ``__import__`` (not importlib.import_module), so ``python -X importtime`` counts it.
    package = __import__(f"{__name__}{module}", fromlist=[name])
    value = getattr(package, name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "TEST_USER_EMAIL",
    "TEST_USER_PASSWORD",
    "ContractViolation",
    "Faults",
    "Outbox",
    "OutboxMessage",
    "Sandbox",
    "SoftAuthenticator",
    "SoftCredential",
]
