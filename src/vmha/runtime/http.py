"""The gateway's minimal HTTP endpoint: Zaqar subscription pushes wake the consumers; /healthz.

A Zaqar push carries the message body but no message id, and the message stays in its queue: the push is
only a hint to claim now instead of at the next poll, so its body is read and dropped. Anything else is 404.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

log = logging.getLogger(__name__)

WAKEUP_PATH = "/v1/wakeup"
HEALTH_PATH = "/healthz"
_MAX_BODY = 1 << 20


class WakeupServer:
    """Serves on ``(host, port)`` in a thread (port 0: a free one, see ``url``)."""

    def __init__(self, host: str, port: int, wake: Callable[[], None], healthy: Callable[[], bool]) -> None:
        self._server = ThreadingHTTPServer((host, port), _handler(wake, healthy))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="vmha-http", daemon=True)

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:15868; subscribe ``url + WAKEUP_PATH``."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self._thread.start()
        log.info("http endpoint listening", extra={"url": self.url})

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _handler(wake: Callable[[], None], healthy: Callable[[], bool]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if self.path.split("?")[0] != WAKEUP_PATH:
                self._reply(404, {"error": "not found"})
                return
            if length > _MAX_BODY:
                self._reply(413, {"error": "body too large"})
                return
            self.rfile.read(length)
            wake()
            self._reply(202, {"woken": True})

        def do_GET(self) -> None:
            if self.path.split("?")[0] != HEALTH_PATH:
                self._reply(404, {"error": "not found"})
                return
            ok = healthy()
            self._reply(200 if ok else 503, {"status": "ok" if ok else "unhealthy"})

        def _reply(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("http %s", format % args)

    return Handler
