"""The built distributions and the fresh virtual environments the packaging tests use.

``artifacts`` builds the sdist and the wheel once per session with the pinned uv
(``.uv/bin/uv build``, the wheel built from the sdist as an installer would). ``environments``
then installs them, concurrently, into fresh virtual environments outside the repository,
each with the user's own ``pytest``:

- ``base``: the wheel alone;
- one per extra (``testing``, ``cli``, ``fastapi``, ``aiohttp``, ``redis``): the wheel
  with that extra only;
- ``all``: the sdist with every extra (so the sdist builds a complete wheel).

Versions are constrained to ``uv.lock`` (``uv export``), so a release elsewhere can not
change what is tested; uv's cache makes an install take a second or two. Set
``UV_OFFLINE=1`` to forbid the network when the cache holds everything.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import attrs
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
UV = REPO_ROOT / ".uv" / "bin" / "uv"
EXTRAS = ("testing", "cli", "fastapi", "aiohttp", "redis")
#: Every environment: its name, whether it installs the sdist, and its extras.
ENVIRONMENTS: Mapping[str, tuple[bool, tuple[str, ...]]] = {
    "base": (False, ()),
    **{extra: (False, (extra,)) for extra in EXTRAS},
    "all": (True, EXTRAS),
}
#: Extras another extra brings along: uvicorn, of ``[testing]``, requires click.
IMPLIED_EXTRAS: Mapping[str, tuple[str, ...]] = {"testing": ("cli",)}
#: What a user's environment does not inherit from this test run.
_NOT_INHERITED_PREFIXES = ("PYTHON", "PYTEST_", "INTELLIAUTH_", "VIRTUAL_ENV", "UV_PROJECT")


@attrs.frozen
class Artifacts:
    """The built distributions."""

    wheel: Path
    sdist: Path
    build_seconds: float


@attrs.frozen
class Environment:
    """A fresh virtual environment with the package installed as a user installs it."""

    name: str
    root: Path
    extras: tuple[str, ...]
    install_seconds: float

    @property
    def python(self) -> Path:
        """The environment's interpreter."""
        return self.root / "bin" / "python"

    @property
    def script(self) -> Path:
        """The ``intelliauth`` console script the wheel installs."""
        return self.root / "bin" / "intelliauth"

    def has(self, extra: str) -> bool:
        """Whether this environment has ``extra``, installed or brought by another extra."""
        return extra in self.extras or any(
            extra in IMPLIED_EXTRAS.get(installed, ()) for installed in self.extras
        )


def user_environment(**extra: str) -> dict[str, str]:
    """The process environment of a user's shell: nothing of this repository or test run."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(_NOT_INHERITED_PREFIXES)
    }
    environment.update(extra)
    return environment


def run(
    command: Sequence[str | Path],
    *,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    timeout: float = 120,
) -> str:
    """Run ``command``; return its stdout, or fail the test with its output."""
    result = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(
            f"{' '.join(map(str, command))} exited {result.returncode}\n"
            f"{result.stdout}\n{result.stderr}",
            pytrace=False,
        )
    return result.stdout


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Artifacts:
    """The sdist and the wheel, built by the pinned uv."""
    if not UV.is_file():
        pytest.fail(f"{UV} is missing: `make install` installs the pinned uv", pytrace=False)
    out = tmp_path_factory.mktemp("dist")
    started = time.perf_counter()
    run([UV, "build", "--quiet", "--out-dir", out, REPO_ROOT], cwd=REPO_ROOT)
    build_seconds = time.perf_counter() - started
    (wheel,) = out.glob("intelliauth-*.whl")
    (sdist,) = out.glob("intelliauth-*.tar.gz")
    return Artifacts(wheel=wheel, sdist=sdist, build_seconds=build_seconds)


def _install(name: str, artifacts: Artifacts, constraints: Path, root: Path) -> Environment:
    from_sdist, extras = ENVIRONMENTS[name]
    started = time.perf_counter()
    run([UV, "venv", "--quiet", "--python", sys.executable, root], cwd=root.parent)
    source = artifacts.sdist if from_sdist else artifacts.wheel
    requirement = f"intelliauth[{','.join(extras)}] @ {source.as_uri()}" if extras else source
    options = ["--quiet", "--python", str(root / "bin" / "python"), "-c", str(constraints)]
    run([UV, "pip", "install", *options, requirement, "pytest"], cwd=root.parent)
    return Environment(
        name=name, root=root, extras=extras, install_seconds=time.perf_counter() - started
    )


@pytest.fixture(scope="session")
def environments(
    artifacts: Artifacts, tmp_path_factory: pytest.TempPathFactory
) -> Mapping[str, Environment]:
    """Every environment of :data:`ENVIRONMENTS`, installed concurrently."""
    workspace = tmp_path_factory.mktemp("venvs")
    constraints = workspace / "constraints.txt"
    # The locked versions of every extra's dependencies (and pytest's), as constraints.
    options = ["--frozen", "--all-extras", "--no-hashes", "--no-emit-project", "--no-annotate"]
    run([UV, "export", *options, "--no-header", "--quiet", "-o", constraints], cwd=REPO_ROOT)
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {
            name: pool.submit(_install, name, artifacts, constraints, workspace / name)
            for name in ENVIRONMENTS
        }
        return {name: future.result() for name, future in futures.items()}


@pytest.fixture
def user_project(tmp_path: Path) -> Path:
    """An empty project folder outside the repository, with its own pytest configuration."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    return project
