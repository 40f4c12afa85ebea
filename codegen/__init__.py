"""The code-generation pipeline: the OpenAPI spec in, the typed client and the bundles out.

Entry points (each a module run with ``python -m``):

- ``codegen`` (``__main__.py``): the spec to ``intelliauth_client/`` (``make generate``).
- ``codegen.check``: regenerate into a temporary folder and diff (``make check-generated``).
- ``codegen.bundles``: the spec to its JSON and Postman bundles (``make bundles``).
- ``codegen.changelog``: what the spec changed since the committed one, for SDK users
  (``make generate`` records it, ``make check-breaking`` gates on it).
- ``codegen.fetch``: download (or read) a new spec version (``make update-spec``).
- ``codegen.importtime``: compare the client's import time with httpx's.
"""

from pathlib import Path

#: The repository root (the folder holding ``codegen/``).
REPO_ROOT = Path(__file__).resolve().parent.parent
#: The import name of the generated package.
PACKAGE_NAME = "intelliauth_client"
#: The spec that ``make generate`` uses when no ``SPEC=`` is given.
DEFAULT_SPEC = REPO_ROOT / "openapi" / "intelliauth.openapi.yaml"
