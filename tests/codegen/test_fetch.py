"""Fetching a new spec version (codegen/fetch.py): validate first, then replace."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import respx

from codegen import fetch

MINI_SPEC = Path(__file__).parent / "fixtures" / "mini.openapi.yaml"
URL = "https://specs.example.com/intelliauth.openapi.yaml"


@respx.mock
def test_a_valid_spec_replaces_the_vendored_one(tmp_path: Path) -> None:
    """A valid download is written to the destination, byte for byte."""
    respx.get(URL).mock(return_value=httpx.Response(200, content=MINI_SPEC.read_bytes()))
    dest = tmp_path / "intelliauth.openapi.yaml"
    dest.write_text("old\n")
    assert fetch.main(["--url", URL, "--dest", str(dest)]) == 0
    assert dest.read_bytes() == MINI_SPEC.read_bytes()
    assert fetch.fetch(URL, dest) is False  # unchanged the second time
    assert [p.name for p in tmp_path.iterdir()] == [dest.name]


@respx.mock
@pytest.mark.parametrize(
    ("status", "content", "message"),
    [
        (200, b"openapi: 3.1.0\ninfo: {}\npaths: {}\n", "not a valid OpenAPI document"),
        (200, b"swagger: '2.0'\n", "not an OpenAPI 3.x document"),
        (200, b"{ not yaml: [", "not YAML or JSON"),
        (404, b"", "could not download"),
    ],
)
def test_an_invalid_download_leaves_the_vendored_spec_alone(
    tmp_path: Path, status: int, content: bytes, message: str
) -> None:
    """An HTTP error or an invalid document fails and leaves the destination untouched."""
    respx.get(URL).mock(return_value=httpx.Response(status, content=content))
    dest = tmp_path / "intelliauth.openapi.yaml"
    dest.write_text("old\n")
    with pytest.raises(fetch.FetchError, match=message):
        fetch.fetch(URL, dest)
    assert dest.read_text() == "old\n"
