"""Hatchling build hook: the wheel carries the contract beside the sandbox that serves it.

The contract has one home, ``openapi/intelliauth.openapi.yaml``: codegen, the bundles and
``make update-spec`` read and write it there. A built wheel has no ``openapi/`` folder, so
this hook copies the file to ``intelliauth_ext/testing/intelliauth.openapi.yaml``, where
``intelliauth_ext.testing._spec`` finds it. Only standard wheels get the copy: an editable
install serves the repository's file, and a copy in its site-packages would go stale.
"""

from __future__ import annotations

from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

SPEC: str = "openapi/intelliauth.openapi.yaml"
PACKAGED_SPEC: str = "intelliauth_ext/testing/intelliauth.openapi.yaml"


class ContractInWheelHook(BuildHookInterface):
    """Add the contract to a standard wheel as package data of ``intelliauth_ext.testing``."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        """Map the spec into the wheel (hatchling calls this before it builds)."""
        if self.target_name == "wheel" and version == "standard":
            build_data["force_include"][SPEC] = PACKAGED_SPEC
