"""A real HTTP/1.1 server on 127.0.0.1 with a route table, for tests that need real sockets."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

Handler = Callable[
    [http.server.BaseHTTPRequestHandler, bytes], tuple[int, dict[str, str], bytes] | None
]


class LocalServer:
    """A threaded HTTP/1.1 server on 127.0.0.1 with a route table, for real-socket tests."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Handler] = {}
        self.release = threading.Event()
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []
        server = self

        class _Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in separate writes: without TCP_NODELAY, Nagle's
            # algorithm and the client's delayed ACK hold each response back ~40 ms.
            disable_nagle_algorithm = True

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path = self.path.split("?", 1)[0]
                server.requests.append((self.command, self.path, dict(self.headers), body))
                route = server.routes.get((self.command, path))
                headers: dict[str, str]
                if route is None:
                    status, headers, content = (
                        404,
                        {},
                        b'{"error":"not_found","message":"no route"}',
                    )
                else:
                    result = route(self, body)
                    if result is None:  # the route wrote the response itself
                        return
                    status, headers, content = result
                self.send_response(status)
                headers = {"Content-Type": "application/json", **headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class _Server(http.server.ThreadingHTTPServer):
            daemon_threads = True
            # Fleet tests open hundreds of connections at once; with the default backlog
            # of 5, Linux completes handshakes it never accepts and the clients time out.
            request_queue_size = 1024

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that hung up mid-response is expected in these tests

        self._server = _Server(("127.0.0.1", 0), _Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def json_route(
        self,
        method: str,
        path: str,
        status: int,
        body: Any,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        content = json.dumps(body).encode()
        self.routes[(method, path)] = lambda handler, request_body: (
            status,
            dict(headers or {}),
            content,
        )

    def slow_route(self, method: str, path: str) -> None:
        def handler(
            h: http.server.BaseHTTPRequestHandler, body: bytes
        ) -> tuple[int, dict[str, str], bytes]:
            self.release.wait(10)
            return 200, {}, b'{"data": {}}'

        self.routes[(method, path)] = handler

    def trickle_route(self, method: str, path: str, *, size: int = 40, gap: float = 0.05) -> None:
        """A 200 whose body arrives one byte every `gap` seconds: no single read times out."""

        def handler(h: http.server.BaseHTTPRequestHandler, body: bytes) -> None:
            h.send_response(200)
            h.send_header("Content-Type", "text/plain")
            h.send_header("Content-Length", str(size))
            h.end_headers()
            h.wfile.flush()
            for _ in range(size):
                if self.release.wait(gap):
                    return
                h.wfile.write(b"x")
                h.wfile.flush()
            return None

        self.routes[(method, path)] = handler

    @contextmanager
    def running(self) -> Iterator[LocalServer]:
        self._thread.start()
        try:
            yield self
        finally:
            self.release.set()
            self._server.shutdown()
            self._server.server_close()
