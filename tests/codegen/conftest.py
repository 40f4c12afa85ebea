"""Fixtures for the codegen tests: packages generated once per session.

Generation takes a while (a second for the test spec, a few for the real one), so each spec is
generated once per session. The generated code uses only relative imports, so a package
generated into ``<tmp>/mini_client`` imports as ``mini_client`` next to the committed
``intelliauth_client`` without clashing with it.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from codegen import DEFAULT_SPEC
from codegen.generator import build_package

FIXTURES = Path(__file__).parent / "fixtures"
MINI_SPEC = FIXTURES / "mini.openapi.yaml"


def _generate_and_import(spec: Path, root: Path, name: str) -> ModuleType:
    build_package(spec, root / name)
    sys.path.insert(0, str(root))
    return importlib.import_module(name)


def _forget(root: Path, name: str) -> None:
    sys.path.remove(str(root))
    for module in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
        del sys.modules[module]


@pytest.fixture(scope="session")
def mini_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder to generate the test spec's package into."""
    return tmp_path_factory.mktemp("mini")


@pytest.fixture(scope="session")
def mini_client(mini_root: Path) -> Iterator[ModuleType]:
    """The package generated from tests/codegen/fixtures/mini.openapi.yaml, as `mini_client`."""
    yield _generate_and_import(MINI_SPEC, mini_root, "mini_client")
    _forget(mini_root, "mini_client")


@pytest.fixture(scope="session")
def real_spec() -> Path:
    """The vendored spec (the tests that need it fail loudly if it is missing)."""
    assert DEFAULT_SPEC.exists(), f"{DEFAULT_SPEC} is missing"
    return DEFAULT_SPEC


@pytest.fixture(scope="session")
def real_client(real_spec: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The package generated from the vendored spec, as `real_client`."""
    root = tmp_path_factory.mktemp("real")
    yield _generate_and_import(real_spec, root, "real_client")
    _forget(root, "real_client")
