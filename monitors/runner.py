"""``vmha monitor``: build the monitors and their sink from the settings, and run them.

Each monitor runs in its own thread and calls its ``beat`` once per loop; a beat touches
``<state_dir>/<monitor>.health``. While every monitor beats in time and every sink courier lives, the
main loop tells systemd (``Type=notify``, ``WatchdogSec``) it is alive; when a monitor thread or a courier
dies, everything stops and the exit status is 1, so systemd restarts the service. ``--once`` runs one
detection pass of each monitor and waits briefly for the notifications to be delivered (exit status 1
if some are still spooled: they go out on the next run).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any, Protocol, TypeVar

import libvirt

from vmha.contracts import ContractError, Settings
from vmha.monitors.cloud import CloudConfig, CloudConfigError, LazySession, build_session, load_cloud
from vmha.monitors.instance import InstanceMonitor
from vmha.monitors.introspective import IntrospectiveMonitor
from vmha.monitors.kinds import HOST, KINDS
from vmha.monitors.logs import configure_logging
from vmha.monitors.nova import NovaOptIn
from vmha.monitors.process import ProcessMonitor
from vmha.monitors.processes import load_process_list
from vmha.monitors.sink import Backoff, Reporter, SpoolingSink, Target
from vmha.monitors.targets import MasakariTarget, ZaqarTarget

_LOG = logging.getLogger(__name__)
T = TypeVar("T")


class Monitor(Protocol):
    """What the runner needs of a monitor."""

    @property
    def stale_after(self) -> float:
        """Seconds without a beat after which the monitor counts as stuck."""

    def once(self) -> None: ...

    def run(self, stop: threading.Event, beat: Callable[[], None]) -> None: ...


def build_monitor(kind: str, settings: Settings, sink: SpoolingSink) -> Monitor:
    """The monitor ``kind`` (instance, introspective, process or host), reporting to ``sink``."""
    options = settings.monitor
    state_dir = Path(options.state_dir)
    hostname = options.hostname or socket.gethostname()
    if kind == HOST:
        # Imported only for it: the host monitor asks Nova through openstacksdk, the others never load it.
        from vmha.monitors.host.build import build_host_monitor  # noqa: PLC0415

        timeout = options.sink.request_timeout_seconds  # a hung Nova must not stall the leader's checks
        session = _cloud(settings, lambda cloud: build_session(cloud, timeout))
        return build_host_monitor(settings, sink, session, hostname)
    reporter = Reporter(sink, hostname, kind)
    if kind == "instance":
        return InstanceMonitor(options.libvirt_uri, reporter, state_dir / "domains.json", options.instance)
    if kind == "introspective":
        return IntrospectiveMonitor(options.libvirt_uri, reporter, state_dir / "heartbeats.json",
                                    options.introspective, _nova_opt_in(settings, hostname))
    load_process_list(Path(options.process.process_list))  # a bad list is a start-up error, not a late one
    return ProcessMonitor(reporter, options.process)


def build_sink(settings: Settings) -> SpoolingSink:
    """The spooling sink with its Zaqar target (and Masakari target, when configured)."""
    options = settings.monitor.sink
    cloud = _cloud(settings, lambda config: config)
    session = LazySession(cloud, timeout=options.request_timeout_seconds)  # Keystone and the targets alike
    zaqar = ZaqarTarget(session, settings.queues.notifications, options.zaqar_url, options.message_ttl_seconds,
                        interface=cloud.interface, region_name=cloud.region_name)
    targets: list[Target] = [zaqar]
    if options.masakari_url:
        targets.append(MasakariTarget(session, options.masakari_url))
    backoff = Backoff(options.retry_initial_seconds, options.retry_max_seconds, options.retry_multiplier)
    return SpoolingSink(Path(settings.monitor.state_dir) / "spool", targets, backoff, warm_up=session.warm)


def _nova_opt_in(settings: Settings, hostname: str) -> Callable[[Collection[str]], set[str]] | None:
    """In opt-in mode nova, the filter keeping the guests whose server has ha_enabled_metadata_key set."""
    if settings.monitor.introspective.opt_in != "nova":
        return None
    cloud = _cloud(settings, lambda config: config)
    session = LazySession(cloud, timeout=settings.monitor.sink.request_timeout_seconds)
    return NovaOptIn(session, hostname, settings.ha_enabled_metadata_key, interface=cloud.interface,
                     region_name=cloud.region_name).select


def _cloud(settings: Settings, use: Callable[[CloudConfig], T]) -> T:
    """``use`` applied to the monitor's cloud; a clouds.yaml problem is an error of the setting monitor.cloud."""
    try:
        return use(load_cloud(settings.monitor.cloud))
    except CloudConfigError as error:
        raise ContractError(str(error), "monitor/cloud") from error


def main(kind: str, settings: Settings, once: bool = False) -> int:
    """``vmha monitor``: structured logs, then ``run`` until SIGTERM or SIGINT; returns the exit status."""
    configure_logging(settings.monitor.log_format, settings.monitor.log_level)
    libvirt.registerErrorHandler(libvirt_error_to_debug, None)
    return run(kind, settings, once)


def libvirt_error_to_debug(_context: Any, error: tuple[Any, ...]) -> None:
    """libvirt's own report of an error it raises: a debug log line, not libvirt's default line on stderr (a
    hung guest agent would print one every ping); the monitors log what they catch, with its context."""
    _LOG.debug("libvirt: %s", error[2] if len(error) > 2 else error)


def run(kind: str, settings: Settings, once: bool = False, stop: threading.Event | None = None) -> int:
    """Run monitor ``kind`` (or ``all``) until ``stop`` is set (default: on a signal); returns the exit status."""
    Path(settings.monitor.state_dir).mkdir(parents=True, exist_ok=True)
    sink = build_sink(settings)
    try:
        monitors = {name: build_monitor(name, settings, sink) for name in (KINDS if kind == "all" else (kind,))}
        if once:
            return _once(monitors, sink, settings.monitor.sink.request_timeout_seconds * 3)
        return _forever(monitors, sink, Path(settings.monitor.state_dir), stop or _signalled())
    finally:
        sink.close()


def _once(monitors: dict[str, Monitor], sink: SpoolingSink, timeout: float) -> int:
    for monitor in monitors.values():
        monitor.once()
    if sink.drain(timeout):
        return 0
    _LOG.warning("notifications still spooled; the next run delivers them", extra={"pending": sink.pending()})
    return 1


def _forever(monitors: dict[str, Monitor], sink: SpoolingSink, state_dir: Path, stop: threading.Event) -> int:
    beats = {name: time.monotonic() for name in monitors}
    sink.warm_up()  # a failure reported soon after start must not wait for the Keystone session
    threads = [_start(name, monitor, stop, beats, state_dir) for name, monitor in monitors.items()]
    _notify_systemd("READY=1")
    _LOG.info("monitors running", extra={"monitors": list(monitors)})
    status = 0
    while not stop.wait(1.0):
        dead = [thread.name for thread in threads if not thread.is_alive()]
        if dead or not sink.healthy():
            _LOG.error("a monitor or the sink stopped; exiting", extra={"dead": dead, "sink": sink.healthy()})
            status = 1
            stop.set()
        elif all(time.monotonic() - beats[name] < monitor.stale_after for name, monitor in monitors.items()):
            _notify_systemd("WATCHDOG=1")
    _notify_systemd("STOPPING=1")
    for thread in threads:
        thread.join()
    return status


def _start(name: str, monitor: Monitor, stop: threading.Event, beats: dict[str, float],
           state_dir: Path) -> threading.Thread:
    health = state_dir / f"{name}.health"

    def beat() -> None:
        beats[name] = time.monotonic()
        health.touch()

    thread = threading.Thread(target=monitor.run, args=(stop, beat), name=f"vmha-monitor-{name}", daemon=True)
    thread.start()
    return thread


def _signalled() -> threading.Event:
    stop = threading.Event()
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: stop.set())
    return stop


def _notify_systemd(message: str) -> None:
    """sd_notify(3) without libsystemd: one datagram to $NOTIFY_SOCKET, if systemd gave one."""
    address = os.environ.get("NOTIFY_SOCKET", "")
    if not address:
        return
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notify:
        notify.connect("\0" + address[1:] if address.startswith("@") else address)
        notify.send(message.encode())
