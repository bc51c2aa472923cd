"""The deployed subscriptions' retry policy (heat/wiring.yaml ``push_retry_policy``) on the real Zaqar: a push
the gateway cannot take (the connection closed unanswered; Zaqar retries only failed connections, never a
5xx answer) is retried briefly, then dropped, so a dead gateway cannot hold Zaqar's notifier
threads (a push only wakes consumers that poll anyway)."""

from __future__ import annotations

import time
import uuid
from typing import Any

from tests.cloud import helpers
from tests.cloud.webhook import WebhookRecorder
from tests.integration.recovery_support import PUSH_RETRY_POLICY

RETRIED_WITHIN = 7.0
"""One retry at once, then after 1 s and 6 s (Zaqar's linear backoff from minimum_delay to maximum_delay)."""


def test_a_refused_push_is_retried_three_times_within_seconds_then_dropped(admin_conn: Any) -> None:
    client = helpers.zaqar(admin_conn)
    queue = client.queue(f"vmha-push-{uuid.uuid4().hex[:8]}")
    try:
        with WebhookRecorder(hang_up=True) as hook:
            client.subscription(queue.name, subscriber=hook.url("/zaqar"), ttl=3600,
                                options={"vmha_queue": "notifications", "_retry_policy": PUSH_RETRY_POLICY})
            queue.post({"body": {"wake": 1}, "ttl": 300})
            hook.wait_for("/zaqar", count=1, timeout=30)
            time.sleep(RETRIED_WITHIN + 8)
            pushes = hook.received("/zaqar")
        assert len(pushes) == 4, f"{len(pushes)} pushes: the first and three retries expected, then none"
    finally:
        queue.delete()
