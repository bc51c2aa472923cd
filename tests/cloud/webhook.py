"""A webhook receiver on 127.0.0.1 that records every request, for Zaqar subscriptions and Aodh actions."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.cloud.procs import wait_until


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class WebhookRecorder:
    """Serve on an ephemeral loopback port in a thread; `url(path)` to subscribe, `wait_for` to assert.
    Every request is answered 200, or, with ``hang_up``, recorded and left unanswered, the connection closed:
    to a caller, a gateway that died while taking it."""

    def __init__(self, *, hang_up: bool = False) -> None:
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                request = Request(self.command, self.path, dict(self.headers.items()), self.rfile.read(length))
                with recorder._lock:
                    recorder.requests.append(request)
                if hang_up:
                    self.close_connection = True
                    return
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> WebhookRecorder:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def url(self, path: str) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}{path}"

    def received(self, path: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def wait_for(self, path: str, count: int = 1, timeout: float = 30.0) -> list[Request]:
        """Wait until ``count`` requests reached ``path``; return them (raises AssertionError on timeout)."""
        if not wait_until(lambda: len(self.received(path)) >= count, timeout, 0.05):
            raise AssertionError(f"{len(self.received(path))} of {count} requests to {path} in {timeout} s")
        return self.received(path)
