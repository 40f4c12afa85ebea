"""A local IntelliAuth sandbox tenant for tests and demos (``pip install intelliauth[testing]``).

``Sandbox`` is an in-memory tenant speaking the contract (``openapi/intelliauth.openapi.yaml``)
as an ASGI app: use it in process through ``httpx.ASGITransport(app=sandbox.app)``, or on a
loopback port with ``async with Sandbox.serve() as sandbox``, or from the command line with
``python -m intelliauth_ext.testing --port 8765``. ``SoftAuthenticator`` is a software
passkey (WebAuthn) authenticator for testing the passkey ceremonies against it.
"""

from __future__ import annotations

from ._authenticator import SoftAuthenticator, SoftCredential
from ._faults import Faults
from ._sandbox import TEST_USER_EMAIL, TEST_USER_PASSWORD, Sandbox
from ._validation import ContractViolation

__all__ = [
    "TEST_USER_EMAIL",
    "TEST_USER_PASSWORD",
    "ContractViolation",
    "Faults",
    "Sandbox",
    "SoftAuthenticator",
    "SoftCredential",
]
