"""The wheel and the sdist, installed as a user installs them, work without this repository.

Every check runs in fresh virtual environments outside the repository (see ``conftest``):
imports, a call against a sandbox started from the installed package, the ``intelliauth``
command (or its one-line hint without ``[cli]``), a user's own pytest run with and without
the fixtures, ``py.typed``; and on the artifacts themselves: what the wheel holds (the
packages, the contract, the license; no tests, no build files) and its size.
"""

from __future__ import annotations

import signal
import subprocess
import tarfile
import textwrap
import zipfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest

from .conftest import (
    ENVIRONMENTS,
    REPO_ROOT,
    Artifacts,
    Environment,
    run,
    user_environment,
)

#: The most the wheel may weigh: about twice its size today (the generated client and the
#: contract are most of it); a jump past this means something was packaged by mistake.
MAX_WHEEL_BYTES = 1_500_000
SPEC = REPO_ROOT / "openapi" / "intelliauth.openapi.yaml"
PACKAGED_SPEC = "intelliauth_ext/testing/intelliauth.openapi.yaml"
CLI_HINT = 'intelliauth: the command line needs the [cli] extra: pip install "intelliauth[cli]"'
TESTING_HINT = 'pip install "intelliauth[testing]"'

#: A test of the user's own, that uses nothing of the SDK.
TRIVIAL_TEST = """
def test_arithmetic() -> None:
    assert 1 + 1 == 2
"""
#: A test of the user's own, on the plugin's fixtures.
FIXTURE_TEST = """
import pytest

from intelliauth_ext import IntelliAuth


def test_the_sandbox_serves(intelliauth_sandbox) -> None:
    assert intelliauth_sandbox.url.startswith("http://127.0.0.1:")


@pytest.mark.anyio
async def test_the_client_lists_users(intelliauth_client: IntelliAuth) -> None:
    users = [user async for user in intelliauth_client.users.list(limit=5)]
    assert users
"""
#: What every environment must import: each public name, the generated client, py.typed;
#: it prints the extras whose modules import.
IMPORT_SCRIPT = """
import importlib
import importlib.resources

import intelliauth_client
import intelliauth_client.api.users.get_user
import intelliauth_ext
import intelliauth_ext.pkce
import intelliauth_ext.webhooks

for name in intelliauth_ext.__all__:
    getattr(intelliauth_ext, name)
for package in ("intelliauth_ext", "intelliauth_client"):
    assert importlib.resources.files(package).joinpath("py.typed").is_file(), package


def importable(module: str) -> bool:
    try:
        importlib.import_module(module)
    except ModuleNotFoundError:
        return False
    return True


MODULES = {
    "testing": "intelliauth_ext.testing._sandbox",
    "cli": "intelliauth_ext.cli._main",
    "fastapi": "intelliauth_ext.fastapi",
    "aiohttp": "intelliauth_ext.aiohttp",
    "redis": "redis.asyncio",
}
print(" ".join(extra for extra, module in MODULES.items() if importable(module)))
"""
#: A call through the installed SDK against the sandbox named by the environment.
CLIENT_SCRIPT = """
import asyncio

from intelliauth_ext import IntelliAuth, NotFoundError


async def main() -> None:
    async with IntelliAuth() as client:
        users = [user async for user in client.users.list(limit=10)]
        first = await client.users.get(users[0].id)
        assert first.id == users[0].id
        try:
            await client.users.get("usr_does_not_exist")
        except NotFoundError:
            pass
        else:
            raise AssertionError("a missing user was found")
        print(f"listed {len(users)} users, got {first.email}")


asyncio.run(main())
"""


@pytest.fixture(params=list(ENVIRONMENTS))
def environment(
    request: pytest.FixtureRequest, environments: Mapping[str, Environment]
) -> Environment:
    """Each environment in turn."""
    return environments[str(request.param)]


def test_the_wheel_holds_the_packages_the_contract_and_the_license(
    artifacts: Artifacts, capsys: pytest.CaptureFixture[str]
) -> None:
    """Only the two packages and their metadata; the contract and the license; a sane size."""
    distribution, version = artifacts.wheel.name.split("-")[:2]
    dist_info = f"{distribution}-{version}.dist-info"
    with zipfile.ZipFile(artifacts.wheel) as wheel:
        names = wheel.namelist()
        packaged_spec = wheel.read(PACKAGED_SPEC)
        license_text = wheel.read(f"{dist_info}/licenses/LICENSE")
        entry_points = wheel.read(f"{dist_info}/entry_points.txt").decode()
        metadata = wheel.read(f"{dist_info}/METADATA").decode()
    tops = {name.split("/", 1)[0] for name in names}
    assert tops == {"intelliauth_client", "intelliauth_ext", dist_info}
    unwanted = [
        name
        for name in names
        if any(part in {"tests", "__pycache__", "node_modules"} for part in name.split("/"))
        or name.endswith((".pyc", "conftest.py", "Makefile", "pyproject.toml", "hatch_build.py"))
    ]
    assert unwanted == []
    assert {"intelliauth_ext/py.typed", "intelliauth_client/py.typed"} <= set(names)
    assert packaged_spec == SPEC.read_bytes()  # a copy of the one source, not a fork
    assert license_text == (REPO_ROOT / "LICENSE").read_bytes()
    assert "Apache License" in license_text.decode()
    assert "END OF TERMS AND CONDITIONS" in license_text.decode()
    assert "License-Expression: Apache-2.0" in metadata
    assert "intelliauth = intelliauth_ext.cli:console_main" in entry_points
    assert "intelliauth = intelliauth_ext.testing.pytest_plugin" in entry_points
    size = artifacts.wheel.stat().st_size
    with capsys.disabled():
        print(
            f"\n[packaging] {artifacts.wheel.name}: {size:,} bytes ({len(names)} files); "
            f"{artifacts.sdist.name}: {artifacts.sdist.stat().st_size:,} bytes; "
            f"built in {artifacts.build_seconds:.1f} s"
        )
    assert size < MAX_WHEEL_BYTES


def test_the_sdist_builds_everything_the_wheel_needs(artifacts: Artifacts) -> None:
    """The sdist has the license, the contract and the build hook; nothing local."""
    with tarfile.open(artifacts.sdist) as sdist:
        names = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    assert {
        "LICENSE",
        "README.md",
        "pyproject.toml",
        "hatch_build.py",
        "openapi/intelliauth.openapi.yaml",
    } <= names
    local = [
        name
        for name in names
        if name.split("/", 1)[0] in {".venv", ".uv", "node_modules", ".git", "build"}
        or "__pycache__" in name
    ]
    assert local == []


def test_every_environment_imports_what_it_installed(
    environment: Environment, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every public name imports; each extra's modules import exactly where it is installed."""
    with capsys.disabled():
        print(f"\n[packaging] {environment.name}: installed in {environment.install_seconds:.1f} s")
    script = tmp_path / "imports.py"
    script.write_text(IMPORT_SCRIPT, encoding="utf-8")
    out = run([environment.python, script], cwd=tmp_path, env=user_environment())
    assert out.split() == [extra for extra in ENVIRONMENTS["all"][1] if environment.has(extra)]


def test_the_intelliauth_command(environment: Environment, tmp_path: Path) -> None:
    """With ``[cli]``, ``intelliauth --help``; without, one line naming the extra, exit 2."""
    result = subprocess.run(
        [environment.script, "--help"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env=user_environment(),
        check=False,
    )
    if environment.has("cli"):
        assert result.returncode == 0, result.stderr
        assert "Usage: intelliauth" in result.stdout
        for command in ("token", "users", "webhooks", "sandbox"):
            assert command in result.stdout
    else:
        assert result.returncode == 2
        assert result.stdout == ""
        assert result.stderr == CLI_HINT + "\n"


def _pytest(environment: Environment, project: Path) -> subprocess.CompletedProcess[str]:
    """The user's ``python -m pytest`` in ``project``, warnings as errors."""
    return subprocess.run(
        [environment.python, "-m", "pytest", "-W", "error", "-p", "no:cacheprovider", "-rA"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        env=user_environment(),
        check=False,
    )


def test_a_users_own_tests_run_with_the_plugin_installed(
    environment: Environment, user_project: Path
) -> None:
    """The plugin loads in every environment and changes nothing of a test that ignores it."""
    (user_project / "test_mine.py").write_text(TRIVIAL_TEST, encoding="utf-8")
    result = _pytest(environment, user_project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
    assert "warning" not in result.stdout.lower()
    assert result.stderr == ""


def test_a_users_tests_on_the_fixtures(environment: Environment, user_project: Path) -> None:
    """With ``[testing]`` the fixtures serve a sandbox; without, the test says what to install."""
    (user_project / "test_fixtures.py").write_text(FIXTURE_TEST, encoding="utf-8")
    result = _pytest(environment, user_project)
    output = result.stdout + result.stderr
    if environment.has("testing"):
        assert result.returncode == 0, output
        assert "2 passed" in result.stdout
    else:
        assert result.returncode == 1, output
        assert "2 errors" in result.stdout
        assert TESTING_HINT in result.stdout
        assert "Traceback" not in output


@contextmanager
def _served_sandbox(command: list[str | Path], cwd: Path) -> Iterator[dict[str, str]]:
    """Start a sandbox command; yield the ``INTELLIAUTH_*`` variables it prints; stop it."""
    with subprocess.Popen(
        [str(part) for part in command],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=user_environment(),
    ) as process:
        try:
            assert process.stdout is not None
            variables: dict[str, str] = {}
            for line in process.stdout:
                name, equals, value = line.strip().partition("=")
                if equals and name.startswith("INTELLIAUTH_"):
                    variables[name] = value
                if "INTELLIAUTH_CLIENT_SECRET" in variables:
                    break
            else:
                pytest.fail(f"the sandbox did not start: {process.communicate()[1]}")
            yield variables
        finally:
            process.send_signal(signal.SIGINT)
            _, stderr = process.communicate(timeout=30)
        assert process.returncode == 0, stderr


@pytest.mark.parametrize(
    "name", [name for name in ENVIRONMENTS if "testing" in ENVIRONMENTS[name][1]]
)
def test_a_call_against_the_installed_sandbox(
    name: str, environments: Mapping[str, Environment], tmp_path: Path
) -> None:
    """``python -m intelliauth_ext.testing`` serves the packaged contract; the SDK calls it."""
    environment = environments[name]
    script = tmp_path / "call.py"
    script.write_text(CLIENT_SCRIPT, encoding="utf-8")
    with _served_sandbox(
        [environment.python, "-m", "intelliauth_ext.testing", "--port", "0"], tmp_path
    ) as variables:
        result = subprocess.run(
            [environment.python, script],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            env=user_environment(**variables),
            check=False,
        )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("listed ")


def test_the_command_line_against_its_own_sandbox(
    environments: Mapping[str, Environment], tmp_path: Path
) -> None:
    """``intelliauth sandbox`` starts from the installed package; ``users list`` reads it."""
    environment = environments["all"]
    with _served_sandbox([environment.script, "sandbox", "--port", "0"], tmp_path) as variables:
        result = subprocess.run(
            [environment.script, "users", "list", "--json"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            env=user_environment(
                **variables,
                HOME=str(tmp_path),
                XDG_CONFIG_HOME=str(tmp_path / "config"),
                XDG_CACHE_HOME=str(tmp_path / "cache"),
            ),
            check=False,
        )
    assert result.returncode == 0, result.stderr
    assert "ada@example.com" in result.stdout


def test_the_packaged_contract_is_the_one_in_openapi(
    environments: Mapping[str, Environment],
) -> None:
    """The installed sandbox serves ``intelliauth_ext/testing/intelliauth.openapi.yaml``."""
    environment = environments["testing"]
    out = run(
        [
            environment.python,
            "-c",
            textwrap.dedent(
                """
                from intelliauth_ext.testing._spec import default_spec_path
                print(default_spec_path())
                """
            ),
        ],
        cwd=environment.root,
        env=user_environment(),
    )
    served = Path(out.strip())
    assert served.is_relative_to(environment.root)
    assert served.read_bytes() == SPEC.read_bytes()
