"""The documentation site builds with ``mkdocs build --strict``, and its API reference is whole.

The site is built once for the module; the tests then read the built HTML: every public
name of ``intelliauth_ext`` (and of its public modules), every operation of the generated
facade (a method on its resource's page, with its HTTP method and path) and every model of
``intelliauth_client.models`` must have its entry (the anchor mkdocstrings gives it).
"""

from __future__ import annotations

import importlib
import inspect
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Final

import attrs
import pytest

import intelliauth_client.models
import intelliauth_ext
from intelliauth_client import facade

ROOT: Final = Path(__file__).resolve().parents[1]
#: The public modules of intelliauth_ext besides the package, each with a reference page.
PUBLIC_MODULES: Final = ("webhooks", "pkce", "testing", "fastapi", "aiohttp")
#: Seconds the build may take on this shared 2-core machine (about 10 s when idle).
BUILD_BUDGET: Final = 60.0


class _Page(HTMLParser):
    """The ``id`` attributes and the text of one HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name == "id" and value:
                self.ids.add(value)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


@attrs.frozen
class Site:
    """The built site: where, how long it took, and each page's anchors and text."""

    folder: Path
    seconds: float
    pages: dict[str, _Page]

    def ids(self, prefix: str = "") -> set[str]:
        """Every anchor of the pages under ``prefix`` (a folder of the site)."""
        return {i for path, page in self.pages.items() if path.startswith(prefix) for i in page.ids}

    def page_with(self, anchor: str) -> tuple[str, str]:
        """The page holding ``anchor`` and its text.

        Raises:
            LookupError: No page has it.
        """
        for path, page in self.pages.items():
            if anchor in page.ids:
                return path, " ".join("".join(page.text).split())
        raise LookupError(anchor)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """``mkdocs build --strict`` into a temporary folder, parsed."""
    folder = tmp_path_factory.mktemp("docs") / "site"
    started = time.monotonic()
    completed = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(folder)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        timeout=110,
        check=False,
    )
    seconds = time.monotonic() - started
    assert completed.returncode == 0, completed.stderr[-4000:]
    pages = {}
    for html in sorted(folder.rglob("*.html")):
        parser = _Page()
        parser.feed(html.read_text(encoding="utf-8"))
        pages[html.relative_to(folder).as_posix()] = parser
    return Site(folder, seconds, pages)


def test_mkdocs_build_strict_passes(site: Site) -> None:
    """The strict build succeeds in reasonable time, with README sections and extra files in."""
    assert site.seconds < BUILD_BUDGET
    retries = site.page_with("retries")[1]
    assert "Retry-After" in retries  # the README section was included
    assert "intelliauth_ext.ClientCredentials" in site.ids("reference/intelliauth_ext/")
    assert (site.folder / "benchmarks.png").exists()
    assert "cli/index.html" in site.pages


def test_every_public_name_has_an_entry(site: Site) -> None:
    """Each name of ``intelliauth_ext.__all__`` and of its public modules is documented."""
    names = [f"intelliauth_ext.{name}" for name in intelliauth_ext.__all__]
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(f"intelliauth_ext.{module_name}")
        names += [f"intelliauth_ext.{module_name}.{name}" for name in module.__all__]
    documented = site.ids("reference/")
    missing = [name for name in names if name not in documented]
    assert not missing, f"public names missing from the API reference: {missing}"
    assert len(names) > 100  # the check looked at the whole public surface


def _operation_methods() -> dict[str, tuple[type, str]]:
    """Each operationId of ``facade.OPERATIONS``: the resource class and method sending it."""
    found: dict[str, tuple[type, str]] = {}
    for cls in vars(facade).values():
        if not (inspect.isclass(cls) and cls.__name__.endswith("Resource")):
            continue
        for name, method in vars(cls).items():
            if name.startswith("_") or not inspect.isfunction(method):
                continue
            for operation_id in re.findall(r'OPERATIONS\["(\w+)"\]', inspect.getsource(method)):
                assert operation_id not in found, f"{operation_id} has two methods"
                found[operation_id] = (cls, name)
    return found


def test_every_operation_has_its_method_on_its_resource_page(site: Site) -> None:
    """All 75 operations: a method entry on the resource's page, with its method and path."""
    methods = _operation_methods()
    assert set(methods) == set(facade.OPERATIONS), "an operation without a facade method"
    problems = []
    for operation_id, (cls, name) in sorted(methods.items()):
        anchor = f"intelliauth_client.facade.{cls.__name__}.{name}"
        try:
            page, text = site.page_with(anchor)
        except LookupError:
            problems.append(f"{operation_id}: no entry {anchor}")
            continue
        operation = facade.OPERATIONS[operation_id]
        if not page.startswith("reference/api/"):
            problems.append(f"{operation_id}: {anchor} is on {page}, not a resource page")
        if f"{operation.method} {operation.path}" not in text:
            problems.append(
                f"{operation_id}: {page} does not show {operation.method} {operation.path}"
            )
    assert not problems, "\n".join(problems)


def test_every_resource_has_a_page(site: Site) -> None:
    """Each resource of ``facade.Resources`` is the subject of a page of its own."""
    resources = inspect.getsource(facade.Resources.__init__)
    for attribute, cls_name in re.findall(r"self\.(\w+) = (\w+)\(invoker\)", resources):
        page = f"reference/api/{attribute}/index.html"
        assert page in site.pages, f"client.{attribute} has no page"
        assert f"intelliauth_client.facade.{cls_name}" in site.pages[page].ids


def test_every_model_has_an_entry(site: Site) -> None:
    """Each class of ``intelliauth_client.models`` (requests, responses, enums, events)."""
    documented = site.ids("reference/")
    missing = []
    for name in intelliauth_client.models.__all__:
        value = getattr(intelliauth_client.models, name)
        anchor = f"{value.__module__}.{value.__qualname__}"
        if anchor not in documented:
            missing.append(anchor)
    assert not missing, f"models missing from the API reference: {missing}"
    assert len(intelliauth_client.models.__all__) > 150
