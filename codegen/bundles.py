"""``python -m codegen.bundles --spec PATH --out-dir DIR [--check]``: the spec's derived bundles.

Writes, next to the YAML (or into ``--out-dir``):

- ``<stem>.json``: the same document as JSON (document key order, 2-space indent, a trailing
  newline), for tools that do not read YAML;
- ``<name>.postman_collection.json``: a Postman 2.1 collection made by openapi-to-postmanv2
  (``codegen/postman.cjs``): one request per operation, one folder per tag, bearer auth on the
  collection (``{{access_token}}``; operations with ``security: []`` send none) and the base
  URL in a ``{{tenant_url}}`` variable. The converter's random ids are removed and its faked
  values come from a seeded generator, so the output is the same on every run.

``<stem>`` is the YAML file name without ``.yaml``; ``<name>`` is that without ``.openapi``.
With ``--check`` nothing is written: the command fails if either bundle differs from what the
YAML gives now.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from codegen import DEFAULT_SPEC, REPO_ROOT
from codegen.spec import SpecError, iter_operations, load_document

POSTMAN_SCRIPT = Path(__file__).resolve().parent / "postman.cjs"
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_TENANT_URL = "{{tenant_url}}"


class BundleError(Exception):
    """A bundle could not be produced (the message says why)."""


def bundle_paths(spec: Path, out_dir: Path) -> tuple[Path, Path]:
    """(JSON bundle, Postman collection) paths for `spec` in `out_dir`."""
    stem = spec.name.removesuffix(".yaml").removesuffix(".yml")
    name = stem.removesuffix(".openapi")
    return out_dir / f"{stem}.json", out_dir / f"{name}.postman_collection.json"


def _dumps(document: Any) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def json_bundle(document: Mapping[str, Any]) -> str:
    """The document as JSON text.

    Raises:
        BundleError: If the YAML holds a value JSON cannot (an unquoted date, say).
    """
    try:
        return _dumps(document)
    except TypeError as error:
        raise BundleError(f"the spec holds a value JSON cannot represent: {error}") from error


def _strip_ids(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            key: _strip_ids(value)
            for key, value in node.items()
            if not (key in {"id", "_postman_id"} and isinstance(value, str) and _UUID.match(value))
        }
    if isinstance(node, list):
        return [_strip_ids(item) for item in node]
    if isinstance(node, str):
        return node.replace("{{baseUrl}}", _TENANT_URL)
    return node


def _requests(items: list[Any]) -> Iterator[dict[str, Any]]:
    for item in items:
        if "request" in item:
            yield item
        yield from _requests(item.get("item", []))


def _request_key(request: Mapping[str, Any]) -> tuple[str, str]:
    segments = request["url"].get("path", [])
    path = "/" + "/".join(
        "{" + segment[1:] + "}" if segment.startswith(":") else segment for segment in segments
    )
    return request["method"].upper(), path


def _tenant_url(document: Mapping[str, Any]) -> tuple[str, list[dict[str, str]]]:
    """The first server's URL with its variables as Postman variables."""
    servers = document.get("servers") or [{"url": "http://localhost"}]
    server = servers[0]
    variables = [
        {"key": name, "value": str(variable.get("default", ""))}
        for name, variable in (server.get("variables") or {}).items()
    ]
    url = re.sub(r"\{(\w+)\}", r"{{\1}}", server["url"])
    return url, variables


def postman_collection(document: Mapping[str, Any]) -> str:
    """The Postman collection for the document, as deterministic JSON text.

    Raises:
        BundleError: If Node or the converter fails, or the collection does not hold exactly
            one request per operation.
    """
    node = shutil.which("node")
    if node is None:
        raise BundleError("node is not on PATH (`make install-node` installs the converter)")
    operations = {
        (raw.method.upper(), raw.path): raw.operation for raw in iter_operations(document)
    }
    spec_json = json_bundle(document)
    result = subprocess.run(  # noqa: S603 (node runs our own script on our own document)
        [node, str(POSTMAN_SCRIPT), "/dev/stdin"],
        input=spec_json,
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO_ROOT,
    )
    if result.returncode != 0:
        raise BundleError(f"openapi-to-postmanv2 failed: {result.stderr.strip()}")
    collection = _strip_ids(json.loads(result.stdout))

    requests = list(_requests(collection["item"]))
    keys = [_request_key(item["request"]) for item in requests]
    if sorted(keys) != sorted(operations):
        missing = sorted(set(operations) - set(keys))
        extra = sorted(set(keys) - set(operations))
        raise BundleError(
            f"the collection does not hold one request per operation: missing {missing}, "
            f"unexpected {extra}, {len(keys)} requests for {len(operations)} operations"
        )
    global_security = document.get("security") or []
    for item, key in zip(requests, keys, strict=True):
        if operations[key].get("security", global_security) == []:
            item["request"]["auth"] = {"type": "noauth"}

    url, variables = _tenant_url(document)
    collection["auth"] = {
        "type": "bearer",
        "bearer": [{"key": "token", "value": "{{access_token}}", "type": "string"}],
    }
    collection["variable"] = [
        *variables,
        {"key": "tenant_url", "value": url},
        {"key": "access_token", "value": ""},
    ]
    info = collection.pop("info")
    return _dumps({"info": info, **collection})


def build_bundles(spec: Path) -> tuple[str, str]:
    """(JSON bundle text, Postman collection text) for `spec`."""
    try:
        document = load_document(spec)
    except SpecError as error:
        raise BundleError(str(error)) from error
    return json_bundle(document), postman_collection(document)


def main(argv: list[str] | None = None) -> int:
    """Write (or ``--check``) the bundles; returns the process exit code."""
    parser = argparse.ArgumentParser(prog="python -m codegen.bundles", description=__doc__)
    parser.add_argument("--spec", type=Path, default=DEFAULT_SPEC)
    parser.add_argument("--out-dir", type=Path, default=None, help="default: the spec's folder")
    parser.add_argument("--check", action="store_true", help="fail if the bundles are stale")
    arguments = parser.parse_args(argv)
    out_dir = arguments.out_dir or arguments.spec.parent
    try:
        texts = build_bundles(arguments.spec)
    except BundleError as error:
        print(f"codegen.bundles: {error}", file=sys.stderr)
        return 1
    stale: list[str] = []
    for path, text in zip(bundle_paths(arguments.spec, out_dir), texts, strict=True):
        if arguments.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(str(path))
        elif not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            print(f"codegen.bundles: wrote {path}")
    if stale:
        print(
            f"codegen.bundles: stale: {', '.join(stale)}; run `make bundles` and commit the result",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
