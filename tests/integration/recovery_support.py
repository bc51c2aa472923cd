"""Helpers of the end-to-end recovery tests: real `vmha gateway` processes with the real step table on
per-test queues and a SQLite journal, woken by Zaqar subscription pushes to their signed webhook URL as the
heat/ templates wire them, notifications posted to Zaqar as a monitor posts them, segments made as the
heat/ templates make them (a host aggregate with ``vmha:`` metadata)."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from tests.cloud import helpers
from tests.cloud.layout import Layout
from tests.cloud.procs import wait_until
from vmha.contracts import Notification, Payload
from vmha.heat import template_path
from vmha.journal import TERMINAL, NotificationDetail, StepStatus, open_journal, utc_now
from vmha.signing import ZAQAR_PATH, signed_url

ROOT = Path(__file__).resolve().parents[2]
VMHA = str(Path(sys.executable).parent / "vmha")
MESSAGE_TTL = 3600
HA = {"HA_Enabled": "True"}
_WIRING_PARAMETERS = yaml.safe_load(template_path("wiring.yaml").read_text())["parameters"]
PUSH_RETRY_POLICY = _WIRING_PARAMETERS["push_retry_policy"]["default"]
"""The deployed subscriptions' retry policy of pushes (heat/wiring.yaml)."""
_LISTENING = re.compile(r'"message": "http endpoint listening", "url": "([^"]+)"')


class Recoveries:
    """One test's queues, journal, settings file and gateway processes; ``close`` stops and removes them."""

    def __init__(self, tmp_path: Path, conn: Any, layout: Layout, *, journal_url: str = "", **settings: Any) -> None:
        suffix = uuid.uuid4().hex[:8]
        self.queues = {kind: f"e2e-{suffix}-{kind}" for kind in ("notifications", "steps", "dead_letters")}
        self.journal_url = journal_url or f"sqlite:///{tmp_path / 'journal.db'}"
        self.webhook_secret = secrets.token_hex(16)
        self.settings_file = tmp_path / "settings.json"
        self.settings_file.write_text(json.dumps(self._settings(layout, settings)))
        self.client = helpers.zaqar(conn)
        self.layout = layout
        self.logs = tmp_path
        self.processes: list[subprocess.Popen[bytes]] = []
        self.journal = open_journal(self.journal_url)

    def _settings(self, layout: Layout, overrides: Mapping[str, Any]) -> dict[str, Any]:
        """Short claims (a killed replica's messages come back after 60 s), a poll every 2 s behind the pushes, short
        retries; no deduplication window (every test notification is new); Nova's versioned notifications heard on
        the local cloud's RabbitMQ (``nova_notifications``), as a deployment beside Nova would."""
        document: dict[str, Any] = {
            "journal_url": self.journal_url,
            "dedup_window_seconds": 0,
            "queues": self.queues,
            "retry": {"initial_delay_seconds": 1, "max_delay_seconds": 2},
            "gateway": {"poll_interval_seconds": 2.0, "claim_ttl_seconds": 60,
                        "claim_grace_seconds": 60, "sweep_interval_seconds": 5, "listen_port": 0},
            "api": {"webhook_secret": self.webhook_secret},
            "fencing_file": str(layout.fencing_yaml),  # segments fence by default: the hosts' BMC emulators
            "nova_notifications": {"transport_url": layout.transport_url},  # held looks woken by Nova's news
        }
        for key, value in overrides.items():
            document[key] = {**document.get(key, {}), **value} if isinstance(value, dict) else value
        return document

    def start(self, **environment: str) -> subprocess.Popen[bytes]:
        """Start one `vmha gateway` process (extra ``VMHA_*`` variables override the settings file)."""
        env = {**os.environ, "PYTHONPATH": str(ROOT), "OS_CLIENT_CONFIG_FILE": str(self.layout.clouds_yaml),
               "OS_CLOUD": "vmha-admin", "VMHA_SETTINGS_FILE": str(self.settings_file), **environment}
        log = self.logs / f"gateway-{len(self.processes)}.log"
        with log.open("ab") as output:
            process = subprocess.Popen([VMHA, "gateway"], cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
        self.processes.append(process)
        return process

    def wait_ready(self, *processes: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
        """Wait until every process consumes (its wake-up endpoint listens once its consumer started), then
        subscribe its signed Zaqar webhook URL to both queues, as the Heat stack does."""
        for process in processes:
            ready = wait_until(functools.partial(self._listening, process), timeout, 0.1)
            assert ready and process.poll() is None, f"gateway did not start: {self.log_of(process)[-2000:]}"
            hook = signed_url(self.url_of(process), ZAQAR_PATH, self.webhook_secret, int(time.time()) + MESSAGE_TTL)
            for role in ("notifications", "steps"):
                self.client.subscription(self.queues[role], subscriber=hook, ttl=MESSAGE_TTL,
                                         options={"vmha_queue": role, "_retry_policy": PUSH_RETRY_POLICY})

    def _listening(self, process: subprocess.Popen[bytes]) -> bool:
        return "http endpoint listening" in self.log_of(process) or process.poll() is not None

    def url_of(self, process: subprocess.Popen[bytes]) -> str:
        """The URL of the process's HTTP endpoint, as it logged it."""
        found = _LISTENING.search(self.log_of(process))
        assert found is not None, "the gateway logged no endpoint URL"
        return found.group(1)

    def log_of(self, process: subprocess.Popen[bytes]) -> str:
        return (self.logs / f"gateway-{self.processes.index(process)}.log").read_text(errors="replace")

    def notify(self, host: str, payload: Payload) -> str:
        """Post a notification as a monitor does; return its id."""
        notification = Notification(uuid.uuid4(), "vmha-e2e-test", host, utc_now(), payload)
        self.post(notification.to_dict())
        return str(notification.id)

    def post(self, body: Any) -> None:
        """Post any body to the notifications queue."""
        self.client.queue(self.queues["notifications"]).post([{"body": body, "ttl": MESSAGE_TTL}])

    def dead_letters(self) -> list[dict[str, Any]]:
        queue = self.client.queue(self.queues["dead_letters"], auto_create=False)
        return [message.body for message in queue.messages(echo=True)]

    def queue_total(self, kind: str) -> int:
        return int(self.client.queue(self.queues[kind], auto_create=False).stats["messages"]["total"])

    def wait_ended(self, notification_id: str, timeout: float = 120.0) -> NotificationDetail:
        """Wait until the notification is finished, ignored or failed; return it with everything recorded."""
        assert wait_until(lambda: self.status(notification_id) in TERMINAL, timeout, 0.2), (
            f"notification {notification_id} still {self.status(notification_id)} after {timeout} s; "
            f"logs in {self.logs}")
        return self.detail(notification_id)

    def status(self, notification_id: str) -> str | None:
        found = self.journal.get_notification(notification_id)
        return None if found is None else found.notification.status.value

    def detail(self, notification_id: str) -> NotificationDetail:
        found = self.journal.get_notification(notification_id)
        assert found is not None, f"notification {notification_id} is not in the journal"
        return found

    def began(self, notification_id: str, step: str) -> bool:
        """Whether a run of ``step`` began for the notification (its journal record exists)."""
        found = self.journal.get_notification(notification_id)
        return found is not None and any(run.key.step_id == step for run in found.steps)

    def ran(self, process: subprocess.Popen[bytes], step: str) -> bool:
        """Whether the gateway logged a run of ``step`` (one JSON object per line)."""
        lines = self.log_of(process).splitlines()
        return any('"step ran"' in line and f'"step": "{step}"' in line for line in lines)

    def stop(self, process: subprocess.Popen[bytes], timeout: float = 60.0) -> int:
        """SIGTERM one gateway and return its exit status."""
        process.send_signal(signal.SIGTERM)
        return process.wait(timeout)

    def close(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.wait()
        self.journal.close()
        for name in self.queues.values():
            with contextlib.suppress(Exception):
                for subscription in list(self.client.subscriptions(name)):
                    subscription.delete()
                self.client.queue(name, auto_create=False).delete()


@contextlib.contextmanager
def segment(conn: Any, hosts: tuple[str, ...], metadata: Mapping[str, str], prefix: str = "vmha-e2e") -> Iterator[Any]:
    """A failover segment: an aggregate with a unique name, ``hosts`` and ``vmha:`` ``metadata``; deleted after."""
    aggregate = conn.compute.create_aggregate(name=f"{prefix}-{uuid.uuid4().hex[:8]}")
    try:
        for host in hosts:
            conn.compute.add_host_to_aggregate(aggregate, host)
        conn.compute.set_aggregate_metadata(aggregate, dict(metadata))
        yield aggregate
    finally:
        for host in conn.compute.get_aggregate(aggregate).hosts or ():
            conn.compute.remove_host_from_aggregate(aggregate, host)
        conn.compute.delete_aggregate(aggregate)


def results(detail: NotificationDetail) -> dict[tuple[str, str], tuple[StepStatus, Any]]:
    """Every step run of a recovery: (step, instance uuid or '') -> (status, recorded result)."""
    return {(run.key.step_id, run.key.instance_uuid): (run.status, run.result) for run in detail.steps}


def replayed(detail: NotificationDetail) -> list[tuple[str, str]]:
    """Step messages run twice at the same attempt: handed to another consumer after a crash."""
    starts = Counter((event.step_id, event.instance_uuid, event.message) for event in detail.events
                     if event.message.endswith(" started"))
    return sorted({(step, instance) for (step, instance, _), count in starts.items() if count > 1})


def actions(conn: Any, server: Any) -> Counter[str]:
    """How many instance actions of each kind (create, evacuate, stop, start...) Nova recorded for the server."""
    return Counter(action.action for action in conn.compute.server_actions(server))
