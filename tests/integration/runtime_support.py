"""Helpers of the runtime's functional tests: per-test queues and journal, an in-process runtime, posts."""

from __future__ import annotations

import contextlib
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.cloud import helpers
from tests.cloud.procs import wait_until
from tests.runtime_steps import Effects, intake, make_table
from vmha.contracts import Notification, ProcessEvent, ProcessPayload, Settings, parse_settings
from vmha.journal import TERMINAL, Journal, NotificationDetail, open_journal
from vmha.runtime import Consumer, Services, ZaqarQueues
from vmha.runtime.queues import Claimed


class CountingQueues(ZaqarQueues):
    """The real Zaqar queues, counting the runtime's posts and claims per queue (to check what it did not do)."""

    def __init__(self, session: Any) -> None:
        super().__init__(session)
        self.batches: defaultdict[str, list[int]] = defaultdict(list)
        """The number of messages of each post request, in order."""
        self.claims: Counter[str] = Counter()

    def claim(self, queue: str, ttl: int, grace: int) -> Claimed | None:
        self.claims[queue] += 1
        return super().claim(queue, ttl, grace)

    def post(self, queue: str, bodies: Sequence[Any], *, ttl: int, delay: int = 0) -> None:
        self.batches[queue].append(len(bodies))
        super().post(queue, bodies, ttl=ttl, delay=delay)


class Place:
    """Unique queue names and a journal file for one test; ``delete`` removes the queues."""

    def __init__(self, tmp_path: Path, conn: Any) -> None:
        suffix = uuid.uuid4().hex[:8]
        self.queues = {kind: f"rt-{suffix}-{kind}" for kind in ("notifications", "steps", "dead_letters")}
        self.journal_url = f"sqlite:///{tmp_path / 'journal.db'}"
        self.effects = Effects(tmp_path / "effects")
        self.client = helpers.zaqar(conn)
        self.conn = conn

    def settings(self, **gateway: Any) -> Settings:
        document = {
            "journal_url": self.journal_url,
            "dedup_window_seconds": 0,
            "queues": self.queues,
            "retry": {"initial_delay_seconds": 1, "max_delay_seconds": 2, "recheck_interval_seconds": 1},
            "gateway": {"workers": 3, "poll_interval_seconds": 1.0, "claim_ttl_seconds": 60,
                        "claim_grace_seconds": 60, "sweep_interval_seconds": 5.0, "listen_port": 0, **gateway},
        }
        return parse_settings(document, {})

    def environment(self) -> dict[str, str]:
        """The same settings as VMHA_* variables, for `vmha gateway` processes."""
        return {
            "VMHA_JOURNAL_URL": self.journal_url,
            "VMHA_DEDUP_WINDOW_SECONDS": "0",
            "VMHA_QUEUES_NOTIFICATIONS": self.queues["notifications"],
            "VMHA_QUEUES_STEPS": self.queues["steps"],
            "VMHA_QUEUES_DEAD_LETTERS": self.queues["dead_letters"],
            "VMHA_GATEWAY_WORKERS": "2",
            "VMHA_GATEWAY_POLL_INTERVAL_SECONDS": "1",
            "VMHA_GATEWAY_CLAIM_TTL_SECONDS": "60",
            "VMHA_GATEWAY_CLAIM_GRACE_SECONDS": "60",
            "VMHA_GATEWAY_LISTEN_PORT": "0",
            "VMHA_STEPS": "tests.runtime_steps:STEPS",
            "VMHA_INTAKE": "tests.runtime_steps:intake",
            "VMHA_TEST_EFFECTS": str(self.effects.path),
        }

    def services(self, settings: Settings, queues: ZaqarQueues | None = None) -> Services:
        return Services(settings, open_journal(settings.journal_url), queues or ZaqarQueues(self.conn.session),
                        make_table(self.effects), intake, self.conn)

    def post(self, kind: str, body: Any) -> None:
        self.client.queue(self.queues[kind], auto_create=False).post([{"body": body, "ttl": 600}])

    def notify(self, process_name: str) -> str:
        """Post a PROCESS notification whose process name tells the test intake what to do; return its id."""
        notification = Notification(uuid.uuid4(), "test", f"host-{uuid.uuid4().hex[:6]}", datetime.now(UTC),
                                    ProcessPayload(ProcessEvent.STOPPED, process_name))
        self.post("notifications", notification.to_dict())
        return str(notification.id)

    def dead_letters(self) -> list[dict[str, Any]]:
        queue = self.client.queue(self.queues["dead_letters"], auto_create=False)
        return [message.body for message in queue.messages(echo=True)]

    def delete(self) -> None:
        for name in self.queues.values():
            with contextlib.suppress(Exception):
                self.client.queue(name, auto_create=False).delete()


@contextlib.contextmanager
def running(services: Services) -> Iterator[Consumer]:
    """A started consumer, stopped (and its journal closed) afterwards."""
    consumer = Consumer(services)
    consumer.start()
    try:
        yield consumer
    finally:
        consumer.stop(30)
        services.journal.close()


def wait_ended(journal: Journal, notification_id: str, timeout: float = 90.0) -> NotificationDetail:
    """Wait until the notification is finished, ignored or failed; return it with its steps and events."""

    def ended() -> bool:
        detail = journal.get_notification(notification_id)
        return detail is not None and detail.notification.status in TERMINAL

    assert wait_until(ended, timeout, 0.2), f"notification {notification_id} did not end in {timeout} s"
    detail = journal.get_notification(notification_id)
    assert detail is not None
    return detail
