"""``python -m codegen.fetch --url URL --dest PATH``: vendor a new version of the spec.

``URL`` is ``https://...``, ``file:///...`` or a local path (``make update-spec SPEC_FILE=``),
so the spec-bump job's steps run the same on a file in a test as on the published spec.
Downloads (or reads) the document, checks that it parses, validates as OpenAPI 3.x
(openapi-spec-validator) and is accepted by openapi-python-client's document model, and only then replaces `PATH` (written to a sibling
temporary file and renamed, so a failed download never leaves a half-written spec).
JSON is converted to YAML when `PATH` ends in ``.yaml``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tempfile
import urllib.parse
from pathlib import Path
from typing import Any

import httpx
import openapi_spec_validator
from openapi_python_client.schema import OpenAPI
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError
from pydantic import ValidationError
from ruamel.yaml import YAML

from codegen.spec import normalise


class FetchError(Exception):
    """The download failed or is not a usable OpenAPI document."""


def parse_spec(content: bytes, url: str) -> dict[str, Any]:
    """Parse and validate a downloaded spec.

    Raises:
        FetchError: If it is not YAML/JSON, not OpenAPI 3.x, or fails schema validation.
    """
    try:
        text = content.decode("utf-8")
        document = (
            json.loads(text) if text.lstrip().startswith("{") else YAML(typ="safe").load(text)
        )
    except Exception as error:  # decoding and the YAML parser's many error classes
        raise FetchError(f"{url} is not YAML or JSON: {error}") from error
    if not isinstance(document, dict) or not str(document.get("openapi", "")).startswith("3."):
        raise FetchError(f"{url} is not an OpenAPI 3.x document")
    document = normalise(document)  # `200:` reads as '200', as generation reads it
    try:
        openapi_spec_validator.validate(document)
    except OpenAPIValidationError as error:
        raise FetchError(f"{url} is not a valid OpenAPI document: {error}") from error
    try:
        OpenAPI.model_validate(document)  # what openapi-python-client will read it with
    except ValidationError as error:
        raise FetchError(f"{url} is not a document the generator reads:\n{error}") from error
    return document


def render(document: dict[str, Any], content: bytes, dest: Path) -> bytes:
    """The bytes to store: the download as is, or JSON turned into YAML for a ``.yaml`` dest."""
    if dest.suffix in {".yaml", ".yml"} and content.lstrip().startswith(b"{"):
        yaml = YAML()
        yaml.default_flow_style = False
        yaml.width = 100
        buffer = io.StringIO()
        yaml.dump(document, buffer)
        return buffer.getvalue().encode("utf-8")
    return content


def read_source(url: str, *, timeout: float = 30.0) -> bytes:
    """The bytes at `url`: an http(s) URL, a ``file://`` URL, or a local path.

    Raises:
        FetchError: On an HTTP error or an unreadable file.
    """
    if url.startswith(("http://", "https://")):
        try:
            response = httpx.get(url, timeout=timeout, follow_redirects=True)
            response.raise_for_status()
        except httpx.HTTPError as error:
            raise FetchError(f"could not download {url}: {error}") from error
        return response.content
    path = (
        Path(urllib.parse.unquote(urllib.parse.urlsplit(url).path))
        if url.startswith("file://")
        else Path(url)
    )
    try:
        return path.read_bytes()
    except OSError as error:
        raise FetchError(f"could not read {url}: {error.strerror or error}") from error


def fetch(url: str, dest: Path, *, timeout: float = 30.0) -> bool:
    """Download (or read) `url` into `dest` if valid; returns whether `dest` changed.

    Raises:
        FetchError: On an HTTP error, an unreadable file or an invalid document (`dest` is
            left as it was).
    """
    content = read_source(url, timeout=timeout)
    document = parse_spec(content, url)
    data = render(document, content, dest)
    if dest.exists() and dest.read_bytes() == data:
        return False
    dest.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{dest.name}-", dir=dest.parent)
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
        Path(temporary).replace(dest)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return True


def main(argv: list[str] | None = None) -> int:
    """Fetch the spec; returns the process exit code."""
    parser = argparse.ArgumentParser(prog="python -m codegen.fetch", description=__doc__)
    parser.add_argument("--url", required=True, help="https://..., file://... or a path")
    parser.add_argument("--dest", type=Path, required=True)
    arguments = parser.parse_args(argv)
    try:
        changed = fetch(arguments.url, arguments.dest)
    except FetchError as error:
        print(f"codegen.fetch: {error}", file=sys.stderr)
        return 1
    print(f"codegen.fetch: {arguments.dest} {'updated' if changed else 'unchanged'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
