"""The gateway's HTTP server: a threaded stdlib WSGI server (one thread per connection).

SO_REUSEPORT lets several ``vmha gateway`` processes on one machine listen on the same port, the kernel
spreading connections among them. Requests are logged at debug level only.
"""

from __future__ import annotations

import logging
import socket
import threading
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

from vmha.api.auth import WsgiApp

log = logging.getLogger(__name__)


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def server_bind(self) -> None:
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        super().server_bind()


class _Handler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        log.debug("http %s", format % args)


class ApiServer:
    """Serves ``app`` on ``(host, port)`` in a thread (port 0: a free one, see ``url``)."""

    def __init__(self, host: str, port: int, app: WsgiApp) -> None:
        self._server = _Server((host, port), _Handler)
        self._server.set_app(app)
        self._thread = threading.Thread(target=self._server.serve_forever, name="vmha-http", daemon=True)

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:15868."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self._thread.start()
        log.info("http endpoint listening", extra={"url": self.url})

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
