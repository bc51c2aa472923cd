"""Start, stop and inspect the cloud's processes: one process group per service, pid file, log file."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

from tests.cloud.layout import Layout


class StartError(RuntimeError):
    """A service did not come up in time; the message names it and its log file."""


def pidfile(layout: Layout, name: str) -> Path:
    return layout.run / f"{name}.pid"


def killed_marker(layout: Layout, name: str) -> Path:
    """Written by ``kill`` and removed by ``start``: the service was SIGKILLed on purpose (a host failure a test
    or benchmark is making), not found dead."""
    return layout.run / f"{name}.killed"


def killed_on_purpose(layout: Layout, name: str, within: float) -> bool:
    """``kill`` ended the service less than ``within`` seconds ago and nothing started it since."""
    try:
        return time.time() - killed_marker(layout, name).stat().st_mtime < within
    except FileNotFoundError:
        return False


def logfile(layout: Layout, name: str) -> Path:
    return layout.log / f"{name}.out"


def read_pid(layout: Layout, name: str) -> int | None:
    try:
        return int(pidfile(layout, name).read_text())
    except (FileNotFoundError, ValueError):
        return None


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_running(layout: Layout, name: str) -> bool:
    pid = read_pid(layout, name)
    return pid is not None and group_alive(pid)


def start(
    layout: Layout, name: str, argv: Sequence[str], env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> int:
    """Start ``argv`` in a new session (its pid is the group id); no-op when it already runs."""
    if is_running(layout, name):
        return read_pid(layout, name) or 0
    layout.log.mkdir(parents=True, exist_ok=True)
    layout.run.mkdir(parents=True, exist_ok=True)
    with logfile(layout, name).open("ab") as log:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            cwd=cwd or layout.root,
            start_new_session=True,
        )
    pidfile(layout, name).write_text(str(proc.pid))
    killed_marker(layout, name).unlink(missing_ok=True)
    return proc.pid


def stop(layout: Layout, name: str, grace: float = 10.0, first: signal.Signals = signal.SIGTERM) -> None:
    """Send ``first`` (SIGTERM) to the service's process group, SIGKILL it after ``grace`` seconds."""
    pid = read_pid(layout, name)
    if pid is not None and group_alive(pid):
        _signal_group(pid, first)
        if not wait_until(lambda: not group_alive(pid), grace, 0.2):
            _signal_group(pid, signal.SIGKILL)
            wait_until(lambda: not group_alive(pid), 5.0, 0.1)
    pidfile(layout, name).unlink(missing_ok=True)


def kill(layout: Layout, name: str) -> None:
    """SIGKILL the whole process group at once, as a host dying would."""
    pid = read_pid(layout, name)
    if pid is not None:
        _signal_group(pid, signal.SIGKILL)
        wait_until(lambda: not group_alive(pid), 5.0, 0.05)
    pidfile(layout, name).unlink(missing_ok=True)
    layout.run.mkdir(parents=True, exist_ok=True)
    killed_marker(layout, name).touch()


def running_services(layout: Layout) -> list[str]:
    return sorted(p.stem for p in layout.run.glob("*.pid") if is_running(layout, p.stem))


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.5) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` seconds pass; return its last value."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def http_answers(url: str) -> bool:
    """True when ``url`` answers with any status below 500 (401 means the API is up)."""
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return int(response.status) < 500
    except urllib.error.HTTPError as error:
        return error.code < 500
    except (OSError, ValueError):
        return False


def wait_http(layout: Layout, name: str, url: str, timeout: float = 180.0) -> None:
    """Wait for ``url`` to answer; fail fast, naming the log, when the service died meanwhile."""
    def ready() -> bool:
        if not is_running(layout, name):
            raise StartError(f"{name} exited during start-up; see {logfile(layout, name)}")
        return http_answers(url)

    if not wait_until(ready, timeout, 0.3):
        raise StartError(f"{name} did not answer {url} within {timeout:.0f} s; see {logfile(layout, name)}")


def run(argv: Sequence[str], env: Mapping[str, str] | None = None, log: Path | None = None,
        input_text: str | None = None) -> None:
    """Run a set-up command to completion; on failure raise with its output's tail."""
    result = subprocess.run(
        list(argv), env={**os.environ, **(env or {})}, input=input_text, capture_output=True, text=True,
        check=False,
    )
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("a") as handle:
            handle.write(f"$ {' '.join(argv)}\n{result.stdout}{result.stderr}\n")
    if result.returncode != 0:
        tail = (result.stdout + result.stderr).strip().splitlines()[-15:]
        raise StartError(f"`{' '.join(argv)}` failed ({result.returncode}):\n" + "\n".join(tail))


def group_rss_mib(layout: Layout, name: str) -> float:
    """Resident memory of the service's whole process group, in MiB (0 when not running)."""
    return sum(int(fields[21]) * 4 for _, fields in _group_stats(layout, name)) / 1024  # rss in 4 KiB pages


def group_pids(layout: Layout, name: str) -> list[int]:
    """The processes of the service's whole process group (none when not running)."""
    return [pid for pid, _ in _group_stats(layout, name)]


def _group_stats(layout: Layout, name: str) -> Iterator[tuple[int, list[str]]]:
    """Each process of the service's group with the fields of its /proc/PID/stat after the command name."""
    pgid = read_pid(layout, name)
    if pgid is None:
        return
    for status in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = status.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid:  # field 5 of /proc/PID/stat: process group id
                yield int(status.parent.name), fields
        except (OSError, IndexError, ValueError):
            continue
