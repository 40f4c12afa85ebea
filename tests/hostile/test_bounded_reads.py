"""Family 4: response bodies are read under a size limit, decompression included.

Every test talks to a real HTTP/1.1 server on loopback that answers as a hostile or
broken server would: a gzip bomb (200 KB that inflates to 200 MB), a 50 MB body with or
without ``Content-Length``, a ``Content-Length`` that lies, bodies one byte either side
of the limit. Each path that reads a body is tried: API calls on the SDK's own client
(aiohttp under asyncio, httpx's transport under trio) and on a caller's ``http_client``,
the token manager's token request, the any-provider token helpers, revocation through
the client, discovery and the key set.
"""

from __future__ import annotations

import functools
import gc
import http.server
import json
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from contextlib import asynccontextmanager
from typing import Any, Final

import anyio
import httpx
import pytest
from ext.servers import LocalServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intelliauth_ext import (
    APIConnectionError,
    APIResponseValidationError,
    IntelliAuth,
    IntelliAuthError,
    ResponseTooLargeError,
    StaticToken,
    fetch_provider_metadata,
    refresh_tokens,
)
from intelliauth_ext._jwks import JwksCache
from intelliauth_ext._transports import DEFAULT_MAX_RESPONSE_BYTES, MAX_AUTH_RESPONSE_BYTES
from intelliauth_ext._transports._bounded import DECODE_SLICE_BYTES

pytestmark = [
    pytest.mark.anyio,
    # Stopping a body half-way leaves httpx's and httpcore's stream generators unfinished;
    # under trio, one collected during the run warns (httpx issue 3686, httpcore PR 1019).
    # trio closes them either way; the SDK's own stream wrapper is no generator.
    pytest.mark.filterwarnings(
        r"ignore:Async generator '(httpx|httpcore)\.[^']*' was garbage collected:ResourceWarning"
    ),
]

MIB: Final = 1024 * 1024
BOMB_INFLATED: Final = 200 * MIB
PEAK_BOUND: Final = 30 * MIB
USER: Final = {
    "id": "usr_1",
    "email": "a@example.com",
    "email_verified": True,
    "name": "Ada",
    "status": "active",
    "created_at": "2026-01-02T03:04:05+00:00",
    "updated_at": "2026-01-02T03:04:05+00:00",
}
_BLOCK: Final = b"x" * (64 * 1024)

Chunks = Callable[[], Iterable[bytes]]


@functools.cache
def deflated_zeros(size: int, *, gzip: bool) -> bytes:
    """``size`` zero bytes, compressed as gzip or zlib (``deflate``): a bomb when large."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31 if gzip else 15)
    block = bytes(MIB)
    parts = [compressor.compress(block) for _ in range(size // MIB)]
    parts.append(compressor.compress(bytes(size % MIB)))
    parts.append(compressor.flush())
    return b"".join(parts)


def gzip_bomb() -> bytes:
    """About 200 KB of gzip that inflates to 200 MB of zeros."""
    return deflated_zeros(BOMB_INFLATED, gzip=True)


def blocks(total: int) -> Chunks:
    """``total`` bytes of ``x`` in 64 KiB writes (the server holds one block only)."""

    def chunks() -> Iterator[bytes]:
        remaining = total
        while remaining > 0:
            yield _BLOCK[: min(remaining, len(_BLOCK))]
            remaining -= len(_BLOCK)

    return chunks


def raw_route(
    server: LocalServer,
    method: str,
    path: str,
    chunks: Chunks,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
    content_length: int | None = None,
    chunked: bool = False,
) -> list[int]:
    """A route that writes its answer itself: any ``Content-Length`` (true or not), or
    chunked transfer coding. Returns a list that counts the requests."""
    hits: list[int] = []

    def handler(h: http.server.BaseHTTPRequestHandler, body: bytes) -> None:
        hits.append(1)
        h.send_response(status)
        for name, value in {"Content-Type": "application/json", **(headers or {})}.items():
            h.send_header(name, value)
        if chunked:
            h.send_header("Transfer-Encoding", "chunked")
        elif content_length is not None:
            h.send_header("Content-Length", str(content_length))
        else:
            h.send_header("Connection", "close")
            h.close_connection = True
        h.end_headers()
        try:
            for chunk in chunks():
                h.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
            if chunked:
                h.wfile.write(b"0\r\n\r\n")
            h.wfile.flush()
        except OSError:  # the client stopped reading and hung up: what the limit does
            h.close_connection = True

    server.routes[(method, path)] = handler
    return hits


def body_route(
    server: LocalServer,
    method: str,
    path: str,
    body: bytes,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
    chunked: bool = False,
) -> list[int]:
    """``body`` with its true ``Content-Length`` (or chunked), written 64 KiB at a time."""
    pieces = [body[i : i + 65536] for i in range(0, len(body), 65536)] or [b""]
    return raw_route(
        server,
        method,
        path,
        lambda: pieces,
        status=status,
        headers=headers,
        content_length=None if chunked else len(body),
        chunked=chunked,
    )


def user_body(size: int) -> bytes:
    """A valid ``users.get`` answer padded with JSON whitespace to exactly ``size`` bytes."""
    body = json.dumps({"data": USER, "meta": {}}).encode()
    assert len(body) <= size
    return body + b" " * (size - len(body))


@pytest.fixture(params=["own_client", "http_client"])
def client_kind(request: pytest.FixtureRequest) -> str:
    """The SDK's own client (aiohttp on asyncio, httpx on trio) or a caller's http_client."""
    return str(request.param)


@asynccontextmanager
async def api_client(server: LocalServer, kind: str, **options: Any) -> AsyncIterator[IntelliAuth]:
    """A client of ``server`` with a static token, no retries, of the given kind."""
    options = {"auth": StaticToken("tok"), "max_retries": 0, "timeout": 10.0, **options}
    if kind == "http_client":
        async with (
            httpx.AsyncClient() as http_client,
            IntelliAuth(server.url, http_client=http_client, **options) as client,
        ):
            yield client
    else:
        async with IntelliAuth(server.url, **options) as client:
            yield client


async def peak_bytes_of(call: Callable[[], Awaitable[object]]) -> tuple[int, BaseException | None]:
    """The peak of Python memory allocated while ``call`` runs, and what it raised."""
    gc.collect()
    tracemalloc.start()
    raised: BaseException | None = None
    try:
        tracemalloc.reset_peak()
        base, _ = tracemalloc.get_traced_memory()
        try:
            await call()
        except Exception as exc:
            raised = exc
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak - base, raised


# -- API calls ----------------------------------------------------------------------------


async def test_a_gzip_bomb_on_an_api_call_stops_at_the_limit(
    local_server: LocalServer, client_kind: str
) -> None:
    """200 KB of gzip inflating to 200 MB: ResponseTooLargeError, peak memory under 30 MB."""
    bomb = gzip_bomb()
    assert len(bomb) < 250_000
    body_route(
        local_server, "GET", "/api/v1/users/usr_1", bomb, headers={"Content-Encoding": "gzip"}
    )
    async with api_client(local_server, client_kind) as client:
        peak, raised = await peak_bytes_of(lambda: client.users.get("usr_1"))
    assert isinstance(raised, ResponseTooLargeError), raised
    assert raised.max_bytes == DEFAULT_MAX_RESPONSE_BYTES
    assert raised.status_code == 200
    assert peak < PEAK_BOUND, f"peak {peak / MIB:.1f} MiB"


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_a_50_mb_body_stops_at_the_limit(
    local_server: LocalServer, client_kind: str, chunked: bool
) -> None:
    """50 MB, declared or chunked: ResponseTooLargeError, peak memory under 30 MB."""
    raw_route(
        local_server,
        "GET",
        "/api/v1/users/usr_1",
        blocks(50 * MIB),
        content_length=None if chunked else 50 * MIB,
        chunked=chunked,
    )
    async with api_client(local_server, client_kind) as client:
        peak, raised = await peak_bytes_of(lambda: client.users.get("usr_1"))
        assert isinstance(raised, ResponseTooLargeError), raised
        assert peak < PEAK_BOUND, f"peak {peak / MIB:.1f} MiB"
        # The connection that was cut is not reused: the next call works.
        body_route(local_server, "GET", "/api/v1/users/usr_2", user_body(1000))
        assert (await client.users.get("usr_2")).id == "usr_1"


async def test_a_body_without_length_or_chunks_stops_at_the_limit(
    local_server: LocalServer, client_kind: str
) -> None:
    """A body delimited by closing the connection (no length, not chunked) is counted too."""
    raw_route(local_server, "GET", "/api/v1/users/usr_1", blocks(20 * MIB))
    async with api_client(local_server, client_kind, max_response_bytes=MIB) as client:
        with pytest.raises(ResponseTooLargeError):
            await client.users.get("usr_1")


LIMIT: Final = 4096


@pytest.mark.parametrize("encoding", [None, "gzip", "deflate"], ids=["identity", "gzip", "deflate"])
@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_a_body_at_the_limit_passes_and_one_byte_more_fails(
    local_server: LocalServer, client_kind: str, encoding: str | None, chunked: bool
) -> None:
    """Exactly max_response_bytes decoded bytes are accepted; one more is refused."""
    for size, accepted in ((LIMIT - 1, True), (LIMIT, True), (LIMIT + 1, False)):
        body = user_body(size)
        headers = {}
        if encoding is not None:
            compressor = zlib.compressobj(6, zlib.DEFLATED, 31 if encoding == "gzip" else 15)
            body = compressor.compress(body) + compressor.flush()
            headers["Content-Encoding"] = encoding
        body_route(
            local_server, "GET", "/api/v1/users/usr_1", body, headers=headers, chunked=chunked
        )
        async with api_client(local_server, client_kind, max_response_bytes=LIMIT) as client:
            if accepted:
                assert (await client.users.get("usr_1")).id == "usr_1"
            else:
                with pytest.raises(ResponseTooLargeError) as info:
                    await client.users.get("usr_1")
                assert info.value.max_bytes == LIMIT
                assert f"larger than {LIMIT} bytes" in str(info.value)


async def test_a_content_length_over_the_limit_fails_before_the_body_is_read(
    local_server: LocalServer, client_kind: str
) -> None:
    """A server announcing 1 GB and sending 10 bytes: refused at once, no wait for the rest."""
    raw_route(
        local_server, "GET", "/api/v1/users/usr_1", lambda: [b"{}" * 5], content_length=1 << 30
    )
    async with api_client(local_server, client_kind, timeout=2.0) as client:
        with anyio.fail_after(1.5), pytest.raises(ResponseTooLargeError):
            await client.users.get("usr_1")


async def test_a_content_length_shorter_than_the_body_reads_only_what_it_says(
    local_server: LocalServer, client_kind: str
) -> None:
    """Announcing 20 bytes and sending 50 MB: 20 bytes are read, the rest is never held.

    httpx's transport returns the 20 bytes (not JSON: a validation error); aiohttp reads
    the bytes that follow as the next response and fails the connection. Either way a
    documented error, at once, with no memory spent on the 50 MB.
    """
    raw_route(local_server, "GET", "/api/v1/users/usr_1", blocks(50 * MIB), content_length=20)
    async with api_client(local_server, client_kind) as client:
        with anyio.fail_after(5):
            peak, raised = await peak_bytes_of(lambda: client.users.get("usr_1"))
    assert isinstance(raised, APIResponseValidationError | APIConnectionError), raised
    assert not isinstance(raised, ResponseTooLargeError)
    if isinstance(raised, APIResponseValidationError):
        assert raised.response.content == b"x" * 20
    assert peak < PEAK_BOUND, f"peak {peak / MIB:.1f} MiB"


async def test_an_error_status_with_a_huge_body_is_too_large_too(
    local_server: LocalServer, client_kind: str
) -> None:
    """A 500 whose body is a gzip bomb: ResponseTooLargeError carrying the status, no retry."""
    hits = body_route(
        local_server,
        "GET",
        "/api/v1/users/usr_1",
        gzip_bomb(),
        status=500,
        headers={"Content-Encoding": "gzip"},
    )
    async with api_client(local_server, client_kind, max_retries=2) as client:
        with pytest.raises(ResponseTooLargeError) as info:
            await client.users.get("usr_1")
    assert info.value.status_code == 500
    assert len(hits) == 1


async def test_a_401_bomb_before_the_auth_flow_replays_is_bounded(
    local_server: LocalServer, client_kind: str
) -> None:
    """The auth flow's first response (a 401 to replay after) is read under the limit too."""

    class ReplayingAuth(httpx.Auth):
        def auth_flow(self, request: httpx.Request) -> Iterator[httpx.Request]:
            request.headers["Authorization"] = "Bearer stale"
            response = yield request
            if response.status_code == 401:
                request.headers["Authorization"] = "Bearer fresh"
                yield request

    body_route(
        local_server,
        "GET",
        "/api/v1/users/usr_1",
        gzip_bomb(),
        status=401,
        headers={"Content-Encoding": "gzip"},
    )
    async with api_client(local_server, client_kind, auth=ReplayingAuth()) as client:
        peak, raised = await peak_bytes_of(lambda: client.users.get("usr_1"))
    assert isinstance(raised, ResponseTooLargeError), raised
    assert peak < PEAK_BOUND, f"peak {peak / MIB:.1f} MiB"


async def test_the_limit_is_an_option_kept_by_with_options(local_server: LocalServer) -> None:
    """max_response_bytes: 10 MiB by default, set per client, kept or changed by copies."""
    body_route(local_server, "GET", "/api/v1/users/usr_1", user_body(3000))
    async with IntelliAuth(local_server.url, auth=StaticToken("tok")) as client:
        assert client.max_response_bytes == DEFAULT_MAX_RESPONSE_BYTES
        small = client.with_options(max_response_bytes=2000)
        assert small.max_response_bytes == 2000
        assert small.with_options(timeout=3).max_response_bytes == 2000
        assert (await client.users.get("usr_1")).id == "usr_1"
        with pytest.raises(ResponseTooLargeError):
            await small.users.get("usr_1")
    for wrong in (0, -1):
        with pytest.raises(ValueError, match="max_response_bytes"):
            IntelliAuth(local_server.url, auth=StaticToken("t"), max_response_bytes=wrong)
    with pytest.raises(TypeError, match="max_response_bytes"):
        IntelliAuth(local_server.url, auth=StaticToken("t"), max_response_bytes=True)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    size=st.integers(min_value=0, max_value=3 * LIMIT),
    encoding=st.sampled_from([None, "gzip", "deflate", "gzip, gzip"]),
    chunked=st.booleans(),
    filler=st.binary(min_size=1, max_size=64),
)
def test_any_body_is_accepted_exactly_when_it_fits(
    local_server: LocalServer,
    size: int,
    encoding: str | None,
    chunked: bool,
    filler: bytes,
) -> None:
    """Whatever the bytes, coding and framing: the decoded body is returned iff it fits."""
    decoded = (filler * (size // len(filler) + 1))[:size]
    body = decoded
    headers = {}
    if encoding is not None:
        for _ in encoding.split(","):
            compressor = zlib.compressobj(6, zlib.DEFLATED, 31 if "gzip" in encoding else 15)
            body = compressor.compress(body) + compressor.flush()
        headers["Content-Encoding"] = encoding
    body_route(local_server, "GET", "/api/v1/users/usr_1", body, headers=headers, chunked=chunked)

    async def call() -> bytes:
        async with api_client(local_server, "own_client", max_response_bytes=LIMIT) as client:
            response = await client.invoker.send({"method": "get", "url": "/api/v1/users/usr_1"})
            return response.content

    if size <= LIMIT:
        assert anyio.run(call) == decoded
    else:
        with pytest.raises(ResponseTooLargeError):
            anyio.run(call)


# -- token, revocation, discovery, key set: 1 MiB ---------------------------------------------


async def test_a_gzip_bomb_from_the_token_endpoint_stops_the_api_call(
    local_server: LocalServer,
) -> None:
    """The token manager's token request reads at most 1 MiB: the API call fails with it."""
    hits = body_route(
        local_server, "POST", "/oauth2/token", gzip_bomb(), headers={"Content-Encoding": "gzip"}
    )
    body_route(local_server, "GET", "/api/v1/users/usr_1", user_body(1000))
    async with IntelliAuth(
        local_server.url, client_id="cid", client_secret="cs", max_retries=0
    ) as client:
        peak, raised = await peak_bytes_of(lambda: client.users.get("usr_1"))
    assert isinstance(raised, ResponseTooLargeError), raised
    assert raised.max_bytes == MAX_AUTH_RESPONSE_BYTES
    assert peak < PEAK_BOUND, f"peak {peak / MIB:.1f} MiB"
    assert len(hits) >= 1


async def test_the_token_helpers_read_at_most_one_mib(local_server: LocalServer) -> None:
    """The any-provider refresh_tokens(): a 2 MiB answer is refused, with or without a client."""
    body_route(local_server, "POST", "/oauth2/token", b" " * (2 * MIB))
    url = f"{local_server.url}/oauth2/token"
    with pytest.raises(ResponseTooLargeError) as info:
        await refresh_tokens(url, "rt_1", client_id="cid", client_secret="cs")
    assert info.value.max_bytes == MAX_AUTH_RESPONSE_BYTES
    async with httpx.AsyncClient() as http_client:
        with pytest.raises(ResponseTooLargeError):
            await refresh_tokens(
                url, "rt_1", client_id="cid", client_secret="cs", http_client=http_client
            )


async def test_revocation_through_the_client_reads_at_most_one_mib(
    local_server: LocalServer, client_kind: str
) -> None:
    """An operation with RFC 6749 errors reads 1 MiB at most, an API call up to 10 MiB."""
    body_route(local_server, "POST", "/oauth2/revoke", b" " * (2 * MIB))
    token = {"access_token": "tok", "token_type": "Bearer", "expires_in": 3600}
    local_server.json_route("POST", "/oauth2/token", 200, token)
    body_route(local_server, "GET", "/api/v1/users/usr_1", user_body(2 * MIB))
    async with api_client(
        local_server, client_kind, auth=None, client_id="cid", client_secret="cs"
    ) as client:
        with pytest.raises(ResponseTooLargeError) as info:
            await client.revoke("tok_1")
        assert info.value.max_bytes == MAX_AUTH_RESPONSE_BYTES
        assert (await client.users.get("usr_1")).id == "usr_1"


async def test_a_gzip_bomb_as_discovery_document_is_refused(local_server: LocalServer) -> None:
    """fetch_provider_metadata() reads at most 1 MiB of the discovery document."""
    body_route(
        local_server,
        "GET",
        "/.well-known/openid-configuration",
        gzip_bomb(),
        headers={"Content-Encoding": "gzip"},
    )
    peak, raised = await peak_bytes_of(lambda: fetch_provider_metadata(local_server.url))
    assert isinstance(raised, ResponseTooLargeError), raised
    assert peak < PEAK_BOUND, f"peak {peak / MIB:.1f} MiB"


async def test_a_gzip_bomb_as_key_set_is_refused(local_server: LocalServer) -> None:
    """The key set is read 1 MiB at most; the bomb never inflates past that."""
    body_route(local_server, "GET", "/jwks", gzip_bomb(), headers={"Content-Encoding": "gzip"})
    keys = JwksCache(f"{local_server.url}/jwks")
    peak, raised = await peak_bytes_of(lambda: keys.find_key(kid="k1", alg="RS256"))
    assert isinstance(raised, IntelliAuthError), raised
    assert isinstance(raised, ResponseTooLargeError) or isinstance(
        raised.__cause__, ResponseTooLargeError
    ), raised
    assert peak < PEAK_BOUND, f"peak {peak / MIB:.1f} MiB"


def test_one_decoder_step_inflates_at_most_about_a_mebibyte() -> None:
    """Deflate's ratio tops out near 1032:1: one slice of compressed input is bounded."""
    bomb = deflated_zeros(64 * MIB, gzip=False)
    decoder = zlib.decompressobj()
    assert len(decoder.decompress(bomb[:DECODE_SLICE_BYTES])) <= 1100 * DECODE_SLICE_BYTES
