"""The demo's own gateway, served in this process: its settings, its thread, its warnings as progress lines."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass

from vmha import gateway
from vmha.console import Progress
from vmha.contracts import Settings, parse_settings
from vmha.demo.options import DemoOptions
from vmha.deploy import Deployment
from vmha.functions import STEPS, intake


def free_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def gateway_settings(options: DemoOptions, deployed: Deployment, port: int, journal_url: str, secret: str) -> Settings:
    """The gateway's settings: the stack's queues, the fencing file, short retries, webhooks signed by ``secret``."""
    return parse_settings({
        "journal_url": journal_url,
        "fencing_file": options.fencing_file,
        "dedup_window_seconds": 0,
        "queues": dict(deployed.queues),
        "retry": {"initial_delay_seconds": 1, "max_delay_seconds": 5},
        "gateway": {"cloud": options.cloud or "", "poll_interval_seconds": 5,
                    "listen_host": "127.0.0.1", "listen_port": port},
        "api": {"webhook_secret": secret},
    }, {})


@dataclass(frozen=True)
class Served:
    """The gateway serving in a thread of this process until ``stop``."""

    gateway: gateway.Gateway
    _stop: threading.Event
    _thread: threading.Thread

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(60)


def start(settings: Settings, report: Progress) -> Served:
    """Build the gateway and serve it in a thread."""
    built = gateway.build(settings, STEPS, intake)
    stop = threading.Event()
    thread = threading.Thread(target=gateway.serve, args=(built, stop, 10.0), name="vmha-demo-gateway", daemon=True)
    thread.start()
    report(f"[gateway]    running at {built.http.url} ({settings.gateway.workers} workers)")
    return Served(built, stop, thread)


@contextlib.contextmanager
def warnings_shown(report: Progress) -> Iterator[None]:
    """Show the in-process gateway's warnings and errors as progress lines while the demo runs."""
    handler = _ReportHandler(report)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)


class _ReportHandler(logging.Handler):
    def __init__(self, report: Progress) -> None:
        super().__init__(logging.WARNING)
        self._report = report

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith("sushy") and record.levelno < logging.CRITICAL:
            return  # its fallback from Redfish sessions to Basic auth, every call: fence_host's outcome says more
        self._report(f"[gateway]    {record.levelname.lower()}: {record.getMessage()}")
