"""The spec-bump rule, over a corpus of contract variants (tests/codegen/variants.py).

Every variant either generates a client that imports, passes ``mypy --strict`` and answers
its new operations through ``IntelliAuth`` on a loopback server, or fails with one
``GenerationError`` line naming the place in the spec and the fix.

The corpus is built once for the module: the variants are generated two at a time, then one
``mypy --strict`` run checks every generated package, and one subprocess drives every
package through ``IntelliAuth`` (tests/codegen/variant_driver.py).
"""

from __future__ import annotations

import base64
import concurrent.futures
import importlib
import inspect
import json
import multiprocessing
import re
import subprocess
import sys
import typing
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import attrs
import pytest
from variants import VARIANTS, Variant, generate_variant, render  # tests/codegen is on sys.path

from codegen import REPO_ROOT

# Generation, one mypy run and the driver take a minute or so on a loaded 2-core machine.
pytestmark = pytest.mark.timeout(600)

DRIVER = Path(__file__).parent / "variant_driver.py"
#: Kept between runs (like `make typecheck`'s), so mypy re-reads only the generated packages.
MYPY_CACHE = REPO_ROOT / ".mypy_cache" / "codegen-variants"
BY_NAME = {variant.name: variant for variant in VARIANTS}


def _package(variant: Variant) -> str:
    return f"v_{variant.name}"


@attrs.frozen
class Corpus:
    """What the corpus run found."""

    root: Path
    outcomes: dict[str, str]  # variant -> "" (generated) or the GenerationError line
    mypy_output: str
    mypy_status: int
    calls: dict[str, list[dict[str, Any]]]  # variant -> the driver's results


def _plan(variant: Variant, root: Path) -> dict[str, Any]:
    def reply(reply: Any) -> dict[str, Any]:
        content = None if reply.content is None else base64.b64encode(reply.content).decode()
        return {
            "status": reply.status,
            "json": reply.json,
            "content": content,
            "content_type": reply.content_type,
        }

    return {
        "variant": variant.name,
        "package_dir": str(root / _package(variant)),
        "calls": [
            {
                "source": call.source,
                "requests": list(call.requests),
                "replies": [reply(r) for r in call.replies],
                "check": call.check,
                "warns": call.warns,
                "request_body": call.request_body,
            }
            for call in variant.calls
        ],
    }


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    """Every variant generated, type-checked and driven through IntelliAuth."""
    root = tmp_path_factory.mktemp("variants")
    jobs = {}
    for variant in VARIANTS:
        spec = root / f"{variant.name}.openapi.yaml"
        spec.write_text(render(variant), encoding="utf-8")
        jobs[variant.name] = (str(spec), str(root / _package(variant)))
    # Worker processes are spawned (not forked from a test process with threads running).
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=2, mp_context=context) as pool:
        futures = {name: pool.submit(generate_variant, *job) for name, job in jobs.items()}
        outcomes = {name: future.result() for name, future in futures.items()}

    generated = [v for v in VARIANTS if v.generates and outcomes[v.name] == ""]
    MYPY_CACHE.mkdir(parents=True, exist_ok=True)
    mypy = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file=",
            "--strict",
            "--python-version=3.11",
            f"--cache-dir={MYPY_CACHE}",
            *(arg for v in generated for arg in ("-p", _package(v))),
        ],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin", "MYPYPATH": str(root)},
    )

    plan_path = root / "plan.json"
    plan_path.write_text(json.dumps([_plan(v, root) for v in generated]), encoding="utf-8")
    driver = subprocess.run(
        [sys.executable, str(DRIVER), str(plan_path)],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert driver.returncode == 0, driver.stderr
    calls: dict[str, list[dict[str, Any]]] = {}
    for result in json.loads(driver.stdout):
        calls.setdefault(result["variant"], []).append(result)
    return Corpus(root, outcomes, mypy.stdout + mypy.stderr, mypy.returncode, calls)


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: v.name)
def test_variant_generates_or_fails_with_one_line(corpus: Corpus, variant: Variant) -> None:
    """The variant generates, or fails with the one-line message its entry expects."""
    outcome = corpus.outcomes[variant.name]
    if variant.generates:
        assert outcome == "", outcome
    else:
        assert outcome, "generated, but must fail"
        assert "\n" not in outcome
        assert re.search(variant.error or "", outcome), outcome


def test_generated_variants_pass_mypy_strict(corpus: Corpus) -> None:
    """`mypy --strict` over every generated variant package, in one run, finds nothing."""
    assert corpus.mypy_status == 0, corpus.mypy_output
    assert "Success: no issues found" in corpus.mypy_output


@pytest.mark.parametrize("variant", [v for v in VARIANTS if v.generates], ids=lambda v: v.name)
def test_variant_works_through_intelliauth(corpus: Corpus, variant: Variant) -> None:
    """Each call of the variant's operations through IntelliAuth gives what it expects."""
    results = corpus.calls.get(variant.name, [])
    failures = [f"call {r['call']}: {r['detail']}" for r in results if not r["ok"]]
    assert not failures, "\n".join(failures)
    assert len(results) == len(variant.calls)


def test_command_line_prints_one_line_and_no_traceback(tmp_path: Path) -> None:
    """`python -m codegen` on a failing variant: exit 1, one `GenerationError:` line."""
    variant = BY_NAME["schema_named_operation"]
    spec = tmp_path / "bad.openapi.yaml"
    spec.write_text(render(variant), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "codegen", "--spec", str(spec), "--out", str(tmp_path / "pkg")],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("GenerationError: #/components/schemas/Operation: ")
    assert "class_overrides" in lines[0]
    assert not (tmp_path / "pkg").exists()


# -- what the generated variants contain ------------------------------------------------------


@pytest.fixture(scope="module")
def variant_packages(corpus: Corpus) -> Iterator[Any]:
    """Import a generated variant package by name (its relative imports make that work)."""
    sys.path.insert(0, str(corpus.root))

    def load(name: str, module: str = "facade") -> ModuleType:
        return importlib.import_module(f"v_{name}.{module}")

    yield load
    sys.path.remove(str(corpus.root))
    for module in [m for m in sys.modules if m.startswith("v_")]:
        del sys.modules[module]


def test_deprecated_operation_is_documented(variant_packages: Any) -> None:
    """A deprecated operation's facade method and endpoint functions say so."""
    facade = variant_packages("deprecated_operation")
    endpoint = variant_packages("deprecated_operation", "api.users.get_user")
    doc = inspect.getdoc(facade.UsersResource.get) or ""
    assert ".. deprecated::" in doc
    assert "users.get (GET /api/v1/users/{user_id}) is deprecated" in doc
    assert ".. deprecated::" in (inspect.getdoc(endpoint.asyncio) or "")
    assert ".. deprecated::" not in (inspect.getdoc(facade.UsersResource.delete) or "")


def test_deprecated_field_warns_when_set_not_when_parsed(variant_packages: Any) -> None:
    """Setting a deprecated field warns; parsing an answer that carries it does not."""
    models = variant_packages("deprecated_field", "models")
    with pytest.warns(DeprecationWarning, match=r"UserCreate\.display_name is deprecated"):
        models.UserCreate(email="a@x.io", display_name="A")
    create = models.UserCreate(email="a@x.io")  # not given: no warning
    with pytest.warns(DeprecationWarning, match="display_name"):
        create.display_name = "B"
    user = models.User.from_dict(
        {
            "id": "u",
            "email": "e",
            "status": "active",
            "created_at": "2024-05-01T10:00:00Z",
            "display_name": "Ada",
        }
    )
    assert user.display_name == "Ada"
    assert ".. deprecated::" in (inspect.getdoc(models.User) or "")


def test_facade_docstrings_carry_the_contract(variant_packages: Any) -> None:
    """Summary, description, path and every parameter with its description (Google style)."""
    facade = variant_packages("query_parameters_named_like_builtins")
    doc = inspect.getdoc(facade.UsersResource.search) or ""
    assert doc.startswith("searchUsers.")
    assert "warnings: Filter by warnings." in doc
    assert "``GET /api/v1/search/users``" in doc
    for name in ("type_", "id", "list_", "format_", "client_query", "self_", "from_", "response_"):
        assert re.search(rf"^    {name}: Filter by \w+\.$", doc, re.MULTILINE), (name, doc)
    signature = inspect.signature(facade.UsersResource.search)
    assert "self_" in signature.parameters
    get_doc = inspect.getdoc(variant_packages("camel_case_path_parameter").UsersResource.get_badges)
    assert "Args:\n    user_id: The user's id." in (get_doc or "")


def test_file_response_and_reserved_names_type_check_in_the_facade(variant_packages: Any) -> None:
    """The facade imports File for a download; Protocol & co. are the schemas' classes."""
    source = inspect.getsource(variant_packages("file_download"))
    assert "from .types import File" in source
    protocol_facade = variant_packages("schemas_named_like_facade_imports")
    assert "from .models.protocol import Protocol" in inspect.getsource(protocol_facade)
    assert typing.Protocol in protocol_facade.PageProtocol.__mro__  # not the schema's class


def test_endpoint_modules_are_async_only(variant_packages: Any) -> None:
    """Endpoint modules have asyncio/asyncio_detailed and the seam, no sync functions."""
    module = variant_packages("new_tag_and_operations", "api.badges.create_badge")
    assert inspect.iscoroutinefunction(module.asyncio)
    assert inspect.iscoroutinefunction(module.asyncio_detailed)
    assert callable(module._get_kwargs)
    assert callable(module._parse_response)
    assert not hasattr(module, "sync")
    assert not hasattr(module, "sync_detailed")
