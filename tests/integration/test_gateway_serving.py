"""The gateway as operators run it: a real `vmha gateway` process on HTTPS (a self-signed certificate made
here), keep-alive, oslo.middleware's request id, the request and idle timeouts against slow and silent
clients, the wake-up's rate limit; a client (`vmha status`) that refuses a journal whose schema is behind
instead of migrating it; and `vmha.wsgi:application` mounted under another WSGI server."""

from __future__ import annotations

import http.client
import ipaddress
import json
import math
import os
import re
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.bench.gateway import free_port
from tests.cloud.layout import Layout
from tests.cloud.procs import wait_until
from vmha.api.throttle import WAKEUP_BURST, WAKEUPS_PER_SECOND
from vmha.journal import upgrade

from .runtime_support import Place

ROOT = Path(__file__).resolve().parents[2]
VMHA = str(Path(sys.executable).parent / "vmha")
REQUEST_TIMEOUT, IDLE_TIMEOUT = 2, 4
REQUEST_ID = re.compile(r"^req-[0-9a-f-]{36}$")


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (its own CA) and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "vmha-test")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "gateway.crt", directory / "gateway.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


def environment(place: Place, layout: Layout, **extra: str) -> dict[str, str]:
    return {**os.environ, **place.environment(), "PYTHONPATH": str(ROOT),
            "OS_CLIENT_CONFIG_FILE": str(layout.clouds_yaml), "OS_CLOUD": "vmha-admin", **extra}


@contextmanager
def process(command: list[str], env: dict[str, str], log: Path, port: int,
            context: ssl.SSLContext | None = None) -> Iterator[subprocess.Popen[bytes]]:
    """``command`` running until the block ends, once /healthz answers 200 on ``port``."""
    with log.open("ab") as output:
        started = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        assert wait_until(lambda: started.poll() is not None or healthy(port, context), 90, 0.2)
        assert started.poll() is None, log.read_text()[-3000:]
        yield started
    finally:
        started.terminate()
        started.wait(60)


def healthy(port: int, context: ssl.SSLContext | None) -> bool:
    try:
        connection = connect(port, context)
        connection.request("GET", "/healthz")
        return connection.getresponse().status == 200
    except OSError:
        return False


def connect(port: int, context: ssl.SSLContext | None) -> http.client.HTTPConnection:
    if context is None:
        return http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    return http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=10)


def revision(journal_url: str) -> str:
    engine = sa.create_engine(journal_url)
    try:
        with engine.connect() as connection:
            return str(connection.execute(sa.text("SELECT version_num FROM vmha_journal_version")).scalar_one())
    finally:
        engine.dispose()


def status(journal_url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([VMHA, "status", "--once", "--journal-url", journal_url], capture_output=True, text=True,
                          timeout=60, check=False)


def test_a_client_refuses_a_journal_behind_and_the_gateway_serves_https_with_keep_alive_ids_and_timeouts(
        place: Place, cloud_layout: Layout, tmp_path: Path) -> None:
    upgrade(place.journal_url, "0004")
    refused = status(place.journal_url)
    assert refused.returncode == 2
    assert "vmha db upgrade" in refused.stderr and "Traceback" not in refused.stderr
    assert revision(place.journal_url) == "0004", "the client migrated the journal"

    cert, key = self_signed(tmp_path)
    port = free_port()
    env = environment(place, cloud_layout, VMHA_GATEWAY_LISTEN_PORT=str(port), VMHA_HTTP_TLS_CERT_FILE=str(cert),
                      VMHA_HTTP_TLS_KEY_FILE=str(key), VMHA_HTTP_THREADS="4",
                      VMHA_HTTP_REQUEST_TIMEOUT_SECONDS=str(REQUEST_TIMEOUT),
                      VMHA_HTTP_IDLE_TIMEOUT_SECONDS=str(IDLE_TIMEOUT))
    context = ssl.create_default_context(cafile=str(cert))
    with process([VMHA, "gateway"], env, tmp_path / "gateway.log", port=port, context=context):
        assert status(place.journal_url).returncode == 0, "the gateway migrates at start"
        kept_alive_with_a_request_id_each(port, context)
        plain_http_gets_no_answer(port)
        silent_and_slow_clients_hold_no_one_else_up(port, context)
        idle_connections_close(port, context)
        wakeups_are_rate_limited(port, context)


def kept_alive_with_a_request_id_each(port: int, context: ssl.SSLContext) -> None:
    connection = connect(port, context)
    ids, sockets = set(), set()
    for _ in range(3):
        connection.request("GET", "/v1")
        response = connection.getresponse()
        response.read()
        assert response.status == 200 and response.version == 11
        assert response.getheader("Connection", "").lower() != "close"
        ids.add(response.getheader("X-OpenStack-Request-ID"))
        sockets.add(id(connection.sock))
    assert len(sockets) == 1, "each request opened a new connection"
    assert len(ids) == 3 and all(REQUEST_ID.match(str(one)) for one in ids), ids
    assert isinstance(connection.sock, ssl.SSLSocket) and connection.sock.version() in ("TLSv1.2", "TLSv1.3")
    connection.close()


def plain_http_gets_no_answer(port: int) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", "/healthz")
        answered = connection.getresponse().status
    except (http.client.RemoteDisconnected, ConnectionError):
        answered = 0
    assert answered == 0


def silent_and_slow_clients_hold_no_one_else_up(port: int, context: ssl.SSLContext) -> None:
    silent = [socket.create_connection(("127.0.0.1", port)) for _ in range(20)]  # more than the 4 threads
    slow = [context.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="127.0.0.1")
            for _ in range(3)]
    for client in slow:
        client.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # and never the blank line
    began = time.monotonic()
    connection = connect(port, context)
    connection.request("GET", "/healthz")
    assert connection.getresponse().status == 200
    assert time.monotonic() - began < REQUEST_TIMEOUT * 0.75, "a request waited for the silent or slow clients"
    for client in slow:
        client.settimeout(REQUEST_TIMEOUT + 5)
        answer = client.recv(4096)
        assert answer == b"" or answer.startswith(b"HTTP/1.1 408"), answer
    waited = time.monotonic() - began
    assert REQUEST_TIMEOUT - 0.5 < waited < REQUEST_TIMEOUT + 3, waited
    for each in [*silent, *slow]:
        each.close()


def idle_connections_close(port: int, context: ssl.SSLContext) -> None:
    connection = connect(port, context)
    connection.request("GET", "/healthz")
    response = connection.getresponse()
    response.read()
    assert response.getheader("Connection", "").lower() != "close"
    time.sleep(IDLE_TIMEOUT + 1.5)
    assert connection.sock is not None and connection.sock.recv(1) == b"", "the idle connection was kept"


def wakeups_are_rate_limited(port: int, context: ssl.SSLContext) -> None:
    connection = connect(port, context)
    answers = []
    began = time.monotonic()
    for _ in range(30):
        connection.request("POST", "/v1/wakeup", body=b"{}", headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        answers.append((response.status, response.getheader("Retry-After"), json.loads(response.read())))
    elapsed = time.monotonic() - began
    woken = [answer for answer in answers if answer[0] == 202]
    refused = [answer for answer in answers if answer[0] == 429]
    assert answers[0][0] == 202 and len(woken) + len(refused) == 30, answers
    assert len(woken) <= WAKEUP_BURST + math.ceil(WAKEUPS_PER_SECOND * elapsed), (elapsed, answers)
    assert refused and all(after == "1" for _, after, _ in refused), (elapsed, answers)


def test_the_wsgi_entry_point_serves_the_gateway_under_another_server(
        place: Place, cloud_layout: Layout, tmp_path: Path) -> None:
    port = free_port()
    settings = tmp_path / "gateway.yaml"
    settings.write_text(f"journal_url: {place.journal_url}\n")
    server = ("import sys, wsgiref.simple_server as s; import vmha.wsgi as w; "
              "s.make_server('127.0.0.1', int(sys.argv[1]), w.application).serve_forever()")
    env = environment(place, cloud_layout, VMHA_SETTINGS_FILE=str(settings), VMHA_GATEWAY_LISTEN_PORT=str(port))
    with process([sys.executable, "-c", server, str(port)], env, tmp_path / "wsgi.log", port=port):
        connection = connect(port, None)
        connection.request("GET", "/healthz")
        response = connection.getresponse()
        assert response.status == 200, response.read()
        assert REQUEST_ID.match(response.getheader("X-OpenStack-Request-ID", ""))  # the same pipeline
