"""The gateway's HTTP server: cheroot, a pure-Python HTTP/1.1 server embedded in the gateway process.

Why cheroot (README, "Serving and operating the gateway"): a bounded pool of ``http.threads`` workers;
connections wait for their next request in one selector, not in a thread each, so idle clients cost a file
descriptor and no thread; HTTP/1.1 keep-alive, TLS and SO_REUSEPORT (several gateway processes on one port;
not on port 0) built in; no compiler, no fork, so the recovery's own worker threads
(``vmha.runtime.consumer``) run beside it in the same process and never in its pool. An operator who
prefers uWSGI or mod_wsgi mounts ``vmha.wsgi:application`` (the same ``pipeline``) instead.

Two timeouts: a connection, new or kept alive, waits in the selector for its next request and is closed
after ``http.idle_timeout_seconds`` without one; once bytes come a worker takes it and waits at most
``http.request_timeout_seconds`` for each read or write (the TLS handshake included: it runs in the worker,
never in the thread that accepts connections). The pipeline puts oslo.middleware's RequestId
(``X-OpenStack-Request-ID`` on every answer) and HTTPProxyToWSGI (``Forwarded`` and ``X-Forwarded-*`` when
``http.proxy_headers``) around the app. Requests are logged at debug level only.
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading

from cheroot import server as cheroot_server
from cheroot import wsgi
from cheroot.ssl.builtin import BuiltinSSLAdapter
from oslo_config import cfg
from oslo_middleware import HTTPProxyToWSGI, RequestId

from vmha.api.auth import WsgiApp
from vmha.contracts import GatewayOptions, HttpOptions

log = logging.getLogger(__name__)

_BACKLOG = 1024
_MAX_HEADER_BYTES = 65536
_SHUTDOWN_SECONDS = 5
_BIND_WAIT_SECONDS = 60.0


def pipeline(app: WsgiApp, options: HttpOptions) -> WsgiApp:
    """``app`` behind oslo.middleware: the request id outermost (so every answer carries one), then the proxy
    headers (read only when ``options.proxy_headers``)."""
    conf = cfg.ConfigOpts()
    proxied = HTTPProxyToWSGI(app, conf)
    conf.set_override("enable_proxy_headers_parsing", options.proxy_headers, group="oslo_middleware")
    wrapped: WsgiApp = RequestId(proxied)
    return wrapped


class _Connection(cheroot_server.HTTPConnection):
    """Reads and writes each request with the request timeout (the accepting thread set the idle one), after
    the TLS handshake on a new HTTPS connection."""

    greeted = False
    spoke = False

    def communicate(self) -> bool:
        self.socket.settimeout(self.server.request_timeout)
        if not self.greeted:
            self.greeted = True
            if isinstance(self.socket, ssl.SSLSocket) and not _handshake(self.socket, self.remote_addr):
                return False
        kept: bool = super().communicate()  # type: ignore[no-untyped-call]
        return kept


def _handshake(sock: ssl.SSLSocket, peer: str) -> bool:
    """The TLS handshake; False (the connection is closed) when it timed out or the client does not speak TLS."""
    try:
        sock.do_handshake()
    except OSError as error:  # ssl.SSLError and TimeoutError included
        log.debug("http TLS handshake failed", extra={"peer": peer, "error": str(error)})
        return False
    return True


class _LazyTls(BuiltinSSLAdapter):
    """cheroot's TLS adapter, with the handshake left to the first read, in the worker under the request
    timeout: cheroot would run it in the one thread that accepts connections, which a client that connects and
    says nothing would then hold up for everyone."""

    def __init__(self, cert_file: str, key_file: str) -> None:
        super().__init__(cert_file, key_file)
        self.context.minimum_version = ssl.TLSVersion.TLSv1_2

    def wrap(self, sock: socket.socket) -> tuple[ssl.SSLSocket, dict[str, str]]:
        wrapped = self.context.wrap_socket(sock, do_handshake_on_connect=False, server_side=True)
        return wrapped, {"wsgi.url_scheme": "https", "HTTPS": "on"}


class _Server(wsgi.Server):
    ConnectionClass = _Connection

    def __init__(self, bind: tuple[str, int], app: WsgiApp, options: HttpOptions) -> None:
        super().__init__(bind, app, numthreads=options.threads, max=options.threads, server_name="vmha",
                         request_queue_size=_BACKLOG, timeout=options.idle_timeout_seconds,
                         shutdown_timeout=_SHUTDOWN_SECONDS, reuse_port=bind[1] != 0)
        self.request_timeout = options.request_timeout_seconds
        self.keep_alive_conn_limit = options.max_idle_connections
        self.max_request_header_size = _MAX_HEADER_BYTES
        if options.tls_cert_file or options.tls_key_file:
            self.ssl_adapter = _LazyTls(options.tls_cert_file, options.tls_key_file)

    def process_conn(self, conn: _Connection) -> None:
        """A new connection waits in the selector for its first bytes, as a kept-alive one does, so a client that
        connects and says nothing holds no worker (cheroot would hand it to one at once)."""
        if conn.spoke:
            super().process_conn(conn)
            return
        conn.spoke = True
        self.put_conn(conn)

    def error_log(self, msg: str = "", level: int = logging.INFO, traceback: bool = False) -> None:
        log.log(logging.DEBUG if level < logging.ERROR else level, "http %s", msg, exc_info=traceback)


class ApiServer:
    """Serves ``app`` behind ``pipeline`` on ``gateway.listen_host``/``listen_port`` from ``start`` on (port 0: a
    free one, see ``url``); ``application`` is that pipeline, for a server of the operator's own instead. The TLS
    files are read here (OSError when they cannot be)."""

    def __init__(self, gateway: GatewayOptions, http: HttpOptions, app: WsgiApp) -> None:
        self.application = pipeline(app, http)
        self._server = _Server((gateway.listen_host, gateway.listen_port), self.application, http)
        self._scheme = "https" if self._server.ssl_adapter is not None else "http"
        self._prepared = threading.Event()
        self._failure: OSError | None = None
        self._thread = threading.Thread(target=self._serve, name="vmha-http", daemon=True)

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:15868 (waits for ``start`` to have bound the port)."""
        if not self._prepared.wait(_BIND_WAIT_SECONDS) or self._failure is not None:
            raise RuntimeError("the HTTP server was not started")
        host, port = self._server.bind_addr[:2]
        return f"{self._scheme}://{host!s}:{port}"

    def start(self) -> None:
        """Bind (OSError when the address is taken), then serve in a thread."""
        self._thread.start()
        self._prepared.wait()
        if self._failure is not None:
            raise self._failure
        log.info("http endpoint listening", extra={"url": self.url})

    def _serve(self) -> None:
        """Bind and serve, in this daemon thread: cheroot's workers inherit it, so they never hold the process
        up at exit (cheroot makes them non-daemon when started from the main thread)."""
        try:
            self._server.prepare()
        except OSError as error:
            self._failure = error
            return
        finally:
            self._prepared.set()
        self._server.serve()

    def stop(self) -> None:
        """Stop serving (nothing to do when never started: an operator's server served ``application``)."""
        if self._prepared.is_set() and self._failure is None:
            self._server.stop()
